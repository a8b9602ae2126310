"""Cue-based signals read from a message's surface: urgency, sentiment, "wants a human", language.

Each is a small, explainable rule set (support teams ask *why* a ticket was marked urgent), in
English plus German, French and Spanish. The language detector is py3langid restricted to the
configured languages: about 20 µs a message and no model download.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from py3langid.langid import MODEL_FILE, LanguageIdentifier

from brain.playbook import Urgency

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)

# -- wants a human --------------------------------------------------------------------------
_HUMAN = re.compile(
    r"""
    \b(?:human|humans|real\ person|real\ people|live\ (?:agent|person|chat)|an?\ agent|
    (?:customer\ )?(?:service\ )?representative|a\ manager|your\ manager|supervisor|
    (?:talk|speak|chat)\ (?:to|with)\ (?:someone|somebody|a\ person|a\ human|an?\ (?:real\ )?
    (?:person|agent|human)|a\ member\ of\ staff|staff)|call\ me\ back|someone\ real|
    # de
    mitarbeiter(?:in)?|einem\ menschen|echten?\ person|mit\ jemandem\ sprechen|vorgesetzten|
    # fr
    un\ humain|une\ vraie\ personne|un\ conseiller|une\ conseill[eè]re|parler\ [àa]\ quelqu'un|
    un\ responsable|
    # es
    un\ humano|una\ persona\ real|un\ agente|hablar\ con\ alguien|un\ supervisor|el\ gerente)\b
    """,
    re.IGNORECASE | re.VERBOSE,
)
_NO_HUMAN = re.compile(r"\b(?:no|don'?t|do not|without)\b[^.?!]{0,20}\b(?:human|agent|person)\b",
                       re.IGNORECASE)  # fmt: skip


def wants_human(text: str) -> bool:
    return bool(_HUMAN.search(text)) and not _NO_HUMAN.search(text)


# -- urgency --------------------------------------------------------------------------------
_URGENT = re.compile(
    r"\b(?:urgent(?:ly)?|emergency|asap|a\.s\.a\.p|immediately|right (?:now|away)|outage|"
    r"(?:site|website|app|checkout|payment|everything) (?:is )?(?:down|broken)|"
    r"dringend|sofort|notfall|urgence|imm[ée]diatement|tout de suite|urgente|inmediatamente|"
    r"ahora mismo)\b",
    re.IGNORECASE,
)
_HIGH = re.compile(
    r"\b(?:today|tonight|tomorrow|deadline|as soon as possible|quickly|still waiting|"
    r"(?:second|third|fourth) time|again and again|weeks? ago|by (?:mon|tues|wednes|thurs|fri|"
    r"satur|sun)day|before (?:mon|tues|wednes|thurs|fri|satur|sun)day|heute|morgen|"
    r"aujourd'hui|demain|hoy|mañana)\b",
    re.IGNORECASE,
)


def urgency_cues(text: str) -> Urgency | None:
    """The urgency the wording alone suggests, or None when it suggests nothing."""
    if _URGENT.search(text):
        return Urgency.URGENT
    shouting = _shouting(text)
    if re.search(r"!{3,}", text) and shouting:
        return Urgency.URGENT
    if _HIGH.search(text) or re.search(r"!{2,}", text) or shouting:
        return Urgency.HIGH
    return None


def _shouting(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 12 and sum(c.isupper() for c in letters) / len(letters) > 0.7


# -- sentiment ------------------------------------------------------------------------------
def _words(text: str) -> list[str]:
    return text.split()


_LEXICON: dict[str, float] = {
    # negative, strongest first
    **dict.fromkeys(
        _words(
            """worst horrible terrible awful disgusting pathetic useless scam scammed fraud
            furious outraged livid unacceptable ridiculous appalling shocking incompetent joke
            nightmare hate hated despicable lied liar thieves stealing stole schrecklich
            unverschämt betrug furieux inadmissible arnaque pésimo estafa vergonzoso"""
        ),
        -3.0,
    ),
    **dict.fromkeys(
        _words(
            """angry annoyed annoying frustrated frustrating disappointed disappointing upset
            bad poor broken damaged wrong missing late delayed never fail failed failing
            problem problems issue issues complaint complain sad unhappy waste wasted rude
            ignored ignoring worse nobody cheated sucks crap fed ärgerlich enttäuscht kaputt
            falsch déçu énervé cassé retard decepcionado enfadado roto tarde"""
        ),
        -1.5,
    ),
    # positive
    **dict.fromkeys(
        _words(
            """thanks thank thx cheers appreciate appreciated helpful please kind nice good
            fine ok okay happy glad pleased quick fast solved resolved works worked danke
            merci gracias"""
        ),
        1.0,
    ),
    **dict.fromkeys(
        _words(
            """great excellent amazing awesome perfect wonderful fantastic love loved
            brilliant superb outstanding lovely super genial génial excelente perfecto"""
        ),
        2.5,
    ),
}
_NEGATIONS = frozenset(
    _words(
        """not no never don't didn't doesn't isn't wasn't can't cannot won't nicht kein keine
        pas jamais nunca"""
    )
)
_BOOSTERS = frozenset(
    _words("very so really extremely totally absolutely completely utterly sehr très muy")
)


def sentiment(text: str) -> float:
    """A score in [-1, 1]: negative for anger or disappointment, positive for praise."""
    words = _WORD.findall(text)
    total = 0.0
    for index, word in enumerate(words):
        value = _LEXICON.get(word.lower())
        if value is None:
            continue
        window = [w.lower() for w in words[max(0, index - 3) : index]]
        if any(w in _NEGATIONS for w in window):
            value = -value * 0.6  # "not great" is mildly negative, "not bad" mildly positive
        if window and window[-1] in _BOOSTERS:
            value *= 1.5
        if word.isupper() and len(word) > 1:
            value *= 1.3
        total += value
    if total < 0 and "!" in text:
        total -= min(text.count("!"), 4) * 0.4
    return round(total / math.sqrt(total * total + 12.0), 3)


# -- language -------------------------------------------------------------------------------
_LANGUAGE_CHARS = 1000  # plenty to tell four languages apart; bounded work for pasted logs


class LanguageDetector:
    """py3langid limited to ``languages``; short or ambiguous text gets the first (default)."""

    def __init__(self, languages: Sequence[str]) -> None:
        if not languages:
            raise ValueError("at least one language is needed")
        self.languages = tuple(languages)
        self.default = self.languages[0]
        self._identifier: LanguageIdentifier | None = None
        if len(self.languages) > 1:
            identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            identifier.set_languages(list(self.languages))
            # set_languages keeps the 142-language tables for a later reset we never do: drop
            # them (26 MB of an idle bot's memory).
            identifier._full_model = (identifier.nb_ptc, identifier.nb_pc, identifier.nb_classes)
            self._identifier = identifier

    def detect(self, text: str) -> str:
        if self._identifier is None or len(_WORD.findall(text)) < 2:
            return self.default
        if "es" in self.languages and ("¿" in text or "¡" in text):
            return "es"  # inverted marks are Spanish; brand names otherwise blur short texts
        language, probability = self._identifier.classify(text[:_LANGUAGE_CHARS])
        return str(language) if probability >= 0.8 else self.default
