"""The Redis store's inbound queue and outbox, over one stream or several partitions.

Inbound messages live in streams read through one consumer group, so an entry taken by a
worker that dies stays pending until another worker claims it. With several partitions
(``brain.store.redis_keys``) every lane's keys share a hash tag, so the dispatcher's path
(enqueue, head_of, finish, under the lane's lock) runs each step as one script on one slot.

On a cluster a fenced write may still span slots: an outbox record lives in its inbound
key's partition, which is the lane's only by chance, and a caller may name a lock that is not
the item's lane. Such a write is split: first the lock is checked and renewed in one script
on its own slot (the token must still be ours; the lock is then ours for a whole TTL), then
the write runs on the other slot. Safety then rests on the lease's margin, exactly as for a
channel send after ``Lease.check()``. The outbox's progress is written before the ack, so a
worker that finds the entry gone also finds the progress.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from redis.exceptions import ResponseError
from redis.typing import KeyT, StreamIdT

from brain.store.base import (
    OutboxRecord,
    QueueEntry,
    conversation_lock,
    conversation_of,
    lease_lost,
    outbox_to_json,
)
from brain.store.lease import Lease
from brain.store.records import new_entry, new_outbox_record
from brain.store.redis_lanes import RedisLanes
from brain.store.redis_reads import TAKE_BACK_IDLE_S, read_on_node
from brain.store.redis_wire import (
    _entry,
    _failures,
    _keep,
    _ms,
    _outbox,
    _pairs,
    _stream_entries,
    _text,
)
from channels.base import OutboundMessage, QueueItem

if TYPE_CHECKING:
    from redis.asyncio.cluster import RedisCluster

logger = logging.getLogger(__name__)

READ_LATELY = 2048
"""Entries decoded by the latest reads, kept by entry id: taking a conversation's lock also
reads its oldest unfinished entry, which is usually the very entry just read, and a stream
entry never changes, so its message is not parsed from JSON a second time. An entry is
forgotten once finished here (nothing reads it again); the bound is for those another replica
finished. Kept after its answer for 2,048 more reads, each message and its author were two
more objects per message for the cyclic collector's young generation to walk."""


