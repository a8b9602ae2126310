"""Where a Discord message or click happened, as the gateway cache knows it (``Place``), and
the conversation a rating button was pressed in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import discord

from channels.base import ConversationRef, ReplyHints
from config.settings import DiscordSettings

CHANNEL_NAME = "discord"
FORUM = "forum"  # hint: the conversation is a forum post (tags can be applied)


@dataclass(frozen=True, slots=True)
class Place:
    """Where a message was written, as the gateway cache knows it."""

    kind: Literal["dm", "channel", "thread", "unknown"]
    channel_id: int
    parent_id: int | None = None
    guild_id: int | None = None


def place_of(channel: object) -> Place:
    if isinstance(channel, discord.DMChannel):
        return Place("dm", channel.id)
    if isinstance(channel, discord.Thread):
        return Place("thread", channel.id, channel.parent_id, channel.guild.id)
    if isinstance(channel, discord.TextChannel):
        return Place("channel", channel.id, guild_id=channel.guild.id)
    if isinstance(channel, discord.PartialMessageable) and channel.guild_id is None:
        return Place("dm", channel.id)  # a DM channel not cached yet
    return Place("unknown", getattr(channel, "id", 0))


def press_ref(
    place: Place, guild: str | None, customer: str, settings: DiscordSettings
) -> ConversationRef | None:
    """The conversation whose rating question was clicked: where the question was posted
    (see ``customers`` for where conversations live). None: not a place questions go."""
    support, forums = settings.support_channel_ids, settings.forum_channel_ids
    if place.kind == "dm":
        return ConversationRef(CHANNEL_NAME, str(place.channel_id))
    if place.kind == "thread" and str(place.parent_id) in (*support, *forums):
        extra = ((FORUM, "1"),) if str(place.parent_id) in forums else ()
        return ConversationRef(CHANNEL_NAME, str(place.parent_id), str(place.channel_id), guild,
                               ReplyHints(extra=extra))  # fmt: skip
    in_support = place.kind == "channel" and str(place.channel_id) in support
    if in_support and not settings.thread_per_conversation:
        return ConversationRef(CHANNEL_NAME, f"{place.channel_id}:{customer}", None, guild)
    return None
