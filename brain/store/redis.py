"""Redis backend: the production store, shared by every replica of Frontdesk.

Inbound messages live in a stream read through one consumer group, so an entry taken by a
worker that dies stays pending until another worker claims it. Steps that must be atomic are
Lua scripts (one command: nothing interleaves) or WATCH/MULTI transactions. Conversations,
outbox records, idempotency keys and closed tickets carry a TTL, so Redis enforces retention.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator, Collection, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime
from typing import Any, cast

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.exceptions import NoScriptError, RedisError, ResponseError
from redis.typing import KeyT, StreamIdT

from brain.store.base import (
    CUSTOMER_ROLE,
    OPEN_STATUSES,
    Conversation,
    HeldConversation,
    OutboxRecord,
    QueueEntry,
    StoreLimits,
    Ticket,
    TicketPatch,
    TicketStatus,
    Turn,
    TurnContext,
    TurnStart,
    conversation_lock,
    conversation_of,
    lease_lost,
    outbox_from_json,
    outbox_to_json,
    ref_from_json,
    ref_to_json,
    today,
    utcnow,
)
from brain.store.lease import Lease, LeaseLocks
from channels.base import (
    Author,
    ConversationRef,
    LogEntry,
    OutboundMessage,
    QueueItem,
    decode_queue_item,
)
from config.errors import StoreError

logger = logging.getLogger(__name__)

# Pieces several scripts share. The lock: free, or left by our own consumer name before a
# restart (ARGV[3] owner prefix, ARGV[4] this incarnation's prefix), so it is ours.
_TAKE_LOCK = """
        local current = redis.call('GET', KEYS[1])
        if current then
          if ARGV[3] == '' or string.sub(current, 1, #ARGV[3]) ~= ARGV[3]
             or string.sub(current, 1, #ARGV[4]) == ARGV[4] then return {0} end
        end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])"""
# One turn into a conversation's meta hash (ref, updated_at, seq), turns list and turn-id
# zset. The ids are trimmed with the list, so "already there" means "in the kept history", as
# with SQLite. The ref (with its reply hints) follows the customer's latest message.
_APPEND = """
        local function append(meta, turns, ids, id, payload, ref, at, limit, ttl, customer)
          if redis.call('ZSCORE', ids, id) then return 0 end
          local seq = redis.call('HINCRBY', meta, 'seq', 1)
          redis.call('HSET', meta, 'updated_at', at)
          if customer == '1' or redis.call('HEXISTS', meta, 'ref') == 0 then
            redis.call('HSET', meta, 'ref', ref)
          end
          redis.call('RPUSH', turns, payload)
          redis.call('LTRIM', turns, -tonumber(limit), -1)
          redis.call('ZADD', ids, seq, id)
          redis.call('ZREMRANGEBYRANK', ids, 0, -tonumber(limit) - 1)
          for _, key in ipairs({meta, turns, ids}) do redis.call('PEXPIRE', key, ttl) end
          return 1
        end"""

# Lua text with shared pieces prepended: kept as written.
# fmt: off
_SCRIPTS = {
    # SET NX succeeds only for the first copy of a message, and only that copy is appended.
    # KEYS[3]: the conversation's list of unfinished entry ids, in queue order (ARGV[4] '1').
    "enqueue": """
        if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 0 end
        local id = redis.call('XADD', KEYS[2], '*', 'message', ARGV[2], 'conv', ARGV[3])
        if ARGV[4] == '1' then
          redis.call('RPUSH', KEYS[3], id)
          redis.call('PEXPIRE', KEYS[3], ARGV[5])
        end
        return 1""",
    # The oldest unfinished entry of a conversation; ids whose entry is gone (acked without
    # the index, or lost with the stream) are dropped on the way.
    "head_of": """
        while true do
          local id = redis.call('LINDEX', KEYS[1], 0)
          if not id then return false end
          local rows = redis.call('XRANGE', KEYS[2], id, id)
          if #rows > 0 then return rows[1] end
          redis.call('LPOP', KEYS[1])
        end""",
    # KEYS: outbox, lock (fenced when ARGV[3] holds a token), stats. ARGV[4..]: counter
    # name/amount pairs, added only by the call that creates the record.
    "outbox_put": """
        if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[3] then return 0 end
        if redis.call('HSETNX', KEYS[1], 'messages', ARGV[1]) == 1 then
          redis.call('HSET', KEYS[1], 'sent_count', 0)
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
          for i = 4, #ARGV, 2 do redis.call('HINCRBYFLOAT', KEYS[3], ARGV[i], ARGV[i + 1]) end
          if #ARGV > 3 then redis.call('PEXPIRE', KEYS[3], ARGV[2]) end
        end
        return redis.call('HMGET', KEYS[1], 'messages', 'sent_count', 'failures', 'dead')""",
    # The end of one message. KEYS: lock, outbox, stream, stats, the conversation's entry list.
    # ARGV: token ('' = unfenced), entry id, group, sent count ('' = none), retention ms,
    # '1' to drop the id from the conversation's list, '1' to release, counter pairs.
    "finish": """
        if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        if ARGV[4] ~= '' then
          local current = redis.call('HGET', KEYS[2], 'sent_count')
          if current and tonumber(current) < tonumber(ARGV[4]) then
            redis.call('HSET', KEYS[2], 'sent_count', ARGV[4])
          end
        end
        for i = 8, #ARGV, 2 do redis.call('HINCRBYFLOAT', KEYS[4], ARGV[i], ARGV[i + 1]) end
        if #ARGV > 7 then redis.call('PEXPIRE', KEYS[4], ARGV[5]) end
        redis.call('XACK', KEYS[3], ARGV[3], ARGV[2])
        redis.call('XDEL', KEYS[3], ARGV[2])
        if ARGV[6] == '1' then redis.call('LREM', KEYS[5], 1, ARGV[2]) end
        if ARGV[1] ~= '' and ARGV[7] == '1' then redis.call('DEL', KEYS[1]) end
        return 1""",
    # Both only touch a record that exists (a missing one must not become a hash without
    # messages and without a TTL).
    "outbox_failed": """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        return redis.call('HINCRBY', KEYS[1], 'failures', 1)""",
    "outbox_dead": """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        return redis.call('HSETNX', KEYS[1], 'dead', 1)""",
    # sent_count only grows (a stale update must not cause a resend), and a missing record
    # stays missing rather than becoming a hash without messages and without a TTL.
    "outbox_sent": """
        local current = redis.call('HGET', KEYS[1], 'sent_count')
        if current and tonumber(current) < tonumber(ARGV[1]) then
          redis.call('HSET', KEYS[1], 'sent_count', ARGV[1])
        end""",
    "lock_acquire": _TAKE_LOCK + """
        return {1}""",
    # The lock, then (KEYS[2], KEYS[3]: the conversation's entry list, the stream) what
    # head_of would return, then, if the head is entry ARGV[5], what begin_turn does (KEYS[4..7]
    # and ARGV[6..12] as there): one round trip where there were three.
    "lock_head": _APPEND + _TAKE_LOCK + """
        local head = false
        while true do
          local id = redis.call('LINDEX', KEYS[2], 0)
          if not id then break end
          local rows = redis.call('XRANGE', KEYS[3], id, id)
          if #rows > 0 then head = rows[1] break end
          redis.call('LPOP', KEYS[2])
        end
        if not head then return {1} end
        if #KEYS < 4 or head[1] ~= ARGV[5] then return {1, head} end
        local added = append(KEYS[4], KEYS[5], KEYS[6], ARGV[6], ARGV[7], ARGV[8], ARGV[9],
                             ARGV[10], ARGV[11], ARGV[12])
        local meta = redis.call('HMGET', KEYS[4], 'ref', 'updated_at')
        return {1, head, {added, meta[1], meta[2], redis.call('LRANGE', KEYS[5], 0, -1),
                          redis.call('GET', KEYS[7])}}""",
    # Token bucket on the server's clock (replicas' clocks may differ). ARGV: rate per second,
    # burst, TTL ms. Returns the wait in seconds as a string (Lua numbers become integers).
    "take_token": """
        local clock = redis.call('TIME')
        local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
        local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
        local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
        local tokens = tonumber(state[1]) or burst
        local at = tonumber(state[2]) or now
        tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
        local wait = 0
        if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
        redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
        redis.call('PEXPIRE', KEYS[1], ARGV[3])
        return tostring(wait)""",
    # A lock is renewed or released only while it still holds our token.
    "lock_renew": """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        return redis.call('PEXPIRE', KEYS[1], ARGV[2])""",
    "lock_release": """
        if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end""",
    # KEYS: meta, turns, ids. ARGV: turn id, turn, ref, updated_at, limit, TTL ms, customer.
    "append_turn": _APPEND + """
        return append(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5],
                      ARGV[6], ARGV[7])""",
    # append_turn, then the conversation and (KEYS[4]) its open-ticket pointer.
    "begin_turn": _APPEND + """
        local added = append(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4],
                             ARGV[5], ARGV[6], ARGV[7])
        local meta = redis.call('HMGET', KEYS[1], 'ref', 'updated_at')
        return {added, meta[1], meta[2], redis.call('LRANGE', KEYS[2], 0, -1),
                redis.call('GET', KEYS[4])}""",
    # outbox_put (fenced) of the bot's reply with its turns, only while the open-ticket
    # pointer (KEYS[7]) is still ARGV[4] ('' none). KEYS: outbox, lock, stats, meta, turns,
    # ids, pointer. ARGV: messages, TTL ms, token, pointer, ref, updated_at, limit, number of
    # turns, (turn id, turn, customer) per turn, counter pairs. Returns {0} (lease lost),
    # {1, record} or {2, pointer} (a ticket may be open: nothing written).
    "outbox_put_reply": _APPEND + """
        if redis.call('GET', KEYS[2]) ~= ARGV[3] then return {0} end
        local fields = {'messages', 'sent_count', 'failures', 'dead'}
        local row = redis.call('HMGET', KEYS[1], unpack(fields))
        if row[1] then return {1, row} end
        local pointer = redis.call('GET', KEYS[7])
        if (pointer or '') ~= ARGV[4] then return {2, pointer} end
        redis.call('HSET', KEYS[1], 'messages', ARGV[1], 'sent_count', 0)
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        local last = 8 + 3 * tonumber(ARGV[8])
        for i = 9, last, 3 do
          append(KEYS[4], KEYS[5], KEYS[6], ARGV[i], ARGV[i + 1], ARGV[5], ARGV[6], ARGV[7],
                 ARGV[2], ARGV[i + 2])
        end
        for i = last + 1, #ARGV, 2 do
          redis.call('HINCRBYFLOAT', KEYS[3], ARGV[i], ARGV[i + 1])
        end
        if #ARGV > last then redis.call('PEXPIRE', KEYS[3], ARGV[2]) end
        return {1, redis.call('HMGET', KEYS[1], unpack(fields))}""",
    # KEYS: entries (zset scored by number, member [id, value]), id -> number hash, counter.
    # ARGV: entry id, value, retention ms, topic channel ('' = none), the log's name.
    "log_append": """
        local seq = redis.call('HGET', KEYS[2], ARGV[1])
        if seq then
          local found = redis.call('ZRANGEBYSCORE', KEYS[1], seq, seq)
          return {tonumber(seq), found[1] or false, 0}
        end
        seq = redis.call('INCR', KEYS[3])
        local member = cjson.encode({ARGV[1], ARGV[2]})
        redis.call('ZADD', KEYS[1], seq, member)
        redis.call('HSET', KEYS[2], ARGV[1], seq)
        for _, key in ipairs(KEYS) do redis.call('PEXPIRE', key, ARGV[3]) end
        if ARGV[4] ~= '' then
          redis.call('PUBLISH', ARGV[4], cjson.encode({ARGV[5], seq, ARGV[1], ARGV[2]}))
        end
        return {seq, false, 1}""",
}
# fmt: on

_CLOSED_STATUSES = tuple(s for s in TicketStatus if s not in OPEN_STATUSES)
_POINTER_TRIES = 5


class RedisStore:
    backend = "redis"

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        limits: StoreLimits,
        namespace: str = "frontdesk",
        group: str = "dispatch",
    ) -> None:
        self.client = client
        self.limits = limits
        self.namespace = namespace
        self.group = group
        self._stream = self._key("inbound")
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self._scripts = {name: client.register_script(src) for name, src in _SCRIPTS.items()}
        self._locks = LeaseLocks(self._lock_acquire, self._lock_renew, self._lock_release,
                                 limits.lock_ttl_s)  # fmt: skip

    @classmethod
    def from_url(
        cls, url: str, *, limits: StoreLimits, max_connections: int = 64, **kwargs: Any
    ) -> RedisStore:
        """A store whose pool makes callers wait for a free connection instead of failing
        ("Too many connections") when many conversations are busy at once."""
        pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=30
        )
        return cls(aioredis.Redis.from_pool(pool), limits=limits, **kwargs)

    def _key(self, *parts: str) -> str:
        return ":".join((self.namespace, *parts))

    async def _script(self, name: str, keys: list[str], *args: str | float) -> Any:
        return await self._scripts[name](keys=keys, args=args)

    # -- plumbing ----------------------------------------------------------------------------
    async def open(self) -> None:
        try:
            await self.client.ping()
        except (RedisError, OSError) as err:
            raise StoreError(f"cannot reach Redis at {self._where()}: {err}") from err
        with _failures("creating the consumer group"):
            await self._create_group()
        with _failures("loading scripts"):
            # Loaded once up front: otherwise every connection's first call of each script
            # fails with NOSCRIPT and costs a second and third round trip.
            async with self.client.pipeline(transaction=False) as pipe:
                for script in self._scripts.values():
                    pipe.script_load(script.script)
                await pipe.execute()

    async def _create_group(self) -> None:
        # From "0", not "$": entries appended before the group existed are still delivered.
        try:
            await self.client.xgroup_create(self._stream, self.group, id="0", mkstream=True)
        except ResponseError as err:
            if "BUSYGROUP" not in str(err):
                raise

    def _where(self) -> str:
        """Host and port (or socket path) for messages; the URL would carry the password."""
        kwargs = self.client.connection_pool.connection_kwargs
        if "path" in kwargs:
            return str(kwargs["path"])
        return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"

    async def close(self) -> None:
        self._closed = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.client.aclose()

    # -- inbound queue -----------------------------------------------------------------------
    async def enqueue(self, message: QueueItem) -> bool:
        conversation = conversation_of(message)
        keys = [self._key("idem", message.idempotency_key), self._stream,
                self._key("convq", conversation or "-")]  # fmt: skip
        args = (_ms(self.limits.idempotency_s), message.to_json(), message.ref.key,
                "1" if conversation else "0", _ms(self.limits.retention_s))  # fmt: skip
        with _failures("enqueue"):
            return bool(await self._script("enqueue", keys, *args))

    async def read_queue(self, consumer: str, count: int, block_s: float) -> list[QueueEntry]:
        streams: dict[KeyT, StreamIdT] = {self._stream: ">"}
        with _failures("read_queue"):
            try:
                reply = await self.client.xreadgroup(
                    self.group, consumer, streams, count=count, block=_ms(block_s)
                )
            except ResponseError as err:
                if "NOGROUP" not in str(err):
                    raise
                # The stream was lost (a restart without persistence): start it afresh.
                await self._create_group()
                return []
        return [_entry(entry_id, fields, 1) for entry_id, fields in _stream_entries(reply)]

    async def reclaim(
        self, consumer: str, min_idle_s: float, count: int, from_consumer: str | None = None
    ) -> list[QueueEntry]:
        idle_ms = int(min_idle_s * 1000)
        with _failures("reclaim"):
            rows = await self.client.xpending_range(
                self._stream, self.group, "-", "+", count, from_consumer, idle_ms
            )
            if not rows:
                return []
            # XCLAIM re-checks the idle time (racing reclaimers cannot both win), counts one
            # more delivery and, since Redis 7, drops pending ids whose entry was deleted.
            ids: list[StreamIdT] = [row["message_id"] for row in rows]
            claimed: list[Any] = await self.client.xclaim(
                self._stream, self.group, consumer, idle_ms, ids
            )
        times = {_text(row["message_id"]): int(row["times_delivered"]) + 1 for row in rows}
        return [_entry(i, fields, times[_text(i)]) for i, fields in claimed if fields]

    async def ack(self, entry_id: str) -> None:
        # Acked entries are deleted too, so the stream holds exactly the unfinished work.
        with _failures("ack"):
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.xack(self._stream, self.group, entry_id)
                pipe.xdel(self._stream, entry_id)
                await pipe.execute()

    async def finish(
        self,
        entry_id: str,
        *,
        lease: Lease | None = None,
        outbox: tuple[str, int] | None = None,
        counters: Mapping[str, float] | None = None,
        conversation: str | None = None,
        release: bool = True,
    ) -> None:
        outbox_key = self._key("outbox", outbox[0]) if outbox else self._key("outbox", "-")
        keys = [self._lock_key(lease), outbox_key, self._stream, self._stats(None),
                self._key("convq", conversation or "-")]  # fmt: skip
        args = (lease.token if lease else "", entry_id, self.group,
                str(outbox[1]) if outbox else "", _ms(self.limits.retention_s),
                "1" if conversation else "0", "1" if release else "0",
                *_pairs(counters))  # fmt: skip
        with _failures("finish"):
            done = await self._script("finish", keys, *args)
        if lease is not None:
            if not done:
                raise lease_lost(lease)
            if release:
                lease.let_go()

    async def head_of(self, conversation_key: str) -> QueueEntry | None:
        keys = [self._key("convq", conversation_key), self._stream]
        with _failures("head_of"):
            row = await self._script("head_of", keys)
        return _head(row) if row else None

    @contextlib.asynccontextmanager
    async def lock_conversation(
        self, conversation_key: str, owner: str, start: TurnStart | None = None
    ) -> AsyncIterator[HeldConversation]:
        name = conversation_lock(conversation_key)
        keys = [self._key("lock", name), self._key("convq", conversation_key), self._stream]
        extra: tuple[str | int, ...] = ()
        kv_keys: list[str] = []
        if start is not None:
            keys += self._context_keys(start.ref)
            extra = (start.entry_id, *self._turn_args(start.ref, start.turn))
            kv_keys = [self._key("kv", flag) for flag in start.flags]
        found: list[tuple[QueueEntry | None, Any, list[Any]]] = [(None, None, [])]

        async def acquire(_: str, token: str, ttl_s: float, owner: str, mine: str) -> bool:
            args = (token, _ms(ttl_s), owner, mine, *extra)
            with _failures(f"lock {name!r}"):
                if kv_keys:  # the flags live outside the conversation's keys: a pipeline
                    row, values = await self._pipelined("lock_head", keys, args, kv_keys)
                else:
                    row, values = await self._script("lock_head", keys, *args), []
            if row[0]:
                head = _head(row[1]) if len(row) > 1 else None
                found[0] = (head, row[2] if len(row) > 2 else None, values)
            return bool(row[0])

        async with self._locks.hold(name, owner, acquire) as lease:
            head, context_row, values = found[0]
            context = None
            if start is not None and context_row is not None:
                context = await self._context(start.ref, context_row, start.flags, values)
            yield HeldConversation(lease, head, context)

    def _lock_key(self, lease: Lease | None) -> str:
        return self._key("lock", lease.name) if lease is not None else self._key("lock", "-")

    async def queue_depth(self) -> int:
        with _failures("queue_depth"):
            return int(await self.client.xlen(self._stream))

    # -- outbox ------------------------------------------------------------------------------
    async def outbox_put(
        self,
        inbound_key: str,
        messages: Sequence[OutboundMessage],
        counters: Mapping[str, float] | None = None,
        lease: Lease | None = None,
    ) -> OutboxRecord:
        keys = [self._key("outbox", inbound_key), self._lock_key(lease), self._stats(None)]
        args = (outbox_to_json(messages), _ms(self.limits.retention_s),
                lease.token if lease else "", *_pairs(counters))  # fmt: skip
        with _failures("outbox_put"):
            row = await self._script("outbox_put", keys, *args)
        if not row:
            assert lease is not None
            raise lease_lost(lease)
        record = _outbox(inbound_key, row)
        assert record is not None
        return record

    async def outbox_put_reply(
        self,
        inbound_key: str,
        messages: Sequence[OutboundMessage],
        counters: Mapping[str, float],
        lease: Lease,
        ref: ConversationRef,
        turns: Sequence[Turn],
    ) -> OutboxRecord | None:
        meta, history, ids = self._conversation_keys(ref.key)
        keys = [self._key("outbox", inbound_key), self._lock_key(lease), self._stats(None),
                meta, history, ids, self._key("openticket", ref.key)]  # fmt: skip
        rows = [x for t in turns for x in (t.turn_id, t.to_json(), _customer_flag(t))]
        fixed = (outbox_to_json(messages), _ms(self.limits.retention_s), lease.token)
        args = (ref_to_json(ref), utcnow().isoformat(), max(1, self.limits.history_limit),
                len(turns), *rows, *_pairs(counters))  # fmt: skip
        expected = ""
        for _ in range(_POINTER_TRIES):
            with _failures("outbox_put_reply"):
                reply = await self._script("outbox_put_reply", keys, *fixed, expected, *args)
            if reply[0] == 0:
                raise lease_lost(lease)
            if reply[0] == 1:
                record = _outbox(inbound_key, reply[1])
                assert record is not None
                return record
            # The pointer names a ticket: still open (the draft is dropped) or closed since.
            pointer = _text(reply[1])
            if await self._open_ticket(pointer) is not None:
                return None
            expected = pointer
        raise StoreError(f"the open ticket of {ref.key} keeps changing; retrying")

    async def outbox_get(self, inbound_key: str) -> OutboxRecord | None:
        key = self._key("outbox", inbound_key)
        with _failures("outbox_get"):
            row = await self.client.hmget(key, ["messages", "sent_count", "failures", "dead"])
        return _outbox(inbound_key, row)

    async def outbox_mark_sent(self, inbound_key: str, sent_count: int) -> None:
        with _failures("outbox_mark_sent"):
            await self._script("outbox_sent", [self._key("outbox", inbound_key)], sent_count)

    async def outbox_failed(self, inbound_key: str) -> int:
        with _failures("outbox_failed"):
            return int(await self._script("outbox_failed", [self._key("outbox", inbound_key)]))

    async def outbox_dead(self, inbound_key: str) -> bool:
        with _failures("outbox_dead"):
            return bool(await self._script("outbox_dead", [self._key("outbox", inbound_key)]))

    # -- lock --------------------------------------------------------------------------------
    def lock(self, name: str, owner: str | None = None) -> AbstractAsyncContextManager[Lease]:
        return self._locks.hold(name, owner)

    async def _lock_acquire(
        self, name: str, token: str, ttl_s: float, owner: str, mine: str
    ) -> bool:
        keys = [self._key("lock", name)]
        with _failures(f"lock {name!r}"):
            row = await self._script("lock_acquire", keys, token, _ms(ttl_s), owner, mine)
        return bool(row[0])

    async def _lock_renew(self, name: str, token: str, ttl_s: float) -> bool:
        with _failures(f"lock {name!r}"):
            key = self._key("lock", name)
            return bool(await self._script("lock_renew", [key], token, _ms(ttl_s)))

    async def _lock_release(self, name: str, token: str) -> None:
        if self._closed:  # no client left: the lock expires by its TTL
            return
        with _failures(f"lock {name!r}"):
            await self._script("lock_release", [self._key("lock", name)], token)

    # -- conversations -----------------------------------------------------------------------
    def _conversation_keys(self, key: str) -> list[str]:
        return [self._key("conv", key), self._key("convturns", key), self._key("convids", key)]

    def _turn_args(self, ref: ConversationRef, turn: Turn) -> tuple[str | int, ...]:
        limit = max(1, self.limits.history_limit)
        return (turn.turn_id, turn.to_json(), ref_to_json(ref), utcnow().isoformat(), limit,
                _ms(self.limits.retention_s), _customer_flag(turn))  # fmt: skip

    async def append_turn(self, ref: ConversationRef, turn: Turn) -> bool:
        keys = self._conversation_keys(ref.key)
        with _failures("append_turn"):
            added = await self._script("append_turn", keys, *self._turn_args(ref, turn))
        return bool(added)

    def _context_keys(self, ref: ConversationRef) -> list[str]:
        """What begin_turn touches: the conversation's keys and its open-ticket pointer."""
        return [*self._conversation_keys(ref.key), self._key("openticket", ref.key)]

    async def begin_turn(
        self, ref: ConversationRef, turn: Turn, flags: Sequence[str] = ()
    ) -> TurnContext:
        keys, args = self._context_keys(ref), self._turn_args(ref, turn)
        kv_keys = [self._key("kv", flag) for flag in flags]
        with _failures("begin_turn"):
            if kv_keys:  # one pipeline: the flags live outside the conversation's keys
                row, values = await self._pipelined("begin_turn", keys, args, kv_keys)
            else:
                row, values = await self._script("begin_turn", keys, *args), []
        return await self._context(ref, row, flags, values)

    async def _context(
        self, ref: ConversationRef, row: Sequence[Any], flags: Sequence[str], values: list[Any]
    ) -> TurnContext:
        _, ref_raw, updated_at, raws, pointer = row
        conversation = None
        if ref_raw is not None and updated_at is not None:
            conversation = Conversation(
                key=ref.key, ref=ref_from_json(ref_raw),
                turns=tuple(Turn.from_json(raw) for raw in raws),
                updated_at=datetime.fromisoformat(_text(updated_at)),
            )  # fmt: skip
        ticket = await self._open_ticket(_text(pointer)) if pointer is not None else None
        found = {f: _text(v) if v is not None else None for f, v in zip(flags, values, strict=True)}
        return TurnContext(conversation, ticket, found)

    async def _pipelined(
        self, name: str, keys: list[str], args: Sequence[str | float], kv_keys: list[str]
    ) -> tuple[Any, list[Any]]:
        """Script ``name`` and an MGET of ``kv_keys`` in one round trip (a pipeline)."""
        script = self._scripts[name]
        for attempt in range(2):
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.evalsha(script.sha, len(keys), *keys, *args)
                pipe.mget(kv_keys)
                try:
                    row, values = await pipe.execute()
                except NoScriptError:  # the server lost its scripts (a restart): load again
                    if attempt:
                        raise
                    await self.client.script_load(script.script)
                    continue
            return row, list(values)
        raise AssertionError("unreachable")

    async def get_conversation(self, key: str) -> Conversation | None:
        meta, turns, _ = self._conversation_keys(key)
        with _failures("get_conversation"):
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.hmget(meta, ["ref", "updated_at"])
                pipe.lrange(turns, 0, -1)
                (ref, updated_at), rows = await pipe.execute()
        if ref is None or updated_at is None:
            return None
        return Conversation(
            key=key,
            ref=ref_from_json(ref),
            turns=tuple(Turn.from_json(row) for row in rows),
            updated_at=datetime.fromisoformat(_text(updated_at)),
        )

    async def purge_expired(self) -> int:
        """Redis expires keys itself; only closed-ticket index entries outlive their ticket."""
        removed = 0
        with _failures("purge_expired"):
            for status in _CLOSED_STATUSES:
                ids: list[Any] = await self.client.zrange(self._index(status), 0, -1)
                async with self.client.pipeline(transaction=False) as pipe:
                    for ticket_id in ids:
                        pipe.exists(self._key("ticket", _text(ticket_id)))
                    alive = await pipe.execute()
                gone = [ticket_id for ticket_id, kept in zip(ids, alive, strict=True) if not kept]
                if gone:
                    removed += int(await self.client.zrem(self._index(status), *gone))
        return removed

    # -- tickets -----------------------------------------------------------------------------
    async def open_ticket(
        self,
        ref: ConversationRef,
        customer: Author,
        reasons: Sequence[str],
        summary: str,
        details: Mapping[str, Any] | None = None,
    ) -> tuple[Ticket, bool]:
        pointer = self._key("openticket", ref.key)

        async def attempt(pipe: Pipeline) -> tuple[Ticket, bool]:
            # WATCHing the pointer makes EXEC fail (and this run again) if a concurrent opener
            # set it first. Returning early still EXECs an empty transaction, which is harmless.
            current = await pipe.get(pointer)
            existing = await self.get_ticket(_text(current)) if current else None
            if existing is not None and existing.is_open:
                return existing, False
            seq = int(await self.client.incr(self._key("ticket_seq")))
            now = utcnow()
            ticket = Ticket.opened(f"T-{seq}", ref, customer, reasons, summary, details, now)
            pipe.multi()  # type: ignore[no-untyped-call]
            pipe.set(self._key("ticket", ticket.id), ticket.to_json())
            pipe.set(pointer, ticket.id)
            pipe.zadd(self._index(ticket.status), {ticket.id: seq})
            return ticket, True

        with _failures("open_ticket"):
            result: tuple[Ticket, bool] = await self.client.transaction(
                attempt, pointer, value_from_callable=True
            )
        return result

    async def get_ticket(self, ticket_id: str) -> Ticket | None:
        with _failures("get_ticket"):
            raw = await self.client.get(self._key("ticket", ticket_id))
        return Ticket.from_json(raw) if raw is not None else None

    async def open_ticket_for(self, conversation_key: str) -> Ticket | None:
        with _failures("open_ticket_for"):
            ticket_id = await self.client.get(self._key("openticket", conversation_key))
        return await self._open_ticket(_text(ticket_id)) if ticket_id else None

    async def _open_ticket(self, ticket_id: str) -> Ticket | None:
        """The ticket an open-ticket pointer names, if it is still open."""
        ticket = await self.get_ticket(ticket_id)
        return ticket if ticket is not None and ticket.is_open else None

    async def list_tickets(self, statuses: Collection[TicketStatus]) -> list[Ticket]:
        wanted = {TicketStatus(s) for s in statuses}
        scored: list[Any] = []
        with _failures("list_tickets"):
            for status in wanted:
                scored += await self.client.zrange(self._index(status), 0, -1, withscores=True)
            if not scored:
                return []
            scored.sort(key=lambda pair: float(pair[1]))  # score = ticket number = age order
            raws = await self.client.mget([self._key("ticket", _text(m)) for m, _ in scored])
        tickets = (Ticket.from_json(raw) for raw in raws if raw is not None)
        return [t for t in tickets if t.status in wanted]  # in case one moved between reads

    async def transition_ticket(
        self, ticket_id: str, expected_epoch: int, status: TicketStatus, agent: str | None
    ) -> Ticket | None:
        key = self._key("ticket", ticket_id)

        async def attempt(pipe: Pipeline) -> Ticket | None:
            # KEY is WATCHed: a concurrent transition makes EXEC fail and this run again, and
            # the rerun then sees the new epoch. That is the compare-and-set.
            raw = await pipe.get(key)
            current = Ticket.from_json(raw) if raw is not None else None
            if current is None or current.epoch != expected_epoch:
                return None
            ticket = current.moved(status, agent, utcnow())
            pointer = self._key("openticket", ticket.ref.key)
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
            result: Ticket | None = await self.client.transaction(
                attempt, key, value_from_callable=True
            )
        return result

    async def annotate_ticket(self, ticket_id: str, patch: TicketPatch) -> Ticket | None:
        key = self._key("ticket", ticket_id)

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
            result: Ticket | None = await self.client.transaction(
                attempt, key, value_from_callable=True
            )
        return result

    # -- kv ----------------------------------------------------------------------------------
    async def kv_set(self, key: str, value: str, ttl_s: float | None = None) -> None:
        with _failures("kv_set"):
            px = _ms(self.limits.kept(ttl_s)) if ttl_s is not None else None
            await self.client.set(self._key("kv", key), value, px=px)

    async def kv_get(self, key: str) -> str | None:
        with _failures("kv_get"):
            raw = await self.client.get(self._key("kv", key))
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
            values = await self.client.mget(keys) if keys else []
        for key, value in zip(keys, values, strict=True):
            if value is not None:
                found[_text(key).removeprefix(head)] = _text(value)
        return dict(sorted(found.items()))

    def _index(self, status: TicketStatus) -> str:
        return self._key("tickets", status.value)

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
        with _failures("counters"):
            raw = await self.client.hgetall(self._stats(day))
        return {_text(name): float(value) for name, value in raw.items()}

    def _stats(self, day: date | None) -> str:
        return self._key("stats", (day or today()).isoformat())

    # -- append-only logs ----------------------------------------------------------------------
    def _log_keys(self, log: str) -> list[str]:
        return [self._key("log", log), self._key("logids", log), self._key("logseq", log)]

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
        key = self._key("log", log)
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
            except (RedisError, OSError) as err:
                logger.warning("following %s: %s; subscribing again in 1 s", channel, err)
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]


