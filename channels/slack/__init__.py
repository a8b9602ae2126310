"""Slack: customers in DMs, support channels and mentions; the escalation-channel desk.

``build`` wires one shared ``SlackConnection`` (one Bolt app: Slack delivers every event of an
installation to one place) into the customer channel and, when an escalation channel is set,
the desk. Importing this package is cheap: Bolt and aiohttp load only in ``build``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING

from channels.base import Channel, Desk, HttpEndpoint, Part, Streams
from config.settings import Settings

if TYPE_CHECKING:
    from channels.slack.connection import SlackConnection


class SlackAdapter:
    name = "slack"

    def __init__(
        self,
        settings: Settings,
        connection: SlackConnection,
        channels: Sequence[Channel],
        desks: Sequence[Desk],
    ) -> None:
        self.settings = settings
        self.conn = connection
        self.channels = tuple(channels)
        self.desks = tuple(desks)

    def connection(self) -> AbstractAsyncContextManager[None]:
        return self._connected()

    @asynccontextmanager
    async def _connected(self) -> AsyncIterator[None]:
        await self.conn.start()  # only once every listener is registered
        try:
            yield
        finally:
            await self.conn.stop()

    @property
    def connected(self) -> bool:
        """Socket Mode: the websocket is open; HTTP mode: the events endpoint listens."""
        return self.conn.is_connected()

    def http_endpoint(self) -> HttpEndpoint | None:
        """HTTP mode: the Events API request URL (``ServesHttp``); Socket Mode: none."""
        return self.conn.http_endpoint()

    def serve_shared(self) -> None:
        self.conn.serve_shared()

    def describe(self) -> list[Part]:
        return describe(self.settings)


def describe(settings: Settings) -> list[Part]:
    slack = settings.slack
    where = ", ".join(slack.support_channels) or "no support channels"
    dms = "DMs" if slack.answer_direct_messages else "no DMs"
    parts = [Part("channel", "slack", True, f"{slack.mode} mode; {where}; {dms}")]
    if slack.escalation_channel:
        desk = f"cards in {slack.escalation_channel}; {agents(settings)}"
        parts.append(Part("desk", "slack", True, desk))
    else:
        why = "FRONTDESK_SLACK__ESCALATION_CHANNEL is not set: use `frontdesk desk` for escalations"
        parts.append(Part("desk", "slack", False, why))
    return parts


def agents(settings: Settings) -> str:
    """Who counts as an agent on the Slack desk (``channels.slack.access`` decides)."""
    slack = settings.slack
    if not slack.agent_user_ids and not slack.agent_group:
        return f"agents: the members of {slack.escalation_channel} (it must be private)"
    named = [f"{len(slack.agent_user_ids)} user ids"] if slack.agent_user_ids else []
    named += [f"group {slack.agent_group}"] if slack.agent_group else []
    return f"agents: {' + '.join(named)}, and the admins"


def build(settings: Settings, streams: Streams | None = None) -> SlackAdapter:
    from channels.slack.connection import SlackConnection  # noqa: PLC0415
    from channels.slack.customers import SlackChannel  # noqa: PLC0415
    from channels.slack.desk import SlackDesk  # noqa: PLC0415

    connection = SlackConnection(settings.slack)
    desks: list[Desk] = []
    if settings.slack.escalation_channel is not None:
        desks.append(SlackDesk(connection, settings.slack, settings.desk))
    channels = [SlackChannel(connection, settings.slack)]
    return SlackAdapter(settings, connection, channels, desks)
