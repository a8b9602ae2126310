"""What a message costs the bot's CPU at a steady arrival rate, beside what this host charges
for a round trip to Redis when both processes are busy and when they were idle: the figures
behind ``bench/pipeline.py``'s p99 at half its burst rate.

``bench/pipeline.py`` drains a burst with the store's commands of many messages in one
pipeline and both processes (the bot, redis-server) always busy; its paced runs hand messages
over one at a time, and between them the two go idle. A message that arrives alone costs
more CPU than one in a burst (docs/PERFORMANCE.md, eighth pass: the same instructions run
slower when the rest of the path ran in between), so the share of a core the paced run
needs, and with it the room left for a slow stretch, depends on the rate.

Two parts, on a redis-server started for the run (loopback):

- **The host:** a system call (``getppid``), a Redis ``PING`` sent back to back, a ``PING``
  after ``--idle-ms`` (2.5) of sleep (less the sleep's own cost), and that ``asyncio.sleep``
  alone: the CPU time each costs this process.
- **The bot:** ``bench/pipeline.py``'s paced run (the real dispatcher and brain, open loop,
  fresh conversations, 0.5 s of warm-up) at each of ``--rates`` for ``--seconds``: the bot's
  CPU per message (from when the dispatcher runs to the last reply, warm-up included),
  redis-server's CPU per message, the share of one core the bot used, p50 and p99.

Run: ``python bench/rate_cost.py [--rates 100,400,800] [--seconds S] [--idle-ms MS]``. The
last line is JSON: ``syscall_us``, ``ping_busy_cpu_us``, ``ping_idle_cpu_us``,
``sleep_cpu_us``, and per rate ``cpu_ms_per_message_at_<rate>``,
``redis_cpu_ms_per_message_at_<rate>``, ``core_share_at_<rate>``, ``p99_ms_at_<rate>``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis.asyncio as aioredis

from bench import pipeline
from bench._common import floor_rank, json_line, process_cpu_s
from brain.knowledge import KnowledgeBase
from brain.store.base import StoreLimits
from config.settings import PACKAGED_KNOWLEDGE_DIR
from tests.servers import RedisServer, start_redis


def per_call_us(started_cpu: float, calls: int) -> float:
    return (time.process_time() - started_cpu) * 1e6 / calls


async def host_costs(url: str, idle_s: float, calls: int = 2000) -> dict[str, float]:
    started = time.process_time()
    for _ in range(calls * 10):
        os.getppid()  # about the cheapest system call there is
    syscall = per_call_us(started, calls * 10)
    client = aioredis.from_url(url)
    try:
        await client.ping()
        started = time.process_time()
        for _ in range(calls):
            await client.ping()
        busy = per_call_us(started, calls)
        started = time.process_time()
        for _ in range(calls // 2):
            await asyncio.sleep(idle_s)
        sleep = per_call_us(started, calls // 2)
        started = time.process_time()
        for _ in range(calls // 2):
            await asyncio.sleep(idle_s)
            await client.ping()
        idle = per_call_us(started, calls // 2) - sleep
    finally:
        await client.aclose()
    return {
        "syscall_us": round(syscall, 2),
        "ping_busy_cpu_us": round(busy, 1),
        "ping_idle_cpu_us": round(idle, 1),
        "sleep_cpu_us": round(sleep, 1),
    }


async def bot_costs(
    server: RedisServer, kb: KnowledgeBase, rate: float, seconds: float
) -> dict[str, float]:
    """The paced run at ``rate``; CPU counted from the dispatcher's start (not the brain's
    building) to the last reply."""
    marks: dict[str, float] = {}

    def started() -> None:
        marks.update(cpu=time.process_time(), wall=time.perf_counter(),
                     redis=process_cpu_s(server.process.pid))  # fmt: skip

    async with pipeline.opened(server.url, StoreLimits(), f"rate{rate:g}") as store:
        latencies, warm, _ = await pipeline.paced(store, kb, rate, seconds, on_started=started)
    cpu, wall = time.process_time() - marks["cpu"], time.perf_counter() - marks["wall"]
    redis_cpu = process_cpu_s(server.process.pid) - marks["redis"]
    messages = len(latencies) + len(warm)
    return {
        "cpu_ms": cpu * 1000 / messages,
        "redis_cpu_ms": redis_cpu * 1000 / messages,
        "core": cpu / wall,
        "p50_ms": floor_rank(latencies, 0.50),
        "p99_ms": floor_rank(latencies, 0.99),
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", default="100,400,800")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--idle-ms", type=float, default=2.5)
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    kb = KnowledgeBase.load(PACKAGED_KNOWLEDGE_DIR)
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        server = start_redis(Path(tmp) / "redis")
        try:
            host = await host_costs(server.url, args.idle_ms / 1000)
            figures.update(host)
            idle = f"{args.idle_ms:g} ms"
            print(f"host: a system call {host['syscall_us']:.2f} us of CPU; a PING "
                  f"{host['ping_busy_cpu_us']:.0f} us back to back, "
                  f"{host['ping_idle_cpu_us']:.0f} us after {idle} idle; "
                  f"the {idle} sleep itself {host['sleep_cpu_us']:.0f} us")  # fmt: skip
            for rate in rates:
                bot = await bot_costs(server, kb, rate, args.seconds)
                print(f"{rate:6.0f} msg/s: bot {bot['cpu_ms']:.2f} ms of CPU a message "
                      f"({bot['core']:.0%} of a core), redis-server {bot['redis_cpu_ms']:.2f} "
                      f"ms; p50 {bot['p50_ms']:.1f} ms, p99 {bot['p99_ms']:.1f} ms")  # fmt: skip
                name = f"{rate:g}"
                figures[f"cpu_ms_per_message_at_{name}"] = round(bot["cpu_ms"], 3)
                figures[f"redis_cpu_ms_per_message_at_{name}"] = round(bot["redis_cpu_ms"], 3)
                figures[f"core_share_at_{name}"] = round(bot["core"], 2)
                figures[f"p99_ms_at_{name}"] = round(bot["p99_ms"], 2)
        finally:
            server.stop()
    json_line(figures)


if __name__ == "__main__":
    asyncio.run(main())
