"""The web customer channel: conversations opened over the API or by the widget.

Customer messages go through the normal ``InboundHandler`` (durable queue, one reply per
message: the ``Idempotency-Key`` is the platform message id). Replies come back through
``send`` into the shared history. Every replica follows the history's topic: each new entry
is pushed to the widget WebSockets this replica holds for the conversation, ends the typing
indicator, and answers a waiting ``?wait=S`` request, wherever the entry was written (the
message posted to replica A, the reply written by replica B, the widget connected to C)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import secrets
import time
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from typing import Any

from channels.base import (
    Author,
    ConversationRef,
    InboundHandler,
    InboundMessage,
    LogEntry,
    OutboundMessage,
)
from channels.web.store import HISTORY, STATE, TOPIC, WebConversation, WebStore, origin_of
from config.errors import ChannelError, DeliveryRefused, FrontdeskError

logger = logging.getLogger(__name__)

NAME = "web"
TYPING_TIMEOUT_S = 30.0
TYPING_ON = json.dumps({"type": "typing", "on": True})
_REMEMBERED = 10_000  # conversations whose hand-off state and last answer are kept


class Conflict(ChannelError):
    """The idempotency key names a message with another text."""


def ref_for(conversation_id: str) -> ConversationRef:
    return ConversationRef(channel=NAME, conversation_id=conversation_id)


def platform_id(conversation_id: str, client_id: str) -> str:
    """The inbound message id: idempotency keys are the client's, so scope them."""
    return f"{conversation_id}:{client_id}"


class Session:
    """One widget WebSocket: ``put`` queues a frame (already JSON) for its writer."""

    def __init__(self, conversation: str, put: Callable[[str], None]) -> None:
        self.id = secrets.token_hex(8)
        self.conversation = conversation
        self.put = put
        self.shown = 0  # the last history id sent: nothing is sent twice

    def show(self, seq: int, frame: str) -> bool:
        """Send a history frame in order; False when an earlier entry has not come yet."""
        if seq > self.shown + 1:
            return False
        if seq == self.shown + 1:
            self.shown = seq
            self.put(frame)
        return True


