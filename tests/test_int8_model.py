"""The int8 copy of the local model (brain/quantize.py) and the fast query paths: the copy is
made once and agrees with the float model, a text's vector does not depend on its batch mates,
every failure runs the float model, and the intent head and the KB scan compute what
scikit-learn and a plain matrix product would."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from brain.classify import IntentModel
from brain.embeddings import CachedEmbedder, OnnxEmbedder, build_embedder
from brain.entries import KnowledgeEntry
from brain.quantize import file_digest
from brain.semantic import SemanticIndex
from config.settings import DEFAULT_MODEL_DIR, EmbeddingsSettings

TEXTS = [
    "where is my order",
    "I want my money back for the broken kettle",
    "can I change the delivery address after checkout? " * 3,
    "refund",
    "my parcel was left at the wrong address and nobody answers the phone " * 4,
]


@pytest.fixture(scope="module")
def int8_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One int8 copy for the module: making it takes a few seconds."""
    if not (DEFAULT_MODEL_DIR / "model.onnx").is_file():
        pytest.fail(f"no local model in {DEFAULT_MODEL_DIR}: run scripts/offline-model", False)
    return tmp_path_factory.mktemp("int8")


@pytest.fixture(scope="module")
def int8(int8_dir: Path) -> OnnxEmbedder:
    return OnnxEmbedder(DEFAULT_MODEL_DIR, int8_cache=int8_dir)


@pytest.fixture(scope="module")
def float32() -> OnnxEmbedder:
    return OnnxEmbedder(DEFAULT_MODEL_DIR)


def test_the_int8_copy_is_made_once_and_agrees_with_the_float_model(
    int8: OnnxEmbedder, float32: OnnxEmbedder, int8_dir: Path
) -> None:
    assert int8.name == "local:sentence-transformers/all-MiniLM-L6-v2+int8"
    assert float32.name == "local:sentence-transformers/all-MiniLM-L6-v2"
    (copy,) = int8_dir.glob("model-int8-*.onnx")
    made = copy.stat().st_mtime_ns
    again = OnnxEmbedder(DEFAULT_MODEL_DIR, int8_cache=int8_dir)
    assert again.name == int8.name and copy.stat().st_mtime_ns == made  # not made twice
    cosines = np.sum(int8.embed(TEXTS) * float32.embed(TEXTS), axis=1)
    assert cosines.min() > 0.998, cosines
    # A different model file is a different copy (the cache is keyed by its content).
    assert copy.name == f"model-int8-{file_digest(DEFAULT_MODEL_DIR / 'model.onnx')[:16]}.onnx"


def test_an_int8_vector_does_not_depend_on_its_batch_mates(int8: OnnxEmbedder) -> None:
    # Length-sorted batches run side by side; activations are quantised per block of each row,
    # so a text embedded in bulk gets the vector it gets alone (one scale per batch would not).
    texts = [f"question {i} " + "about a late delivery " * (i % 9) for i in range(140)]
    together = int8.embed(texts)
    assert together.shape == (140, 384)
    for i in (0, 5, 63, 64, 100, 139):
        alone = int8.embed([texts[i]])[0]
        assert float(together[i] @ alone) > 0.9999, i


def test_without_the_quantiser_the_float_model_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx raises ImportError
    embedder = OnnxEmbedder(DEFAULT_MODEL_DIR, int8_cache=tmp_path)
    assert embedder.name == "local:sentence-transformers/all-MiniLM-L6-v2"
    assert embedder.embed(["where is my order"]).shape == (1, 384)
    assert not list(tmp_path.glob("*.onnx"))


def test_a_damaged_int8_copy_runs_the_float_model(tmp_path: Path) -> None:
    digest = file_digest(DEFAULT_MODEL_DIR / "model.onnx")[:16]
    (tmp_path / f"model-int8-{digest}.onnx").write_bytes(b"not a model")
    embedder = OnnxEmbedder(DEFAULT_MODEL_DIR, int8_cache=tmp_path)
    assert not embedder.name.endswith("+int8")
    assert embedder.embed(["where is my order"]).shape == (1, 384)


def test_settings_run_the_int8_copy_by_default(int8_dir: Path) -> None:
    assert EmbeddingsSettings().quantize is True
    local = build_embedder(EmbeddingsSettings(provider="local"), int8_dir)
    assert local is not None and local.name.endswith("+int8")
    plain = build_embedder(EmbeddingsSettings(provider="local", quantize=False), int8_dir)
    assert plain is not None and not plain.name.endswith("+int8")


class Counting:
    def __init__(self, inner: OnnxEmbedder) -> None:
        self.inner, self.name, self.texts = inner, inner.name, 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts += len(texts)
        result: np.ndarray = self.inner.embed(texts)
        return result


def test_the_head_reads_a_message_as_scikit_learn_would_and_a_retrain_embeds_nothing(
    int8: OnnxEmbedder, tmp_path: Path
) -> None:
    texts = ["where is my parcel", "track my order", "has my package shipped",
             "I want my money back", "refund please", "when do I get reimbursed",
             "change my address", "I moved house, update my address"]  # fmt: skip
    labels = ["track"] * 3 + ["refund"] * 3 + ["address"] * 2
    first = Counting(int8)
    model = IntentModel(embedder=CachedEmbedder(first, tmp_path)).fit(texts, labels)
    assert first.texts == len(texts)
    for question in ("the delivery hasn't come, can you locate it", "money back please"):
        fast, checked = model.predict_one(question), model.predict([question])[0]
        assert fast[0] == checked[0] and fast[1] == pytest.approx(checked[1], abs=1e-5)
    # A restart: a fresh cache on the same folder, the same examples: nothing is embedded.
    again = Counting(int8)
    retrained = IntentModel(embedder=CachedEmbedder(again, tmp_path)).fit(texts, labels)
    assert again.texts == 0
    assert retrained.predict_one("money back please")[0] == "refund"


class Fixed:
    """Random unit vectors, the same for the same text."""

    name = "fixed:random"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        rows = [np.random.default_rng(sum(map(ord, t))).standard_normal(384) for t in texts]
        matrix = np.asarray(rows, dtype=np.float32)
        return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def test_the_scan_is_the_matrix_product_reduced_to_entries(tmp_path: Path) -> None:
    entries = [KnowledgeEntry(id=f"e{i}", title=f"title {i}", answer=f"answer {i}",
                              questions=(), category="general", tags=())
               for i in range(50)]  # fmt: skip
    index = SemanticIndex.build(entries, CachedEmbedder(Fixed(), tmp_path))
    assert index is not None
    scores = index.similarity("where is my order")
    assert scores is not None and scores.shape == (50,)
    query = Fixed().embed(["where is my order"])[0]
    expected = np.maximum.reduceat(index._vectors @ query, index._starts)
    np.testing.assert_allclose(scores, expected, atol=1e-6)
