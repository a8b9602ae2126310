"""What a cue is: a regular expression plus the short reason shown on the escalation card.

Each cue's patterns are registered with ``brain.cues.gate`` when it is made: ``matches`` and
``first`` run a regular expression only when the gate's one scan of the message found a string
that every match of it contains (the answer is the same; most messages skip every pattern)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from brain.cues import gate


@dataclass(frozen=True, slots=True)
class Cue:
    pattern: re.Pattern[str]
    why: str
    # Each must match as well: kinds of words that say something only together ("flight" +
    # "cancelled" + "we're at the gate"), anywhere in the message.
    also: tuple[re.Pattern[str], ...] = ()
    # The gate bits of ``pattern`` and ``also`` (``brain.cues.gate``): every one must be in the
    # scan of a text for the cue to be able to match it. 0: no requirement, always run.
    need: int = field(default=0, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        need = gate.register(self.pattern)
        for p in self.also:
            need |= gate.register(p)
        object.__setattr__(self, "need", need)

    def matches(self, text: str) -> bool:
        need = self.need
        return (not need or gate.scan(text) & need == need) and self.searched(text)

    def searched(self, text: str) -> bool:
        """The plain answer, without the gate: every pattern found in ``text``."""
        return self.pattern.search(text) is not None and all(p.search(text) for p in self.also)


def cue(why: str, alternatives: str) -> Cue:
    """``alternatives``: a verbose regular expression (spaces ignored, ``\\ `` is a space)."""
    return Cue(pattern(alternatives), why)


def together(why: str, first_part: str, *parts: str) -> Cue:
    """A cue that fires only when every part matches somewhere in the message."""
    return Cue(pattern(first_part), why, tuple(pattern(p) for p in parts))


def pattern(alternatives: str) -> re.Pattern[str]:
    """Compiled IGNORECASE and VERBOSE, and registered with the gate (``gate.search``)."""
    return gate.registered(re.compile(alternatives, re.IGNORECASE | re.VERBOSE))


# id(table) -> (table, the bits of its cues together, whether one of them has no requirement).
# A cue with a requirement runs only when the scan holds all its bits, so a scan holding none of
# the table's bits skips the loop (most messages match nothing in most tables).
_UNIONS: dict[int, tuple[Sequence[Cue], int, bool]] = {}


def _union(table: Sequence[Cue]) -> tuple[Sequence[Cue], int, bool]:
    known = _UNIONS.get(id(table))
    if known is None or known[0] is not table:
        union = 0
        for c in table:
            union |= c.need
        known = (table, union, any(not c.need for c in table))
        if len(_UNIONS) < 64:  # the module-level tables; a caller's throwaway tuples are not kept
            _UNIONS[id(table)] = known  # keeps ``table`` alive: its id is not reused meanwhile
    return known


def first(table: Sequence[Cue], text: str) -> Cue | None:
    """The first cue of ``table`` that matches ``text`` (table order decides the reason shown)."""
    found = gate.scan(text)  # one pass for every table; the same text again is a cache hit
    _, union, ungated = _union(table)
    if not found & union and not ungated:
        return None
    for c in table:
        need = c.need
        if found & need == need and c.searched(text):
            return c
    return None
