"""Discord messages -> ``InboundMessage``: where each conversation lives (the mapping that
``customers.py`` documents), pure functions of a message and the settings."""

from __future__ import annotations

import discord

from channels.base import Attachment, Author, ConversationRef, InboundMessage, ReplyHints
from channels.discord.places import CHANNEL_NAME, FORUM, Place
from channels.discord.text import describe_files, without_mention
from config.errors import DeliveryRefused
from config.settings import DiscordSettings

QUESTION_TYPES = frozenset({discord.MessageType.default, discord.MessageType.reply})
OPEN_THREAD = "open_thread"  # hint: start a thread from the customer's message on first reply
THREAD_NAME_CHARS = 90


def to_inbound(
    message: discord.Message, place: Place, bot_user_id: int | None, settings: DiscordSettings
) -> InboundMessage | None:
    """The customer message, or None when the bot should not answer it. Pure."""
    if message.author.bot or message.webhook_id is not None or message.author.id == bot_user_id:
        return None
    if message.type not in QUESTION_TYPES:
        return None
    ref = _ref(message, place, settings)
    if ref is None:
        return None
    files = [(a.filename, a.size, a.content_type) for a in message.attachments]
    text = without_mention(message.content, bot_user_id).strip()
    if files:  # the CDN links expire: the names, sizes and types go into the text
        text = f"{text}\n{describe_files(files)}".strip()
    if not text:
        return None
    author = Author(id=str(message.author.id), display_name=message.author.display_name)
    attachments = tuple(Attachment(name=n, content_type=t, size=s) for n, s, t in files)
    return InboundMessage(
        ref=ref,
        message_id=str(message.id),
        author=author,
        text=text,
        received_at=message.created_at,
        attachments=attachments,
    )


def _ref(
    message: discord.Message, place: Place, settings: DiscordSettings
) -> ConversationRef | None:
    guild_id = message.guild.id if message.guild is not None else place.guild_id
    guild = str(guild_id) if guild_id is not None else None
    if place.kind == "dm":
        if not settings.answer_direct_messages:
            return None
        return _conversation(str(place.channel_id), None, None, message)
    if place.kind == "thread" and place.parent_id is not None:
        parent = str(place.parent_id)
        forum = parent in settings.forum_channel_ids
        if parent not in settings.support_channel_ids and not forum:
            return None
        extra = ((FORUM, "1"),) if forum else ()
        return _conversation(parent, str(place.channel_id), guild, message, extra)
    if place.kind == "channel" and str(place.channel_id) in settings.support_channel_ids:
        channel = str(place.channel_id)
        if settings.thread_per_conversation:
            opening = ((OPEN_THREAD, "1"),)
            return _conversation(channel, str(message.id), guild, message, opening, subject=True)
        return _conversation(f"{channel}:{message.author.id}", None, guild, message)
    return None


def _conversation(
    conversation: str,
    thread: str | None,
    guild: str | None,
    message: discord.Message,
    extra: tuple[tuple[str, str], ...] = (),
    subject: bool = False,
) -> ConversationRef:
    title = " ".join(message.clean_content.split())[:THREAD_NAME_CHARS] if subject else None
    hints = ReplyHints(reply_to=str(message.id), subject=title or None, extra=extra)
    return ConversationRef(
        channel=CHANNEL_NAME,
        conversation_id=conversation,
        thread_id=thread,
        workspace_id=guild,
        hints=hints,
    )


def target_of(ref: ConversationRef) -> int:
    """The Discord channel (or thread) an answer to ``ref`` is posted in."""
    where = ref.thread_id or ref.conversation_id.partition(":")[0]
    if not where.isdigit():
        raise DeliveryRefused(f"not a Discord conversation: {ref.key}")
    return int(where)
