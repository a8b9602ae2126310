"""Dispatcher throughput: messages per second end to end (enqueue -> brain -> outbox -> send).

Uses the real first brain over the sample knowledge base, an in-memory channel, and each store
backend: SQLite in a temporary directory and a real redis-server started on a free loopback
port. Run: ``python bench/dispatch.py [--messages N] [--conversations N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.dispatch import DispatchConfig, Dispatcher
from brain.handler import Brain
from brain.knowledge import KnowledgeBase
from brain.store.base import Store, StoreLimits
from brain.store.redis import RedisStore
from brain.store.sqlite import SqliteStore
from channels.fake import FakeChannel
from config.settings import PACKAGED_KNOWLEDGE_DIR
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
    brain = Brain(store, kb, answer_threshold=0.45)
    dispatcher = Dispatcher(
        store, brain, {channel.name: channel}, DispatchConfig(consumer="bench", max_concurrency=32)
    )
    await channel.start(dispatcher.submit)
    worker = asyncio.create_task(dispatcher.run())
    rng = random.Random(7)
    started = time.perf_counter()
    for i in range(messages):
        text = rng.choice(QUESTIONS[:-1])  # answerable questions: no ticket per conversation
        await channel.inject(channel.message(text, conversation=f"c{i % conversations}"))
    await dispatcher.drain()
    elapsed = time.perf_counter() - started
    dispatcher.stop()
    await worker
    assert len(channel.sent) == messages, (len(channel.sent), messages)
    await store.close()
    return messages / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--conversations", type=int, default=200)
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
