"""Discord gateway failover across replicas: how long a shard goes unread, and what is lost.

Replicas are separate processes (``tests/discord_shard_holder.py``: the real
``DiscordConnection`` with its shards on a real redis-server, spread over replicas) against
the fake Discord (``tests/fakes/fake_discord.py``) in this process. While the holders change,
a customer DM (shard 0) is sent every ``1/rate`` s, and only to a session that reads its
shard right then (``dispatch_now``): Discord gives a new session nothing sent before its
READY, and discord.py cannot RESUME another process's session (``docs/operations.md``). The
new session reads the gap back over REST (``channels/discord/catchup.py``); each replica queues
what it takes in on the store, and at the end of a scenario the bench counts, per DM sent,
whether it was queued and how often (``lost``, ``duplicates``).

Scenarios, each from a fresh store namespace:

1. ``graceful``: 1 shard; the holder gets SIGTERM (as at a deploy) and gives the lease up; a
   standby takes it.
2. ``kill``: 1 shard; the holder is killed (``kill -9``); the standby waits for the lease to
   run out (the store's lock TTL, ``--ttl``, default 30 s as in production).
3. ``spread``: ``--shards`` (default 4) shards, Discord's IDENTIFY spacing (5.5 s): one
   replica alone, then a second and a third join: the time from starting the joining process
   (about 2 s of Python start-up included) to the last handover, and the gap of each shard
   handed over.
4. ``kill-spread``: after 3, one of the three is killed: the time until its shards are read
   again.

Gap: from the moment a shard's session closed (or its holder was killed) to the READY of its
next session. ``unread``: the DMs sent in the gap (nobody read them on the gateway).
Run: ``python bench/discord_failover.py [--ttl S] [--rate R] [--shards S]``.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from brain.store.base import StoreLimits  # noqa: E402
from brain.store.redis import RedisStore  # noqa: E402
from channels.base import InboundMessage  # noqa: E402
from tests.fakes.fake_discord import FakeDiscord  # noqa: E402
from tests.polling import until  # noqa: E402
from tests.servers import RedisServer, start_redis  # noqa: E402

DISCORD_SPACING_S = 5.5


class Bench:
    def __init__(self, fake: FakeDiscord, redis: RedisServer, ttl_s: float, rate: float) -> None:
        self.fake, self.redis, self.ttl_s, self.rate = fake, redis, ttl_s, rate
        self.sent: list[str] = []  # ids of the DMs sent
        self.unread: list[float] = []  # loop times of messages nobody read on the gateway
        self.procs: list[subprocess.Popen[bytes]] = []

    async def replica(self, namespace: str, shards: int, spacing: float) -> subprocess.Popen[bytes]:
        args = [self.redis.url, namespace, str(self.ttl_s), str(shards), self.fake.api_base_url,
                self.fake.gateway_url, str(spacing)]  # fmt: skip
        command = [sys.executable, "-m", "tests.discord_shard_holder", *args]
        # Popen only forks: its output is read off the loop (to_thread) below.
        proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE)  # noqa: ASYNC220
        self.procs.append(proc)
        assert proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 120)
        if line.strip() != b"ready":
            raise RuntimeError(f"a replica did not start: {line!r}")
        return proc

    async def customers(self, stop: asyncio.Event) -> None:
        """A DM every 1/rate s, to whoever reads shard 0 right then."""
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            message = self.fake.dm_message(f"m{len(self.sent) + 1}")
            self.sent.append(str(message["id"]))
            if not await self.fake.dispatch_now("MESSAGE_CREATE", message):
                self.unread.append(loop.time())
            await asyncio.sleep(1 / self.rate)

    async def queued(self, namespace: str) -> list[str]:
        """The ids of the customer messages queued on the store in ``namespace``, in queue
        order."""
        store = RedisStore.from_url(self.redis.url, limits=StoreLimits(), namespace=namespace)
        await store.open()
        found: list[str] = []
        try:
            while entries := await store.read_queue("bench", 1000, 0.2):
                found += [e.message.message_id for e in entries
                          if isinstance(e.message, InboundMessage)]  # fmt: skip
        finally:
            await store.close()
        return found

    def gaps(self, since: float, shards: list[int] | None = None) -> list[float]:
        """For each session of ``shards`` closed after ``since``: seconds to its shard's next
        READY."""
        found = []
        for shard, closed in self.fake.closed_at:
            if closed < since or (shards is not None and shard not in shards):
                continue
            later = [t for s, t in self.fake.ready_at if s == shard and t > closed]
            if later:
                found.append(min(later) - closed)
        return found

    def stop_all(self) -> None:
        for proc in self.procs:
            proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        self.procs.clear()


async def one_shard(bench: Bench, kill: bool) -> dict[str, Any]:
    fake, loop = bench.fake, asyncio.get_running_loop()
    namespace = f"b{uuid.uuid4().hex[:8]}"
    holder = await bench.replica(namespace, 1, DISCORD_SPACING_S)
    await bench.replica(namespace, 1, DISCORD_SPACING_S)  # the standby
    stop = asyncio.Event()
    bench.sent, bench.unread = [], []
    sender = asyncio.create_task(bench.customers(stop))
    await asyncio.sleep(2.0)  # the holder has written its watermark and the DM channel
    readies = len(fake.ready_at)
    at = loop.time()
    holder.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
    await until(lambda: len(fake.ready_at) > readies, 3 * bench.ttl_s + 30)
    gap = fake.ready_at[-1][1] - at
    unread = bench.gaps(at)
    await asyncio.sleep(1.0)
    stop.set()
    await sender
    await asyncio.sleep(2.0)  # the last live ones, and the read back, are queued
    bench.stop_all()
    missed = bench.unread
    window = (max(missed) - min(missed)) if missed else 0.0
    queued = await bench.queued(namespace)
    lost = len(set(bench.sent) - set(queued))
    duplicates = len(queued) - len(set(queued))
    # One customer's DMs: each queued after every DM sent before it.
    position = {m: i for i, m in enumerate(bench.sent)}
    latest, violations = -1, 0
    for message in queued:
        if position[message] < latest:
            violations += 1
        latest = max(latest, position[message])
    return {"gap_s": round(gap, 2), "close_to_ready_s": round(unread[0], 2) if unread else None,
            "sent": len(bench.sent), "unread": len(missed), "unread_window_s": round(window, 2),
            "lost": lost, "duplicates": duplicates, "order_violations": violations}  # fmt: skip


def describe(result: dict[str, Any]) -> str:
    return (f"gap {result['gap_s']} s; {result['unread']} of {result['sent']} DMs sent in it "
            f"({result['unread_window_s']} s window); {result['lost']} lost, "
            f"{result['duplicates']} queued twice, "
            f"{result['order_violations']} out of order")  # fmt: skip


async def spread(bench: Bench, shards: int) -> dict[str, Any]:
    fake, loop = bench.fake, asyncio.get_running_loop()
    namespace = f"b{uuid.uuid4().hex[:8]}"
    reading = fake.reading
    first = await bench.replica(namespace, shards, DISCORD_SPACING_S)
    await until(lambda: len(reading()) == shards, 30 + shards * DISCORD_SPACING_S)
    result: dict[str, Any] = {}
    for joined in (2, 3):
        at = loop.time()
        await bench.replica(namespace, shards, DISCORD_SPACING_S)
        # Settled: every shard read once and no handover for 3 s.
        took = await settle(bench, shards, 120, at)
        handed = bench.gaps(at)
        result[f"join_{joined}"] = {"settle_s": round(took, 1), "handovers": len(handed),
                                    "handover_gap_s": [round(g, 2) for g in handed]}  # fmt: skip
    # Who reads what now is in the fake's sessions; kill the first replica (it read most).
    at = loop.time()
    first.send_signal(signal.SIGKILL)
    first.wait()
    took = await settle(bench, shards, 3 * bench.ttl_s + 60, at)
    gaps = bench.gaps(at)
    result["kill_one_of_3"] = {"settle_s": round(took, 1),
                               "gap_s": [round(g, 2) for g in gaps]}  # fmt: skip
    bench.stop_all()
    return result


async def settle(bench: Bench, shards: int, within: float, since: float) -> float:
    """Once every shard is read once and none changed hands for 3 s: seconds from ``since``
    (loop time) to the last change."""
    loop = asyncio.get_running_loop()
    started, last, seen = loop.time(), since, (0, 0)
    while True:
        now = loop.time()
        state = (len(bench.fake.ready_at), len(bench.fake.closed_at))
        if state != seen or len(bench.fake.reading()) != shards:
            seen, last = state, now
        elif now - last >= 3.0:
            return last - since
        if now - started > within:
            raise TimeoutError(f"not settled within {within} s: {bench.fake.reading()}")
        await asyncio.sleep(0.02)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ttl", type=float, default=30.0, help="the store's lock TTL, s")
    parser.add_argument("--rate", type=float, default=20.0, help="customer DMs per second")
    parser.add_argument("--shards", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        redis = start_redis(Path(tmp) / "redis")
        try:
            async with FakeDiscord() as fake:
                bench = Bench(fake, redis, args.ttl, args.rate)
                try:
                    graceful = await one_shard(bench, kill=False)
                    print(f"graceful handover, 1 shard: {describe(graceful)}")
                    killed = await one_shard(bench, kill=True)
                    print(f"kill -9 of the holder, 1 shard, lock TTL {args.ttl:.0f} s: "
                          f"{describe(killed)}")  # fmt: skip
                    spreading = await spread(bench, args.shards)
                    for name, value in spreading.items():
                        print(f"{args.shards} shards, {name}: {value}")
                finally:
                    bench.stop_all()
        finally:
            redis.stop()
    print(json.dumps({"discord_ttl_s": args.ttl, "discord_rate_per_s": args.rate,
                      "discord_graceful": graceful, "discord_kill": killed,
                      "discord_shards": args.shards, "discord_spread": spreading}))  # fmt: skip


if __name__ == "__main__":
    started = time.monotonic()
    asyncio.run(main())
    print(f"# took {time.monotonic() - started:.0f} s", file=sys.stderr)
