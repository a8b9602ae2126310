"""One Frontdesk replica as a separate process, for fault-injection tests and bench/replicas.py.

``python -m tests.replica --redis URL --namespace NS --consumer NAME --out FILE [--brain kb]``
runs the real dispatcher on a Redis store; its channel appends every reply it "posts" to
``FILE`` as one JSON line (the platform). It prints ``ready`` once built; with ``--go FILE`` it
waits for that file before consuming; with ``--exit-when-idle S`` it stops once the queue has
been empty for ``S`` seconds, and then prints ``cpu <CPU s> <wall s>``: the process's CPU time
(user + system) and the wall time from the go (or from start) until the queue was first found
empty, the witness ``bench/replicas.py`` reports.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import TextIO

from bot.dispatch import DispatchConfig, Dispatcher, Responder
from brain.decision import Decision, DecisionKind
from brain.store.base import StoreLimits
from brain.store.redis import RedisStore
from channels.base import InboundHandler, InboundMessage, OutboundMessage

CHANNEL = "fake"


class FileChannel:
    """A customer channel whose platform is a file: one JSON line per reply posted."""

    name = CHANNEL

    def __init__(self, out: TextIO, consumer: str) -> None:
        self.out = out
        self.consumer = consumer

    async def start(self, handler: InboundHandler) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def send(self, message: OutboundMessage) -> None:
        line = {"t": time.time(), "by": self.consumer, "conv": message.ref.conversation_id,
                "in_reply_to": message.in_reply_to, "text": message.text}  # fmt: skip
        self.out.write(json.dumps(line) + "\n")
        self.out.flush()


class Echo:
    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s

    async def handle(self, message: InboundMessage) -> Decision:
        await asyncio.sleep(self.delay_s)
        return Decision(DecisionKind.REPLY, text=f"echo: {message.text}")


def build_responder(kind: str, store: RedisStore, delay_s: float) -> Responder:
    if kind == "echo":
        return Echo(delay_s)
    from bot.wiring import build_brain
    from brain.knowledge import KnowledgeBase
    from config.settings import PACKAGED_KNOWLEDGE_DIR, load_settings

    brain, _ = build_brain(load_settings(env_file=None), store,
                           KnowledgeBase.load(PACKAGED_KNOWLEDGE_DIR))  # fmt: skip
    return brain


async def run(args: argparse.Namespace) -> None:
    limits = StoreLimits(lock_ttl_s=args.lock_ttl)
    store = RedisStore.from_url(args.redis, limits=limits, namespace=args.namespace,
                                partitions=args.partitions, affinity=args.affinity,
                                consumer=args.consumer)  # fmt: skip
    await store.open()
    with Path(args.out).open("a", encoding="utf-8") as out:  # noqa: ASYNC230 (a test harness)
        channel = FileChannel(out, args.consumer)
        config = DispatchConfig(consumer=args.consumer, reclaim_idle_s=args.reclaim_idle,
                                retry_backoff_s=0.1, handler_timeout_s=30)  # fmt: skip
        responder = build_responder(args.brain, store, args.delay_ms / 1000)
        dispatcher = Dispatcher(store, responder, {CHANNEL: channel}, config)
        print("ready", flush=True)
        if args.go:
            while not Path(args.go).exists():  # noqa: ASYNC110, ASYNC240 (another process)
                await asyncio.sleep(0.01)
        began, cpu_began = time.monotonic(), time.process_time()
        task = asyncio.create_task(dispatcher.run())
        idle_since: float | None = None
        worked: tuple[float, float] | None = None  # (CPU s, wall s) until first found empty
        while not task.done():
            await asyncio.sleep(0.05)
            if args.exit_when_idle is None:
                continue
            if await store.queue_depth() == 0:
                if worked is None:
                    worked = (time.process_time() - cpu_began, time.monotonic() - began)
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since >= args.exit_when_idle:
                    break
            else:
                idle_since = None
        dispatcher.stop()
        await task
        if worked is not None:
            print(f"cpu {worked[0]:.3f} {worked[1]:.3f}", flush=True)
    await store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--consumer", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--brain", choices=["echo", "kb"], default="echo")
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--reclaim-idle", type=float, default=1.0)
    parser.add_argument("--lock-ttl", type=float, default=1.0)
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--affinity", action="store_true")
    parser.add_argument("--go")
    parser.add_argument("--exit-when-idle", type=float)
    asyncio.run(run(parser.parse_args()))
    sys.exit(0)


if __name__ == "__main__":
    main()
