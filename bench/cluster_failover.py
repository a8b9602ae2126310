"""A master of a Redis Cluster failed mid-load: how long the bot cannot serve, how long
customers wait, and whether anything is lost or answered twice.

Each round starts a fresh cluster (3 masters, 1 replica each, ``--node-timeout-ms``), runs the
load of ``tests/test_faults_cluster.py`` (12 customers writing every 60 ms, the real
dispatcher on the store ``FRONTDESK_STORE__REDIS_CLUSTER=true`` builds, default lock TTL),
then fails the master the URL names: ``kill`` (SIGKILL: connections refused) or ``freeze``
(SIGSTOP: a hung host or a partition, connections accepted and never answered). Measured
from the fault: the replica promoted (``cluster_state:ok`` again), ``/healthz`` back to ok,
and the longest any customer waited for an answer; plus lost and duplicate replies. And the
replies per second to the conversations whose partitions live on the other masters: in the
second before the fault, from 0.3 s to 1 s after it (the master failed, the cluster not yet
aware), and from 0.3 s after it until the promotion (the whole failover).

Run: ``python bench/cluster_failover.py [--rounds N] [--node-timeout-ms MS]
[--faults kill,freeze]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis.asyncio.cluster import RedisCluster as ClusterClient

from bench._common import json_line
from bot.health import Health
from bot.metrics import Metrics
from bot.ops_server import OpsServer
from bot.wiring import build_store
from brain.store.base import lock_name
from brain.store.redis import RedisStore
from config.settings import Settings
from tests.servers import start_redis_cluster
from tests.test_faults_cluster import (
    CONVERSATIONS,
    KnowledgeOnly,
    Load,
    _until,
    _wait_promoted,
)


async def one_round(fault: str, node_timeout_ms: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        cluster = start_redis_cluster(Path(tmp) / "c", replicas=1, node_timeout_ms=node_timeout_ms)
        try:
            settings = Settings(store={"redis_url": cluster.url, "redis_cluster": True,  # type: ignore[arg-type]
                                       "data_dir": tmp})  # fmt: skip
            store = build_store(settings)
            assert isinstance(store, RedisStore)
            health = Health(store, [], KnowledgeOnly(), None)  # type: ignore[arg-type]
            ops = OpsServer("127.0.0.1", 0, Metrics(), health.snapshot, health.readiness)
            victim = cluster.node(int(cluster.url.rsplit(":", 1)[1].split("/")[0]))
            replica = next(p for p, (_, of) in cluster.roles().items() if of == victim.port)
            await store.open()
            await ops.start()
            bot = Load(store)
            live = _live_conversations(store, bot, victim.port)
            try:
                await bot.start()
                await bot.channel.wait_for(lambda sent: len(sent) >= 36, within=10)
                victim.kill() if fault == "kill" else victim.freeze()
                failed_at = time.monotonic()
                bot.one_shots(12)
                await _until(ops, "degraded", within=20)
                promoted = await asyncio.to_thread(_wait_promoted, cluster, replica, 60)
                await _until(ops, "ok", within=60)
                healthy = time.monotonic()
                await bot.finish()
            finally:
                await bot.stop()
                await ops.stop()
                await store.close()
            answered = {m.in_reply_to for m in bot.channel.sent}
            at = {m: t - failed_at for m, t in bot.channel.answered_at.items()
                  if m.split("-")[0] in live}  # fmt: skip

            def rate(start: float, end: float) -> float:
                return sum(start <= t < end for t in at.values()) / (end - start)

            return {
                "live_conversations": float(len(live)),
                "live_replies_per_s_before": rate(-1.0, 0.0),
                "live_replies_per_s_first_s": rate(0.3, 1.0),
                "live_replies_per_s_failover": rate(0.3, promoted - failed_at),
                "promoted_s": promoted - failed_at,
                "healthy_s": healthy - failed_at,
                "longest_wait_s": bot.longest_wait_s(),
                "lost": float(len(bot.want - answered)),
                "duplicates": float(len(bot.channel.sent) - len(answered)),
            }
        finally:
            cluster.stop()


def _live_conversations(store: RedisStore, bot: Load, victim: int) -> set[str]:
    """The load's conversations whose partition is not on ``victim``."""
    client = store.client
    assert isinstance(client, ClusterClient)
    live = set()
    for c in range(CONVERSATIONS):
        message = bot.channel.message("q", conversation=f"c{c}", message_id="x")
        stream = store.layout.stream(store.layout.partition(lock_name(message)))
        if client.get_node_from_key(stream).port != victim:
            live.add(f"c{c}")
    return live


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--node-timeout-ms", type=int, default=1000)
    parser.add_argument("--faults", default="kill,freeze")
    args = parser.parse_args()
    figures: dict[str, float] = {"node_timeout_ms": args.node_timeout_ms}
    for fault in args.faults.split(","):
        rounds = [await one_round(fault, args.node_timeout_ms) for _ in range(args.rounds)]
        for r in rounds:
            print(f"{fault:6} promoted {r['promoted_s']:5.2f} s, /healthz ok "
                  f"{r['healthy_s']:5.2f} s, longest wait {r['longest_wait_s']:5.2f} s, "
                  f"lost {r['lost']:.0f}, duplicates {r['duplicates']:.0f}; "
                  f"{r['live_conversations']:.0f} conversations on live masters: "
                  f"{r['live_replies_per_s_before']:.0f} replies/s before, "
                  f"{r['live_replies_per_s_first_s']:.0f} in 0.3-1 s, "
                  f"{r['live_replies_per_s_failover']:.0f} until promoted")  # fmt: skip
        for key in ("promoted_s", "healthy_s", "longest_wait_s", "live_replies_per_s_before",
                    "live_replies_per_s_first_s", "live_replies_per_s_failover"):  # fmt: skip
            values = [r[key] for r in rounds]
            figures[f"{fault}_{key}_median"] = round(statistics.median(values), 2)
            figures[f"{fault}_{key}_max"] = round(max(values), 2)
        figures[f"{fault}_lost"] = sum(r["lost"] for r in rounds)
        figures[f"{fault}_duplicates"] = sum(r["duplicates"] for r in rounds)
    json_line(figures)


if __name__ == "__main__":
    asyncio.run(main())
