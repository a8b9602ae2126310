"""Redis backend: the production store, shared by every replica of Frontdesk.

The client, key helpers, scripts and locks are in ``brain.store.redis_lanes`` (on one Redis
the scripts and the simple reads go through ``brain.store.redis_batch``, which sends what
concurrent messages issue in one event-loop tick as one pipeline); the queue and outbox in
``brain.store.redis_queue``; conversations and the dispatcher's combined steps (lock + head +
first turn, the reply with its turns) in ``brain.store.redis_turns``; the key layout (one
stream, or partitions whose keys carry hash tags so the store also runs on a Redis Cluster)
in ``brain.store.redis_keys``. Steps that must be atomic are Lua scripts (one command: nothing
interleaves) or WATCH/MULTI transactions, each on keys of one slot. Conversations, outbox
records, idempotency keys and closed tickets carry a TTL, so Redis enforces retention.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from datetime import date
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.exceptions import RedisClusterException, RedisError
from redis.typing import EncodableT

from brain.store.base import (
    OPEN_STATUSES,
    StoreLimits,
    Ticket,
    TicketPatch,
    TicketStatus,
    utcnow,
)
from brain.store.redis_layout import check_layout
from brain.store.redis_turns import RedisTurns
from brain.store.redis_wire import _failures, _ms, _text
from channels.base import Author, ConversationRef, LogEntry
from config.errors import StoreError
from config.sections.store import redis_urls

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

_CLOSED_STATUSES = tuple(s for s in TicketStatus if s not in OPEN_STATUSES)
# Per node on a cluster (connections are made on demand): redis-py's cluster client fails
# a command instead of waiting when a node's pool is full, so the ceiling is set high.
CLUSTER_CONNECTIONS_PER_NODE = 512
# Commands in flight on a cluster, all nodes together (``BoundedCluster``): below one node's
# ceiling, so no node's pool runs out however the commands fall, with room left for the
# few pipelines (which bypass the bound).
CLUSTER_COMMANDS_IN_FLIGHT = 384
# How long a cluster command may go unanswered (redis-py's default is 5 s). While a master hangs
# (a frozen host: connections accepted, nothing answered), redis-py's cluster client rereads the
# slot map under one client-wide lock after any connection error or CLUSTERDOWN, asking the
# known nodes in random order, the hung one too; every command of every conversation waits
# for that lock, so this timeout is how long the whole bot pauses each time it asks the hung
# node (bench/cluster_failover.py). Frontdesk sends no command that takes this long on a
# healthy node (reads block at most 0.2 s).
CLUSTER_SOCKET_TIMEOUT_S = 2.0


class BoundedCluster(RedisCluster):
    """A cluster client whose callers wait for room instead of failing. redis-py's cluster
    client has no blocking pool: once a node has ``max_connections`` commands in flight, the
    next one fails with ``MaxConnectionsError``. A burst of 2,000 messages handed over at once
    (``bench/cluster.py``) put some 700 enqueues on each master and failed some of them. Here
    at most ``in_flight`` commands run at once, and the rest wait their turn, as callers of
    the single-Redis store's ``BlockingConnectionPool`` do."""

    def __init__(self, *args: Any, in_flight: int = CLUSTER_COMMANDS_IN_FLIGHT,
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        self._room = asyncio.Semaphore(in_flight)

    async def execute_command(self, *args: EncodableT, **kwargs: Any) -> Any:
        async with self._room:
            return await super().execute_command(*args, **kwargs)


class RedisStore(RedisTurns):
    backend = "redis"

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        limits: StoreLimits,
        max_connections: int = 64,
        cluster: bool = False,
        **kwargs: Any,
    ) -> RedisStore:
        """A store whose pool makes callers wait for a free connection instead of failing
        ("Too many connections") when many conversations are busy at once. ``cluster``:
        ``url`` names one node of a Redis Cluster, or several separated by commas (startup
        nodes: the client asks them in turn until one answers, which tells it the rest; all
        are reached with the first URL's credentials and options)."""
        if cluster:
            first, *others = redis_urls(url)
            nodes = [ClusterNode(parts.hostname or "localhost", parts.port or 6379)
                     for parts in map(urlsplit, others)]  # fmt: skip
            client = BoundedCluster.from_url(
                first,
                startup_nodes=nodes or None,
                max_connections=max(max_connections, CLUSTER_CONNECTIONS_PER_NODE),
                socket_timeout=CLUSTER_SOCKET_TIMEOUT_S,
            )
            return cls(client, limits=limits, **kwargs)
        pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=30
        )
        return cls(aioredis.Redis.from_pool(pool), limits=limits, **kwargs)

    # -- plumbing ----------------------------------------------------------------------------
    async def open(self) -> None:
        try:
            await self.client.ping()
        except (RedisError, RedisClusterException, OSError) as err:
            raise StoreError(f"cannot reach Redis at {self._where()}: {err}") from err
        with _failures("checking the key layout"):
            await check_layout(self.client, self.layout)
        with _failures("creating the consumer groups"):
            await self._create_groups()
        if self._affinity is not None and self.consumer is not None:
            await self._roster(self.consumer, True)
        with _failures("loading scripts"):
            # Loaded once up front: otherwise every connection's first call of each script
            # fails with NOSCRIPT and costs a second and third round trip. (A cluster client
            # sends SCRIPT LOAD to every primary.)
            if isinstance(self.client, RedisCluster):
                for script in self._scripts.values():
                    await self.client.script_load(script.script)
            else:
                async with self.client.pipeline(transaction=False) as pipe:
                    for script in self._scripts.values():
                        pipe.script_load(script.script)
                    await pipe.execute()

    def _where(self) -> str:
        """Host and port (or socket path) for messages; the URL would carry the password."""
        if isinstance(self.client, RedisCluster):
            nodes = self.client.nodes_manager.startup_nodes.values()
            return "the cluster at " + ", ".join(f"{n.host}:{n.port}" for n in nodes)
        kwargs = self.client.connection_pool.connection_kwargs
        if "path" in kwargs:
            return str(kwargs["path"])
        return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"

    async def close(self) -> None:
        if self._affinity is not None:
            await self._affinity.close()
        if self._reads is not None:
            await self._reads.close()
        if self._doorbell is not None:
            await self._doorbell.close()
        if self._batch is not None:
            await self._batch.close()
        self._closed = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.client.aclose()

    async def purge_expired(self) -> int:
        """Redis expires keys itself; only closed-ticket index entries outlive their ticket."""
        removed = 0
        with _failures("purge_expired"):
            for status in _CLOSED_STATUSES:
                ids: list[Any] = await self.client.zrange(self._index(status), 0, -1)
                async with self.client.pipeline(transaction=False) as pipe:
                    for ticket_id in ids:
                        pipe.exists(self._ticket_key(_text(ticket_id)))
                    alive = await pipe.execute()
                gone = [ticket_id for ticket_id, kept in zip(ids, alive, strict=True) if not kept]
                if gone:
                    removed += int(await self.client.zrem(self._index(status), *gone))
        return removed

    async def _transaction(self, attempt: Callable[[Pipeline], Awaitable[_T]], key: str) -> _T:
        """WATCH ``key``, run ``attempt``, EXEC; again when a watched key changed. (redis-py
        types the cluster's callable as a coroutine object, hence ``Any``.)"""
        client: Any = self.client
        result: _T = await client.transaction(attempt, key, value_from_callable=True)
        return result

    # -- tickets -----------------------------------------------------------------------------
    async def open_ticket(
        self,
        ref: ConversationRef,
        customer: Author,
        reasons: Sequence[str],
        summary: str,
        details: Mapping[str, Any] | None = None,
    ) -> tuple[Ticket, bool]:
        pointer = self._pointer_key(ref.key)

        async def attempt(pipe: Pipeline) -> tuple[Ticket, bool]:
            # WATCHing the pointer makes EXEC fail (and this run again) if a concurrent opener
            # set it first. Returning early still EXECs an empty transaction, which is harmless.
            current = await pipe.get(pointer)
            existing = await self.get_ticket(_text(current)) if current else None
            if existing is not None and existing.is_open:
                return existing, False
            seq = int(await self.client.incr(self.layout.tickets("ticket_seq")))
            now = utcnow()
            ticket = Ticket.opened(f"T-{seq}", ref, customer, reasons, summary, details, now)
            pipe.multi()  # type: ignore[no-untyped-call]
            pipe.set(self._ticket_key(ticket.id), ticket.to_json())
            pipe.set(pointer, ticket.id)
            pipe.zadd(self._index(ticket.status), {ticket.id: seq})
            return ticket, True

        with _failures("open_ticket"):
            result: tuple[Ticket, bool] = await self._transaction(attempt, pointer)
        return result

    async def open_ticket_for(self, conversation_key: str) -> Ticket | None:
        with _failures("open_ticket_for"):
            ticket_id = await self._cmd("GET", self._pointer_key(conversation_key))
        return await self._open_ticket(_text(ticket_id)) if ticket_id else None

    async def list_tickets(self, statuses: Collection[TicketStatus]) -> list[Ticket]:
        wanted = {TicketStatus(s) for s in statuses}
        scored: list[Any] = []
        with _failures("list_tickets"):
            for status in wanted:
                scored += await self.client.zrange(self._index(status), 0, -1, withscores=True)
            if not scored:
                return []
            scored.sort(key=lambda pair: float(pair[1]))  # score = ticket number = age order
            raws = await self.client.mget([self._ticket_key(_text(m)) for m, _ in scored])
        tickets = (Ticket.from_json(raw) for raw in raws if raw is not None)
        return [t for t in tickets if t.status in wanted]  # in case one moved between reads

    async def transition_ticket(
        self, ticket_id: str, expected_epoch: int, status: TicketStatus, agent: str | None
    ) -> Ticket | None:
        key = self._ticket_key(ticket_id)

        async def attempt(pipe: Pipeline) -> Ticket | None:
            # KEY is WATCHed: a concurrent transition makes EXEC fail and this run again, and
            # the rerun then sees the new epoch. That is the compare-and-set.
            raw = await pipe.get(key)
            current = Ticket.from_json(raw) if raw is not None else None
            if current is None or current.epoch != expected_epoch:
                return None
            ticket = current.moved(status, agent, utcnow())
            pointer = self._pointer_key(ticket.ref.key)
            await pipe.watch(pointer)
            owner = await pipe.get(pointer)
            pipe.multi()  # type: ignore[no-untyped-call]
            if ticket.is_open:
                pipe.set(key, ticket.to_json())
                if owner is None:
                    pipe.set(pointer, ticket.id)
            else:  # closed tickets are kept for the retention period, then expire
                pipe.set(key, ticket.to_json(), px=_ms(self.limits.retention_s))
                if owner is not None and _text(owner) == ticket.id:
                    pipe.delete(pointer)
            pipe.zrem(self._index(current.status), ticket.id)
            pipe.zadd(self._index(ticket.status), {ticket.id: int(ticket.id.removeprefix("T-"))})
            return ticket

        with _failures("transition_ticket"):
            result: Ticket | None = await self._transaction(attempt, key)
        return result

    async def annotate_ticket(self, ticket_id: str, patch: TicketPatch) -> Ticket | None:
        key = self._ticket_key(ticket_id)

        async def attempt(pipe: Pipeline) -> Ticket | None:
            raw = await pipe.get(key)  # WATCHed: a concurrent write makes this run again
            if raw is None:
                return None
            current = Ticket.from_json(raw)
            ticket = patch.apply(current)
            ttl = await pipe.pttl(key)
            pipe.multi()  # type: ignore[no-untyped-call]
            pipe.set(key, ticket.to_json(), px=ttl if ttl > 0 else None)
            return ticket

        with _failures("annotate_ticket"):
            result: Ticket | None = await self._transaction(attempt, key)
        return result

    # -- kv ----------------------------------------------------------------------------------
    async def kv_set(self, key: str, value: str, ttl_s: float | None = None) -> None:
        with _failures("kv_set"):
            px = _ms(self.limits.kept(ttl_s)) if ttl_s is not None else None
            await self.client.set(self._key("kv", key), value, px=px)

    async def kv_get(self, key: str) -> str | None:
        with _failures("kv_get"):
            raw = await self._cmd("GET", self._key("kv", key))
        return _text(raw) if raw is not None else None

    async def kv_delete(self, key: str) -> None:
        with _failures("kv_delete"):
            await self.client.delete(self._key("kv", key))

    async def kv_scan(self, prefix: str) -> dict[str, str]:
        head = self._key("kv", "")
        pattern = head + re.sub(r"([*?\[\]\\])", r"\\\1", prefix) + "*"
        found: dict[str, str] = {}
        with _failures("kv_scan"):
            keys = [k async for k in self.client.scan_iter(match=pattern, count=500)]
            values = await self._mget(keys) if keys else []
        for key, value in zip(keys, values, strict=True):
            if value is not None:
                found[_text(key).removeprefix(head)] = _text(value)
        return dict(sorted(found.items()))

    def _index(self, status: TicketStatus) -> str:
        return self.layout.tickets("tickets", status.value)

    # -- per-customer rate -------------------------------------------------------------------
    async def take_token(self, bucket: str, rate_per_s: float, burst: int) -> float:
        full_s = max(1.0, burst / rate_per_s)  # a bucket idle this long is full: forget it
        keys = [self._key("bucket", bucket)]
        with _failures("take_token"):
            wait = await self._script("take_token", keys, rate_per_s, burst, _ms(full_s))
        return float(_text(wait))

    # -- counters ----------------------------------------------------------------------------
    async def incr(self, name: str, amount: float = 1, day: date | None = None) -> None:
        await self.incr_many({name: amount}, day)

    async def incr_many(self, amounts: Mapping[str, float], day: date | None = None) -> None:
        key = self._stats(day)
        with _failures("incr"):
            async with self.client.pipeline(transaction=True) as pipe:
                for name, amount in amounts.items():
                    pipe.hincrbyfloat(key, name, amount)
                pipe.pexpire(key, _ms(self.limits.retention_s))
                await pipe.execute()

    async def counters(self, day: date | None = None) -> dict[str, float]:
        totals: dict[str, float] = {}
        with _failures("counters"):
            keys = [self._stats(day, p) for p in range(self.layout.partitions)]
            hashes = await asyncio.gather(*(self.client.hgetall(key) for key in keys))
        for raw in hashes:
            for name, value in raw.items():
                totals[_text(name)] = totals.get(_text(name), 0.0) + float(value)
        return totals

    async def _mget(self, keys: list[Any]) -> list[Any]:
        """Values of keys in any slots (a cluster's MGET takes one slot only)."""
        if isinstance(self.client, RedisCluster):
            return await self.client.mget_nonatomic(keys)
        return await self.client.mget(keys)

    # -- append-only logs ----------------------------------------------------------------------
    def _log_keys(self, log: str) -> list[str]:
        return [self.layout.of_log(log, kind) for kind in ("log", "logids", "logseq")]

    async def log_append(
        self, log: str, entry_id: str, value: str, topic: str | None = None
    ) -> tuple[LogEntry, bool]:
        channel = self._key("logfeed", topic) if topic is not None else ""
        args = (entry_id, value, _ms(self.limits.retention_s), channel, log)
        with _failures("log append"):
            seq, member, added = await self._script("log_append", self._log_keys(log), *args)
        stored = json.loads(member)[1] if member else value
        return LogEntry(log, int(seq), entry_id, stored), bool(added)

    async def log_read(self, log: str, after: int = 0, limit: int = 100) -> list[LogEntry]:
        key = self.layout.of_log(log, "log")
        with _failures("log read"):
            rows = await self.client.zrangebyscore(key, f"({after}", "+inf", start=0, num=limit,
                                                   withscores=True)  # fmt: skip
        entries = []
        for member, score in cast("list[tuple[bytes, float]]", rows):
            entry_id, value = json.loads(member)
            entries.append(LogEntry(log, int(score), entry_id, value))
        return entries

    async def log_follow(self, topic: str) -> AsyncIterator[LogEntry]:
        # Pub/sub delivers to whoever listens at the time, so a lost connection is a gap the
        # follower is told of (it re-reads the logs it cares about).
        channel = self._key("logfeed", topic)
        subscribed_before = False
        while not self._closed:
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(channel)
                if subscribed_before:
                    yield LogEntry("", 0, "", "")
                subscribed_before = True
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    log, seq, entry_id, value = json.loads(message["data"])
                    yield LogEntry(log, int(seq), entry_id, value)
            except (RedisError, RedisClusterException, OSError) as err:
                logger.warning("following %s: %s; subscribing again in 1 s", channel, err)
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(RedisError, RedisClusterException, OSError):
                    await cast("Any", pubsub).aclose()  # typed only from redis-py 8.2 on
