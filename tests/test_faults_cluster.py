"""Fault injection on a Redis Cluster (issue 13), bounded in time: one master of a cluster
with replicas is killed (SIGKILL) or frozen (SIGSTOP) mid-load; its replica takes over; the
bot (the real dispatcher on the store that ``FRONTDESK_STORE__REDIS_CLUSTER=true`` builds)
reconnects by itself, ``/healthz`` says degraded meanwhile, and every message is answered,
none after a lock TTL or a reclaim period. Also the two ways a failover used to delay a
message (a read that took entries and never returned them; redis-py's connection-reset race).

What this can promise: Redis replicates asynchronously, so a master killed between answering a
write and passing it to its replica loses that write although the client saw "OK" (see
docs/operations.md, "What a failover can lose"). On loopback the replica receives each write
in the same event-loop turn as the client's reply, so here nothing acknowledged is lost and the
test holds the bot to "every message answered, in order, at most the reply in flight per
conversation at the fault sent twice". Across a network the window is the replication lag;
``min-replicas-to-write`` bounds it.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis
from redis.asyncio.cluster import RedisCluster as ClusterClient
from redis.asyncio.connection import Connection

from bot.dispatch import DispatchConfig, Dispatcher
from bot.health import Health
from bot.metrics import Metrics
from bot.ops_server import OpsServer
from bot.wiring import build_store
from brain.knowledge import KnowledgeBase
from brain.store.base import QueueEntry, Store, StoreLimits, lock_name
from brain.store.redis import RedisStore
from brain.store.redis_wire import _failures
from channels.base import InboundMessage, OutboundMessage
from channels.fake import FakeChannel
from config.errors import StoreError
from config.settings import PACKAGED_KNOWLEDGE_DIR, Settings
from tests.polling import hand_over
from tests.servers import RedisCluster, free_port, start_redis_cluster
from tests.test_faults import EchoAfter

REDIS_PY = tuple(int(part) for part in redis.__version__.split(".")[:2])

CONVERSATIONS, PER_CONVERSATION = 12, 12
ONE_SHOTS = 12
NODE_TIMEOUT_MS = 1000  # a master unreachable this long is failed over (redis.conf default 15 s)


@pytest.fixture
def cluster_with_replicas(tmp_path: Path) -> Iterator[RedisCluster]:
    """Three masters with one replica each, its own (a test kills one of its nodes)."""
    try:
        cluster = start_redis_cluster(tmp_path / "cluster", replicas=1,
                                      node_timeout_ms=NODE_TIMEOUT_MS)  # fmt: skip
    except RuntimeError as err:
        pytest.fail(str(err), pytrace=False)
    yield cluster
    cluster.stop()


class KnowledgeOnly:
    """The readiness check only asks the brain whether a knowledge base is loaded."""

    def __init__(self) -> None:
        self.knowledge = KnowledgeBase.load(PACKAGED_KNOWLEDGE_DIR)


@pytest.mark.parametrize("fault", ["kill", "freeze"])
async def test_a_failed_master_is_replaced_and_nothing_is_lost(
    cluster_with_replicas: RedisCluster, tmp_path: Path, fault: str
) -> None:
    """``kill``: SIGKILL (connections refused at once); ``freeze``: SIGSTOP, a hung host or a
    partition (connections accepted, nothing answered): the client must time out itself."""
    cluster = cluster_with_replicas
    settings = Settings(store={"redis_url": cluster.url, "redis_cluster": True,  # type: ignore[arg-type]
                               "data_dir": str(tmp_path)})  # fmt: skip
    store = build_store(settings)
    assert isinstance(store, RedisStore) and store.layout.partitions == 16
    health = Health(store, [], KnowledgeOnly(), None)  # type: ignore[arg-type]
    ops = OpsServer("127.0.0.1", 0, Metrics(), health.snapshot, health.readiness)
    # The master the URL names: the client must also stop relying on its first contact.
    victim = cluster.node(int(cluster.url.rsplit(":", 1)[1].split("/")[0]))
    assert cluster.roles()[victim.port][0] == "master"
    replica = next(p for p, (_, of) in cluster.roles().items() if of == victim.port)
    await store.open()
    await ops.start()
    bot = Load(store)
    try:
        await bot.start()
        assert (await _healthz(ops))["status"] == "ok"
        await bot.channel.wait_for(lambda sent: len(sent) >= 3 * CONVERSATIONS, within=10)
        answered_before = len(bot.channel.sent)
        victim.kill() if fault == "kill" else victim.freeze()  # mid-load
        failed_at = time.monotonic()
        bot.one_shots(ONE_SHOTS)
        degraded = await _until(ops, "degraded", within=8)
        promoted = await asyncio.to_thread(_wait_promoted, cluster, replica, 15)
        await _until(ops, "ok", within=15)
        healthy_s = time.monotonic() - failed_at
        await bot.finish()
    finally:
        await bot.stop()
        await ops.stop()
        await store.close()
    assert 0 < answered_before < len(bot.want), "the fault came mid-load"
    assert bot.delayed, "no message met the outage: the fault came too late to matter"
    assert "store" in str(degraded["checks"]), degraded
    assert promoted - failed_at < 10 and healthy_s < 15, (promoted - failed_at, healthy_s)
    bot.check_answers()
    # Nobody waited out a lock's TTL (30 s) or the reclaim of a stranded entry (30 s here):
    # kill ~3 s (the failover), freeze ~5-8 s (redis-py's 5 s socket timeout, then it).
    assert bot.longest_wait_s() < 15, bot.longest_wait_s()


class Load:
    """The real dispatcher on ``store``, with a customer per conversation writing every 60 ms
    (the platform retrying each message until the bot takes it)."""

    def __init__(self, store: RedisStore) -> None:
        self.store = store
        self.channel = Stamped()
        config = DispatchConfig(consumer="w1", reclaim_idle_s=30, retry_backoff_s=0.05,
                                max_retry_backoff_s=0.4)  # fmt: skip
        self.dispatcher = Dispatcher(store, EchoAfter(0.005), {self.channel.name: self.channel},
                                     config)  # fmt: skip
        self.want = {f"c{c}-{n}" for c in range(CONVERSATIONS) for n in range(PER_CONVERSATION)}
        self.delayed: list[str] = []  # the platform had to wait to hand these over
        self.written: dict[str, float] = {}  # when the customer sent it
        self._tasks: list[asyncio.Task[None]] = []
        self._worker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.channel.start(self.dispatcher.submit)
        self._worker = asyncio.create_task(self.dispatcher.run())
        self._tasks = [asyncio.create_task(self._customer(c)) for c in range(CONVERSATIONS)]

    async def _customer(self, c: int) -> None:
        for n in range(PER_CONVERSATION):
            message = self.channel.message(f"q{n}", conversation=f"c{c}", message_id=f"c{c}-{n}")
            started = self.written[message.message_id] = time.monotonic()
            await hand_over(self.channel.inject, message)
            if time.monotonic() - started > 0.5:  # refused, or no answer for a while
                self.delayed.append(message.message_id)
            await asyncio.sleep(0.06)

    def one_shots(self, count: int) -> None:
        """Customers who write once (every 0.1 s), during the outage: nothing comes after
        their message to bring it up if it is stranded (read, and never handed over)."""
        for i in range(count):
            self.want.add(f"s{i}-0")
            self._tasks.append(asyncio.create_task(self._one_shot(i, 0.1 * i)))

    async def _one_shot(self, i: int, after_s: float) -> None:
        await asyncio.sleep(after_s)
        message = self.channel.message("q0", conversation=f"s{i}", message_id=f"s{i}-0")
        self.written[message.message_id] = time.monotonic()
        await hand_over(self.channel.inject, message)

    async def finish(self) -> None:
        """Every customer done and every message answered."""
        await asyncio.wait_for(asyncio.gather(*self._tasks), 30)
        want = self.want
        await self.channel.wait_for(lambda sent: {m.in_reply_to for m in sent} >= want, 20)
        await asyncio.wait_for(self.dispatcher.drain(), 20)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.dispatcher.stop()
        if self._worker is not None:
            await asyncio.wait_for(self._worker, 30)

    def longest_wait_s(self) -> float:
        """The longest a customer waited for an answer (from sending it)."""
        answered = self.channel.answered_at
        return max(answered[m] - sent for m, sent in self.written.items())

    def check_answers(self) -> None:
        by_message: dict[str, list[str]] = defaultdict(list)
        for sent in self.channel.sent:
            assert sent.in_reply_to is not None
            by_message[sent.in_reply_to].append(sent.text)
        assert set(by_message) == self.want, f"unanswered: {sorted(self.want - set(by_message))}"
        # A reply whose recording failed after its send is recorded by the lane's retry, not
        # sent again (``Delivery.unrecorded``). What may still repeat one: a write the master
        # acknowledged and died before replicating (see the module's docstring), at most the
        # one in flight per conversation when the master failed.
        twice = sorted(m for m, texts in by_message.items() if len(texts) > 1)
        assert all(len(by_message[m]) == 2 for m in twice), twice
        assert len({m.split("-")[0] for m in twice}) == len(twice), twice
        for c in range(CONVERSATIONS):  # order per conversation, by first copy
            numbers = [int(t.removeprefix("echo: q")) for t in self.channel.sent_to(f"c{c}")]
            assert list(dict.fromkeys(numbers)) == list(range(PER_CONVERSATION)), (c, numbers)


class Stamped(FakeChannel):
    """Remembers when each message got its first reply."""

    def __init__(self) -> None:
        super().__init__()
        self.answered_at: dict[str, float] = {}

    async def send(self, message: OutboundMessage) -> None:
        await super().send(message)
        if message.in_reply_to is not None:
            self.answered_at.setdefault(message.in_reply_to, time.monotonic())


async def _healthz(ops: OpsServer) -> dict[str, object]:
    async with aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{ops.bound_port}/healthz"
        async with http.get(url) as response:
            assert response.status == 200  # alive throughout: restarting would not help
            body: dict[str, object] = await response.json()
            return body


async def _until(ops: OpsServer, status: str, within: float) -> dict[str, object]:
    """Poll ``/healthz`` every 50 ms until its status is ``status``."""
    deadline = time.monotonic() + within
    last: dict[str, object] = {}
    while time.monotonic() < deadline:
        last = await _healthz(ops)
        if last["status"] == status:
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"/healthz not {status} within {within}s; last: {last}")


def _wait_promoted(cluster: RedisCluster, replica: int, within: float) -> float:
    """When (``time.monotonic()``) the cluster counts ``replica`` a master and says
    ``cluster_state:ok``."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        try:
            if cluster.roles().get(replica, ("", None))[0] == "master":
                cluster.wait_ok(timeout=within)
                return time.monotonic()
        except (IndexError, ValueError):
            pass  # a table mid-gossip
        time.sleep(0.05)
    raise AssertionError(f"replica {replica} not promoted within {within}s: {cluster.roles()}")


