"""Signals read from how a customer writes: anger, "wants a person", urgency, sensitive
matters, "support failed before", sentiment, and the language.

Sentiment starts from VADER (a maintained lexicon with rules for negation, boosters, capitals,
"but" and emoji) and corrects what it gets wrong in support conversations: courtesy words
("please", "thanks") do not make a complaint positive, and exclamation marks alone do not make
a factual report angry. The cue tables in ``brain.cues`` (one module per signal) add what a
lexicon cannot see: profanity (masked too: ``f*ck``, ``sh!t``), angry emoji, hashtags that
curse the brand, accusations and insults, ultimatums, sarcasm that praises a failure, requests
to be called, messaged or put through to staff, travel disruption, money out of reach,
outages, safety, fraud, chargebacks, billing disputes, legal threats, personal data, and notes
that support already failed. Emphasis (capitals, "??", "!!!", stretched words) counts as anger
only with a complaint behind it. The lexicon also decides, word by word, which hashtags curse
the brand and which thanks are for a harm (``brain.cues.lexical``), and praise opening a
report of a failure is read as sarcasm. Every signal carries a short reason (shown on the escalation
card), so an agent can see *why* a ticket was raised. The language detector is py3langid
restricted to the configured languages: about 20 µs a message, no model download.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from py3langid.langid import MODEL_FILE, LanguageIdentifier
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from brain import langscore
from brain.cues import (
    Cue,
    anger,
    failed,
    gate,
    grievance,
    lexical,
    lexical_anger,
    lexicon,
    normalize,
    person,
    sensitive,
    tone,
    urgency,
)
from brain.cues import first as _first
from brain.cues.emphasis import emphasis, shouting
from brain.playbook import Urgency
from brain.vader import Compound

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
# Read at most this much of a message for sentiment: VADER is pure Python, and the mood of a
# long message shows in its first paragraphs (bounded work for pasted logs, issue 9).
_SENTIMENT_CHARS = 1500
_SARCASM = lexical_anger.SARCASM
_HEAD_CHARS, _TAIL_CHARS = 700, 300
_HASH = re.compile(r"#(?=\w)")
# "@Party", "@EnergyCo": a brand's handle is a name, not a word of the customer's mood.
_HANDLE = re.compile(r"@\w+")
_EMOJI = re.compile(r"[\U0001F300-\U0001FAFF\u2600-\u27BF]")


@dataclass(frozen=True, slots=True)
class Signals:
    """What the wording of one message says; each ``str`` field is the reason it fired."""

    sentiment: float  # [-1, 1], negative for anger or disappointment
    urgency: Urgency | None = None  # what the wording alone suggests
    angry: str | None = None
    human_request: str | None = None
    urgent: str | None = None  # cannot wait: stranded, outage, money out of reach, safety, ...
    sensitive: str | None = None  # fraud, chargeback, legal, personal data, safety
    failed_before: str | None = None


class SignalReader:
    """Reads ``Signals`` from text. ``anger_threshold``: sentiment at or below it is anger."""

    def __init__(self, anger_threshold: float = -0.6) -> None:
        self.anger_threshold = anger_threshold
        self._vader = SentimentIntensityAnalyzer()
        self._lexicon: dict[str, float] = self._vader.lexicon
        self._compound = Compound(self._vader)  # polarity_scores' compound, less work

    def read(self, text: str, language: str = "en") -> Signals:
        # Phones type a curly apostrophe (U+2019, "I\u2019m done"): the cue tables spell "'".
        text = _window(text).replace("\u2019", "'")
        mood = self.sentiment(text, language)
        failed_cue = _first(failed.FAILED, text)
        failed_why = None if failed_cue is None else failed_cue.why
        angry = self._anger(text, mood, failed_why is not None)
        if angry == _SARCASM and mood >= 0:
            mood = -max(mood, 0.3)  # the praise is for a failure
        urgent_cue = _first(urgency.URGENT, text)
        # Saying "urgent" raises the urgency but hands over only with a situation behind it:
        # "need this urgently, fastest shipping please" is a question the bot can answer.
        situation = None
        if urgent_cue is not None and urgent_cue is not urgency.URGENT[-1]:
            situation = urgent_cue.why
        matter = _first(sensitive.SENSITIVE, text)
        sensitive_why = None if matter is None else matter.why
        if sensitive_why is None and situation is not None and situation.startswith("safety"):
            sensitive_why = situation
        if situation is None and sensitive.IN_PROGRESS.matches(text):
            situation = sensitive.IN_PROGRESS.why  # someone else has the account or card now
            urgent_cue = sensitive.IN_PROGRESS
        return Signals(
            sentiment=mood,
            urgency=_urgency(text, urgent_cue),
            angry=angry,
            human_request=wants_human(text),
            urgent=situation,
            sensitive=sensitive_why,
            failed_before=failed_why,
        )

    def sentiment(self, text: str, language: str = "en") -> float:
        """VADER's compound score without courtesy words, problem words or exclamation marks
        ("arrived damaged!" reports, it does not rage), blended with a small German, French and
        Spanish lexicon. VADER's lexicon is English ("die" is a German article), so other
        languages get the small lexicon plus VADER's emoji only."""
        plain = text[:_SENTIMENT_CHARS]
        if "@" in plain:  # every handle starts with one
            plain = _HANDLE.sub(" ", plain)
        plain = gate.sub(tone.COURTESY, " ", plain).replace("!", ".")
        plain = gate.sub(tone.FACTS, " ", plain)
        other = lexicon.score(plain)
        if language != "en":
            plain = " ".join(_EMOJI.findall(plain))
        score = self._compound(plain) if plain.strip() else 0.0
        if score == 0.0:
            score = other
        elif other * score > 0 and abs(other) > abs(score):
            score = (score + other) / 2
        if score == 0.0:
            return score  # what the line below gives for 0.0 (and -0.0), without round's dtoa
        return round(max(-1.0, min(1.0, score)), 3)

    def _anger(self, text: str, mood: float, failed_before: bool) -> str | None:
        """Strong cues fire alone (swearing, insults, sarcasm, ...); emphasis (capitals, "??",
        "!!!", stretched words) counts only with a complaint behind it, so an excited question
        ("is the sale on tonight!!!") stays calm."""
        text = gate.sub(tone.COMING_BACK, " ", text)
        if normalize.masked_swearing(text) is not None:
            return "profanity"
        if lexical.negative_af(text, self._lexicon) is not None:
            return "profanity"
        cue = _first(anger.ANGER, text) or grievance.find(text)
        if cue is None and "#" in text:
            # Tags are words too: "zero #help", "#customer #service".
            plain = _HASH.sub("", text)
            cue = _first(anger.ANGER, plain) or grievance.find(plain)
        if cue is not None:
            return cue.why
        problem = bool(gate.search(tone.PROBLEM, text))
        found = lexical_anger.lexical_anger(text, self._lexicon, problem, failed_before)
        if found is not None:
            return found
        negative = (
            mood < 0
            or failed_before
            or problem
            or bool(gate.search(tone.NEGATIVE_WORDS, text))
            or bool(gate.search(tone.FACTS, text))
        )
        sour = mood < 0 or failed_before  # a sour tone or a failed contact, not a problem word
        found = emphasis(text, negative, sour)
        if found is not None:
            return found
        pressing = failed_before and gate.search(tone.PRESSING, text)
        if pressing and not gate.search(tone.REQUEST, text):
            return "presses the point after support already failed"
        if mood <= self.anger_threshold:
            return f"very negative wording (sentiment {mood:+.2f})"
        return None


