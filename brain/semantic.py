"""The semantic half of hybrid retrieval: an exact in-memory vector index over the knowledge
base, and the fusion of its ranking with the lexical one.

Each entry is represented by ``MAX_VARIANTS`` vectors: its title, and its title with the start
of its answer; an entry's similarity to a question is the better of the two (cosine, the vectors
are normalised). Question phrasings are left to the lexical half: on the sample KB's questions
and a 10,000-entry synthetic KB (``bench/faq.py``), four vectors per entry (title, two
phrasings, title + answer) retrieved no better than these two and cost twice the scan. The
rankings are fused by reciprocal rank fusion (for the candidates) and ordered by one
confidence, the calibrated cosine or its mean with the lexical confidence, whichever is higher,
so one threshold serves both paths. Vectors are float32 (BLAS speed): 10,000 entries take about
30 MB, 100,000 about 300 MB, and a search is one matrix-vector product plus a partial sort.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np

from brain.embeddings import CachedEmbedder, EmbeddingError
from brain.entries import Hit, KnowledgeEntry

logger = logging.getLogger(__name__)

MAX_VARIANTS = 2
MAX_QUERY_CHARS = 1000  # the model reads 256 word pieces; the rest would be cut anyway
RRF_K = 60
# Cosine of all-MiniLM-L6-v2 mapped to a confidence: a paraphrase of a known question scores
# about 0.55-0.9, an unrelated question below 0.25.
COSINE_FLOOR = 0.30
COSINE_FULL = 0.80


class SemanticIndex:
    def __init__(self, embedder: CachedEmbedder, vectors: np.ndarray, starts: np.ndarray) -> None:
        self.embedder = embedder
        self._vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self._starts = starts  # index of each entry's first vector

    @classmethod
    def build(
        cls, entries: Sequence[KnowledgeEntry], embedder: CachedEmbedder
    ) -> SemanticIndex | None:
        texts: list[str] = []
        starts: list[int] = []
        for entry in entries:
            starts.append(len(texts))
            variants = [entry.title, *entry.questions][: MAX_VARIANTS - 1]
            texts.extend([*variants, f"{entry.title}. {entry.answer[:300]}"])
        try:
            vectors = embedder.embed(texts).astype(np.float32)
        except EmbeddingError as err:
            logger.warning("semantic retrieval off, lexical only: %s", err)
            return None
        embedder.save()
        logger.info("semantic index: %d vectors for %d entries (%s)", len(texts), len(entries),
                    embedder.name)  # fmt: skip
        return cls(embedder, vectors, np.asarray(starts, dtype=np.int64))

    def similarity(self, question: str) -> np.ndarray | None:
        """Each entry's best cosine to ``question``; None when the engine fails (logged)."""
        try:
            query = self.embedder.embed_query(question[:MAX_QUERY_CHARS])
        except EmbeddingError as err:
            logger.warning("semantic search failed, lexical only: %s", err)
            return None
        # einsum, not ``@``: numpy hands a matrix-vector product to OpenBLAS, which splits it
        # over every core; on a busy 2-core machine the second thread waits for a core, and the
        # scan (memory-bound either way) took 10-20 ms at the median instead of 1 (20,000 rows).
        scores = np.einsum("ij,j->i", self._vectors, np.asarray(query, dtype=np.float32))
        return np.maximum.reduceat(scores, self._starts)


def confidence(cosine: float) -> float:
    return float(np.clip((cosine - COSINE_FLOOR) / (COSINE_FULL - COSINE_FLOOR), 0.0, 1.0))


def top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest scores, best first: a partial sort (O(n)), not a full one."""
    if k >= len(scores):
        return np.argsort(-scores)
    best = np.argpartition(-scores, k)[:k]
    return best[np.argsort(-scores[best])]


def fuse(
    index: Mapping[str, int], lexical: Sequence[Hit], similarity: np.ndarray, k: int,
    entries: Sequence[KnowledgeEntry],
) -> list[Hit]:  # fmt: skip
    """The candidates of both rankings (reciprocal rank fusion breaks ties), by confidence.
    ``index`` maps an entry id to its row (built once with the knowledge base)."""
    fused: dict[int, float] = {}
    lexical_score: dict[int, float] = {}
    for rank, hit in enumerate(lexical):
        i = index[hit.entry.id]
        fused[i] = 1.0 / (RRF_K + rank + 1)
        lexical_score[i] = hit.score
    for rank, i in enumerate(top(similarity, max(k, len(lexical), 20)).tolist()):
        fused[i] = fused.get(i, 0.0) + 1.0 / (RRF_K + rank + 1)
    hits = []
    for i, rrf in fused.items():
        semantic = confidence(float(similarity[i]))
        # Words alone may match the wrong entry ("which cards do you take" -> refunds): the
        # lexical confidence counts only as far as the meaning agrees.
        score = max(semantic, (lexical_score.get(i, 0.0) + semantic) / 2)
        if score > 0:
            hits.append((score, rrf, i))
    hits.sort(key=lambda h: (h[0], h[1]), reverse=True)
    return [Hit(entries[i], round(score, 4)) for score, _, i in hits[:k]]
