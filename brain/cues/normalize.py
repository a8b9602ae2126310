"""Undo the ways customers mask or stretch words, so the cue tables need not list every
spelling: ``f*ck``, ``f**king``, ``sh!t``, ``$hit``, ``fuuuck``, ``b@stards``.

A masked word is a run of letters with at least one symbol or digit standing in for a letter
inside it (``*#@$!013457``), or letters then stars (``f***``). It is compared with a short list of
swear-word roots: a ``*`` or ``#`` stands for one to three unknown letters, a digit or another
symbol for the letter it looks like. Repeated letters are squeezed first (``fuuuuck`` ->
``fuck``), so stretched swearing matches too.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Swear-word roots: English plus the common German, French and Spanish ones.
_WORDS = (
    "fuck", "fucking", "fucked", "fucker", "fucks", "shit", "shitty", "bullshit", "crap", "damn",
    "piss", "pissed", "bastard", "bastards", "asshole", "assholes", "bitch", "dick", "cunt",
    "wank", "wanker", "twat", "prick", "bloody", "sucks", "hell", "scheisse", "merde", "putain",
    "mierda", "joder", "puta",
)  # fmt: skip
_LOOKALIKE = str.maketrans({"!": "i", "1": "i", "|": "i", "0": "o", "3": "e", "4": "a", "@": "a",
                            "$": "s", "5": "s", "7": "t"})  # fmt: skip
# A token with a letter and at least one stand-in inside or at its end (``f*ck``, ``f***``,
# ``sh!t``), or starting with ``$`` (``$hit``).
_MASKED = re.compile(
    r"(?<![\w*#@$!|])(?:[a-z][a-z*#@$!|0-9]*[*#@$!|0-9][a-z*#@$!|0-9]*|\$[a-z]+)(?![\w*#@$!|])",
    re.IGNORECASE,
)
_REPEATS = re.compile(r"([a-z])\1+")
_STARS = re.compile(r"[*#]+")


def squeeze(word: str) -> str:
    """``fuuuuck`` -> ``fuck``, ``shitty`` -> ``shity`` (roots are stored squeezed)."""
    return _REPEATS.sub(r"\1", word.lower())


_ROOTS = frozenset(squeeze(w) for w in _WORDS)


@lru_cache(maxsize=4096)
def _is_swear(token: str) -> bool:
    word = squeeze(token.lower().translate(_LOOKALIKE))
    if not any(c in word for c in "*#"):
        return word in _ROOTS and word != token.lower()  # a look-alike spelling, not the word
    if word[0] in "*#":
        return False
    # A run of stars stands for one to four letters ("a**hole", "f***ing").
    shape = re.compile("[a-z]{1,4}".join(re.escape(part) for part in _STARS.split(word)))
    return any(shape.fullmatch(root) for root in _ROOTS)


# Every match of ``_MASKED`` holds one of these (its stand-in class, or the "$" of "$hit"); none
# has a case twin under IGNORECASE. A message without any is not scanned.
_STAND_INS = frozenset("*#@$!|0123456789")


def masked_swearing(text: str) -> str | None:
    """The first masked or look-alike swear word in ``text`` (as written), or None."""
    if _STAND_INS.isdisjoint(text):
        return None
    for match in _MASKED.finditer(text):
        token = match.group(0).rstrip("!")  # "sh!t!" ends a sentence with "!"
        if sum(c.isalpha() for c in token) >= 1 and len(token) >= 3 and _is_swear(token):
            return token
    return None


_STRETCHED = re.compile(r"\b\w*([a-z])\1{3,}\w*\b", re.IGNORECASE)


def stretched(text: str) -> bool:
    """A word stretched for emphasis (``sooooo``, ``whyyyy``): four or more of one letter."""
    return _STRETCHED.search(text) is not None
