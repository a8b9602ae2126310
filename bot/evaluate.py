"""``frontdesk eval``: measure the intent classifier and knowledge-base retrieval on labelled data.

``eval intents`` trains an ``IntentModel`` (on a labelled file, or on the playbook) and scores a
test file; ``eval kb`` checks whether retrieval finds the expected entry. Each prints readable
lines on stdout and ends with one JSON line, so scripts can read the last line. The heavy
imports (scikit-learn, bm25s) happen only when an evaluation runs, so ``frontdesk --version``
stays fast.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.errors import ConfigError
from config.settings import Settings

EXIT_OK, EXIT_USAGE = 0, 2


class _Problem(Exception):
    """A bad input file: reported as one ``frontdesk: ...`` line, never a traceback."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """One test row: its true label, the model's top label, and whether it was rejected."""

    true: str
    predicted: str
    rejected: bool = False


@dataclass(frozen=True, slots=True)
class IntentScores:
    accuracy: float
    macro_f1: float
    in_scope_accuracy: float | None
    oos_recall: float | None
    oos_precision: float | None


def score_intents(outcomes: Sequence[Outcome], oos_label: str | None) -> IntentScores:
    """Accuracy, macro-F1 and the out-of-scope figures, as ``frontdesk eval intents`` defines
    them. Without ``oos_label`` nothing counts as rejected."""
    from sklearn.metrics import f1_score  # noqa: PLC0415

    if not outcomes:
        raise ValueError("no outcomes to score")
    truths = [o.true for o in outcomes]
    rejected = [o.rejected and oos_label is not None for o in outcomes]
    correct, effective = [], []
    for outcome, refused in zip(outcomes, rejected, strict=True):
        right = outcome.predicted == outcome.true and not refused
        correct.append(refused if outcome.true == oos_label else right)
        effective.append(oos_label if refused else outcome.predicted)
    labels = sorted(set(truths))
    macro_f1 = float(f1_score(truths, effective, labels=labels, average="macro", zero_division=0))
    accuracy = sum(correct) / len(outcomes)
    if oos_label is None:
        return IntentScores(accuracy, macro_f1, accuracy, None, None)
    oos = [i for i, o in enumerate(outcomes) if o.true == oos_label]
    inside = [i for i, o in enumerate(outcomes) if o.true != oos_label]
    caught = sum(rejected[i] for i in oos)
    return IntentScores(
        accuracy=accuracy,
        macro_f1=macro_f1,
        in_scope_accuracy=_ratio(sum(correct[i] for i in inside), len(inside)),
        oos_recall=_ratio(caught, len(oos)),
        oos_precision=_ratio(caught, sum(rejected)),
    )


def add_eval_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    evaluate = commands.add_parser("eval", help="measure the classifier or the knowledge base")
    kinds = evaluate.add_subparsers(dest="eval_target", required=True, metavar="WHAT")
    intents = kinds.add_parser("intents", help="intent accuracy, macro-F1, out-of-scope")
    intents.add_argument("--train", type=Path, help="labelled CSV/JSON (default: the playbook)")
    intents.add_argument("--test", type=Path, required=True, help="labelled CSV/JSON")
    intents.add_argument("--text-col", default="text", help="default: text")
    intents.add_argument("--label-col", default="label", help="default: label")
    intents.add_argument("--oos-label", help="test label meaning out of scope")
    intents.add_argument("--threshold", type=_probability, help="default: the oos threshold")
    kb = kinds.add_parser("kb", help="top-1/top-5 retrieval hit rate and p99 latency")
    kb.add_argument("--kb", type=Path, help="knowledge folder (default: the configured one)")
    kb.add_argument("--test", type=Path, required=True, help="CSV/JSON of questions")
    kb.add_argument("--question-col", default="question", help="default: question")
    kb.add_argument("--expected-col", default="expected_id", help="default: expected_id")


def run_eval(args: argparse.Namespace, settings: Settings) -> int:
    try:
        if args.eval_target == "kb":
            result = _eval_kb(args, settings)
        else:
            result = _eval_intents(args, settings)
    except (_Problem, ConfigError) as err:
        sys.stderr.write(f"frontdesk: {err}\n")
        return EXIT_USAGE
    sys.stdout.write(json.dumps(result) + "\n")
    return EXIT_OK