class RedisQueue(RedisLanes):
    # -- inbound queue -----------------------------------------------------------------------
    async def _create_groups(self) -> None:
        for stream in self.layout.streams():
            # From "0", not "$": entries appended before the group existed are still delivered.
            try:
                await self.client.xgroup_create(stream, self.group, id="0", mkstream=True)
            except ResponseError as err:
                if "BUSYGROUP" not in str(err):
                    raise

    async def _group_lost(self, doing: str) -> None:
        """A stream or its consumer group is gone: a Redis restarted without persistence, or a
        Cluster failover promoted a replica that had not received them yet (replication is
        asynchronous). What was only on the old node is lost (docs/operations.md says what to
        configure against it); the group is made again, so that new messages flow. Without
        this, reads of that partition failed until the bot was restarted."""
        logger.warning("the inbound queue's consumer group is gone (%s); creating it again",
                       doing)  # fmt: skip
        self._read_lately.clear()  # a stream made anew may number its entries again
        await self._create_groups()

    async def enqueue(self, message: QueueItem) -> bool:
        partition = self._partition_of(message)
        conversation = conversation_of(message)
        keys = [self.layout.in_partition(partition, "idem", message.idempotency_key),
                self._stream_key(partition), self._convq_key(conversation, partition)]  # fmt: skip
        args = (_ms(self.limits.idempotency_s), message.to_json(), message.ref.key,
                "1" if conversation else "0", _ms(self.limits.retention_s),
                self._doorbell.channel if self._doorbell else "")  # fmt: skip
        with _failures("enqueue"):
            return bool(await self._script("enqueue", keys, *args))

    async def read_queue(self, consumer: str, count: int, block_s: float) -> list[QueueEntry]:
        with _failures("read_queue"):
            try:
                partitions = list(range(self.layout.partitions))
                if self._affinity is not None:
                    partitions = await self._affinity.partitions_for(consumer, block_s)
                    if not partitions:  # another replica reads them all (or none is free yet)
                        await asyncio.sleep(min(block_s, self._affinity.round_s))
                        return []
                if len(partitions) == 1:
                    return await self._read(consumer, partitions, count, _ms(block_s))
                if self._doorbell is not None:
                    await self._doorbell.clear()
                    assert self._reads is not None
                    return await self._reads.read(consumer, partitions, count, block_s,
                                                  self._doorbell)  # fmt: skip
                entries = await self._sweep(consumer, partitions, count)
                if entries or block_s <= 0:
                    return entries
                return await self._wait(consumer, partitions, count, block_s)
            except ResponseError as err:
                if "NOGROUP" not in str(err):
                    raise
                await self._group_lost("reading")
                return []

    async def _sweep(self, consumer: str, partitions: list[int], count: int) -> list[QueueEntry]:
        """Up to ``count`` entries from all partitions, without waiting: ``count`` shared
        out over them, then more from those that had more (one partition may hold the whole
        backlog). The partition asked first turns with each call."""
        self._turn = (self._turn + 1) % len(partitions)
        found: list[QueueEntry] = []
        candidates = partitions[self._turn :] + partitions[: self._turn]
        while candidates and len(found) < count:
            left = count - len(found)
            asked, rest = candidates[:left], candidates[left:]
            shares = [left // len(asked) + (i < left % len(asked)) for i in range(len(asked))]
            batches = await self._read_each(consumer, list(zip(asked, shares, strict=True)))
            found += [entry for batch in batches for entry in batch]
            full = [p for p, n, b in zip(asked, shares, batches, strict=True) if len(b) == n]
            candidates = rest + full
        return found

    async def _wait(
        self, consumer: str, partitions: list[int], count: int, block_s: float
    ) -> list[QueueEntry]:
        """Block until something arrives on any partition (at most ``block_s``). One Redis
        blocks on all streams in one XREADGROUP (COUNT applies per stream: with fewer than
        ``partitions`` wanted, simultaneous arrivals may bring a few more)."""
        share = max(1, count // len(partitions))
        return await self._read(consumer, partitions, share, _ms(block_s))

    async def _read_partition(self, consumer: str, partition: int, count: int) -> list[QueueEntry]:
        """One partition's new entries (``count`` at most), without waiting."""
        with _failures("read_queue"):
            try:
                return await self._read(consumer, [partition], count, None)
            except ResponseError as err:
                if "NOGROUP" not in str(err):
                    raise
                await self._group_lost(f"reading partition {partition}")
                return []

    async def _take_back(self, consumer: str, partition: int) -> list[QueueEntry]:
        return await self._reclaim(partition, consumer, TAKE_BACK_IDLE_S, 1000, consumer)

    async def _read_each(
        self, consumer: str, shares: list[tuple[int, int]]
    ) -> list[list[QueueEntry]]:
        """Non-blocking reads of (partition, count) pairs, in one pipeline (one Redis)."""
        async with self.client.pipeline(transaction=False) as pipe:
            for partition, n in shares:
                pipe.xreadgroup(self.group, consumer, {self._stream_key(partition): ">"}, count=n)
            replies = await pipe.execute()
        return [self._entries(reply) for reply in replies]

    async def _read(
        self, consumer: str, partitions: list[int], count: int, block_ms: int | None
    ) -> list[QueueEntry]:
        if self.layout.cluster:  # one partition at a time
            (partition,) = partitions
            stream = self._stream_key(partition)
            client = cast("RedisCluster", self.client)  # (isinstance on it is slow: a Protocol)
            return self._entries(await read_on_node(client, self.group, consumer, stream, count,
                                                    block_ms))  # fmt: skip
        keys = [self._stream_key(p) for p in partitions]
        if self._batch is not None:
            # First without BLOCK, in the pipeline the messages in flight share: under load
            # there is nearly always something to read, and a read of its own cost a round
            # trip and redis-py's per-command work each time. Only an empty queue blocks, on
            # a connection of its own (BLOCK would hold up the whole pipeline).
            ids = [">"] * len(keys)
            reply = await self._batch.call("XREADGROUP", "GROUP", self.group, consumer,
                                           "COUNT", count, "STREAMS", *keys, *ids)  # fmt: skip
            entries = self._entries(reply)
            if entries or block_ms is None:
                return entries
        streams: dict[KeyT, StreamIdT] = {key: ">" for key in keys}
        reply = await self.client.xreadgroup(self.group, consumer, streams, count=count,
                                             block=block_ms)  # fmt: skip
        return self._entries(reply)

    def _entries(self, reply: Any) -> list[QueueEntry]:
        found = []
        lately = self._read_lately
        for stream, entry_id, fields in _stream_entries(reply):
            partition = self._stream_partition(stream)
            entry = _entry(self.layout.entry_id(partition, _text(entry_id)), fields, 1)
            found.append(entry)
            _keep(lately, entry.entry_id, entry.message, READ_LATELY)
        return found

    def _stream_partition(self, stream: object) -> int:
        return self._partition_of_stream[_text(stream)]

    async def reclaim(
        self, consumer: str, min_idle_s: float, count: int, from_consumer: str | None = None
    ) -> list[QueueEntry]:
        found: list[QueueEntry] = []
        for partition in range(self.layout.partitions):
            if len(found) >= count:
                break
            found += await self._reclaim(partition, consumer, min_idle_s, count - len(found),
                                         from_consumer)  # fmt: skip
        return found

    async def _reclaim(
        self, partition: int, consumer: str, min_idle_s: float, count: int,
        from_consumer: str | None,
    ) -> list[QueueEntry]:  # fmt: skip
        idle_ms, stream = int(min_idle_s * 1000), self._stream_key(partition)
        with _failures("reclaim"):
            try:
                rows = await self.client.xpending_range(
                    stream, self.group, "-", "+", count, from_consumer, idle_ms
                )
            except ResponseError as err:
                if "NOGROUP" not in str(err):
                    raise
                await self._group_lost(f"reclaiming in partition {partition}")
                return []
            if not rows:
                return []
            # XCLAIM re-checks the idle time (racing reclaimers cannot both win), counts one
            # more delivery and, since Redis 7, drops pending ids whose entry was deleted.
            ids: list[StreamIdT] = [row["message_id"] for row in rows]
            claimed: list[Any] = await self.client.xclaim(
                stream, self.group, consumer, idle_ms, ids
            )
        times = {_text(row["message_id"]): int(row["times_delivered"]) + 1 for row in rows}
        return [_entry(self.layout.entry_id(partition, _text(i)), fields, times[_text(i)])
                for i, fields in claimed if fields]  # fmt: skip

    async def ack(self, entry_id: str) -> None:
        partition, stream_id = self.layout.locate(entry_id)
        stream = self._stream_key(partition)
        # Acked entries are deleted too, so the stream holds exactly the unfinished work.
        with _failures("ack"):
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.xack(stream, self.group, stream_id)
                pipe.xdel(stream, stream_id)
                await pipe.execute()
        self._read_lately.pop(entry_id, None)

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
        partition, stream_id = self.layout.locate(entry_id)
        lock = self._lock_key(lease, partition)
        outbox_key = self._outbox_key(outbox[0]) if outbox else self._lock_key(None, partition)
        convq = self._convq_key(conversation, partition)
        stream, stats = self._stream_key(partition), self._stats(None, partition)
        token = lease.token if lease else ""
        with _failures("finish"):
            if self.layout.cluster:  # (one Redis: every key may go in one script)
                if not self.layout.one_slot([lock, stream]):  # see the docstring
                    await self._fence(lease, lock)
                    token, lock = "", self._lock_key(None, partition)
                if outbox and not self.layout.one_slot([outbox_key, stream]):
                    await self._script("outbox_sent", [outbox_key], outbox[1])
                    outbox, outbox_key = None, self._lock_key(None, partition)
                if not self.layout.one_slot([convq, stream]):
                    await self.client.lrem(convq, 1, stream_id)
                    conversation, convq = None, self._convq_key(None, partition)
            keys = [lock, outbox_key, stream, stats, convq]
            args = (token, stream_id, self.group, str(outbox[1]) if outbox else "",
                    _ms(self.limits.retention_s), "1" if conversation else "0",
                    "1" if release else "0", *_pairs(counters))  # fmt: skip
            done = await self._script("finish", keys, *args)
            if lease is not None and not token and release and done:
                await self._lock_release(lease.name, lease.token)
        if done:
            self._read_lately.pop(entry_id, None)
        if lease is not None:
            if not done:
                raise lease_lost(lease)
            if release:
                lease.let_go()

    async def head_of(self, conversation_key: str) -> QueueEntry | None:
        partition = self.layout.partition(conversation_lock(conversation_key))
        keys = [self._convq_key(conversation_key), self._stream_key(partition)]
        with _failures("head_of"):
            row = await self._script("head_of", keys)
        return self._head(partition, row) if row else None

    def _head(self, partition: int, row: Sequence[Any]) -> QueueEntry:
        """A head_of script's reply (stream id, fields) as an entry of ``partition``."""
        stream_id, flat = row
        entry_id = self.layout.entry_id(partition, _text(stream_id))
        # taken before, by someone: look at the outbox
        known = self._read_lately.get(entry_id)
        if known is not None:
            return new_entry(entry_id, known, 2)
        fields = dict(zip(flat[::2], flat[1::2], strict=True))
        return _entry(entry_id, fields, 2)

    async def queue_depth(self) -> int:
        with _failures("queue_depth"):
            lengths = await asyncio.gather(*(self.client.xlen(s) for s in self.layout.streams()))
        return sum(int(n) for n in lengths)

    # -- outbox ------------------------------------------------------------------------------
    async def outbox_put(
        self,
        inbound_key: str,
        messages: Sequence[OutboundMessage],
        counters: Mapping[str, float] | None = None,
        lease: Lease | None = None,
    ) -> OutboxRecord:
        key = self._outbox_key(inbound_key)
        partition = self.layout.partition(inbound_key)
        lock, token = self._lock_key(lease, partition), lease.token if lease else ""
        with _failures("outbox_put"):
            if not self.layout.one_slot([key, lock]):  # cluster only: see the docstring
                await self._fence(lease, lock)
                lock, token = self._lock_key(None, partition), ""
            keys = [key, lock, self._stats(None, partition)]
            args = (outbox_to_json(messages), _ms(self.limits.retention_s), token,
                    *_pairs(counters))  # fmt: skip
            row = await self._script("outbox_put", keys, *args)
        if not row:
            assert lease is not None
            raise lease_lost(lease)
        if len(row) == 1:  # written now: the record is what we sent
            return new_outbox_record(inbound_key, tuple(messages))
        record = _outbox(inbound_key, row)
        assert record is not None
        return record

    async def outbox_get(self, inbound_key: str) -> OutboxRecord | None:
        key = self._outbox_key(inbound_key)
        with _failures("outbox_get"):
            row = await self._cmd("HMGET", key, "messages", "sent_count", "failures", "dead")
        return _outbox(inbound_key, row)

    async def outbox_mark_sent(self, inbound_key: str, sent_count: int) -> None:
        with _failures("outbox_mark_sent"):
            await self._script("outbox_sent", [self._outbox_key(inbound_key)], sent_count)

    async def outbox_failed(self, inbound_key: str) -> int:
        with _failures("outbox_failed"):
            return int(await self._script("outbox_failed", [self._outbox_key(inbound_key)]))

    async def outbox_dead(self, inbound_key: str) -> bool:
        with _failures("outbox_dead"):
            return bool(await self._script("outbox_dead", [self._outbox_key(inbound_key)]))
