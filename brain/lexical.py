"""Lexical retrieval over the knowledge base: BM25, then a re-scoring of the best candidates.

A search (``LexicalIndex.rank``), step by step:

1. **Terms.** The question is folded (lower case, no accents), split into words; stop words and
   one-letter words go; the first ``MAX_QUERY_TERMS`` distinct words are kept, at most
   ``MAX_CORRECTIONS`` unknown ones are spell-corrected against the corpus vocabulary
   (rapidfuzz, cached), and all are stemmed (Snowball English).
2. **BM25** (bm25s builds the index: one precomputed score per (term, entry)) ranks every entry;
   the ``max(k, RERANK)`` best with a positive score are the candidates.
3. **Confidence** of each candidate, in [0, 1]: its BM25 score relative to the best one, times
   a blend of *coverage* (the IDF-weighted share of the question's words the entry contains,
   numbers left out), *similarity* (``fuzz.ratio`` of the sorted words to the closest of its
   title and question phrasings) and *strength* (how strong the best BM25 score is at all:
   weak everywhere means off-topic). Best ``k`` by confidence, ties in BM25 order.

All that does not depend on the question is computed once, when the index is built: the
postings of every term (so a search adds up the query terms' BM25 scores directly, the same
float32 sums as ``bm25s.BM25.get_scores``, without its generic per-call work), each entry's
term set and sorted phrasings, and the IDF of every term. All that depends only on the
question (its coverage weights, the strength of the best score) is computed once per search,
not once per candidate. Shortcuts that change no result: a short question's BM25 sums and
ranking are done in Python (``_candidates``: ties and long postings go to numpy); the fuzzy
match is skipped for a candidate that cannot reach the k best, and stopped (rapidfuzz's
``score_cutoff``) below the similarity it would need (``rank``, ``_cutoff``); an entry's
repeated phrasings are matched once; ``round(_, 4)`` is done by float operations
(``_round4``, ties left to ``round``).
``tests/kb_reference.py`` keeps the plain form of this algorithm;
``tests/test_kb_equivalence.py`` checks that both return the same hits, order and scores
(floats equal to the last bit).
"""

from __future__ import annotations

import functools
import heapq
import math
import re
import struct
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import compress
from operator import itemgetter

import bm25s
import numpy as np
import Stemmer
from rapidfuzz import fuzz, process

from brain.entries import KnowledgeEntry
from brain.semantic import top

WORD = re.compile(r"[^\W_]+", re.UNICODE)
STOPWORDS = frozenset([
    "a", "about", "all", "am", "an", "and", "any", "are", "as", "at", "be", "been", "but",
    "by", "can", "could", "did", "do", "does", "doing", "for", "from", "get", "got", "had",
    "has", "have", "hi", "hello", "hey", "how", "i", "i'm", "if", "im", "in", "into", "is",
    "it", "its", "just", "me", "my", "of", "on", "or", "our", "please", "should", "so", "than",
    "thanks", "thank", "that", "the", "their", "them", "then", "there", "these", "this", "to",
    "too", "up", "us", "was", "we", "were", "what", "when", "where", "which", "who", "why",
    "will", "with", "would", "you", "your", "yours"
])  # fmt: skip
RERANK = 20
"""Candidates re-scored per search (at least ``k``)."""
# Work per question is bounded whatever the customer pastes: a 4,000-character message of
# gibberish must cost about what a normal question costs (issue 9). Only the first distinct
# query words count, only so many unknown words are spell-corrected, and corrections are cached.
MAX_QUERY_TERMS = 48
MAX_CORRECTIONS = 8
MAX_SIMILARITY_CHARS = 400  # fuzzy similarity to known phrasings is quadratic in length
_CORRECTION_CACHE = 4096
_ROUNDING = 1e-4  # more than ``round(_, 4)`` moves a confidence
# Up to this many postings in all, a question's BM25 scores are summed in Python: about 0.1 us
# a posting against numpy's 1.7 us a term plus 4 us for the partial sort on a small KB.
_SPARSE_POSTINGS = 128
_FLOAT32 = struct.Struct("f")
_SHORT = 32  # postings kept as Python lists too, for the Python sums: most terms, little memory