def _window(text: str) -> str:
    """The opening and the close of a long message: where customers say how they feel and
    what they want. Regular expressions hold the interpreter lock while they scan, so reading a
    pasted 4,000-character log whole would stall every other conversation (issue 9)."""
    if len(text) <= _HEAD_CHARS + _TAIL_CHARS:
        return text
    return f"{text[:_HEAD_CHARS]}\n…\n{text[-_TAIL_CHARS:]}"


def wants_human(text: str) -> str | None:
    """Why the customer asks for a person, or None. Declining one ("no need for a human")
    removes that phrase before the search, so "don't call me, email me" still counts."""
    cleaned = gate.sub(person.NO_HUMAN, " ", text)
    cue = _first(person.HUMAN, cleaned)
    return None if cue is None else cue.why


def urgency_cues(text: str) -> Urgency | None:
    """The urgency the wording alone suggests, or None when it suggests nothing."""
    return _urgency(text, _first(urgency.URGENT, text))


def _urgency(text: str, urgent: Cue | None) -> Urgency | None:
    if urgent is not None:
        return Urgency.URGENT
    shouts = shouting(text)
    if "!!!" in text and shouts:  # three exclamation marks or more
        return Urgency.URGENT
    if urgency.SOON.matches(text) or "!!" in text or shouts:
        return Urgency.HIGH
    return None


# -- language -------------------------------------------------------------------------------
_LANGUAGE_CHARS = 1000  # plenty to tell four languages apart; bounded work for pasted logs
# ``_WORD`` found twice, without listing every word: a whole first word (atomic, so it cannot
# give letters back to the rest), then any letter after it, where ``findall``'s second match
# would start. It matches exactly when ``len(_WORD.findall(text)) >= 2``.
_TWO_WORDS = re.compile(r"(?>[^\W\d_]+(?:'[^\W\d_]+)?).*?[^\W\d_]", re.DOTALL)


class LanguageDetector:
    """py3langid limited to ``languages``; short or ambiguous text gets the first (default)."""

    def __init__(self, languages: Sequence[str]) -> None:
        if not languages:
            raise ValueError("at least one language is needed")
        self.languages = tuple(languages)
        self.default = self.languages[0]
        self._identifier: LanguageIdentifier | None = None
        self._classify: Callable[[str], tuple[str, float]] | None = None
        if len(self.languages) > 1:
            identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            identifier.set_languages(list(self.languages))
            # set_languages keeps the 142-language tables for a later reset we never do: drop
            # them (26 MB of an idle bot's memory).
            identifier._full_model = (identifier.nb_ptc, identifier.nb_pc, identifier.nb_classes)
            self._identifier = identifier
            # The same answer with less interpreter work per call (brain/langscore.py).
            fast = langscore.fits(identifier)
            self._classify = langscore.Scorer(identifier).classify if fast else identifier.classify

    def detect(self, text: str) -> str:
        classify = self._classify
        if classify is None or _TWO_WORDS.search(text) is None:
            return self.default
        if "es" in self.languages and ("¿" in text or "¡" in text):
            return "es"  # inverted marks are Spanish; brand names otherwise blur short texts
        language, probability = classify(text[:_LANGUAGE_CHARS])
        return str(language) if probability >= 0.8 else self.default
