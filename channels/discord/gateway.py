"""The Discord gateway, one connection per shard, each behind a store lease with failover.

Discord delivers every event of a bot (of a shard: ``guild_id >> 22 % shard_count``, DMs on
shard 0) to every gateway session open for it, so with N replicas only one may read a shard.
Each replica runs one ``Shard`` per shard: a ``Singleton`` on the lease
``discord-gateway:<bot id>:<shard>/<count>`` (``channels/singleton.py``). The holder logs a
fresh gateway-only client in and connects; a standby waits on the lease and takes over when
the holder stops (it releases the lease) or dies (the lease runs out after the store's lock
TTL). The holder steps down before its lease can expire, so two replicas never read a shard
at once.

Sending never depends on holding a shard: the connection's REST client (``connection.py``)
stays logged in on every replica. That is why the gateway has clients of its own:
``discord.Client.close()`` also closes the HTTP session, so one client cannot stop reading
and go on sending. A click or a slash command arrives on the gateway client and is answered
through it (its interaction token needs no other session).

Discord quirks handled here (why the code looks like this):

- ``setup_hook`` runs once per client (``login``): each term's fresh client registers the
  persistent buttons and the command tree again (``on_gateway`` callbacks).
- With more than one shard, Discord lets a bot IDENTIFY once per 5 s (``max_concurrency``
  1); shards on different replicas take the store lock ``discord-identify:<bot id>`` for
  that long around each IDENTIFY, else Discord answers INVALID_SESSION and they retry.
- A refused message content intent (close code 4014) is a ``ConfigError`` naming the fix.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import discord

from channels.singleton import Locks, Singleton
from channels.tasks import cancel_and_wait
from config.errors import ChannelError, ConfigError

if TYPE_CHECKING:
    from channels.discord.spread import ShardSpread

log = logging.getLogger(__name__)

IDENTIFY_SPACING_S = 5.5  # Discord: one IDENTIFY per 5 s per bot (max_concurrency 1)
_CLOSE_TIMEOUT_S = 10.0
READY_TIMEOUT_S = 60.0
INTENT_REFUSED = (
    "FRONTDESK_DISCORD__ENABLED: Discord refused the message content intent; switch on "
    "Developer Portal -> Bot -> Privileged Gateway Intents -> Message Content"
)

ClientSetup = Callable[[discord.Client], Awaitable[None]]


class GatewayClient(discord.Client):
    """A ``discord.Client`` that only reads the gateway (one shard): set-up and IDENTIFY
    pacing call back into its ``Shard``."""

    def __init__(
        self,
        on_setup: ClientSetup,
        before_identify: Callable[[bool], Awaitable[None]],
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self._frontdesk_setup = on_setup
        self._frontdesk_identify = before_identify

    async def setup_hook(self) -> None:
        await self._frontdesk_setup(self)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        await self._frontdesk_identify(initial)

    async def close(self) -> None:
        # discord.py answers READY with a task of its own that dispatches ``on_ready`` once
        # ``guild_ready_timeout`` has passed without a GUILD_CREATE. A client closed before
        # then (a term that ends just after READY: a hand-over, a lost lease, a stop) had that
        # task dispatch on the closed client: "'_MissingSentinel' object has no attribute
        # 'create_task'", and its ``_run_event`` coroutine was never awaited. Cancelled here,
        # before closing and again after (READY may still be parsed while the close runs).
        self._cancel_ready()
        try:
            await super().close()
        finally:
            self._cancel_ready()

    def _cancel_ready(self) -> None:
        ready = self._connection._ready_task
        if ready is not None:
            ready.cancel()


class Shard:
    """One gateway shard on this replica: its lease, and while held, its connection."""

    def __init__(
        self,
        index: int,
        count: int,
        locks: Locks,
        bot_id: int,
        make_client: Callable[[Shard], GatewayClient],
        token: str,
        retry_max_s: float = 30.0,
        spread: ShardSpread | None = None,
        on_end: Callable[[GatewayClient], Awaitable[None]] | None = None,
    ) -> None:
        self.index, self.count = index, count
        self.name = f"discord-gateway:{bot_id}:{index}/{count}"
        # Spread over replicas (``spread.py``): the lease is tried only when it is our turn.
        gate = (lambda: spread.wait_turn(index)) if spread is not None else None
        try_lock = spread.try_lock if spread is not None else None
        poll_s = spread.poll_s if spread is not None else 0.25
        self.singleton = Singleton(locks, self.name, retry_max_s=retry_max_s, gate=gate,
                                   try_lock=try_lock, poll_s=poll_s)  # fmt: skip
        self.locks, self.bot_id = locks, bot_id
        self.client: GatewayClient | None = None
        self.ready = asyncio.Event()  # READY seen on the current term's connection
        self.ended = asyncio.Event()  # a term ended by a failure (``failed``)
        self.failed: BaseException | None = None
        self.task: asyncio.Task[None] | None = None
        self._make_client = make_client
        self._on_end = on_end  # after each term's client has closed
        self._token = token
        self._identifying: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self.task = asyncio.create_task(self.singleton.run(self._term), name=self.name)

    async def stop(self) -> None:
        """Close the connection and give up the lease (a standby takes over at once). A
        caller cancelled meanwhile stays cancelled (``cancel_and_wait``), and the task stays
        ``self.task`` until it has ended, so that the next ``stop`` waits for it too."""
        task = self.task
        for pending in list(self._identifying):
            pending.cancel()
        await cancel_and_wait(task)
        if self.task is task:
            self.task = None

    async def first_term(self, claim_grace_s: float) -> None:
        """Wait until this shard is READY here, or is another replica's (not ours within
        ``claim_grace_s``: a free lease is taken in one store round trip)."""
        held = asyncio.create_task(self.singleton.wait_held())
        await asyncio.wait({held}, timeout=claim_grace_s)
        if not held.done():
            held.cancel()
            log.info("discord: gateway shard %d/%d is read by another replica; standing by",
                     self.index, self.count)  # fmt: skip
            return
        waits = {asyncio.create_task(self.ready.wait()), asyncio.create_task(self.ended.wait())}
        await asyncio.wait(waits, timeout=READY_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED)
        for task in waits:
            task.cancel()
        if self.ready.is_set():
            return
        if self.failed is not None:
            raise self.failed  # what ended the gateway (e.g. the intent refused)
        raise ChannelError(f"Discord: not READY after {READY_TIMEOUT_S:.0f} s")

    async def release(self) -> None:
        """Give the shard up to another replica and stand by for it again."""
        await self.stop()
        self.start()

    @property
    def holding(self) -> bool:
        return self.client is not None

    def is_open(self) -> bool:
        client = self.client
        ws = client.ws if client is not None and self.ready.is_set() else None
        return client is not None and ws is not None and ws.open and not client.is_closed()

    async def _term(self) -> None:
        """While this replica holds the lease: log in, connect, read until cancelled."""
        client = self.client = self._make_client(self)
        self.ready.clear()
        log.info("discord: this replica reads gateway shard %d/%d now", self.index, self.count)
        reading: asyncio.Task[None] | None = None
        try:
            await client.login(self._token)
            # Not ``await client.connect()``: discord.py awaits its handshake through
            # ``asyncio.wait_for``, which in Python 3.11 returns instead of raising when the
            # cancellation arrives in the loop turn the handshake completes in; the client then
            # read on, without the lease, and whoever stopped the term waited forever. Here the
            # term's own wait always ends on cancellation, and closing the client ends connect.
            reading = asyncio.create_task(client.connect(reconnect=True),
                                          name=f"{self.name}:connect")  # fmt: skip
            await asyncio.wait({reading})
            reading.result()
            log.warning("discord: gateway shard %d closed by itself", self.index)
        except discord.PrivilegedIntentsRequired as err:
            self._failed(ConfigError(INTENT_REFUSED))
            raise ConfigError(INTENT_REFUSED) from err
        except asyncio.CancelledError:
            raise
        except BaseException as err:
            self._failed(err)
            raise
        finally:
            self.client = None
            self.ready.clear()
            try:
                await _close(client, reading)
            finally:  # also when a stop cancels the close again
                if self._on_end is not None:
                    await self._on_end(client)

    def _failed(self, err: BaseException) -> None:
        self.failed = err
        self.ended.set()

    def on_ready(self) -> None:
        self.failed = None
        self.ended.clear()
        self.ready.set()

    async def before_identify(self, initial: bool) -> None:
        if not initial:
            await asyncio.sleep(5.0)  # discord.py's own pause before a re-IDENTIFY
        if self.count > 1:
            await self._identify_turn()

    async def _identify_turn(self) -> None:
        """Wait for this bot's IDENTIFY slot across replicas; the lock is held 5.5 s after
        we got it. A store that cannot be reached costs the pacing, not the connection."""
        got = asyncio.Event()

        async def hold() -> None:
            async with self.locks.lock(f"discord-identify:{self.bot_id}"):
                got.set()
                await asyncio.sleep(IDENTIFY_SPACING_S)

        task = asyncio.create_task(hold())
        self._identifying.add(task)
        task.add_done_callback(self._identifying.discard)
        waiting = asyncio.create_task(got.wait())
        await asyncio.wait({waiting, task}, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        if not got.is_set() and not task.cancelled() and task.exception() is not None:
            log.warning("discord: identify pacing unavailable (%s); identifying anyway",
                        task.exception())  # fmt: skip


async def _close(client: discord.Client, reading: asyncio.Task[None] | None = None) -> None:
    """Stop ``reading`` (the client's ``connect``) and close ``client``, within
    ``_CLOSE_TIMEOUT_S``. Closing also ends a ``connect`` that swallowed its cancellation
    (discord.py's loop stops once the client is closed). A term cancelled again meanwhile (a
    stop while it stepped down) finishes this first and is cancelled then: an abandoned close
    left the client's HTTP session and tasks running after the connection had stopped."""
    if reading is not None:
        reading.cancel()
    closing = asyncio.ensure_future(client.close())
    pending: set[asyncio.Future[Any]] = {closing} if reading is None else {closing, reading}
    loop = asyncio.get_running_loop()
    deadline, cancelled = loop.time() + _CLOSE_TIMEOUT_S, False
    while pending and (left := deadline - loop.time()) > 0:
        try:
            _, pending = await asyncio.wait(pending, timeout=left)
        except asyncio.CancelledError:
            cancelled = True
    for task in pending:
        task.cancel()
    if pending:
        log.warning("discord: a gateway client did not close within %.0f s", _CLOSE_TIMEOUT_S)
    if reading is not None and reading.done() and not reading.cancelled():
        reading.exception()  # what connect raised on the way out: retrieved, of no interest
    error = closing.exception() if closing.done() and not closing.cancelled() else None
    if error is not None:
        log.warning("discord: a gateway client did not close cleanly", exc_info=error)
    if cancelled:
        raise asyncio.CancelledError
