"""The fitted intent model's probabilities for one text, computed directly (the live path).

scikit-learn's ``predict_proba`` validates its input for ~2 ms per call and its Python analyzers
make a pass over the text per step (decode, accents, lower case, white space, n-grams); a live bot
classifies one message at a time. ``OneTextScorer`` reproduces the two fitted ``TfidfVectorizer``
blocks of ``brain.classify.IntentModel`` (word 1-2-grams with accents stripped, ``char_wb``
n-grams; sublinear tf, idf, l2 norm per block) and the logistic regression's softmax, with the
same features and probabilities equal to ``predict_proba``'s within 1e-12
(``tests/test_intent_scoring.py`` compares them, and the n-grams with ``build_analyzer()``'s).

Written for few interpreter steps and few numpy calls (each costs a microsecond or two on arrays
this small): the text is lower-cased once for both blocks; a word's character n-grams are looked
up once and cached (``CHAR_CACHE_WORDS``: messages repeat their words); both blocks share one
column space, so a feature's idf and coefficients are one ``take`` each.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Callable, Iterator
from itertools import chain, pairwise

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer, strip_accents_unicode

# Distinct words whose character n-gram columns are kept (a few MB at most); a support desk's
# messages draw on a few thousand words, so nearly every word is a hit.
CHAR_CACHE_WORDS = 8192
# 1 + log(tf) for the counts a text of up to (TF_TABLE - 1) // 2 characters can reach: a feature
# occurs at most once per character position of the padded words (2 * len + 1 of them).
TF_TABLE = 4096


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
        self._tokenize: Callable[[str], list[str]] = words.build_tokenizer()
        self._word_columns: dict[str, int] = {t: int(c) for t, c in words.vocabulary_.items()}
        char_columns = {g: int(c) + n_words for g, c in chars.vocabulary_.items()}
        low, high = chars.ngram_range
        self._char_columns = functools.lru_cache(CHAR_CACHE_WORDS)(
            functools.partial(_char_wb_columns, char_columns, low, high)
        )
        # One column past the features holds the intercept, with weight 1 (idf 1, tf 1): the
        # scores are then one product, and a text without known features scores the intercept.
        self._bias = n_features
        self._idf = np.concatenate([words.idf_, chars.idf_, [1.0]])
        # Feature-major: a message's hundred-odd features are whole rows (a few cache lines
        # each), where class-major columns meant a cache miss per class and feature in a table
        # of a few MB (cold by the next message on a busy process).
        self._coef = np.ascontiguousarray(np.vstack([np.asarray(coef).T, intercept]))
        # As scikit-learn computes it: log of the float counts, plus one (sublinear tf).
        # (Index 0 is never read: a counted feature occurs at least once.)
        self._sublinear_tf = np.log(np.arange(1, TF_TABLE, dtype=np.float64)) + 1.0
        self._sublinear_tf = np.concatenate([[0.0], self._sublinear_tf])

    def probabilities(self, text: str) -> np.ndarray:
        """``predict_proba`` of the fitted pipeline for ``[text]``, as a new 1-D array."""
        lowered = text.lower()
        words, chars = self.counts(lowered)
        n_words = len(words)
        n = n_words + len(chars)
        columns = np.fromiter(chain(words, chars, (self._bias,)), np.intp, n + 1)
        counts = np.fromiter(chain(words.values(), chars.values(), (1,)), np.intp, n + 1)
        if 2 * len(lowered) + 1 < TF_TABLE:
            weights = self._sublinear_tf.take(counts)
        else:
            weights = np.log(counts.astype(np.float64))
            weights += 1.0
        weights *= self._idf.take(columns)
        listed = weights.tolist()
        if n_words:
            weights[:n_words] /= math.hypot(*listed[:n_words])
        if n > n_words:
            weights[n_words:n] /= math.hypot(*listed[n_words:n])
        scores: np.ndarray = np.dot(weights, self._coef.take(columns, axis=0))
        return softmax(scores)

    def counts(self, lowered: str) -> tuple[Counter[int | None], Counter[int]]:
        """Occurrences of each known word and char_wb feature (columns, in the order first
        seen) of a lower-cased text: both blocks lower-case, only the word block strips
        accents."""
        words = Counter(map(self._word_columns.get, self.word_grams(lowered)))
        words.pop(None, None)
        # char_wb's white-space normalisation is a no-op before split(): \s and str.isspace()
        # agree on every code point (tested)
        chars = Counter(chain.from_iterable(map(self._char_columns, lowered.split())))
        return words, chars

    def word_grams(self, lowered: str) -> Iterator[str]:
        """The word block's 1- and 2-grams of a lower-cased text, in scikit-learn's order."""
        tokens = self._tokenize(strip_accents_unicode(lowered))
        return chain(tokens, map(" ".join, pairwise(tokens)))


def softmax(scores: np.ndarray) -> np.ndarray:
    """scikit-learn's ``predict_proba`` of a fitted logistic regression from its scores (a
    binary model fits one score); multi-class scores are overwritten and returned."""
    if len(scores) == 1:
        positive = 1.0 / (1.0 + np.exp(-float(scores[0])))
        return np.array([1.0 - positive, positive])
    # ufunc reductions called directly: ndarray.max/sum go through a Python-level wrapper
    scores -= np.maximum.reduce(scores)
    np.exp(scores, out=scores)
    scores /= np.add.reduce(scores)
    return scores


def _char_wb_columns(vocabulary: dict[str, int], low: int, high: int, word: str) -> tuple[int, ...]:
    """The known columns of ``char_wb_grams(word, low, high)``, in order."""
    return tuple(c for c in map(vocabulary.get, char_wb_grams(word, low, high)) if c is not None)


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
