"""What a cue is: a regular expression plus the short reason shown on the escalation card."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Cue:
    pattern: re.Pattern[str]
    why: str
    # Each must match as well: kinds of words that say something only together ("flight" +
    # "cancelled" + "we're at the gate"), anywhere in the message.
    also: tuple[re.Pattern[str], ...] = ()

    def matches(self, text: str) -> bool:
        return self.pattern.search(text) is not None and all(p.search(text) for p in self.also)


def cue(why: str, alternatives: str) -> Cue:
    """``alternatives``: a verbose regular expression (spaces ignored, ``\\ `` is a space)."""
    return Cue(pattern(alternatives), why)


def together(why: str, first_part: str, *parts: str) -> Cue:
    """A cue that fires only when every part matches somewhere in the message."""
    return Cue(pattern(first_part), why, tuple(pattern(p) for p in parts))


def pattern(alternatives: str) -> re.Pattern[str]:
    return re.compile(alternatives, re.IGNORECASE | re.VERBOSE)


def first(table: Sequence[Cue], text: str) -> Cue | None:
    """The first cue of ``table`` that matches ``text`` (table order decides the reason shown)."""
    return next((c for c in table if c.matches(text)), None)
