"""Calibration of the intent model on held-out data, and the out-of-scope threshold it implies.

The training examples are split: up to ``CV_LIMIT`` examples, ``FOLDS``-fold cross-validation
(each example is scored by a model that never saw it); above that, one stratified hold-out of
``1 / FOLDS`` (training five models on 15,000 examples would cost five trainings, one
hold-out costs one more). Out-of-scope examples (the playbook's ``out_of_scope`` list, which
the model also learns as a class, or examples kept out of training, such as the rows of
``frontdesk eval intents --train`` that carry ``--oos-label``) count as the negatives.

**The rule.** ``accuracy(t)`` is the share of held-out in-scope examples whose best intent is
right and whose confidence is at least ``t``. The threshold is the highest ``t`` (in steps of
0.01) whose ``accuracy(t)`` is at most ``MAX_IN_SCOPE_LOSS`` (1 point) below ``accuracy(0)``;
when there are out-of-scope examples, it is the lowest ``t`` that reaches the same out-of-scope
recall as that highest one (the same catch, fewer false rejections). Without out-of-scope
examples it is thus the cut that rejects at most 1% of the in-scope messages the model would
have got right, a target false-reject rate. One point, not more: a wrongly rejected in-scope
question costs the customer a fallback or a wait for a person although the bot knew the
answer, which a support team notices before it notices an out-of-scope question answered
with the nearest intent (its answer still passes the answer checks downstream). With 2 points
on CLINC150, the held-out choice was 0.39-0.40: in-scope test accuracy 93.1-93.2%, out-of-scope
recall 85.9%; with 1 point, 0.32: 94.1% and 79.7% (docs/PERFORMANCE.md).

The calibration is reported, not applied: the expected calibration error (ECE, ten equal-width
bins of confidence) of the held-out predictions says how far "confidence 0.8" is from "right
80% of the time". The probabilities themselves are left as the model gives them, because the
playbook's replies carry the classifier's confidence into the answer thresholds downstream.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

FOLDS = 5
CV_LIMIT = 3000
MAX_IN_SCOPE_LOSS = 0.01
_GRID = np.round(np.arange(0.0, 1.0, 0.01), 2)
_BINS = 10


@dataclass(frozen=True, slots=True)
class Calibration:
    threshold: float
    method: str  # "5-fold cross-validation" or "20% hold-out"
    held_out: int  # in-scope examples scored
    out_of_scope: int  # out-of-scope examples scored
    accuracy: float  # held-out in-scope accuracy with no threshold
    accuracy_at_threshold: float
    oos_recall: float | None  # at the threshold; None without out-of-scope examples
    ece: float
    mean_confidence: float

    def describe(self) -> str:
        if self.oos_recall is None:
            return (f"threshold {self.threshold:.2f} ({self.method} of {self.held_out} "
                    f"examples); accuracy {self.accuracy:.4f} -> {self.accuracy_at_threshold:.4f}"
                    f"; ECE {self.ece:.4f}")  # fmt: skip
        return (f"threshold {self.threshold:.2f} ({self.method}: {self.held_out} in-scope, "
                f"{self.out_of_scope} out-of-scope examples); in-scope accuracy "
                f"{self.accuracy:.4f} -> {self.accuracy_at_threshold:.4f}, out-of-scope recall "
                f"{self.oos_recall:.4f}; ECE {self.ece:.4f}")  # fmt: skip


# Trains on (texts, labels) and returns, for other texts, the best label and its confidence.
Predictor = Callable[[Sequence[str]], list[tuple[str, float]]]
Trainer = Callable[[Sequence[str], Sequence[str]], Predictor]


def folds(labels: Sequence[str], seed: int = 13) -> list[list[int]]:
    """Held-out index sets, stratified by label: ``FOLDS`` folds up to ``CV_LIMIT`` examples,
    else one fold. A label with a single example is never held out (nothing would be left to
    learn it from)."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        by_label[label].append(index)
    rng = random.Random(seed)
    parts: list[list[int]] = [[] for _ in range(FOLDS)]
    offset = 0
    for label in sorted(by_label):
        members = by_label[label]
        if len(members) < 2:
            continue
        rng.shuffle(members)
        for position, index in enumerate(members):
            parts[(position + offset) % FOLDS].append(index)
        offset += len(members)  # spread small labels' held-out examples over the folds
    parts = [sorted(p) for p in parts if p]
    return parts if len(labels) <= CV_LIMIT else parts[:1]


def calibrate(
    train: Trainer,
    texts: Sequence[str],
    labels: Sequence[str],
    oos_label: str,
    oos_texts: Sequence[str] = (),
) -> Calibration:
    """Score every held-out example with a model trained without it, then apply the rule."""
    splits = folds(labels)
    if not splits:
        raise ValueError("too few examples per intent to hold any out")
    truths: list[str] = []
    guesses: list[tuple[str, float]] = []
    extra: list[tuple[str, float]] = []
    for number, held in enumerate(splits):
        keep = set(held)
        rest = [i for i in range(len(texts)) if i not in keep]
        predict = train([texts[i] for i in rest], [labels[i] for i in rest])
        guesses.extend(predict([texts[i] for i in held]))
        truths.extend(labels[i] for i in held)
        if number == 0 and oos_texts:
            extra = predict(list(oos_texts))
    truths.extend([oos_label] * len(extra))
    guesses.extend(extra)
    method = f"{FOLDS}-fold cross-validation" if len(splits) > 1 else f"{100 // FOLDS}% hold-out"
    return choose(truths, guesses, oos_label, method)


def choose(
    truths: Sequence[str], guesses: Sequence[tuple[str, float]], oos_label: str, method: str
) -> Calibration:
    """The threshold by the module's rule, from held-out truths and (label, confidence)."""
    inside = [i for i, t in enumerate(truths) if t != oos_label]
    outside = [i for i, t in enumerate(truths) if t == oos_label]
    if not inside:
        raise ValueError("no in-scope example was held out")
    confidence = np.array([p for _, p in guesses], dtype=float)
    right = np.array([guesses[i][0] == truths[i] for i in inside])
    kept = confidence[inside][None, :] >= _GRID[:, None]
    accuracy = (kept & right[None, :]).mean(axis=1)
    allowed = np.flatnonzero(accuracy >= accuracy[0] - MAX_IN_SCOPE_LOSS - 1e-12)
    best = int(allowed.max())
    recall: np.ndarray | None = None
    if outside:
        named = np.array([guesses[i][0] == oos_label for i in outside])
        recall = (named[None, :] | (confidence[outside][None, :] < _GRID[:, None])).mean(axis=1)
        best = int(next(i for i in allowed if recall[i] >= recall[best]))
    return Calibration(
        threshold=float(_GRID[best]),
        method=method,
        held_out=len(inside),
        out_of_scope=len(outside),
        accuracy=round(float(accuracy[0]), 4),
        accuracy_at_threshold=round(float(accuracy[best]), 4),
        oos_recall=None if recall is None else round(float(recall[best]), 4),
        ece=round(expected_calibration_error(confidence[inside], right), 4),
        mean_confidence=round(float(confidence[inside].mean()), 4),
    )


def expected_calibration_error(confidence: np.ndarray, right: np.ndarray) -> float:
    """Weighted mean gap between confidence and accuracy over ten equal-width bins."""
    bins = np.minimum((confidence * _BINS).astype(int), _BINS - 1)
    gap = 0.0
    for b in range(_BINS):
        members = bins == b
        if members.any():
            gap += members.mean() * abs(confidence[members].mean() - right[members].mean())
    return float(gap)
