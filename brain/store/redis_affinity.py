"""Partition affinity: each replica reads only the partitions it holds a store lease for.

With ``FRONTDESK_STORE__PARTITION_AFFINITY`` the replicas on a partitioned Redis store split the
inbound partitions between them instead of all reading all of them. A conversation lives in one
partition, so its messages reach one replica, and replicas no longer meet on a conversation's
lock (which stays, so a handover is still ordered and fenced).

Each round (every third of the lock TTL, at most every 0.5 s) a replica refreshes its entry in the
roster (a sorted set scored by the server's clock; entries older than one lock TTL drop off),
takes its rank ``r`` of ``n`` live replicas, and wants the partitions ``p`` with
``p % n == r``. It takes each with a lease ``partition:<p>`` without waiting (a partition
still held by its former reader is tried again next round) and lets go of the partitions it
holds beyond its share. A replica that stops lets go of its partitions and leaves the roster
at once; one that dies drops off the roster, and its leases expire, one lock TTL after its
last renewal, so the others read its partitions from about one TTL plus one round after it
died. Its taken but unfinished entries are reclaimed as before (``RECLAIM_IDLE_SECONDS``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager

from brain.store.lease import Lease, LockBusy
from config.errors import StoreError

logger = logging.getLogger(__name__)

ROUND_S = 0.5  # at most; a roster refresh is one small script

Roster = Callable[[str, bool], Awaitable[list[str]]]
"""(consumer, joining): refresh (or leave) the roster; the live replicas' names."""
Hold = Callable[[str], AbstractAsyncContextManager[Lease]]
"""A lease on ``name`` taken without waiting (``LockBusy`` when someone holds it)."""


class Affinity:
    def __init__(self, partitions: int, ttl_s: float, roster: Roster, hold: Hold) -> None:
        self.partitions = partitions
        self.round_s = min(ttl_s / 3, ROUND_S)
        self._roster = roster
        self._hold = hold
        self._held: dict[int, asyncio.Task[None]] = {}
        self._consumer: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    def owned(self) -> list[int]:
        return sorted(p for p, task in self._held.items() if not task.done())

    async def partitions_for(self, consumer: str, wait_s: float) -> list[int]:
        """The partitions ``consumer`` (this process) reads now; the first call starts the
        rounds and waits (at most ``wait_s``) for the first."""
        if self._task is None:
            self._consumer = consumer
            self._task = asyncio.create_task(self._run(consumer), name="partition-affinity")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), wait_s)
        return self.owned()

    async def close(self) -> None:
        """Let go of every partition and leave the roster (the others take over at once)."""
        if self._task is None:
            return
        self._task.cancel()
        holders = list(self._held.values())
        for task in holders:
            task.cancel()
        await asyncio.gather(self._task, *holders, return_exceptions=True)
        self._held.clear()
        if self._consumer is not None:
            try:
                await self._roster(self._consumer, False)
            except StoreError as err:
                logger.warning("could not leave the replica roster (%s); it expires", err)

    async def _run(self, consumer: str) -> None:
        while True:
            try:
                await self._round(consumer)
            except StoreError as err:
                logger.warning("partition affinity round failed (%s); retrying", err)
            except Exception:
                # The rounds must outlive any surprise: a replica whose rounds stopped would
                # keep its partitions' leases (their renewers run on) and never hand them over.
                logger.exception("partition affinity round failed; retrying")
            self._ready.set()
            await asyncio.sleep(self.round_s)

    async def _round(self, consumer: str) -> None:
        live = sorted(set(await self._roster(consumer, True)) | {consumer})
        rank, count = live.index(consumer), len(live)
        share = {p for p in range(self.partitions) if p % count == rank}
        for partition, task in list(self._held.items()):
            if task.done():  # the lease was lost: taken again below if still ours
                del self._held[partition]
            elif partition not in share:  # its replica is live: hand it over
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                del self._held[partition]
                logger.info("partition %d handed over (%d replicas)", partition, count)
        for partition in sorted(share - set(self._held)):
            got: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            task = asyncio.create_task(self._keep(partition, got))
            try:
                taken = await got
            except asyncio.CancelledError:  # closing: the holder must not outlive us
                task.cancel()
                raise
            if taken:
                self._held[partition] = task
            else:
                await asyncio.gather(task, return_exceptions=True)

    async def _keep(self, partition: int, got: asyncio.Future[bool]) -> None:
        try:
            async with self._hold(f"partition:{partition}") as lease:
                if got.done():  # the round that asked is gone (closing): let go at once
                    return
                got.set_result(True)
                # ``lost`` is a flag the lease's renewer sets; there is no event to wait on.
                while not lease.lost:  # noqa: ASYNC110
                    await asyncio.sleep(self.round_s)
                logger.warning("lost the lease on partition %d; reading it no more", partition)
        except LockBusy:
            pass
        except StoreError as err:
            logger.warning("partition %d: %s", partition, err)
        finally:
            if not got.done():
                got.set_result(False)
