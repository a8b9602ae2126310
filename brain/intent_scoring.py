"""The fitted intent model's probabilities for one text, computed directly (the live path).

scikit-learn's ``predict_proba`` validates its input for ~2 ms per call and its Python analyzers
make a pass over the text per step (decode, accents, lower case, white space, n-grams); a live bot
classifies one message at a time. ``OneTextScorer`` reproduces the two fitted ``TfidfVectorizer``
blocks of ``brain.classify.IntentModel`` (word 1-2-grams with accents stripped, ``char_wb``
n-grams; sublinear tf, idf, l2 norm per block) and the logistic regression's softmax: the same
features, and probabilities equal to ``predict_proba``'s within 1e-12
(``tests/test_intent_model.py`` compares both with scikit-learn's).

Written for few interpreter steps per feature and few numpy calls (each costs a microsecond or
so on arrays this small):

- the text is lower-cased once for both blocks and split at white space once; what one word
  yields (its tokens, its known unigram and character n-gram columns) is computed once and
  cached (``CACHE_WORDS``: messages repeat their words); only the bigrams, which cross words,
  are looked up per text;
- both blocks share one column space (the intercept is one more column, of weight 1), so the
  counting is one sort of one array, and a feature's idf and coefficients are one ``take`` each;
- the softmax subtracts the maximum only when the coefficients allow scores large enough for
  exp to overflow, and sums on Python floats (numpy's reductions cost more on a few dozen).
"""

from __future__ import annotations

import functools
import math
from array import array
from collections.abc import Callable
from itertools import pairwise
from typing import NamedTuple

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer, strip_accents_unicode

# Distinct words whose features are kept (a few MB at most); a support desk's messages draw on a
# few thousand words, so nearly every word is a hit.
CACHE_WORDS = 8192
# 1 + log(tf) for the counts a text of up to (TF_TABLE - 1) // 2 characters can reach: a feature
# occurs at most once per character position of the padded words (2 * len + 1 of them).
TF_TABLE = 4096
_INT64 = "q"  # array's type code of numpy's int64 (C long long: 64 bits wherever numpy runs)


class WordFeatures(NamedTuple):
    """What one white-space-separated word of a lower-cased text yields."""

    tokens: tuple[str, ...]  # the word block's tokens (accents stripped), for the bigrams
    columns: bytes  # the known columns of its tokens and char_wb n-grams, with repeats (int64)


class OneTextScorer:
    """Class probabilities of one text under a fitted word + char_wb TF-IDF logistic model."""

    def __init__(
        self,
        words: TfidfVectorizer,
        chars: TfidfVectorizer,
        coef: np.ndarray,
        intercept: np.ndarray,
    ) -> None:
        _check(words, chars)
        n_words = len(words.idf_)
        n_features = n_words + len(chars.idf_)
        self._word_columns: dict[str, int] = {t: int(c) for t, c in words.vocabulary_.items()}
        self._n_word_columns = n_words
        char_columns = {g: int(c) + n_words for g, c in chars.vocabulary_.items()}
        low, high = chars.ngram_range
        self.word_features: Callable[[str], WordFeatures] = functools.lru_cache(CACHE_WORDS)(
            functools.partial(
                _word_features, words.build_tokenizer(), self._word_columns, char_columns, low, high
            )
        )
        # Counting sorts the columns found with these: a sentinel before all (so that every
        # column's run has an end before it), the intercept's column, a sentinel after all.
        self._bounds = array(_INT64, (-1, n_features, n_features + 1)).tobytes()
        self._idf = np.concatenate([words.idf_, chars.idf_, [1.0]])
        # Feature-major: a message's hundred-odd features are whole rows (a few cache lines
        # each, gathered in ascending order), where class-major columns meant a cache miss per
        # class and feature in a table of a few MB (cold by the next message on a busy process).
        self._coef = np.ascontiguousarray(np.vstack([np.asarray(coef).T, intercept]))
        # Each block's weights have unit length, so no class scores more (in magnitude) than
        # its two blocks' coefficient norms plus its intercept. Below 700, exp neither
        # overflows nor underflows to 0, and the softmax can skip subtracting the maximum (three
        # numpy calls; the quotients differ in the last bit at most).
        blocks = np.asarray(coef)[:, :n_words], np.asarray(coef)[:, n_words:]
        bound = sum(np.linalg.norm(block, axis=1) for block in blocks) + np.abs(intercept)
        self._may_overflow = bool(bound.max() >= 700.0)
        # As scikit-learn computes it: log of the float counts, plus one (sublinear tf).
        # (Index 0 is never read: a counted feature occurs at least once.)
        logs = np.log(np.arange(1, TF_TABLE, dtype=np.float64)) + 1.0
        self._sublinear_tf = np.concatenate([[0.0], logs])

    def probabilities(self, text: str) -> np.ndarray:
        """``predict_proba`` of the fitted pipeline for ``[text]``, as a new 1-D array."""
        lowered = text.lower()
        columns, counts, n_words = self.features(lowered)
        if 2 * len(lowered) + 1 < TF_TABLE:
            weights = self._sublinear_tf.take(counts)
        else:
            weights = np.log(counts.astype(np.float64))
            weights += 1.0
        weights *= self._idf.take(columns)
        last = len(weights) - 1  # the intercept's weight stays 1
        if n_words:
            words = weights[:n_words]  # a view: the division normalises weights in place
            words /= math.sqrt(np.dot(words, words))
        if last > n_words:
            chars = weights[n_words:last]
            chars /= math.sqrt(np.dot(chars, chars))
        scores: np.ndarray = np.dot(weights, self._coef.take(columns, axis=0))
        return softmax(scores, shift=self._may_overflow)

    def features(self, lowered: str) -> tuple[np.ndarray, np.ndarray, int]:
        """The known features of a lower-cased text: their columns (ascending: the word
        block's, the char_wb block's, the intercept's), how often each occurs, and how many
        belong to the word block."""
        found = list(map(self.word_features, lowered.split()))
        # char_wb collapses white-space runs first: a no-op before split(), since \s and
        # str.isspace() agree on every code point (tested)
        tokens = [token for word in found for token in word.tokens]
        known = map(self._word_columns.get, map(" ".join, pairwise(tokens)))
        bigrams = array(_INT64, [c for c in known if c is not None]).tobytes()
        # The columns are gathered as bytes and made an array once: joining bytes costs far
        # less than np.concatenate over one small array per word (and np.array of a list).
        every = b"".join([self._bounds, bigrams, *(word.columns for word in found)])
        occurrences = np.frombuffer(bytearray(every), np.int64)  # (writable: sorted in place)
        occurrences.sort()
        ends = (occurrences[1:] != occurrences[:-1]).nonzero()[0]  # each run's last index
        features = ends[1:]  # (the first end is the sentinel's)
        columns = occurrences.take(features)
        counts = features - ends[:-1]
        return columns, counts, int(columns.searchsorted(self._n_word_columns))


