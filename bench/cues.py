"""The cue prefilter (``brain/cues/gate.py``): CPU per message with it and without it.

Three measures, each on two sets of texts: the questions ``bench/pipeline.py`` sends
(``bench._common.question``, 600 conversations) and the rows of
``tests/fixtures/escalation/*.csv`` (real-sounding complaints, requests, angry and calm).

- ``tables``: the cue tables ``SignalReader.read`` asks (anger, grievance, urgency, sensitive,
  failed, person) through ``brain.cues.first`` and ``grievance.find``;
- ``signals``: ``SignalReader.read`` whole (sentiment, the tables, the tone patterns);
- ``classify``: ``Classifier.classify`` whole (intent model, language, signals), as
  ``frontdesk eval`` builds it.

"Plain" sets every gate bit (``gate.scan`` answers -1): every regular expression runs, as before
the prefilter. CPU time (``time.process_time``), rounds alternating gated and plain; the figure
is the median round. Run: ``python bench/cues.py [--messages N] [--rounds N]``. The last line is
JSON: ``*_gated_us`` and ``*_plain_us`` per message, ``needles``, ``patterns``, ``ungated``.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ROOT, classifier_and_policy, json_line, question
from brain.cues import anger, failed, first, gate, grievance, person, sensitive, urgency
from brain.signals import SignalReader
from config.settings import load_settings


def kb_questions(count: int) -> list[str]:
    return [question(i, 600)[1] for i in range(count)]


def fixture_texts() -> list[str]:
    texts: list[str] = []
    for path in sorted((ROOT / "tests" / "fixtures" / "escalation").glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            texts += [row["text"] for row in csv.DictReader(handle)]
    return texts


def tables(text: str) -> object:
    found = [first(anger.ANGER, text), grievance.find(text), first(urgency.URGENT, text),
             first(sensitive.SENSITIVE, text), first(failed.FAILED, text),
             first(person.HUMAN, text)]  # fmt: skip
    return found


def cpu_us(work: Callable[[str], object], texts: Sequence[str]) -> float:
    started = time.process_time()
    for text in texts:
        work(text)
    return (time.process_time() - started) / len(texts) * 1e6


def compare(work: Callable[[str], object], texts: Sequence[str], rounds: int) -> dict[str, float]:
    """Median CPU µs per text, gated and plain, in alternating rounds."""
    scan = gate.scan
    for text in texts[:50]:
        work(text)  # warm-up: imports, caches, the automaton
    gated, plain = [], []
    try:
        for _ in range(rounds):
            gate.scan = scan  # type: ignore[assignment]
            gated.append(cpu_us(work, texts))
            gate.scan = lambda text: -1  # type: ignore[assignment]  # every regex runs
            plain.append(cpu_us(work, texts))
    finally:
        gate.scan = scan  # type: ignore[assignment]
    return {"gated": statistics.median(gated), "plain": statistics.median(plain)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    reader = SignalReader()
    _, classifier, _ = classifier_and_policy(load_settings(env_file=None))
    sets = {"kb": kb_questions(args.messages), "fixtures": fixture_texts()}
    works: dict[str, Callable[[str], object]] = {
        "tables": tables,
        "signals": reader.read,
        "classify": classifier.classify,
    }
    figures: dict[str, Any] = {}
    for set_name, texts in sets.items():
        for work_name, work in works.items():
            measured = compare(work, texts, args.rounds)
            gated, plain = measured["gated"], measured["plain"]
            print(f"{set_name:8} {work_name:8} ({len(texts)} texts): gated {gated:7.1f} µs, "
                  f"plain {plain:7.1f} µs, saved {plain - gated:6.1f} µs "
                  f"({plain / gated:.2f}x)")  # fmt: skip
            figures[f"{set_name}_{work_name}_gated_us"] = round(gated, 1)
            figures[f"{set_name}_{work_name}_plain_us"] = round(plain, 1)
    registry = gate._REGISTRY
    figures["needles"] = len(registry.masks)
    figures["patterns"] = len(registry.bits)
    figures["ungated"] = sum(1 for bit in registry.bits.values() if not bit)
    started = time.process_time()
    for text in sets["fixtures"]:
        gate._REGISTRY.recent = ()
        gate.scan(text)
    figures["scan_us"] = round((time.process_time() - started) / len(sets["fixtures"]) * 1e6, 2)
    print(f"{figures['needles']} needles for {figures['patterns']} patterns "
          f"({figures['ungated']} ungated); one scan of a fixture text: "
          f"{figures['scan_us']} µs")  # fmt: skip
    json_line(figures)


if __name__ == "__main__":
    main()
