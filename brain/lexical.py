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
float32 sums as ``bm25s.BM25.get_scores``, without its generic per-call work), the ranking of
a one-term question, each corpus word's stem, each entry's term set and sorted phrasings, and
the IDF of every term. All that depends only on the question (its coverage weights, the
strength of the best score) is computed once per search, not once per candidate. Shortcuts
that change no result: a question of known words gets its terms by look-up (``_query_terms``);
a short question's BM25 sums and ranking are done in Python (``_candidates``: ties and long
postings go to numpy); the fuzzy match is skipped for a candidate that cannot reach the k best,
and stopped (rapidfuzz's ``score_cutoff``) below the similarity it would need (``rank``,
``cutoff``); an entry's repeated phrasings are matched once; ``round(_, 4)`` is done by float
operations (``round4``, ties left to ``round``). The arithmetic (postings, sums, blend, bounds,
rounding) is in ``brain.lexical_scoring``.
``tests/kb_reference.py`` keeps the plain form of this algorithm;
``tests/test_kb_equivalence.py`` checks that both return the same hits, order and scores
(floats equal to the last bit).
"""

from __future__ import annotations

import functools
import heapq
import re
import string
import unicodedata
from collections.abc import Sequence
from itertools import compress, repeat
from operator import itemgetter

import bm25s
import numpy as np
import Stemmer
from rapidfuzz import fuzz, process

from brain.entries import KnowledgeEntry
from brain.lexical_scoring import (
    ROUNDING,
    SPARSE_POSTINGS,
    Posting,
    cutoff,
    dense_sums,
    postings,
    round4,
    sparse_sums,
)
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
_ONE_CHARACTER = string.ascii_lowercase + string.digits


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
        # Each corpus word's term; "" for a stop word or a one-letter word (never in the corpus
        # vocabulary): what ``_query_terms`` looks up.
        self._term_of = dict.fromkeys([*STOPWORDS, *_ONE_CHARACTER], "")
        stems = self._stemmer.stemWords(self._vocab_list)
        self._term_of.update(zip(self._vocab_list, stems, strict=True))
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
            self._postings = postings(bm25)

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
        names = _informative(tokens)  # (numbers left out)
        weights = list(map(self._idf.get, names, repeat(self._unknown_idf)))
        information = sum(weights)
        strength = best / (best + 3.0)
        # ``blend``'s operations, inline below with its last term computed once: bit for bit
        # ``blend(relative, coverage or 1.0, similarity or 1.0, strength)``. A Python call per
        # bound cost more than the rest of a skipped candidate.
        base = 0.3 * strength
        perfect = 0.4 + 0.3 + base  # full coverage and a perfect match
        query = _phrasing(found)
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
            if full and relative * perfect + ROUNDING < kth[0]:
                break
            # The weights of the question's terms the entry holds, added in query order
            # (iterators in C: a comprehension would make a function object every time).
            coverage = sum(compress(weights, map(self._terms[row].__contains__, names)))
            coverage /= information
            needed = 0.0
            if full:
                if relative * (0.4 * coverage + 0.3 + base) + ROUNDING < kth[0]:
                    continue
                needed = cutoff(relative, coverage, strength, kth[0])
            closest = process.extractOne(
                query, self._variants[row], scorer=fuzz.ratio, score_cutoff=needed
            )
            if closest is None:  # only with a cutoff: every phrasing is below it
                continue
            score = round4(relative * (0.4 * coverage + 0.3 * (closest[1] / 100) + base))
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
        found = list(filter(None, map(self._postings.get, tokens)))  # known terms
        if len(found) == 1 and found[0].ranked is not None and found[0].lists:
            # one term: ranked when the index was built
            return found[0].ranked[:count], dict(zip(*found[0].lists, strict=True))
        if sum([p.size for p in found]) <= SPARSE_POSTINGS:
            sums = sparse_sums(found)
            if len(set(sums.values())) == len(sums):
                ranked = sorted(sums, key=sums.__getitem__, reverse=True)
                return ranked[:count], sums
        dense = dense_sums(found, self._size)
        best = top(dense, count)
        return best.tolist(), dict(zip(best.tolist(), dense[best].tolist(), strict=True))

    def _query_terms(self, found: Sequence[str]) -> list[str]:
        # The usual question has only corpus words and stop words, and fewer distinct ones
        # than MAX_QUERY_TERMS: then its terms are a look-up per distinct word ("" drops a
        # stop word), what the general way below gives without the stemmer's per-call work.
        distinct = dict.fromkeys(found)
        terms = list(map(self._term_of.get, distinct))
        if None not in terms and len(terms) <= MAX_QUERY_TERMS:
            return list(filter(None, terms))
        return self._stemmed(found)

    def _stemmed(self, found: Sequence[str]) -> list[str]:
        """The query's terms, the general way: stop words and one-letter words left out, at
        most ``MAX_QUERY_TERMS`` distinct words, unknown ones corrected, all stemmed."""
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


def _document(entry: KnowledgeEntry) -> str:
    # Question phrasings carry the customer's vocabulary, so they count twice.
    phrasing = " ".join((entry.title, *entry.questions, *entry.tags))
    return f"{phrasing} {phrasing} {entry.answer}"


def words(text: str) -> list[str]:
    """Every word of ``text``, folded (stop words included)."""
    return WORD.findall(_fold(text))


def _informative(tokens: list[str]) -> list[str]:
    """The terms coverage counts: numbers (order numbers, amounts, dates) carry no topic, "where
    is my order 5512" is as well explained by the tracking entry as "where is my order". (No
    letter is a digit: ``isalpha`` answers for most terms without a look at each character.)"""
    if all(map(str.isalpha, tokens)):  # the usual question: nothing to leave out
        return tokens
    return [t for t in tokens if t.isalpha() or not any(map(str.isdigit, t))] or tokens


def _phrasing(found: list[str]) -> str:
    """The question as compared with the entries' phrasings: its words sorted, within the
    length limit (a word holds no white space: below the limit, the split is ``found``)."""
    joined = " ".join(found)
    if len(joined) <= MAX_SIMILARITY_CHARS:
        return " ".join(sorted(found))
    return _sorted_words(joined[:MAX_SIMILARITY_CHARS])


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
