"""In-memory channel and desk for tests and benchmarks: inject what customers and agents do,
read what Frontdesk sent them."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Mapping
from dataclasses import replace

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
    Role,
)
from channels.text import split_outbound, split_text
from config.errors import ChannelError, DeliveryRefused


class FakeChannel:
    """An in-memory customer channel. With ``max_chars`` it splits long text like a platform
    with a message size limit (each part is one entry of ``sent``)."""

    def __init__(self, name: str = "fake", max_chars: int | None = None) -> None:
        self.name = name
        self.max_chars = max_chars
        self.sent: list[OutboundMessage] = []
        self.fail_next_sends = 0
        self._handler: InboundHandler | None = None
        self._changed = asyncio.Condition()
        self._ids = itertools.count(1)

    async def start(self, handler: InboundHandler) -> None:
        self._handler = handler

    async def stop(self) -> None:
        self._handler = None

    def split(self, message: OutboundMessage) -> list[OutboundMessage]:
        if self.max_chars is None:
            return [message]
        return split_outbound(message, self.max_chars)

    async def send(self, message: OutboundMessage) -> None:
        if self.fail_next_sends > 0:
            self.fail_next_sends -= 1
            raise ChannelError(f"{self.name}: injected send failure")
        if message.ref.channel != self.name:
            raise DeliveryRefused(f"{self.name} cannot deliver to a {message.ref.channel} chat")
        sent = [message]  # one part: the message itself (the bench sends thousands; no copy)
        if self.max_chars is not None:
            parts = split_text(message.text, self.max_chars)
            sent = [replace(message, text=part) for part in parts]
        async with self._changed:
            self.sent += sent
            self._changed.notify_all()

    def message(
        self,
        text: str,
        conversation: str = "c1",
        message_id: str | None = None,
        author: str = "customer-1",
    ) -> InboundMessage:
        # Positional (ref, message_id, author, text): the bench builds thousands, and keywords
        # cost a dict per call.
        return InboundMessage(
            ConversationRef(self.name, conversation),
            message_id or f"m{next(self._ids)}",
            Author(author, author),
            text,
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
    """An in-memory desk: records what agents would see; ``act`` plays an agent's action.

    Like a real desk it decides the actor's role: ``roles`` by user id, ``default_role`` for
    everyone else (an agent, unless a test says otherwise)."""

    def __init__(
        self,
        name: str = "fakedesk",
        roles: Mapping[str, Role] | None = None,
        default_role: Role = Role.AGENT,
    ) -> None:
        self.name = name
        self.roles = dict(roles or {})
        self.default_role = default_role
        self.cards: dict[str, str] = {}  # ticket id -> the ref of the card it posted
        self.pages: list[tuple[EscalationCard, str | None]] = []
        self.updates: list[tuple[str, EscalationCard]] = []
        self.relays: list[tuple[str, str]] = []
        self.alerts: list[str] = []
        self.homes: list[tuple[str, HomeView | None]] = []
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
        ref = thread_of or f"card-{len(self.pages)}"
        self.cards.setdefault(card.ticket_id, ref)
        return ref

    async def update(self, desk_ref: str, card: EscalationCard) -> None:
        self.updates.append((desk_ref, card))

    async def relay(self, desk_ref: str, author: Author, text: str) -> None:
        self.relays.append((desk_ref, text))

    async def alert(self, text: str) -> None:
        self.alerts.append(text)

    async def show_home(self, user_id: str, view: HomeView | None) -> None:
        self.homes.append((user_id, view))

    async def act(self, event: DeskEvent) -> DeskFeedback:
        if self._handler is None:
            raise ChannelError(f"{self.name}: not started")
        role = self.roles.get(event.agent.id, self.default_role)
        event = replace(event, desk=self.name, role=role)
        if event.ticket_id is not None and event.desk_ref is None:
            # A button sits on its card: the click carries that card's ref.
            event = replace(event, desk_ref=self.cards.get(event.ticket_id))
        return await self._handler(event)
