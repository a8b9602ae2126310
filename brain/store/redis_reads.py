"""A Redis Cluster's inbound partitions, read each on its own.

One Redis serves every partition, so a read sweeps them all in one pipeline. On a cluster the
partitions sit on several masters, and a sweep that waits for all of them waits for the
slowest: while one master fails over (a frozen host answers nothing until redis-py's socket
timeout, then the client retries), every conversation would pause, not only those whose
partitions live there. So here each partition is read by its own command, in a task of its
own (redis-py's cluster client sends it to the partition's node), and a read returns what
came back within ``GRACE_S``; a read still out then stays out, its partition is not read again
until it is back, and what it brings is handed out by a later read. So a failing master stalls
only its partitions, and each partition still has at most one read out at a time (its entries
come in stream order).

A read that failed or took long may have taken entries and never returned them (its command
ran, the reply was lost, redis-py retried it, and a retried ``>`` read returns only newer
entries). Such a partition is then first taken back (this consumer's own pending entries of
that partition idle at least ``TAKE_BACK_IDLE_S``; the dispatcher skips those it is already
handling), right away and twice more later (``TAKE_BACK_AGAIN_S``), while the slot map
settles. What one read hands out may exceed ``count`` by what reads still out bring back (at
most one share per partition).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio.cluster import RedisCluster

from brain.store.base import QueueEntry
from brain.store.redis_doorbell import POLL_S, Doorbell
from config.errors import StoreError

logger = logging.getLogger(__name__)

GRACE_S = 0.25  # how long one read waits for the partitions it asked
SLOW_READ_S = 1.0  # a partition read that took this long may have been retried inside redis-py
TAKE_BACK_IDLE_S = 0.3  # own pending entries idle this long were not just handed out
TAKE_BACK_AGAIN_S = (2.0, 6.0)  # after the first take-back, these many seconds later

ReadOne = Callable[[str, int, int], Awaitable[list[QueueEntry]]]
"""(consumer, partition, count): new entries of one partition, without waiting."""
TakeBack = Callable[[str, int], Awaitable[list[QueueEntry]]]
"""(consumer, partition): the consumer's own pending entries idle ``TAKE_BACK_IDLE_S``."""


