"""The web customer channel: conversations opened over the API or by the widget.

Customer messages go through the normal ``InboundHandler`` (durable queue, one reply per
message: the ``Idempotency-Key`` is the platform message id). Replies come back through
``send`` into the shared history. Every replica follows the history's topic: each new entry
is pushed to the widget WebSockets this replica holds for the conversation, ends the typing
indicator, and answers a waiting ``?wait=S`` request, wherever the entry was written (the
message posted to replica A, the reply written by replica B, the widget connected to C)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from typing import Any

from channels.base import (
    Author,
    ConversationRef,
    InboundHandler,
    InboundMessage,
    LogEntry,
    OutboundMessage,
)
from channels.web.live import Feed, Session, Sessions
from channels.web.store import HISTORY, STATE, WebConversation, WebStore, origin_of
from config.errors import ChannelError, DeliveryRefused

__all__ = ["Conflict", "Session", "WebChannel", "platform_id", "ref_for"]

logger = logging.getLogger(__name__)

NAME = "web"
TYPING_TIMEOUT_S = 30.0
_REMEMBERED = 10_000  # conversations whose hand-off state and last answer are kept


class Conflict(ChannelError):
    """The idempotency key names a message with another text."""


def ref_for(conversation_id: str) -> ConversationRef:
    return ConversationRef(channel=NAME, conversation_id=conversation_id)


def platform_id(conversation_id: str, client_id: str) -> str:
    """The inbound message id: idempotency keys are the client's, so scope them."""
    return f"{conversation_id}:{client_id}"