async def test_messages_written_during_a_failover_are_not_stranded(
    cluster_with_replicas: RedisCluster,
) -> None:
    """An idle bot; a master dies; ten customers on the live masters write once each. The
    reader's cluster pipeline, retried by redis-py until the failover ends, takes entries and
    returns none of them: without taking them back, half of them waited for reclaim_idle_s."""
    cluster = cluster_with_replicas
    store = RedisStore.from_url(cluster.url, limits=StoreLimits(), cluster=True, partitions=16)
    channel = Stamped()
    # A turn that fails meanwhile (an outbox key, a lock on the dead master) is retried by its
    # lane: with the default backoff (1 s, doubling) a failover that a loaded machine stretches
    # past 7 s put the fifth try of such a message at 15 s. It was never stranded, only
    # backed off; this test is about strandings (answered after reclaim_idle_s, 60 s), so the
    # lanes retry as in ``Load``.
    config = DispatchConfig(consumer="w1", reclaim_idle_s=60, retry_backoff_s=0.05,
                            max_retry_backoff_s=0.4)  # fmt: skip
    victim = cluster.nodes[1]
    assert cluster.roles()[victim.port][0] == "master"
    replica = next(p for p, (_, of) in cluster.roles().items() if of == victim.port)
    await store.open()
    client = store.client
    assert isinstance(client, ClusterClient)
    messages = [channel.message("q", conversation=f"c{n}", message_id=f"m{n}") for n in range(60)]

    def node_of(message: InboundMessage) -> int:
        stream = store.layout.stream(store.layout.partition(lock_name(message)))
        return int(client.get_node_from_key(stream).port)

    live = [m for m in messages if node_of(m) != victim.port][:10]
    dispatcher = Dispatcher(store, EchoAfter(0), {channel.name: channel}, config)
    worker = asyncio.create_task(dispatcher.run())
    try:
        await asyncio.sleep(0.5)  # reading (idle) when the master dies
        victim.kill()
        for message in live:
            # As a platform does: again while the store refuses it. During the failover
            # redis-py's slot-map refresh can fail on the dead node and the enqueue with it.
            await hand_over(store.enqueue, message)
            await asyncio.sleep(0.05)
        # Counted from the end of the failover, which a loaded machine stretches: a stranded
        # entry waits reclaim_idle_s (60 s) past it, a message merely retried does not.
        await asyncio.to_thread(_wait_promoted, cluster, replica, 30)
        await channel.wait_for(lambda sent: len(sent) == len(live), within=15)
    finally:
        dispatcher.stop()
        await asyncio.wait_for(worker, 30)
        await store.close()
    assert sorted(m.in_reply_to or "" for m in channel.sent) == sorted(m.message_id for m in live)


