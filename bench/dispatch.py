"""Dispatcher throughput: messages per second end to end (enqueue -> brain -> outbox -> send).

Uses the real first brain over the sample knowledge base, an in-memory channel, and each store
backend: SQLite in a temporary directory and a real redis-server started on a free loopback
port. Run: ``python bench/dispatch.py [--messages N] [--conversations N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import dispatching, inject_questions, json_line, redis_server
from bot.dispatch import DispatchConfig
from bot.wiring import build_brain
from brain.knowledge import KnowledgeBase
from brain.store.base import Store, StoreLimits
from brain.store.redis import RedisStore
from brain.store.sqlite import SqliteStore
from channels.fake import FakeChannel
from config.settings import PACKAGED_KNOWLEDGE_DIR, load_settings


async def measure(store: Store, kb: KnowledgeBase, messages: int, conversations: int) -> float:
    await store.open()
    channel = FakeChannel()
    brain, _ = build_brain(load_settings(env_file=None), store, kb)
    config = DispatchConfig(consumer="bench", max_concurrency=32)
    async with dispatching(store, brain, channel, config) as dispatcher:
        started = time.perf_counter()
        await inject_questions(channel, messages, conversations)
        await dispatcher.drain()
        elapsed = time.perf_counter() - started
    # Escalated conversations go quiet (a human owns them), so count handled, not sent.
    assert await store.queue_depth() == 0
    print(f"  {store.backend}: {len(channel.sent)} replies sent for {messages} messages")
    await store.close()
    return messages / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--conversations", type=int, default=400)
    args = parser.parse_args()
    kb = KnowledgeBase.load(PACKAGED_KNOWLEDGE_DIR)
    limits = StoreLimits()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = SqliteStore(Path(tmp) / "bench.db", limits=limits)
        results["sqlite"] = await measure(sqlite, kb, args.messages, args.conversations)
        with redis_server(Path(tmp) / "redis") as server:
            redis = RedisStore.from_url(server.url, limits=limits, namespace="bench")
            results["redis"] = await measure(redis, kb, args.messages, args.conversations)
    print(f"{args.messages} messages over {args.conversations} conversations, sample KB")
    print(f"{'store':<8} {'messages/s':>11}")
    for name, rate in results.items():
        print(f"{name:<8} {rate:>11.0f}")
    json_line({f"{k}_messages_per_second": round(v, 1) for k, v in results.items()})


if __name__ == "__main__":
    asyncio.run(main())
