"""The fast lexical search (``brain/lexical.py``) returns exactly what the plain algorithm
(``tests/kb_reference.py``) returns: the same entries, in the same order, with the same scores
(``==`` on floats: bit for bit), over the sample KB and a larger generated one, for a few
hundred questions of every kind (the fixture and bench questions, misspellings, other
languages, empty, one-word and very long texts), lexical-only and fused with vectors."""

from __future__ import annotations

import csv
import hashlib
import random
import string
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bench._common import KB_QUESTIONS
from brain.embeddings import CachedEmbedder
from brain.entries import Hit, KnowledgeEntry
from brain.knowledge import KnowledgeBase
from brain.lexical import RERANK, words
from brain.lexical_scoring import ROUNDING as _ROUNDING
from brain.lexical_scoring import SPARSE_POSTINGS as _SPARSE_POSTINGS
from brain.lexical_scoring import blend as _blend
from brain.lexical_scoring import cutoff as _cutoff
from brain.lexical_scoring import dense_sums as _dense_sums
from brain.lexical_scoring import round4 as _round4
from brain.lexical_scoring import sparse_sums as _sparse_sums
from brain.semantic import fuse, top
from config.settings import PACKAGED_KNOWLEDGE_DIR
from tests.kb_reference import ReferenceSearch

FIXTURE = Path(__file__).parent / "fixtures" / "kb" / "questions.csv"
KS = (1, 3, 5, RERANK, 40)


def _fixture_questions() -> list[str]:
    with FIXTURE.open(newline="") as handle:
        return [row["question"] for row in csv.DictReader(handle)]


def _misspelt(text: str, rng: random.Random) -> str:
    words = text.split()
    for i, word in enumerate(words):
        if len(word) > 3 and rng.random() < 0.4:
            j = rng.randrange(1, len(word) - 1)
            words[i] = rng.choice(
                [word[:j] + word[j + 1] + word[j] + word[j + 2 :],  # swapped letters
                 word[:j] + word[j + 1 :],  # a letter dropped
                 word[:j] + rng.choice(string.ascii_lowercase) + word[j:]]  # one added
            )  # fmt: skip
    return " ".join(words)


def questions(entries: Sequence[KnowledgeEntry]) -> list[str]:
    """Several hundred questions: what customers and the benches ask, the entries' own phrasings
    (translations included: German, French, Spanish), misspelt copies, and odd texts."""
    rng = random.Random(13)
    asked = [*_fixture_questions(), *KB_QUESTIONS]
    phrasings = [q for entry in entries[:40] for q in (entry.title, *entry.questions)]
    gibberish = " ".join(
        "".join(rng.choices(string.ascii_lowercase, k=rng.randint(6, 12))) for _ in range(400)
    )
    odd = [
        "", "   ", "?!", "a", "x", "order", "refund", "Rückerstattung", "12345",
        "order 5512", "where is my order 5512 placed on 12/03", "refund refunds refunding refund",
        "return returned returns returning", "DÓNDE ESTÁ MI PEDIDO", "où est ma commande ?",
        "Wo ist meine Bestellung?", "注文はどこですか", "😡😡 where is my order?!",
        "the the the of and", "hi", "thanks!", "passwrod resset", "cancle my ordr pls",
        gibberish, gibberish[:4000].upper(), " ".join(e.answer for e in entries[:12]),
        " ".join(asked)[:3000],
    ]  # fmt: skip
    misspelt = [_misspelt(q, rng) for q in [*asked, *phrasings[:120]]]
    return [*asked, *phrasings, *misspelt, *odd]


