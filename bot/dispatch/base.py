"""What the dispatcher is given: its ``DispatchConfig`` and the brain it asks (``Responder``,
or a ``Drafter`` that leaves two store steps to the dispatcher)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from brain.decision import Decision
from brain.store.base import TurnContext, TurnStart
from channels.base import InboundMessage
from config.settings import FALLBACK_TEXT


class Responder(Protocol):
    async def handle(self, message: InboundMessage) -> Decision: ...


@runtime_checkable
class Drafter(Protocol):
    """A responder (``Brain``) whose first store step the dispatcher does with the
    conversation's lock (``turn_start``), and that leaves its own reply's turns to the
    dispatcher, which writes them with the outbox record: two store steps fewer."""

    def turn_start(self, message: InboundMessage, entry_id: str) -> TurnStart: ...

    async def decide(
        self, message: InboundMessage, context: TurnContext | None = None
    ) -> Decision: ...


@dataclass(frozen=True, slots=True)
class DispatchConfig:
    consumer: str
    max_concurrency: int = 1000
    max_in_flight: int = 2000
    handler_timeout_s: float = 60.0
    reclaim_idle_s: float = 60.0
    max_message_chars: int = 4000
    max_deliveries: int = 5
    send_attempts: int = 3
    max_send_failures: int = 5
    retry_backoff_s: float = 1.0
    max_retry_backoff_s: float = 30.0
    customer_rate_per_s: float | None = None  # None: no per-customer limit
    customer_burst: int = 10
    rate_channels: frozenset[str] | None = None  # None: every channel
    coalesce_s: Mapping[str, float] = field(default_factory=dict)  # channel -> window
    fallback_text: str = FALLBACK_TEXT
