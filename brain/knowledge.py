"""The knowledge base: loading entries from a folder and retrieving the best ones for a question.

Entries are Markdown files with YAML front matter (``id``, ``title``, ``category``, ``tags``,
``questions``) or YAML files holding ``entries:``. Retrieval is BM25 (bm25s) over stemmed
words, with misspelt query words corrected against the corpus vocabulary (rapidfuzz); the top
candidates are re-scored by fuzzy similarity to their question variants. ``Hit.score`` is a
confidence in [0, 1] that the entry answers the question.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import Stemmer
from rapidfuzz import fuzz, process

from brain.embeddings import CachedEmbedder
from brain.entries import Hit, KnowledgeEntry
from brain.semantic import SemanticIndex, fuse, top
from config.errors import ConfigError
from config.yamlfile import line_of, parse_yaml, read_text, read_yaml

logger = logging.getLogger(__name__)

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STOPWORDS = frozenset(
    [
        "a",
        "about",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "for",
        "from",
        "get",
        "got",
        "had",
        "has",
        "have",
        "hi",
        "hello",
        "hey",
        "how",
        "i",
        "i'm",
        "if",
        "im",
        "in",
        "into",
        "is",
        "it",
        "its",
        "just",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "please",
        "should",
        "so",
        "than",
        "thanks",
        "thank",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "this",
        "to",
        "too",
        "up",
        "us",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
    ]
)
_RERANK = 20
# Work per question is bounded whatever the customer pastes: a 4,000-character message of
# gibberish must cost about what a normal question costs (issue 9). Only the first distinct
# query words count, only so many unknown words are spell-corrected, and corrections are cached.
MAX_QUERY_TERMS = 48
MAX_CORRECTIONS = 8
MAX_SIMILARITY_CHARS = 400  # fuzzy similarity to known phrasings is quadratic in length
_CORRECTION_CACHE = 4096


class KnowledgeBase:
    """An immutable, searchable set of entries. Reload = build a new one and swap it in."""

    def __init__(
        self, entries: Sequence[KnowledgeEntry], embedder: CachedEmbedder | None = None
    ) -> None:
        self.entries = tuple(entries)
        self.embedder = embedder
        self.version = _fingerprint(self.entries)
        self._rows = {entry.id: i for i, entry in enumerate(self.entries)}
        self._stemmer = Stemmer.Stemmer("english")
        self._vocabulary: set[str] = set()
        # Each known phrasing with its words sorted: ``fuzz.token_sort_ratio`` against the
        # question is ``fuzz.ratio`` of the sorted forms, and ``process.extractOne`` scores an
        # entry's phrasings in one call (6x less CPU than a Python loop over them).
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
        self._correct = functools.lru_cache(maxsize=_CORRECTION_CACHE)(self._closest_word)
        self._bm25 = bm25s.BM25()
        if self.entries:
            self._bm25.index(corpus, show_progress=False)
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
        """The ``k`` best entries for ``question``, best first, with confidence scores: lexical,
        or hybrid (lexical and semantic fused) when an embedder is configured and works."""
        lexical = self._lexical(question, max(k, _RERANK))
        if self._vectors is None:
            return lexical[:k]
        similarity = self._vectors.similarity(question)
        if similarity is None:
            return lexical[:k]
        return fuse(self._rows, lexical, similarity, k, self.entries)

    @property
    def semantic(self) -> bool:
        return self._vectors is not None

    def _lexical(self, question: str, k: int) -> list[Hit]:
        tokens = self._tokens(question, learn=False)
        if not tokens or not self.entries:
            return []
        raw = np.asarray(self._bm25.get_scores(tokens), dtype=float)
        candidates = top(raw, max(k, _RERANK))
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
        """Share of the question's information (IDF-weighted words) the entry contains.

        Numbers (order numbers, amounts, dates) carry no topic: "where is my order 5512" is
        as well explained by the tracking entry as "where is my order"."""
        words = [t for t in tokens if not any(c.isdigit() for c in t)] or list(tokens)
        weights = [self._idf.get(t, self._unknown_idf) for t in words]
        found = sum(w for t, w in zip(words, weights, strict=True) if t in terms)
        return found / sum(weights)

    def _tokens(self, text: str, *, learn: bool) -> list[str]:
        words = [w for w in _WORD.findall(_fold(text)) if w not in _STOPWORDS and len(w) > 1]
        if learn:
            self._vocabulary.update(words)
        else:
            words = self._bounded(words)
        return list(self._stemmer.stemWords(words))

    def _bounded(self, words: Sequence[str]) -> list[str]:
        """The query's first ``MAX_QUERY_TERMS`` distinct words, at most ``MAX_CORRECTIONS`` of
        them spell-corrected (known words and short words cost nothing)."""
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
        # Short words have too many one-letter neighbours ("cars" -> "cards") to guess safely.
        return word not in self._vocabulary and len(word) >= 6 and not word.isdigit()

    def _closest_word(self, word: str) -> str:
        """Map a misspelt word ("retrun") to the closest corpus word ("return")."""
        match = process.extractOne(word, self._vocab_list, scorer=fuzz.ratio, score_cutoff=80)
        return str(match[0]) if match else word


def _confidence(relative: float, coverage: float, similarity: float, best_raw: float) -> float:
    """Blend how much of the question the entry explains, closeness to a known phrasing and
    the absolute lexical strength of the best match (weak everywhere = off-topic)."""
    strength = best_raw / (best_raw + 3.0)
    return round(relative * (0.4 * coverage + 0.3 * similarity + 0.3 * strength), 4)


def _document(entry: KnowledgeEntry) -> str:
    # Question phrasings carry the customer's vocabulary, so they count twice.
    phrasing = " ".join((entry.title, *entry.questions, *entry.tags))
    return f"{phrasing} {phrasing} {entry.answer}"


def _normalize(text: str) -> str:
    return " ".join(_WORD.findall(_fold(text)))


def _sorted_words(text: str) -> str:
    return " ".join(sorted(text.split()))


def _fold(text: str) -> str:
    """Lower case without accents: customers often type "donde esta" for "dónde está"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


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
