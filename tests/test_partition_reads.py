"""A cluster's partitions read each on its own (``brain.store.redis_reads``): a slow partition
does not hold up the others, keeps one read out at a time and hands its entries over later; a
failed one is taken back before it is read again; a read fails only when every partition did.
(The same on a real cluster with a frozen master: tests/test_faults_cluster_reads.py.)"""

from __future__ import annotations

import asyncio
import time

import pytest

from brain.store.base import QueueEntry
from brain.store.redis_reads import GRACE_S, PartitionReads
from channels.fake import FakeChannel
from config.errors import StoreError


class Partitions:
    """Each partition's queued entries; ``slow`` ones answer only when released."""

    def __init__(self, count: int) -> None:
        channel = FakeChannel()
        self.queued = {
            p: [QueueEntry(f"{p}/{n}", channel.message(f"q{n}", conversation=f"c{p}"), 1)
                for n in range(5)]
            for p in range(count)
        }  # fmt: skip
        self.slow: dict[int, asyncio.Event] = {}
        self.failing: set[int] = set()
        self.reads: list[int] = []
        self.taken_back: list[int] = []

    async def read_one(self, consumer: str, partition: int, count: int) -> list[QueueEntry]:
        self.reads.append(partition)
        if partition in self.slow:
            await self.slow[partition].wait()
        if partition in self.failing:
            raise StoreError("Redis read_queue failed: Timeout reading")
        taken, self.queued[partition] = (self.queued[partition][:count],
                                         self.queued[partition][count:])  # fmt: skip
        return taken

    async def take_back(self, consumer: str, partition: int) -> list[QueueEntry]:
        self.taken_back.append(partition)
        return []


async def test_a_slow_partition_holds_up_only_itself() -> None:
    parts = Partitions(4)
    parts.slow[2] = asyncio.Event()
    reads = PartitionReads(parts.read_one, parts.take_back)
    started = time.monotonic()
    first = await reads.sweep("w1", [0, 1, 2, 3], 100)
    assert time.monotonic() - started < GRACE_S + 0.2
    assert {e.entry_id.split("/")[0] for e in first} == {"0", "1", "3"}
    assert len(first) == 15
    second = await reads.sweep("w1", [0, 1, 2, 3], 100)  # partition 2's read is still out
    assert second == [] and parts.reads.count(2) == 1 and reads.outstanding("w1")
    parts.slow.pop(2).set()
    await asyncio.sleep(0)
    third = await reads.sweep("w1", [0, 1, 2, 3], 100)
    assert [e.entry_id for e in third] == [f"2/{n}" for n in range(5)]  # in stream order
    assert not reads.outstanding("w1")
    await reads.close()


async def test_a_failed_partition_is_taken_back_and_only_a_total_failure_raises() -> None:
    parts = Partitions(3)
    parts.failing = {1}
    reads = PartitionReads(parts.read_one, parts.take_back)
    found = await reads.sweep("w1", [0, 1, 2], 100)
    assert {e.entry_id.split("/")[0] for e in found} == {"0", "2"}
    parts.failing = set()
    again = await reads.sweep("w1", [0, 1, 2], 100)
    assert parts.taken_back == [1]  # before its next read
    assert {e.entry_id for e in again} == {f"1/{n}" for n in range(5)}
    parts.failing = {0, 1, 2}
    with pytest.raises(StoreError):
        await reads.sweep("w1", [0, 1, 2], 100)
    await reads.close()