class WebChannel:
    name = NAME

    def __init__(self, store: WebStore) -> None:
        self.store = store
        self._handler: InboundHandler | None = None
        self._sessions: dict[str, set[Session]] = defaultdict(set)
        self._replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._typing: dict[str, tuple[str, float]] = {}  # conversation -> (message, since)
        self._answered: OrderedDict[str, None] = OrderedDict()  # customer messages replied to
        self._with_person: OrderedDict[str, None] = OrderedDict()  # the bot is not answering
        self._follower: asyncio.Task[None] | None = None
        self._repairs: dict[str, asyncio.Task[None]] = {}

    async def start(self, handler: InboundHandler) -> None:
        self._handler = handler

    async def stop(self) -> None:
        self._handler = None
        for future in self._replies.values():
            future.cancel()

    async def follow(self) -> None:
        """Start following the shared history (the web server does, when it starts)."""
        if self._follower is None:
            self._follower = asyncio.create_task(self._follow(), name="web-history")
            await asyncio.sleep(0)  # subscribed before the first request is served

    async def unfollow(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follower
            self._follower = None

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
        entry, added = await self.store.add_message(
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
        self._sessions[session.conversation].add(session)

    def detach(self, session: Session) -> None:
        sessions = self._sessions.get(session.conversation)
        if sessions is not None:
            sessions.discard(session)
            if not sessions:
                del self._sessions[session.conversation]

    @property
    def session_count(self) -> int:
        return sum(len(s) for s in self._sessions.values())

    # -- replies ---------------------------------------------------------------------------
    async def send(self, message: OutboundMessage) -> None:
        conversation = message.ref.conversation_id
        if await self.store.conversation(conversation) is None:
            raise DeliveryRefused(f"web conversation {conversation} does not exist")
        role = "agent" if message.sender_name else "bot"
        client_id = message.message_id or _reply_id(message)
        # Shown by the follower (here and on every other replica).
        await self.store.add_message(conversation, role, message.text, client_id,
                                     message.sender_name, message.in_reply_to)  # fmt: skip

    async def released(self, conversation: str, event_id: str) -> None:
        """The ticket was resolved: the bot answers (and shows it is typing) again."""
        await self.store.release(conversation, event_id)

    async def handoff(self, conversation: str, agent: str, event_id: str) -> None:
        """Show that a person joined (``ticket.claimed``), in the history and live."""
        if await self.store.conversation(conversation) is None:
            return
        text = f"{agent} from support joined"
        await self.store.add_message(conversation, "system", text, f"handoff:{event_id}",
                                     agent, kind="handoff")  # fmt: skip

    # -- the shared history, as it grows ----------------------------------------------------
    async def _follow(self) -> None:
        while True:
            try:
                async for entry in self.store.storage.log_follow(TOPIC):
                    if not entry.log:
                        await self._catch_up()
                    elif entry.log.startswith(HISTORY):
                        self._heard(entry.log.removeprefix(HISTORY), entry)
                    elif entry.log.startswith(STATE) and entry.value == "released":
                        self._with_person.pop(entry.log.removeprefix(STATE), None)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("following the web history failed; again in 1 s")
                await asyncio.sleep(1.0)
                await self._catch_up()

    def _heard(self, conversation: str, entry: LogEntry) -> None:
        message, origin = origin_of(entry)
        self._note(conversation, message)
        sessions = self._sessions.get(conversation)
        if sessions:
            self._display(conversation, sessions, entry.seq, message, origin)

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

    def _display(self, conversation: str, sessions: set[Session], seq: int,
                 message: dict[str, Any], origin: str | None) -> None:  # fmt: skip
        # One encoding per entry, whatever the number of sessions that get it.
        frame = json.dumps({"type": "message", "message": message}, ensure_ascii=False)
        typing = message["role"] == "customer" and conversation in self._typing
        for session in tuple(sessions):
            if session.id == origin:
                session.shown = max(session.shown, seq)  # its ack carried the entry
            elif not session.show(seq, frame):
                self._repair(conversation)  # another replica's entry is still on its way
            elif typing:
                session.put(TYPING_ON)

    def _repair(self, conversation: str) -> None:
        if conversation not in self._repairs:
            task = asyncio.create_task(self._resend(conversation))
            self._repairs[conversation] = task
            task.add_done_callback(lambda _: self._repairs.pop(conversation, None))

    async def _resend(self, conversation: str) -> None:
        """Send open sessions of one conversation what they have not seen, in order."""
        sessions = self._sessions.get(conversation)
        if not sessions:
            return
        after = min(s.shown for s in sessions)
        try:
            entries = await self.store.storage.log_read(HISTORY + conversation, after, 1000)
        except FrontdeskError:
            logger.exception("could not catch up conversation %s", conversation)
            return
        for entry in entries:
            message, origin = origin_of(entry)
            frame = json.dumps({"type": "message", "message": message}, ensure_ascii=False)
            for session in tuple(self._sessions.get(conversation, ())):
                if session.id == origin:
                    session.shown = max(session.shown, entry.seq)
                else:
                    session.show(entry.seq, frame)

    async def _catch_up(self) -> None:
        """After a gap in the feed: send every open session what it has not seen."""
        await asyncio.gather(*(self._resend(c) for c in tuple(self._sessions)))


def _remember(seen: OrderedDict[str, None], key: str) -> None:
    seen[key] = None
    seen.move_to_end(key)
    if len(seen) > _REMEMBERED:
        seen.popitem(last=False)


def _reply_id(message: OutboundMessage) -> str:
    digest = hashlib.sha256(message.text.encode()).hexdigest()[:16]
    return f"reply:{message.in_reply_to}:{digest}"
