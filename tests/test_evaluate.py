"""``frontdesk eval``: the intent and knowledge-base evaluations, driven through their parser."""

from __future__ import annotations

import argparse
import csv
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.evaluate import Outcome, add_eval_parser, run_eval, score_intents
from config.settings import PACKAGED_KNOWLEDGE_DIR, load_settings

FIXTURES = Path(__file__).parent / "fixtures"
TRAIN = FIXTURES / "intents" / "train.csv"
TEST = FIXTURES / "intents" / "test.csv"
QUESTIONS = FIXTURES / "kb" / "questions.csv"
INTENT_KEYS = {
    "accuracy",
    "macro_f1",
    "in_scope_accuracy",
    "oos_recall",
    "oos_precision",
    "train_seconds",
    "messages_per_second",
    "threshold",
    "threshold_source",
    "calibrated_threshold",
    "calibration_ece",
    "calibration_held_out",
    "calibration_seconds",
}


def evaluate(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    parser = argparse.ArgumentParser(prog="frontdesk")
    add_eval_parser(parser.add_subparsers(dest="command", required=True))
    code = run_eval(parser.parse_args(["eval", *argv]), load_settings(env_file=None))
    captured = capsys.readouterr()
    # Log records (if an earlier test configured logging) are not the command's own output.
    errors = [line for line in captured.err.splitlines() if line.startswith("frontdesk: ")]
    return code, captured.out.splitlines(), "\n".join(errors)


def figures(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code, lines, err = evaluate(capsys, *argv)
    assert (code, err) == (0, ""), err
    assert len(lines) > 1, "readable lines come before the JSON line"
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def test_scores_of_a_hand_made_list() -> None:
    outcomes = [
        Outcome("a", "a"),  # right
        Outcome("a", "b"),  # wrong label
        Outcome("a", "a", rejected=True),  # in scope but rejected: wrong
        Outcome("b", "b"),  # right
        Outcome("oos", "a", rejected=True),  # caught
        Outcome("oos", "b"),  # missed
    ]
    scores = score_intents(outcomes, "oos")
    assert scores.accuracy == pytest.approx(3 / 6)
    assert scores.in_scope_accuracy == pytest.approx(2 / 4)
    assert scores.oos_recall == pytest.approx(1 / 2)
    assert scores.oos_precision == pytest.approx(1 / 2)  # rejected: one oos, one in-scope
    # Effective predictions a, b, oos, b, oos, b. F1 a: P 1/1, R 1/3 -> 1/2;
    # b: P 1/3, R 1/1 -> 1/2; oos: P 1/2, R 1/2 -> 1/2.
    assert scores.macro_f1 == pytest.approx(0.5)

    plain = score_intents(outcomes, None)  # no oos label: rejection is ignored
    assert plain.accuracy == pytest.approx(3 / 6)  # rows 1, 3 and 4
    assert plain.in_scope_accuracy == plain.accuracy
    assert plain.oos_recall is None and plain.oos_precision is None
    # Labels a, b, oos. a: P 2/3, R 2/3 -> 2/3; b: P 1/3, R 1/1 -> 1/2; oos: 0.
    assert plain.macro_f1 == pytest.approx((2 / 3 + 1 / 2 + 0) / 3)


def test_nothing_rejected_means_no_oos_precision() -> None:
    scores = score_intents([Outcome("a", "a"), Outcome("oos", "a")], "oos")
    assert scores.oos_recall == 0.0
    assert scores.oos_precision is None
    assert scores.accuracy == 0.5
    assert scores.in_scope_accuracy == 1.0


def test_intents_with_the_default_threshold(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, err = evaluate(capsys, "intents", "--train", str(TRAIN), "--test", str(TEST),
                                "--oos-label", "oos")  # fmt: skip
    assert (code, err) == (0, "")
    result = json.loads(lines[-1])
    assert set(result) == INTENT_KEYS
    # The default is chosen on held-out training examples (5-fold cross-validation of the 32):
    # the highest threshold that keeps held-out in-scope accuracy within 1 point. Four well
    # separated intents keep every held-out top probability above 0.42, so the cut lands
    # there, far above the setting's 0.3, which rejected none of the four oos test rows.
    assert result["threshold_source"] == "held-out"
    assert result["threshold"] == result["calibrated_threshold"] == 0.42
    assert result["calibration_held_out"] == 32
    assert 0.0 <= result["calibration_ece"] <= 1.0
    expected = "held-out calibration    threshold 0.42 (5-fold cross-validation of 32"
    assert any(line.startswith(expected) for line in lines)
    assert result["in_scope_accuracy"] == 1.0  # no in-scope test row is lost
    assert result["oos_recall"] == 0.5
    assert result["oos_precision"] == 1.0
    assert result["accuracy"] == 0.9
    assert result["train_seconds"] > 0 and result["calibration_seconds"] > 0
    assert result["messages_per_second"] > 0


def test_the_configured_threshold_alone_rejects_no_oos_row(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = figures(capsys, "intents", "--train", str(TRAIN), "--test", str(TEST),
                     "--oos-label", "oos", "--threshold", "0.3")  # fmt: skip
    # With four classes the top probability stays above 0.3, so no oos row is rejected and the
    # four oos rows are wrong: what the held-out threshold above fixes.
    assert result["threshold_source"] == "--threshold" and result["threshold"] == 0.3
    assert result["calibrated_threshold"] == 0.42  # still reported
    assert result["in_scope_accuracy"] == 1.0
    assert result["accuracy"] == 0.8
    assert result["oos_recall"] == 0.0
    assert result["oos_precision"] is None
    # track_order takes the 4 oos rows: F1 2/3; three perfect labels; oos F1 0 -> 3.667 / 5.
    assert result["macro_f1"] == 0.7333


def test_intents_with_a_higher_threshold(capsys: pytest.CaptureFixture[str]) -> None:
    result = figures(capsys, "intents", "--train", str(TRAIN), "--test", str(TEST),
                     "--oos-label", "oos", "--threshold", "0.5")  # fmt: skip
    # Three of the four oos rows get a top probability near 0.4, every in-scope row above 0.6.
    assert result["in_scope_accuracy"] == 1.0
    assert result["oos_recall"] == 0.75
    assert result["oos_precision"] == 1.0
    assert result["accuracy"] == 0.95
    assert result["macro_f1"] == 0.9492  # (8/9 + 1 + 1 + 1 + 6/7) / 5


def test_threshold_one_rejects_everything(capsys: pytest.CaptureFixture[str]) -> None:
    result = figures(capsys, "intents", "--train", str(TRAIN), "--test", str(TEST),
                     "--oos-label", "oos", "--threshold", "1")  # fmt: skip
    assert result["accuracy"] == 0.2  # only the 4 oos rows of 20
    assert result["in_scope_accuracy"] == 0.0
    assert result["oos_recall"] == 1.0
    assert result["oos_precision"] == 0.2
    assert result["macro_f1"] == 0.0667  # oos: P 4/20, R 1 -> F1 1/3; the others 0; / 5


def test_intents_without_an_oos_label(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _ = evaluate(capsys, "intents", "--train", str(TRAIN), "--test", str(TEST))
    result = json.loads(lines[-1])
    assert code == 0
    assert set(result) == INTENT_KEYS
    assert result["accuracy"] == 0.8  # the 16 in-scope rows; "oos" is just an unknown label
    assert result["in_scope_accuracy"] == result["accuracy"]
    assert result["oos_recall"] is None and result["oos_precision"] is None
    assert not any("out-of-scope" in line for line in lines)


def test_oos_training_rows_are_not_a_class(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    train = tmp_path / "train.csv"
    extra = ["tell me a joke", "what is the capital of peru", "sing me a song"]
    train.write_text(TRAIN.read_text() + "".join(f"{t},oos\n" for t in extra))
    # Threshold 0: only a top label of OUT_OF_SCOPE could reject, and "oos" is not a class.
    code, lines, _ = evaluate(capsys, "intents", "--train", str(train), "--test", str(TEST),
                              "--oos-label", "oos", "--threshold", "0")  # fmt: skip
    assert code == 0
    assert lines[0].startswith("trained on 32 examples, 4 labels")
    assert json.loads(lines[-1])["oos_recall"] == 0.0  # "oos" was never predicted
    # The three oos training rows are the calibration's out-of-scope examples instead.
    assert any("32 in-scope, 3 out-of-scope examples" in line for line in lines)


def test_json_and_json_lines_read_like_csv(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with TEST.open(newline="", encoding="utf-8") as handle:
        rows = [{"utterance": r["text"], "intent": r["label"]} for r in csv.DictReader(handle)]
    as_list, as_lines = tmp_path / "test.json", tmp_path / "test.jsonl"
    as_list.write_text(json.dumps(rows))
    as_lines.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    train = tmp_path / "train.json"
    with TRAIN.open(newline="", encoding="utf-8") as handle:
        train.write_text(json.dumps([{"utterance": r["text"], "intent": r["label"]}
                                     for r in csv.DictReader(handle)]))  # fmt: skip
    for test in (as_list, as_lines):
        result = figures(capsys, "intents", "--train", str(train), "--test", str(test),
                         "--text-col", "utterance", "--label-col", "intent",
                         "--oos-label", "oos", "--threshold", "0.5")  # fmt: skip
        assert (result["accuracy"], result["oos_recall"]) == (0.95, 0.75)


def _playbook_from_fixture(path: Path) -> None:
    examples: dict[str, list[str]] = defaultdict(list)
    with TRAIN.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            examples[row["label"]].append(row["text"])
    document = {
        "intents": [{"name": n, "category": "general", "examples": e} for n, e in examples.items()],
        "out_of_scope": [
            "tell me a joke",
            "what is the capital of peru",
            "can you help with my maths homework",
            "recommend a film for tonight",
            "how tall is mount everest",
            "sing me a song",
        ],
    }
    path.write_text(yaml.safe_dump(document))


def test_the_playbooks_out_of_scope_label_is_a_rejection(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    playbook = tmp_path / "playbook.yaml"
    _playbook_from_fixture(playbook)
    monkeypatch.setenv("FRONTDESK_CLASSIFIER__PLAYBOOK", str(playbook))
    # Threshold 0: only a top label of OUT_OF_SCOPE can reject. Three oos rows get it.
    code, lines, _ = evaluate(capsys, "intents", "--test", str(TEST), "--oos-label", "oos",
                              "--threshold", "0")  # fmt: skip
    assert code == 0
    assert lines[0].startswith("trained on 38 examples, 5 labels")  # 32 + 6 out of scope
    result = json.loads(lines[-1])
    assert result["oos_recall"] == 0.75
    assert result["oos_precision"] == 1.0
    assert result["in_scope_accuracy"] == 1.0
    assert result["accuracy"] == 0.95


def test_the_packaged_playbook_is_the_default_training_set(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = figures(capsys, "intents", "--test", str(TEST), "--oos-label", "oos")
    assert set(result) == INTENT_KEYS
    for key in ("accuracy", "macro_f1", "in_scope_accuracy", "oos_recall", "oos_precision"):
        assert 0.0 <= result[key] <= 1.0


def test_kb_hit_rates_on_the_sample_knowledge_base(capsys: pytest.CaptureFixture[str]) -> None:
    result = figures(capsys, "kb", "--kb", str(PACKAGED_KNOWLEDGE_DIR), "--test", str(QUESTIONS))
    assert set(result) == {"top1", "top5", "p99_ms"}
    assert 0.0 <= result["top1"] <= result["top5"] <= 1.0
    assert (result["top1"], result["top5"]) == (0.7714, 0.9714)  # 54 and 68 of 70
    assert result["p99_ms"] > 0


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["intents", "--test", "missing.csv"], "cannot read missing.csv"),
        (["intents", "--train", "missing.csv", "--test", str(TEST)], "cannot read missing.csv"),
        (["intents", "--test", str(QUESTIONS)], "no column 'text'"),
        (["kb", "--test", str(TEST)], "no column 'question'"),
        (["kb", "--kb", "no-such-dir", "--test", str(QUESTIONS)], "does not exist"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], problem: str
) -> None:
    code, lines, err = evaluate(capsys, *argv)
    assert code == 2
    assert lines == []
    assert len(err.splitlines()) == 1
    assert err.startswith("frontdesk: ") and problem in err


def test_bad_json_and_single_label_training(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": "hi", "label": "a"}\n{"text": \n')
    code, _, err = evaluate(capsys, "intents", "--test", str(broken))
    assert code == 2 and "line 2" in err and len(err.splitlines()) == 1
    one = tmp_path / "one.csv"
    one.write_text("text,label\nhello,a\nhi,a\n")
    code, _, err = evaluate(capsys, "intents", "--train", str(one), "--test", str(TEST))
    assert code == 2 and err.startswith("frontdesk: cannot train on")


def test_threshold_must_be_a_probability(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        evaluate(capsys, "intents", "--test", str(TEST), "--threshold", "1.5")
    assert exit_info.value.code == 2


def test_kb_flag_is_blamed_not_the_setting(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = evaluate(capsys, "kb", "--kb", "no-such-dir", "--test", str(QUESTIONS))
    assert code == 2
    assert err.startswith("frontdesk: --kb: no-such-dir") and "FRONTDESK_" not in err


DEV = FIXTURES / "escalation" / "dev.csv"
HOLDOUT = FIXTURES / "escalation" / "holdout.csv"
HOLDOUT2 = FIXTURES / "escalation" / "holdout2.csv"
HOLDOUT4 = FIXTURES / "escalation" / "holdout4.csv"
SIGNALS = ("escalate", "human_request", "angry", "urgent")


def test_escalation_figures_per_signal_on_the_dev_set(capsys: pytest.CaptureFixture[str]) -> None:
    result = figures(capsys, "escalation", "--test", str(DEV))
    assert set(result) == {f"{s}_{m}" for s in SIGNALS for m in ("precision", "recall", "f1")}
    # The targets on real customer text (docs/PERFORMANCE.md has the figures).
    assert result["escalate_recall"] >= 0.6 and result["escalate_precision"] >= 0.7, result
    assert result["angry_recall"] >= 0.6, result


def test_escalation_on_text_never_tuned_on(capsys: pytest.CaptureFixture[str]) -> None:
    """Written after the cues were tuned on the dev set; one round of general fixes followed a
    first look at it (docs/PERFORMANCE.md has both figures)."""
    result = figures(capsys, "escalation", "--test", str(HOLDOUT))
    assert result["escalate_precision"] >= 0.7, result


def test_escalation_on_the_second_hold_out(capsys: pytest.CaptureFixture[str]) -> None:
    """Written before the second round of cues and never tuned on (docs/PERFORMANCE.md has
    the figures before and after): the issue's escalation target holds on it."""
    result = figures(capsys, "escalation", "--test", str(HOLDOUT2))
    assert result["escalate_recall"] >= 0.6 and result["escalate_precision"] >= 0.7, result


def test_escalation_on_a_blind_hold_out(capsys: pytest.CaptureFixture[str]) -> None:
    """366 tweets to brands written and labelled by someone who had not read the cues (nor
    seen any fixture), scored once per change and never tuned on: the escalation target holds
    (0.833 / 0.735 on first scoring)."""
    result = figures(capsys, "escalation", "--test", str(HOLDOUT4))
    assert result["escalate_recall"] >= 0.6 and result["escalate_precision"] >= 0.7, result


def test_escalation_needs_0_or_1_labels(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("text,angry\nyou are useless,yes\n", encoding="utf-8")
    code, _, err = evaluate(capsys, "escalation", "--test", str(bad))
    assert code == 2 and "row 1: angry must be 0 or 1" in err
    only_text = tmp_path / "text.csv"
    only_text.write_text("text\nhello\n", encoding="utf-8")
    code, _, err = evaluate(capsys, "escalation", "--test", str(only_text))
    assert code == 2 and "any of escalate" in err
