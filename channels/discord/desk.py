"""The agents' desk in Discord: escalation cards in a staff channel, a thread per ticket,
buttons, the ``/frontdesk`` command, staff and admin roles as the access list.

Discord quirks (why the code looks like this):

- An interaction (click, command) must be answered within 3 s or the user sees "This
  interaction failed", and it is never redelivered: it is deferred at once, then the hub
  decides; a refusal comes back as an ephemeral follow-up only the clicker sees.
- Customers and staff are members of the same server, and anyone who can see the channel can
  click. The actor's role comes from their server roles (``STAFF_ROLE_IDS`` -> agent,
  ``ADMIN_ROLE_IDS`` -> admin, else none); the hub refuses by role, never by visibility. A
  thread message read back after a failover (``catchup.py``) carries no roles over REST:
  they are asked of Discord for its author (when Discord cannot say, the role is
  ``Role.UNKNOWN``: the hub keeps what a message taken in before got, and refuses a new one
  with an answer asking for it again).
- Each card gets a thread started from the card message, so the thread's id is the card's
  message id and a staff message in it maps back to the card (``desk_ref``) with no lookup.
- Thread messages cannot be answered ephemerally: a message that stayed internal gets a 🔒
  reaction; a refusal, or a reply withheld from the customer (not the claimant's), gets a
  short reply saying why, which deletes itself after a minute (one asking its author to
  send the message again, when their role was unknown, stays).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import discord
from discord import app_commands

from channels.base import (
    Author,
    DeskAction,
    DeskEvent,
    DeskFeedback,
    DeskHandler,
    EscalationCard,
    Role,
)
from channels.discord.commands import frontdesk_command
from channels.discord.connection import DiscordConnection
from channels.discord.embeds import (
    card_button_type,
    card_embed,
    card_text,
    card_view,
    desk_ref,
    split_ref,
)
from channels.discord.text import describe_files, split_message, without_mention
from config.errors import ChannelError, ConfigError, DeliveryRefused
from config.settings import DeskSettings, DiscordSettings

log = logging.getLogger(__name__)

INTERNAL_MARK = "🔒"
MEMBER_KEEP_S = 60.0  # how long a member's roles asked of Discord are used again
MEMBER_TRIES = 3
_REFUSAL_SECONDS = 60.0
_THREAD_NAME_CHARS = 90


def role_of(role_ids: Iterable[int], settings: DiscordSettings) -> Role:
    held = {str(r) for r in role_ids}
    if held & set(settings.admin_role_ids):
        return Role.ADMIN
    if held & set(settings.staff_role_ids):
        return Role.AGENT
    return Role.NONE


def roles_of(user: discord.abc.User) -> list[int]:
    return [r.id for r in user.roles] if isinstance(user, discord.Member) else []


def desk_reply(message: discord.Message, bot_user_id: int | None) -> DeskEvent | None:
    """A staff message in a card's thread as a REPLY, its role not yet known (the hub decides
    whether it is relayed)."""
    channel = message.channel
    if not isinstance(channel, discord.Thread) or channel.parent_id is None:
        return None  # top-level chatter in the desk channel is not a ticket event
    if bot_user_id is not None and channel.owner_id != bot_user_id:
        return None  # a thread staff opened themselves; card threads are the bot's
    files = [(a.filename, a.size, a.content_type) for a in message.attachments]
    text = without_mention(message.content, bot_user_id).strip()
    if files:
        text = f"{text}\n{describe_files(files)}".strip()
    agent = Author(id=str(message.author.id), display_name=message.author.display_name)
    return DeskEvent(
        DeskAction.REPLY,
        agent,
        desk="discord",
        desk_ref=desk_ref(channel.parent_id, channel.id),
        text=text,
        event_id=str(message.id),
    )


class DiscordDesk:
    """The Desk protocol on Discord."""

    name = "discord"

    def __init__(
        self, connection: DiscordConnection, settings: DiscordSettings, desk: DeskSettings
    ) -> None:
        if settings.desk_channel_id is None:
            raise ConfigError("FRONTDESK_DISCORD__DESK_CHANNEL_ID: the Discord desk needs it")
        self._conn, self._settings, self._desk = connection, settings, desk
        self._channel_id = int(settings.desk_channel_id)
        self._handler: DeskHandler | None = None
        self._opening: dict[int, asyncio.Task[None]] = {}
        # (server, user) -> (when asked, their roles): authors of messages read back
        self._members: dict[tuple[int, int], tuple[float, list[int]]] = {}
        self._desk_channel: discord.TextChannel | None = None
        # The REST client's tree only syncs the command; each gateway client gets a tree of its
        # own, which dispatches the interactions it receives.
        self.tree = app_commands.CommandTree(connection.client)
        self.tree.add_command(frontdesk_command(self._run_command))
        connection.on_setup(self._setup)
        connection.on_gateway(self._on_gateway)

    async def start(self, handler: DeskHandler) -> None:
        self._handler = handler
        self._conn.on_desk_message(self._on_thread_message)

    async def stop(self) -> None:
        self._handler = None
        self._conn.on_desk_message(None)
        if self._opening:
            await asyncio.wait(set(self._opening.values()), timeout=5.0)

    async def _on_gateway(self, client: discord.Client) -> None:
        """On every gateway client: every card's buttons, and the command's dispatch (a guild
        command falls back to the tree's global one)."""
        client.add_dynamic_items(card_button_type(self.clicked))
        app_commands.CommandTree(client).add_command(frontdesk_command(self._run_command))

    async def _setup(self, connection: DiscordConnection) -> None:
        """Once per process: the desk channel exists, and the command in the desk's server."""
        try:
            channel = await self._channel()
        except DeliveryRefused as err:  # a wrong id, or a channel the bot cannot see
            raise ConfigError(
                f"FRONTDESK_DISCORD__DESK_CHANNEL_ID: {self._channel_id} is not a text channel the"
                " bot can see (invite it, and give it View Channel there)"
            ) from err
        guild = discord.Object(id=channel.guild.id)
        self.tree.copy_global_to(guild=guild)
        await connection.rest("/frontdesk command sync", self.tree.sync(guild=guild))
        log.info(
            "discord desk: cards in #%s, /frontdesk registered in %s",
            channel.name,
            channel.guild.id,
        )

    # -- showing -----------------------------------------------------------------------------

    async def page(self, card: EscalationCard, thread_of: str | None = None) -> str:
        """Post ``card`` with its buttons and open its thread; return ``<channel>:<message>``.

        A re-page with ``thread_of`` goes into the card's thread, naming the staff roles."""
        staff = discord.AllowedMentions(
            everyone=False,
            users=False,
            replied_user=False,
            roles=[discord.Object(int(r)) for r in self._settings.staff_role_ids],
        )
        roles = " ".join(f"<@&{r}>" for r in self._settings.staff_role_ids)
        if thread_of is not None:
            _, thread_id = split_ref(thread_of)
            text = f"{roles} ⏰ {card.ticket_id} is still unclaimed (re-page {card.repage})"
            thread = await self._thread(thread_id)
            await self._conn.rest("re-page", thread.send(text, allowed_mentions=staff))
            return thread_of
        channel = await self._channel()
        loud = card.repage > 0 or card.urgency == "urgent"
        content = f"{roles} {card_text(card)}" if loud else card_text(card)
        message = await self._conn.rest(
            "card",
            channel.send(
                content,
                embed=card_embed(card, self._desk),
                view=_or_missing(card_view(card)),
                allowed_mentions=staff if loud else discord.AllowedMentions.none(),
            ),
        )
        # The thread opens beside the returned ref: the hub maps the card to its ticket only
        # once ``page`` returns, and a click before that would be refused as a stranger's card.
        name = f"{card.ticket_id} · {card.customer.display_name or card.customer.id}"
        task = asyncio.create_task(self._open_thread(message, name, card.ticket_id))
        self._opening[message.id] = task
        task.add_done_callback(lambda _: self._opening.pop(message.id, None))
        return desk_ref(channel.id, message.id)

    async def _open_thread(self, message: discord.Message, name: str, ticket_id: str) -> None:
        try:
            await message.create_thread(name=name[:_THREAD_NAME_CHARS], auto_archive_duration=10080)
        except (discord.HTTPException, OSError) as err:  # the card stands, without a thread
            log.error("discord desk: no thread for %s: %s", ticket_id,
                      self._conn.error("thread", err))  # fmt: skip

    async def _thread(self, thread_id: int) -> discord.PartialMessageable:
        """The card's thread, once it is open (the opening may still be on its way)."""
        opening = self._opening.get(thread_id)
        if opening is not None:
            await asyncio.shield(opening)
        return self._conn.client.get_partial_messageable(thread_id)

    async def update(self, desk_ref: str, card: EscalationCard) -> None:
        channel_id, message_id = split_ref(desk_ref)
        channel = self._conn.client.get_partial_messageable(channel_id)
        message = channel.get_partial_message(message_id)
        await self._conn.rest(
            "card update",
            message.edit(
                content=card_text(card), embed=card_embed(card, self._desk), view=card_view(card)
            ),
        )

    async def relay(self, desk_ref: str, author: Author, text: str) -> None:
        _, thread_id = split_ref(desk_ref)
        thread = await self._thread(thread_id)
        who = discord.utils.escape_markdown(author.display_name or author.id)
        for part in split_message(f"**Customer ({who}):** {text}"):
            await self._conn.rest("relay", thread.send(part))

    async def alert(self, text: str) -> None:
        channel = self._conn.client.get_partial_messageable(self._channel_id)
        for part in split_message(text):
            await self._conn.rest("alert", channel.send(part))

    async def _channel(self) -> discord.TextChannel:
        """The desk channel: fetched once (the REST client caches nothing)."""
        if self._desk_channel is not None:
            return self._desk_channel
        client = self._conn.client
        channel = await self._conn.rest("desk channel", client.fetch_channel(self._channel_id))
        if not isinstance(channel, discord.TextChannel):
            raise DeliveryRefused(
                f"FRONTDESK_DISCORD__DESK_CHANNEL_ID: {self._channel_id} is not a text channel"
            )
        self._desk_channel = channel
        return channel

    # -- listening ---------------------------------------------------------------------------

    async def _on_thread_message(self, message: discord.Message) -> None:
        reply = desk_reply(message, self._conn.bot_user_id)
        if reply is None:
            return
        if self._handler is None:
            raise ChannelError("discord desk: a thread reply arrived while the desk is stopped")
        try:
            role = role_of(await self._roles(message), self._settings)
        except ChannelError as err:
            # The hub decides all the same (a message it took in before keeps what it got
            # then); a new one is kept here, remembered, and its author told to send it again.
            log.warning("discord desk: the roles of %s, who wrote message %s, are unknown (%s)",
                        message.author.id, message.id, err)  # fmt: skip
            role = Role.UNKNOWN
        feedback = await self._handler(replace(reply, role=role))
        # Kept for an unknown role, it asks for a resend: that answer stays.
        await self._answer(message, feedback, lasting=role is Role.UNKNOWN and feedback.internal)

    async def _answer(
        self, message: discord.Message, feedback: DeskFeedback, lasting: bool = False
    ) -> None:
        """What the hub made of a thread message, shown on it: the mark when it stayed in the
        thread, and a reply telling its author why when it was refused or withheld (gone
        after a minute, unless ``lasting``: it asks them to do something). Each on its own:
        a mark that fails does not keep the author from being told."""
        if feedback.internal:
            try:
                await self._conn.rest("mark", message.add_reaction(INTERNAL_MARK))
            except ChannelError as err:
                log.warning("discord desk: could not mark message %s: %s", message.id, err)
        if feedback.ok and not feedback.withheld:
            return
        quiet = discord.AllowedMentions.none()
        reply = (
            message.reply(feedback.text, allowed_mentions=quiet)
            if lasting
            else message.reply(feedback.text, delete_after=_REFUSAL_SECONDS, allowed_mentions=quiet)
        )
        try:
            await self._conn.rest("answer", reply)
        except ChannelError as err:
            log.log(logging.ERROR if lasting else logging.WARNING,
                    "discord desk: could not answer %s on message %s (%s)", message.author.id,
                    message.id, err)  # fmt: skip

    async def _roles(self, message: discord.Message) -> list[int]:
        """The author's server roles. A gateway message carries them; one read back over REST
        after a failover (``catchup.py``) does not, and they are asked of Discord then (kept
        ``MEMBER_KEEP_S`` for the author's next messages; ``MEMBER_TRIES`` tries, after
        discord.py's own retries; then ``ChannelError``: the role is unknown)."""
        author, guild = message.author, message.guild
        if isinstance(author, discord.Member) or guild is None:
            return roles_of(author)
        key, now = (guild.id, author.id), time.monotonic()
        known = self._members.get(key)
        if known is not None and now - known[0] < MEMBER_KEEP_S:
            return known[1]
        for attempt in range(1, MEMBER_TRIES + 1):
            try:
                roles = roles_of(await self._conn.rest("member", guild.fetch_member(author.id)))
                break
            except DeliveryRefused:  # no longer in the server (404), or not visible to the bot
                log.info("discord desk: %s is not a member of server %s; no role", author.id,
                         guild.id)  # fmt: skip
                roles = []
                break
            except ChannelError:
                if attempt == MEMBER_TRIES:
                    raise
                await asyncio.sleep(attempt)
        if len(self._members) >= 10_000:
            self._members.clear()
        self._members[key] = (now, roles)
        return roles

    async def clicked(
        self, interaction: discord.Interaction[Any], action: DeskAction, ticket_id: str
    ) -> None:
        await interaction.response.defer()  # acknowledged; the hub redraws the card
        message = interaction.message
        ref = desk_ref(interaction.channel_id or 0, message.id) if message is not None else None
        if message is not None:  # the card's thread has its id: its gap's messages go first
            await self._conn.read_back(interaction.client, message.id)
        feedback = await self._act(interaction, action, ticket_id=ticket_id, desk_ref=ref)
        if not feedback.ok:
            await interaction.followup.send(feedback.text, ephemeral=True)

    async def _run_command(self, interaction: discord.Interaction[Any], text: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        feedback = await self._act(interaction, DeskAction.COMMAND, text=text)
        for part in split_message(feedback.text or "Done.") or ["Done."]:
            await interaction.followup.send(part, ephemeral=True)

    async def _act(
        self, interaction: discord.Interaction[Any], action: DeskAction, **fields: Any
    ) -> DeskFeedback:
        user = interaction.user
        role = role_of(roles_of(user), self._settings)
        agent = Author(id=str(user.id), display_name=user.display_name)
        event = DeskEvent(
            action, agent, desk=self.name, role=role, event_id=str(interaction.id), **fields
        )
        if self._handler is None:
            log.warning("discord desk: %s by %s while stopped; ignored", action, user.id)
            return DeskFeedback("Frontdesk is starting; try again soon.", ok=False)
        return await self._handler(event)


def _or_missing(view: discord.ui.View | None) -> Any:
    return view if view is not None else discord.utils.MISSING