@dataclass(frozen=True, slots=True)
class Posting:
    """A term's postings: the rows of the entries holding it and its BM25 score in each
    (float32), and for a short one (most terms) the same as Python lists."""

    rows: np.ndarray
    scores: np.ndarray
    lists: tuple[list[int], list[float]] | None
    size: int  # len(rows)


class LexicalIndex:
    """The lexical half of ``KnowledgeBase``: immutable once built; rows are entry positions."""

    def __init__(self, entries: Sequence[KnowledgeEntry]) -> None:
        self._size = len(entries)
        self._stemmer = Stemmer.Stemmer("english")
        self._vocabulary: set[str] = set()
        # Each known phrasing with its words sorted: ``fuzz.token_sort_ratio`` against the
        # question is ``fuzz.ratio`` of the sorted forms, and ``process.extractOne`` scores an
        # entry's phrasings in one call (6x less CPU than a Python loop over them).
        # Repeated phrasings (a title that is also a question) are kept once: the best ratio is
        # the same, for a fuzzy match fewer.
        self._variants = [
            list(dict.fromkeys(_sorted_words(_normalize(q)) for q in (e.title, *e.questions)))
            for e in entries
        ]
        corpus = [self._learn(_document(entry)) for entry in entries]
        self._vocab_list = sorted(self._vocabulary)
        self._terms = [frozenset(tokens) for tokens in corpus]
        document_frequency: dict[str, int] = {}
        for terms in self._terms:
            for term in terms:
                document_frequency[term] = document_frequency.get(term, 0) + 1
        total = max(len(corpus), 1)
        self._idf = {t: float(np.log1p(total / n)) for t, n in document_frequency.items()}
        self._unknown_idf = float(np.log1p(total))
        self._correct = functools.lru_cache(maxsize=_CORRECTION_CACHE)(self._closest_word)
        self._postings: dict[str, Posting] = {}
        if entries:
            bm25 = bm25s.BM25()
            bm25.index(corpus, show_progress=False)
            self._postings = _postings(bm25)

    def rank(self, question: str, k: int) -> list[tuple[float, int]]:
        """The ``k`` best of the ``max(k, RERANK)`` BM25 candidates for ``question``, as
        (confidence, row), best first."""
        found = words(question)
        tokens = self._query_terms(found)
        if not tokens or not self._size:
            return []
        candidates, raw = self._candidates(tokens, max(k, RERANK))
        if not candidates or raw[candidates[0]] <= 0:
            return []
        best = raw[candidates[0]]
        # Numbers (order numbers, amounts, dates) carry no topic: "where is my order 5512" is
        # as well explained by the tracking entry as "where is my order". (No letter is a
        # digit: ``isalpha`` answers for most terms without a look at each character.)
        informative = [t for t in tokens if t.isalpha() or not any(map(str.isdigit, t))]
        idf, unknown = self._idf, self._unknown_idf
        names = informative or tokens
        weights = [idf.get(t, unknown) for t in names]
        information = sum(weights)
        strength = best / (best + 3.0)
        query = _sorted_words(" ".join(found)[:MAX_SIMILARITY_CHARS])
        scored: list[tuple[float, int]] = []
        kth: list[float] = []  # the k best confidences so far, a heap: kth[0] is the k-th
        full = False  # k confidences in ``kth``
        for row in candidates:
            value = raw[row]
            if value <= 0:
                break
            relative = value / best
            # The fuzzy match is the costly step. It is skipped for an entry that could not
            # reach the k best so far even with a perfect match (and full coverage, for the
            # ``break``: the candidates come in BM25 order, so no later one could either),
            # and it stops early (rapidfuzz's ``score_cutoff``) below the similarity the
            # entry needs to get there. The answer is exactly the full computation's: the
            # margin covers the rounding.
            if full and _blend(relative, 1.0, 1.0, strength) + _ROUNDING < kth[0]:
                break
            # The weights of the question's terms the entry holds, added in query order
            # (iterators in C: a comprehension would make a function object every time).
            coverage = sum(compress(weights, map(self._terms[row].__contains__, names)))
            coverage /= information
            cutoff = 0.0
            if full:
                if _blend(relative, coverage, 1.0, strength) + _ROUNDING < kth[0]:
                    continue
                cutoff = _cutoff(relative, coverage, strength, kth[0])
            closest = process.extractOne(
                query, self._variants[row], scorer=fuzz.ratio, score_cutoff=cutoff
            )
            if closest is None:  # only with a cutoff: every phrasing is below it
                continue
            score = _round4(_blend(relative, coverage, closest[1] / 100, strength))
            scored.append((score, row))
            if not full:
                heapq.heappush(kth, score)
                full = len(kth) == k
            elif score > kth[0]:
                heapq.heapreplace(kth, score)
        scored.sort(key=itemgetter(0), reverse=True)  # stable: ties keep the BM25 order
        return scored[:k]

    def _candidates(self, tokens: Sequence[str], count: int) -> tuple[list[int], dict[int, float]]:
        """The ``count`` entries with the best BM25 scores for ``tokens``, best first, and the
        scores by row: what ``top`` over bm25s's ``BM25.get_scores`` gives, ties included.

        A score is a sum of float32 postings (bm25s's dtype) in query order, a repeated term
        counted again. Few postings (a short question, rare words: the usual case) are added
        up and sorted in Python, cheaper than numpy's fixed cost per call on small arrays;
        but ties, whose order numpy's partial sort decides, and long postings go the numpy
        way, over one dense array."""
        postings = list(filter(None, map(self._postings.get, tokens)))  # known terms
        if sum([p.size for p in postings]) <= _SPARSE_POSTINGS:
            sums = _sparse_sums(postings)
            if len(set(sums.values())) == len(sums):
                ranked = sorted(sums, key=sums.__getitem__, reverse=True)
                return ranked[:count], sums
        dense = _dense_sums(postings, self._size)
        best = top(dense, count)
        return best.tolist(), dict(zip(best.tolist(), dense[best].tolist(), strict=True))

    def _query_terms(self, found: Sequence[str]) -> list[str]:
        kept = [w for w in found if w not in STOPWORDS and len(w) > 1]
        return list(self._stemmer.stemWords(self._bounded(kept)))

    def _learn(self, text: str) -> list[str]:
        """An entry's terms, its words added to the vocabulary spelling is corrected against."""
        kept = [w for w in words(text) if w not in STOPWORDS and len(w) > 1]
        self._vocabulary.update(kept)
        return list(self._stemmer.stemWords(kept))

    def _bounded(self, kept: Sequence[str]) -> list[str]:
        """The query's first ``MAX_QUERY_TERMS`` distinct words, at most ``MAX_CORRECTIONS`` of
        them spell-corrected (known words and short words cost nothing)."""
        distinct = list(dict.fromkeys(kept))[:MAX_QUERY_TERMS]
        vocabulary = self._vocabulary
        if vocabulary.issuperset(distinct):  # the usual case: nothing to correct
            return distinct
        budget = MAX_CORRECTIONS
        out = []
        for word in distinct:
            if budget > 0 and self._correctable(word):
                budget -= 1
                out.append(self._correct(word))
            else:
                out.append(word)
        return out

    def _correctable(self, word: str) -> bool:
        # Short words have too many one-letter neighbours ("cars" -> "cards") to guess safely.
        return word not in self._vocabulary and len(word) >= 6 and not word.isdigit()

    def _closest_word(self, word: str) -> str:
        """Map a misspelt word ("retrun") to the closest corpus word ("return")."""
        match = process.extractOne(word, self._vocab_list, scorer=fuzz.ratio, score_cutoff=80)
        return str(match[0]) if match else word


