"""What the benchmarks share: the sample questions the knowledge base answers, a dispatcher
running over a store, a redis-server for the run, the classifier and policy as ``frontdesk eval``
builds them, percentiles, peak memory and the final JSON line.

The benches import it as ``bench._common`` after putting the repository root on ``sys.path``
(each one is run as ``python bench/<name>.py``). Importing it costs only the standard library:
what a helper needs of the bot is imported when it is called, so a bench that measures its own
memory or start-up pays for nothing it does not use.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import resource
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.dispatch import DispatchConfig, Dispatcher
    from bot.observer import Observer
    from brain.classify import Classifier
    from brain.escalation import Policy
    from brain.playbook import Playbook
    from brain.store.base import Store
    from channels.fake import FakeChannel
    from config.settings import Settings
    from tests.servers import RedisServer

ROOT = Path(__file__).resolve().parent.parent

KB_QUESTIONS = (
    "How do I return an item?",
    "where is my order",
    "I forgot my password",
    "do you ship to Norway?",
    "can I pay with Klarna",
    "I was charged twice for one order",
    "how long does a refund take",
)
"""Questions the sample knowledge base answers (``config/knowledge/``)."""


def question(i: int, conversations: int) -> tuple[str, str]:
    """The ``i``-th message of a run spread over ``conversations``: (conversation id, text)."""
    conversation = i % conversations
    # Each conversation asks different answerable questions: a repeat would escalate.
    text = KB_QUESTIONS[(i // conversations + conversation) % len(KB_QUESTIONS)]
    return f"c{conversation}", text


async def inject_questions(channel: FakeChannel, messages: int, conversations: int) -> None:
    """``messages`` questions (``question``) into ``channel``, one after the other."""
    for i in range(messages):
        conversation, text = question(i, conversations)
        await channel.inject(channel.message(text, conversation=conversation))


@asynccontextmanager
async def dispatching(
    store: Store,
    responder: Any,
    channel: FakeChannel,
    config: DispatchConfig,
    observer: Observer | None = None,
) -> AsyncIterator[Dispatcher]:
    """The real dispatcher reading ``store`` and answering through ``channel``, running for
    the block; stopped (and its read loop awaited) on the way out."""
    from bot.dispatch import Dispatcher

    dispatcher = Dispatcher(store, responder, {channel.name: channel}, config, observer=observer)
    await channel.start(dispatcher.submit)
    worker = asyncio.create_task(dispatcher.run())
    try:
        yield dispatcher
    finally:
        dispatcher.stop()
        await worker


@contextmanager
def redis_server(folder: Path) -> Iterator[RedisServer]:
    """A real redis-server on a free loopback port (``tests.servers``), stopped afterwards."""
    from tests.servers import start_redis

    server = start_redis(folder)
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Stalls:
    """What ``bench/stall_probe.py`` saw: (``time.monotonic()`` when a sleep should have
    ended, how late it woke in ms) for each wake-up more than its threshold late; filled when
    the watch ends."""

    seen: list[tuple[float, float]] = field(default_factory=list)
    cpus: tuple[int, ...] = ()  # the CPUs a probe watched
    over_ms: float = 5.0  # the probes' threshold

    def add(self, output: str) -> None:
        """What a probe printed after ``ready`` (one stall a line), kept in time order."""
        for line in output.splitlines():
            began, ms = line.split()
            self.seen.append((float(began), float(ms)))
        self.seen.sort()

    def within(self, start: float, end: float) -> list[float]:
        """The durations (ms) of the stalls that overlap ``start``-``end`` (monotonic s)."""
        return [ms for began, ms in self.seen if began < end and began + ms / 1000 > start]


@contextmanager
def watching_stalls(over_ms: float = 5.0) -> Iterator[Stalls]:
    """``bench/stall_probe.py`` running for the block, one process held on each CPU this
    process may use: the machine's scheduling stalls during it, read once the block is over."""
    script = str(ROOT / "bench" / "stall_probe.py")
    probes = [
        subprocess.Popen([sys.executable, script, "--over-ms", str(over_ms), "--cpu", str(cpu)],
                         stdout=subprocess.PIPE, text=True)
        for cpu in sorted(os.sched_getaffinity(0))
    ]  # fmt: skip
    stalls = Stalls(over_ms=over_ms)
    try:
        held = []
        for probe in probes:
            assert probe.stdout is not None
            words = probe.stdout.readline().split()
            if len(words) != 2 or words[0] != "ready":
                raise RuntimeError("bench/stall_probe.py did not start on one CPU")
            held.append(int(words[1]))
        stalls.cpus = tuple(held)
        yield stalls
    finally:
        for probe in probes:
            probe.terminate()
        for probe in probes:
            stalls.add(probe.communicate(timeout=10)[0])
    failed = [probe.returncode for probe in probes if probe.returncode != 0]
    if failed:
        raise RuntimeError(f"bench/stall_probe.py ended with {failed}: its figures are incomplete")


def classifier_and_policy(settings: Settings) -> tuple[Playbook, Classifier, Policy]:
    """The playbook, the classifier trained on it and the escalation policy, as ``frontdesk
    eval escalation`` builds them (no embeddings)."""
    from bot.wiring import build_policy
    from brain.classify import Classifier
    from brain.playbook import Playbook

    c = settings.classifier
    playbook = Playbook.load(c.playbook_path)
    classifier = Classifier(playbook, c.languages, c.oos_threshold,
                            settings.escalation.sentiment_threshold)  # fmt: skip
    return playbook, classifier, build_policy(settings)


# Percentiles. The benches do not all use one method: each keeps the one its figures in
# docs/PERFORMANCE.md were measured with, so a re-run stays comparable.
def nearest_rank(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile, ``p`` from 0 to 100."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def rounded_rank(values: Sequence[float], share: float) -> float:
    """The value at the rounded rank ``share * (n - 1)``, ``share`` from 0 to 1."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def floor_rank(ordered: Sequence[float], share: float) -> float:
    """The value at rank ``floor(share * n)`` of values already sorted (NaN for none)."""
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else float("nan")


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (``ru_maxrss``), in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def process_cpu_s(pid: int) -> float:
    """User and system CPU seconds of process ``pid`` so far (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def json_line(figures: Mapping[str, Any]) -> None:
    """The last line a bench prints: its figures as one JSON object."""
    print(json.dumps(figures))
