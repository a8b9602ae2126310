"""CPU of one lexical knowledge-base search: ``KnowledgeBase.search`` against the plain algorithm
it replaced (``tests/kb_reference.py``), on the same entries and questions.

Three cases: the sample KB asked the questions ``bench/pipeline.py`` sends (``bench._common``'s
``KB_QUESTIONS``, cycled), the sample KB asked ``tests/fixtures/kb/questions.csv``, and the
10,000-entry synthetic KB of ``bench/brain_speed.py`` asked its perturbed questions. Each case
first checks that both return the same hits, order and scores for every question, then times
``--searches`` searches (k=3, as the brain asks) with ``time.process_time`` (this machine is
shared: the wall clock moves 2x, CPU time much less), ``--rounds`` times, old and new
alternating; the figure is the median round, in microseconds of CPU per search.

``--pipeline N`` also runs ``bench/pipeline.py``'s burst of N messages through the real
dispatcher and brain on a real redis-server (a fresh namespace each round), once with the old
search in the knowledge base and once with the new, alternating, and reports this process's CPU
per message (the server's own CPU is not counted) and the CPU of one search within the
pipeline, where the caches are cold (the rest of the path runs between two searches).

Run: ``python bench/kb_search.py [--searches 3000] [--rounds 5] [--large 10000]
[--pipeline 3000]`` (``--large 0`` skips the large KB). The last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import KB_QUESTIONS, ROOT, inject_questions, json_line
from bench.brain_speed import synthetic_kb
from bench.pipeline import start
from brain.entries import Hit, KnowledgeEntry
from brain.knowledge import KnowledgeBase
from brain.store.base import StoreLimits
from brain.store.redis import RedisStore
from config.settings import PACKAGED_KNOWLEDGE_DIR
from tests.kb_reference import ReferenceSearch
from tests.servers import RedisServer, start_redis

FIXTURE = ROOT / "tests" / "fixtures" / "kb" / "questions.csv"
Search = Callable[[str, int], list[Hit]]


def cpu_per_search(search: Search, questions: Sequence[str], count: int) -> float:
    """Microseconds of process CPU per search, over ``count`` searches cycling ``questions``."""
    for text in questions[:50]:  # warm caches (spelling corrections, stems) for both alike
        search(text, 3)
    started = time.process_time()
    for i in range(count):
        search(questions[i % len(questions)], 3)
    return (time.process_time() - started) / count * 1e6


def compare(name: str, kb: KnowledgeBase, questions: Sequence[str], args: argparse.Namespace,
            count: int) -> tuple[float, float]:  # fmt: skip
    reference = ReferenceSearch(kb.entries)
    for text in questions:
        for k in (3, 5):
            got = [(h.entry.id, h.score) for h in kb.search(text, k)]
            expected = [(h.entry.id, h.score) for h in reference.search(text, k)]
            if got != expected:
                raise SystemExit(f"{name}: results differ for {text!r}: {got} != {expected}")
    old_runs, new_runs = [], []
    for _ in range(args.rounds):
        old_runs.append(cpu_per_search(reference.search, questions, count))
        new_runs.append(cpu_per_search(kb.search, questions, count))
    old, new = statistics.median(old_runs), statistics.median(new_runs)
    print(f"{name}: {len(kb.entries)} entries, {len(questions)} distinct questions, "
          f"{count} searches x {args.rounds} rounds, same results for every question")  # fmt: skip
    print(f"  old {old:8.1f} us/search  (rounds: {', '.join(f'{r:.1f}' for r in old_runs)})")
    print(f"  new {new:8.1f} us/search  (rounds: {', '.join(f'{r:.1f}' for r in new_runs)})")
    print(f"  {old / new:.2f}x less CPU")
    return old, new


class TimedSearch(KnowledgeBase):
    """The knowledge base, its searches' CPU summed; ``old``: searching with the reference."""

    def __init__(self, entries: Sequence[KnowledgeEntry], *, old: bool) -> None:
        super().__init__(entries)
        self._reference = ReferenceSearch(self.entries) if old else None
        self.cpu, self.calls = 0.0, 0

    def search(self, question: str, k: int = 5) -> list[Hit]:
        started = time.process_time()
        if self._reference is None:
            hits = super().search(question, k)
        else:
            hits = self._reference.search(question, k)
        self.cpu += time.process_time() - started
        self.calls += 1
        return hits


