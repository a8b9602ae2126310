"""The escalation rules (``brain/escalation.py``) give exactly what the plain reference
(``tests/escalation_reference.py``) gives: the same reasons in the same order and the same
whys, for every message of the escalation fixtures under many kinds of classification, with
earlier messages that repeat it (exactly, in other case and spacing, nearly, not at all), and
policies with awkward keywords (regex characters, accents, empty, upper case) and VIP lists.
Every case is asked twice, in a shuffled order, as the handler asks (before and after the
answer): the second answer comes from the caches and must not differ either."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from brain import escalation
from brain.classify import Classification
from brain.escalation import Facts, Policy
from brain.playbook import Urgency
from brain.signals import Signals
from channels.base import Author
from tests import escalation_reference as reference

FIXTURES = Path(__file__).parent / "fixtures" / "escalation"

POLICIES = (
    Policy(sensitive_keywords=("lawyer", "legal action", "chargeback", "cancel my account")),
    Policy(
        sensitive_keywords=("C++", "a.b", "(refund)", "", "Kündigung", "ÉTAT", "order?", "\\d"),
        vip_user_ids=("u7", "u13"), vip_email_domains=("Example.COM", "vip.io"),
        repeat_similarity=60.0, max_turns=2,
    ),
    Policy(sensitive_keywords=(), repeat_similarity=100.0, vip_always_human=False),
    Policy(sensitive_keywords=("refund", "order"), repeat_similarity=0.0,
           vip_email_domains=("shop.test",)),
)  # fmt: skip


def _texts() -> list[str]:
    texts = []
    for path in sorted(FIXTURES.glob("*.csv")):
        with path.open(newline="") as handle:
            texts += [row["text"] for row in csv.DictReader(handle)]
    return texts


def _variant(text: str, rng: random.Random) -> str:
    """``text`` as a customer might send it again."""
    words = text.split()
    choice = rng.randrange(5)
    if choice == 0:
        return text
    if choice == 1:
        return f"  {text.upper()}  "
    if choice == 2 and len(words) > 2:
        del words[rng.randrange(len(words))]
        return " ".join(words)
    if choice == 3:
        return " ".join(rng.sample(words, len(words)))
    return f"{text} ??"


def _classification(rng: random.Random) -> Classification:
    signals = None
    if rng.random() < 0.7:
        signals = Signals(
            sentiment=rng.uniform(-1, 1),
            angry=rng.choice([None, None, "angry words"]),
            human_request=rng.choice([None, "asks for a person"]),
            urgent=rng.choice([None, None, "stranded"]),
            sensitive=rng.choice([None, None, "chargeback"]),
            failed_before=rng.choice([None, None, "support failed"]),
        )
    return Classification(
        intent=rng.choice([None, "refund", "track_order"]), category="general",
        confidence=rng.random(), out_of_scope=rng.random() < 0.2,
        urgency=rng.choice(list(Urgency)), sentiment=rng.uniform(-1, 1), language="en",
        wants_human=rng.random() < 0.1, sensitive=rng.random() < 0.1,
        escalate_always=rng.random() < 0.1, signals=signals,
    )  # fmt: skip


def _cases() -> list[tuple[Policy, Facts]]:
    rng = random.Random(11)
    texts = _texts()
    odd = ["", "ok", "thanks!!", "hello?", "x" * 11, "x" * 12, "İSTANBUL order", "c++ a.b"]
    cases = []
    for i, text in enumerate([*texts, *odd]):
        previous: list[str] = []
        for _ in range(rng.choice([0, 0, 1, 1, 2, 4])):
            source = text if rng.random() < 0.4 else rng.choice(texts)
            previous.append(_variant(source, rng))
        email = rng.choice([None, f"c{i}@example.com", f"c{i}@VIP.io", "no-at-sign", ""])
        facts = Facts(
            text=text, classification=_classification(rng),
            answer_confidence=rng.choice([None, 0.0, 0.3, 0.5, 0.7, 1.0]),
            customer=Author(id=f"u{i % 20}", email=email),
            customer_turns=rng.randint(1, 10), previous_answered=previous,
            channel_paused=rng.random() < 0.05, oversize=rng.random() < 0.05,
            llm_frustrated=rng.random() < 0.1, llm_urgent=rng.random() < 0.1,
            llm_wants_human=rng.random() < 0.1,
        )  # fmt: skip
        cases.append((POLICIES[i % len(POLICIES)], facts))
    return cases


def test_the_rules_give_what_the_reference_gives() -> None:
    cases = _cases()
    asked = [*cases, *cases]
    random.Random(3).shuffle(asked)
    fired: set[str] = set()
    for policy, facts in asked:
        expected = reference.reasons(policy, facts)
        found = escalation.reasons(policy, facts)
        assert found == expected, (policy, facts)
        assert escalation.explain(policy, facts, found) == reference.explain(
            policy, facts, expected
        ), facts
        fired.update(expected)
        assert escalation.is_vip(policy, facts.customer) == reference.is_vip(policy, facts.customer)
    # The cases reach every rule (an internal error is the handler's, not a rule).
    assert fired == set(escalation.Reason) - {escalation.Reason.INTERNAL_ERROR}, fired


def test_keyword_mentions_and_repeats_match_the_reference() -> None:
    """The two rules that changed, on their own, over every fixture text."""
    rng = random.Random(17)
    texts = _texts()
    counts = {"mentions": 0, "repeats": 0}
    for policy in POLICIES:
        for text in texts:
            expected = reference._mentions(policy.sensitive_keywords, text)
            assert escalation._mentions(policy.sensitive_keywords, text) is bool(expected), text
            counts["mentions"] += bool(expected)
            previous = [_variant(rng.choice([text, *rng.sample(texts, 2)]), rng) for _ in range(2)]
            expected = reference._repeated(policy, text, previous)
            assert escalation._repeated(policy, text, previous) is expected, (text, previous)
            counts["repeats"] += expected
    assert min(counts.values()) > 50, counts
