"""Emphasis that is anger only with a complaint behind it (``brain.signals`` asks it last):
ironic quotes, capitals, "??" and "!!!", a failure that keeps happening, a sigh, a word said
three times, stretched words, a long wait, nobody there.

Most messages a complaint reaches hold none of it, so the tests are written to say "no" with
little work, each giving the answer its plain regular expression or count gives:

- the patterns are asked through the gate's one scan (``brain.cues.gate``): ``emphasis`` reads
  the scan once and skips a test none of whose patterns can match, without a call;
- capitals are counted in C (``bytes.translate`` deletes them; the length says how many) for an
  ASCII text, where only A-Z are capitals and letters; two shouted words need 4 capitals;
- a stretched word (four of one letter, ``_STRETCHED``'s back reference) holds "aaaa" .. "zzzz"
  once folded as the gate folds it, so the gate gets those needles;
- a word said three times (``tone.REPEATED``, a back reference the gate cannot derive) repeats a
  token of the lower-cased ASCII text with every non-letter made a space (``_repeats``).

``tests/test_signals_equivalence.py`` checks each test against its plain form.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable

from brain.cues import gate, normalize, tone

SHOUT_CHARS = 1500  # capitals are counted in the opening this long (brain.signals' window)
_UPPER = string.ascii_uppercase.encode()
_LETTERS = string.ascii_letters.encode()
# Every ASCII character that is not a letter, made a space (a letter stays itself).
_TO_SPACE = {c: " " for c in range(128) if not chr(c).isalpha()}


def shouting(text: str) -> bool:
    """12 letters or more in the opening, over 70% of them capitals."""
    head = text[:SHOUT_CHARS]
    if head.isascii():
        data = head.encode()
        upper = len(data) - len(data.translate(None, _UPPER))
        # 12 letters or more with over 70% capitals need 9 capitals at the least.
        if upper < 9:
            return False
        letters = len(data) - len(data.translate(None, _LETTERS))
        return letters >= 12 and upper / letters > 0.7
    alpha = [c for c in head if c.isalpha()]
    return len(alpha) >= 12 and sum(c.isupper() for c in alpha) / len(alpha) > 0.7


# Two words in capitals in a row, one of four letters or more ("THREE HOURS", "NOT AGAIN"):
# emphasis. One capitalised word alone is more often a brand or an acronym (IKEA, GDPR, ATM).
_CAPS_RUN = re.compile(r"(?-i:\b[A-Z]{2,}['’]?[A-Z]*[\s,.!?]+[A-Z]{2,}\b)")


def shouted_words(text: str) -> bool:
    if text.isascii():
        data = text.encode()
        if len(data) - len(data.translate(None, _UPPER)) < 4:
            return False  # a match holds two runs of two capitals (A-Z) at the least
    return any(max(len(w) for w in m.group(0).split()) >= 4 or len(m.group(0)) >= 8
               for m in _CAPS_RUN.finditer(text))  # fmt: skip


def _repeats(text: str) -> bool:
    """``tone.REPEATED.search(text)``: a word three times ("no no no"), "never. never"."""
    if text.isascii():
        # Both branches repeat a whole word (delimited by non-letters, compared ignoring case):
        # without a repeated token there is nothing for the back reference to find.
        tokens = text.lower().translate(_TO_SPACE).split()
        if len(set(tokens)) == len(tokens):
            return False
    return tone.REPEATED.search(text) is not None


# Four of one letter in a row, folded: every match of ``stretched`` holds one (the letters
# that equal an ASCII letter under IGNORECASE are folded to it, see ``gate.FOLD``).
gate.register(normalize._STRETCHED, frozenset(c * 4 for c in string.ascii_lowercase))


def _searcher(*patterns: re.Pattern[str]) -> Callable[[str], bool]:
    if len(patterns) == 1:
        return lambda text: patterns[0].search(text) is not None
    return lambda text: any(gate.search(p, text) for p in patterns)


def _bits(*patterns: re.Pattern[str]) -> int:
    """The gate bits of ``patterns`` together, or 0 when one has none (always asked)."""
    union = 0
    for p in patterns:
        bit = gate.register(p)
        if not bit:
            return 0
        union |= bit
    return union


# (needs a sour tone, the gate bits one of which must be in the scan (0: always asked), the
# test, the reason). Without ``needs sour`` a problem word is enough ("SOAKED", "refund??").
_TESTS: tuple[tuple[bool, int, Callable[[str], bool], str], ...] = (
    (False, _bits(tone.SCARE_QUOTES), _searcher(tone.SCARE_QUOTES), "ironic quotes"),
    (False, 0, shouting, "writes in capitals"),
    (False, 0, shouted_words, "shouts words in capitals"),
    (False, _bits(tone.RANT_PUNCTUATION, tone.QUESTIONS),
     _searcher(tone.RANT_PUNCTUATION, tone.QUESTIONS), "repeated punctuation"),
    (False, _bits(tone.RECURRING), _searcher(tone.RECURRING), "a failure that keeps happening"),
    (False, _bits(tone.EXASPERATED), _searcher(tone.EXASPERATED),
     "exasperated (a sigh, a facepalm, smh)"),
    (False, 0, _repeats, "repeats words for emphasis"),
    (True, _bits(tone.EXCLAMATIONS), _searcher(tone.EXCLAMATIONS), "repeated punctuation"),
    (True, _bits(normalize._STRETCHED), normalize.stretched, "stretched words"),
    (True, _bits(tone.LONG_WAIT), _searcher(tone.LONG_WAIT), "complains of a long wait"),
    (True, _bits(tone.NOBODY_THERE), _searcher(tone.NOBODY_THERE),
     "nobody there or nobody who knows"),
)  # fmt: skip


def emphasis(text: str, negative: bool, sour: bool) -> str | None:
    """The reason of the first emphasis that counts, or None. ``negative``: a complaint is
    behind the message (a problem word, a sour tone, a failed contact); ``sour``: a sour tone
    or a failed contact itself, which the weaker signs need."""
    if not negative:  # a sour tone is negative too
        return None
    found = gate.scan(text)
    for needs_sour, bits, test, why in _TESTS:
        # A loop with the gate's bits tested inline: most tests are skipped without a call.
        if (sour or not needs_sour) and (not bits or found & bits) and test(text):
            # "argh, I forgot my password again": cross with themselves, not the company
            return None if gate.search(tone.SELF_BLAME, text) else why
    return None
