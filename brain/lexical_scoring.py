"""The arithmetic of the lexical search (``brain.lexical``): BM25 postings and their sums, and
the confidence of a candidate (its blend, the rounding, the bounds that let a search skip work).

Kept apart from the index so that each can be read on its own: ``LexicalIndex`` decides what
to compute for a question, this module computes it, bit for bit what the plain algorithm
(``tests/kb_reference.py``) computes.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import bm25s
import numpy as np

ROUNDING = 1e-4  # more than ``round(_, 4)`` moves a confidence
# Up to this many postings in all, a question's BM25 scores are summed in Python: about 0.1 us
# a posting against numpy's 1.7 us a term plus 4 us for the partial sort on a small KB.
SPARSE_POSTINGS = 128
SHORT = 32  # postings kept as Python lists too, for the Python sums: most terms, little memory
_FLOAT32 = struct.Struct("f")


@dataclass(frozen=True, slots=True)
class Posting:
    """A term's postings: the rows of the entries holding it and its BM25 score in each
    (float32), and for a short one (most terms) the same as Python lists and, when no two
    scores are equal, the rows best first (a one-term question's ranking)."""

    rows: np.ndarray
    scores: np.ndarray
    lists: tuple[list[int], list[float]] | None
    size: int  # len(rows)
    ranked: list[int] | None = None  # short postings without ties


def postings(bm25: bm25s.BM25) -> dict[str, Posting]:
    """Each term's postings, read from bm25s's column-sparse index."""
    data, indices, indptr = (bm25.scores[key] for key in ("data", "indices", "indptr"))
    columns = len(indptr) - 1  # bm25s adds "" to the vocabulary beyond the columns
    found = {}
    for term, i in bm25.vocab_dict.items():
        if i < columns:
            rows, scores = indices[indptr[i] : indptr[i + 1]], data[indptr[i] : indptr[i + 1]]
            found[term] = _posting(rows, scores)
    return found


def _posting(rows: np.ndarray, scores: np.ndarray) -> Posting:
    if len(rows) > SHORT:
        return Posting(rows, scores, None, len(rows))
    lists = (rows.tolist(), scores.tolist())
    if len(set(lists[1])) < len(lists[1]):  # ties: ranked as numpy's partial sort orders them
        return Posting(rows, scores, lists, len(rows))
    ranked = [row for _, row in sorted(zip(lists[1], lists[0], strict=True), reverse=True)]
    return Posting(rows, scores, lists, len(rows), ranked)


def dense_sums(found: Sequence[Posting], size: int) -> np.ndarray:
    """Every entry's BM25 score (float64 of the float32 sums, as ``BM25.get_scores``)."""
    scores = np.zeros(size, dtype=np.float32)
    for posting in found:
        scores[posting.rows] += posting.scores  # a row appears once per term: no np.add.at
    return scores.astype(np.float64)


def sparse_sums(found: Sequence[Posting]) -> dict[int, float]:
    """The BM25 score of each entry with one: a double holds the sum of two float32 values
    closely enough (53 > 2 x 24 + 2 bits) that rounding it to float32 is numpy's float32 sum."""
    sums: dict[int, float] = {}
    pack, unpack = _FLOAT32.pack, _FLOAT32.unpack
    for posting in found:
        rows, scores = posting.lists or (posting.rows.tolist(), posting.scores.tolist())
        if not sums:  # the first term's scores as they are, the dict built in C
            sums = dict(zip(rows, scores, strict=True))
            continue
        for row, value in zip(rows, scores, strict=True):
            sums[row] = unpack(pack(sums[row] + value))[0] if row in sums else value
    return sums


def cutoff(relative: float, coverage: float, strength: float, kth: float) -> float:
    """A ``score_cutoff`` (0-100) for an entry's fuzzy match: a similarity below it cannot
    reach the k-th best confidence ``kth`` (0.0: no safe cutoff, match them all). The bound is
    solved from ``blend``, lowered a little, then checked through ``blend`` itself (which only
    grows with the similarity), so float error never makes it cut a match that counts."""
    needed = ((kth - ROUNDING) / relative - 0.4 * coverage - 0.3 * strength) / 0.3
    value = needed * 100 * (1 - 1e-9) - 1e-9
    if value <= 0 or not blend(relative, coverage, value / 100, strength) + ROUNDING < kth:
        return 0.0
    return value


def round4(value: float) -> float:
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


def blend(relative: float, coverage: float, similarity: float, strength: float) -> float:
    """The confidence before rounding (``round(_, 4)``): how much of the question the entry
    explains, its closeness to a known phrasing and the absolute lexical strength of the best
    match (``best / (best + 3)``), scaled by the entry's BM25 score relative to the best.
    Every term only grows with its inputs, so a bound of any input bounds the result."""
    return relative * (0.4 * coverage + 0.3 * similarity + 0.3 * strength)
