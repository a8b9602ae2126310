"""``SignalReader.read`` and ``LanguageDetector.detect`` as they were before the work on their
speed (main at e6376ca), kept as the readable reference the fast path is checked against
(``tests/test_signals_equivalence.py``). Not used by the bot.

The algorithm in its plainest form: every regular expression runs (``plain()`` turns the cue
prefilter off: every scan reports every bit), VADER's ``polarity_scores`` scores the whole text,
the small lexicon and the masked-swearing check loop over every word, capitals are counted
letter by letter, and py3langid's own ``classify`` identifies the language. The cue tables and
the lexicon-driven cues (``brain.cues.lexical``, ``lexical_anger``, ``grievance``) are data and
shared; the pieces the fast path rewrote are copied here as they were.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from brain.cues import (
    Cue,
    anger,
    failed,
    gate,
    grievance,
    lexical,
    lexical_anger,
    person,
    sensitive,
    tone,
    urgency,
)
from brain.cues.lexicon import _LEXICON, _NEGATIONS
from brain.cues.normalize import _LOOKALIKE, _MASKED, _ROOTS, _STARS, squeeze, stretched
from brain.playbook import Urgency
from brain.signals import Signals

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
_SENTIMENT_CHARS = 1500
_SARCASM = lexical_anger.SARCASM
_HEAD_CHARS, _TAIL_CHARS = 700, 300
_HASH = re.compile(r"#(?=\w)")
_HANDLE = re.compile(r"@\w+")
_EMOJI = re.compile(r"[\U0001F300-\U0001FAFF\u2600-\u27BF]")
_LANGUAGE_CHARS = 1000


@contextmanager
def plain() -> Iterator[None]:
    """The cue prefilter off: every scan has every bit, so every regular expression runs."""
    scan = gate.scan
    gate.scan = lambda text: -1
    try:
        yield
    finally:
        gate.scan = scan


def _first(table: Sequence[Cue], text: str) -> Cue | None:
    return next((c for c in table if c.searched(text)), None)


def _lexicon_score(text: str) -> float:
    words = [w.lower() for w in _WORD.findall(text)]
    total = 0.0
    for index, word in enumerate(words):
        value = _LEXICON.get(word)
        if value is None:
            continue
        if any(w in _NEGATIONS for w in words[max(0, index - 3) : index]):
            value = -value * 0.6
        total += value
    return round(total / math.sqrt(total * total + 12.0), 3)


@lru_cache(maxsize=4096)
def _is_swear(token: str) -> bool:
    word = squeeze(token.lower().translate(_LOOKALIKE))
    if not any(c in word for c in "*#"):
        return word in _ROOTS and word != token.lower()
    if word[0] in "*#":
        return False
    shape = re.compile("[a-z]{1,4}".join(re.escape(part) for part in _STARS.split(word)))
    return any(shape.fullmatch(root) for root in _ROOTS)


def _masked_swearing(text: str) -> str | None:
    for match in _MASKED.finditer(text):
        token = match.group(0).rstrip("!")
        if sum(c.isalpha() for c in token) >= 1 and len(token) >= 3 and _is_swear(token):
            return token
    return None


class ReferenceReader:
    def __init__(self, anger_threshold: float = -0.6) -> None:
        self.anger_threshold = anger_threshold
        self._vader = SentimentIntensityAnalyzer()
        self._lexicon: dict[str, float] = self._vader.lexicon

    def read(self, text: str, language: str = "en") -> Signals:
        with plain():
            return self._read(text, language)

    def _read(self, text: str, language: str) -> Signals:
        text = _window(text).replace("\u2019", "'")
        mood = self.sentiment(text, language)
        failed_cue = _first(failed.FAILED, text)
        failed_why = None if failed_cue is None else failed_cue.why
        angry = self._anger(text, mood, failed_why is not None)
        if angry == _SARCASM and mood >= 0:
            mood = -max(mood, 0.3)
        urgent_cue = _first(urgency.URGENT, text)
        situation = None
        if urgent_cue is not None and urgent_cue is not urgency.URGENT[-1]:
            situation = urgent_cue.why
        matter = _first(sensitive.SENSITIVE, text)
        sensitive_why = None if matter is None else matter.why
        if sensitive_why is None and situation is not None and situation.startswith("safety"):
            sensitive_why = situation
        if situation is None and sensitive.IN_PROGRESS.searched(text):
            situation = sensitive.IN_PROGRESS.why
            urgent_cue = sensitive.IN_PROGRESS
        return Signals(
            sentiment=mood,
            urgency=_urgency(text, urgent_cue),
            angry=angry,
            human_request=_wants_human(text),
            urgent=situation,
            sensitive=sensitive_why,
            failed_before=failed_why,
        )

    def sentiment(self, text: str, language: str = "en") -> float:
        plain = _HANDLE.sub(" ", text[:_SENTIMENT_CHARS])
        plain = tone.COURTESY.sub(" ", plain).replace("!", ".")
        plain = tone.FACTS.sub(" ", plain)
        other = _lexicon_score(plain)
        if language != "en":
            plain = " ".join(_EMOJI.findall(plain))
        score = float(self._vader.polarity_scores(plain)["compound"]) if plain.strip() else 0.0
        if score == 0.0:
            score = other
        elif other * score > 0 and abs(other) > abs(score):
            score = (score + other) / 2
        return round(max(-1.0, min(1.0, score)), 3)

    def _anger(self, text: str, mood: float, failed_before: bool) -> str | None:
        text = tone.COMING_BACK.sub(" ", text)
        if _masked_swearing(text) is not None:
            return "profanity"
        if lexical.negative_af(text, self._lexicon) is not None:
            return "profanity"
        cue = _first(anger.ANGER, text) or grievance.find(text)
        if cue is None and "#" in text:
            plain = _HASH.sub("", text)
            cue = _first(anger.ANGER, plain) or grievance.find(plain)
        if cue is not None:
            return cue.why
        problem = bool(tone.PROBLEM.search(text))
        found = lexical_anger.lexical_anger(text, self._lexicon, problem, failed_before)
        if found is not None:
            return found
        negative = (
            mood < 0
            or failed_before
            or problem
            or bool(tone.NEGATIVE_WORDS.search(text))
            or bool(tone.FACTS.search(text))
        )
        sour = mood < 0 or failed_before
        for needs_sour, test, why in _EMPHASIS:
            if (sour if needs_sour else negative) and test(text):
                return None if tone.SELF_BLAME.search(text) else why
        pressing = failed_before and tone.PRESSING.search(text)
        if pressing and not tone.REQUEST.search(text):
            return "presses the point after support already failed"
        if mood <= self.anger_threshold:
            return f"very negative wording (sentiment {mood:+.2f})"
        return None


def _window(text: str) -> str:
    if len(text) <= _HEAD_CHARS + _TAIL_CHARS:
        return text
    return f"{text[:_HEAD_CHARS]}\n…\n{text[-_TAIL_CHARS:]}"


def _wants_human(text: str) -> str | None:
    cleaned = person.NO_HUMAN.sub(" ", text)
    cue = _first(person.HUMAN, cleaned)
    return None if cue is None else cue.why


def _urgency(text: str, urgent: Cue | None) -> Urgency | None:
    if urgent is not None:
        return Urgency.URGENT
    shouting = _shouting(text)
    if "!!!" in text and shouting:
        return Urgency.URGENT
    if urgency.SOON.searched(text) or "!!" in text or shouting:
        return Urgency.HIGH
    return None


def _searcher(*patterns: re.Pattern[str]) -> Callable[[str], bool]:
    return lambda text: any(p.search(text) for p in patterns)


def _shouting(text: str) -> bool:
    letters = [c for c in text[:_SENTIMENT_CHARS] if c.isalpha()]
    return len(letters) >= 12 and sum(c.isupper() for c in letters) / len(letters) > 0.7


_CAPS_RUN = re.compile(r"(?-i:\b[A-Z]{2,}['’]?[A-Z]*[\s,.!?]+[A-Z]{2,}\b)")


def _shouted_words(text: str) -> bool:
    return any(max(len(w) for w in m.group(0).split()) >= 4 or len(m.group(0)) >= 8
               for m in _CAPS_RUN.finditer(text))  # fmt: skip


_EMPHASIS: tuple[tuple[bool, Callable[[str], bool], str], ...] = (
    (False, _searcher(tone.SCARE_QUOTES), "ironic quotes"),
    (False, _shouting, "writes in capitals"),
    (False, _shouted_words, "shouts words in capitals"),
    (False, _searcher(tone.RANT_PUNCTUATION, tone.QUESTIONS), "repeated punctuation"),
    (False, _searcher(tone.RECURRING), "a failure that keeps happening"),
    (False, _searcher(tone.EXASPERATED), "exasperated (a sigh, a facepalm, smh)"),
    (False, _searcher(tone.REPEATED), "repeats words for emphasis"),
    (True, _searcher(tone.EXCLAMATIONS), "repeated punctuation"),
    (True, stretched, "stretched words"),
    (True, _searcher(tone.LONG_WAIT), "complains of a long wait"),
    (True, _searcher(tone.NOBODY_THERE), "nobody there or nobody who knows"),
)


class ReferenceDetector:
    def __init__(self, languages: Sequence[str]) -> None:
        self.languages = tuple(languages)
        self.default = self.languages[0]
        self.identifier: LanguageIdentifier | None = None
        if len(self.languages) > 1:
            self.identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            self.identifier.set_languages(list(self.languages))

    def detect(self, text: str) -> str:
        if self.identifier is None or len(_WORD.findall(text)) < 2:
            return self.default
        if "es" in self.languages and ("¿" in text or "¡" in text):
            return "es"
        language, probability = self.identifier.classify(text[:_LANGUAGE_CHARS])
        return str(language) if probability >= 0.8 else self.default
