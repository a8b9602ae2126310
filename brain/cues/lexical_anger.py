"""The anger cues that need the sentiment lexicon, in the order ``brain.signals`` asks them:
thanks for a harm, a verdict on the company, a harm the company did, a hashtag cursing it (with
a complaint behind it), and praise for a failure (sarcasm): praise beside a problem word,
praise said on its own after a failure or clapping, and praise opening a report of one."""

from __future__ import annotations

import re
from collections.abc import Mapping

from brain.cues import gate, lexical, tone

SARCASM = "sarcasm that praises a failure"
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
_CLOSE_CHARS = 40  # the praise closing a message ("... again. brilliant 👏") is this short
_CLAPPING = "\N{CLAPPING HANDS SIGN}"


def _bits(*patterns: re.Pattern[str]) -> int:
    """The gate bits of ``patterns`` together; -1 (every bit) when one has none: always run."""
    union = 0
    for p in patterns:
        bit = gate.register(p)
        if not bit:
            return -1
        union |= bit
    return union


_THANKS = _bits(lexical._THANKS_FOR)
_VERDICT = _bits(lexical._VERDICT)
_HARM = _bits(lexical._HARM_DONE)
_HASHTAG = _bits(lexical._HASHTAG)
# Every pattern a cue of ``lexical_anger`` needs one of (the praise of the last three).
_ANY = _THANKS | _VERDICT | _HARM | _HASHTAG | _bits(tone.PRAISE, tone.CLOSING_PRAISE)
_ANY |= _bits(tone.OPENING_PRAISE)


def lexical_anger(
    text: str, lexicon: Mapping[str, float], problem: bool, failed_before: bool
) -> str | None:
    """The reason one of these cues gives, or None. ``problem``: a problem word is in the
    message; ``failed_before``: support already failed the customer."""
    # Each cue below needs one of its patterns (or clapping) to match: with the gate's scan
    # read once, a cue none of whose patterns can match is skipped without a call, and a
    # message none of them can match (most) returns at once.
    found = gate.scan(text)
    if not found & _ANY and _CLAPPING not in text:
        return None
    if found & _THANKS and lexical.thanks_for_harm(text, lexicon) is not None:
        return SARCASM
    verdict = lexical.verdict_on_company(text, lexicon) if found & _VERDICT else None
    if verdict is not None:
        return f"calls the company or its staff {verdict}"
    harm = lexical.harm_by_company(text, lexicon) if found & _HARM else None
    if harm is not None:
        return f"blames the company for a harm ({harm})"
    tag = lexical.negative_hashtag(text, lexicon) if found & _HASHTAG else None
    if tag is not None and (problem or failed_before):
        return f"a hashtag cursing the brand ({tag})"
    if problem and (gate.search(tone.PRAISE, text) or gate.search(tone.CLOSING_PRAISE, text)):
        # "brilliant, the update fixed the crash": praise for a fix is real
        return None if gate.search(tone.FIXED, text) else SARCASM
    # Without a problem word, only praise closing the message or clapping counts:
    # "the app is down on payday. brilliant", "card declined again 👏".
    if closing_aside(text) and failure(text, lexicon) and not gate.search(tone.RESOLVED, text):
        return SARCASM
    return SARCASM if praise_for_failure(text, lexicon) else None


def praise_for_failure(text: str, lexicon: Mapping[str, float]) -> bool:
    """Praise opening the message, then a failure: a fact word or a negative word of the
    lexicon in the rest ("wonderful, the app crashed mid-payment"), and nothing put right."""
    opening = gate.search(tone.OPENING_PRAISE, text)
    if opening is None:
        return False
    rest = text[opening.end() :]
    if gate.search(tone.RESOLVED, rest):
        return False
    return bool(gate.search(tone.PROBLEM, rest)) or failure(rest, lexicon)


def failure(text: str, lexicon: Mapping[str, float]) -> bool:
    """A fact or outage word, or a negative word of the lexicon: what praise can be for
    when it is sarcasm ("brilliant, app down on payday 👏")."""
    if gate.search(tone.FACTS, text) or gate.search(tone.OUTAGE, text):
        return True
    words = [w.lower() for w in _WORD.findall(text)]
    # The lexicon lists base forms more often than inflected ones ("die", not "dies").
    forms = {f for w in words for f in (w, w[:-1] if w.endswith("s") else w)}
    return any(lexicon.get(f, 0.0) <= -1.0 for f in forms)


def closing_aside(text: str) -> bool:
    """Praise said on its own after the report ("... and it's down again. brilliant"), not
    closing a sentence about something ("the colours are great"), or clapping."""
    if _CLAPPING in text:
        return True
    # Only the close of the message can hold it: search its last characters.
    found = gate.search(tone.CLOSING_PRAISE, text, max(0, len(text) - _CLOSE_CHARS))
    if found is None:
        return False
    before = (text[: found.start()] + found.group(0)[:1]).rstrip()
    return before[-1:] in {".", ",", "!", "?", "…", "-", "–"}
