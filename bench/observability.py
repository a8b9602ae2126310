"""What measuring costs: dispatcher throughput with and without the observer (Prometheus
metrics, analytics facts written to the store, the CSAT step around the brain), on SQLite and
a real redis-server, plus the time to compute the analytics over many conversations.

Run: ``python bench/observability.py [--messages N] [--conversations N]``.
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
from bot.csat import CsatResponder
from bot.dispatch import DispatchConfig
from bot.metrics import Metrics
from bot.observer import Observer
from bot.wiring import build_brain
from brain.analytics import last_days
from brain.knowledge import KnowledgeBase
from brain.store.base import Store, StoreLimits
from brain.store.facts import Facts
from brain.store.redis import RedisStore
from brain.store.sqlite import SqliteStore
from channels.fake import FakeChannel
from config.settings import PACKAGED_KNOWLEDGE_DIR, load_settings


async def measure(
    store: Store, kb: KnowledgeBase, messages: int, conversations: int, observed: bool
) -> tuple[float, float]:
    """(messages per second, seconds to compute the analytics afterwards)."""
    await store.open()
    channel = FakeChannel()
    brain, _ = build_brain(load_settings(env_file=None), store, kb)
    observer = Observer(Facts(store, 86400.0), Metrics()) if observed else None
    responder = CsatResponder(brain, observer) if observer is not None else brain
    config = DispatchConfig(consumer="bench", max_concurrency=32)
    async with dispatching(store, responder, channel, config, observer) as dispatcher:
        started = time.perf_counter()
        await inject_questions(channel, messages, conversations)
        await dispatcher.drain()
        elapsed = time.perf_counter() - started
    assert await store.queue_depth() == 0
    analytics_s = 0.0
    if observer is not None:
        began = time.perf_counter()
        report = await last_days(observer.facts, 1)
        analytics_s = time.perf_counter() - began
        assert report.conversations == conversations, report.conversations
    await store.close()
    return messages / elapsed, analytics_s


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--conversations", type=int, default=400)
    args = parser.parse_args()
    kb = KnowledgeBase.load(PACKAGED_KNOWLEDGE_DIR)
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp, redis_server(Path(tmp) / "redis") as server:
        for observed in (False, True):
            tag = "observed" if observed else "plain"
            db = Path(tmp) / f"{tag}.db"
            sqlite = SqliteStore(db, limits=StoreLimits())
            rate, took = await measure(sqlite, kb, args.messages, args.conversations, observed)
            results[f"sqlite_{tag}_messages_per_second"] = rate
            if observed:
                results["sqlite_analytics_seconds"] = took
            redis = RedisStore.from_url(server.url, limits=StoreLimits(), namespace=tag)
            rate, took = await measure(redis, kb, args.messages, args.conversations, observed)
            results[f"redis_{tag}_messages_per_second"] = rate
            if observed:
                results["redis_analytics_seconds"] = took
    print(f"{args.messages} messages over {args.conversations} conversations, sample KB")
    for store in ("sqlite", "redis"):
        plain = results[f"{store}_plain_messages_per_second"]
        observed = results[f"{store}_observed_messages_per_second"]
        print(f"{store:<7} plain {plain:7.0f} msg/s   observed {observed:7.0f} msg/s   "
              f"({observed / plain - 1:+.0%}); analytics over {args.conversations} "
              f"conversations {results[f'{store}_analytics_seconds'] * 1000:.0f} ms")  # fmt: skip
    json_line({k: round(v, 3) for k, v in results.items()})


if __name__ == "__main__":
    asyncio.run(main())