class PartitionReads:
    def __init__(self, read_one: ReadOne, take_back: TakeBack) -> None:
        self._read_one = read_one
        self._take_back = take_back
        self._out: dict[tuple[str, int], asyncio.Task[list[QueueEntry]]] = {}
        # partition -> when its next take-back is due (monotonic; 0: before its next read)
        self._due: dict[tuple[str, int], list[float]] = {}
        self._turn = 0

    async def read(
        self, consumer: str, partitions: list[int], count: int, block_s: float, bell: Doorbell
    ) -> list[QueueEntry]:
        """A sweep of ``partitions``; with nothing found, wait (at most ``block_s``) for the
        doorbell or for a slow node's read to come back, then sweep again."""
        found = await self.sweep(consumer, partitions, count)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + block_s
        while not found and (left := deadline - loop.time()) > 0:
            if self.outstanding(consumer):  # look at it again every POLL_S
                rang = await bell.wait(min(left, POLL_S)) or self.returned(consumer)
            else:
                rang = await bell.wait(left)
            if rang:
                found = await self.sweep(consumer, partitions, count)
        return found

    def outstanding(self, consumer: str) -> bool:
        """A read of ``consumer`` is still out (a slow node's)."""
        return any(c == consumer for c, _ in self._out)

    def returned(self, consumer: str) -> bool:
        """A read still out at the last sweep has come back since."""
        return any(c == consumer and task.done() for (c, _), task in self._out.items())

    async def sweep(self, consumer: str, partitions: list[int], count: int) -> list[QueueEntry]:
        """Up to ``count`` entries: what reads still out brought back since the last sweep,
        then ``count`` shared out over the partitions with no read out, then more from those
        that had more (one partition may hold the whole backlog). The partition asked first
        turns with each call. Raises only when every partition asked failed."""
        found, failed, answered = self._collect(consumer, [])
        self._turn = (self._turn + 1) % len(partitions)
        rotated = partitions[self._turn :] + partitions[: self._turn]
        candidates = [p for p in rotated if (consumer, p) not in self._out]
        asked = bool(candidates)
        while candidates and len(found) < count:
            left = count - len(found)
            ask, rest = candidates[:left], candidates[left:]
            shares = {p: left // len(ask) + (i < left % len(ask)) for i, p in enumerate(ask)}
            for p, n in shares.items():
                self._start(consumer, p, n)
            tasks = [self._out[(consumer, p)] for p in ask]
            await asyncio.wait(tasks, timeout=GRACE_S)
            batches, errors, ok = self._collect(consumer, ask)
            found += batches
            failed += errors
            answered.update(ok)
            full = [p for p in ask if p in ok and len(ok[p]) >= shares[p]]
            candidates = rest + full
        if asked and failed and not answered and not found and not self.outstanding(consumer):
            raise failed[0]
        return found

    def _start(self, consumer: str, partition: int, count: int) -> None:
        key = (consumer, partition)
        due = self._due.get(key)
        take_back = due is not None and bool(due) and due[0] <= time.monotonic()
        task = asyncio.create_task(self._read(consumer, partition, count, take_back),
                                   name=f"read:{partition}")  # fmt: skip
        self._out[key] = task

    async def _read(
        self, consumer: str, partition: int, count: int, take_back: bool
    ) -> list[QueueEntry]:
        key = (consumer, partition)
        started = time.monotonic()
        taken: list[QueueEntry] = []
        try:
            if take_back:
                taken = await self._take_back(consumer, partition)
                due = self._due[key]
                due.pop(0)
                if taken:
                    logger.warning("took back %d messages of partition %d a failed read may "
                                   "have taken", len(taken), partition)  # fmt: skip
                if not due:
                    del self._due[key]
            entries = await self._read_one(consumer, partition, count)
        except StoreError:
            self._trouble(key)
            raise
        if time.monotonic() - started > SLOW_READ_S:
            self._trouble(key)
        return taken + entries

    def _trouble(self, key: tuple[str, int]) -> None:
        now = time.monotonic()
        self._due[key] = [0.0, *(now + delay for delay in TAKE_BACK_AGAIN_S)]

    def _collect(
        self, consumer: str, asked: list[int]
    ) -> tuple[list[QueueEntry], list[StoreError], dict[int, list[QueueEntry]]]:
        """The reads of ``consumer`` that are done (all of them, not only ``asked``): their
        entries, their errors, and each answered partition's entries."""
        found: list[QueueEntry] = []
        errors: list[StoreError] = []
        answered: dict[int, list[QueueEntry]] = {}
        for key, task in list(self._out.items()):
            if key[0] != consumer or not task.done():
                continue
            del self._out[key]
            if task.cancelled():
                continue
            err = task.exception()
            if err is None:
                answered[key[1]] = task.result()
                found += answered[key[1]]
            elif isinstance(err, StoreError):
                if key[1] not in asked:  # a slow read that failed in the end: logged once
                    logger.warning("reading partition %d failed (%s)", key[1], err)
                errors.append(err)
            else:
                raise err
        return found, errors, answered

    async def close(self) -> None:
        """Reads still out are dropped; what they took stays pending for this consumer (taken
        back at its next start, or reclaimed by another after the idle time)."""
        tasks = list(self._out.values())
        self._out.clear()
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*tasks, return_exceptions=True)


async def read_on_node(
    client: RedisCluster, group: str, consumer: str, stream: str, count: int,
    block_ms: int | None,
) -> Any:  # fmt: skip
    """XREADGROUP of one stream, sent to the node the client's slot map names. Not left to
    redis-py's routing: XREADGROUP has "movable keys", so its cluster client first asks one
    fixed node (its default node: the first master it learnt of) ``COMMAND GETKEYS`` for
    every read. That costs a round trip per read and ties every partition's reads to it:
    while it hangs no partition is read, and an error there is not one that makes the client
    reread its slot map, so a dead default node could stall every read until something else
    did.
    With the node named, redis-py does not retry here; the next read (with a newer slot map
    by then) does."""
    node = client.get_node_from_key(stream)
    args: list[Any] = ["XREADGROUP", "GROUP", group, consumer, "COUNT", count]
    if block_ms is not None:
        args += ["BLOCK", block_ms]
    return await client.execute_command(*args, "STREAMS", stream, ">", target_nodes=node)
