"""Personal data redaction for text sent to an LLM provider, with the originals put back after.

Before a customer's message leaves for a provider, ``Redactor.redact`` replaces personal data
with placeholders such as ``[EMAIL_1]`` and keeps a mapping from placeholder to original; once
the answer comes back, ``Redaction.restore`` puts the originals back wherever the model echoed a
placeholder (it tolerates ``[email_1]``, ``[ EMAIL_1 ]`` or ``[EMAIL 1]``). The same value gets
the same placeholder everywhere in one text, so the model can still tell "the same address
twice" from "two addresses".

What is detected, in this order (a span claimed by an earlier detector is hidden from the later
ones, so a card number cannot be half-eaten by the phone pattern):

1. **IBANs** (``IBAN``): country code, two check digits and up to 30 letters or digits, written
   compact or in groups of four. Kept only if the ISO 7064 mod-97 check holds.
2. **Payment cards** (``CARD``): 13 to 19 digits, optionally grouped with spaces or dashes,
   kept only if the Luhn checksum holds (and the first digit is not 0). When a longer run of
   digit groups fails (a card followed by its CVV, say), whole groups are trimmed from its
   ends to find the card inside.
3. **Email addresses** (``EMAIL``).
4. **Operator patterns**: every ``KIND -> regex`` given as ``extra_patterns`` (``[KIND_1]``).
   They come after the validated detectors so a broad pattern cannot break a card or an IBAN
   apart, and before phones so an operator's own identifiers keep their own name.
5. **Phone numbers** (``PHONE``): international ``+CC`` (or ``00CC``) forms and national forms
   with spaces, dashes, dots and parentheses, 8 to 15 digits; numbers separated only by spaces
   are split apart. Dates, times, amounts next to a currency, IPv4 addresses, years, the digits
   of card- or IBAN-shaped numbers that failed their check, and unformatted numbers that do not
   start with ``0`` (order numbers, unless a word such as "phone" or "call" just precedes them)
   are left alone.

Why validate instead of redacting every long number: a support conversation is full of numbers
the model needs to see, above all order, invoice and tracking numbers. A 16-digit order number
looks exactly like a card number, and a random digit string passes Luhn only one time in ten
(mod-97 only one time in 97); redacting on shape alone would blind the model to the very
reference the customer is asking about. Checksums keep false positives rare while real cards and
IBANs, which always carry a valid checksum, are still caught.

Spans matching the optional ``keep`` pattern are hidden from every detector and left as they
are: the log redactor keeps platform ids this way (a Slack ``ts`` such as "1800000000.000123",
a 19-digit Discord snowflake, which passes the Luhn check one time in ten like any number).

It is a single pass of precompiled regular expressions and a few arithmetic checks: no network,
no model, microseconds for a typical message. It is a safety net, not a guarantee: personal data
with no recognisable shape (names, street addresses) passes through.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from config.errors import ConfigError

# A detector yields (start, end, identity) spans; identity is the normalised value, so that
# "+44 20 7946 0958" and "+442079460958" share one placeholder.
_Span = tuple[int, int, str]
_Finder = Callable[[str], Iterator[_Span]]

_MASK = "_"  # a word character: nothing that follows can start or end next to a claimed span
_SPACE = "[ \t\u00a0\u202f]"  # horizontal spaces only: a line break ends a number

# -- placeholders ----------------------------------------------------------------------------
_KIND_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_PLACEHOLDER_LIKE = re.compile(r"\[\s*([A-Za-z][A-Za-z0-9_\- ]*?)[\s_\-]*([0-9]{1,6})\s*\]")


def _placeholder_key(kind: str, number: str | int) -> tuple[str, int]:
    """Case, spaces, dashes and underscores do not matter: models rewrite them freely."""
    return re.sub(r"[\s_\-]+", "", kind).upper(), int(number)


@dataclass(frozen=True)
class Redaction:
    """Redacted text and the placeholder -> original mapping needed to undo it."""

    text: str
    mapping: dict[str, str]

    def restore(self, answer: str) -> str:
        """Put the originals back wherever ``answer`` echoes one of our placeholders."""
        if not self.mapping:
            return answer
        originals: dict[tuple[str, int], str] = {}
        for placeholder, original in self.mapping.items():
            parsed = _PLACEHOLDER_LIKE.fullmatch(placeholder)
            if parsed is not None:
                originals[_placeholder_key(parsed[1], parsed[2])] = original

        def put_back(match: re.Match[str]) -> str:
            exact = self.mapping.get(match[0])
            if exact is not None:
                return exact
            return originals.get(_placeholder_key(match[1], match[2]), match[0])

        return _PLACEHOLDER_LIKE.sub(put_back, answer)


# -- IBAN ------------------------------------------------------------------------------------
_IBAN = re.compile(
    rf"(?<!\w)[A-Za-z]{{2}}[0-9]{{2}}(?:[A-Za-z0-9]{{11,30}}|(?:{_SPACE}[A-Za-z0-9]{{4}}){{2,8}}"
    rf"(?:{_SPACE}[A-Za-z0-9]{{1,3}})?)(?!\w)"
)
_IBAN_LENGTH = range(15, 35)


def _iban_is_valid(compact: str) -> bool:
    if len(compact) not in _IBAN_LENGTH or not compact[2:4].isdigit():
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(char, 36)) for char in rearranged)
    return int(number) % 97 == 1


def _find_ibans(text: str) -> Iterator[_Span]:
    for match in _IBAN.finditer(text):
        # A grouped IBAN may have swallowed a following four-letter word: drop trailing groups.
        groups = list(re.finditer(r"[A-Za-z0-9]+", match[0]))
        for last in range(len(groups), 0, -1):
            compact = "".join(group[0] for group in groups[:last]).upper()
            if _iban_is_valid(compact):
                yield match.start(), match.start() + groups[last - 1].end(), compact
                break


# -- payment cards ---------------------------------------------------------------------------
_DIGIT_RUN = re.compile(r"(?<![\w+\-./#@])\+?[0-9](?:[ \-]?[0-9]){0,79}(?![\w@]|[.,][0-9])")
_CARD_DIGITS = range(13, 20)
_CARD_MAX_GROUPS = 8  # "4111 1111 1111 1111" is 4; nobody writes a card in 9 pieces


def _luhn_is_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _find_cards(text: str) -> Iterator[_Span]:
    for match in _DIGIT_RUN.finditer(text):
        if match[0].startswith("+"):  # an international phone number, never a card
            continue
        groups = list(re.finditer(r"[0-9]+", match[0]))
        found = _card_in(groups)
        if found is not None:
            first, last = found
            digits = "".join(group[0] for group in groups[first : last + 1])
            yield match.start() + groups[first].start(), match.start() + groups[last].end(), digits


def _card_in(groups: list[re.Match[str]]) -> tuple[int, int] | None:
    """The longest run of whole groups (leftmost first) that is a Luhn-valid card number."""
    ends = [0]  # ends[i]: digits in the first i groups
    for group in groups:
        ends.append(ends[-1] + len(group[0]))
    count = len(groups)
    for size in range(min(count, _CARD_MAX_GROUPS), 0, -1):
        for first in range(count - size + 1):
            if ends[first + size] - ends[first] not in _CARD_DIGITS:
                continue
            digits = "".join(group[0] for group in groups[first : first + size])
            if digits[0] != "0" and _luhn_is_valid(digits):  # no payment card starts with 0
                return first, first + size - 1
    return None


# -- email -----------------------------------------------------------------------------------
_EMAIL = re.compile(
    r"(?<![\w.%+\-])[\w%+\-]+(?:\.[\w%+\-]+)*@(?:[^\W_](?:[\w\-]*[^\W_])?\.)+[^\W\d_]{2,}(?![\w\-])"
)


def _find_emails(text: str) -> Iterator[_Span]:
    for match in _EMAIL.finditer(text):
        yield match.start(), match.end(), match[0].lower()


# -- phone -----------------------------------------------------------------------------------
_PHONE_SEP = rf"(?:{_SPACE}?[\-.]{_SPACE}?|{_SPACE})"
_PHONE = re.compile(
    rf"""
    (?<![\w+\-./#@(])
    (?:\+{_SPACE}?)?
    (?:\(\+?[0-9]{{1,5}}\)|[0-9])                      # first digit or (area code)
    (?:{_PHONE_SEP}?(?:\([0-9]{{1,5}}\)|[0-9])){{0,60}} # more digits, (groups), separators
    (?![\w@]|[.,:][0-9])
    """,
    re.VERBOSE,
)
_PHONE_DIGITS = range(8, 16)  # E.164 allows at most 15, plus "00" for the international prefix
_PHONE_CUE = re.compile(
    r"\b(?:phone|tel|telephone|mobile|cell|call|ring|text|sms|whatsapp|fax|reach\ me|"
    r"telefon|handy|rufnummer|t[ée]l[ée]phone|portable|m[óo]vil|tel[ée]fono|celular)\b",
    re.IGNORECASE | re.VERBOSE,
)
# Between the cue and the number: a few words ("call me at", "phone number is") and a colon.
_CUE_GAP = re.compile(r"(?:[ \t]+[^\W\d_]+\.?){0,4}[ \t]*[:\-]?[ \t]*")
_YEAR = re.compile(r"(?:19|20)[0-9]{2}")
_YEAR_FIRST = re.compile(r"(?:19|20)[0-9]{2}[\-./]")
_IPV4 = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")

# Numbers that look like phones but are not: masked (not redacted) before the phone pass.
_DAY_MONTH = r"(?:0?[1-9]|[12][0-9]|3[01])"
_MONTH = r"(?:0?[1-9]|1[0-2])"
_CURRENCY = r"(?:[$€£¥₹]|\b(?:USD|EUR|GBP|CHF|JPY|CAD|AUD|SEK|NOK|DKK|PLN)\b)"
_AMOUNT = r"[0-9]+(?:[.,'\u00a0\u202f ][0-9]{3})*(?:[.,][0-9]{1,2})?"
_NOT_PHONE = re.compile(
    rf"""
    (?<![0-9])(?<![0-9][\-./])
    (?:
        [0-9]{{4}}([\-./]){_MONTH}\1{_DAY_MONTH}                    # 2026-11-21
      | {_DAY_MONTH}([\-./]){_MONTH}\2(?:[0-9]{{4}}|[0-9]{{2}})      # 21.11.2026, 21/11/26
      | {_MONTH}([\-./]){_DAY_MONTH}\3(?:[0-9]{{4}}|[0-9]{{2}})      # 11/21/2026
      | [0-9]{{1,2}}:[0-9]{{2}}(?::[0-9]{{2}}(?:[.,][0-9]{{1,9}})?)?   # 14:30, 09:05:00.123
    )
    (?![0-9]|[\-./][0-9])
    | {_CURRENCY}{_SPACE}?{_AMOUNT}                                  # €12.499.000,00
    | (?<![0-9.,]){_AMOUNT}{_SPACE}?{_CURRENCY}                      # 12 499 000 €
    """,
    re.VERBOSE,
)


_CARD_SHAPED = re.compile(  # 13-19 digits in fours (or 4-6-5), never starting with 0
    r"[1-9][0-9]{3}(?:[ \-][0-9]{4}){2,3}[ \-][0-9]{1,4}|[1-9][0-9]{3}[ \-][0-9]{6}[ \-][0-9]{4,5}"
)
_TOKEN = re.compile(r"[^ \t\u00a0\u202f]+")


def _not_phone_spans(text: str) -> Iterator[tuple[int, int]]:
    """Spans the phone pass must not touch although nothing in them is redacted."""
    for match in _NOT_PHONE.finditer(text):
        yield match.span()
    for match in _IBAN.finditer(text):  # IBAN-shaped but failing mod-97
        yield match.span()
    for match in _DIGIT_RUN.finditer(text):  # card-shaped but failing Luhn: an order number
        if _CARD_SHAPED.fullmatch(match[0]):
            yield match.span()


def _has_cue(text: str, start: int) -> bool:
    before = text[max(0, start - 40) : start]
    return any(_CUE_GAP.fullmatch(before, cue.end()) for cue in _PHONE_CUE.finditer(before))


def _is_phone(text: str, start: int, candidate: str) -> bool:
    groups = re.findall(r"[0-9]+", candidate)
    digits = "".join(groups)
    if len(digits) - (2 if digits.startswith("00") else 0) not in _PHONE_DIGITS:
        return False
    if candidate.startswith("+"):
        return True
    if _IPV4.fullmatch(candidate) or all(_YEAR.fullmatch(group) for group in groups):
        return False
    if _YEAR_FIRST.match(candidate):  # 2024-10482: a reference, not a phone
        return False
    if len(groups) == 1 and not digits.startswith("0"):
        # Unformatted and without a trunk prefix: an order or account number unless the
        # customer just said it is a phone number.
        return _has_cue(text, start)
    return True


def _find_phones(text: str) -> Iterator[_Span]:
    for match in _PHONE.finditer(text):
        # One match may hold several numbers ("0612345678 0698765432") or a number and an order
        # reference ("0612345678 10482"): split it on spaces.
        for start, end in _split_run(text, match.start(), match[0]):
            digits = re.sub(r"[^0-9]", "", text[start:end])
            yield start, end, ("+" if text[start] == "+" else "") + digits


def _split_run(text: str, offset: int, run: str) -> Iterator[tuple[int, int]]:
    """Left to right: a token that is a phone number by itself, else the longest window."""
    tokens = [token for token in _TOKEN.finditer(run) if any(c.isdigit() for c in token[0])]
    ends = [0]  # ends[i]: digits in the first i tokens
    for token in tokens:
        ends.append(ends[-1] + sum(c.isdigit() for c in token[0]))
    first = 0
    while first < len(tokens):
        for last in [first, *range(len(tokens) - 1, first, -1)]:
            if ends[last + 1] - ends[first] > _PHONE_DIGITS.stop + 1:  # too long even with "00"
                continue
            start, end = offset + tokens[first].start(), offset + tokens[last].end()
            if _is_phone(text, start, text[start:end]):
                yield start, end
                first = last
                break
        first += 1


# -- the redactor ----------------------------------------------------------------------------
def _regex_finder(pattern: re.Pattern[str]) -> _Finder:
    def find(text: str) -> Iterator[_Span]:
        for match in pattern.finditer(text):
            if match.end() > match.start():  # an empty match redacts nothing
                yield match.start(), match.end(), match[0]

    return find


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    if not spans:
        return text
    parts: list[str] = []
    position = 0
    for start, end in sorted(spans):
        parts.append(text[position:start])
        parts.append(_MASK * (end - start))
        position = end
    parts.append(text[position:])
    return "".join(parts)


class Redactor:
    """Replaces personal data with numbered placeholders; build once, use for every message."""

    def __init__(
        self, extra_patterns: Mapping[str, str] | None = None, keep: str | None = None
    ) -> None:
        self._keep = re.compile(keep) if keep else None
        extras: list[tuple[str, _Finder]] = []
        for kind, regex in (extra_patterns or {}).items():
            if not _KIND_NAME.fullmatch(kind):
                raise ConfigError(
                    f"redaction pattern {kind!r}: the kind must be letters, digits and "
                    "underscores, starting with a letter (e.g. ORDER_REF)"
                )
            try:
                compiled = re.compile(regex)
            except re.error as err:
                raise ConfigError(
                    f"redaction pattern {kind}: invalid regular expression {regex!r}: {err}"
                ) from None
            extras.append((kind.upper(), _regex_finder(compiled)))
        self._detectors: list[tuple[str, _Finder]] = [
            ("IBAN", _find_ibans),
            ("CARD", _find_cards),
            ("EMAIL", _find_emails),
            *extras,
        ]

    def redact(self, text: str) -> Redaction:
        found: list[tuple[int, int, str, str]] = []  # start, end, kind, identity
        claimed = bytearray(len(text))
        working = text
        if self._keep is not None:
            working = _mask(working, [m.span() for m in self._keep.finditer(text) if m[0]])
        for kind, finder in [*self._detectors, ("PHONE", _find_phones)]:
            if finder is _find_phones:
                # Dates, times, amounts, invalid cards and IBANs: hidden from phones, kept.
                working = _mask(working, list(_not_phone_spans(working)))
            spans: list[tuple[int, int]] = []
            for start, end, identity in finder(working):
                # An operator pattern may match the mask itself: never claim a character twice.
                if not any(claimed[start:end]):
                    claimed[start:end] = b"\x01" * (end - start)
                    found.append((start, end, kind, identity))
                    spans.append((start, end))
            working = _mask(working, spans)
        if not found:
            return Redaction(text=text, mapping={})
        return self._replace(text, sorted(found))

    @staticmethod
    def _replace(text: str, found: list[tuple[int, int, str, str]]) -> Redaction:
        # Never hand out a placeholder the customer already typed, or restore() would swap it.
        taken = {_placeholder_key(m[1], m[2]) for m in _PLACEHOLDER_LIKE.finditer(text)}
        counters: dict[str, int] = {}
        placeholders: dict[tuple[str, str], str] = {}
        mapping: dict[str, str] = {}
        parts: list[str] = []
        position = 0
        for start, end, kind, identity in found:
            placeholder = placeholders.get((kind, identity))
            if placeholder is None:
                number = counters.get(kind, 0) + 1
                while _placeholder_key(kind, number) in taken:
                    number += 1
                counters[kind] = number
                placeholder = f"[{kind}_{number}]"
                placeholders[kind, identity] = placeholder
                mapping[placeholder] = text[start:end]
            parts.append(text[position:start])
            parts.append(placeholder)
            position = end
        parts.append(text[position:])
        return Redaction(text="".join(parts), mapping=mapping)
