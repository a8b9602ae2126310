"""A prefilter for the cue tables: skip a regular expression that cannot match.

Most messages match none of the cues, so without a prefilter every pattern of every table scans
the whole text. For each compiled pattern this module derives, from its parse tree, a set of
literal strings ("needles") one of which *every* match contains (``needles``), and one pass of
an Aho-Corasick automaton over the message finds which needles it holds (``scan``). A pattern
none of whose needles is in the message is not run: it could not have matched.

What it guarantees: ``scan(text)`` has the bit of a pattern (``register``) set whenever the
pattern matches ``text`` (``pattern.search(text)``); a pattern without a derivable requirement
gets no bit and is always run. So a cue check behind the gate answers exactly what the plain
regular expression answers, only sooner when the answer is "no" (``tests/test_cue_gate.py``
checks it on every fixture text and variants of them).

Why it holds:

- The derivation is conservative: a sequence needs the requirement of one of its parts, an
  alternation the union of its branches' requirements (none if a branch has none), an optional
  part, a class, ``.``, ``\\w`` or a back reference give none. Runs of literals (and small
  sets of literal strings: ``(?:a|b)c`` gives ``ac``, ``bc``) are concatenated, zero-width
  assertions (``\\b``, ``^``, lookarounds) consume nothing and so do not break a run.
- Case: the patterns are IGNORECASE, so needles and the message are lower-cased. Python's
  ``re`` also treats a few non-ASCII characters as equal to ASCII letters whose ``str.lower``
  is not that letter (U+0130, U+0131, U+017F: dotted capital I, dotless i, long s): ``fold``
  translates them first. The test checks every code point against every ASCII character, so
  the list cannot silently be incomplete.
- Needles are ASCII. A pattern character that is not ASCII requires a non-ASCII character in the
  message (``NON_ASCII``) or the ASCII characters it is equal to under IGNORECASE.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from functools import cache
from itertools import product
from re import _parser  # type: ignore[attr-defined]  # the stdlib parser behind re.compile
from typing import Any

import ahocorasick

# The requirement "some character of the message is not ASCII": every other needle is ASCII.
NON_ASCII = "\N{REPLACEMENT CHARACTER}"
# Non-ASCII characters that ``re`` matches to an ASCII letter under IGNORECASE although their
# ``str.lower()`` is not that letter (U+0130 lower-cases to two characters, "i" and a dot).
FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s"})
_LIMIT = 64  # the most strings a set of exact literal strings may hold before it is dropped
_TYPICAL_CHARS = 80  # a short customer message: what a needle's cost is estimated over
_USELESS = 3.0  # expected hits in such a message above which a requirement is not worth it
# Letter frequencies of English text (space included), to pick the rarest requirement of a
# sequence: "refund" is rarer than "re" or " ".
_FREQUENCY = {
    " ": 18, "e": 10, "t": 7.5, "a": 6.5, "o": 6.2, "i": 5.7, "n": 5.7, "s": 5.3, "h": 5,
    "r": 5, "d": 3.5, "l": 3.3, "u": 2.3, "c": 2.2, "m": 2, "w": 1.9, "f": 1.8, "g": 1.6,
    "y": 1.6, "p": 1.5, "b": 1.2, "v": 0.8, "k": 0.6, "j": 0.1, "x": 0.15, "q": 0.1, "z": 0.06,
}  # fmt: skip

Strings = frozenset[str]


def fold(text: str) -> str:
    """``text`` as the needles are spelled: lower case, with ``FOLD`` applied."""
    return text.lower() if text.isascii() else text.translate(FOLD).lower()


def needles(compiled: re.Pattern[str]) -> Strings | None:
    """Strings one of which every match of ``compiled`` contains, or None (no requirement)."""
    if not isinstance(compiled.pattern, str):
        return None
    required = _sequence(_parser.parse(compiled.pattern, compiled.flags))[1]
    return None if required is None else _minimal(required)


@cache
def _ascii_equals(char: str) -> Strings:
    """The ASCII characters (lower-cased) that ``char`` matches under IGNORECASE."""
    single = re.compile(re.escape(char), re.IGNORECASE)
    return frozenset(chr(a).lower() for a in range(128) if single.fullmatch(chr(a)))


def _chars(chars: Iterable[str]) -> tuple[Strings | None, Strings]:
    """(exact strings, requirement) of one character out of ``chars``."""
    listed = set(chars)
    if all(c.isascii() for c in listed):
        exact = frozenset(c.lower() for c in listed)
        return exact, exact
    need = {c.lower() for c in listed if c.isascii()}
    for c in listed - {c for c in listed if c.isascii()}:
        need |= _ascii_equals(c) | {NON_ASCII}
    return None, frozenset(need)


# One item of a parsed pattern gives (exact, need, edge): ``exact`` the set of strings it can
# match (None: unknown or too many), ``need`` its requirement, ``edge`` for a repeat of at least
# ``m`` copies of an exact body: the strings its first (and its last) ``m`` copies spell.
Item = tuple[Strings | None, Strings | None, Strings | None]
_EMPTY: Strings = frozenset({""})


def _item(op: Any, av: Any) -> Item:
    if op is _parser.LITERAL:
        exact, need = _chars((chr(av),))
        return exact, need, None
    if op is _parser.IN:
        return _members(av)
    if op in (_parser.AT, _parser.ASSERT, _parser.ASSERT_NOT):
        return _EMPTY, None, None  # zero-width: consumes nothing
    if op is _parser.SUBPATTERN:
        return (*_sequence(av[3]), None)
    if op is _parser.ATOMIC_GROUP:
        return (*_sequence(av), None)
    if op is _parser.BRANCH:
        return (*_branch(av[1]), None)
    if op in (_parser.MAX_REPEAT, _parser.MIN_REPEAT, _parser.POSSESSIVE_REPEAT):
        return _repeat(*av)
    return None, None, None  # ANY, CATEGORY, NOT_LITERAL, back references, ...


def _members(av: Any) -> Item:
    chars: list[str] = []
    for op, value in av:
        if op is _parser.LITERAL:
            chars.append(chr(value))
        elif op is _parser.RANGE and value[1] - value[0] < _LIMIT:
            chars.extend(chr(c) for c in range(value[0], value[1] + 1))
        else:  # NEGATE, CATEGORY, a wide range
            return None, None, None
    exact, need = _chars(chars)
    return exact, need, None


def _branch(alternatives: Any) -> tuple[Strings | None, Strings | None]:
    walked = [_sequence(a) for a in alternatives]
    exacts, needs = [e for e, _ in walked], [n for _, n in walked]
    exact = None
    if all(e is not None for e in exacts):
        exact = frozenset().union(*exacts)  # type: ignore[arg-type]
        exact = exact if len(exact) <= _LIMIT else None
    if any(n is None for n in needs):
        return exact, None
    return exact, frozenset().union(*needs)  # type: ignore[arg-type]


def _repeat(low: int, high: int, body: Any) -> Item:
    exact, need = _sequence(body)
    copies: Strings | None = None  # the exact strings of a short bounded repeat
    if exact is not None and high <= 4:
        powers = [_power(exact, n) for n in range(low, high + 1)]
        if all(p is not None for p in powers):
            union: Strings = frozenset().union(*powers)  # type: ignore[arg-type]
            copies = union if len(union) <= _LIMIT else None
    if low == 0:
        return copies, None, None
    edge = _power(exact, low) if exact is not None else None
    return copies, need, edge


def _power(exact: Strings, n: int) -> Strings | None:
    if len(exact) ** n > _LIMIT:
        return None
    return frozenset("".join(p) for p in product(exact, repeat=n))


def _concat(left: Strings, right: Strings) -> Strings | None:
    if len(left) * len(right) > _LIMIT:
        return None
    return frozenset(a + b for a in left for b in right)


def _sequence(items: Any) -> tuple[Strings | None, Strings | None]:
    """A sequence: its exact strings (when every item is exact) and its best requirement."""
    run: Strings = _EMPTY  # strings one of which the match spells right up to this item
    whole = True  # every item so far exact: ``run`` is the exact set of the sequence so far
    found: list[Strings] = []
    literals = ""  # ASCII literals not yet appended to ``run`` (one join for a whole word)
    for op, av in getattr(items, "data", items):  # a SubPattern's list: no __getitem__ per item
        if op is _parser.LITERAL and av < 128:
            literals += chr(av).lower()
            continue
        if literals:
            run, literals = frozenset(r + literals for r in run), ""
        exact, need, edge = _item(op, av)
        if exact is not None:
            joined = _concat(run, exact)
            if joined is None:
                found.append(run)
                run, whole = exact, False
            else:
                run = joined
            continue
        whole = False
        if need is not None:
            found.append(need)
        if edge is not None:
            joined = _concat(run, edge)
            found.append(edge if joined is None else joined)
            run = edge
        else:
            found.append(run)
            run = _EMPTY
    if literals:
        run = frozenset(r + literals for r in run)
    found.append(run)
    return (run if whole else None), _best(found)


def _best(candidates: list[Strings]) -> Strings | None:
    """The rarest requirement among ``candidates`` (a set holding "" requires nothing)."""
    usable = [c for c in candidates if "" not in c]
    best = min(usable, key=_cost, default=None)
    # A requirement most messages meet (a space, "e") saves nothing and costs scan hits.
    return None if best is None or _cost(best) > _USELESS else best


def _minimal(strings: Strings) -> Strings:
    """Without the strings that contain another one: the shorter one is there whenever they are."""
    automaton = ahocorasick.Automaton()  # finds, in each string, the others inside it
    for s in strings:
        automaton.add_word(s, s)
    automaton.make_automaton()
    return frozenset(s for s in strings if all(inner == s for _, inner in automaton.iter(s)))


def _cost(strings: Strings) -> float:
    """About how many times a short message holds one of ``strings``: how selective the
    requirement is, and how many hits the scan reports for it."""
    return sum(map(_expected, strings))


@cache
def _expected(needle: str) -> float:
    if needle == NON_ASCII:
        return 0.02  # most messages are ASCII
    chance = float(_TYPICAL_CHARS)
    for c in needle:
        chance *= _FREQUENCY.get(c, 0.5) / 100
    return chance


class _Registry:
    """Every registered pattern's bit and the automaton over all their needles."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.bits: dict[re.Pattern[str], int] = {}
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

    def register(self, compiled: re.Pattern[str]) -> int:
        with self.lock:
            if compiled in self.bits:
                return self.bits[compiled]
            required = needles(compiled)
            bit = 0 if required is None else 1 << self.count
            self.bits[compiled] = bit
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


def register(compiled: re.Pattern[str]) -> int:
    """The bit ``scan`` sets when ``compiled`` may match (0: no requirement, always run it).
    Register at import (module level): ``may_match`` runs an unregistered pattern."""
    return _REGISTRY.register(compiled)


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
        for _, bits in automaton.iter(fold(text)):  # every occurrence, overlaps too
            found |= bits
    registry.recent = ((text, found, state), *recent[:1])  # one assignment: thread-safe
    return found


def may_match(compiled: re.Pattern[str], text: str) -> bool:
    """False only when ``compiled`` cannot match ``text``."""
    bit = _REGISTRY.bits.get(compiled, 0)
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
