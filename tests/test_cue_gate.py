"""The cue prefilter (``brain.cues.gate``) never changes an answer: on every fixture text (and
variants of it) each gated check answers what the plain regular expression answers; the needles
derived from a pattern are the ones expected; and almost no cue is left ungated."""

from __future__ import annotations

import csv
import random
import re
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest

from brain.cues import (
    Cue,
    anger,
    failed,
    first,
    gate,
    grievance,
    lexical,
    person,
    sensitive,
    tone,
    urgency,
)
from brain.cues.base import pattern
from brain.signals import SignalReader

FIXTURES = Path(__file__).parent / "fixtures"
_MODULES: tuple[ModuleType, ...] = (anger, failed, grievance, lexical, person, sensitive, tone,
                                    urgency)  # fmt: skip


def _fixture_texts() -> list[str]:
    texts: list[str] = []
    for path in sorted([*FIXTURES.glob("escalation/*.csv"), *FIXTURES.glob("intents/*.csv")]):
        with path.open(newline="", encoding="utf-8") as handle:
            texts += [row["text"] for row in csv.DictReader(handle)]
    assert len(texts) > 1500, "the escalation and intent fixtures went missing"
    return texts


@cache
def _ascii_twins() -> dict[str, str]:
    """Every non-ASCII character that ``re`` matches to an ASCII character under IGNORECASE,
    with that character (lower case): found by trying every code point."""
    any_ascii = re.compile("[\x00-\x7f]", re.IGNORECASE)
    singles = [re.compile(re.escape(chr(a)), re.IGNORECASE) for a in range(128)]
    twins: dict[str, str] = {}
    for code in range(128, 0x110000):
        char = chr(code)
        if any_ascii.fullmatch(char):
            equal = {chr(a).lower() for a in range(128) if singles[a].fullmatch(char)}
            assert len(equal) == 1, (hex(code), equal)
            twins[char] = equal.pop()
    return twins


def test_fold_spells_every_ascii_twin_as_its_letter() -> None:
    twins = _ascii_twins()
    assert {"\u0130", "\u0131", "\u017f", "\u212a"} <= set(
        twins
    )  # dotted I, dotless i, long s, Kelvin
    for char, letter in twins.items():
        assert gate.fold(char) == letter, (hex(ord(char)), gate.fold(char), letter)
    # FOLD holds exactly the characters whose str.lower() is not the letter already.
    needed = {char for char, letter in twins.items() if char.lower() != letter}
    assert needed == {chr(code) for code in gate.FOLD}, sorted(map(hex, map(ord, needed)))
    for a in range(128):  # and ASCII folds as str.lower, one character each
        assert gate.fold(chr(a)) == chr(a).lower()


def _variants(text: str) -> Iterator[str]:
    yield text
    yield text.upper()
    yield text.replace("'", "\u2019")  # a phone's apostrophe
    # Every other letter swapped for a non-ASCII character re treats as equal to it under
    # IGNORECASE (so every regex answer stays the same: dotted I, dotless i, long s, Kelvin), a few
    # inserted.
    twins: dict[str, list[str]] = {}
    for char, letter in _ascii_twins().items():
        twins.setdefault(letter, []).append(char)
    swapped = "".join(
        twins[c.lower()][i % len(twins[c.lower()])] if i % 2 and c.lower() in twins else c
        for i, c in enumerate(text)
    )
    yield "\u0130" + swapped.replace(" ", " \u0131", 2) + " \u017f\u212a"


def _all_texts() -> list[str]:
    return [v for text in _fixture_texts() for v in _variants(text)]


def _tables() -> dict[str, Sequence[Cue]]:
    tables: dict[str, Sequence[Cue]] = {}
    for module in _MODULES:
        for name, value in vars(module).items():
            if isinstance(value, Cue):
                tables[f"{module.__name__}.{name}"] = (value,)
            elif isinstance(value, tuple) and value and all(isinstance(c, Cue) for c in value):
                tables[f"{module.__name__}.{name}"] = value
    expected = ("anger.ANGER", "urgency.URGENT", "person.HUMAN", "sensitive.SENSITIVE",
                "failed.FAILED")  # fmt: skip
    assert {f"brain.cues.{name}" for name in expected} <= set(tables)
    return tables


def test_every_gated_answer_equals_the_plain_regex_answer() -> None:
    registered = list(gate._REGISTRY.bits)
    assert len(registered) > 100
    tables = _tables()
    texts = _all_texts()
    skipped = 0
    for text in texts:
        found = {p: p.search(text) is not None for p in registered}
        for compiled, matched in found.items():
            allowed = gate.may_match(compiled, text)
            assert allowed or not matched, (compiled.pattern[:80], text)
            skipped += not allowed

        def plain(c: Cue, found: dict[re.Pattern[str], bool] = found) -> bool:
            return found[c.pattern] and all(found[p] for p in c.also)

        for name, table in tables.items():
            for c in table:
                assert c.matches(text) == plain(c), (name, c.why, text)
            assert first(table, text) is next((c for c in table if plain(c)), None), (name, text)
        # grievance.find as it was before the gate: its words, then the regex.
        lowered = text.lower()
        before = next((c for words, c in grievance._GATED
                       if any(w in lowered for w in words) and plain(c)), None)  # fmt: skip
        assert grievance.find(text) is before, text
    # And the gate does skip: most patterns cannot match a given message.
    assert skipped > 0.7 * len(texts) * len(registered)