def generated_kb(base: Sequence[KnowledgeEntry], count: int = 400) -> list[KnowledgeEntry]:
    """``count`` entries recombined from ``base`` (titles, phrasings, answer sentences and tags
    mixed across entries), plus exact copies under other ids: ties in BM25, to check the order
    of equal scores too."""
    rng = random.Random(7)
    sentences = [s for e in base for s in e.answer.replace("\n", " ").split(". ") if s]
    phrasings = [q for e in base for q in (e.title, *e.questions)]
    tags = sorted({t for e in base for t in e.tags}) or ["general"]
    entries = []
    for i in range(count):
        seed = base[i % len(base)]
        title = f"{seed.title} {rng.choice(phrasings).split()[-1]}"
        asked = tuple(rng.sample(phrasings, rng.randint(1, 4)))
        answer = ". ".join(rng.sample(sentences, rng.randint(2, 6)))
        entries.append(KnowledgeEntry(
            id=f"gen-{i}", title=title, answer=answer, questions=asked,
            tags=tuple(rng.sample(tags, min(2, len(tags)))),
        ))  # fmt: skip
    copies = [
        KnowledgeEntry(id=f"copy-{i}-{entry.id}", title=entry.title, answer=entry.answer,
                       questions=entry.questions, tags=entry.tags)
        for i, entry in enumerate(entries[:: count // 20])
    ]  # fmt: skip
    return [*entries, *copies, *base]


def _pairs(hits: Sequence[Hit]) -> list[tuple[str, float]]:
    return [(hit.entry.id, hit.score) for hit in hits]


@pytest.fixture(scope="module")
def sample() -> KnowledgeBase:
    return KnowledgeBase.load(PACKAGED_KNOWLEDGE_DIR)


@pytest.fixture(scope="module")
def larger(sample: KnowledgeBase) -> KnowledgeBase:
    return KnowledgeBase(generated_kb(sample.entries))


@pytest.mark.parametrize("which", ["sample", "larger"])
def test_the_fast_search_returns_what_the_reference_returns(
    which: str, request: pytest.FixtureRequest
) -> None:
    kb: KnowledgeBase = request.getfixturevalue(which)
    reference = ReferenceSearch(kb.entries)
    texts = questions(kb.entries)
    assert len(texts) >= 300
    answered = 0
    for text in texts:
        for k in KS:
            expected = _pairs(reference.search(text, k))
            assert _pairs(kb.search(text, k)) == expected, (text, k)
        answered += bool(expected)
    # The questions reach the interesting paths: most find entries, some find none.
    assert 0.6 * len(texts) < answered < len(texts)


@pytest.mark.parametrize("which", ["sample", "larger"])
def test_the_bm25_sums_are_bm25s_own(which: str, request: pytest.FixtureRequest) -> None:
    """Both ways of adding up the per-term postings give ``bm25s.BM25.get_scores`` bit for bit
    (repeated and unknown terms included), and the candidates are those of ``top`` over it,
    in its order, ties included (the copies in the larger KB tie)."""
    kb: KnowledgeBase = request.getfixturevalue(which)
    reference = ReferenceSearch(kb.entries)
    lexical = kb._lexical
    ways: Counter[str] = Counter()
    for text in questions(kb.entries):
        expected = reference.bm25(text)
        terms = lexical._query_terms(words(text))
        if expected is None:
            assert not terms, text
            continue
        postings = [p for p in map(lexical._postings.get, terms) if p is not None]
        dense = _dense_sums(postings, len(kb.entries))
        assert dense.dtype == expected.dtype and np.array_equal(dense, expected), text
        sparse = _sparse_sums(postings)
        assert sparse == {row: s for row, s in enumerate(expected.tolist()) if s > 0}, text
        candidates, raw = lexical._candidates(terms, RERANK)
        ranked = top(expected, RERANK).tolist()
        assert [r for r in candidates if raw[r] > 0] == [r for r in ranked if expected[r] > 0]
        assert all(raw[r] == expected[r] for r in candidates), text
        if len(postings) == 1 and postings[0].ranked is not None:
            ways["one term"] += 1
        elif sum(len(p.rows) for p in postings) > _SPARSE_POSTINGS:
            ways["long postings"] += 1
        elif len(set(sparse.values())) < len(sparse):
            ways["ties"] += 1
        else:
            ways["python"] += 1
    assert min(ways[way] for way in ("one term", "python", "ties", "long postings")) > 0, ways


@pytest.mark.parametrize("which", ["sample", "larger"])
def test_the_query_terms_looked_up_are_the_stemmed_ones(
    which: str, request: pytest.FixtureRequest
) -> None:
    """A question of corpus words and stop words gets its terms from the table built with the
    index: the same list as the general way (stop words out, corrections, the stemmer), which
    the other questions (misspelt, other languages, numbers, very long) take."""
    kb: KnowledgeBase = request.getfixturevalue(which)
    lexical = kb._lexical
    looked_up = 0
    for text in questions(kb.entries):
        found = words(text)
        assert lexical._query_terms(found) == lexical._stemmed(found), text
        looked_up += None not in map(lexical._term_of.get, found)
    assert 50 < looked_up < len(questions(kb.entries)) - 50, looked_up


class Hashing:
    """A deterministic embedder for the hybrid path: a bag of hashed words, normalised."""

    name = "test:hashing"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), 64), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                vectors[row, hashlib.sha256(word.encode()).digest()[0] % 64] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1.0, norms)


