"""Dispatcher throughput: messages per second end to end (enqueue -> brain -> outbox -> send).

Uses the real first brain over the sample knowledge base, an in-memory channel, and each store
backend: SQLite in a temporary directory and a real redis-server started on a free loopback
port. Run: ``python bench/dispatch.py [--messages N] [--conversations N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.dispatch import DispatchConfig, Dispatcher
from bot.wiring import build_brain
from brain.knowledge import KnowledgeBase
from brain.store.base import Store, StoreLimits
from brain.store.redis import RedisStore
from brain.store.sqlite import SqliteStore
from channels.fake import FakeChannel
from config.settings import PACKAGED_KNOWLEDGE_DIR, load_settings
from tests.servers import start_redis

QUESTIONS = [
    "How do I return an item?",
    "where is my order",
    "I forgot my password",
    "do you ship to Norway?",
    "can I pay with Klarna",
    "I was charged twice for one order",
    "how long does a refund take",
    "what is the meaning of life",
]


async def measure(store: Store, kb: KnowledgeBase, messages: int, conversations: int) -> float:
    await store.open()
    channel = FakeChannel()
    brain, _ = build_brain(load_settings(env_file=None), store, kb)
    dispatcher = Dispatcher(
        store, brain, {channel.name: channel}, DispatchConfig(consumer="bench", max_concurrency=32)
    )
    await channel.start(dispatcher.submit)
    worker = asyncio.create_task(dispatcher.run())
    started = time.perf_counter()
    answerable = QUESTIONS[:-1]
    for i in range(messages):
        conversation = i % conversations
        # Each conversation asks different answerable questions: a repeat would escalate.
        text = answerable[(i // conversations + conversation) % len(answerable)]
        await channel.inject(channel.message(text, conversation=f"c{conversation}"))
    await dispatcher.drain()
    elapsed = time.perf_counter() - started
    dispatcher.stop()
    await worker
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
        server = start_redis(Path(tmp) / "redis")
        try:
            redis = RedisStore.from_url(server.url, limits=limits, namespace="bench")
            results["redis"] = await measure(redis, kb, args.messages, args.conversations)
        finally:
            server.stop()
    print(f"{args.messages} messages over {args.conversations} conversations, sample KB")
    print(f"{'store':<8} {'messages/s':>11}")
    for name, rate in results.items():
        print(f"{name:<8} {rate:>11.0f}")
    print(json.dumps({f"{k}_messages_per_second": round(v, 1) for k, v in results.items()}))


if __name__ == "__main__":
    asyncio.run(main())