def _postings(bm25: bm25s.BM25) -> dict[str, Posting]:
    """Each term's postings, read from bm25s's column-sparse index."""
    data, indices, indptr = (bm25.scores[key] for key in ("data", "indices", "indptr"))
    columns = len(indptr) - 1  # bm25s adds "" to the vocabulary beyond the columns
    postings = {}
    for term, i in bm25.vocab_dict.items():
        if i < columns:
            rows, scores = indices[indptr[i] : indptr[i + 1]], data[indptr[i] : indptr[i + 1]]
            lists = (rows.tolist(), scores.tolist()) if len(rows) <= _SHORT else None
            postings[term] = Posting(rows, scores, lists, len(rows))
    return postings


def _dense_sums(postings: Sequence[Posting], size: int) -> np.ndarray:
    """Every entry's BM25 score (float64 of the float32 sums, as ``BM25.get_scores``)."""
    scores = np.zeros(size, dtype=np.float32)
    for posting in postings:
        scores[posting.rows] += posting.scores  # a row appears once per term: no np.add.at
    return scores.astype(np.float64)


def _sparse_sums(postings: Sequence[Posting]) -> dict[int, float]:
    """The BM25 score of each entry with one: a double holds the sum of two float32 values
    closely enough (53 > 2 x 24 + 2 bits) that rounding it to float32 is numpy's float32 sum."""
    sums: dict[int, float] = {}
    pack, unpack = _FLOAT32.pack, _FLOAT32.unpack
    for posting in postings:
        rows, scores = posting.lists or (posting.rows.tolist(), posting.scores.tolist())
        if not sums:  # the first term's scores as they are, the dict built in C
            sums = dict(zip(rows, scores, strict=True))
            continue
        for row, value in zip(rows, scores, strict=True):
            sums[row] = unpack(pack(sums[row] + value))[0] if row in sums else value
    return sums