def test_signals_read_the_same_with_the_gate_and_without(monkeypatch: pytest.MonkeyPatch) -> None:
    reader = SignalReader()
    texts = [v for t in _fixture_texts()[::3] for v in list(_variants(t))[:4]]
    gated = [reader.read(t) for t in texts]
    monkeypatch.setattr(gate, "scan", lambda text: -1)  # every bit set: every regex runs
    assert gate.may_match(tone.PROBLEM, "nothing of it here")
    plain = [reader.read(t) for t in texts]
    for text, with_gate, without in zip(texts, gated, plain, strict=True):
        assert with_gate == without, text


def test_needles_of_hand_picked_patterns() -> None:
    def needles(source: str) -> frozenset[str] | None:
        return gate.needles(pattern(source))

    assert needles(r"\bthanks?\ for\ nothing\b") == {"thank for nothing", "thanks for nothing"}
    assert needles(r"\bsh[i1\*]t+(?:ty|s)?\b") == {"shit", "sh1t", "sh*t"}
    assert needles(r"\b(?:great|fantastic)\ (?:job|work)\b") == {
        "great job", "great work", "fantastic job", "fantastic work"}  # fmt: skip
    assert needles(r"\bscheiß\w*") == {"schei"}  # the ASCII run of a word with an ß
    assert needles(r"[😠😡🤬]") == {gate.NON_ASCII}  # only a non-ASCII text can hold them
    assert needles("\u212a") == {"k", gate.NON_ASCII}  # the Kelvin sign matches k and K too
    assert needles(r"\bwtf+\b") == {"wtf"}  # f+: one f at least
    assert needles(r"zq+x") in ({"zq"}, {"qx"})
    assert needles(r"(?:refund|money\ back)\ (?:please|now|\w+)") == {"refund ", "money back "}
    assert needles(r"\bwhere(?:'s|\ is)\ my\ (?:bloody\ |damn\ )?money\b") == {
        f"where{be} my {how}money" for be in ("'s", " is") for how in ("", "bloody ", "damn ")
    }
    # No requirement: each of these matches some text without any fixed string.
    for source in (r"\w+", r"a|\w", r"(?:abc)?", r"(?=abc)\w", r"[^a]c?|x", r"(\w)\1"):
        assert needles(source) is None, source
    # A table cue keeps its words: grievance's "demands the money back".
    demand = next(c for c in grievance.GRIEVANCE if c.why == "demands the money back")
    assert "money back" in (gate.needles(demand.pattern) or ())


def test_almost_every_cue_is_gated() -> None:
    cue_patterns = {(name, c.why, p.pattern[:60]): p for name, table in _tables().items()
                    for c in table for p in (c.pattern, *c.also)}  # fmt: skip
    ungated = [key for key, p in cue_patterns.items() if not gate.register(p)]
    print("ungated cue patterns:", ungated)
    assert len(ungated) <= 0.05 * len(cue_patterns), ungated
    everything = list(gate._REGISTRY.bits.items())
    loose = [p.pattern[:60] for p, bit in everything if not bit]
    print("ungated registered patterns:", loose)
    assert len(loose) <= 0.1 * len(everything), loose


def test_derived_needles_hold_for_random_patterns() -> None:
    """Random patterns over a small alphabet (with the IGNORECASE twins), random texts: every
    match holds one of the needles."""
    rng = random.Random(13)
    alphabet = "abAB' \u0130\u0131\u017f\u212aks\u00e9"

    def atom(depth: int) -> str:
        roll = rng.random()
        if roll < 0.45 or depth > 2:
            return re.escape(rng.choice(alphabet))
        if roll < 0.55:
            return "[" + "".join(rng.sample(alphabet, rng.randint(1, 3))).replace("]", "") + "]"
        if roll < 0.6:
            return rng.choice((r"\w", ".", r"\b", "^", "$", r"\s"))
        if roll < 0.65:
            return rng.choice(("(?=", "(?!", "(?<=a")) + sequence(depth + 1) + ")"
        if roll < 0.85:
            return "(?:" + "|".join(sequence(depth + 1) for _ in range(rng.randint(1, 3))) + ")"
        return "(" + sequence(depth + 1) + ")" + rng.choice(("", r"\1"))

    def sequence(depth: int) -> str:
        parts = []
        for _ in range(rng.randint(1, 4)):
            part = atom(depth)
            if not part.startswith(("\\b", "^", "$", "(?=", "(?!", "(?<")) and rng.random() < 0.4:
                part += rng.choice(("?", "*", "+", "{2}", "{1,3}", "{2,}", "+?"))
            parts.append(part)
        return "".join(parts)

    checked = 0
    for _ in range(1500):
        source = sequence(0)
        try:
            compiled = re.compile(source, re.IGNORECASE)
        except re.error:
            continue
        required = gate.needles(compiled)
        for _ in range(40):
            text = "".join(rng.choices(alphabet, k=rng.randint(0, 12)))
            if compiled.search(text) is None or required is None:
                continue
            folded = gate.fold(text)
            held = any(n in folded for n in required if n != gate.NON_ASCII)
            held = held or (gate.NON_ASCII in required and not text.isascii())
            assert held, (source, text, required)
            checked += 1
    assert checked > 1000
