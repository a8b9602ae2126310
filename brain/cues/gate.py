"""A prefilter for the cue tables: skip a regular expression that cannot match.

Most messages match none of the cues, so without a prefilter every pattern of every table scans
the whole text. For each compiled pattern ``brain.cues.needles`` derives, from its parse tree,
a set of literal strings ("needles") one of which *every* match contains, and one pass of an
Aho-Corasick automaton (pyahocorasick) over the message finds which needles it holds
(``scan``). A pattern none of whose needles is in the message is not run: it could not have
matched.

What it guarantees: ``scan(text)`` has the bit of a pattern (``register``) set whenever the
pattern matches ``text`` (``pattern.search(text)``); a pattern without a derivable requirement
gets no bit and is always run. So a cue check behind the gate answers exactly what the plain
regular expression answers, only sooner when the answer is "no" (``tests/test_cue_gate.py``
checks it on every fixture text and variants of them, and on random patterns).

Why it holds:

- The derivation is conservative: a sequence needs the requirement of one of its parts, an
  alternation the union of its branches' requirements (none if a branch has none); an
  optional part, ``.``, ``\\w``, a wide class or a back reference gives none. Runs of literals
  (and small sets of literal strings: ``(?:a|b)c`` gives ``ac``, ``bc``) are concatenated;
  zero-width assertions (``\\b``, ``^``, lookarounds) consume nothing and so do not break a run.
- Case: the patterns are IGNORECASE, so needles and the message are lower-cased. Python's
  ``re`` also treats a few non-ASCII characters as equal to ASCII letters whose ``str.lower``
  is not that letter (U+0130, U+0131, U+017F: dotted capital I, dotless i, long s): ``fold``
  translates them first. The test checks every code point against every ASCII character, so
  the list cannot silently be incomplete.
- Needles are ASCII. A pattern character that is not ASCII requires a non-ASCII character in the
  message (``NON_ASCII``) or the ASCII characters it is equal to under IGNORECASE.

Patterns are registered at import (``brain.cues.base.pattern`` and ``Cue`` do it); the
automaton is built on the first scan and again whenever a pattern was registered since. A
pattern never registered is simply run (``may_match`` answers True).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from functools import reduce
from operator import itemgetter, or_
from typing import Any

import ahocorasick

from brain.cues.needles import FOLD, NON_ASCII, fold, needles

__all__ = ["FOLD", "NON_ASCII", "finditer", "fold", "may_match", "needles", "register",
           "registered", "scan", "search", "sub"]  # fmt: skip


class _Registry:
    """Every registered pattern's bit and the automaton over all their needles."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.bits: dict[re.Pattern[str], int] = {}
        # The same bits by ``id`` of the pattern, for ``may_match``: hashing a compiled pattern
        # hashes its whole compiled code each time (microseconds for a large cue), an ``id`` is
        # free. ``bits`` holds every registered pattern, so no id is reused while it is here.
        self.by_id: dict[int, int] = {}
        self.masks: dict[str, int] = {}  # needle -> the bits of the patterns it may let through
        self.non_ascii = 0  # the bits of the patterns NON_ASCII lets through
        self.count = 0  # patterns with a requirement so far (the next bit)
        # What ``scan`` reads, replaced whole by ``build``: (count, automaton, non_ascii bits).
        self.state: tuple[int, Any, int] = (-1, None, 0)
        # The last two texts scanned, with their bits and the state they were scanned with:
        # ``SignalReader.read`` asks about the same text (or one rewritten) several times; two
        # are enough, and a message rarely equals one of the two before it, so a benchmark that
        # repeats a few questions does not get its scans for free.
        self.recent: tuple[tuple[str, int, object], ...] = ()

    def register(self, compiled: re.Pattern[str], required: frozenset[str] | None) -> int:
        with self.lock:
            if compiled in self.bits:
                return self.bits[compiled]
            if required is None:
                required = needles(compiled)
            bit = 0 if required is None else 1 << self.count
            self.bits[compiled] = bit
            self.by_id[id(compiled)] = bit
            if required is not None:
                self.count += 1
                for needle in required:
                    if needle == NON_ASCII:
                        self.non_ascii |= bit
                    else:
                        self.masks[needle] = self.masks.get(needle, 0) | bit
            return bit

    def build(self) -> tuple[int, Any, int]:
        with self.lock:
            automaton = None  # ahocorasick.Automaton: needle -> bits
            if self.masks:
                automaton = ahocorasick.Automaton()
                for needle, bits in self.masks.items():
                    automaton.add_word(needle, bits)
                automaton.make_automaton()
            self.state = (self.count, automaton, self.non_ascii)
            return self.state


_REGISTRY = _Registry()
_BITS = itemgetter(1)  # (end, bits) -> bits


def register(compiled: re.Pattern[str], required: frozenset[str] | None = None) -> int:
    """The bit ``scan`` sets when ``compiled`` may match (0: no requirement, always run it).
    Register at import (module level): ``may_match`` runs an unregistered pattern.
    ``required``: the needles, for a pattern whose requirement the parse tree does not show
    (a back reference: ``([a-z])\\1{3}`` needs one of "aaaa" .. "zzzz"); lower-case ASCII,
    or ``NON_ASCII``. The caller vouches that every match holds one of them (in ``fold(text)``);
    ``tests/test_cue_gate.py`` checks every registered pattern on the fixtures."""
    usable = (n == NON_ASCII or (n and n.isascii() and n == n.lower()) for n in required or ())
    if required is not None and not (required and all(usable)):
        raise ValueError(f"needles are non-empty lower-case ASCII or NON_ASCII: {required}")
    return _REGISTRY.register(compiled, required)


def registered(compiled: re.Pattern[str]) -> re.Pattern[str]:
    """``compiled``, registered: ``_WORDS = gate.registered(re.compile(...))``."""
    register(compiled)
    return compiled


def scan(text: str) -> int:
    """The bits of the registered patterns that may match ``text``: one pass over it."""
    registry = _REGISTRY
    state = registry.state
    if state[0] != registry.count:
        state = registry.build()
    recent = registry.recent
    for seen, bits, scanned_with in recent:
        if scanned_with is state and seen == text:  # most often the very same object
            return bits
    _, automaton, found = state
    if text.isascii():
        found = 0
    if automaton is not None:
        # Every occurrence, overlaps too, OR-ed together in C (map, reduce): no bytecode per hit.
        found = reduce(or_, map(_BITS, automaton.iter(fold(text))), found)
    registry.recent = ((text, found, state), *recent[:1])  # one assignment: thread-safe
    return found


def may_match(compiled: re.Pattern[str], text: str) -> bool:
    """False only when ``compiled`` cannot match ``text``."""
    bit = _REGISTRY.by_id.get(id(compiled), 0)
    return not bit or bool(scan(text) & bit)


def search(compiled: re.Pattern[str], text: str, pos: int = 0) -> re.Match[str] | None:
    """``compiled.search(text, pos)``, skipped when it cannot match."""
    return compiled.search(text, pos) if may_match(compiled, text) else None


def sub(compiled: re.Pattern[str], replacement: str, text: str) -> str:
    """``compiled.sub(replacement, text)``: ``text`` itself when nothing can match."""
    return compiled.sub(replacement, text) if may_match(compiled, text) else text


def finditer(compiled: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """``compiled.finditer(text)``, nothing when it cannot match."""
    return compiled.finditer(text) if may_match(compiled, text) else iter(())