class WebChannel:
    name = NAME

    def __init__(self, store: WebStore) -> None:
        self.store = store
        self._handler: InboundHandler | None = None
        self.sessions = Sessions(store)
        self._feed = Feed(store, self._heard, self.sessions.catch_up)
        self._replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._typing: dict[str, tuple[str, float]] = {}  # conversation -> (message, since)
        self._answered: OrderedDict[str, None] = OrderedDict()  # customer messages replied to
        self._with_person: OrderedDict[str, None] = OrderedDict()  # the bot is not answering

    async def start(self, handler: InboundHandler) -> None:
        self._handler = handler

    async def stop(self) -> None:
        self._handler = None
        for future in self._replies.values():
            future.cancel()

    async def follow(self) -> None:
        """Follow the shared history (the web server does, before it listens): returns once
        the feed is live, so no entry falls between a session's first read and the feed."""
        await self._feed.start()

    async def unfollow(self) -> None:
        await self._feed.stop()

    # -- customers -------------------------------------------------------------------------
    async def post(
        self, conv: WebConversation, text: str, client_id: str, origin: Session | None = None
    ) -> tuple[dict[str, Any], bool]:
        """Queue a customer's message; (the history entry, False) for a repeated client id.
        ``Conflict`` when the client id was used for another text.

        The history entry is written first (so a reused key is refused before anything is
        queued); the inbound queue drops a second copy, so a retry after a crash between the
        two still queues it once. The widget session it came from (``origin``) gets neither
        the echo nor the typing frame: its ack carries both."""
        if self._handler is None:
            raise ChannelError("the web channel is not started")
        message_id = platform_id(conv.id, client_id)
        entry, added = await self._add(
            conv.id, "customer", text, message_id, origin=origin.id if origin else None
        )
        if not added and entry["text"] != text:
            raise Conflict(f"the key {client_id!r} was used for another message")
        author = Author(id=conv.customer_id, display_name=conv.display_name, email=conv.email)
        inbound = InboundMessage(ref=ref_for(conv.id), message_id=message_id, author=author,
                                 text=text)  # fmt: skip
        queued = await self._handler(inbound)  # durable before we answer 202
        if queued and added:
            self._start_typing(conv.id, message_id)
        if origin is not None:
            origin.shown = max(origin.shown, entry["id"])
        return entry, queued and added

    async def wait_reply(self, conversation: str, message: dict[str, Any], wait_s: float
                         ) -> dict[str, Any] | None:  # fmt: skip
        message_id = message["message_id"]
        future = self._replies.get(message_id)
        if future is None and wait_s > 0:
            future = self._replies[message_id] = asyncio.get_running_loop().create_future()
        found = await self.store.reply_to(conversation, message)
        if found is not None or future is None:
            self._replies.pop(message_id, None)
            return found
        try:
            return await asyncio.wait_for(asyncio.shield(future), wait_s)
        except TimeoutError:
            if self._replies.get(message_id) is future:
                del self._replies[message_id]  # no reply (yet): nobody is waiting any more
            return await self.store.reply_to(conversation, message)

    def typing(self, conversation: str) -> bool:
        started = self._typing.get(conversation)
        if started is not None and time.monotonic() - started[1] >= TYPING_TIMEOUT_S:
            del self._typing[conversation]  # no reply came (a person has it, or it failed)
            started = None
        return started is not None

    def _start_typing(self, conversation: str, message_id: str) -> None:
        if conversation not in self._with_person and message_id not in self._answered:
            self._typing[conversation] = (message_id, time.monotonic())

    # -- live sessions (widget WebSockets) --------------------------------------------------
    def attach(self, session: Session) -> None:
        self.sessions.attach(session)

    def detach(self, session: Session) -> None:
        self.sessions.detach(session)

    @property
    def session_count(self) -> int:
        return self.sessions.count

    # -- replies ---------------------------------------------------------------------------
    async def send(self, message: OutboundMessage) -> None:
        conversation = message.ref.conversation_id
        if await self.store.conversation(conversation) is None:
            raise DeliveryRefused(f"web conversation {conversation} does not exist")
        role = "agent" if message.sender_name else "bot"
        client_id = message.message_id or _reply_id(message)
        # Shown here at once, and by the feed on every other replica.
        await self._add(conversation, role, message.text, client_id, message.sender_name,
                        message.in_reply_to)  # fmt: skip

    async def released(self, conversation: str, event_id: str) -> None:
        """The ticket was resolved: the bot answers (and shows it is typing) again."""
        await self.store.release(conversation, event_id)

    async def handoff(self, conversation: str, agent: str, event_id: str) -> None:
        """Show that a person joined (``ticket.claimed``), in the history and live."""
        if await self.store.conversation(conversation) is None:
            return
        text = f"{agent} from support joined"
        await self._add(conversation, "system", text, f"handoff:{event_id}", agent,
                        kind="handoff")  # fmt: skip

    # -- the shared history, as it grows ----------------------------------------------------
    async def _add(
        self, conversation: str, role: str, text: str, client_id: str,
        sender_name: str | None = None, in_reply_to: str | None = None, kind: str = "message",
        origin: str | None = None,
    ) -> tuple[dict[str, Any], bool]:  # fmt: skip
        """Append to the history and show the new entry here at once (the feed skips its
        echo); other replicas show it from their feed."""
        message, added = await self.store.add_message(
            conversation, role, text, client_id, sender_name, in_reply_to, kind, origin
        )
        if added:
            self._feed.mark(HISTORY + conversation, message["id"])
            self._show(conversation, message["id"], message, origin)
        return message, added

    def _heard(self, entry: LogEntry) -> None:
        """An entry from the feed (written on another replica, or before a gap)."""
        if entry.log.startswith(HISTORY):
            message, origin = origin_of(entry)
            self._show(entry.log.removeprefix(HISTORY), entry.seq, message, origin)
        elif entry.log.startswith(STATE) and entry.value == "released":
            self._with_person.pop(entry.log.removeprefix(STATE), None)

    def _show(self, conversation: str, seq: int, message: dict[str, Any], origin: str | None
              ) -> None:  # fmt: skip
        self._note(conversation, message)
        typing = message["role"] == "customer" and conversation in self._typing
        self.sessions.show(conversation, seq, message, origin, typing)

    def _note(self, conversation: str, message: dict[str, Any]) -> None:
        """What a new entry tells: typing, hand-off, the answer a ``?wait`` waits for."""
        role = message["role"]
        if role == "customer":
            self._start_typing(conversation, message["message_id"])
        else:
            self._typing.pop(conversation, None)
            if message["kind"] == "handoff":
                _remember(self._with_person, conversation)
            replied = message["in_reply_to"]
            if replied is not None:
                _remember(self._answered, replied)
                future = self._replies.pop(replied, None)
                if future is not None and not future.done():
                    future.set_result(message)


def _remember(seen: OrderedDict[str, None], key: str) -> None:
    seen[key] = None
    seen.move_to_end(key)
    if len(seen) > _REMEMBERED:
        seen.popitem(last=False)


def _reply_id(message: OutboundMessage) -> str:
    digest = hashlib.sha256(message.text.encode()).hexdigest()[:16]
    return f"reply:{message.in_reply_to}:{digest}"
