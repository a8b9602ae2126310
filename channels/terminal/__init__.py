"""The terminal: a customer channel on this process's stdin/stdout (the laptop default), and
the terminal desk, ``frontdesk desk ...``, which agents run in a second terminal.

The terminal desk has no live connection: each ``frontdesk desk`` command is turned into a
``DeskEvent`` and handed to the same desk path as a Slack click (``channels.terminal.desk``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager

from channels.base import Channel, Desk, Part, Streams
from channels.terminal.customers import TerminalChannel
from channels.terminal.desk import add_commands
from config.settings import Settings

__all__ = ["TerminalAdapter", "add_commands", "build"]


class TerminalAdapter:
    name = "terminal"

    def __init__(self, channel: TerminalChannel, explicit: bool) -> None:
        self._channel = channel
        self.channels: Sequence[Channel] = (channel,)
        self.desks: Sequence[Desk] = ()
        self._explicit = explicit

    def connection(self) -> AbstractAsyncContextManager[None]:
        return _nothing()

    @property
    def connected(self) -> bool:
        """Standard input is a local stream: connected until it ends."""
        return not self._channel.finished.is_set()

    def describe(self) -> list[Part]:
        why = (
            "FRONTDESK_TERMINAL__ENABLED=true" if self._explicit else "no other channel is enabled"
        )
        return [Part("channel", "terminal", True, why)]


@contextlib.asynccontextmanager
async def _nothing() -> AsyncIterator[None]:
    yield


def build(settings: Settings, streams: Streams | None = None) -> TerminalAdapter:
    streams = streams or Streams()
    channel = TerminalChannel(settings.terminal.customer_name, streams.stdin, streams.stdout)
    return TerminalAdapter(channel, explicit=settings.terminal.enabled is not None)
