"""A frozen Redis Cluster master stalls only its own partitions (issue 13): while it fails over,
conversations whose partitions live on the other masters keep being read and answered.

The load: customers writing every 60 ms, most on partitions of the live masters, a few on the
master that is frozen (SIGSTOP: connections accepted, nothing answered, so redis-py waits out its
socket timeout). Replies to the live masters' conversations are counted from just after the
freeze until the replica is promoted. A read that sweeps every partition and waits for all of
them answers none of them in that window.

Each message id is picked so that its outbox record (which lives in the partition of the
message's key, not of its conversation: ``brain.store.redis_keys``) also sits on a live master:
the test measures the reading, not where the outbox lives (docs/PERFORMANCE.md, "Cluster reads
per partition", gives the figures with ids as they come).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import defaultdict
from pathlib import Path

from redis.asyncio.cluster import RedisCluster as ClusterClient

from bot.dispatch import DispatchConfig, Dispatcher
from bot.wiring import build_store
from brain.store.base import lock_name
from brain.store.redis import RedisStore
from channels.base import InboundMessage
from config.settings import Settings
from tests.polling import hand_over
from tests.servers import RedisCluster
from tests.test_faults import EchoAfter
from tests.test_faults_cluster import Stamped, _wait_promoted, cluster_with_replicas

__all__ = ["cluster_with_replicas"]  # the fixture, shared with tests/test_faults_cluster.py

LIVE, FROZEN = 9, 3  # conversations on the live masters' partitions, and on the frozen one's
EVERY_S = 0.06
FREE_S = 1.0  # the cluster counts a master failed after its node timeout (1000 ms here)


class Customers:
    """Each conversation's customer writes a message every 60 ms until told to stop."""

    def __init__(self, store: RedisStore, channel: Stamped, frozen_port: int) -> None:
        self.store, self.channel, self.frozen_port = store, channel, frozen_port
        client = store.client
        assert isinstance(client, ClusterClient)
        self.client = client
        self.live: list[str] = []
        self.frozen: list[str] = []
        for n in itertools.count():
            name = f"c{n}"
            on_frozen = self._port(self._lane_key(name)) == frozen_port
            group = self.frozen if on_frozen else self.live
            if len(group) < (FROZEN if on_frozen else LIVE):
                group.append(name)
            if len(self.live) == LIVE and len(self.frozen) == FROZEN:
                break
        self.written: dict[str, list[str]] = defaultdict(list)  # conversation -> message ids
        self.stopping = asyncio.Event()
        self._ids = itertools.count()

    def _lane_key(self, conversation: str) -> str:
        message = self.channel.message("q", conversation=conversation, message_id="x")
        return self.store.layout.stream(self.store.layout.partition(lock_name(message)))

    def _port(self, key: str) -> int:
        return int(self.client.get_node_from_key(key).port)

    def _message(self, conversation: str, n: int) -> InboundMessage:
        """Message ``n`` of ``conversation``, its id picked so that its outbox record sits
        on a live master."""
        while True:
            number = next(self._ids)
            message = self.channel.message(f"q{n}", conversation=conversation,
                                           message_id=f"{conversation}-{number}")  # fmt: skip
            outbox = self.store._outbox_key(message.idempotency_key)
            if self._port(outbox) != self.frozen_port:
                return message

    async def write(self, conversation: str) -> None:
        for n in itertools.count():
            if self.stopping.is_set():
                return
            message = self._message(conversation, n)
            self.written[conversation].append(message.message_id)
            await hand_over(self.channel.inject, message)
            await asyncio.sleep(EVERY_S)


async def test_a_frozen_master_stalls_only_its_own_partitions(
    cluster_with_replicas: RedisCluster, tmp_path: Path
) -> None:
    cluster = cluster_with_replicas
    settings = Settings(store={"redis_url": cluster.url, "redis_cluster": True,  # type: ignore[arg-type]
                               "data_dir": str(tmp_path)})  # fmt: skip
    store = build_store(settings)
    assert isinstance(store, RedisStore) and store.layout.partitions == 16
    victim = cluster.nodes[0]
    replica = next(p for p, (_, of) in cluster.roles().items() if of == victim.port)
    await store.open()
    channel = Stamped()
    config = DispatchConfig(consumer="w1", reclaim_idle_s=30, retry_backoff_s=0.05,
                            max_retry_backoff_s=0.4)  # fmt: skip
    dispatcher = Dispatcher(store, EchoAfter(0.005), {channel.name: channel}, config)
    await channel.start(dispatcher.submit)
    worker = asyncio.create_task(dispatcher.run())
    customers = Customers(store, channel, victim.port)
    writers = [asyncio.create_task(customers.write(c)) for c in customers.live + customers.frozen]
    live_ids: set[str] = set()
    try:
        await channel.wait_for(lambda sent: len(sent) >= 60, within=10)
        before = time.monotonic()
        await asyncio.sleep(1.0)
        victim.freeze()
        frozen_at = time.monotonic()
        promoted = await asyncio.to_thread(_wait_promoted, cluster, replica, 15)
        customers.stopping.set()
        await asyncio.gather(*writers)
        want = {m for ids in customers.written.values() for m in ids}
        await channel.wait_for(lambda sent: {m.in_reply_to for m in sent} >= want, 20)
        live_ids = {m for c in customers.live for m in customers.written[c]}
    finally:
        customers.stopping.set()
        await asyncio.gather(*writers, return_exceptions=True)
        dispatcher.stop()
        await asyncio.wait_for(worker, 30)
        await store.close()
    # Answered while the master was frozen and the cluster had not yet counted it failed (a
    # little after the freeze: what was in flight then does not count). From then until the
    # promotion the whole cluster answers CLUSTERDOWN, and redis-py's reinitialisation that
    # follows may ask the frozen node and wait out its socket timeout: docs/PERFORMANCE.md.
    window = (frozen_at + 0.3, frozen_at + FREE_S)
    rate_before = _rate(channel, live_ids, before, frozen_at)
    rate_during = _rate(channel, live_ids, *window)
    assert promoted - frozen_at > FREE_S, "the failover was too quick to measure anything"
    assert rate_during > 0.5 * rate_before, (rate_during, rate_before)
    for conversation, ids in customers.written.items():  # each once, in order
        numbers = [int(t.removeprefix("echo: q")) for t in channel.sent_to(conversation)]
        assert list(dict.fromkeys(numbers)) == list(range(len(ids))), (conversation, numbers)


def _rate(channel: Stamped, ids: set[str], start: float, end: float) -> float:
    """Replies per second to ``ids`` first sent between ``start`` and ``end``."""
    answered = [m for m, at in channel.answered_at.items() if m in ids and start <= at < end]
    return len(answered) / (end - start)
