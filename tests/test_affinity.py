"""Partition affinity on a real redis-server: replicas split the partitions, and when one
stops or dies the others take its partitions (at once, or within about one lock TTL)."""

from __future__ import annotations

import time
import uuid

from brain.store.base import StoreLimits
from brain.store.redis import RedisStore
from channels.base import Author, ConversationRef, InboundMessage
from tests.servers import RedisServer

TTL_S = 0.9
PARTITIONS = 4


def _store(server: RedisServer, namespace: str) -> RedisStore:
    limits = StoreLimits(lock_ttl_s=TTL_S)
    return RedisStore.from_url(server.url, limits=limits, namespace=namespace,
                               partitions=PARTITIONS, affinity=True)  # fmt: skip


async def _two_replicas(server: RedisServer) -> tuple[RedisStore, RedisStore]:
    """Two replicas' stores on a namespace of their own, both opened."""
    namespace = f"t{uuid.uuid4().hex[:10]}"
    a, b = _store(server, namespace), _store(server, namespace)
    await a.open()
    await b.open()
    return a, b


def _message(n: int) -> InboundMessage:
    ref = ConversationRef(channel="fake", conversation_id=f"c{n}")
    return InboundMessage(ref=ref, message_id=f"m{n}", author=Author(id="u"), text="hi")


async def _owned(store: RedisStore, consumer: str) -> list[int]:
    await store.read_queue(consumer, 100, 0.05)
    assert store._affinity is not None
    return store._affinity.owned()


async def _until(store: RedisStore, consumer: str, wanted: list[int], within: float) -> float:
    started = time.monotonic()
    while (await _owned(store, consumer)) != wanted:
        assert time.monotonic() - started < within, await _owned(store, consumer)
    return time.monotonic() - started


async def test_replicas_split_the_partitions_and_read_only_their_own(
    redis_server: RedisServer,
) -> None:
    a, b = await _two_replicas(redis_server)
    await _owned(a, "a")
    await _until(b, "b", [1, 3], within=3)  # "a" < "b": a is rank 0 of 2
    await _until(a, "a", [0, 2], within=3)
    for n in range(40):
        await a.enqueue(_message(n))
    taken = {"a": await a.read_queue("a", 100, 0.1), "b": await b.read_queue("b", 100, 0.1)}
    for name, entries in taken.items():
        mine = [0, 2] if name == "a" else [1, 3]
        assert entries and all(a.layout.locate(e.entry_id)[0] in mine for e in entries)
    assert sum(len(e) for e in taken.values()) == 40
    await b.close()  # a clean stop lets go at once
    await _until(a, "a", [0, 1, 2, 3], within=2 * TTL_S)
    await a.close()


async def test_a_dead_replicas_partitions_are_taken_within_about_a_lease_ttl(
    redis_server: RedisServer,
) -> None:
    a, b = await _two_replicas(redis_server)
    await _owned(b, "b")
    await _until(a, "a", [0, 2], within=3)
    await _until(b, "b", [1, 3], within=3)
    # b dies: nothing is released, the roster is not told (as after kill -9)
    b._closed = True
    assert b._affinity is not None and b._affinity._task is not None
    b._affinity._task.cancel()
    for task in b._affinity._held.values():
        task.cancel()
    took = await _until(a, "a", [0, 1, 2, 3], within=TTL_S + 3 * b._affinity.round_s + 0.5)
    assert took > TTL_S * 0.5  # not before b's leases could have run out
    await a.close()
    await b.client.aclose()
