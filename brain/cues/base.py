"""What a cue is: a regular expression plus the short reason shown on the escalation card."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Cue:
    pattern: re.Pattern[str]
    why: str


def cue(why: str, alternatives: str) -> Cue:
    """``alternatives``: a verbose regular expression (spaces ignored, ``\\ `` is a space)."""
    return Cue(pattern(alternatives), why)


def pattern(alternatives: str) -> re.Pattern[str]:
    return re.compile(alternatives, re.IGNORECASE | re.VERBOSE)


def first(table: Sequence[Cue], text: str) -> Cue | None:
    """The first cue of ``table`` that matches ``text`` (table order decides the reason shown)."""
    return next((c for c in table if c.pattern.search(text)), None)
