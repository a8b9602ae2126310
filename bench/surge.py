"""A surge: N customers at once, each needing an LLM answer that takes 1 s.

Every customer's question goes through the real dispatcher on a real redis-server and is
answered through the official OpenAI SDK by a fake OpenAI-compatible server (its own process,
1 s latency per request). The provider deployment's in-flight cap (default 1000) is applied
around the call here, as the router will per deployment; the dispatcher itself no longer caps
the surge at a few dozen. The ideal is ceil(N / cap) x latency. Run:
``python bench/surge.py [--customers N] [--cap N] [--latency S]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from openai import AsyncOpenAI

from bot.dispatch import DispatchConfig, Dispatcher
from brain.decision import Decision, DecisionKind
from brain.store.base import StoreLimits
from brain.store.redis import RedisStore
from channels.base import InboundMessage
from channels.fake import FakeChannel
from tests.fakes.fake_llm import FakeLLMServer
from tests.servers import start_redis

ROOT = Path(__file__).resolve().parent.parent


class LLMAnswer:
    """The LLM leg of an answer, capped per deployment."""

    def __init__(self, client: AsyncOpenAI, cap: int) -> None:
        self.client = client
        self.cap = asyncio.Semaphore(cap)

    async def handle(self, message: InboundMessage) -> Decision:
        async with self.cap:
            completion = await self.client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": message.text}]
            )
        return Decision(DecisionKind.REPLY, text=completion.choices[0].message.content or "")


async def serve(latency: float) -> None:
    server = await FakeLLMServer(reply="Here is what I found.").start()
    server.latency = latency
    print(server.port, flush=True)
    await asyncio.Event().wait()


async def surge(url: str, base_url: str, customers: int, cap: int, slots: int) -> float:
    store = RedisStore.from_url(url, limits=StoreLimits(), namespace=f"surge{time.time_ns()}",
                                max_connections=256)  # fmt: skip
    await store.open()
    client = AsyncOpenAI(api_key="sk-bench", base_url=base_url, max_retries=0, timeout=120)
    channel = FakeChannel()
    config = DispatchConfig(consumer="surge", handler_timeout_s=120, max_concurrency=slots,
                            max_in_flight=max(2000, slots * 4))  # fmt: skip
    dispatcher = Dispatcher(store, LLMAnswer(client, cap), {channel.name: channel}, config)
    await channel.start(dispatcher.submit)
    worker = asyncio.create_task(dispatcher.run())
    started = time.perf_counter()
    await asyncio.gather(*(
        channel.inject(channel.message(f"question {i}", conversation=f"customer-{i}"))
        for i in range(customers)
    ))  # fmt: skip
    print(f"  all {customers} queued after {time.perf_counter() - started:.2f} s")
    await channel.wait_for(lambda sent: len(sent) >= customers, within=600)
    elapsed = time.perf_counter() - started
    dispatcher.stop()
    await worker
    await client.close()
    await store.close()
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--cap", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--slots", type=int, default=1000, help="dispatcher max_concurrency")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        await serve(args.latency)
        return
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    serve_llm = [sys.executable, __file__, "--serve", "--latency", str(args.latency)]
    # Started once, before any work: blocking here is fine.
    llm = subprocess.Popen(serve_llm, stdout=subprocess.PIPE, text=True, env=env)  # noqa: ASYNC220
    try:
        assert llm.stdout is not None
        base_url = f"http://127.0.0.1:{int(llm.stdout.readline())}/v1"
        with tempfile.TemporaryDirectory() as tmp:
            server = start_redis(Path(tmp) / "redis")
            try:
                seconds = await surge(server.url, base_url, args.customers, args.cap, args.slots)
            finally:
                server.stop()
    finally:
        llm.terminate()
        llm.wait()
        if llm.stdout is not None:
            llm.stdout.close()
    ideal = math.ceil(args.customers / args.cap) * args.latency
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.customers} customers, {args.latency:.1f} s per answer, cap {args.cap}: "
          f"all answered in {seconds:.2f} s (ideal {ideal:.2f} s, {seconds / ideal:.2f}x); "
          f"peak RSS {rss_mb:.0f} MB")  # fmt: skip
    print(json.dumps({
        "surge_customers": args.customers,
        "surge_seconds": round(seconds, 2),
        "surge_ideal_seconds": round(ideal, 2),
        "surge_rss_mb": round(rss_mb, 1),
    }))  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
