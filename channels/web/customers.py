"""The web customer channel: conversations opened over the API or by the widget.

Customer messages go through the normal ``InboundHandler`` (durable queue, one reply per
message: the ``Idempotency-Key`` is the platform message id). Replies come back through
``send``: kept in the web history (``GET .../messages``), pushed to every open widget
WebSocket of the conversation, and handed to a waiting ``?wait=S`` request."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from channels.base import Author, ConversationRef, InboundHandler, InboundMessage, OutboundMessage
from channels.web.store import WebConversation, WebStore
from config.errors import ChannelError, DeliveryRefused

logger = logging.getLogger(__name__)

NAME = "web"
TYPING_TIMEOUT_S = 30.0
Push = Callable[[dict[str, Any]], None]


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
        self._sessions: dict[str, set[Push]] = defaultdict(set)
        self._replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._typing: dict[str, float] = {}
        self._with_person: set[str] = set()  # claimed: the bot is not the one answering

    async def start(self, handler: InboundHandler) -> None:
        self._handler = handler

    async def stop(self) -> None:
        self._handler = None
        for future in self._replies.values():
            future.cancel()

    # -- customers -------------------------------------------------------------------------
    async def post(
        self, conv: WebConversation, text: str, client_id: str, origin: Push | None = None
    ) -> tuple[dict[str, Any], bool]:
        """Queue a customer's message; (the history entry, False) for a repeated client id.

        The widget session it came from (``origin``) gets neither the echo nor the typing
        frame: its ack carries both (half the frames per message under load)."""
        if self._handler is None:
            raise ChannelError("the web channel is not started")
        message_id = platform_id(conv.id, client_id)
        author = Author(id=conv.customer_id, display_name=conv.display_name, email=conv.email)
        inbound = InboundMessage(ref=ref_for(conv.id), message_id=message_id, author=author,
                                 text=text)  # fmt: skip
        queued = await self._handler(inbound)  # durable before we answer 202
        entry, added = self.store.add_message(conv.id, "customer", text, message_id)
        if added:
            self._push(conv.id, {"type": "message", "message": entry}, skip=origin)
        if queued and conv.id not in self._with_person:
            self._typing[conv.id] = time.monotonic()
            self._push(conv.id, {"type": "typing", "on": True}, skip=origin)
        return entry, queued and added

    async def wait_reply(self, conversation: str, message_id: str, wait_s: float
                         ) -> dict[str, Any] | None:  # fmt: skip
        found = self.store.reply_to(conversation, message_id)
        if found is not None or wait_s <= 0:
            return found
        future = self._replies.get(message_id)
        if future is None:
            future = self._replies[message_id] = asyncio.get_running_loop().create_future()
        try:
            return await asyncio.wait_for(asyncio.shield(future), wait_s)
        except TimeoutError:
            if self._replies.get(message_id) is future:
                del self._replies[message_id]  # no reply (yet): nobody is waiting any more
            return self.store.reply_to(conversation, message_id)

    def typing(self, conversation: str) -> bool:
        started = self._typing.get(conversation)
        if started is not None and time.monotonic() - started >= TYPING_TIMEOUT_S:
            del self._typing[conversation]  # no reply came (a person has it, or it failed)
            started = None
        return started is not None

    # -- live sessions (widget WebSockets) --------------------------------------------------
    def attach(self, conversation: str, push: Push) -> None:
        self._sessions[conversation].add(push)

    def detach(self, conversation: str, push: Push) -> None:
        sessions = self._sessions.get(conversation)
        if sessions is not None:
            sessions.discard(push)
            if not sessions:
                del self._sessions[conversation]

    @property
    def session_count(self) -> int:
        return sum(len(s) for s in self._sessions.values())

    def _push(self, conversation: str, frame: dict[str, Any], skip: Push | None = None) -> None:
        for push in tuple(self._sessions.get(conversation, ())):
            if push != skip:
                push(frame)

    # -- replies ---------------------------------------------------------------------------
    async def send(self, message: OutboundMessage) -> None:
        conversation = message.ref.conversation_id
        if self.store.conversation(conversation) is None:
            raise DeliveryRefused(f"web conversation {conversation} does not exist")
        role = "agent" if message.sender_name else "bot"
        client_id = message.message_id or _reply_id(message)
        entry, added = self.store.add_message(conversation, role, message.text, client_id,
                                              message.sender_name, message.in_reply_to)  # fmt: skip
        self._typing.pop(conversation, None)
        if not added:
            return  # a redelivery of a reply already shown
        # A reply ends the typing indicator by itself (one frame less per message).
        self._push(conversation, {"type": "message", "message": entry})
        if message.in_reply_to is not None:
            future = self._replies.pop(message.in_reply_to, None)
            if future is not None and not future.done():
                future.set_result(entry)

    def released(self, conversation: str) -> None:
        """The ticket was resolved: the bot answers (and shows it is typing) again."""
        self._with_person.discard(conversation)

    def handoff(self, conversation: str, agent: str, event_id: str) -> None:
        """Show that a person joined (``ticket.claimed``), in the history and live."""
        if self.store.conversation(conversation) is None:
            return
        self._with_person.add(conversation)
        text = f"{agent} from support joined"
        entry, added = self.store.add_message(conversation, "system", text, f"handoff:{event_id}",
                                              agent, kind="handoff")  # fmt: skip
        if added:
            self._push(conversation, {"type": "message", "message": entry})


def _reply_id(message: OutboundMessage) -> str:
    digest = hashlib.sha256(message.text.encode()).hexdigest()[:16]
    return f"reply:{message.in_reply_to}:{digest}"
