"""The fast signal reading and language identification answer exactly what the plain computation
(``tests/signals_reference.py``: every regex run, VADER's ``polarity_scores``, py3langid's
``classify``) answers: every field of ``Signals``, every language, on every fixture text, the
playbook, the knowledge base, the benchmark's questions, and variants of them made to reach the
paths the fast code skips (emoji, masks, capitals, hashtags, handles, long pasted text)."""

from __future__ import annotations

import csv
import random
from functools import cache
from pathlib import Path

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bench._common import KB_QUESTIONS
from brain import langscore
from brain.knowledge import KnowledgeBase
from brain.playbook import Playbook
from brain.signals import LanguageDetector, SignalReader
from brain.vader import Compound
from config.settings import PACKAGED_KNOWLEDGE_DIR, PACKAGED_PLAYBOOK
from tests.signals_reference import ReferenceDetector, ReferenceReader
from tests.test_cue_gate import _variants

FIXTURES = Path(__file__).parent / "fixtures"
LANGUAGES = ("en", "de", "es", "fr")


@cache
def _texts() -> tuple[str, ...]:
    texts: list[str] = list(KB_QUESTIONS)
    for path in sorted([*FIXTURES.glob("escalation/*.csv"), *FIXTURES.glob("intents/*.csv")]):
        with path.open(newline="", encoding="utf-8") as handle:
            texts += [row["text"] for row in csv.DictReader(handle)]
    with (FIXTURES / "kb" / "questions.csv").open(newline="", encoding="utf-8") as handle:
        texts += [row["question"] for row in csv.DictReader(handle)]
    playbook = Playbook.load(PACKAGED_PLAYBOOK)
    texts += [e for intent in playbook.intents for e in intent.examples]
    texts += list(playbook.out_of_scope)
    for entry in KnowledgeBase.load(PACKAGED_KNOWLEDGE_DIR).entries:
        texts += [entry.title, *entry.questions, entry.answer, *entry.translations.values()]
    assert len(texts) > 2500, "the fixtures, the playbook or the knowledge base went missing"
    return tuple(dict.fromkeys(texts))


def _adversarial(text: str) -> list[str]:
    """Variants that reach what the fast path skips or short-cuts."""
    return [
        f"{text} 😡",  # an emoji: VADER's own path
        f"👏 {text}👏🙃",
        f"@Brand {text} #EpicFail",
        f"{text}!!! f*ck th1s $hit",
        text.upper()[:40] + " " + text,  # capitals, partly
        f"¿{text}?",
        f"{text} but it is not good, kind of bad",
        (text + " ") * 40,  # pasted: the window
    ]


@cache
def _all_texts() -> tuple[str, ...]:
    texts = _texts()
    every: list[str] = []
    for i, text in enumerate(texts):
        every += list(_variants(text))
        if i % 4 == 0:
            every += _adversarial(text)
    return tuple(dict.fromkeys(every))


def test_read_equals_the_reference() -> None:
    fast, reference = SignalReader(), ReferenceReader()
    detector = ReferenceDetector(LANGUAGES)
    # every text as written, and a share of the variants (the plain reference runs every regex)
    texts = tuple(dict.fromkeys((*_texts(), *_all_texts()[1::4])))
    for i, text in enumerate(texts):
        language = "en" if i % 3 else detector.detect(text)
        assert fast.read(text, language) == reference.read(text, language), (text, language)
    # the fixtures do reach the signals: not every answer is empty
    read = [fast.read(t) for t in texts[::7]]
    assert sum(s.angry is not None for s in read) > 100
    assert sum(s.sentiment != 0.0 for s in read) > 300


def test_compound_equals_polarity_scores() -> None:
    analyzer = SentimentIntensityAnalyzer()
    compound = Compound(analyzer)
    for text in _all_texts():
        plain = text[:1500].replace("!", ".")  # what SignalReader.sentiment scores at most
        assert compound(plain) == analyzer.polarity_scores(plain)["compound"], plain


def test_compound_equals_polarity_scores_on_the_words_its_rules_read() -> None:
    """Random texts of the words VADER's rules look at (negations, boosters, "no", "least",
    "never so", "without doubt", "kind of", "but", idioms, capitals, "!", "?"), beside lexicon
    words: every rule ``brain.vader`` reimplements is reached, and the score is the same float."""
    analyzer = SentimentIntensityAnalyzer()
    compound = Compound(analyzer)
    rng = random.Random(13)
    rules = ("no", "not", "isn't", "y'all'dn't", "never", "so", "this", "without", "doubt",
        "least", "at", "very", "kind", "of", "but", "or", "nor", "the", "bomb", "shit", "bad",
        "ass", "cut", "mustard", "sort", "yeah", "right", "extremely", "barely", "hardly",
        "kinda")  # fmt: skip
    lexicon = ["good", "bad", "great", "hate", "love", "terrible", "ok", "no", "okay", "sad"]
    checked = 0
    for _ in range(6000):
        words = rng.choices([*rules, *lexicon, "order", "refund", ":)", "it"], k=rng.randint(1, 9))
        words = [w.upper() if rng.random() < 0.15 else w for w in words]
        words = [w + rng.choice(("", "", "", "!", "?", ",", "...")) for w in words]
        text = " ".join(words)
        expected = analyzer.polarity_scores(text)["compound"]
        assert compound(text) == expected, text
        checked += expected != 0.0
    assert checked > 3000


@pytest.mark.parametrize("languages", [LANGUAGES, ("de", "en"), ("fr", "es", "en")])
def test_detect_equals_the_reference(languages: tuple[str, ...]) -> None:
    fast, reference = LanguageDetector(languages), ReferenceDetector(languages)
    assert fast._identifier is not None and reference.identifier is not None
    assert langscore.fits(fast._identifier)  # the fast scorer is the one in use
    scorer = langscore.Scorer(reference.identifier)
    texts = _all_texts()[:: 2 if languages == LANGUAGES else 8]
    seen = set()
    for text in texts:
        answer = fast.detect(text)
        assert answer == reference.detect(text), text
        seen.add(answer)
        # and the scores themselves, to the last bit
        head = text[:1000]
        assert scorer.classify(head) == reference.identifier.classify(head), text
    assert seen == set(languages)
    assert scorer.classify("") == reference.identifier.classify("")  # no feature at all


def test_one_language_is_the_default_without_a_model() -> None:
    assert LanguageDetector(("de",)).detect("where is my order") == "de"


def test_two_words_is_findall_twice() -> None:
    # the detector's "two words or more" test, on random strings of the characters that decide it
    from brain.signals import _TWO_WORDS, _WORD

    rng = random.Random(13)
    alphabet = ["a", "B", "'", " ", "1", "_", "é", "İ", "\n", "ß", "-", "’", "😡"]
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 9))) for _ in range(30000)]
    for text in [*texts, *_texts()]:
        assert (_TWO_WORDS.search(text) is not None) == (len(_WORD.findall(text)) >= 2), text
