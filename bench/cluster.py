"""The KB path on three Redis layouts: one stream, partitions on one redis-server, and a real
three-master Redis Cluster: throughput, round trips per message and read latency when idle.

Each layout in turn gets ``--messages`` questions the sample knowledge base answers, spread over
``--conversations`` conversations, through the real dispatcher and brain (as
``bench/pipeline.py``); round trips are counted at the Redis client (one per command or
pipeline; on a cluster a command per node). Then ``--probes`` single messages, one at a time on
an idle queue, measure enqueue -> reply.

Run: ``python bench/cluster.py [--messages N] [--conversations N] [--partitions P]``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import floor_rank, json_line, redis_server
from bench.pipeline import RoundTrips, burst, start
from brain.knowledge import KnowledgeBase
from brain.store.base import StoreLimits
from brain.store.redis import RedisStore
from config.settings import PACKAGED_KNOWLEDGE_DIR
from tests.servers import start_redis_cluster


async def idle_latency(store: RedisStore, kb: KnowledgeBase, probes: int) -> list[float]:
    """Milliseconds from enqueue to reply, one message at a time on an empty queue."""
    channel, dispatcher, worker = await start(store, kb)
    latencies = []
    for i in range(probes):
        await asyncio.sleep(0.3)  # the reader is blocked waiting, as on a quiet day
        sent = len(channel.sent)
        started = time.perf_counter()
        probe = channel.message("where is my order", conversation=f"p{i}", message_id=f"p{i}")
        await channel.inject(probe)
        async with asyncio.timeout(10):
            while len(channel.sent) == sent:  # noqa: ASYNC110 (the fake channel has no event)
                await asyncio.sleep(0.001)
        latencies.append((time.perf_counter() - started) * 1000)
    dispatcher.stop()
    await worker
    return latencies


async def measure(
    store: RedisStore, kb: KnowledgeBase, args: argparse.Namespace
) -> tuple[float, float, float]:
    await store.open()
    with RoundTrips() as trips:
        rate = await burst(store, kb, args.messages, args.conversations)
    per_message = trips.count / args.messages
    latencies = await idle_latency(store, kb, args.probes)
    await store.close()
    return rate, per_message, floor_rank(latencies, 0.5)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--conversations", type=int, default=400)
    parser.add_argument("--partitions", type=int, default=16)
    parser.add_argument("--probes", type=int, default=20)
    args = parser.parse_args()
    kb = KnowledgeBase.load(PACKAGED_KNOWLEDGE_DIR)
    limits, results = StoreLimits(), {}
    with tempfile.TemporaryDirectory() as tmp, redis_server(Path(tmp) / "redis") as server:
        cluster = start_redis_cluster(Path(tmp) / "cluster")
        try:
            layouts = {
                "single": RedisStore.from_url(server.url, limits=limits, namespace="b1"),
                "partitioned": RedisStore.from_url(server.url, limits=limits, namespace="b2",
                                                   partitions=args.partitions),
                "cluster": RedisStore.from_url(cluster.url, limits=limits, namespace="b3",
                                               cluster=True, partitions=args.partitions),
            }  # fmt: skip
            for name, store in layouts.items():
                rate, trips, idle_ms = await measure(store, kb, args)
                results[name] = (rate, trips, idle_ms)
                print(f"{name:12} {rate:7.0f} msg/s, {trips:5.2f} round trips per message, "
                      f"idle enqueue -> reply p50 {idle_ms:6.1f} ms")  # fmt: skip
        finally:
            cluster.stop()
    json_line({
        f"{name}_{key}": round(value, 2)
        for name, (rate, trips, idle_ms) in results.items()
        for key, value in (("messages_per_second", rate), ("round_trips_per_message", trips),
                           ("idle_latency_p50_ms", idle_ms))
    } | {"partitions": args.partitions})  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
