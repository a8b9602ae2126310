"""What a platform package builds and the bot runs: the ``Channel`` protocol, the ``Adapter``
(channels + desks + connection + ``describe``), and the optional capabilities the bot checks
for with ``isinstance`` (Connected, Suppressing, SplitsMessages, FiniteChannel, StoreBound,
ServesHttp)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol, TextIO, runtime_checkable

from channels.desks import Desk
from channels.messages import InboundMessage, OutboundMessage

InboundHandler = Callable[[InboundMessage], Awaitable[bool]]
"""What a channel calls for every customer message. Returns once the message is durably
queued (True) or recognised as a duplicate (False); only then may the platform be acknowledged."""


@runtime_checkable
class Channel(Protocol):
    """A customer-facing channel adapter."""

    name: str

    async def start(self, handler: InboundHandler) -> None:
        """Begin receiving; call ``handler`` for every inbound customer message."""

    async def stop(self) -> None:
        """Stop receiving and release connections. Idempotent."""

    async def send(self, message: OutboundMessage) -> None:
        """Deliver ``message`` to ``message.ref`` (in its thread). Raises ``ChannelError``."""


@runtime_checkable
class Connected(Protocol):
    """An adapter capability: whether its platform connection is up right now (readiness and
    the ``frontdesk_channel_connected`` gauge). An adapter without it counts as connected
    while it is started."""

    @property
    def connected(self) -> bool: ...


@runtime_checkable
class Suppressing(Protocol):
    """A channel capability: how many inbound messages it deliberately did not pass on, by
    reason (auto-replies, bounces, spam, rate limit), since this process started
    (``frontdesk_suppressed_total``)."""

    @property
    def suppressed(self) -> Mapping[str, int]: ...


@runtime_checkable
class SplitsMessages(Protocol):
    """A channel capability: the platform caps a message's length. ``split`` returns the parts
    ``send`` then delivers with one platform call each (the first may carry the sender's name,
    the others not). The dispatcher stores the parts in the outbox and records progress per
    part, so a retry resumes at the part that failed instead of repeating the ones before."""

    def split(self, message: OutboundMessage) -> list[OutboundMessage]: ...


@runtime_checkable
class FiniteChannel(Channel, Protocol):
    """A channel whose input can end (piped stdin): ``finished`` is set at end of input."""

    finished: asyncio.Event


class SharedStorage(Protocol):
    """The part of the bot's store an adapter may use for its own durable state (a mailbox's
    position, a sent-mail ledger) and for singleton work (one reader per mailbox)."""

    async def kv_get(self, key: str) -> str | None: ...

    async def kv_set(self, key: str, value: str, ttl_s: float | None = None) -> None: ...

    def lock(self, name: str) -> AbstractAsyncContextManager[object]: ...


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One entry of a store's append-only log (``Store.log_append``): its number in the log
    (1, 2, ...), its id (unique in the log) and the value the writer gave. ``log`` names the
    log; an entry with an empty ``log`` from ``log_follow`` means "entries may have been
    missed here": a follower re-reads what it needs."""

    log: str
    seq: int
    entry_id: str
    value: str


@runtime_checkable
class StoreBound(Protocol):
    """An adapter capability: ``use_store`` receives the bot's store before it connects."""

    def use_store(self, store: SharedStorage) -> None: ...


@dataclass(frozen=True, slots=True)
class Part:
    """One line of ``frontdesk check``: a channel, desk, provider or store, on or off, and why."""

    kind: str
    name: str
    enabled: bool
    why: str


@dataclass(frozen=True, slots=True)
class Streams:
    """The process's own terminal, for adapters that talk through it (the terminal channel)."""

    stdin: TextIO | None = None
    stdout: TextIO | None = None


@runtime_checkable
class Adapter(Protocol):
    """What one platform package builds from the settings (``channels.<platform>.build``).

    The app starts every desk and channel (they register their handlers), then enters the
    adapter's context, which connects to the platform (Slack's shared Bolt app, the Discord
    gateway, the IMAP mailbox); leaving it disconnects. Building never connects: ``frontdesk
    check`` builds enabled adapters only to ``describe`` them.
    """

    name: str
    channels: Sequence[Channel]
    desks: Sequence[Desk]

    def connection(self) -> AbstractAsyncContextManager[None]:
        """Connect on enter (after channels and desks started), disconnect on exit."""

    def describe(self) -> list[Part]:
        """What ``frontdesk check`` prints for this platform: each part, on or off, and why."""


@dataclass(frozen=True, slots=True)
class HttpEndpoint:
    """Where a platform's requests come in over HTTP (Slack's Events API request URL): the
    address the adapter would listen on, and the aiohttp handler for ``method`` ``path``."""

    host: str
    port: int
    method: str
    path: str
    handler: Callable[[Any], Awaitable[Any]]  # aiohttp: web.Request -> web.StreamResponse


@runtime_checkable
class ServesHttp(Protocol):
    """An adapter capability: it receives on an HTTP endpoint of its own (``http_endpoint``,
    None when it does not, e.g. Slack in Socket Mode). When the bot's ops server listens on
    the same host and port, the bot mounts the handler there and calls ``serve_shared``
    before connecting: the adapter then opens no server of its own (one port to expose)."""

    def http_endpoint(self) -> HttpEndpoint | None: ...

    def serve_shared(self) -> None: ...