async def test_a_connection_reset_inside_redis_py_is_a_store_failure() -> None:
    """The race a failover provokes (a connection closed by another task mid-command) fails
    inside redis-py with AttributeError up to 8.1 (``connection reset mid-command``, our text),
    and as its own ConnectionError from 8.2 on (``closed by the server before write``). Callers
    must see StoreError either way (they retry it), with the cause in its text. The same
    AttributeError from anywhere else is a bug and stays what it is."""
    connection = Connection(host="127.0.0.1", port=free_port())  # never connected: no writer
    own = "closed by the server before write" if REDIS_PY >= (8, 2) else "reset mid-command"
    with pytest.raises(StoreError, match=f"Redis enqueue failed.*{own}"), _failures("enqueue"):
        await connection._send_packed_command([b"PING\r\n"])
    with pytest.raises(AttributeError), _failures("enqueue"):
        _ = None.writelines  # type: ignore[attr-defined]


class LosesOneRead:
    """``store``, except that its first read takes the entries and then fails (``fails``) or,
    after 1.5 s, returns nothing (``hangs``): what a cluster pipeline's XREADGROUP does when
    redis-py retries it across a failover (the retried ``>`` read finds nothing new)."""

    def __init__(self, store: Store, mode: str) -> None:
        self._store = store
        self.mode = mode
        self.lost: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def read_queue(self, consumer: str, count: int, block_s: float) -> list[QueueEntry]:
        entries = await self._store.read_queue(consumer, count, block_s)
        if entries and not self.lost:
            self.lost = [e.entry_id for e in entries]
            if self.mode == "fails":
                raise StoreError("Redis read_queue failed: Error 111 connecting")
            await asyncio.sleep(1.5)
            return []
        return entries


