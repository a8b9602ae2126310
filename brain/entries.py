"""What the knowledge base holds (``KnowledgeEntry``) and what a search returns (``Hit``):
values shared by the lexical side (``brain.knowledge``) and the semantic side
(``brain.semantic``) of retrieval."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class KnowledgeEntry:
    id: str
    title: str
    answer: str
    questions: tuple[str, ...] = ()
    category: str = "general"
    tags: tuple[str, ...] = ()
    source: str = ""
    translations: Mapping[str, str] = field(default_factory=dict)
    """Answer text by language code, for customers who write in another language."""


@dataclass(frozen=True, slots=True)
class Hit:
    entry: KnowledgeEntry
    score: float
