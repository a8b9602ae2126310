"""What every part of the Redis store stands on: the client, the key helpers, scripts and
commands (coalesced across messages on one Redis, ``brain.store.redis_batch``), and the
fenced locks (``brain.store.lease``) that guard each conversation's lane.
"""

from __future__ import annotations

import asyncio
import random
from contextlib import AbstractAsyncContextManager
from datetime import date
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from brain.store.base import (
    QueueEntry,
    StoreLimits,
    Turn,
    conversation_lock,
    lease_lost,
    lock_name,
    today,
)
from brain.store.lease import Lease, LeaseLocks
from brain.store.redis_affinity import Affinity
from brain.store.redis_batch import Coalescer
from brain.store.redis_doorbell import Doorbell
from brain.store.redis_keys import Layout
from brain.store.redis_reads import PartitionReads
from brain.store.redis_scripts import SCRIPTS
from brain.store.redis_wire import _failures, _ms, _text
from channels.base import QueueItem

Client = aioredis.Redis | RedisCluster


class RedisLanes:
    def __init__(
        self,
        client: Client,
        *,
        limits: StoreLimits,
        namespace: str = "frontdesk",
        group: str = "dispatch",
        partitions: int = 1,
        affinity: bool = False,
        consumer: str | None = None,
    ) -> None:
        """``consumer``: this process's queue consumer name, if known before it reads (with
        ``affinity`` it joins the replica roster when the store opens, so replicas started
        together split the partitions from their first read)."""
        self.client = client
        self.consumer = consumer
        self.limits = limits
        self.namespace = namespace
        self.group = group
        self.layout = Layout(namespace, partitions, isinstance(client, RedisCluster))
        # Counters bumped outside a script land in one partition per process (spread over
        # replicas); ``counters`` sums them all.
        self._home = random.randrange(partitions)
        self._turn = 0
        self._partition_of_stream = {s: p for p, s in enumerate(self.layout.streams())}
        # Entry id -> the message decoded by a recent read (``RedisQueue._head``).
        self._read_lately: dict[str, QueueItem] = {}
        # A stored turn's JSON -> the turn (``RedisTurns._stored_turn``).
        self._turns_lately: dict[bytes | str, Turn] = {}
        self._stats_day: tuple[date | None, str] = (None, "")  # the day last named, as text
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self._scripts = {name: client.register_script(src) for name, src in SCRIPTS.items()}
        # One Redis: the commands of every message in flight share pipelines. A cluster's
        # client routes each command itself, so there they go one by one.
        self._batch = None if isinstance(client, RedisCluster) else Coalescer(client)
        self._locks = LeaseLocks(self._lock_acquire, self._lock_renew, self._lock_release,
                                 limits.lock_ttl_s)  # fmt: skip
        self._doorbell = (
            Doorbell(client, self.layout.key("doorbell"))
            if isinstance(client, RedisCluster) and partitions > 1 else None
        )  # fmt: skip
        self._reads = (
            PartitionReads(self._read_partition, self._take_back)
            if self._doorbell is not None else None
        )  # fmt: skip
        self._affinity = (
            Affinity(partitions, limits.lock_ttl_s, self._roster,
                     lambda name: self._locks.hold(name, wait=False))
            if affinity else None
        )  # fmt: skip

    async def _read_partition(self, consumer: str, partition: int, count: int) -> list[QueueEntry]:
        raise NotImplementedError  # brain.store.redis_queue

    async def _take_back(self, consumer: str, partition: int) -> list[QueueEntry]:
        raise NotImplementedError  # brain.store.redis_queue

    # -- key helpers: the only places that spell a queue, outbox or lock key -----------------
    def _key(self, *parts: str) -> str:
        """A key without a hash tag (key-value entries, buckets)."""
        return self.layout.key(*parts)

    def _stream_key(self, partition: int) -> str:
        return self.layout.stream(partition)

    def _convq_key(self, conversation: str | None, partition: int | None = None) -> str:
        if conversation is None:  # a placeholder in the script's slot, never written
            return self.layout.in_partition(partition or 0, "convq", "-")
        return self.layout.of_lane(conversation_lock(conversation), "convq", conversation)

    def _outbox_key(self, inbound_key: str) -> str:
        return self.layout.of_lane(inbound_key, "outbox", inbound_key)

    def _lock_key(self, lease: Lease | str | None, partition: int = 0) -> str:
        if lease is None:  # a placeholder in the script's slot, never written
            return self.layout.in_partition(partition, "lock", "-")
        name = lease if isinstance(lease, str) else lease.name
        return self.layout.of_lane(name, "lock", name)

    def _stats(self, day: date | None, partition: int | None = None) -> str:
        where = self._home if partition is None else partition
        day = day or today()
        if day != self._stats_day[0]:  # (formatting a date twice a message showed in profiles)
            self._stats_day = (day, day.isoformat())
        return self.layout.in_partition(where, "stats", self._stats_day[1])

    def _partition_of(self, item: QueueItem) -> int:
        return self.layout.partition(lock_name(item))

    async def _script(self, name: str, keys: list[str], *args: str | float) -> Any:
        if self._batch is None:
            return await self._scripts[name](keys=keys, args=args)
        script = self._scripts[name]
        return await self._batch.evalsha(script.sha, script.script, keys, args)

    async def _cmd(self, *args: Any) -> Any:
        """One non-blocking command (``"GET", key``), parsed as redis-py parses it; coalesced
        with the other messages' commands on one Redis."""
        if self._batch is None:
            return await self.client.execute_command(*args)
        return await self._batch.call(*args)

    async def _fence(self, lease: Lease | None, lock: str) -> None:
        """The split fenced write's first half: still ours, and ours for a whole TTL."""
        if lease is None:
            return
        lease.check()
        if not await self._script("lock_renew", [lock], lease.token, _ms(self.limits.lock_ttl_s)):
            raise lease_lost(lease)

    async def _roster(self, consumer: str, joining: bool) -> list[str]:
        args = (consumer, _ms(self.limits.lock_ttl_s), "1" if joining else "0")
        with _failures("replica roster"):
            names = await self._script("roster", [self._key("replicas")], *args)
        return [_text(name) for name in names]

    # -- lock --------------------------------------------------------------------------------
    def lock(
        self, name: str, owner: str | None = None, *, wait: bool = True
    ) -> AbstractAsyncContextManager[Lease]:
        return self._locks.hold(name, owner, wait=wait)

    async def _lock_acquire(
        self, name: str, token: str, ttl_s: float, owner: str, mine: str
    ) -> bool:
        keys = [self._lock_key(name)]
        with _failures(f"lock {name!r}"):
            row = await self._script("lock_acquire", keys, token, _ms(ttl_s), owner, mine)
        return bool(row[0])

    async def _lock_renew(self, name: str, token: str, ttl_s: float) -> bool:
        with _failures(f"lock {name!r}"):
            key = self._lock_key(name)
            return bool(await self._script("lock_renew", [key], token, _ms(ttl_s)))

    async def _lock_release(self, name: str, token: str) -> None:
        if self._closed:  # no client left: the lock expires by its TTL
            return
        with _failures(f"lock {name!r}"):
            await self._script("lock_release", [self._lock_key(name)], token)