@pytest.mark.parametrize("mode", ["fails", "hangs"])
async def test_entries_a_failed_read_took_are_answered_at_once(store: Store, mode: str) -> None:
    channel = Stamped()
    for c in range(3):  # each the last message of its conversation: nothing brings it up
        await store.enqueue(channel.message(f"q{c}", conversation=f"c{c}", message_id=f"m{c}"))
    flaky = LosesOneRead(store, mode)
    config = DispatchConfig(consumer="w1", reclaim_idle_s=60)
    dispatcher = Dispatcher(flaky, EchoAfter(0), {channel.name: channel}, config)  # type: ignore[arg-type]
    worker = asyncio.create_task(dispatcher.run())
    try:
        await channel.wait_for(lambda sent: len(sent) == 3, within=5)  # not after 60 s
    finally:
        dispatcher.stop()
        await asyncio.wait_for(worker, 10)
    assert len(flaky.lost) == 3
    assert sorted(m.text for m in channel.sent) == ["echo: q0", "echo: q1", "echo: q2"]
    assert await store.queue_depth() == 0


async def test_a_bot_started_while_its_first_named_node_is_down_connects_through_the_others(
    cluster_with_replicas: RedisCluster, tmp_path: Path
) -> None:
    """The URL's node died and its replica took over; a bot restarted now with that node
    alone in ``FRONTDESK_STORE__REDIS_URL`` cannot connect. With more startup nodes listed
    after it (comma-separated), it connects through them, serves, and says healthy."""
    cluster = cluster_with_replicas
    first = cluster.nodes[0]
    assert cluster.roles()[first.port][0] == "master"
    replica = next(p for p, (_, of) in cluster.roles().items() if of == first.port)
    others = [n for n in cluster.nodes[1:] if n.port != replica]
    first.kill()
    await asyncio.to_thread(_wait_promoted, cluster, replica, 15)

    def settings(url: str) -> Settings:
        return Settings(store={"redis_url": url, "redis_cluster": True,  # type: ignore[arg-type]
                               "data_dir": str(tmp_path)})  # fmt: skip

    alone = build_store(settings(first.url))
    with pytest.raises(StoreError, match="cannot reach Redis"):
        await alone.open()
    await alone.close()
    store = build_store(settings(",".join(n.url for n in [first, *others[:1]])))
    assert isinstance(store, RedisStore)
    health = Health(store, [], KnowledgeOnly(), None)  # type: ignore[arg-type]
    await store.open()
    try:
        channel = Stamped()
        messages = [channel.message("q", conversation=f"c{n}", message_id=f"m{n}")
                    for n in range(12)]  # fmt: skip
        for message in messages:
            assert await store.enqueue(message)
        entries = []
        while len(entries) < len(messages):
            batch = await store.read_queue("w1", 100, block_s=0.2)
            assert batch or entries, "nothing read"
            entries += batch
        assert sorted(e.message.message_id for e in entries) == sorted(f"m{n}" for n in range(12))
        assert (await health.readiness()).checks["store"] == "ok"
    finally:
        await store.close()
