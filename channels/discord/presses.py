"""Rating button presses on Discord: a click on the CSAT question -> an ``InboundMessage``.

Discord quirks (why the code looks like this): an interaction must be answered within 3 s and
is never redelivered, so a press is deferred (an update of the question message, which shows
nothing yet) before it is queued; once queued, the question's buttons are disabled with the
chosen one highlighted (``edit_original_response``), so it cannot be answered twice. Refusals
(a clicker who is not the customer, a second click) are ephemeral, seen only by the clicker.
The press's message id is the question message's id: one answer per question, so a racing
second click is a duplicate for the dispatcher, and the bot's thanks reference the question.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from channels.base import Author, InboundMessage, RatingRequest
from channels.discord.connection import DiscordConnection
from channels.discord.places import place_of, press_ref
from channels.discord.ratings import rating_button_type, rating_view
from config.settings import DiscordSettings

log = logging.getLogger(__name__)

NOT_YOURS = "Only the customer this conversation is with can rate it. Thank you all the same!"
ALREADY_RATED = "You have already rated this conversation. Thank you!"
NOT_NOW = "Frontdesk could not take your rating just now; please press again in a moment."
NOT_HERE = "Please reply with a number from 1 to 5 instead. Thank you!"

Queue = Callable[[InboundMessage], Awaitable[bool]]


class RatingPresses:
    """Takes rating clicks for the customer channel (``queue`` is its durable hand-off)."""

    def __init__(
        self, connection: DiscordConnection, settings: DiscordSettings, queue: Queue
    ) -> None:
        self._conn, self._settings, self._queue = connection, settings, queue
        connection.on_gateway(self._on_gateway)

    async def _on_gateway(self, client: discord.Client) -> None:
        client.add_dynamic_items(rating_button_type(self.pressed))

    async def pressed(
        self, interaction: discord.Interaction[Any], parsed: tuple[int, str] | None
    ) -> None:
        if parsed is None:
            custom = dict(interaction.data or {}).get("custom_id")
            log.warning("discord: rating click with a malformed custom_id (%r) ignored",
                        str(custom)[:60])  # fmt: skip
            return
        rating, customer = parsed
        user, message = interaction.user, interaction.message
        if str(user.id) != customer:
            log.info("discord: %s pressed a rating button in %s's conversation; refused",
                     user.id, customer)  # fmt: skip
            await self._tell(interaction, NOT_YOURS, deferred=False)
            return
        guild = str(interaction.guild_id) if interaction.guild_id else None
        ref = press_ref(place_of(interaction.channel), guild, customer, self._settings)
        if message is None or ref is None:
            log.warning("discord: rating click in channel %s outside a conversation; ignored",
                        interaction.channel_id)  # fmt: skip
            await self._tell(interaction, NOT_HERE, deferred=False)
            return
        try:
            await interaction.response.defer()
        except discord.HTTPException as err:  # expired (over 3 s) or answered: nothing taken
            log.warning("discord: could not acknowledge a rating click on %s: %s", message.id,
                        self._conn.error("defer", err))  # fmt: skip
            return
        inbound = InboundMessage(
            ref=ref,
            message_id=str(message.id),
            author=Author(id=str(user.id), display_name=user.display_name),
            text=str(rating),
            received_at=interaction.created_at,
            rating=rating,
        )
        try:
            queued = await self._queue(inbound)
        except Exception:
            log.exception("discord: could not queue a rating in %s", ref.key)
            await self._tell(interaction, NOT_NOW)
            return
        if not queued:  # a second click on the same question
            await self._tell(interaction, ALREADY_RATED)
            return
        view = rating_view(RatingRequest(customer_id=customer), chosen=rating)
        try:
            await interaction.edit_original_response(view=view)
        except discord.HTTPException as err:  # recorded all the same; only the look is stale
            log.warning("discord: could not disable the rating buttons on %s: %s", message.id,
                        self._conn.error("edit", err))  # fmt: skip

    async def _tell(
        self, interaction: discord.Interaction[Any], text: str, deferred: bool = True
    ) -> None:
        try:
            if deferred:
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)
        except discord.HTTPException as err:
            log.warning("discord: could not answer a rating click: %s",
                        self._conn.error("answer", err))  # fmt: skip
