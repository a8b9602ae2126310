"""The provider protocol: an answer request in, an answer out.

Every way of producing an answer (the offline knowledge-base answerer today; OpenAI, Anthropic
and local OpenAI-compatible servers through the router later) implements ``Provider``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from brain.store.base import Turn


@dataclass(frozen=True, slots=True)
class Passage:
    """A knowledge-base entry retrieved for the question, with its retrieval confidence."""

    id: str
    title: str
    text: str
    score: float
    translations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AnswerRequest:
    question: str
    language: str
    passages: tuple[Passage, ...]
    history: tuple[Turn, ...] = ()  # the turns before the question (since the bot took over)
    intent: str | None = None
    max_chars: int = 3000
    # Routing hints, set by the handler from the classification:
    tier: str = "fast"  # "fast" or "strong"
    urgent: bool = False  # race providers (hedging)
    conversation_key: str | None = None  # for cost accounting
    kb_version: str = ""  # part of the response-cache key
    timeout_s: float = 20.0  # set per attempt by the router


@dataclass(frozen=True, slots=True)
class Answer:
    text: str
    confidence: float
    sources: tuple[str, ...] = ()
    needs_human: bool = False
    provider: str = ""
    model: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    cacheable: bool = True  # False when it was written with a customer's personal data


class Provider(Protocol):
    name: str

    async def answer(self, request: AnswerRequest) -> Answer:
        """Answer ``request`` or raise ``ProviderError``."""

    async def close(self) -> None:
        """Release connections (idempotent)."""
