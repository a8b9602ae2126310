"""The KB path through the real dispatcher and brain: throughput, latency, round trips, memory.

Each store backend in turn (SQLite in a temporary directory, a real redis-server started on a
free loopback port): ``--messages`` questions the sample knowledge base answers, spread over
``--conversations`` conversations, injected at once through an in-memory channel (every
message handed to the dispatcher concurrently, as a platform delivers a burst of events: each
``submit`` on its own, none waiting for the one before); then, on Redis, a paced run at half the
measured Redis rate for latency (open loop: each message handed over at its time, whether or
not the ones before are done, timed from then to its reply), and another at a fixed 500 msg/s
(``p99_ms_at_500``), each after ``--warmup-seconds`` (0.5) of the same flow that is timed
apart (``paced``; ``p99_ms_with_warmup`` and ``p99_ms_at_500_with_warmup`` count it in). Round
trips are counted at the Redis client (one per command or pipeline sent), in the burst. The
heap is settled after start-up as ``frontdesk run`` settles it (``bot.app.settle_heap``).

Beside the paced runs, ``bench/stall_probe.py`` (one process held on each CPU) notes every
time the machine left a ready process waiting more than 5 ms; ``host_stall_max_ms`` and
``host_stalls_over_20ms`` (``..._at_500`` for the fixed rate) are what it saw during each run's
timed part. On the shared VMs this is measured on, such a stall delays every message due in it,
whatever the code does, so a p99 can be read beside them.

Also on Redis, the same burst from one producer that awaits each message's enqueue before it
hands over the next (how this bench injected until the seventh pass of issue 13): the producer
then gets one message into the queue per Redis round trip, and that round trip carries the
dispatcher's commands too, so the dispatcher never has more than a message or two to work on
and the figure is the rate of that lock-step, not of draining a burst. Printed beside the rest,
``redis_sequential_messages_per_second``, so figures stay comparable with the earlier passes.

Run: ``python bench/pipeline.py [--messages N] [--conversations N] [--paced-seconds S]
[--warmup-seconds S]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

# The repository root, for ``tests.servers`` (the bench's redis-server).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis.asyncio.connection import AbstractConnection

from bench._common import floor_rank as percentile
from bench._common import inject_questions, peak_rss_mb, question, watching_stalls
from bot.app import settle_heap
from bot.dispatch import DispatchConfig, Dispatcher
from bot.wiring import build_brain
from brain.knowledge import KnowledgeBase
from brain.store.base import Store, StoreLimits
from brain.store.redis import RedisStore
from brain.store.sqlite import SqliteStore
from channels.base import InboundMessage, OutboundMessage
from channels.fake import FakeChannel
from config.settings import PACKAGED_KNOWLEDGE_DIR, load_settings
from tests.servers import start_redis

CONCURRENCY = 1000
WARMUP_S = 0.5
FIXED_RATE = 500.0  # msg/s of the second paced run


class TimedChannel(FakeChannel):
    """Records when each reply was sent, by the message id it answers."""

    def __init__(self) -> None:
        super().__init__()
        self.sent_at: dict[str, float] = {}

    async def send(self, message: OutboundMessage) -> None:
        await super().send(message)
        if message.in_reply_to is not None:
            self.sent_at.setdefault(message.in_reply_to, time.perf_counter())


class RoundTrips:
    """Counts what the Redis client sends: one per command, one per pipeline."""

    def __init__(self) -> None:
        self.count = 0
        self._original = AbstractConnection.send_packed_command

    def __enter__(self) -> RoundTrips:
        original, counter = self._original, self

        async def counted(
            conn: AbstractConnection, command: Any, check_health: bool = True
        ) -> None:
            counter.count += 1
            await original(conn, command, check_health)

        AbstractConnection.send_packed_command = counted  # type: ignore[method-assign]
        return self

    def __exit__(self, *_: object) -> None:
        AbstractConnection.send_packed_command = self._original  # type: ignore[method-assign]


async def start(store: Store, kb: KnowledgeBase) -> tuple[TimedChannel, Dispatcher, Any]:
    channel = TimedChannel()
    brain, _ = build_brain(load_settings(env_file=None), store, kb)
    config = DispatchConfig(consumer="bench", max_concurrency=CONCURRENCY)
    dispatcher = Dispatcher(store, brain, {channel.name: channel}, config)
    # What ``frontdesk run`` does once it is built: the start-up heap frozen out of the cyclic
    # collector's sight (without it, a full collection over the knowledge base, the models
    # and the libraries pauses every message in flight for 100-200 ms here). Unfrozen first:
    # the brains of the runs before are garbage now, and frozen they would never be freed.
    gc.unfreeze()
    settle_heap()
    await channel.start(dispatcher.submit)
    return channel, dispatcher, asyncio.create_task(dispatcher.run())


async def hand_over(
    channel: FakeChannel, messages: Sequence[InboundMessage], at_once: bool
) -> None:
    """``messages`` into ``channel``: all at once (every ``submit`` concurrently, as a platform
    delivers a burst of events) or each once the one before is enqueued (the lock-step)."""
    if at_once:
        await asyncio.gather(*[channel.inject(message) for message in messages])
    else:
        for message in messages:
            await channel.inject(message)


async def burst(
    store: Store, kb: KnowledgeBase, messages: int, conversations: int, at_once: bool = True
) -> float:
    """Messages per second from the first message handed over to the last one answered."""
    channel, dispatcher, worker = await start(store, kb)
    started = time.perf_counter()
    if at_once:
        # Every message built before the first ``submit`` runs, as the platform's events are
        # all there at once.
        await hand_over(channel, [channel.message(text, conversation=conversation)
                                  for conversation, text in
                                  (question(i, conversations) for i in range(messages))],
                        at_once=True)  # fmt: skip
    else:
        await inject_questions(channel, messages, conversations)
    await dispatcher.drain()
    elapsed = time.perf_counter() - started
    dispatcher.stop()
    await worker
    assert await store.queue_depth() == 0
    how = "at once" if at_once else "one after another"
    print(f"  {store.backend}: {messages} messages {how} in {elapsed:.2f} s, "
          f"{len(channel.sent)} replies")  # fmt: skip
    return messages / elapsed


async def paced(
    store: Store,
    kb: KnowledgeBase,
    rate: float,
    seconds: float,
    warmup_s: float = WARMUP_S,
    on_started: Callable[[], None] | None = None,
) -> tuple[list[float], list[float], tuple[float, float]]:
    """Latencies (ms) of messages arriving at ``rate`` per second for ``seconds``, from the
    moment each was due to its reply, after ``warmup_s`` of the same flow: (those, the warm-up's,
    when the timed part began and ended by ``time.monotonic()``, for ``Stalls.within``).
    Open loop: each message is handed over at its time in a task of its own, as a platform's
    events arrive whether or not the last one is done, so a slow stretch delays the messages
    due in it (and counts in their latency) instead of holding back the ones after it.

    The warm-up's messages are answered like the rest and timed apart: the first ones after a
    dispatcher starts pay for its connections, its first lane tasks and the first pass through
    cold code (10-12 ms each for the first few here, against 2-3 ms after), which a running bot
    pays once at start-up, not at every half second.

    ``on_started`` is called once the dispatcher runs, before the first message is due (for a
    bench that counts the CPU of the flow alone, not of the brain's building)."""
    channel, dispatcher, worker = await start(store, kb)
    if on_started is not None:
        on_started()
    due_at: dict[str, float] = {}
    handing: set[asyncio.Task[None]] = set()
    warmup, total = int(rate * warmup_s), int(rate * (warmup_s + seconds))
    begin, window_start = time.perf_counter(), time.monotonic() + warmup_s
    for i in range(total):
        due = begin + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        conversation, text = question(i, 5000)  # fresh conversations: every one is answered
        message = channel.message(text, conversation=f"p{conversation}", message_id=f"paced-{i}")
        due_at[message.message_id] = due
        task = asyncio.create_task(channel.inject(message))
        handing.add(task)
        task.add_done_callback(handing.discard)
    await asyncio.gather(*handing)
    await dispatcher.drain()
    window = (window_start, time.monotonic())
    dispatcher.stop()
    await worker
    assert len(channel.sent_at) >= total, "a paced message went unanswered"
    latencies = [(channel.sent_at[m] - due) * 1000 for m, due in due_at.items()]
    return sorted(latencies[warmup:]), sorted(latencies[:warmup]), window


@asynccontextmanager
async def opened(url: str, limits: StoreLimits, namespace: str) -> AsyncIterator[RedisStore]:
    """A Redis store on its own keys (``namespace``), open for the block."""
    store = RedisStore.from_url(url, limits=limits, namespace=namespace)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--conversations", type=int, default=600)
    parser.add_argument("--paced-seconds", type=float, default=5.0)
    parser.add_argument("--warmup-seconds", type=float, default=WARMUP_S)
    args = parser.parse_args()
    kb = KnowledgeBase.load(PACKAGED_KNOWLEDGE_DIR)
    limits = StoreLimits()
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = SqliteStore(Path(tmp) / "bench.db", limits=limits)
        await sqlite.open()
        sqlite_rate = await burst(sqlite, kb, args.messages, args.conversations)
        await sqlite.close()
        server = start_redis(Path(tmp) / "redis")
        try:
            async with opened(server.url, limits, "bench") as redis:
                with RoundTrips() as trips:
                    redis_rate = await burst(redis, kb, args.messages, args.conversations)
                per_message = trips.count / args.messages
            # The paced runs with a witness beside them (``bench/stall_probe.py``): a process
            # of its own that says when the machine left a ready process waiting. The first on
            # the burst's keys, as before the witness.
            with watching_stalls() as stalls:
                async with opened(server.url, limits, "bench") as redis:
                    latencies, warm, window = await paced(
                        redis, kb, redis_rate / 2, args.paced_seconds, args.warmup_seconds
                    )
                # A fixed rate too, beside half of whatever this run reached: comparable across
                # runs and machines (and with the passes whose half rate was about this). Fresh
                # keys for each run: the same message ids again would be dropped as duplicates.
                async with opened(server.url, limits, "fixed") as redis:
                    fixed, fixed_warm, fixed_window = await paced(
                        redis, kb, FIXED_RATE, args.paced_seconds, args.warmup_seconds
                    )
            async with opened(server.url, limits, "sequential") as redis:
                with RoundTrips() as trips:
                    sequential_rate = await burst(
                        redis, kb, args.messages, args.conversations, False
                    )
            sequential_trips = trips.count / args.messages
        finally:
            server.stop()
    rss_mb = peak_rss_mb()
    p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
    print(f"{args.messages} messages over {args.conversations} conversations, sample KB")
    print(f"sqlite  {sqlite_rate:8.0f} msg/s")
    print(f"redis   {redis_rate:8.0f} msg/s, {per_message:.1f} round trips per message")
    print(f"redis   {sequential_rate:8.0f} msg/s, {sequential_trips:.1f} round trips per message, "
          "from one producer awaiting each enqueue")  # fmt: skip
    # The warm-up counted in as well: how the paced runs were timed until the eighth pass.
    with_warmup = sorted(latencies + warm)
    fixed_with_warmup = sorted(fixed + fixed_warm)
    for rate, steady, warm_up, both in (
        (redis_rate / 2, latencies, warm, with_warmup),
        (FIXED_RATE, fixed, fixed_warm, fixed_with_warmup),
    ):
        print(f"redis at {rate:.0f} msg/s: p50 {percentile(steady, 0.50):.1f} ms, "
              f"p99 {percentile(steady, 0.99):.1f} ms ({len(steady)} messages after "
              f"{args.warmup_seconds:g} s of warm-up; its worst {max(warm_up, default=0):.1f} ms, "
              f"p99 {percentile(both, 0.99):.1f} ms counting it)")  # fmt: skip
    print(f"peak RSS {rss_mb:.0f} MB")
    half_stalls, fixed_stalls = stalls.within(*window), stalls.within(*fixed_window)
    for rate, seen in ((redis_rate / 2, half_stalls), (FIXED_RATE, fixed_stalls)):
        print(f"stalls seen by bench/stall_probe.py during the run at {rate:.0f} msg/s: "
              f"{len(seen)} over {stalls.over_ms:g} ms, "
              f"the longest {max(seen, default=0):.1f} ms")  # fmt: skip
    print(
        json.dumps(
            {
                "redis_messages_per_second": round(redis_rate, 1),
                "sqlite_messages_per_second": round(sqlite_rate, 1),
                "redis_round_trips_per_message": round(per_message, 2),
                "redis_sequential_messages_per_second": round(sequential_rate, 1),
                "redis_sequential_round_trips_per_message": round(sequential_trips, 2),
                "p50_ms": round(p50, 2),
                "p99_ms": round(p99, 2),
                "p50_ms_at_500": round(percentile(fixed, 0.50), 2),
                "p99_ms_at_500": round(percentile(fixed, 0.99), 2),
                "p99_ms_with_warmup": round(percentile(with_warmup, 0.99), 2),
                "p99_ms_at_500_with_warmup": round(percentile(fixed_with_warmup, 0.99), 2),
                "peak_rss_mb": round(rss_mb, 1),
                "host_stall_max_ms": round(max(half_stalls, default=0.0), 1),
                "host_stalls_over_20ms": sum(ms > 20 for ms in half_stalls),
                "host_stall_max_ms_at_500": round(max(fixed_stalls, default=0.0), 1),
                "host_stalls_over_20ms_at_500": sum(ms > 20 for ms in fixed_stalls),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
