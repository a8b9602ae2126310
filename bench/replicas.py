"""1 vs 2 replicas (separate processes) on one redis-server: throughput ratio, duplicates,
order violations.

The KB path with the real brain (``tests/replica.py --brain kb``): ``--conversations`` customers
each ask the seven sample questions the knowledge base answers, queued before the replicas start
consuming; each replica's channel writes what it posts to a file. Duplicates are replies beyond
one per message; an order violation is a reply posted before the reply to an earlier message of
the same conversation. Run: ``python bench/replicas.py [--conversations N] [--partitions P
[--affinity]]``.

Beside the keys the issue names, a witness of what bounds the speed-up on a small machine:
each replica's CPU per message (``tests/replica.py`` prints its CPU time until the queue was
empty), redis-server's (``INFO cpu``, go to exit) and how many of the machine's cores the two
replicas and redis-server kept busy together (CPU seconds over the run's wall time). Two
replicas and a redis-server on two cores fill both (docs/PERFORMANCE.md, tenth pass).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import KB_QUESTIONS, json_line, redis_server
from brain.store.base import StoreLimits
from brain.store.redis import RedisStore
from channels.base import Author, ConversationRef, InboundMessage
from tests.servers import RedisServer

ROOT = Path(__file__).resolve().parent.parent


async def fill(server: RedisServer, namespace: str, conversations: int, partitions: int) -> int:
    store = RedisStore.from_url(server.url, limits=StoreLimits(), namespace=namespace,
                                partitions=partitions)  # fmt: skip
    await store.open()
    total = 0
    for n in range(len(KB_QUESTIONS)):
        for c in range(conversations):
            ref = ConversationRef(channel="fake", conversation_id=f"c{c}")
            text = KB_QUESTIONS[(n + c) % len(KB_QUESTIONS)]
            message = InboundMessage(ref=ref, message_id=f"c{c}-{n}", author=Author(f"u{c}"),
                                     text=text)  # fmt: skip
            total += await store.enqueue(message)
    await store.close()
    return total


@dataclass
class Run:
    messages: int  # queued before the go
    replies: list[dict]
    cpu_s: list[float]  # each replica's CPU from the go until the queue was empty
    wall_s: list[float]  # each replica's wall time for the same stretch
    redis_cpu_s: float  # redis-server's CPU from the go until the replicas exited

    @property
    def cpu_ms_per_message(self) -> float:
        return sum(self.cpu_s) / self.messages * 1000

    @property
    def redis_us_per_message(self) -> float:
        return self.redis_cpu_s / self.messages * 1e6

    @property
    def cores_busy(self) -> float:
        """The replicas' and redis-server's CPU over the replicas' longest wall time."""
        return (sum(self.cpu_s) + self.redis_cpu_s) / max(self.wall_s)


def server_cpu_s(client: redis.Redis) -> float:
    """redis-server's CPU time so far (``INFO cpu``: user + system)."""
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def run_replicas(
    server: RedisServer, namespace: str, count: int, tmp: Path, layout: list[str], messages: int
) -> Run:
    out, go = tmp / f"{namespace}.jsonl", tmp / f"{namespace}.go"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.replica",
                "--redis",
                server.url,
                "--namespace",
                namespace,
                "--consumer",
                f"r{i}",
                "--out",
                str(out),
                "--go",
                str(go),
                "--brain",
                "kb",
                "--reclaim-idle",
                "120",
                "--lock-ttl",
                "30",
                "--exit-when-idle",
                "1.0",
                *layout,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(count)
    ]
    for process in processes:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    client = redis.Redis.from_url(server.url)
    redis_began = server_cpu_s(client)
    go.touch()
    started = time.time()
    cpu, wall = [], []
    for process in processes:
        process.wait(timeout=600)
        assert process.stdout is not None
        words = process.stdout.read().split()
        process.stdout.close()
        if len(words) != 3 or words[0] != "cpu":
            raise RuntimeError(f"a replica did not report its CPU: {words!r}")
        cpu.append(float(words[1]))
        wall.append(float(words[2]))
    redis_used = server_cpu_s(client) - redis_began
    client.close()
    replies = [json.loads(line) for line in out.read_text().splitlines()]
    for reply in replies:
        reply["t"] -= started
    return Run(messages, replies, cpu, wall, redis_used)


def judge(replies: list[dict]) -> tuple[float, int, int]:
    """(seconds until the last reply, duplicates, order violations)."""
    seen: dict[str, int] = defaultdict(int)
    by_conversation: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for reply in replies:
        seen[reply["in_reply_to"]] += 1
        if seen[reply["in_reply_to"]] == 1:
            number = int(reply["in_reply_to"].split("-")[1])
            by_conversation[reply["conv"]].append((reply["t"], number))
    duplicates = sum(n - 1 for n in seen.values())
    violations = 0
    for posted in by_conversation.values():
        numbers = [n for _, n in sorted(posted)]
        violations += sum(1 for a, b in itertools.pairwise(numbers) if b < a)
    return max(r["t"] for r in replies), duplicates, violations


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=400)
    parser.add_argument("--partitions", type=int, default=1, help="inbound streams")
    parser.add_argument(
        "--affinity",
        action="store_true",
        help="each replica reads only the partitions it holds a lease for",
    )
    args = parser.parse_args()
    layout = ["--partitions", str(args.partitions)] + (["--affinity"] if args.affinity else [])
    results = {}
    runs: dict[int, Run] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        with redis_server(tmp / "redis") as server:
            for count in (1, 2):
                namespace = f"replicas{count}"
                total = await fill(server, namespace, args.conversations, args.partitions)
                run = runs[count] = run_replicas(server, namespace, count, tmp, layout, total)
                replies = run.replies
                seconds, duplicates, violations = judge(replies)
                answered = len({r["in_reply_to"] for r in replies})
                by = defaultdict(int)
                for reply in replies:
                    by[reply["by"]] += 1
                results[count] = (total / seconds, duplicates, violations)
                print(
                    f"{count} replica(s): {total} messages, {answered} answered in "
                    f"{seconds:.2f} s = {total / seconds:.0f} msg/s; per replica "
                    f"{dict(by)}; duplicates {duplicates}, order violations {violations}"
                )
                print(
                    f"  CPU: replicas {' + '.join(f'{c:.2f}' for c in run.cpu_s)} s "
                    f"({run.cpu_ms_per_message:.3f} ms per message), redis-server "
                    f"{run.redis_cpu_s:.2f} s ({run.redis_us_per_message:.0f} us per message): "
                    f"{run.cores_busy:.2f} of {os.cpu_count()} cores busy over "
                    f"{max(run.wall_s):.2f} s"
                )
    speedup = results[2][0] / results[1][0]
    print(f"speedup with 2 replicas: {speedup:.2f}x")
    json_line(
        {
            "replica_speedup": round(speedup, 2),
            "duplicates": results[1][1] + results[2][1],
            "order_violations": results[1][2] + results[2][2],
            "one_replica_messages_per_second": round(results[1][0], 1),
            "two_replicas_messages_per_second": round(results[2][0], 1),
            "one_replica_cpu_ms_per_message": round(runs[1].cpu_ms_per_message, 3),
            "two_replicas_cpu_ms_per_message": round(runs[2].cpu_ms_per_message, 3),
            "two_replicas_redis_cpu_us_per_message": round(runs[2].redis_us_per_message, 1),
            "two_replicas_cores_busy": round(runs[2].cores_busy, 2),
        }
    )


if __name__ == "__main__":
    asyncio.run(main())
