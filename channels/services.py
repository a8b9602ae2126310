"""Events the bot raises for systems around support (``BotEvent``, heard by an ``EventSink``),
and the services the web channel's API asks the bot for (``WebServices``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from channels.messages import Author, ConversationRef


@dataclass(frozen=True, slots=True)
class BotEvent:
    """Something that happened in a conversation, for systems around support (webhooks).

    ``kind`` is one of ``config.settings.WEB_EVENTS``; ``event_id`` is stable across a
    redelivery of the same happening (receivers de-duplicate on it); ``data`` is plain JSON."""

    kind: str
    event_id: str
    ref: ConversationRef
    data: Mapping[str, Any]
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@runtime_checkable
class EventSink(Protocol):
    """An adapter capability: hears every ``BotEvent`` (the web adapter queues webhooks).
    ``emit`` must be quick and must not raise for a receiver that is down."""

    async def emit(self, event: BotEvent) -> None: ...


@dataclass(frozen=True, slots=True)
class FaqHit:
    entry_id: str
    title: str
    answer: str
    score: float


@dataclass(frozen=True, slots=True)
class TicketInfo:
    """A ticket as the API shows it."""

    ticket_id: str
    status: str
    ref: ConversationRef
    customer: Author
    reasons: tuple[str, ...]
    summary: str
    agent: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    role: str  # customer | bot | agent | note | system
    text: str
    at: datetime


class WebServices(Protocol):
    """What the bot offers the web channel's API (built in ``bot/web_services.py``)."""

    async def search_faq(self, query: str, limit: int) -> list[FaqHit]: ...

    async def list_tickets(self, statuses: Sequence[str]) -> list[TicketInfo]:
        """Tickets in ``statuses`` (empty: every open one), oldest first."""

    async def transcript(self, ref: ConversationRef) -> list[TranscriptLine]:
        """The conversation as the bot keeps it (internal notes included: admins only)."""

    async def stats(self, days: int) -> list[tuple[str, dict[str, float]]]:
        """(ISO date, counters) for the last ``days`` days, oldest first."""

    async def escalate(self, ref: ConversationRef, customer: Author, reason: str) -> TicketInfo:
        """Open (or return the open) ticket for the conversation and page every desk."""


@runtime_checkable
class ServiceBound(Protocol):
    """An adapter capability: ``bind`` receives the bot's services before anything starts."""

    def bind(self, services: WebServices) -> None: ...
