"""Needles: literal strings one of which every match of a regular expression contains.

``needles(compiled)`` walks the parse tree ``re.compile`` builds (``re._parser``): a
sequence needs the requirement of one of its parts (the rarest, by the expected hits in a short
message), an alternation the union of its branches' requirements (none if a branch has none);
optional parts, wide classes, ``.``, ``\\w`` and back references give none. Runs of literals
and small sets of literal strings are concatenated (``(?:a|b)c`` gives ``ac``, ``bc``), a
repeat of at least ``m`` copies of an exact body adds its first and last ``m`` copies to the
runs around it, and zero-width assertions (``\\b``, ``^``, lookarounds) consume nothing, so
they do not break a run. Needles are lower-case ASCII; a pattern character that is not ASCII
requires ``NON_ASCII`` (some non-ASCII character in the text) or the ASCII characters it equals
under IGNORECASE. ``fold`` spells a text as the needles are spelled. ``brain.cues.gate`` says
why this is exact.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
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
