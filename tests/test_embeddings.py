"""The optional semantic layer: the real local model (installed by scripts/offline-model), the
disk cache, the OpenAI-compatible engine, hybrid retrieval, and the fall-back to lexical."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx2
import numpy as np
import pytest

from brain.classify import IntentModel
from brain.embeddings import (
    CachedEmbedder,
    EmbeddingError,
    OnnxEmbedder,
    OpenAIEmbedder,
    build_embedder,
)
from brain.knowledge import KnowledgeBase
from brain.semantic import top
from config.errors import ConfigError
from config.settings import DEFAULT_MODEL_DIR, PACKAGED_KNOWLEDGE_DIR, EmbeddingsSettings


@pytest.fixture(scope="module")
def onnx() -> OnnxEmbedder:
    if not (DEFAULT_MODEL_DIR / "model.onnx").is_file():
        pytest.fail(f"no local model in {DEFAULT_MODEL_DIR}: run scripts/offline-model", False)
    return OnnxEmbedder(DEFAULT_MODEL_DIR)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One vector cache for the module: the sample KB is embedded once."""
    return tmp_path_factory.mktemp("vectors")


class Counting:
    """Wraps an embedder and counts the texts it was asked to embed."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name, self.texts = inner, inner.name, 0
        self.files = getattr(inner, "files", "")

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts += len(texts)
        result: np.ndarray = self.inner.embed(texts)
        return result


class Broken:
    name = "broken:model"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        raise EmbeddingError("the engine is down")


def test_the_local_model_tells_paraphrases_from_unrelated_text(onnx: OnnxEmbedder) -> None:
    vectors = onnx.embed(["How do I return an item?", "I want to send back my order",
                          "What is the weather like?"])  # fmt: skip
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    assert float(vectors[0] @ vectors[1]) > 0.45 > float(vectors[0] @ vectors[2]) + 0.3


def test_vectors_are_cached_on_disk_by_model_and_content(
    onnx: OnnxEmbedder, tmp_path: Path
) -> None:
    first = Counting(onnx)
    cached = CachedEmbedder(first, tmp_path)
    cached.embed(["where is my order", "how do I reset my password"])
    cached.save()
    assert first.texts == 2
    again = Counting(onnx)
    restarted = CachedEmbedder(again, tmp_path)  # a restart: a new process, the same folder
    vectors = restarted.embed(["where is my order", "how do I reset my password"])
    assert again.texts == 0 and vectors.shape == (2, 384)
    restarted.embed(["something new"])
    assert again.texts == 1


def test_a_model_replaced_in_the_same_folder_embeds_afresh(tmp_path: Path) -> None:
    """The vector cache follows the model files, not the model's name: vectors of the old
    files are not served for the new ones, and the new ones are kept from then on."""
    folder, vectors = tmp_path / "model", tmp_path / "vectors"
    shutil.copytree(DEFAULT_MODEL_DIR, folder)
    old = Counting(OnnxEmbedder(folder))
    cached = CachedEmbedder(old, vectors)
    cached.embed(["where is my order"])
    cached.save()
    tokenizer = folder / "tokenizer.json"  # a re-export: the same tokens, other bytes
    tokenizer.write_text(json.dumps(json.loads(tokenizer.read_text()), indent=1))
    for expected in (1, 0):  # embedded afresh and saved, then read from the cache
        new = Counting(OnnxEmbedder(folder))
        assert new.name == old.name and new.files != old.files
        cached = CachedEmbedder(new, vectors)
        cached.embed(["where is my order"])
        cached.save()
        assert new.texts == expected


def test_hybrid_retrieval_finds_what_words_alone_miss(onnx: OnnxEmbedder, cache: Path) -> None:
    lexical = KnowledgeBase.load(PACKAGED_KNOWLEDGE_DIR)
    hybrid = KnowledgeBase.load(PACKAGED_KNOWLEDGE_DIR, embedder=CachedEmbedder(onnx, cache))
    assert hybrid.semantic and not lexical.semantic
    for question, expected in [("my package never showed up", "order-not-received"),
                               ("I cannot remember my login", "reset-password"),
                               ("which cards do you take", "payment-methods")]:  # fmt: skip
        assert hybrid.search(question)[0].entry.id == expected, question
        assert lexical.search(question)[0].entry.id != expected, question
    # Off-topic questions stay below the answer threshold (one confidence for both paths).
    assert all(hit.score < 0.45 for hit in hybrid.search("who won the football last night"))
    assert hybrid.search("how do i retrun an item")[0].entry.id == "return-an-item"


def test_a_failing_engine_falls_back_to_lexical(tmp_path: Path) -> None:
    broken = CachedEmbedder(Broken(), tmp_path)
    knowledge = KnowledgeBase.load(PACKAGED_KNOWLEDGE_DIR, embedder=broken)
    assert not knowledge.semantic
    assert knowledge.search("What is your return policy?")[0].entry.id == "return-an-item"


def test_a_failure_at_query_time_falls_back_to_lexical(onnx: OnnxEmbedder, cache: Path) -> None:
    knowledge = KnowledgeBase.load(PACKAGED_KNOWLEDGE_DIR, embedder=CachedEmbedder(onnx, cache))
    assert knowledge._vectors is not None
    knowledge._vectors.embedder = CachedEmbedder(Broken(), cache)
    assert knowledge.search("What is your return policy?")[0].entry.id == "return-an-item"


def test_openai_compatible_endpoint(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        seen.append(body)
        data = [
            {"object": "embedding", "index": i, "embedding": [float(len(t)), 1.0, 0.0]}
            for i, t in enumerate(body["input"])
        ]
        usage = {"prompt_tokens": 1, "total_tokens": 1}
        reply = {"object": "list", "data": data, "model": body["model"], "usage": usage}
        return httpx2.Response(200, json=reply)

    client = httpx2.Client(transport=httpx2.MockTransport(handler))
    engine = OpenAIEmbedder("nomic-embed-text", "", "http://ollama.test/v1", 5.0, client)
    vectors = engine.embed(["ab", "abcd"])
    assert seen[0]["model"] == "nomic-embed-text" and seen[0]["input"] == ["ab", "abcd"]
    assert vectors.shape == (2, 3) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0)

    def down(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(503, json={"error": {"message": "overloaded"}})

    failing = OpenAIEmbedder("m", "", "http://ollama.test/v1", 5.0,
                             httpx2.Client(transport=httpx2.MockTransport(down)))  # fmt: skip
    with pytest.raises(EmbeddingError):
        failing.embed(["hello"])


def test_settings_choose_the_engine(tmp_path: Path) -> None:
    assert build_embedder(EmbeddingsSettings(), tmp_path) is None
    # quantize=False: the int8 copy (made in tests/test_int8_model.py) would cost seconds here
    local = build_embedder(EmbeddingsSettings(provider="local", quantize=False), tmp_path)
    assert local is not None and local.name == "local:sentence-transformers/all-MiniLM-L6-v2"
    half = tmp_path / "half"
    half.mkdir()
    (half / "model.onnx").write_bytes(b"")
    with pytest.raises(ConfigError, match="FRONTDESK_EMBEDDINGS__MODEL_DIR"):
        build_embedder(EmbeddingsSettings(provider="local", model_dir=half), tmp_path)


def test_the_intent_head_reads_meaning(onnx: OnnxEmbedder, cache: Path) -> None:
    texts = ["where is my parcel", "track my order", "has my package shipped",
             "I want my money back", "refund please", "when do I get reimbursed"]  # fmt: skip
    labels = ["track", "track", "track", "refund", "refund", "refund"]
    plain = IntentModel().fit(texts, labels)
    hybrid = IntentModel(embedder=CachedEmbedder(onnx, cache)).fit(texts, labels)
    question = "the delivery hasn't come, can you locate it"
    assert hybrid.predict_one(question)[0] == "track"
    assert hybrid.predict([question])[0][0] == "track"
    assert hybrid.predict_one(question)[1] > plain.predict_one(question)[1]


def test_the_intent_model_works_without_a_working_engine(tmp_path: Path) -> None:
    texts, labels = ["where is my parcel", "refund please"], ["track", "refund"]
    model = IntentModel(embedder=CachedEmbedder(Broken(), tmp_path)).fit(texts, labels)
    assert model.predict_one("where is my parcel")[0] == "track"


def test_a_query_is_read_as_its_own_words_not_padded(onnx: OnnxEmbedder) -> None:
    # The shipped tokenizer.json pads every text to 128 word pieces; a five-word question run
    # at 128 costs several times its own length (19 ms instead of 4-5 here). Padding is ours.
    assert onnx._query_tokenizer.padding is None and onnx._tokenizer.padding is None
    assert len(onnx._query_tokenizer.encode("where is my order").ids) < 10
    long = " ".join(["my parcel was left at the wrong address"] * 60)
    assert len(onnx._query_tokenizer.encode(long).ids) == 128  # MAX_QUERY_TOKENS
    assert len(onnx._tokenizer.encode(long).ids) == 256  # MAX_TOKENS for KB texts


def test_bulk_embedding_keeps_the_order_of_mixed_lengths(onnx: OnnxEmbedder) -> None:
    # Batches are formed by length and run side by side: rows must come back in input order.
    texts = [f"question {i} " + "about a late delivery " * (i % 7) for i in range(150)]
    together = onnx.embed(texts)
    assert together.shape == (150, 384)
    for i in (0, 3, 64, 77, 149):
        alone = onnx.embed([texts[i]])[0]
        assert float(together[i] @ alone) > 0.999, i


def test_an_unreadable_vector_cache_starts_afresh(onnx: OnnxEmbedder, tmp_path: Path) -> None:
    first = CachedEmbedder(onnx, tmp_path)
    first.embed(["where is my order"])
    first.save()
    (path,) = tmp_path.glob("vectors2-*.npz")
    path.write_bytes(b"not a zip file")
    again = Counting(onnx)
    restarted = CachedEmbedder(again, tmp_path)  # logs a warning, never raises
    assert restarted.embed(["where is my order"]).shape == (1, 384)
    assert again.texts == 1


def test_top_is_a_partial_sort_best_first() -> None:
    scores = np.random.default_rng(3).standard_normal(10_000).astype(np.float32)
    assert top(scores, 20).tolist() == np.argsort(-scores)[:20].tolist()
    assert top(scores[:5], 20).tolist() == np.argsort(-scores[:5]).tolist()
