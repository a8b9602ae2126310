"""Webhooks out: every ``BotEvent`` goes to each subscriber as signed JSON, from a durable
queue on the bot's store (``channels.web.hookqueue``), in order per conversation, at least
once, retried with backoff, by one replica at a time.

Each request carries ``Frontdesk-Event`` (the event type), ``Frontdesk-Event-Id`` (stable
across retries: de-duplicate on it), ``Frontdesk-Timestamp`` (Unix seconds) and
``Frontdesk-Signature: v1=<hex>``, the HMAC-SHA256 of ``"<timestamp>.<body>"`` with the
subscriber's secret. Only a 2xx response counts as delivered."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import random
import time
from collections.abc import Sequence
from typing import Any

import aiohttp

from channels.base import BotEvent
from channels.web.hookqueue import Hook, HookQueue
from config.errors import FrontdeskError, StoreError

logger = logging.getLogger(__name__)

MAX_BACKOFF_S = 600.0
IDLE_S = 1.0
LOCK = "web:webhooks"
CONCURRENCY = 8
# A standby asks for the sender's lease once, then again after a backoff that doubles from
# STANDBY_MIN_S to STANDBY_MAX_S (with jitter): a few requests a minute instead of the lock's
# own 20 polls a second. Taking over from a holder that stopped takes at most STANDBY_MAX_S;
# from one that died, the store's lock TTL plus at most STANDBY_MAX_S.
STANDBY_MIN_S = 0.5
STANDBY_MAX_S = 5.0


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def event_body(event: BotEvent) -> str:
    conversation = {"channel": event.ref.channel, "id": event.ref.conversation_id,
                    "key": event.ref.key}  # fmt: skip
    payload: dict[str, Any] = {
        "id": event.event_id, "type": event.kind, "created_at": event.occurred_at.isoformat(),
        "conversation": conversation, "data": dict(event.data),
    }  # fmt: skip
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


class Webhooks:
    def __init__(
        self,
        store: HookQueue,
        subscribers: Sequence[tuple[str, str]],
        events: Sequence[str] = (),
        max_attempts: int = 12,
        retry_s: float = 2.0,
        timeout_s: float = 10.0,
        standby_s: tuple[float, float] = (STANDBY_MIN_S, STANDBY_MAX_S),
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.secrets = dict(subscribers)
        self.events = frozenset(events)
        self.max_attempts = max_attempts
        self.retry_s = retry_s
        self.timeout_s = timeout_s
        self.standby_s = standby_s
        self.terms = 0  # times this process took the sender's lease
        self.tries = 0  # times it asked for it
        self._rng = rng or random.Random()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._session: aiohttp.ClientSession | None = None

    async def queue(self, event: BotEvent) -> None:
        if not self.secrets or (self.events and event.kind not in self.events):
            return
        await self.store.queue(list(self.secrets), event.event_id, event.ref.key,
                               event_body(event))  # fmt: skip
        self._wake.set()

    async def start(self) -> None:
        if self.secrets and self._task is None:
            timeout = aiohttp.ClientTimeout(total=self.timeout_s)
            self._session = aiohttp.ClientSession(timeout=timeout)
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="web-webhooks")

    async def stop(self) -> None:
        if self._task is not None:
            # Also told by a flag: on Python 3.11 a cancellation that arrives as a store call
            # finishes can be swallowed inside the client library (its asyncio.wait_for), and
            # the sender would go on forever; with the flag it stops within IDLE_S.
            self._stopping = True
            self._wake.set()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _run(self) -> None:
        # One sender across replicas: the others stand by and take over when its holder stops
        # or dies (its lease runs out).
        backoff = self.standby_s[0]
        while not self._stopping:
            held = False
            try:
                self.tries += 1
                async with self.store.storage.lock(LOCK, wait=False) as lease:
                    held, backoff = True, self.standby_s[0]
                    self.terms += 1
                    await self._send_while_held(lease)
            except asyncio.CancelledError:
                raise
            except StoreError as err:
                if held:  # the lease was lost while sending: stand by like the others
                    logger.warning("webhook sender lost its lease (%s); standing by", err)
                else:  # held by another replica (or the store did not answer)
                    logger.debug("webhook sender standing by: %s", err)
            except Exception:
                logger.exception("webhook sender failed; again in 5 s")
                await asyncio.sleep(5.0)
            await asyncio.sleep(self._rng.uniform(backoff / 2, backoff))
            backoff = min(self.standby_s[1], backoff * 2)

    async def _send_while_held(self, lease: object) -> None:
        while not getattr(lease, "lost", False) and not self._stopping:
            self._wake.clear()
            try:
                due = await self.store.due(time.time())
                if due:
                    gate = asyncio.Semaphore(CONCURRENCY)
                    await asyncio.gather(*(self._send(hook, gate) for hook in due))
                    continue
                next_at = await self.store.next_at()
            except FrontdeskError:
                logger.exception("webhook queue failed; retrying in 5 s")
                next_at = time.time() + 5.0
            # Events raised on other replicas are found by looking again within IDLE_S.
            wait = IDLE_S if next_at is None else min(IDLE_S, max(0.0, next_at - time.time()))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()

    async def _send(self, hook: Hook, gate: asyncio.Semaphore) -> None:
        if hook.subscriber not in self.secrets:  # removed from the settings since
            await self.store.done(hook, "dropped", "subscriber no longer configured")
            return
        async with gate:
            error = await self._post(hook)
        if error is None:
            await self.store.done(hook)
            return
        attempts = hook.attempts + 1
        if attempts >= self.max_attempts:
            # The receiver stayed down past every retry: later events of this conversation
            # must not wait forever behind it. Kept in the database as failed.
            logger.error("webhook %s to %s failed %d times, giving up: %s",
                         hook.event_id, hook.subscriber, attempts, error)  # fmt: skip
            await self.store.done(hook, "failed", error)
            return
        delay = min(MAX_BACKOFF_S, self.retry_s * 2 ** (attempts - 1))
        logger.warning("webhook %s to %s failed (%s); retry %d in %.1f s",
                       hook.event_id, hook.subscriber, error, attempts, delay)  # fmt: skip
        await self.store.retry(hook, attempts, time.time() + delay, error)

    async def _post(self, hook: Hook) -> str | None:
        """None when delivered; otherwise what went wrong."""
        assert self._session is not None
        body = hook.body.encode()
        timestamp = str(int(time.time()))
        event_type = json.loads(hook.body)["type"]
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Frontdesk-Webhooks/1",
            "Frontdesk-Event": event_type,
            "Frontdesk-Event-Id": hook.event_id,
            "Frontdesk-Timestamp": timestamp,
            "Frontdesk-Signature": signature(self.secrets[hook.subscriber], timestamp, body),
        }
        try:
            async with self._session.post(hook.subscriber, data=body, headers=headers) as resp:
                if 200 <= resp.status < 300:
                    return None
                return f"HTTP {resp.status}"
        except (aiohttp.ClientError, TimeoutError) as err:
            return type(err).__name__
