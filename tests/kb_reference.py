"""The lexical knowledge-base search as it was before ``brain/lexical.py`` (main at e7012ec),
kept as the readable reference the fast path is checked against (``tests/test_kb_equivalence.py``,
``bench/kb_search.py``). Not used by the bot.

It scores every entry with bm25s's generic ``BM25.get_scores``, then, for each of the best
candidates in turn, re-tokenises nothing but recomputes the question's coverage weights,
fuzzy-matches the entry's phrasings and blends one confidence: the algorithm in its plainest
form. The stop words and limits are the production ones (data, not algorithm).
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence

import bm25s
import numpy as np
import Stemmer
from rapidfuzz import fuzz, process

from brain.entries import Hit, KnowledgeEntry
from brain.lexical import (
    MAX_CORRECTIONS,
    MAX_QUERY_TERMS,
    MAX_SIMILARITY_CHARS,
    RERANK,
    STOPWORDS,
    WORD,
)
from brain.semantic import top


class ReferenceSearch:
    def __init__(self, entries: Sequence[KnowledgeEntry]) -> None:
        self.entries = tuple(entries)
        self._stemmer = Stemmer.Stemmer("english")
        self._vocabulary: set[str] = set()
        self._variants = [
            [_sorted_words(_normalize(q)) for q in (entry.title, *entry.questions)]
            for entry in self.entries
        ]
        corpus = [self._tokens(_document(entry), learn=True) for entry in self.entries]
        self._vocab_list = sorted(self._vocabulary)
        self._doc_terms = [frozenset(tokens) for tokens in corpus]
        document_frequency: dict[str, int] = {}
        for terms in self._doc_terms:
            for term in terms:
                document_frequency[term] = document_frequency.get(term, 0) + 1
        total = max(len(corpus), 1)
        self._idf = {t: float(np.log1p(total / n)) for t, n in document_frequency.items()}
        self._unknown_idf = float(np.log1p(total))
        self._correct = functools.lru_cache(maxsize=4096)(self._closest_word)
        self._bm25 = bm25s.BM25()
        if self.entries:
            self._bm25.index(corpus, show_progress=False)

    def search(self, question: str, k: int = 5) -> list[Hit]:
        """``KnowledgeBase.search`` without an embedder."""
        return self._lexical(question, max(k, RERANK))[:k]

    def bm25(self, question: str) -> np.ndarray | None:
        """bm25s's scores of every entry for the question's terms (None: no terms)."""
        tokens = self._tokens(question, learn=False)
        if not tokens or not self.entries:
            return None
        return np.asarray(self._bm25.get_scores(tokens), dtype=float)

    def _lexical(self, question: str, k: int) -> list[Hit]:
        tokens = self._tokens(question, learn=False)
        if not tokens or not self.entries:
            return []
        raw = np.asarray(self._bm25.get_scores(tokens), dtype=float)
        candidates = top(raw, max(k, RERANK))
        best = float(raw[candidates[0]])
        if best <= 0:
            return []
        query = _sorted_words(_normalize(question)[:MAX_SIMILARITY_CHARS])
        hits = []
        for index in candidates:
            if raw[index] <= 0:
                break
            closest = process.extractOne(query, self._variants[index], scorer=fuzz.ratio)
            similarity = (closest[1] if closest is not None else 0.0) / 100
            coverage = self._coverage(tokens, self._doc_terms[index])
            relative = float(raw[index]) / best
            score = _confidence(relative, coverage, similarity, best)
            hits.append(Hit(self.entries[index], score))
        hits.sort(key=lambda h: h.score, reverse=True)
        return hits[:k]

    def _coverage(self, tokens: Sequence[str], terms: frozenset[str]) -> float:
        words = [t for t in tokens if not any(c.isdigit() for c in t)] or list(tokens)
        weights = [self._idf.get(t, self._unknown_idf) for t in words]
        found = sum(w for t, w in zip(words, weights, strict=True) if t in terms)
        return found / sum(weights)

    def _tokens(self, text: str, *, learn: bool) -> list[str]:
        words = [w for w in WORD.findall(_fold(text)) if w not in STOPWORDS and len(w) > 1]
        if learn:
            self._vocabulary.update(words)
        else:
            words = self._bounded(words)
        return list(self._stemmer.stemWords(words))

    def _bounded(self, words: Sequence[str]) -> list[str]:
        distinct = list(dict.fromkeys(words))[:MAX_QUERY_TERMS]
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
        return word not in self._vocabulary and len(word) >= 6 and not word.isdigit()

    def _closest_word(self, word: str) -> str:
        match = process.extractOne(word, self._vocab_list, scorer=fuzz.ratio, score_cutoff=80)
        return str(match[0]) if match else word


def _confidence(relative: float, coverage: float, similarity: float, best_raw: float) -> float:
    strength = best_raw / (best_raw + 3.0)
    return round(relative * (0.4 * coverage + 0.3 * similarity + 0.3 * strength), 4)


def _document(entry: KnowledgeEntry) -> str:
    phrasing = " ".join((entry.title, *entry.questions, *entry.tags))
    return f"{phrasing} {phrasing} {entry.answer}"


def _normalize(text: str) -> str:
    return " ".join(WORD.findall(_fold(text)))


def _sorted_words(text: str) -> str:
    return " ".join(sorted(text.split()))


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))