def _cutoff(relative: float, coverage: float, strength: float, kth: float) -> float:
    """A ``score_cutoff`` (0-100) for an entry's fuzzy match: a similarity below it cannot
    reach the k-th best confidence ``kth`` (0.0: no safe cutoff, match them all). The bound is
    solved from ``_blend``, lowered a little, then checked through ``_blend`` itself (which only
    grows with the similarity), so float error never makes it cut a match that counts."""
    needed = ((kth - _ROUNDING) / relative - 0.4 * coverage - 0.3 * strength) / 0.3
    cutoff = needed * 100 * (1 - 1e-9) - 1e-9
    if cutoff <= 0 or not _blend(relative, coverage, cutoff / 100, strength) + _ROUNDING < kth:
        return 0.0
    return cutoff


def _round4(value: float) -> float:
    """``round(value, 4)`` bit for bit, for a confidence: ``round`` with digits goes through a
    correctly rounded decimal conversion (about 3,000 instructions), this through three float
    operations. Below 2, ``value * 1e4`` is within 2**-37 of the exact product, so its
    fraction is on the same side of .5 as the exact one unless within that of a tie, and
    ``n / 1e4`` is the double nearest to the decimal, as ``round`` returns it. Near ties and
    values out of that range go to ``round``."""
    if not 0.0 < value < 2.0:  # (zero too: round keeps the sign of -0.0)
        return round(value, 4)
    scaled = value * 10000.0
    whole = math.floor(scaled)
    fraction = scaled - whole  # exact
    if 0.4999 < fraction < 0.5001:
        return round(value, 4)
    return (whole + (fraction > 0.5)) / 10000.0


def _blend(relative: float, coverage: float, similarity: float, strength: float) -> float:
    """The confidence before rounding (``round(_, 4)``): how much of the question the entry
    explains, its closeness to a known phrasing and the absolute lexical strength of the best
    match (``best / (best + 3)``), scaled by the entry's BM25 score relative to the best.
    Every term only grows with its inputs, so a bound of any input bounds the result."""
    return relative * (0.4 * coverage + 0.3 * similarity + 0.3 * strength)


def _document(entry: KnowledgeEntry) -> str:
    # Question phrasings carry the customer's vocabulary, so they count twice.
    phrasing = " ".join((entry.title, *entry.questions, *entry.tags))
    return f"{phrasing} {phrasing} {entry.answer}"


def words(text: str) -> list[str]:
    """Every word of ``text``, folded (stop words included)."""
    return WORD.findall(_fold(text))


def _normalize(text: str) -> str:
    return " ".join(words(text))


def _sorted_words(text: str) -> str:
    return " ".join(sorted(text.split()))


def _fold(text: str) -> str:
    """Lower case without accents: customers often type "donde esta" for "dónde está"."""
    if text.isascii():  # nothing to decompose: NFKD leaves ASCII as it is
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))
