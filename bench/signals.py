"""Escalation signals: per-message latency, and how often in-scope questions are handed over.

Run: ``python bench/signals.py [--repeat N] [CSV ...]`` (default: the labelled sets under
``tests/fixtures/escalation``). Two figures:

- latency of ``SignalReader.read`` (all signals of one message) and of the whole
  ``Classifier.classify`` (intent, language and signals), p50/p99 over every message of the
  labelled sets and every example of the sample playbook, each read ``--repeat`` times;
- in-scope hand-overs: the pre-answer policy (a confident answer assumed, as in
  ``frontdesk eval escalation``) over the sample playbook's examples of intents that do not
  escalate by design, plus the rows labelled ``escalate=0`` of the given sets. Fewer is better:
  the bot should answer these.

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import classifier_and_policy, json_line, rounded_rank
from brain.escalation import Facts, reasons
from brain.signals import SignalReader
from channels.base import Author
from config.settings import Settings

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "escalation"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("csv", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    files = args.csv or sorted(FIXTURES.glob("*.csv"))
    settings = Settings()
    playbook, classifier, policy = classifier_and_policy(settings)
    reader = SignalReader(settings.escalation.sentiment_threshold)

    labelled = [row for f in files for row in csv.DictReader(f.open(encoding="utf-8"))]
    calm_intents = [i for i in playbook.intents if not (i.escalate_always or i.sensitive)]
    in_scope = [e for i in calm_intents for e in i.examples]
    benign = [r["text"] for r in labelled if r.get("escalate") == "0"]
    texts = [r["text"] for r in labelled] + [e for i in playbook.intents for e in i.examples]

    def handed_over(text: str) -> bool:
        facts = Facts(text, classifier.classify(text), 1.0, Author(id="bench"), 1)
        return bool(reasons(policy, facts))

    over_examples = sum(handed_over(t) for t in in_scope)
    over_benign = sum(handed_over(t) for t in benign)

    def timings(read: object) -> list[float]:
        spent = []
        for _ in range(args.repeat):
            for text in texts:
                start = time.perf_counter()
                read(text)  # type: ignore[operator]
                spent.append((time.perf_counter() - start) * 1000)
        return spent

    signals_ms = timings(reader.read)
    classify_ms = timings(classifier.classify)
    result = {
        "messages": len(texts),
        "signals_p50_ms": round(statistics.median(signals_ms), 3),
        "signals_p99_ms": round(rounded_rank(signals_ms, 0.99), 3),
        "classify_p50_ms": round(statistics.median(classify_ms), 3),
        "classify_p99_ms": round(rounded_rank(classify_ms, 0.99), 3),
        "in_scope_examples": len(in_scope),
        "in_scope_examples_handed_over": over_examples,
        "benign_rows": len(benign),
        "benign_rows_handed_over": over_benign,
    }
    print(f"files: {', '.join(f.name for f in files)}")
    print(
        f"signals per message: p50 {result['signals_p50_ms']} ms, "
        f"p99 {result['signals_p99_ms']} ms ({len(texts)} messages x {args.repeat})"
    )
    print(
        f"classify (intent + language + signals): p50 {result['classify_p50_ms']} ms, "
        f"p99 {result['classify_p99_ms']} ms"
    )
    print(f"in-scope playbook examples handed over: {over_examples} of {len(in_scope)}")
    print(f"benign labelled rows handed over: {over_benign} of {len(benign)}")
    json_line(result)


if __name__ == "__main__":
    main()