def _eval_intents(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from brain.classify import IntentModel  # noqa: PLC0415
    from brain.playbook import OUT_OF_SCOPE, Playbook  # noqa: PLC0415

    oos_label: str | None = args.oos_label
    tests = _read_rows(args.test, args.text_col, args.label_col)
    if args.train is None:
        source = str(settings.classifier.playbook_path)
        texts, labels = Playbook.load(settings.classifier.playbook_path).training_data
    else:
        source = str(args.train)
        rows = _read_rows(args.train, args.text_col, args.label_col)
        texts = [text for text, label in rows if label != oos_label]
        labels = [label for _, label in rows if label != oos_label]
    started = time.perf_counter()
    try:
        model = IntentModel().fit(texts, labels)
    except ValueError as err:
        raise _Problem(f"cannot train on {source}: {err}") from err
    train_seconds = time.perf_counter() - started
    threshold = settings.classifier.oos_threshold if args.threshold is None else args.threshold
    outcomes = []
    started = time.perf_counter()
    for text, label in tests:
        top, probability = model.predict_one(text)
        rejected = probability < threshold or top == OUT_OF_SCOPE
        outcomes.append(Outcome(label, top, rejected))
    elapsed = time.perf_counter() - started
    scores = score_intents(outcomes, oos_label)
    rate = len(tests) / elapsed if elapsed > 0 else None
    _say(f"trained on {len(texts)} examples, {len(set(labels))} labels ({source})")
    _say(f"tested on {len(tests)} messages ({args.test})")
    _say(f"accuracy                {scores.accuracy:.4f}")
    _say(f"macro-F1                {scores.macro_f1:.4f}")
    if oos_label is not None:
        _say(f"out-of-scope label      {oos_label!r}, threshold {threshold:g}")
        _say(f"in-scope accuracy       {_show(scores.in_scope_accuracy)}")
        _say(f"out-of-scope recall     {_show(scores.oos_recall)}")
        _say(f"out-of-scope precision  {_show(scores.oos_precision)}")
    _say(f"training time           {train_seconds:.3f} s")
    _say(f"throughput              {_show(rate, '.0f')} messages/s (one message at a time)")
    return {
        "accuracy": round(scores.accuracy, 4),
        "macro_f1": round(scores.macro_f1, 4),
        "in_scope_accuracy": _round(scores.in_scope_accuracy, 4),
        "oos_recall": _round(scores.oos_recall, 4),
        "oos_precision": _round(scores.oos_precision, 4),
        "train_seconds": round(train_seconds, 4),
        "messages_per_second": _round(rate, 1),
    }


def _eval_kb(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    import numpy as np  # noqa: PLC0415

    from brain.knowledge import KnowledgeBase  # noqa: PLC0415

    tests = _read_rows(args.test, args.question_col, args.expected_col)
    directory: Path = settings.knowledge.path if args.kb is None else args.kb
    if args.kb is not None and not directory.is_dir():
        # The loader names the setting; here the operator gave the folder on the command line.
        what = "does not exist" if not directory.exists() else "is not a directory"
        raise _Problem(f"--kb: {directory} {what}")
    knowledge = KnowledgeBase.load(directory)
    top1 = top5 = 0
    latencies: list[float] = []
    for question, expected in tests:
        started = time.perf_counter()
        hits = knowledge.search(question, k=5)
        latencies.append((time.perf_counter() - started) * 1000)
        ids = [hit.entry.id for hit in hits]
        top1 += bool(ids) and ids[0] == expected
        top5 += expected in ids
    p99 = float(np.percentile(latencies, 99))
    _say(f"knowledge base {directory}: {len(knowledge.entries)} entries")
    _say(f"questions     {len(tests)} ({args.test})")
    _say(f"top-1 hit rate {top1 / len(tests):.4f} ({top1}/{len(tests)})")
    _say(f"top-5 hit rate {top5 / len(tests):.4f} ({top5}/{len(tests)})")
    _say(f"p99 latency    {p99:.2f} ms")
    return {
        "top1": round(top1 / len(tests), 4),
        "top5": round(top5 / len(tests), 4),
        "p99_ms": round(p99, 3),
    }


def _read_rows(path: Path, first: str, second: str) -> list[tuple[str, str]]:
    """The (first, second) column pairs of a CSV, a JSON list of objects or JSON lines."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as err:
        raise _Problem(f"cannot read {path}: {err.strerror or err}") from err
    except UnicodeDecodeError as err:
        raise _Problem(f"cannot read {path}: not UTF-8 text") from err
    if path.suffix.lower() in {".json", ".jsonl", ".ndjson"} or text.lstrip()[:1] in {"[", "{"}:
        records = _json_records(path, text)
    else:
        try:
            records = list(csv.DictReader(io.StringIO(text)))
        except csv.Error as err:
            raise _Problem(f"{path} is not a readable CSV file: {err}") from err
    if not records:
        raise _Problem(f"{path} holds no rows")
    pairs = []
    for number, record in enumerate(records, start=1):
        for column in (first, second):
            if record.get(column) is None:
                columns = ", ".join(str(c) for c in record) or "none"
                raise _Problem(f"{path}: row {number} has no column {column!r} ({columns})")
        pairs.append((str(record[first]), str(record[second])))
    return pairs


def _json_records(path: Path, text: str) -> list[dict[Any, Any]]:
    try:
        document = json.loads(text)
        records = document if isinstance(document, list) else [document]
    except json.JSONDecodeError:
        records = []
        for number, line in enumerate(text.splitlines(), start=1):
            try:
                records.extend([json.loads(line)] if line.strip() else [])
            except json.JSONDecodeError as err:
                raise _Problem(f"{path} is neither JSON nor JSON lines (line {number})") from err
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise _Problem(f"{path}: row {number} is not an object")
    return records


def _probability(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number between 0 and 1")
    return number


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _show(value: float | None, spec: str = ".4f") -> str:
    return "n/a" if value is None else format(value, spec)


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
