"""Discord as a customer channel: messages -> ``InboundMessage``, ``OutboundMessage`` -> posts.

Where a conversation lives (``ConversationRef``):

- a DM: the DM channel (``conversation_id``), no thread;
- a support channel: one conversation per customer in that channel
  (``conversation_id`` = ``<channel id>:<user id>``), answered in the channel with a reply
  reference; with ``THREAD_PER_CONVERSATION`` each top-level message opens its own thread
  instead (``thread_id`` = the message id: Discord gives a thread started from a message the
  message's id), created on the first answer;
- a thread of a support channel, or a forum post: the thread (``conversation_id`` = parent,
  ``thread_id`` = thread). A forum post's starter message has the thread's id.

(The mapping itself is ``inbound.py``.) The gateway never delivers an event again, so every
message goes through ``channels/holding.py``: held in memory while the store cannot queue it,
refused with ``NOT_TAKEN`` (a reply asking to send it again) only past the cap or at shutdown.

Discord quirks (why the code looks like this): the gateway may deliver a MESSAGE_CREATE again
after a RESUME, so the message id is the idempotency key; system messages (pins, joins,
"thread created") share the event, so only default messages and replies are questions; the
bot's typing indicator lasts 10 s, so it is renewed until the answer is sent (for at most 15 s:
a message relayed to a person gets no answer from the bot). The CSAT question carries rating
buttons (``ratings``); their clicks are taken in ``presses``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord

from channels.base import (
    ConversationRef,
    InboundHandler,
    InboundMessage,
    OutboundMessage,
)
from channels.discord.connection import DiscordConnection
from channels.discord.inbound import OPEN_THREAD, THREAD_NAME_CHARS, target_of, to_inbound
from channels.discord.places import CHANNEL_NAME, FORUM, Place, place_of
from channels.discord.presses import RatingPresses
from channels.discord.ratings import rating_view
from channels.discord.text import MAX_CHARS, split_message
from channels.holding import HeldInbound, Outcome, Reason
from channels.text import split_outbound
from config.errors import ChannelError, DeliveryRefused
from config.settings import DiscordSettings

log = logging.getLogger(__name__)

__all__ = ["FORUM", "OPEN_THREAD", "DiscordChannel", "Place", "target_of", "to_inbound"]


_TYPING_RENEW_S = 8.0
_TYPING_MAX_S = 15.0  # a relayed message gets no bot answer: do not type on for long
# Told to a customer whose message could not be taken in (``channels/holding.py``): the store
# stayed down past the cap on held messages, or past shutdown.
NOT_TAKEN = (
    "Sorry, your message did not reach us because of a technical problem on our side. "
    "Please send it again in a few minutes."
)
_KNOWN_THREADS = 10_000


class DiscordChannel:
    """Customers on Discord: DMs, support channels, their threads and forum posts."""

    name = CHANNEL_NAME

    def __init__(self, connection: DiscordConnection, settings: DiscordSettings) -> None:
        self._conn = connection
        self._settings = settings
        self._typing: dict[int, asyncio.Task[None]] = {}
        self._threads: set[int] = set()  # threads this process knows exist
        # The gateway never delivers an event again: what the store cannot take now is held.
        self.held = HeldInbound("discord", self._refuse, limit=settings.max_held_messages)
        self.presses = RatingPresses(connection, settings, self._queue)
        connection.on_stop(self.held.close)  # gateway closed, REST still up

    async def start(self, handler: InboundHandler) -> None:
        self.held.start(handler)
        self._conn.on_customer_message(self._on_message)

    async def stop(self) -> None:
        self._conn.on_customer_message(None)
        await self.held.close()
        for task in list(self._typing.values()):
            task.cancel()

    async def _on_message(self, message: discord.Message) -> None:
        inbound = to_inbound(
            message, place_of(message.channel), self._conn.bot_user_id, self._settings
        )
        if inbound is None:
            return
        outcome = await self.held.put(inbound)
        if outcome is Outcome.DUPLICATE:
            log.info("discord: duplicate delivery of message %s dropped", message.id)
        elif outcome is Outcome.QUEUED:
            self._start_typing(message.channel.id)

    async def _queue(self, inbound: InboundMessage) -> bool:
        """A rating click's hand-off: True once queued or held, False for a repeat."""
        outcome = await self.held.put(inbound)
        if outcome is Outcome.REFUSED:
            raise ChannelError(f"discord: rating {inbound.message_id} not taken now")
        return outcome is not Outcome.DUPLICATE

    async def _refuse(self, inbound: InboundMessage, reason: Reason) -> None:
        """Tell the customer a message was not taken in (over REST: it needs no store)."""
        if inbound.rating is not None:
            return  # a click: its interaction is answered "not now" (``presses``), or lapsed
        ref = inbound.ref
        # A thread opened on the first answer does not exist yet: answer beside the question.
        opening = ref.hints.get(OPEN_THREAD) is not None
        target = int(ref.conversation_id.partition(":")[0]) if opening else target_of(ref)
        reference = discord.MessageReference(
            message_id=int(inbound.message_id), channel_id=target, fail_if_not_exists=False
        )
        mentions = discord.AllowedMentions.none()
        mentions.replied_user = True
        channel = self._conn.client.get_partial_messageable(target)
        send = channel.send(NOT_TAKEN, reference=reference, allowed_mentions=mentions)
        await self._conn.rest(f"refusal ({reason.value}) to {target}", send)

    # -- typing ----------------------------------------------------------------------------

    def _start_typing(self, channel_id: int) -> None:
        if channel_id not in self._typing:
            self._typing[channel_id] = asyncio.create_task(self._keep_typing(channel_id))

    async def _keep_typing(self, channel_id: int) -> None:
        channel = self._conn.client.get_partial_messageable(channel_id)
        try:
            async with asyncio.timeout(_TYPING_MAX_S):
                while True:
                    await channel.typing()
                    await asyncio.sleep(_TYPING_RENEW_S)
        except (TimeoutError, discord.HTTPException, OSError) as err:
            log.debug("discord: typing in %s ended (%s)", channel_id, type(err).__name__)
        finally:
            self._typing.pop(channel_id, None)

    def _stop_typing(self, channel_id: int) -> None:
        task = self._typing.pop(channel_id, None)
        if task is not None:
            task.cancel()

    # -- sending ---------------------------------------------------------------------------

    def split(self, message: OutboundMessage) -> list[OutboundMessage]:
        """The messages ``send`` posts for ``message`` (``SplitsMessages``): the outbox records
        each, so a retry resumes at the part that failed."""
        name = message.sender_name
        prefix = f"**{discord.utils.escape_markdown(name)}**: " if name else ""
        return split_outbound(message, MAX_CHARS, prefix, split_message)

    async def send(self, message: OutboundMessage) -> None:
        ref = message.ref
        if ref.channel != self.name:
            raise DeliveryRefused(f"discord cannot deliver to a {ref.channel} conversation")
        target = target_of(ref)
        opened = ref.hints.get(OPEN_THREAD) is not None and ref.thread_id is not None
        if opened and not await self._open_thread(ref, target):
            target, opened = int(ref.conversation_id), False  # answer beside the question
        text = message.text
        if message.sender_name:
            text = f"**{discord.utils.escape_markdown(message.sender_name)}**: {text}"
        # A reply must reference a message in the same channel: not the one a thread came from.
        reply_to = None if opened or message.in_reply_to is None else int(message.in_reply_to)
        channel = self._conn.client.get_partial_messageable(target)
        self._stop_typing(target)
        self._stop_typing(int(ref.conversation_id.partition(":")[0]))
        parts = split_message(text)
        for number, part in enumerate(parts):
            options: dict[str, Any] = {"allowed_mentions": discord.AllowedMentions.none()}
            if message.rating is not None and number == len(parts) - 1:
                options["view"] = rating_view(message.rating)
            if number == 0 and reply_to is not None:
                options["reference"] = discord.MessageReference(
                    message_id=reply_to, channel_id=target, fail_if_not_exists=False
                )
                options["allowed_mentions"].replied_user = True  # only the customer is pinged
            await self._conn.rest(f"send to {target}", channel.send(part, **options))
        if message.category is not None:
            # A forum post is a queue item: label it with the question's category. A missing
            # Manage Threads permission only costs the label, never the answer.
            try:
                await self.apply_tags(ref, message.category)
            except ChannelError as err:
                log.warning("discord: could not tag %s as %s: %s", ref.thread_id,
                            message.category, err)  # fmt: skip

    async def _open_thread(self, ref: ConversationRef, thread_id: int) -> bool:
        """Start the conversation's thread from the customer's message; False when Discord
        refuses (no Create Public Threads there): the answer then goes to the channel."""
        if thread_id in self._threads:
            return True
        name = (ref.hints.subject or f"Support {thread_id}")[:THREAD_NAME_CHARS]
        http = self._conn.client.http  # a partial message has no guild on the REST client
        try:
            await http.start_thread_with_message(
                int(ref.conversation_id), thread_id, name=name, auto_archive_duration=1440
            )
        except discord.HTTPException as err:
            if err.code != 160004:  # "a thread has already been created for this message"
                error = self._conn.error(f"thread for {thread_id}", err)
                if isinstance(error, DeliveryRefused):
                    return False
                raise error from err
        if len(self._threads) >= _KNOWN_THREADS:
            self._threads.clear()  # a forgotten thread costs one "already created" answer
        self._threads.add(thread_id)
        return True

    async def apply_tags(self, ref: ConversationRef, category: str | None) -> None:
        """Tag a forum post with the forum's tag named like ``category``, if there is one."""
        if category is None or ref.hints.get(FORUM) is None or ref.thread_id is None:
            return
        thread_id = int(ref.thread_id)
        found = await self._forum_tags(thread_id)
        if found is None:
            return
        available, applied = found
        wanted = category.casefold()
        tag = next((t for t, name in available if name.casefold() == wanted), None)
        if tag is None or tag in applied:
            return
        tags = [str(t) for t in [*applied, tag][-5:]]  # a post carries at most 5 tags
        http = self._conn.client.http
        await self._conn.rest(f"tag {thread_id}", http.edit_channel(thread_id, applied_tags=tags))

    async def _forum_tags(self, thread_id: int) -> tuple[list[tuple[int, str]], list[int]] | None:
        """The forum's tags (id, name) and the post's applied tag ids; None if not a forum
        post. From the gateway's cache when this replica reads it, else asked over REST."""
        thread = self._conn.cached_channel(thread_id)
        if isinstance(thread, discord.Thread):
            forum = thread.parent
            if not isinstance(forum, discord.ForumChannel):
                return None
            available = [(t.id, t.name) for t in forum.available_tags]
            return available, [t.id for t in thread.applied_tags]
        http = self._conn.client.http
        post: dict[str, Any] = dict(await self._conn.rest("post", http.get_channel(thread_id)))
        parent = post.get("parent_id")
        if parent is None:
            return None
        data: dict[str, Any] = dict(await self._conn.rest("forum", http.get_channel(int(parent))))
        if data.get("type") != discord.ChannelType.forum.value:
            return None
        available = [(int(t["id"]), str(t["name"])) for t in data.get("available_tags") or []]
        return available, [int(t) for t in post.get("applied_tags") or []]