@contextlib.contextmanager
def _failures(what: str) -> Iterator[None]:
    try:
        yield
    except RedisError as err:
        raise StoreError(f"Redis {what} failed: {err}") from err


def _ms(seconds: float) -> int:
    """Milliseconds for PX and BLOCK: at least 1, since BLOCK 0 would wait forever."""
    return max(1, int(seconds * 1000))


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _stream_entries(reply: Any) -> list[tuple[Any, Any]]:
    """The entries of an XREADGROUP reply, whichever protocol (RESP2/3) the client speaks."""
    if not reply:
        return []
    groups = reply.values() if isinstance(reply, dict) else (item[1] for item in reply)
    entries: list[tuple[Any, Any]] = []
    for group in groups:  # RESP3 replies wrap each stream's entries in one more list
        entries += group[0] if group and isinstance(group[0], list) else group
    return [(entry_id, fields) for entry_id, fields in entries if fields]


def _pairs(counters: Mapping[str, float] | None) -> list[str | float]:
    return [item for name, amount in (counters or {}).items() for item in (name, amount)]


def _customer_flag(turn: Turn) -> str:
    return "1" if turn.role == CUSTOMER_ROLE else "0"


def _head(row: Sequence[Any]) -> QueueEntry:
    entry_id, flat = row
    fields = dict(zip(flat[::2], flat[1::2], strict=True))
    return _entry(entry_id, fields, 2)  # taken before, by someone: look at the outbox


def _outbox(inbound_key: str, row: Sequence[Any]) -> OutboxRecord | None:
    raw, sent, failures, dead = row
    if raw is None:
        return None
    return OutboxRecord(inbound_key, outbox_from_json(raw), int(sent or 0), int(failures or 0),
                        dead is not None)  # fmt: skip


def _entry(entry_id: object, fields: dict[Any, Any], deliveries: int) -> QueueEntry:
    data = {_text(k): v for k, v in fields.items()}
    message = decode_queue_item(_text(data["message"]))
    return QueueEntry(entry_id=_text(entry_id), message=message, deliveries=deliveries)
