"""The provider protocol: an answer request in, an answer out.

Every way of producing an answer implements ``Provider``: the offline knowledge-base answerer
(``offline.py``), one ``LLMAnswerer`` per configured model (``answerer.py``, over the OpenAI,
Anthropic or local OpenAI-compatible clients), and the ``Router`` itself (``brain/router.py``),
a composite that chains the others and falls back to the offline answerer.

A request carries a ``Ledger`` when it goes through the router: each LLM answerer records in it
every completion it paid for, so the router counts the cost of repairs, rejected answers and
cancelled hedges too, not only of the answer that was used.
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
class Spend:
    """One completion's bill (what a metrics hook needs: who, which model, how long, how much)."""

    provider: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    model: str = ""
    latency_ms: float = 0.0


class Ledger:
    """Every completion one routed request paid for, whichever answerer asked for it and whether
    or not its answer was used. Written by answerers as each completion arrives (so a cancelled
    attempt has already recorded what it spent), read by the router when the request is done."""

    def __init__(self) -> None:
        self._entries: list[Spend] = []

    def record(self, spend: Spend) -> None:
        self._entries.append(spend)

    @property
    def entries(self) -> tuple[Spend, ...]:
        return tuple(self._entries)


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
    ledger: Ledger | None = field(default=None, compare=False, repr=False)  # set by the router


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer; tokens, cost and latency are those of the answerer that wrote it (all its
    completions, a repair included), not of the whole routed request (see ``Ledger``)."""

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
    # An LLM's reading of the customer's message (brain/prompts.py), used by the escalation
    # policy; answerers that cannot tell leave them False.
    frustrated: bool = False
    urgent: bool = False
    wants_human: bool = False


class Provider(Protocol):
    name: str

    async def answer(self, request: AnswerRequest) -> Answer:
        """Answer ``request`` or raise ``ProviderError`` (``brain/providers/llm.py`` says which
        subclass means what). Never retries by itself: the router owns retries and fallback."""

    async def close(self) -> None:
        """Release connections (idempotent)."""
