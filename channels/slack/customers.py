"""Slack as a customer channel: events -> ``InboundMessage``, ``OutboundMessage`` -> thread posts.

Slack quirks (why the code looks like this):

- A message that mentions the bot in a channel the bot is in arrives twice, as ``message`` and
  as ``app_mention``, with different ``event_id``s but the same ``channel`` + ``ts``. The message
  id is therefore ``<channel>:<ts>`` (``ts`` is unique within a channel), never the event id: the
  dispatcher's idempotency drops the second copy, and an HTTP retry (``X-Slack-Retry-Num``) of
  either maps to the same id as well.
- Every ``message`` subtype comes through the same subscription: edits (``message_changed``),
  deletions, joins, bot posts... Only a person's new message is a question: no subtype,
  ``file_share`` or ``thread_broadcast``.
- Slack escapes ``&``, ``<`` and ``>`` in message text because ``<...>`` marks mentions and
  links. Inbound text is unescaped for the brain (and our own mention removed); outbound text is
  escaped again so a ``<`` in an answer cannot turn into a broken link or a mention.
- Slack recommends at most 4,000 characters per message; longer replies are split on paragraph,
  sentence or word boundaries, each part a separate post in the thread, paced per channel.
- Replies always go into the message's thread (``thread_ts``, or the message's own ``ts``), so
  each thread is one conversation and a busy support channel stays readable.
- A customer's thread is theirs. In a channel, a message by someone else in a customer's thread
  (Slack thread replies carry ``parent_user_id``, the author of the thread's first message) is
  ignored, with a log line naming who wrote where (not what). Joining it to the customer's
  conversation would let a stranger steer what the bot tells that customer and see the answers
  to their questions; answering it as a conversation of its own would post into the customer's
  thread and mix two customers in public. The other person can ask in a message of their own
  (its own thread) or in a DM. An agent helping in the thread is not taken for the customer.
  ``app_mention`` events carry no ``parent_user_id``, so a mention inside a thread is judged on
  its ``message`` copy (the app subscribes to channel messages; same channel and ``ts``, so the
  same message id): a ``message`` that mentions the bot counts as addressed to it anywhere, and
  an ``app_mention`` that is a thread reply is left to that copy.
- The CSAT question carries rating buttons (``channels.slack.ratings``). A click is acked at
  once; only the conversation's customer may rate (anyone else is told so privately). The
  press is queued like a message; once it is, the buttons are replaced by "You chose N of 5"
  (``chat.update``), so the question cannot be answered twice; the bot's thanks follow.
- Ids are checked before use (``channels.slack.ids``): an event with a malformed ``ts``,
  ``thread_ts``, channel or user id is logged and ignored (acknowledged, so not redelivered).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck

from channels.base import (
    Attachment,
    Author,
    ConversationRef,
    InboundHandler,
    InboundMessage,
    OutboundMessage,
)
from channels.slack.connection import SlackConnection
from channels.slack.ids import malformed, shown
from channels.slack.ratings import ACTION_PREFIX, Press, answered_blocks, rating_blocks, read_press
from channels.text import split_outbound
from channels.text import split_text as split
from config.errors import ChannelError, DeliveryRefused
from config.settings import SlackSettings

log = logging.getLogger(__name__)

CHANNEL_NAME = "slack"
MAX_CHUNK = 3900
HUMAN_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
NOT_YOURS = "Only the customer this conversation is with can rate it. Thank you all the same!"
ALREADY_RATED = "You have already rated this conversation. Thank you!"
NOT_NOW = "Frontdesk could not take your rating just now; please press again in a moment."


def to_inbound(
    event: Mapping[str, Any],
    team_id: str | None,
    bot_user_id: str | None,
    settings: SlackSettings,
) -> InboundMessage | None:
    """The customer message in a Slack event, or None when the bot should not answer it."""
    if not _for_us(event, bot_user_id, settings):
        return None
    text = unescape(_without_mention(str(event.get("text") or ""), bot_user_id)).strip()
    files = [f for f in event.get("files") or () if isinstance(f, dict)]
    if not text and files:
        # A photo of a broken parcel with no words is still a customer waiting for someone.
        text = "(sent " + ", ".join(str(f.get("name") or "a file") for f in files) + ")"
    if not text:
        return None
    channel, ts = str(event["channel"]), str(event["ts"])
    # In a channel every top-level message opens its own conversation, answered in its thread.
    # A DM is one running chat: customers write top-level follow-ups there, so the DM itself is
    # the conversation and the bot answers in it, as a chat partner would.
    direct = event.get("channel_type") == "im"
    thread = None if direct else (event.get("thread_ts") or ts)
    ref = ConversationRef(
        channel=CHANNEL_NAME,
        conversation_id=channel,
        thread_id=str(thread) if thread else None,
        workspace_id=team_id or event.get("team"),
    )
    return InboundMessage(
        ref=ref,
        message_id=f"{channel}:{ts}",
        author=author_of(event),
        text=text,
        received_at=datetime.fromtimestamp(float(ts), UTC),
        attachments=tuple(_attachment(f) for f in files),
        raw=event,
    )


def is_human_message(event: Mapping[str, Any], bot_user_id: str | None) -> bool:
    """A new message written by a person (not an edit, a join, a bot or ourselves)."""
    user = event.get("user")
    return (
        event.get("subtype") in HUMAN_SUBTYPES
        and not event.get("bot_id")
        and bool(user)
        and user != bot_user_id
        and bool(event.get("channel"))
        and bool(event.get("ts"))
    )


def _for_us(event: Mapping[str, Any], bot_user_id: str | None, settings: SlackSettings) -> bool:
    kind = event.get("type")
    if kind not in ("message", "app_mention") or not is_human_message(event, bot_user_id):
        return False
    if (bad := malformed(event, ("channel", "ts", "user"))) is not None:
        log.warning("slack: %s event with a malformed %s (%s) ignored", kind, bad,
                    shown(event.get(bad)))  # fmt: skip
        return False
    channel = event["channel"]
    if channel == settings.escalation_channel:
        return False  # the desk's channel: agents talk there, not customers
    direct = event.get("channel_type") == "im"
    if kind == "app_mention" or _mentions_bot(event, bot_user_id):
        addressed = True  # addressed to the bot explicitly, wherever it is
    elif direct:
        addressed = settings.answer_direct_messages
    else:
        addressed = channel in settings.support_channels
    return addressed and (direct or not _not_theirs(event))


def _mentions_bot(event: Mapping[str, Any], bot_user_id: str | None) -> bool:
    return bool(bot_user_id) and f"<@{bot_user_id}" in str(event.get("text") or "")


def _not_theirs(event: Mapping[str, Any]) -> bool:
    """A reply in a thread that someone else started (see the module docstring)."""
    thread, parent, user = event.get("thread_ts"), event.get("parent_user_id"), event["user"]
    if not thread or thread == event["ts"] or parent == user:
        return False
    if parent is None:
        if event.get("type") == "app_mention":
            log.debug("slack: mention in thread %s: its message copy decides", thread)
            return True
        return False
    log.info("slack: %s wrote in %s's thread %s in %s: not their conversation, ignored",
             user, parent, thread, event["channel"])  # fmt: skip
    return True


def author_of(event: Mapping[str, Any]) -> Author:
    profile = event.get("user_profile")
    if not isinstance(profile, dict):
        profile = {}
    name = profile.get("display_name") or profile.get("real_name") or None
    return Author(id=str(event["user"]), display_name=name)


def _attachment(file: Mapping[str, Any]) -> Attachment:
    return Attachment(
        name=str(file.get("name") or file.get("title") or "file"),
        content_type=file.get("mimetype"),
        size=file.get("size"),
        url=file.get("url_private"),
    )


def _without_mention(text: str, bot_user_id: str | None) -> str:
    if not bot_user_id:
        return text
    return re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", "", text)


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def split_text(text: str, limit: int = MAX_CHUNK) -> list[str]:
    """Parts of at most ``limit`` characters (Slack's recommended size), see ``channels.text``."""
    return split(text, limit)


class SlackChannel:
    """Customers on Slack: DMs, the support channels, and mentions of the bot.

    ``start``/``stop`` only attach to and detach from the shared connection; its owner starts the
    connection once every listener is attached (so no event arrives before its listener).
    """

    name = CHANNEL_NAME

    def __init__(self, connection: SlackConnection, settings: SlackSettings) -> None:
        self._connection = connection
        self._settings = settings
        self._handler: InboundHandler | None = None
        self._registered = False

    async def start(self, handler: InboundHandler) -> None:
        self._handler = handler
        if not self._registered:
            pattern = re.compile(rf"^{ACTION_PREFIX}\d+$")
            self._connection.app.action(pattern)(self._on_rating)
            self._registered = True
        self._connection.on_customer_message(self._on_event)

    async def stop(self) -> None:
        self._handler = None
        self._connection.on_customer_message(None)

    async def _on_event(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        team_id = body.get("team_id") or self._connection.team_id
        message = to_inbound(event, team_id, self._connection.bot_user_id, self._settings)
        if message is None:
            return
        handler = self._handler
        if handler is None:
            raise ChannelError("slack: a customer message arrived while the channel is stopped")
        if not await handler(message):
            log.debug("slack: duplicate delivery of %s dropped", message.message_id)

    async def _on_rating(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()  # within Slack's 3 s; clicks are never redelivered
        self._connection.spawn(self._rated(body, action), "rating click")

    async def _rated(self, body: dict[str, Any], action: dict[str, Any]) -> None:
        press = read_press(body, action, self._connection.team_id)
        if press is None:
            return
        clicker = press.message.author.id
        if clicker != press.customer_id:
            log.info("slack: %s pressed a rating button in %s's conversation; refused", clicker,
                     press.customer_id)  # fmt: skip
            await self._privately(press, NOT_YOURS)
            return
        handler = self._handler
        if handler is None:
            log.warning("slack: a rating in %s arrived while the channel is stopped", press.channel)
            await self._privately(press, NOT_NOW)
            return
        try:
            queued = await handler(press.message)
        except Exception:
            log.exception("slack: could not queue a rating in %s", press.channel)
            await self._privately(press, NOT_NOW)
            return
        if not queued:  # a second click on the same question
            await self._privately(press, ALREADY_RATED)
            return
        request = self._connection.client.chat_update(
            channel=press.channel, ts=press.message_ts, text=press.text,
            blocks=answered_blocks(press),
        )  # fmt: skip
        await self._connection.api("chat.update", request)

    async def _privately(self, press: Press, text: str) -> None:
        request = self._connection.client.chat_postEphemeral(
            channel=press.channel, user=press.message.author.id, text=text,
            thread_ts=press.thread_ts,
        )  # fmt: skip
        await self._connection.api("chat.postEphemeral", request)

    def split(self, message: OutboundMessage) -> list[OutboundMessage]:
        """The posts ``send`` makes for ``message`` (``SplitsMessages``): the outbox records
        each, so a retry resumes at the part that failed."""
        prefix = f"*{escape(message.sender_name)}*: " if message.sender_name else ""
        return split_outbound(message, MAX_CHUNK, prefix)

    async def send(self, message: OutboundMessage) -> None:
        ref = message.ref
        if ref.channel != self.name:
            raise DeliveryRefused(f"slack cannot deliver to a {ref.channel} conversation")
        text = escape(message.text)
        if message.sender_name:
            text = f"*{escape(message.sender_name)}*: {text}"
        parts = split_text(text)
        for number, part in enumerate(parts, start=1):
            fields: dict[str, Any] = {"thread_ts": ref.thread_id}
            if message.rating is not None and number == len(parts):
                fields["blocks"] = rating_blocks(part, message.rating)
            await self._connection.post(ref.conversation_id, part, **fields)
