"""The out-of-scope threshold chosen on held-out data (brain/calibration.py), and the intent
model's use of it."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from brain.calibration import CV_LIMIT, FOLDS, MAX_IN_SCOPE_LOSS, choose, folds
from brain.classify import IntentModel
from brain.playbook import OUT_OF_SCOPE

TRAIN = Path(__file__).parent / "fixtures" / "intents" / "train.csv"


def test_without_oos_examples_the_cut_loses_at_most_one_point() -> None:
    # 100 held-out in-scope examples, all right: one at 0.50, the others 0.51 ... 0.99.
    truths = ["a"] * 100
    guesses = [("a", 0.50)] + [("a", 0.51 + (i % 49) / 100) for i in range(99)]
    chosen = choose(truths, guesses, "oos", "test")
    # t = 0.51 rejects the one example at 0.50 (1 point); t = 0.52 would reject four.
    assert chosen.threshold == 0.51
    assert chosen.accuracy == 1.0 and chosen.accuracy_at_threshold == 0.99
    assert chosen.accuracy - chosen.accuracy_at_threshold <= MAX_IN_SCOPE_LOSS + 1e-9
    assert chosen.oos_recall is None and chosen.out_of_scope == 0


def test_wrong_answers_are_free_to_reject() -> None:
    # Wrong guesses with low confidence cost no accuracy when rejected: the cut rises past them.
    truths = ["a"] * 10 + ["b"] * 10
    guesses = [("a", 0.9)] * 10 + [("a", 0.35)] * 10  # every "b" wrong, at 0.35
    chosen = choose(truths, guesses, "oos", "test")
    assert chosen.accuracy == 0.5
    assert chosen.threshold == 0.9  # everything below 0.9 may go: nothing right lives there


def test_with_oos_examples_the_lowest_cut_of_the_best_recall_wins() -> None:
    truths = ["a"] * 50 + ["oos"] * 4
    guesses = [("a", 0.8)] * 50 + [("a", 0.2), ("a", 0.3), ("a", 0.75), (OUT_OF_SCOPE, 0.9)]
    chosen = choose(truths, guesses, "oos", "test")
    # Any cut up to 0.80 loses nothing; recall 3/4 is reached at 0.76 (0.2, 0.3, 0.75 rejected;
    # the one named out of scope counts whatever its confidence), and no lower cut reaches it.
    assert chosen.threshold == 0.76
    assert chosen.oos_recall == 0.75
    assert chosen.accuracy_at_threshold == 1.0


def test_oos_examples_named_by_the_model_count_as_caught() -> None:
    truths = ["a"] * 10 + ["oos"] * 2
    guesses = [("a", 0.6)] * 10 + [("oos", 0.95), ("oos", 0.99)]
    chosen = choose(truths, guesses, "oos", "test")
    assert chosen.oos_recall == 1.0
    assert chosen.threshold == 0.0  # recall is full without any cut: reject nothing extra


def test_folds_are_stratified_and_hold_every_example_once() -> None:
    labels = ["a"] * 12 + ["b"] * 7 + ["c"] * 1
    parts = folds(labels)
    assert len(parts) == FOLDS
    held = [i for part in parts for i in part]
    assert sorted(held) == list(range(19))  # the lone "c" is never held out
    for part in parts:
        counts = Counter(labels[i] for i in part)
        assert counts["a"] in {2, 3} and counts["b"] in {1, 2}


def test_large_training_sets_use_one_hold_out() -> None:
    labels = [f"intent{i % 30}" for i in range(CV_LIMIT + 30)]
    parts = folds(labels)
    assert len(parts) == 1
    assert len(parts[0]) == pytest.approx(len(labels) / FOLDS, abs=30)


def _fixture() -> tuple[list[str], list[str]]:
    with TRAIN.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [r["text"] for r in rows], [r["label"] for r in rows]


def test_the_model_calibrates_on_examples_it_did_not_see() -> None:
    texts, labels = _fixture()
    jokes = ["tell me a joke", "what is the capital of peru", "sing me a song"]
    model = IntentModel().fit(texts, labels)
    calibration = model.calibrate(texts, labels, jokes)
    assert calibration.method == "5-fold cross-validation"
    assert (calibration.held_out, calibration.out_of_scope) == (32, 3)
    assert 0.0 < calibration.threshold < 1.0
    assert calibration.accuracy - calibration.accuracy_at_threshold <= MAX_IN_SCOPE_LOSS + 1e-9
    # The held-out score is not the training score: on its own examples the model is perfect.
    assert all(model.predict_one(t)[0] == y for t, y in zip(texts, labels, strict=True))
    assert calibration.accuracy < 1.0
    assert calibration.oos_recall is not None and calibration.oos_recall > 0
    assert "threshold" in calibration.describe()


def test_too_few_examples_to_hold_out_is_an_error() -> None:
    model = IntentModel().fit(["hello", "bye"], ["a", "b"])
    with pytest.raises(ValueError, match="too few examples"):
        model.calibrate(["hello", "bye"], ["a", "b"])
