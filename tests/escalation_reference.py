"""The escalation rules as they were before ``brain/escalation.py`` cached its keyword regexes
and repeated-question matches (main at 2365524), kept as the plain reference
``tests/test_escalation_equivalence.py`` checks the production rules against. Not used by the
bot. Same reasons, same order, same whys: only the work per call differs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rapidfuzz import fuzz, process

from brain.escalation import Facts, Policy, Reason
from channels.base import Author


def is_vip(policy: Policy, customer: Author) -> bool:
    if customer.id in policy.vip_user_ids:
        return True
    domain = customer.email.rsplit("@", 1)[-1].lower() if customer.email else None
    return domain is not None and domain in {d.lower() for d in policy.vip_email_domains}


def reasons(policy: Policy, facts: Facts) -> tuple[Reason, ...]:
    """Every reason to hand this message to a human, in a stable order (empty: the bot answers)."""
    # Reasons the channel itself gives: paused by an admin, a message too large to read.
    given = ((Reason.CHANNEL_PAUSED, facts.channel_paused), (Reason.OVERSIZE, facts.oversize))
    found: list[Reason] = [reason for reason, applies in given if applies]
    c = facts.classification
    s = c.signals
    if c.wants_human or facts.llm_wants_human:
        found.append(Reason.HUMAN_REQUESTED)
    angry = c.sentiment <= policy.sentiment_threshold or (s is not None and s.angry is not None)
    if angry or facts.llm_frustrated:
        found.append(Reason.NEGATIVE_SENTIMENT)
    if c.sensitive or _mentions(policy.sensitive_keywords, facts.text) or (s and s.sensitive):
        found.append(Reason.SENSITIVE)
    if (s is not None and s.urgent is not None) or facts.llm_urgent:
        found.append(Reason.URGENT)
    if s is not None and s.failed_before is not None:
        found.append(Reason.SUPPORT_FAILED)
    if c.escalate_always and not found:
        found.append(Reason.PLAYBOOK)
    if policy.vip_always_human and is_vip(policy, facts.customer):
        found.append(Reason.VIP)
    confidence = facts.answer_confidence
    # An unrecognised intent is fine when the knowledge base clearly has the answer (typos,
    # unusual phrasing); only a strong match may overrule the classifier, though.
    if c.out_of_scope and (confidence is None or confidence < policy.oos_answer_threshold):
        found.append(Reason.OUT_OF_SCOPE)
    if confidence is None:
        found.append(Reason.NO_ANSWER)
    elif confidence < policy.answer_threshold and Reason.OUT_OF_SCOPE not in found:
        found.append(Reason.LOW_CONFIDENCE)
    if facts.customer_turns > policy.max_turns:
        found.append(Reason.TOO_MANY_TURNS)
    if _repeated(policy, facts.text, facts.previous_answered):
        found.append(Reason.REPEATED_QUESTION)
    return tuple(found)


def explain(policy: Policy, facts: Facts, found: Sequence[Reason]) -> dict[str, str]:
    """A short why for each reason in ``found``, as the escalation card shows it."""
    c = facts.classification
    s = c.signals
    whys: dict[str, str] = {}
    for reason in found:
        why = _why(policy, facts, reason)
        if why is None and reason is Reason.SENSITIVE and s is not None:
            why = s.sensitive
        if why is None and reason is Reason.PLAYBOOK:
            why = f"intent {c.intent}"
        if why:
            whys[reason.value] = why
    return whys


def _why(policy: Policy, facts: Facts, reason: Reason) -> str | None:
    c, s = facts.classification, facts.classification.signals
    if reason is Reason.SENSITIVE:
        keyword = next((k for k in policy.sensitive_keywords if _mentions((k,), facts.text)), None)
        if keyword is not None:
            return f"mentions {keyword!r}"
        return f"intent {c.intent}" if c.sensitive else None
    by_llm = {
        Reason.HUMAN_REQUESTED: facts.llm_wants_human,
        Reason.NEGATIVE_SENTIMENT: facts.llm_frustrated,
        Reason.URGENT: facts.llm_urgent,
    }
    cue = None
    if s is not None:
        cue = {
            Reason.HUMAN_REQUESTED: s.human_request,
            Reason.NEGATIVE_SENTIMENT: s.angry,
            Reason.URGENT: s.urgent,
            Reason.SUPPORT_FAILED: s.failed_before,
        }.get(reason)
    if cue is None and by_llm.get(reason):
        return "read so by the answering model"
    if cue is None and reason is Reason.NEGATIVE_SENTIMENT:
        return f"sentiment {c.sentiment:+.2f}"
    return cue


def _mentions(keywords: Sequence[str], text: str) -> bool:
    lowered = text.lower()
    # A match of the word regex contains the keyword itself: the substring test first answers
    # the same and skips the regex (and its cache look-up) for every keyword not there at all.
    return any(
        (word := k.lower()) in lowered and re.search(rf"\b{re.escape(word)}\b", lowered)
        for k in keywords
        if k
    )


def _repeated(policy: Policy, text: str, previous: Sequence[str]) -> bool:
    current = text.lower().strip()
    if len(current) < 12:  # "ok", "thanks", "hello?" repeat naturally
        return False
    # One call into rapidfuzz for all of them, not one per message from Python.
    cutoff = policy.repeat_similarity
    close = process.extractOne(current, previous, scorer=fuzz.token_set_ratio,
                               processor=str.lower, score_cutoff=cutoff)  # fmt: skip
    return close is not None
