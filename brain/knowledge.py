"""The knowledge base: loading entries from a folder and retrieving the best ones for a question.

Entries are Markdown files with YAML front matter (``id``, ``title``, ``category``, ``tags``,
``questions``) or YAML files holding ``entries:``. Retrieval (``brain.lexical``) is BM25
(bm25s) over stemmed words, with misspelt query words corrected against the corpus vocabulary
(rapidfuzz); the top candidates are re-scored by coverage of the question and fuzzy similarity
to their question variants. With an embedder, that ranking is fused with a semantic one
(``brain.semantic``). ``Hit.score`` is a confidence in [0, 1] that the entry answers the
question.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from brain.embeddings import CachedEmbedder
from brain.entries import Hit, KnowledgeEntry
from brain.lexical import MAX_CORRECTIONS, RERANK, LexicalIndex
from brain.semantic import SemanticIndex, fuse
from config.errors import ConfigError
from config.yamlfile import line_of, parse_yaml, read_text, read_yaml

logger = logging.getLogger(__name__)

__all__ = ["MAX_CORRECTIONS", "KnowledgeBase"]


class KnowledgeBase:
    """An immutable, searchable set of entries. Reload = build a new one and swap it in."""

    def __init__(
        self, entries: Sequence[KnowledgeEntry], embedder: CachedEmbedder | None = None
    ) -> None:
        self.entries = tuple(entries)
        self.embedder = embedder
        self.version = _fingerprint(self.entries)
        self._rows = {entry.id: i for i, entry in enumerate(self.entries)}
        self._lexical = LexicalIndex(self.entries)
        self._vectors: SemanticIndex | None = None
        if embedder is not None and self.entries:
            self._vectors = SemanticIndex.build(self.entries, embedder)

    @classmethod
    def load(
        cls,
        directory: Path,
        extra: Sequence[KnowledgeEntry] = (),
        embedder: CachedEmbedder | None = None,
    ) -> KnowledgeBase:
        """The entries under ``directory`` plus ``extra`` (FAQ entries admins added in chat)."""
        if not directory.is_dir():
            raise ConfigError(f"FRONTDESK_KNOWLEDGE__DIR: {directory} is not a directory")
        entries: list[KnowledgeEntry] = []
        for path in sorted(directory.rglob("*")):
            if path.suffix.lower() == ".md":
                entries.append(_load_markdown(path))
            elif path.suffix.lower() in {".yaml", ".yml"}:
                entries.extend(_load_yaml(path))
        entries.extend(extra)
        seen: dict[str, str] = {}
        for entry in entries:
            if entry.id in seen:
                raise ConfigError(
                    f"knowledge base: duplicate id {entry.id!r} in {entry.source} and "
                    f"{seen[entry.id]}"
                )
            seen[entry.id] = entry.source
        logger.info("loaded %d knowledge entries from %s", len(entries), directory)
        return cls(entries, embedder)

    def get(self, entry_id: str) -> KnowledgeEntry | None:
        row = self._rows.get(entry_id)
        return None if row is None else self.entries[row]

    def search(self, question: str, k: int = 5) -> list[Hit]:
        """The ``k`` best entries for ``question``, best first, with confidence scores: lexical
        (``brain.lexical``), or hybrid (lexical and semantic fused) when an embedder is
        configured and works."""
        if self._vectors is None:
            return self._hits(self._lexical.rank(question, k))
        lexical = self._hits(self._lexical.rank(question, max(k, RERANK)))
        similarity = self._vectors.similarity(question)
        if similarity is None:
            return lexical[:k]
        return fuse(self._rows, lexical, similarity, k, self.entries)

    def _hits(self, ranked: list[tuple[float, int]]) -> list[Hit]:
        return [Hit(self.entries[row], score) for score, row in ranked]

    @property
    def semantic(self) -> bool:
        return self._vectors is not None


def _fingerprint(entries: Iterable[KnowledgeEntry]) -> str:
    digest = hashlib.sha256()
    for entry in entries:
        digest.update(f"{entry.id}\0{entry.title}\0{entry.answer}\0".encode())
    return digest.hexdigest()[:12]


def _entry(data: dict[str, Any], answer: str, source: str) -> KnowledgeEntry:
    entry_id = _entry_id(data.get("id"), source)
    where = f"{source}: entry {entry_id!r}"
    questions = data.get("questions") or []
    tags = data.get("tags") or []
    translations = data.get("translations") or {}
    if not isinstance(translations, dict) or not all(
        isinstance(k, str) and isinstance(v, dict) for k, v in translations.items()
    ):
        raise ConfigError(
            f"knowledge base: {where}: translations maps a language code to "
            "{questions: [...], answer: ...}"
        )
    if not isinstance(questions, list) or not isinstance(tags, list):
        raise ConfigError(f"knowledge base: {where}: questions and tags are lists")
    for language, translated in translations.items():
        questions = [*questions, *(translated.get("questions") or [])]
        if not str(translated.get("answer") or "").strip():
            raise ConfigError(f"knowledge base: {where}: translation {language!r} has no answer")
    if not answer.strip():
        raise ConfigError(f"knowledge base: {where}: the answer is empty")
    title = str(data.get("title") or (questions[0] if questions else entry_id))
    return KnowledgeEntry(
        id=entry_id,
        title=title,
        answer=answer.strip(),
        questions=tuple(str(q) for q in questions),
        category=str(data.get("category") or "general"),
        tags=tuple(str(t) for t in tags),
        source=source,
        translations={k: str(v["answer"]).strip() for k, v in translations.items()},
    )


def _entry_id(value: object, source: str) -> str:
    # ``id: 42`` is a number in YAML, and a fine id; ``id: yes`` is a boolean, most likely a slip.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ConfigError(f"knowledge base: {source}: missing 'id'")
    if not isinstance(value, str):
        kind = type(value).__name__
        raise ConfigError(f"knowledge base: {source}: 'id' must be text, not {kind} {value!r}")
    return value.strip()


def _front_matter(text: str) -> tuple[str, str]:
    """(front matter, body) of a Markdown file; the front matter starts on line 2."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return "", text
    for number, line in enumerate(lines[1:], start=1):
        if line.strip() in {"---", "..."}:
            return "".join(lines[1:number]), "".join(lines[number + 1 :])
    return "", text


def _load_markdown(path: Path) -> KnowledgeEntry:
    text = read_text(path, "knowledge base")
    header, body = _front_matter(text)
    data = parse_yaml(header, str(path), "knowledge base", first_line=2) if header else {}
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"knowledge base: {path}, line 2: the front matter must be a mapping")
    data = dict(data)
    data.setdefault("id", path.stem)
    return _entry(data, body, f"{path}, line 2" if header else str(path))


def _load_yaml(path: Path) -> list[KnowledgeEntry]:
    document = read_yaml(path, "knowledge base") or {}
    items = document.get("entries") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise ConfigError(f"knowledge base: {path} must hold a list under 'entries:'")
    entries = []
    for number, item in enumerate(items, start=1):
        line = line_of(item)
        where = f"{path}, line {line}" if line is not None else f"{path} entry {number}"
        if not isinstance(item, dict):
            raise ConfigError(f"knowledge base: {where}: entry {number} is not a mapping")
        entries.append(_entry(item, str(item.get("answer") or ""), where))
    return entries
