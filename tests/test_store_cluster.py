"""The Redis store on a real three-master Redis Cluster: one message's keys share one slot,
partitions spread over the nodes, the dispatcher answers every message once, and a store
never opens on top of a queue that its layout cannot see."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio.cluster import RedisCluster as ClusterClient
from redis.crc import key_slot

from brain.store.base import StoreLimits, TicketStatus, Turn, conversation_lock, lock_name
from brain.store.redis import RedisStore
from channels.base import Author, ConversationRef, InboundMessage
from channels.fake import FakeChannel
from config.errors import StoreError
from tests.conftest import CLUSTER_PARTITIONS
from tests.servers import RedisCluster, RedisServer
from tests.test_scale import Paced, running


def _namespace() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def cluster_store(redis_cluster: RedisCluster) -> AsyncIterator[RedisStore]:
    store = RedisStore.from_url(redis_cluster.url, limits=StoreLimits(), cluster=True,
                                partitions=CLUSTER_PARTITIONS, namespace=_namespace())  # fmt: skip
    await store.open()
    yield store
    await store.close()


def _message(conversation: str, message_id: str) -> InboundMessage:
    ref = ConversationRef(channel="slack", conversation_id=conversation, workspace_id="T1")
    return InboundMessage(ref=ref, message_id=message_id, author=Author(id="U1"), text="hi")


async def test_one_messages_path_stays_on_one_slot(cluster_store: RedisStore) -> None:
    store = cluster_store
    for n in range(20):  # conversations in every partition
        message = _message(f"C{n}", f"{n}.0001")
        partition = store.layout.partition(lock_name(message))
        assert lock_name(message) == conversation_lock(message.ref.key)
        lane_keys = [
            store.layout.in_partition(partition, "idem", message.idempotency_key),
            store._stream_key(partition),
            store._convq_key(message.ref.key),
            store._lock_key(lock_name(message)),
            store._stats(None, partition),
            *store._conversation_keys(message.ref.key),
        ]
        assert len({key_slot(k.encode()) for k in lane_keys}) == 1, lane_keys
        # ...and what the store really wrote sits there: the entry and the index.
        assert await store.enqueue(message)
        head = await store.head_of(message.ref.key)
        assert head is not None and head.entry_id.startswith(f"{partition}/")
        client = store.client
        assert isinstance(client, ClusterClient)
        for key in lane_keys[:3]:
            assert await client.exists(key) == 1, key
    ticket_keys = [
        store.layout.tickets("ticket_seq"),
        store._ticket_key("T-1"),
        store._index(TicketStatus.CLAIMED),
        store._pointer_key("slack:T1:C1"),
    ]
    assert len({key_slot(k.encode()) for k in ticket_keys}) == 1


async def test_the_combined_steps_and_logs_run_on_one_slot(cluster_store: RedisStore) -> None:
    """lock_conversation's and begin_turn's scripts get an in-slot placeholder for the
    open-ticket pointer (tag {tickets}), which is read beside them; a log's keys share a
    slot whatever its name."""
    store = cluster_store
    for n in range(20):
        ref = ConversationRef(channel="slack", conversation_id=f"C{n}", workspace_id="T1")
        partition = store.layout.partition(conversation_lock(ref.key))
        keys, beside = store._context_keys(ref)
        script_keys = [store._lock_key(conversation_lock(ref.key)), store._convq_key(ref.key),
                       store._stream_key(partition), *keys]  # fmt: skip
        assert len({key_slot(k.encode()) for k in script_keys}) == 1, script_keys
        assert beside == [store._pointer_key(ref.key)]
        ticket, _ = await store.open_ticket(ref, Author(id="U1"), ["human_requested"], "help")
        context = await store.begin_turn(ref, Turn(f"t{n}", "customer", "hi"), ["x"])
        assert context.open_ticket == ticket and dict(context.flags) == {"x": None}
    log_keys = store._log_keys("web:{odd}name")
    assert len({key_slot(k.encode()) for k in log_keys}) == 1, log_keys
    assert (await store.log_append("web:{odd}name", "m1", "x"))[1]


async def test_partitions_spread_over_every_node(
    cluster_store: RedisStore, redis_cluster: RedisCluster
) -> None:
    client = cluster_store.client
    assert isinstance(client, ClusterClient)
    owners = {client.get_node_from_key(s).port for s in cluster_store.layout.streams()}
    assert owners == set(redis_cluster.ports)
    # and conversations spread over the partitions
    used = {cluster_store.layout.partition(conversation_lock(f"slack:T1:C{n}")) for n in range(60)}
    assert used == set(range(CLUSTER_PARTITIONS))


async def test_the_dispatcher_answers_every_message_once_on_a_cluster(
    cluster_store: RedisStore,
) -> None:
    channel, brain = FakeChannel(), Paced()
    for i in range(60):
        await cluster_store.enqueue(channel.message(f"q{i}", conversation=f"c{i % 20}"))
    async with running(cluster_store, brain, channel) as dispatcher:
        await asyncio.wait_for(dispatcher.drain(), 20)
    for c in range(20):
        assert channel.sent_to(f"c{c}") == [f"echo: q{i}" for i in range(c, 60, 20)]
    assert await cluster_store.queue_depth() == 0
    assert (await cluster_store.counters())["decisions_reply"] == 60


async def test_a_store_does_not_open_over_a_queue_its_layout_cannot_see(
    redis_server: RedisServer,
) -> None:
    namespace, limits = _namespace(), StoreLimits()
    single = RedisStore.from_url(redis_server.url, limits=limits, namespace=namespace)
    await single.open()
    await single.enqueue(_message("C1", "1.1"))
    await single.close()
    four = RedisStore.from_url(redis_server.url, limits=limits, namespace=namespace, partitions=4)
    with pytest.raises(StoreError, match=r"single-stream layout \(1 queued"):
        await four.open()
    await four.close()

    namespace = _namespace()
    four = RedisStore.from_url(redis_server.url, limits=limits, namespace=namespace, partitions=4)
    await four.open()
    await four.enqueue(_message("C1", "1.1"))
    await four.close()
    for other in (RedisStore.from_url(redis_server.url, limits=limits, namespace=namespace),
                  RedisStore.from_url(redis_server.url, limits=limits, namespace=namespace,
                                      partitions=8)):  # fmt: skip
        with pytest.raises(StoreError, match="STREAM_PARTITIONS"):
            await other.open()
        await other.close()
    # drained, the count may change
    four = RedisStore.from_url(redis_server.url, limits=limits, namespace=namespace, partitions=4)
    await four.open()
    (entry,) = await four.read_queue("w1", 10, 0.1)
    await four.ack(entry.entry_id)
    await four.close()
    eight = RedisStore.from_url(redis_server.url, limits=limits, namespace=namespace, partitions=8)
    await eight.open()
    assert await eight.queue_depth() == 0
    await eight.close()


async def test_partitions_on_one_redis_take_over_a_drained_single_layout(
    redis_server: RedisServer,
) -> None:
    namespace, limits = _namespace(), StoreLimits()
    message = _message("C9", "9.1")
    single = RedisStore.from_url(redis_server.url, limits=limits, namespace=namespace)
    await single.open()
    ticket, _ = await single.open_ticket(message.ref, message.author, ["vip"], "help")
    await single.append_turn(message.ref, Turn("t1", "customer", "where is my order"))
    await single.outbox_put("k1", [])
    await single.incr("answered", 2)
    await single.log_append("web:c9", "m1", "hello")
    await single.close()

    four = RedisStore.from_url(redis_server.url, limits=limits, namespace=namespace, partitions=4)
    await four.open()
    assert await four.open_ticket_for(message.ref.key) == ticket
    conversation = await four.get_conversation(message.ref.key)
    assert conversation is not None and conversation.turns[0].text == "where is my order"
    assert await four.outbox_get("k1") is not None
    assert (await four.counters())["answered"] == 2
    assert [e.value for e in await four.log_read("web:c9")] == ["hello"]
    entry, added = await four.log_append("web:c9", "m2", "again")
    assert added and entry.seq == 2  # the log's counter moved with it
    again, created = await four.open_ticket(_message("C10", "1").ref, message.author, ["x"], "s")
    assert created and again.id == "T-2"  # the sequence moved too
    await four.close()


async def test_a_burst_enqueued_at_once_waits_for_connections_instead_of_failing(
    cluster_store: RedisStore,
) -> None:
    # redis-py's cluster client has no blocking pool: past a node's connection limit it fails
    # a command (MaxConnectionsError) instead of waiting. 2,000 events handed over at once
    # (bench/cluster.py's burst) put some 700 commands on each of the three masters.
    messages = [_message(f"C{n % 400}", f"{n}.0002") for n in range(2000)]
    added = await asyncio.gather(*(cluster_store.enqueue(m) for m in messages))
    assert all(added)
    assert await cluster_store.queue_depth() == len(messages)
