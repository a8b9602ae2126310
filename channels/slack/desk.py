"""The agents' desk in Slack: escalation cards in one channel, buttons, thread replies, a command.

Slack quirks (why the code looks like this):

- Button clicks and slash commands must be acknowledged within 3 s or the agent sees an error,
  and Slack does not retry them: they are acked at once and the work runs as a tracked task
  (``SlackConnection.spawn``); refusals come back privately (``chat.postEphemeral`` or the
  command's ``response_url``).
- Thread replies are plain ``message`` events, routed here by the connection when they are in
  the escalation channel. They reach the bot before the event is acknowledged, like customer
  messages, so an agent's reply is never lost; ``event_id`` is ``<channel>:<ts>``, the same for a
  redelivery.
- A card is addressed by ``<channel id>:<ts>`` of its message: that is what ``chat.update`` and
  ``thread_ts`` need, and what a thread reply carries back as its ``thread_ts``.
- A user group is only notified through ``<!subteam^ID>``, and ``@here`` is ``<!here>``.
  Notifications show ``text``, not blocks, so every post carries a readable ``text`` as well.
- Who may act is decided in ``channels.slack.access`` (agents, admins, guests, the escalation
  channel's members) and handed to the hub as ``DeskEvent.role``; the hub refuses by role and
  logs it. A refusal is always private: an ephemeral message for clicks and thread replies, an
  ephemeral ``respond`` for the slash command. A refused thread reply was not relayed and gets
  the same lock reaction as an internal note.
- Ids in payloads (channel, ``ts``, ``thread_ts``, users) are checked (``channels.slack.ids``)
  before use; an event with a malformed one is logged and ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError

from channels.base import (
    Author,
    DeskAction,
    DeskEvent,
    DeskFeedback,
    DeskHandler,
    EscalationCard,
    HomeView,
)
from channels.slack.access import SlackAccess
from channels.slack.blocks import (
    ACTIONS,
    card_blocks,
    card_text,
    desk_ref,
    home_blocks,
    neutral_home,
    split_ref,
)
from channels.slack.connection import SlackConnection
from channels.slack.customers import author_of, escape, is_human_message, split_text, unescape
from channels.slack.ids import malformed, shown
from channels.text import printable
from config.errors import ChannelError, ConfigError
from config.settings import DeskSettings, SlackSettings

log = logging.getLogger(__name__)


def desk_reply(event: Mapping[str, Any], bot_user_id: str | None) -> DeskEvent | None:
    """An agent's reply in a card's thread; top-level chatter and bots are not events."""
    thread_ts, ts = event.get("thread_ts"), event.get("ts")
    if not is_human_message(event, bot_user_id) or not thread_ts or thread_ts == ts:
        return None
    if (bad := malformed(event, ("channel", "ts", "user"))) is not None:
        log.warning("slack desk: thread message with a malformed %s (%s) ignored", bad,
                    shown(event.get(bad)))  # fmt: skip
        return None
    channel = str(event["channel"])
    return DeskEvent(
        action=DeskAction.REPLY,
        agent=author_of(event),
        desk_ref=desk_ref(channel, str(thread_ts)),
        text=unescape(str(event.get("text") or "")).strip(),
        event_id=f"{channel}:{ts}",
    )


# -- the desk ----------------------------------------------------------------------------------


class SlackDesk:
    """The Desk protocol on Slack (see ``page`` for the re-page keyword).

    Like ``SlackChannel``, ``start``/``stop`` only attach to the shared connection, which its
    owner starts once every listener is attached.
    """

    name = "slack"

    def __init__(
        self, connection: SlackConnection, slack: SlackSettings, desk: DeskSettings
    ) -> None:
        if not slack.escalation_channel:
            raise ConfigError("FRONTDESK_SLACK__ESCALATION_CHANNEL: the Slack desk needs it")
        self._conn, self._slack, self._desk = connection, slack, desk
        self._channel = slack.escalation_channel
        self._handler: DeskHandler | None = None
        self._registered = False
        self.access = SlackAccess(connection, slack)

    async def start(self, handler: DeskHandler) -> None:
        self._handler = handler
        if not self._registered:
            app = self._conn.app
            for action_id in ACTIONS:
                app.action(action_id)(self._on_button)
            app.command(self._slack.command)(self._on_command)
            app.event("app_home_opened")(self._on_home_opened)
            self._conn.check_at_start(self.access.check)
            self._registered = True
        self._conn.on_desk_message(self._on_thread_message)

    async def stop(self) -> None:
        self._handler = None
        self._conn.on_desk_message(None)

    # -- showing -----------------------------------------------------------------------------

    async def page(self, card: EscalationCard, thread_of: str | None = None) -> str:
        """Post ``card``; return its desk ref ``<channel>:<ts>``.

        Re-page (``card.repage > 0``) with ``thread_of`` = the card's ref: a reply in the card's
        thread, also broadcast to the channel, with ``@here`` and the on-call group; returns
        ``thread_of`` unchanged so the ticket keeps one thread. Without ``thread_of`` a re-page
        posts a new card (louder) and returns the new ref.
        """
        loud = card.repage > 0
        mentions = self._mentions(card, loud)
        if thread_of is not None:
            channel, ts = split_ref(thread_of)
            text = f"{mentions}⏰ {card.ticket_id} is still unclaimed (re-page {card.repage})"
            await self._conn.post(channel, text, thread_ts=ts, reply_broadcast=True)
            return thread_of
        blocks = card_blocks(card, self._desk)
        response = await self._conn.post(self._channel, card_text(card, mentions), blocks=blocks)
        return desk_ref(str(response["channel"]), str(response["ts"]))

    async def update(self, desk_ref: str, card: EscalationCard) -> None:
        channel, ts = split_ref(desk_ref)
        request = self._conn.client.chat_update(
            channel=channel, ts=ts, text=card_text(card), blocks=card_blocks(card, self._desk)
        )
        await self._conn.api("chat.update", request)

    async def relay(self, desk_ref: str, author: Author, text: str) -> None:
        channel, ts = split_ref(desk_ref)
        who = escape(printable(author.display_name or author.id))
        for part in split_text(f"*Customer ({who}):* {escape(printable(text))}"):
            await self._conn.post(channel, part, thread_ts=ts)

    async def alert(self, text: str) -> None:
        for part in split_text(escape(printable(text))):
            await self._conn.post(self._channel, part)

    async def show_home(self, user_id: str, view: HomeView | None) -> None:
        """The App Home tab; ``view=None`` (not an agent: customers DM this app too) gets the
        neutral page, with no ticket, name or text."""
        blocks = home_blocks(view, self._desk, datetime.now(UTC)) if view else neutral_home()
        home = {"type": "home", "blocks": blocks}
        await self._conn.api(
            "views.publish", self._conn.client.views_publish(user_id=user_id, view=home)
        )

    def _mentions(self, card: EscalationCard, loud: bool) -> str:
        group = self._slack.oncall_group
        parts = ["<!here>"] if loud else []
        if group and (loud or card.urgency == "urgent"):
            parts.append(f"<!subteam^{group}>")
        return "".join(f"{part} " for part in parts)

    # -- listening ---------------------------------------------------------------------------

    async def _on_button(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        self._conn.spawn(self._button_clicked(body, action), "desk button")

    async def _button_clicked(self, body: dict[str, Any], action: dict[str, Any]) -> None:
        user, container = _obj(body.get("user")), _obj(body.get("container"))
        channel = _obj(body.get("channel")).get("id") or container.get("channel_id")
        ts = _obj(body.get("message")).get("ts") or container.get("message_ts")
        ids = {"user": user.get("id"), "channel": channel, "message_ts": ts}
        if (bad := malformed(ids, ("user",))) is not None:
            log.warning("slack desk: click with a malformed %s (%s) ignored", bad,
                        shown(ids[bad]))  # fmt: skip
            return
        agent = Author(id=str(user["id"]), display_name=user.get("name") or user.get("username"))
        value = action.get("value")
        feedback = await self._act(
            ACTIONS[action["action_id"]],
            agent,
            ticket_id=value if isinstance(value, str) else None,
            desk_ref=desk_ref(channel, ts) if channel and ts else None,
            event_id=action.get("action_ts") or body.get("trigger_id"),
        )
        if feedback is not None and not feedback.ok and channel:
            await self._ephemeral(channel, agent.id, feedback.text)

    async def _on_thread_message(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        reply = desk_reply(event, self._conn.bot_user_id)
        if reply is None:
            return
        if self._handler is None:
            raise ChannelError("slack desk: a thread reply arrived while the desk is stopped")
        agent, role = await self.access.identify(reply.agent)
        reply = replace(reply, agent=agent, desk=self.name, role=role)
        feedback = await self._handler(reply)  # before the ack: a failure means redelivery
        self._conn.spawn(self._mark(event, feedback), "desk thread feedback")

    async def _mark(self, event: dict[str, Any], feedback: DeskFeedback) -> None:
        channel, ts = str(event["channel"]), str(event["ts"])
        if feedback.internal or not feedback.ok:  # not relayed: marked like a note
            try:
                await self._conn.client.reactions_add(channel=channel, timestamp=ts, name="lock")
            except SlackApiError as err:
                if err.response.get("error") != "already_reacted":  # a redelivered reply
                    raise
        if not feedback.ok:
            await self._ephemeral(channel, str(event["user"]), feedback.text, event["thread_ts"])

    async def _on_command(
        self, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        self._conn.spawn(self._run_command(command, respond), "slash command")

    async def _run_command(self, command: dict[str, Any], respond: AsyncRespond) -> None:
        if (bad := malformed(command, ("user_id",))) is not None:
            log.warning("slack desk: %s with a malformed %s (%s) ignored", self._slack.command,
                        bad, shown(command.get(bad)))  # fmt: skip
            return
        agent = Author(id=str(command["user_id"]), display_name=command.get("user_name"))
        text = str(command.get("text") or "").strip()
        feedback = await self._act(DeskAction.COMMAND, agent, text=text,
                                   event_id=command.get("trigger_id"))  # fmt: skip
        answer = feedback.text if feedback is not None else "Frontdesk is starting; try again soon."
        await respond(text=escape(answer), response_type="ephemeral")

    async def _on_home_opened(self, event: dict[str, Any]) -> None:
        user = event.get("user")
        if event.get("tab", "home") != "home" or not user:
            return
        if (bad := malformed(event, ("user",))) is not None:
            log.warning("slack desk: app_home_opened with a malformed %s (%s) ignored", bad,
                        shown(event.get(bad)))  # fmt: skip
            return
        home_id = f"home:{user}:{event.get('event_ts')}"
        self._conn.spawn(self._act(DeskAction.HOME, Author(id=str(user)), event_id=home_id),
                         "desk home")  # fmt: skip

    async def _act(self, action: DeskAction, agent: Author, **fields: Any) -> DeskFeedback | None:
        agent, role = await self.access.identify(agent)
        return await self._dispatch(DeskEvent(action, agent, desk=self.name, role=role, **fields))

    async def _dispatch(self, event: DeskEvent) -> DeskFeedback | None:
        if self._handler is None:
            log.warning("slack desk: %s by %s while stopped; ignored", event.action, event.agent.id)
            return None
        return await self._handler(event)

    async def _ephemeral(
        self, channel: str, user: str, text: str, thread: str | None = None
    ) -> None:
        request = self._conn.client.chat_postEphemeral(
            channel=channel, user=user, text=escape(text), thread_ts=thread
        )
        await self._conn.api("chat.postEphemeral", request)


def _obj(value: object) -> dict[str, Any]:
    """A payload field that should be an object (Socket Mode payloads are not shape-checked)."""
    return value if isinstance(value, dict) else {}
