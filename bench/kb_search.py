"""CPU of one lexical knowledge-base search: ``KnowledgeBase.search`` against the plain algorithm
it replaced (``tests/kb_reference.py``), on the same entries and questions.

Three cases: the sample KB asked the questions ``bench/pipeline.py`` sends (``bench._common``'s
``KB_QUESTIONS``, cycled), the sample KB asked ``tests/fixtures/kb/questions.csv``, and the
10,000-entry synthetic KB of ``bench/brain_speed.py`` asked its perturbed questions. Each case
first checks that both return the same hits, order and scores for every question, then times
``--searches`` searches (k=3, as the brain asks) with ``time.process_time`` (this machine is
shared: the wall clock moves 2x, CPU time much less), ``--rounds`` times, old and new
alternating; the figure is the median round, in microseconds of CPU per search.

Run: ``python bench/kb_search.py [--searches 3000] [--rounds 5] [--large 10000]``
(``--large 0`` skips the large KB). The last line is JSON.
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import KB_QUESTIONS, ROOT, json_line
from bench.brain_speed import synthetic_kb
from brain.entries import Hit
from brain.knowledge import KnowledgeBase
from config.settings import PACKAGED_KNOWLEDGE_DIR
from tests.kb_reference import ReferenceSearch

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--searches", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--large", type=int, default=10_000, help="entries; 0 skips")
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
    json_line(figures)


if __name__ == "__main__":
    main()