def test_the_hybrid_search_fuses_the_same_lexical_ranking(
    sample: KnowledgeBase, tmp_path: Path
) -> None:
    embedder = CachedEmbedder(Hashing(), tmp_path)
    hybrid = KnowledgeBase(sample.entries, embedder)
    assert hybrid.semantic
    reference = ReferenceSearch(sample.entries)
    rows = {entry.id: i for i, entry in enumerate(sample.entries)}
    vectors = hybrid._vectors
    assert vectors is not None
    for text in questions(sample.entries)[:150]:
        similarity = vectors.similarity(text)  # the semantic half, unchanged
        assert similarity is not None
        for k in (3, 5):
            lexical = reference._lexical(text, max(k, RERANK))
            expected = fuse(rows, lexical, similarity, k, sample.entries)
            assert _pairs(hybrid.search(text, k)) == _pairs(expected), (text, k)


def test_the_pruning_bound_is_safe() -> None:
    """A candidate is skipped when ``_blend(..., similarity=1.0, ...) + _ROUNDING`` is below the
    k-th best confidence so far: then its own confidence, rounded, is below it too (a perfect
    match bounds the blend, and the margin is more than rounding can add)."""
    rng = random.Random(5)
    for _ in range(20000):
        relative, coverage, similarity = rng.random(), rng.random(), rng.random()
        best = rng.uniform(0.0, 40.0)
        strength = best / (best + 3.0)
        bound = _blend(relative, coverage, 1.0, strength)
        score = round(_blend(relative, coverage, similarity, strength), 4)
        assert score <= round(bound, 4) < bound + _ROUNDING


def test_round4_is_round_bit_for_bit() -> None:
    """``_round4`` against ``round(_, 4)``: random confidences, every 4-decimal tie and the
    floats around it (a few ulps either way), the edges of its range and what lies beyond."""
    rng = random.Random(9)
    values = [rng.random() for _ in range(100000)] + [rng.uniform(0, 2) for _ in range(20000)]
    for n in range(20001):
        tie = (n + 0.5) / 10000
        below = above = tie
        for _ in range(4):
            below, above = np.nextafter(below, 0.0), np.nextafter(above, 3.0)
            values += [float(below), float(above)]
        values += [tie, n / 10000, (n + 0.49995) / 10000, (n + 0.50005) / 10000]
    values += [0.0, -0.0, 1.0, 2.0, 1.99999, 2.5, 12345.67895, -0.00005, -1.23456, 5e-324]
    values += [float("inf"), float("-inf")]
    for value in values:
        assert _round4(value) == round(value, 4), value
        assert str(_round4(value)) == str(round(value, 4)), value  # the sign of zero too
    assert _round4(float("nan")) != _round4(float("nan"))


def test_the_fuzzy_cutoff_is_safe() -> None:
    """A similarity below ``_cutoff``'s (in percent, as rapidfuzz scores) gives a confidence
    below the k-th best: cutting those matches changes no result. And the cutoff is not
    useless: most of the time it is close to the similarity the k-th best needs."""
    rng = random.Random(21)
    useful = 0
    for _ in range(20000):
        relative, coverage = rng.uniform(0.01, 1.0), rng.random()
        best = rng.uniform(0.0, 40.0)
        strength = best / (best + 3.0)
        kth = rng.uniform(0.0, 1.0)
        cutoff = _cutoff(relative, coverage, strength, kth)
        if cutoff == 0.0:
            continue
        useful += 1
        for similarity in (cutoff - 1e-7, cutoff * (1 - 1e-12), rng.uniform(0, cutoff)):
            if 0 <= similarity < cutoff:
                score = round(_blend(relative, coverage, similarity / 100, strength), 4)
                assert score < kth, (relative, coverage, strength, kth, similarity)
        # the similarity exactly needed is just above the cutoff
        needed = ((kth - _ROUNDING) / relative - 0.4 * coverage - 0.3 * strength) / 0.3 * 100
        assert needed * (1 - 1e-8) - 1e-8 < cutoff <= needed
    assert useful > 2000
