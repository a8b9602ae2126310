"""A surge: N customers at once, each needing an LLM answer that takes 1 s.

Every customer's question goes through the real dispatcher on a real redis-server and is
answered by the real router (``brain/router.py``: its per-deployment in-flight cap, default
1000 here, breaker, deadline, accounting) and the real answerer (prompt, strict JSON parse,
checks) through the official OpenAI SDK, from a fake OpenAI-compatible server (its own
process, 1 s latency per request). The ideal is the issue's: ceil(N / cap) x latency, plus
the CPU the path needs (the bot process's CPU seconds in the same run, which one event loop
cannot overlap with itself); the latency-only figure is printed beside it. Run:
``python bench/surge.py [--customers N] [--cap N] [--latency S] [--profile FILE]``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The repository root, for the test fakes this bench runs against.
sys.path.pop(0)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import openai

from bench._common import json_line, peak_rss_mb, redis_server
from bot.dispatch import DispatchConfig, Dispatcher
from brain.decision import Decision, DecisionKind
from brain.prompts import PromptConfig
from brain.providers.answerer import LLMAnswerer
from brain.providers.base import AnswerRequest
from brain.providers.fake import json_answer
from brain.providers.offline import OfflineAnswerer
from brain.providers.openai import OpenAIClient
from brain.redact import Redactor
from brain.router import Router, RouterConfig
from brain.store.base import StoreLimits
from brain.store.redis import RedisStore
from channels.base import InboundMessage
from channels.fake import FakeChannel
from tests.fakes.fake_llm import FakeLLMServer

ROOT = Path(__file__).resolve().parent.parent


class LLMAnswer:
    """The LLM leg of an answer: the router, capped per deployment by the router itself."""

    def __init__(self, router: Router) -> None:
        self.router = router

    async def handle(self, message: InboundMessage) -> Decision:
        request = AnswerRequest(question=message.text, language="en", passages=(),
                                conversation_key=message.ref.key)  # fmt: skip
        answer = await self.router.answer(request)
        if answer.provider != DEPLOYMENT:
            raise RuntimeError(f"answered by {answer.provider}, not the LLM")
        return Decision(DecisionKind.REPLY, text=answer.text)


DEPLOYMENT = "openai:gpt-4o-mini"
ANSWER = "Here is what I found."


def build_router(store: RedisStore, base_url: str, cap: int, transport: str) -> Router:
    # "httpx": the SDK's default transport, for comparison with what the bot uses (aiohttp).
    http_client = openai.DefaultAsyncHttpxClient() if transport == "httpx" else None
    client = OpenAIClient(model="gpt-4o-mini", api_key="sk-bench", base_url=base_url,
                          timeout_s=120, connections=cap, http_client=http_client)  # fmt: skip
    answerer = LLMAnswerer(client, PromptConfig(company="Larkspur Home"), Redactor())
    config = RouterConfig(attempt_timeout_s=120, deadline_s=300, daily_budget_usd=0)
    return Router({"fast": [answerer]}, OfflineAnswerer(), store, config,
                  limits={DEPLOYMENT: cap})  # fmt: skip


async def serve(latency: float) -> None:
    server = FakeLLMServer(reply=json_answer(ANSWER))
    server.backlog = 4096  # every customer's connection opens at once
    await server.start()
    server.latency = latency
    print(server.port, flush=True)
    await asyncio.Event().wait()


async def surge(
    url: str, base_url: str, customers: int, cap: int, slots: int, transport: str
) -> float:
    store = RedisStore.from_url(url, limits=StoreLimits(), namespace=f"surge{time.time_ns()}",
                                max_connections=256)  # fmt: skip
    await store.open()
    router = build_router(store, base_url, cap, transport)
    channel = FakeChannel()
    config = DispatchConfig(consumer="surge", handler_timeout_s=120, max_concurrency=slots,
                            max_in_flight=max(2000, slots * 4))  # fmt: skip
    dispatcher = Dispatcher(store, LLMAnswer(router), {channel.name: channel}, config)
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
    wrong = [m.text for m in channel.sent if m.text != ANSWER]
    if wrong:
        raise SystemExit(f"{len(wrong)} replies were not the LLM's answer, e.g. {wrong[0]!r}")
    dispatcher.stop()
    await worker
    peak = router.slot_usage()[DEPLOYMENT]
    print(f"  router cap {peak.limit}: {peak.timeouts} slot waits ran out")
    await router.close()
    await store.close()
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--cap", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--slots", type=int, default=1000, help="dispatcher max_concurrency")
    parser.add_argument("--transport", choices=("aiohttp", "httpx"), default="aiohttp")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the surge here")
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
        with tempfile.TemporaryDirectory() as tmp, redis_server(Path(tmp) / "redis") as server:
            profile = cProfile.Profile() if args.profile else None
            if profile is not None:
                profile.enable()
            cpu = time.process_time()
            seconds = await surge(server.url, base_url, args.customers, args.cap, args.slots,
                                  args.transport)  # fmt: skip
            cpu = time.process_time() - cpu
            if profile is not None:
                profile.disable()
                profile.dump_stats(args.profile)
    finally:
        llm.terminate()
        llm.wait()
        if llm.stdout is not None:
            llm.stdout.close()
    waiting = math.ceil(args.customers / args.cap) * args.latency
    ideal = waiting + cpu
    rss_mb = peak_rss_mb()
    print(f"{args.customers} customers, {args.latency:.1f} s per answer, cap {args.cap}: "
          f"all answered in {seconds:.2f} s (ideal {ideal:.2f} s = {waiting:.2f} s of waiting "
          f"+ {cpu:.2f} s of CPU: {seconds / ideal:.2f}x; {seconds / waiting:.2f}x the "
          f"waiting alone); "
          f"peak RSS {rss_mb:.0f} MB; the bot's process used {cpu:.2f} s of CPU "
          f"({cpu / args.customers * 1000:.2f} ms per customer, "
          f"{args.transport} transport)")  # fmt: skip
    json_line({
        "surge_customers": args.customers,
        "surge_seconds": round(seconds, 2),
        "surge_ideal_seconds": round(ideal, 2),
        "surge_waiting_seconds": round(waiting, 2),
        "surge_rss_mb": round(rss_mb, 1),
        "surge_cpu_seconds": round(cpu, 2),
    })  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
