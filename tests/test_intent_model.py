"""``IntentModel.probabilities_one`` (the live path's own arithmetic, ``brain.intent_scoring``)
gives what scikit-learn's ``predict_proba`` gives for the same text, from the same features
``build_analyzer()`` finds."""

from __future__ import annotations

import csv
import random
import re
import sys
from array import array
from collections import Counter
from itertools import chain
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer, strip_accents_unicode
from sklearn.utils.extmath import softmax

from brain.classify import IntentModel
from brain.intent_scoring import _INT64, TF_TABLE, OneTextScorer, char_wb_grams
from brain.playbook import Playbook
from config.settings import PACKAGED_PLAYBOOK

FIXTURES = Path(__file__).parent / "fixtures"

# What the analyzers could get wrong: accents (composed and combining), upper case outside
# ASCII (dotted I lower-cases to two characters, final sigma depends on context),
# compatibility forms whose NFKD holds spaces or punctuation, digits, underscores,
# punctuation, emoji with modifiers and joiners, white-space runs of every kind, lone
# surrogates, words of one to six characters, empty and one-character texts.
ADVERSARIAL = [
    "",
    " ",
    "a",
    "I",
    "é",
    "\t\n \u00a0\u2003\u3000",
    "zzzz qqqq xxxx",  # nothing the vocabulary knows
    "WHERE IS MY ORDER??? order order order",  # repeated words: sublinear tf
    "Grüße aus München, wo ist meine Bestellung? ¿Dónde está mi pedido?",
    "ÉCOLE ÇA Ÿ ÀÉÎÕÜ café CAFÉ cafe\u0301 ca\u0301fe\u0301 e\u0301\u0301\u0327",
    "İstanbul İİ DİYARBAKIR ΣΊΣΥΦΟΣ ΟΔΟΣ Σ σς ẞ ß ǅ ǈ",
    "\u0301\u0301 \u0301a a\u0301 \u0327",
    "ﬁle ﬂight ½ ² ㎏ ﷺ ﷻ ℌ Ⅻ ⑳ ｆｕｌｌｗｉｄｔｈ",
    "order #60344, ref_AB-12/3 at 10:45am (2x) 3.50€ $12 100%",
    "snake_case __init__ a_b _ __",
    "refund!!! refund??? ...refund... 'refund' \"refund\" refund's re-fund",
    "👍 👍🏽 👨‍👩‍👧 🇩🇪 ❤️ :) :-( ^_^ 🙏🙏🙏",
    "where  is\tmy\n\norder \r\n\x0b\x0c\x1c\x1d\x1e\x1f\x85 now",
    "a ab abc abcd abcde abcdef abcdefg",
    "x" * 7,
    "\ud800 lone \udfff surrogates",
    "где мой заказ ЗАКАЗ 我的订单在哪里 注文はどこ 주문 어디 طلبي أين ที่ไหน",
    "refund " * 300,  # long, one word: past the tf table
    "order " * 340,  # just inside the tf table
    "\u0130" * 1200,  # lower-cases to twice its length
]


def _fixture_texts() -> list[str]:
    texts: list[str] = []
    for name, column in [
        ("intents/train.csv", "text"),
        ("intents/test.csv", "text"),
        ("kb/questions.csv", "question"),
        *((f"escalation/{p.name}", "text") for p in (FIXTURES / "escalation").glob("*.csv")),
    ]:
        with (FIXTURES / name).open(newline="", encoding="utf-8") as handle:
            texts.extend(row[column] for row in csv.DictReader(handle))
    return texts


def _random_texts(count: int) -> list[str]:
    pool = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_'!?.,-#@")
    pool += list("éÉüÜßçÇñÑøØİıΣσςё\u0301\u0308\u0327ﬁ½²ﷺ👍🏽\u200d")
    pool += [" "] * 12 + list("\t\n\u00a0\u2003\u3000")
    rng = random.Random(13)
    return ["".join(rng.choices(pool, k=rng.randrange(0, 60))) for _ in range(count)]


@pytest.fixture(scope="module")
def model() -> IntentModel:
    return IntentModel().fit(*Playbook.load(PACKAGED_PLAYBOOK).training_data)


@pytest.fixture(scope="module")
def probes() -> list[str]:
    texts = Playbook.load(PACKAGED_PLAYBOOK).training_data[0]
    return [*texts, *_fixture_texts(), *ADVERSARIAL, *_random_texts(400)]


def _vectorizers(model: IntentModel) -> tuple[TfidfVectorizer, TfidfVectorizer]:
    (_, words), (_, chars) = model._pipeline.named_steps["features"].transformer_list
    return words, chars


def test_one_text_scores_as_scikit_learn_scores_it(model: IntentModel, probes: list[str]) -> None:
    expected = model._pipeline.predict_proba(probes)
    for probe, want in zip(probes, expected, strict=True):
        got = model.probabilities_one(probe)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12, err_msg=repr(probe))
        assert model.predict_one(probe)[0] == model.labels[int(np.argmax(want))]
        # a second time, from the cache of words' n-grams
        assert np.array_equal(model.probabilities_one(probe), got), repr(probe)