async def pipeline_cpu(server: RedisServer, kb: TimedSearch, messages: int,
                       namespace: str) -> tuple[float, float]:  # fmt: skip
    """This process's CPU per message (ms) for a burst answered from ``kb``, from the first
    message injected to the last answered (the brain is built before), and per search (us)."""
    store = RedisStore.from_url(server.url, limits=StoreLimits(), namespace=namespace)
    await store.open()
    kb.cpu, kb.calls = 0.0, 0
    try:
        channel, dispatcher, worker = await start(store, kb)
        started = time.process_time()
        await inject_questions(channel, messages, max(1, messages // 5))
        await dispatcher.drain()
        cpu = time.process_time() - started
        dispatcher.stop()
        await worker
        if len(channel.sent) < messages:
            raise SystemExit(f"{len(channel.sent)} replies to {messages} messages")
        return cpu / messages * 1000, kb.cpu / max(1, kb.calls) * 1e6
    finally:
        await store.close()


def compare_pipeline(
    kb: KnowledgeBase, messages: int, rounds: int
) -> tuple[tuple[float, float], tuple[float, float]]:
    """(per message, per search) of the old and of the new search, medians of ``rounds``."""
    kbs = {"old": TimedSearch(kb.entries, old=True), "new": TimedSearch(kb.entries, old=False)}
    runs: dict[str, list[tuple[float, float]]] = {"old": [], "new": []}
    with tempfile.TemporaryDirectory() as tmp:
        server = start_redis(Path(tmp) / "redis")
        try:
            for i in range(rounds):
                for name, timed in kbs.items():
                    runs[name].append(asyncio.run(pipeline_cpu(server, timed, messages,
                                                               f"{name}{i}")))  # fmt: skip
        finally:
            server.stop()
    print(f"bench/pipeline.py burst on Redis, {messages} messages x {rounds} rounds, CPU of this "
          "process: per message, and per search within it")  # fmt: skip
    medians = {}
    for name, results in runs.items():
        message = statistics.median(r[0] for r in results)
        search = statistics.median(r[1] for r in results)
        medians[name] = (message, search)
        print(f"  {name} search: {message:6.3f} ms/message "
              f"({', '.join(f'{r[0]:.3f}' for r in results)}), {search:6.1f} us/search "
              f"({', '.join(f'{r[1]:.1f}' for r in results)})")  # fmt: skip
    return medians["old"], medians["new"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--searches", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--large", type=int, default=10_000, help="entries; 0 skips")
    parser.add_argument("--pipeline", type=int, default=0, help="messages per burst; 0 skips")
    args = parser.parse_args()
    sample = KnowledgeBase.load(PACKAGED_KNOWLEDGE_DIR)
    with FIXTURE.open(newline="") as handle:
        fixture = [row["question"] for row in csv.DictReader(handle)]
    figures: dict[str, float] = {}
    old, new = compare("pipeline questions", sample, KB_QUESTIONS, args, args.searches)
    figures |= {"kb_search_us_old": round(old, 1), "kb_search_us": round(new, 1)}
    old, new = compare("fixture questions", sample, fixture, args, args.searches)
    figures |= {"kb_fixture_search_us_old": round(old, 1), "kb_fixture_search_us": round(new, 1)}
    if args.large:
        rng = random.Random(3)
        entries, questions = synthetic_kb(args.large, rng)
        large = KnowledgeBase(entries)
        asked = rng.sample(questions, min(500, len(questions)))
        old, new = compare("synthetic KB", large, asked, args, max(1, args.searches // 10))
        figures |= {"kb_large_search_us_old": round(old, 1), "kb_large_search_us": round(new, 1)}
    if args.pipeline:
        old_p, new_p = compare_pipeline(sample, args.pipeline, args.rounds)
        figures |= {"pipeline_cpu_ms_per_message_old": round(old_p[0], 3),
                    "pipeline_cpu_ms_per_message": round(new_p[0], 3),
                    "pipeline_kb_search_us_old": round(old_p[1], 1),
                    "pipeline_kb_search_us": round(new_p[1], 1)}  # fmt: skip
    json_line(figures)


if __name__ == "__main__":
    main()
