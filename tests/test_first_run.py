"""A new user's first run, through the real ``frontdesk`` command (issue 10)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli import run

OWN_ENTRY = "---\nid: opening-hours\nquestions: ['When are you open?']\n---\nNine to five.\n"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"FRONTDESK_PROVIDERS__MODELS": "not json"}, "FRONTDESK_PROVIDERS__MODELS"),
        ({"FRONTDESK_DESK__SLA_MINUTES": "garbage"}, "FRONTDESK_DESK__SLA_MINUTES"),
        ({"FRONTDESK_SLACK__SUPPORT_CHANNELS": "[1,2"}, "FRONTDESK_SLACK__SUPPORT_CHANNELS"),
        ({"FRONTDESK_OBSERVABILITY__HEARTBEAT_SECONDS": "inf"},
         "FRONTDESK_OBSERVABILITY__HEARTBEAT_SECONDS"),
        ({"FRONTDESK_STORE__REDIS_URL": "redis://localhost:99999/0"}, "FRONTDESK_STORE__REDIS_URL"),
        ({"FRONTDESK_PROVIDERS__OPENAI_API_KEY": ""}, "FRONTDESK_PROVIDERS__OPENAI_API_KEY"),
        ({"FRONTDESK_STORE__DATA_DIR": ""}, "FRONTDESK_STORE__DATA_DIR"),
        ({"FRONTDESK_DISPATCH__FALLBACK_TEXT": ""}, "FRONTDESK_DISPATCH__FALLBACK_TEXT"),
        ({"FRONTDESK_KNOWLEDGE__DIR": "no-such-dir"}, "FRONTDESK_KNOWLEDGE__DIR"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("command", ["check", "run"])
def test_check_and_run_refuse_alike(
    tmp_path: Path, env: dict[str, str], named: str, command: str
) -> None:
    result = run(command, env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"FRONTDESK_CLASSIFIER__LANGUAGES": "xx,yy"}, "FRONTDESK_CLASSIFIER__LANGUAGES"),
        ({"FRONTDESK_CLASSIFIER__PLAYBOOK": "no-such.yaml"}, "FRONTDESK_CLASSIFIER__PLAYBOOK"),
    ],
)
@pytest.mark.parametrize("command", ["check", "run"])
def test_check_refuses_what_run_would(
    tmp_path: Path, env: dict[str, str], named: str, command: str
) -> None:
    # Found by bot/preflight.py, which `run` calls from bot/app.py.
    result = run(command, env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_env_file_shared_with_other_tools(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("OTHER_APP_VAR=1\nFRONTDESK_STORE__HISTORY_LIMIT=9\n")
    assert run("check", cwd=tmp_path).returncode == 0
    (tmp_path / ".env").write_text("OTHER_APP_VAR=1\nFRONTDESK_BOGUS=1\n")
    result = run("check", cwd=tmp_path)
    assert result.returncode == 2
    assert "FRONTDESK_BOGUS: unknown setting" in result.stderr
    assert "FRONTDESK_FRONTDESK" not in result.stderr and "OTHER_APP_VAR" not in result.stderr


def test_env_file_not_utf8_and_missing_env_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes(b"FRONTDESK_TERMINAL__CUSTOMER_NAME=Jos\xe9\n")
    result = run("check", cwd=tmp_path)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "FRONTDESK_TERMINAL__CUSTOMER_NAME" in result.stderr and "UTF-8" in result.stderr
    result = run("--env-file", "missing.env", "check", cwd=tmp_path)
    assert result.returncode == 2 and "--env-file: missing.env" in result.stderr


def test_own_kb_with_the_sample_playbook_is_explained(tmp_path: Path) -> None:
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "hours.md").write_text(OWN_ENTRY)
    result = run("check", env={"FRONTDESK_KNOWLEDGE__DIR": "kb"}, cwd=tmp_path)
    assert result.returncode == 2
    assert "FRONTDESK_CLASSIFIER__PLAYBOOK" in result.stderr
    assert "frontdesk init" in result.stderr


def test_init_then_check_then_run_answers_from_the_new_kb(tmp_path: Path) -> None:
    result = run("init", "mine", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    config = "mine/frontdesk.yaml"
    assert f"frontdesk --config {config} check" in result.stdout
    checked = run("--config", config, "check", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    answered = run("--config", config, "run", stdin="When are you open?\n", cwd=tmp_path)
    assert answered.returncode == 0, answered.stderr
    assert "Monday to Friday from 9:00 to 17:00" in answered.stdout
    # Nothing is overwritten.
    again = run("init", "mine", cwd=tmp_path)
    assert again.returncode == 1 and "already exists" in again.stderr


def test_terminal_keeps_log_lines_off_the_chat(tmp_path: Path) -> None:
    result = run("run", stdin="How do I return an item?\n", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert " INFO " not in result.stderr and " DEBUG " not in result.stderr, result.stderr
    log = (tmp_path / ".frontdesk" / "frontdesk.log").read_text()
    assert "loaded 33 knowledge entries" in log or "knowledge entries" in log
    assert "bm25s" not in log
    verbose = run("-v", "run", stdin="How do I return an item?\n", cwd=tmp_path)
    assert "knowledge entries" in verbose.stderr and "bm25s" not in verbose.stderr


def test_log_file_setting(tmp_path: Path) -> None:
    env = {"FRONTDESK_OBSERVABILITY__LOG_FILE": "logs/bot.log"}
    result = run("run", stdin="hello\n", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "knowledge entries" in (tmp_path / "logs" / "bot.log").read_text()
    assert not (tmp_path / ".frontdesk" / "frontdesk.log").exists()
