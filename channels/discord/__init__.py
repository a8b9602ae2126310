"""Discord: customers in DMs, support channels, threads and forum posts; a staff desk.

Light on purpose: discord.py is imported only by ``build`` (the registry imports this package
only when ``FRONTDESK_DISCORD__ENABLED`` is true, and ``describe`` needs no SDK at all).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING

from channels.base import Channel, Desk, Part, SharedStorage, Streams
from config.settings import DiscordSettings, Settings

if TYPE_CHECKING:
    from channels.discord.connection import DiscordConnection

NAME = "discord"


class DiscordAdapter:
    """The Discord connection with its customer channel and, if configured, its desk."""

    name = NAME

    def __init__(
        self,
        settings: DiscordSettings,
        connection: DiscordConnection,
        channels: Sequence[Channel],
        desks: Sequence[Desk],
    ) -> None:
        self.settings = settings
        self.conn = connection
        self.channels = tuple(channels)
        self.desks = tuple(desks)

    def use_store(self, store: SharedStorage) -> None:
        """Take the gateway shards' leases from ``store`` (the bot's): with several replicas
        on one store, each shard is read by one of them. Call before ``connection()``."""
        self.conn.locks = store

    def connection(self) -> AbstractAsyncContextManager[None]:
        return self._connected()

    @asynccontextmanager
    async def _connected(self) -> AsyncIterator[None]:
        async with self.conn.connected():
            yield

    @property
    def connected(self) -> bool:
        """Logged in, and the gateway shards this replica holds are up (for readiness checks
        and the ``channel_connected`` gauge); a standby replica, which sends, counts as up."""
        return self.conn.is_connected()

    @property
    def disconnects(self) -> int:
        """Gateway disconnects since start (each one reconnected by itself)."""
        return self.conn.disconnects

    def describe(self) -> list[Part]:
        return describe(self.settings)


def describe(settings: DiscordSettings) -> list[Part]:
    """What ``frontdesk check`` says about Discord: each part, on or off, and why."""
    if not settings.enabled:
        return [Part("channel", NAME, False, "FRONTDESK_DISCORD__ENABLED is not true")]
    support = ", ".join(settings.support_channel_ids) or "none"
    where = [f"support channels {support}"]
    if settings.forum_channel_ids:
        where.append(f"forum channels {', '.join(settings.forum_channel_ids)}")
    where.append("DMs" if settings.answer_direct_messages else "no DMs")
    if settings.thread_per_conversation:
        where.append("a thread per conversation")
    if settings.shard_count > 1:
        where.append(f"{settings.shard_count} gateway shards")
    parts = [Part("channel", NAME, True, "; ".join(where))]
    if settings.desk_channel_id:
        staff = ", ".join(settings.staff_role_ids)
        admins = ", ".join(settings.admin_role_ids) or "none"
        why = f"cards in {settings.desk_channel_id}; staff roles {staff}; admin roles {admins}"
        parts.append(Part("desk", NAME, True, why))
    else:
        parts.append(Part("desk", NAME, False, "FRONTDESK_DISCORD__DESK_CHANNEL_ID is not set"))
    return parts


def build(settings: Settings, streams: Streams | None = None) -> DiscordAdapter:
    """The adapter for ``settings.discord``; connects only when its ``connection`` is entered."""
    from channels.discord.connection import DiscordConnection  # noqa: PLC0415
    from channels.discord.customers import DiscordChannel  # noqa: PLC0415
    from channels.discord.desk import DiscordDesk  # noqa: PLC0415

    discord_settings = settings.discord
    connection = DiscordConnection(discord_settings, presence_ttl_s=settings.store.lock_ttl_seconds)
    channel = DiscordChannel(connection, discord_settings)
    desks: list[Desk] = []
    if discord_settings.desk_channel_id is not None:
        desks.append(DiscordDesk(connection, discord_settings, settings.desk))
    return DiscordAdapter(discord_settings, connection, [channel], desks)