def test_the_features_are_scikit_learns(model: IntentModel, probes: list[str]) -> None:
    """The tokens and character n-grams ``build_analyzer()`` yields, in its order, and every
    known feature counted as often as scikit-learn counts it."""
    words, chars = _vectorizers(model)
    scorer = model._scorer
    assert scorer is not None
    tokenize, preprocess = words.build_tokenizer(), words.build_preprocessor()
    word_analyzer, char_analyzer = words.build_analyzer(), chars.build_analyzer()
    low, high = chars.ngram_range
    offset = len(words.vocabulary_)
    for probe in probes:
        lowered = probe.lower()
        split = lowered.split()
        tokens = [t for w in split for t in scorer.word_features(w).tokens]
        assert tokens == tokenize(preprocess(probe)), repr(probe)
        grams = list(chain.from_iterable(char_wb_grams(w, low, high) for w in split))
        assert grams == char_analyzer(probe), repr(probe)
        known_words = Counter(words.vocabulary_[t] for t in word_analyzer(probe)
                              if t in words.vocabulary_)  # fmt: skip
        known_chars = Counter(chars.vocabulary_[g] + offset for g in char_analyzer(probe)
                              if g in chars.vocabulary_)  # fmt: skip
        columns, counts, n_words = scorer.features(lowered)
        expected = sorted({**known_words, **known_chars}.items())
        expected.append((offset + len(chars.vocabulary_), 1))  # the intercept
        assert list(zip(columns.tolist(), counts.tolist(), strict=True)) == expected, repr(probe)
        assert n_words == len(known_words), repr(probe)


def test_a_words_columns_are_kept_as_int64_bytes(model: IntentModel, probes: list[str]) -> None:
    """A word's cached columns are the bytes of int64 values (``array``'s "q", what
    ``features`` reads back with ``np.frombuffer``): its tokens' known columns, then its
    char_wb n-grams' known columns (offset past the word block), repeats kept, in order."""
    assert array(_INT64).itemsize == np.dtype(np.int64).itemsize == 8
    words, chars = _vectorizers(model)
    scorer = model._scorer
    assert scorer is not None
    low, high = chars.ngram_range
    offset = len(words.vocabulary_)
    tokenize = words.build_tokenizer()
    for word in {w for probe in probes[:200] for w in probe.lower().split()}:
        tokens = tokenize(strip_accents_unicode(word))
        expected = [words.vocabulary_[t] for t in tokens if t in words.vocabulary_]
        expected += [chars.vocabulary_[g] + offset for g in char_wb_grams(word, low, high)
                     if g in chars.vocabulary_]  # fmt: skip
        got = np.frombuffer(scorer.word_features(word).columns, np.int64).tolist()
        assert got == expected, repr(word)


def test_white_space_means_the_same_to_the_regex_and_to_split() -> None:
    """char_wb collapses ``\\s\\s+`` before ``split()``; skipping that is right only while
    the two agree on every code point. And a word's tokens are the text's only while stripping
    accents maps white space to white space."""
    everything = "".join(map(chr, range(sys.maxunicode + 1)))
    spaces = [c for c in everything if c.isspace()]
    assert re.findall(r"\s", everything) == spaces
    assert all(strip_accents_unicode(c).isspace() for c in spaces)


def test_a_long_text_counts_past_the_table(model: IntentModel) -> None:
    text = "refund " * TF_TABLE  # counts past the end of the table
    want = model._pipeline.predict_proba([text])[0]
    np.testing.assert_allclose(model.probabilities_one(text), want, rtol=0, atol=1e-12)


def test_two_intents_score_as_scikit_learn_scores_them() -> None:
    texts = ["where is my order", "track my parcel", "i want a refund", "money back please"]
    model = IntentModel().fit(texts, ["track", "track", "refund", "refund"])
    probes = [*texts, "", "refund where", "zzz"]
    expected = model._pipeline.predict_proba(probes)
    for probe, want in zip(probes, expected, strict=True):
        got = model.probabilities_one(probe)
        assert got.shape == (2,)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12, err_msg=repr(probe))


@pytest.mark.parametrize(
    "change",
    [{"binary": True}, {"stop_words": "english"}, {"norm": "l1"}, {"strip_accents": "ascii"}],
)
def test_a_configuration_it_does_not_reproduce_is_refused(
    model: IntentModel, change: dict[str, object]
) -> None:
    words, chars = _vectorizers(model)
    other = TfidfVectorizer(**{**words.get_params(), **change})
    other.fit(["parcel refund order", "refund order late"])
    coef = np.zeros((3, len(other.idf_) + len(chars.idf_)))
    with pytest.raises(ValueError, match=next(iter(change))):
        OneTextScorer(other, chars, coef, np.zeros(3))


def test_scores_too_large_for_exp_are_shifted_first(model: IntentModel) -> None:
    """With coefficients a thousand times larger, exp of the raw scores would overflow: the
    scorer then subtracts the maximum first, as scikit-learn does."""
    words, chars = _vectorizers(model)
    fitted = model._pipeline.named_steps["model"]
    coef, intercept = fitted.coef_ * 1000, fitted.intercept_ * 1000
    scorer = OneTextScorer(words, chars, coef, intercept)
    texts = ["where is my order", "I want my money back NOW", ""]
    union = model._pipeline.named_steps["features"]
    expected = softmax(np.asarray(union.transform(texts) @ coef.T) + intercept)
    for text, want in zip(texts, expected, strict=True):
        got = scorer.probabilities(text)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12, err_msg=repr(text))
