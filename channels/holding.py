"""Customer messages held in memory while the durable queue cannot take them.

Slack, email and the web widget need nothing of the kind: each waits for the durable enqueue
before it acknowledges (Slack redelivers what was not acked, a mail stays unseen in the
mailbox, a web client gets no 202 and sends again). A platform that never delivers an event
again (Discord's gateway) has read the message once and for all: if the store is down right
then (Redis restarting, a failover), dropping the message would lose it. Such a channel hands
every message to ``HeldInbound.put`` instead of calling the queue itself:

- the message is queued at once when its conversation has nothing held;
- else, or when the queue fails, it is held in memory, behind its conversation's earlier
  held messages (arrival order per conversation), and a drain task retries with exponential
  backoff (0.5 s doubling to 2 s, jittered) until the store is back, then queues the held
  conversations, 32 at a time, each in order;
- memory is bounded: past ``limit`` held messages a new one is refused at once (``refuse``:
  the channel tells the customer to send it again) with an error log naming the limit;
- a message that fails for another reason than an unreachable store (a ``StoreError`` or a
  network error) is tried ``poison_attempts`` times, then refused: it must not block its
  conversation for ever;
- ``close`` (shutdown) waits up to ``grace_s`` for the held messages to be queued, then
  refuses each one left (logged with its id, conversation and author). Only a crash loses
  held messages, silently: memory is all there is (``docs/operations.md``).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable

from channels.base import InboundHandler, InboundMessage
from config.errors import ChannelError, StoreError

log = logging.getLogger(__name__)

# What "the store is unreachable" looks like from a channel: retried until it is back.
TRANSIENT = (StoreError, OSError, TimeoutError)
DRAIN_CONCURRENCY = 32  # conversations queued at once once the store is back


class Outcome(enum.Enum):
    QUEUED = "queued"
    DUPLICATE = "duplicate"
    HELD = "held"  # in memory; queued once the store is back
    REFUSED = "refused"  # not taken: the customer was asked to send it again


class Reason(enum.Enum):
    FULL = "full"  # the cap on held messages was reached
    FAILED = "failed"  # the queue kept refusing this message (not an outage)
    STOPPING = "stopping"  # shutting down before the store came back


Refuse = Callable[[InboundMessage, Reason], Awaitable[None]]


class HeldInbound:
    def __init__(
        self,
        name: str,
        refuse: Refuse,
        *,
        limit: int = 5000,
        retry_base_s: float = 0.5,
        retry_max_s: float = 2.0,
        poison_attempts: int = 5,
        rng: random.Random | None = None,
    ) -> None:
        self.name = name
        self.limit = limit
        self.retry_base_s, self.retry_max_s = retry_base_s, retry_max_s
        self.poison_attempts = poison_attempts
        self.refused = 0  # messages refused since start (any reason)
        self.peak = 0  # the most messages held at once
        self._refuse = refuse
        self._rng = rng or random.Random()
        self._handler: InboundHandler | None = None
        self._held: dict[str, deque[InboundMessage]] = {}  # by conversation, oldest first
        self._count = 0
        self._failures: dict[str, int] = {}  # message idempotency key -> failed attempts
        self._locks: dict[str, asyncio.Lock] = {}
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._since: float | None = None  # when the current outage began (monotonic)
        self._drainer: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def held(self) -> int:
        """Messages held now."""
        return self._count

    def start(self, handler: InboundHandler) -> None:
        self._handler, self._closing = handler, False
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain(), name=f"{self.name}-held")

    async def put(self, message: InboundMessage) -> Outcome:
        """Queue ``message`` now, or hold it; ``ChannelError`` when stopped."""
        key = message.ref.key
        async with self._lock(key):
            handler = self._handler
            if handler is None or self._closing:
                raise ChannelError(f"{self.name}: message {message.message_id} came while stopped")
            if key not in self._held:
                try:
                    return Outcome.QUEUED if await handler(message) else Outcome.DUPLICATE
                except ChannelError:
                    raise
                except Exception as err:
                    log.warning("%s: cannot queue message %s now (%s); holding it until the "
                                "queue takes it", self.name, message.message_id,
                                _why(err))  # fmt: skip
                    if not isinstance(err, TRANSIENT):
                        self._failures[message.idempotency_key] = 1
            return await self._hold(message)

    async def _hold(self, message: InboundMessage) -> Outcome:
        if self._count >= self.limit:
            log.error("%s: %d messages are held already (the limit): message %s in %s from %s "
                      "is refused and its sender asked to send it again", self.name, self._count,
                      message.message_id, message.ref.key, message.author.id)  # fmt: skip
            await self._refused(message, Reason.FULL)
            return Outcome.REFUSED
        if self._since is None:
            self._since = time.monotonic()
        self._held.setdefault(message.ref.key, deque()).append(message)
        self._count += 1
        self.peak = max(self.peak, self._count)
        self._drained.clear()
        self._wake.set()
        return Outcome.HELD

    async def close(self, grace_s: float = 5.0) -> None:
        """Stop taking messages; give the held ones ``grace_s`` to be queued, then refuse
        those left (each logged). Idempotent."""
        self._closing = True
        if self._count:
            log.warning("%s: stopping with %d held messages; waiting up to %.0f s for the "
                        "queue", self.name, self._count, grace_s)  # fmt: skip
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drained.wait(), grace_s)
        drainer, self._drainer = self._drainer, None
        if drainer is not None:
            drainer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await drainer
        left = [m for messages in self._held.values() for m in messages]
        self._held.clear()
        self._count = 0
        self._handler = None
        for message in left:
            log.error("%s: stopping: message %s in %s from %s was never queued; its sender is "
                      "asked to send it again", self.name, message.message_id, message.ref.key,
                      message.author.id)  # fmt: skip
            await self._refused(message, Reason.STOPPING)
        self._drained.set()

    # -- the drain task ---------------------------------------------------------------------

    async def _drain(self) -> None:
        attempt = 0
        while True:
            if not self._held:
                self._wake.clear()
                await self._wake.wait()
                continue
            if await self._drain_once():
                attempt = 0
                continue
            pause = min(self.retry_max_s, self.retry_base_s * 2**attempt)
            attempt += 1
            await asyncio.sleep(self._rng.uniform(pause / 2, pause))

    async def _drain_once(self) -> bool:
        """Queue what is held, conversation by conversation (``DRAIN_CONCURRENCY`` at once,
        after one conversation showed the queue is back); False if it is still down."""
        keys = list(self._held)
        if not keys or not await self._drain_conversation(keys[0]):
            return not keys
        gate = asyncio.Semaphore(DRAIN_CONCURRENCY)

        async def drain(key: str) -> bool:
            async with gate:
                return await self._drain_conversation(key)

        results = await asyncio.gather(*(drain(key) for key in keys[1:]))
        if not self._held and self._since is not None:
            log.warning("%s: the queue is back: the held messages are queued, after %.1f s",
                        self.name, time.monotonic() - self._since)  # fmt: skip
            self._since = None
            self._drained.set()
        return all(results)

    async def _drain_conversation(self, key: str) -> bool:
        """Queue ``key``'s held messages in order; False if the queue failed (still down, or
        a message that failed and was not given up yet)."""
        async with self._lock(key):
            while messages := self._held.get(key):
                handler = self._handler
                if handler is None:
                    return False
                message = messages[0]
                try:
                    await handler(message)
                except TRANSIENT as err:
                    log.info("%s: the queue is still unavailable (%s); %d messages held",
                             self.name, _why(err), self._count)  # fmt: skip
                    return False
                except Exception as err:
                    if not self._given_up(message, err):
                        return False
                    self._pop(key)
                    await self._refused(message, Reason.FAILED)
                    continue
                self._pop(key)
        return True

    def _given_up(self, message: InboundMessage, err: Exception) -> bool:
        """True if ``message`` failed too often and was given up (refused)."""
        failures = self._failures.get(message.idempotency_key, 0) + 1
        self._failures[message.idempotency_key] = failures
        if failures < self.poison_attempts:
            log.warning("%s: queueing message %s failed (%s); attempt %d of %d", self.name,
                        message.message_id, _why(err), failures, self.poison_attempts)  # fmt: skip
            return False
        log.error("%s: message %s in %s from %s could not be queued after %d attempts; its "
                  "sender is asked to send it again", self.name, message.message_id,
                  message.ref.key, message.author.id, failures, exc_info=err)  # fmt: skip
        return True

    def _pop(self, key: str) -> None:
        messages = self._held[key]
        message = messages.popleft()
        self._failures.pop(message.idempotency_key, None)
        self._count -= 1
        if not messages:
            del self._held[key]

    async def _refused(self, message: InboundMessage, reason: Reason) -> None:
        self.refused += 1
        self._failures.pop(message.idempotency_key, None)
        try:
            await self._refuse(message, reason)
        except Exception:
            log.exception("%s: could not tell the sender of message %s in %s (%s) to send it "
                          "again", self.name, message.message_id, message.ref.key,
                          reason.value)  # fmt: skip

    def _lock(self, key: str) -> asyncio.Lock:
        # One lock per conversation with something held or in flight: asyncio.Lock is FIFO, so
        # messages of a conversation reach the queue in the order they arrived.
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        if len(self._locks) > 4 * self.limit:  # forget idle ones (bounded memory)
            idle = [k for k, v in self._locks.items() if not v.locked() and k not in self._held]
            for name in idle:
                if name != key:
                    del self._locks[name]
        return lock


def _why(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
