"""Discord REST failures mapped to Frontdesk's errors, with hints naming the fix."""

from __future__ import annotations

import logging

import discord

from config.errors import ChannelError, DeliveryRefused

log = logging.getLogger(__name__)

# Discord JSON error codes worth a hint: what is missing, and where to fix it.
HINTS = {
    50001: "missing access: give the bot View Channel (and Send Messages in Threads) there",
    50013: "missing permission: the bot needs Send Messages, Send Messages in Threads, "
    "Create Public Threads, Embed Links, Add Reactions and Read Message History there",
    50007: "cannot DM this user: they turned off DMs from server members or blocked the bot",
    10003: "unknown channel: the channel or thread was deleted",
    10008: "unknown message: the message was deleted",
    50083: "the thread is archived and locked",
    160002: "cannot reply without Read Message History",
}


def rest_error(what: str, err: BaseException) -> ChannelError:
    """Permanent failures (403, 404, other 4xx) -> ``DeliveryRefused``, logged with a hint
    naming the missing permission or cause; transient ones -> ``ChannelError``."""
    if isinstance(err, discord.RateLimited):
        return ChannelError(f"Discord {what}: rate limited for {err.retry_after:.0f} s")
    if isinstance(err, discord.DiscordServerError) or (
        isinstance(err, discord.HTTPException) and err.status == 429
    ):
        return ChannelError(f"Discord {what}: {describe(err)}")
    if isinstance(err, discord.HTTPException):
        hint = describe(err)
        log.error("discord: %s refused (HTTP %s, code %s): %s", what, err.status, err.code, hint)
        return DeliveryRefused(f"Discord {what}: {hint}")
    return ChannelError(f"Discord {what}: {type(err).__name__}: {err}")


def describe(err: BaseException) -> str:
    if isinstance(err, discord.HTTPException):
        return HINTS.get(err.code) or f"HTTP {err.status} code {err.code}: {err.text}"
    return str(err) or type(err).__name__
