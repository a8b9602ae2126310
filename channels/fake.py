"""In-memory channel and desk for tests and benchmarks: inject what customers and agents do,
read what Frontdesk sent them."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

from channels.base import (
    Author,
    ConversationRef,
    DeskEvent,
    DeskFeedback,
    DeskHandler,
    EscalationCard,
    HomeView,
    InboundHandler,
    InboundMessage,
    OutboundMessage,
)
from config.errors import ChannelError


class FakeChannel:
    def __init__(self, name: str = "fake") -> None:
        self.name = name
        self.sent: list[OutboundMessage] = []
        self.fail_next_sends = 0
        self._handler: InboundHandler | None = None
        self._changed = asyncio.Condition()
        self._ids = itertools.count(1)

    async def start(self, handler: InboundHandler) -> None:
        self._handler = handler

    async def stop(self) -> None:
        self._handler = None

    async def send(self, message: OutboundMessage) -> None:
        if self.fail_next_sends > 0:
            self.fail_next_sends -= 1
            raise ChannelError(f"{self.name}: injected send failure")
        async with self._changed:
            self.sent.append(message)
            self._changed.notify_all()

    def message(
        self, text: str, conversation: str = "c1", message_id: str | None = None,
        author: str = "customer-1",
    ) -> InboundMessage:  # fmt: skip
        return InboundMessage(
            ref=ConversationRef(channel=self.name, conversation_id=conversation),
            message_id=message_id or f"m{next(self._ids)}",
            author=Author(id=author, display_name=author),
            text=text,
        )

    async def inject(self, message: InboundMessage) -> bool:
        """Deliver ``message`` as the platform would; True if it was queued, False if a dup."""
        if self._handler is None:
            raise ChannelError(f"{self.name}: not started")
        return await self._handler(message)

    async def wait_for(
        self, predicate: Callable[[list[OutboundMessage]], bool], within: float = 10.0
    ) -> list[OutboundMessage]:
        async def waiting() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: predicate(self.sent))

        await asyncio.wait_for(waiting(), within)
        return list(self.sent)

    def sent_to(self, conversation: str) -> list[str]:
        return [m.text for m in self.sent if m.ref.conversation_id == conversation]


class FakeDesk:
    """An in-memory desk: records what agents would see; ``act`` plays an agent's action."""

    def __init__(self, name: str = "fakedesk") -> None:
        self.name = name
        self.pages: list[tuple[EscalationCard, str | None]] = []
        self.updates: list[tuple[str, EscalationCard]] = []
        self.relays: list[tuple[str, str]] = []
        self.alerts: list[str] = []
        self.homes: list[tuple[str, HomeView]] = []
        self.fail_pages = 0
        self._handler: DeskHandler | None = None

    async def start(self, handler: DeskHandler) -> None:
        self._handler = handler

    async def stop(self) -> None:
        self._handler = None

    async def page(self, card: EscalationCard, thread_of: str | None = None) -> str:
        if self.fail_pages > 0:
            self.fail_pages -= 1
            raise ChannelError(f"{self.name}: injected page failure")
        self.pages.append((card, thread_of))
        return thread_of or f"card-{len(self.pages)}"

    async def update(self, desk_ref: str, card: EscalationCard) -> None:
        self.updates.append((desk_ref, card))

    async def relay(self, desk_ref: str, author: Author, text: str) -> None:
        self.relays.append((desk_ref, text))

    async def alert(self, text: str) -> None:
        self.alerts.append(text)

    async def show_home(self, agent_id: str, view: HomeView) -> None:
        self.homes.append((agent_id, view))

    async def act(self, event: DeskEvent) -> DeskFeedback:
        if self._handler is None:
            raise ChannelError(f"{self.name}: not started")
        return await self._handler(event)