def softmax(scores: np.ndarray, shift: bool = True) -> np.ndarray:
    """scikit-learn's ``predict_proba`` of a fitted logistic regression from its scores (a
    binary model fits one score), as a new array. ``shift=False`` skips subtracting the
    maximum, for scores known to be too small for exp to overflow (or to underflow to 0)."""
    if len(scores) == 1:
        positive = 1.0 / (1.0 + np.exp(-float(scores[0])))
        return np.array([1.0 - positive, positive])
    if shift:
        scores = scores - scores[scores.argmax()]
    exps: np.ndarray = np.exp(scores)
    exps /= sum(exps.tolist())  # (Python sums a few dozen floats faster than numpy does)
    return exps


def _word_features(
    tokenize: Callable[[str], list[str]],
    word_columns: dict[str, int],
    char_columns: dict[str, int],
    low: int,
    high: int,
    word: str,
) -> WordFeatures:
    # A word's tokens are the text's: accent stripping maps character by character, white space
    # to white space (tested), and tokens are runs of word characters, so none crosses a space.
    tokens = tuple(tokenize(strip_accents_unicode(word)))
    unigrams = [c for c in map(word_columns.get, tokens) if c is not None]
    grams = [c for c in map(char_columns.get, char_wb_grams(word, low, high)) if c is not None]
    return WordFeatures(tokens, array(_INT64, [*unigrams, *grams]).tobytes())


def char_wb_grams(word: str, low: int, high: int) -> list[str]:
    """``char_wb``'s n-grams of one white-space-separated word, in scikit-learn's order: the
    word padded with a space each side, every ``low``..``high``-gram in turn; once the padded
    word is no longer than n it is counted whole, once."""
    padded = f" {word} "
    size = len(padded)
    grams: list[str] = []
    for n in range(low, high + 1):
        if size <= n:
            grams.append(padded)
            break
        grams.extend([padded[i : i + n] for i in range(size - n + 1)])
    return grams


def _check(words: TfidfVectorizer, chars: TfidfVectorizer) -> None:
    """The configurations this module reproduces; anything else is a programming error."""
    expected_words = {
        "input": "content", "analyzer": "word", "ngram_range": (1, 2), "lowercase": True,
        "strip_accents": "unicode", "preprocessor": None, "tokenizer": None,
        "stop_words": None, "binary": False, "use_idf": True, "sublinear_tf": True, "norm": "l2",
        "dtype": np.float64,
    }  # fmt: skip
    expected_chars = {
        **expected_words, "analyzer": "char_wb", "strip_accents": None,
        "ngram_range": chars.ngram_range,
    }  # fmt: skip
    for vectorizer, expected in ((words, expected_words), (chars, expected_chars)):
        params = vectorizer.get_params()
        wrong = {k: params[k] for k, v in expected.items() if params[k] != v}
        if wrong:
            raise ValueError(f"OneTextScorer does not reproduce a vectorizer with {wrong}")
