"""``frontdesk eval``: measure the intent classifier, knowledge-base retrieval and the escalation
signals on labelled data.

``eval intents`` trains an ``IntentModel`` (on a labelled file, or on the playbook) and scores a
test file; ``eval kb`` checks whether retrieval finds the expected entry; ``eval escalation``
runs the pre-answer escalation policy (the reasons that fire before any answer is drafted) with
the configured playbook and settings over labelled messages and scores it, and each signal
(``human_request``, ``angry``, ``urgent``), by precision, recall and F1. Each prints readable
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
ESCALATION_LABELS = ("escalate", "human_request", "angry", "urgent")


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
    intents.add_argument("--threshold", type=_probability,
                         help="default: chosen on held-out training examples")  # fmt: skip
    kb = kinds.add_parser("kb", help="top-1/top-5 retrieval hit rate and p99 latency")
    kb.add_argument("--kb", type=Path, help="knowledge folder (default: the configured one)")
    kb.add_argument("--test", type=Path, required=True, help="CSV/JSON of questions")
    kb.add_argument("--question-col", default="question", help="default: question")
    kb.add_argument("--expected-col", default="expected_id", help="default: expected_id")
    escalation = kinds.add_parser(
        "escalation", help="precision/recall/F1 of the pre-answer escalation policy per signal"
    )
    escalation.add_argument(
        "--test", type=Path, required=True,
        help="CSV/JSON: text plus any of escalate,human_request,angry,urgent as 0/1",
    )  # fmt: skip
    escalation.add_argument("--text-col", default="text", help="default: text")


def run_eval(args: argparse.Namespace, settings: Settings) -> int:
    try:
        if args.eval_target == "kb":
            result = _eval_kb(args, settings)
        elif args.eval_target == "escalation":
            result = _eval_escalation(args, settings)
        else:
            result = _eval_intents(args, settings)
    except (_Problem, ConfigError) as err:
        sys.stderr.write(f"frontdesk: {err}\n")
        return EXIT_USAGE
    sys.stdout.write(json.dumps(result) + "\n")
    return EXIT_OK


def _eval_intents(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from brain.classify import IntentModel  # noqa: PLC0415
    from brain.playbook import OUT_OF_SCOPE  # noqa: PLC0415

    oos_label: str | None = args.oos_label
    tests = _read_rows(args.test, args.text_col, args.label_col)
    source, texts, labels, oos_texts = _training_set(args, settings)
    from brain.embeddings import build_embedder  # noqa: PLC0415

    embedder = build_embedder(settings.embeddings, settings.store.data_dir / "embeddings")
    started = time.perf_counter()
    try:
        model = IntentModel(embedder=embedder).fit(texts, labels)
    except ValueError as err:
        raise _Problem(f"cannot train on {source}: {err}") from err
    train_seconds = time.perf_counter() - started
    started = time.perf_counter()
    try:
        calibration = model.calibrate(texts, labels, oos_texts)
    except ValueError as err:  # too few examples per intent to hold any out
        _say(f"no held-out calibration ({err}); the configured threshold applies")
        calibration = None
    calibration_seconds = time.perf_counter() - started
    threshold, chosen_by = _threshold(args.threshold, calibration, settings)
    outcomes = []
    started = time.perf_counter()
    for text, label in tests:
        top, probability = model.predict_one(text)
        rejected = probability < threshold or top == OUT_OF_SCOPE
        outcomes.append(Outcome(label, top, rejected))
    elapsed = time.perf_counter() - started
    scores = score_intents(outcomes, oos_label)
    rate = len(tests) / elapsed if elapsed > 0 else None
    engine = "TF-IDF" if model._head is None or embedder is None else f"TF-IDF + {embedder.name}"
    _say(f"trained on {len(texts)} examples, {len(set(labels))} labels ({source}; {engine})")
    _say(f"tested on {len(tests)} messages ({args.test})")
    if calibration is not None:
        _say(f"held-out calibration    {calibration.describe()}")
    _say(f"threshold               {threshold:g} ({chosen_by})")
    _say(f"accuracy                {scores.accuracy:.4f}")
    _say(f"macro-F1                {scores.macro_f1:.4f}")
    if oos_label is not None:
        _say(f"out-of-scope label      {oos_label!r}, threshold {threshold:g}")
        _say(f"in-scope accuracy       {_show(scores.in_scope_accuracy)}")
        _say(f"out-of-scope recall     {_show(scores.oos_recall)}")
        _say(f"out-of-scope precision  {_show(scores.oos_precision)}")
    _say(f"training time           {train_seconds:.3f} s (+{calibration_seconds:.3f} s held-out)")
    _say(f"throughput              {_show(rate, '.0f')} messages/s (one message at a time)")
    return {
        "accuracy": round(scores.accuracy, 4),
        "macro_f1": round(scores.macro_f1, 4),
        "in_scope_accuracy": _round(scores.in_scope_accuracy, 4),
        "oos_recall": _round(scores.oos_recall, 4),
        "oos_precision": _round(scores.oos_precision, 4),
        "train_seconds": round(train_seconds, 4),
        "messages_per_second": _round(rate, 1),
        "threshold": threshold,
        "threshold_source": chosen_by,
        "calibrated_threshold": None if calibration is None else calibration.threshold,
        "calibration_ece": None if calibration is None else calibration.ece,
        "calibration_held_out": None if calibration is None else calibration.held_out,
        "calibration_seconds": round(calibration_seconds, 4),
    }


def _training_set(
    args: argparse.Namespace, settings: Settings
) -> tuple[str, list[str], list[str], list[str]]:
    """(source, texts, labels, out-of-scope texts): the playbook, whose out-of-scope examples
    are a class, or ``--train``, whose ``--oos-label`` rows are kept out of training (they are
    the calibration's out-of-scope examples)."""
    from brain.playbook import Playbook  # noqa: PLC0415

    if args.train is None:
        texts, labels = Playbook.load(settings.classifier.playbook_path).training_data
        return str(settings.classifier.playbook_path), texts, labels, []
    rows = _read_rows(args.train, args.text_col, args.label_col)
    kept = [(text, label) for text, label in rows if label != args.oos_label]
    oos_texts = [text for text, label in rows if label == args.oos_label]
    return str(args.train), [t for t, _ in kept], [label for _, label in kept], oos_texts


def _threshold(given: float | None, calibration: Any, settings: Settings) -> tuple[float, str]:
    """``--threshold`` if given, else the held-out choice, else the configured setting."""
    if given is not None:
        return given, "--threshold"
    if calibration is not None:
        return float(calibration.threshold), "held-out"
    return settings.classifier.oos_threshold, "setting"


def _eval_kb(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    import numpy as np  # noqa: PLC0415

    from brain.knowledge import KnowledgeBase  # noqa: PLC0415

    tests = _read_rows(args.test, args.question_col, args.expected_col)
    directory: Path = settings.knowledge.path if args.kb is None else args.kb
    if args.kb is not None and not directory.is_dir():
        # The loader names the setting; here the operator gave the folder on the command line.
        what = "does not exist" if not directory.exists() else "is not a directory"
        raise _Problem(f"--kb: {directory} {what}")
    from brain.embeddings import build_embedder  # noqa: PLC0415

    embedder = build_embedder(settings.embeddings, settings.store.data_dir / "embeddings")
    knowledge = KnowledgeBase.load(directory, embedder=embedder)
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
    mode = f"hybrid, {embedder.name}" if knowledge.semantic and embedder else "lexical"
    _say(f"knowledge base {directory}: {len(knowledge.entries)} entries ({mode})")
    _say(f"questions     {len(tests)} ({args.test})")
    _say(f"top-1 hit rate {top1 / len(tests):.4f} ({top1}/{len(tests)})")
    _say(f"top-5 hit rate {top5 / len(tests):.4f} ({top5}/{len(tests)})")
    _say(f"p99 latency    {p99:.2f} ms")
    return {
        "top1": round(top1 / len(tests), 4),
        "top5": round(top5 / len(tests), 4),
        "p99_ms": round(p99, 3),
    }


def _eval_escalation(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from bot.wiring import build_policy  # noqa: PLC0415
    from brain.classify import Classifier  # noqa: PLC0415
    from brain.escalation import Facts, Reason, reasons  # noqa: PLC0415
    from brain.playbook import Playbook, Urgency  # noqa: PLC0415
    from channels.base import Author  # noqa: PLC0415

    records = _read_records(args.test)
    labels = [c for c in ESCALATION_LABELS if c in records[0]]
    if args.text_col not in records[0] or not labels:
        raise _Problem(f"{args.test} needs a {args.text_col!r} column and any of "
                       f"{', '.join(ESCALATION_LABELS)}")  # fmt: skip
    truth = {label: [_flag(r, label, args.test, n) for n, r in enumerate(records, 1)]
             for label in labels}  # fmt: skip
    c = settings.classifier
    playbook = Playbook.load(c.playbook_path)
    classifier = Classifier(playbook, c.languages, c.oos_threshold,
                            settings.escalation.sentiment_threshold)  # fmt: skip
    policy = build_policy(settings)
    predicted: dict[str, list[bool]] = {label: [] for label in labels}
    for number, record in enumerate(records, 1):
        text = str(record.get(args.text_col) or "").strip()
        if not text:
            raise _Problem(f"{args.test}: row {number} has no text")
        classification = classifier.classify(text)
        signals = classification.signals
        found = reasons(policy, Facts(text, classification, 1.0, Author(id="eval"), 1))
        guesses = {
            "escalate": bool(found),
            "human_request": classification.wants_human,
            "angry": Reason.NEGATIVE_SENTIMENT in found,
            "urgent": signals is not None and signals.urgency is Urgency.URGENT,
        }
        for label in labels:
            predicted[label].append(guesses[label])
    _say(f"pre-answer escalation policy on {len(records)} messages ({args.test})")
    _say(f"{'signal':<15} {'precision':>9} {'recall':>7} {'F1':>6} {'positives':>9}")
    result: dict[str, Any] = {}
    for label in labels:
        precision, recall, f1 = _prf(truth[label], predicted[label])
        _say(f"{label:<15} {_show(precision, '9.4f')} {_show(recall, '7.4f')} "
             f"{_show(f1, '6.4f')} {sum(truth[label]):>9}")  # fmt: skip
        result |= {f"{label}_precision": _round(precision, 4),
                   f"{label}_recall": _round(recall, 4), f"{label}_f1": _round(f1, 4)}  # fmt: skip
    return result


def _flag(record: dict[Any, Any], label: str, path: Path, number: int) -> bool:
    value = str(record.get(label, "")).strip()
    if value not in {"0", "1"}:
        raise _Problem(f"{path}: row {number}: {label} must be 0 or 1, not {value!r}")
    return value == "1"


def _prf(truth: Sequence[bool], guess: Sequence[bool]) -> tuple[float | None, ...]:
    hits = sum(t and g for t, g in zip(truth, guess, strict=True))
    precision, recall = _ratio(hits, sum(guess)), _ratio(hits, sum(truth))
    if precision is None or recall is None or precision + recall == 0:
        return precision, recall, None if precision is None or recall is None else 0.0
    return precision, recall, 2 * precision * recall / (precision + recall)


def _read_rows(path: Path, first: str, second: str) -> list[tuple[str, str]]:
    """The (first, second) column pairs of a CSV, a JSON list of objects or JSON lines."""
    records = _read_records(path)
    pairs = []
    for number, record in enumerate(records, start=1):
        for column in (first, second):
            if record.get(column) is None:
                columns = ", ".join(str(c) for c in record) or "none"
                raise _Problem(f"{path}: row {number} has no column {column!r} ({columns})")
        pairs.append((str(record[first]), str(record[second])))
    return pairs


def _read_records(path: Path) -> list[dict[Any, Any]]:
    """The rows of a CSV, a JSON list of objects or JSON lines, as dicts."""
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
    return records


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
