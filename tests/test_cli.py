"""The ``frontdesk`` command as a user runs it: in a subprocess, from an empty directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

FRONTDESK = str(Path(sys.executable).parent / "frontdesk")


def run(
    *args: str, stdin: str = "", env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("FRONTDESK_")}
    return subprocess.run(
        [FRONTDESK, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        cwd=cwd,
        timeout=60,
        check=False,
    )


def test_piped_question_is_answered_from_the_sample_kb(tmp_path: Path) -> None:
    result = run("run", stdin="How do I return an item?\n", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "30 days" in result.stdout
    # Log lines stay off the chat: they are in the log file.
    assert "channel terminal started" in (tmp_path / ".frontdesk" / "frontdesk.log").read_text()
    assert (tmp_path / ".frontdesk" / "frontdesk.db").is_file()


def test_several_piped_lines_get_answers_in_order(tmp_path: Path) -> None:
    result = run(
        "run", stdin="How do I reset my password?\n\nWhich payment methods do you accept?\n",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    replies = [line for line in result.stdout.splitlines() if line.startswith("frontdesk> ")]
    assert len(replies) == 2
    assert "password" in replies[0].lower()
    assert "pay" in replies[1].lower() or "card" in replies[1].lower()


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"FRONTDESK_SLACK__ENABLED": "true"}, "FRONTDESK_SLACK__BOT_TOKEN"),
        (
            {"FRONTDESK_KNOWLEDGE__ANSWER_THRESHOLD": "-0.5"},
            "FRONTDESK_KNOWLEDGE__ANSWER_THRESHOLD",
        ),
        ({"FRONTDESK_DIGEST__TIMEZONE": "Mars/Olympus"}, "FRONTDESK_DIGEST__TIMEZONE"),
        ({"FRONTDESK_STORE__HISTORY_LIMIT": "lots"}, "FRONTDESK_STORE__HISTORY_LIMIT"),
        ({"FRONTDESK_SLACK__BOT_TOKN": "xoxb-1"}, "FRONTDESK_SLACK__BOT_TOKN"),
    ],
)
@pytest.mark.parametrize("command", ["run", "check"])
def test_bad_setting_is_one_line_and_exit_2(
    tmp_path: Path, env: dict[str, str], named: str, command: str
) -> None:
    result = run(command, env=env, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert named in lines[0]
    assert "Traceback" not in result.stderr


def test_bad_env_file_value_is_reported(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("FRONTDESK_DISPATCH__MAX_CONCURRENCY=0\n")
    result = run("check", cwd=tmp_path)
    assert result.returncode == 2
    assert "FRONTDESK_DISPATCH__MAX_CONCURRENCY" in result.stderr


def test_unreachable_redis_is_one_line_exit_1(tmp_path: Path) -> None:
    from tests.servers import free_port

    url = f"redis://127.0.0.1:{free_port()}/0"
    result = run("run", env={"FRONTDESK_STORE__REDIS_URL": url}, cwd=tmp_path)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("frontdesk: ")]
    assert len(errors) == 1, result.stderr
    assert "cannot reach Redis" in errors[0] and "Traceback" not in result.stderr


def test_check_reports_what_is_enabled_and_why(tmp_path: Path) -> None:
    result = run("check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = {" ".join(line.split()[:3]): line for line in result.stdout.splitlines()[1:]}
    assert "store sqlite on" in lines
    assert "channel terminal on" in lines
    assert lines["channel slack off"].endswith("off  FRONTDESK_SLACK__ENABLED is not true")


def test_secrets_are_never_printed(tmp_path: Path) -> None:
    env = {"FRONTDESK_PROVIDERS__OPENAI_API_KEY": "sk-very-secret-value"}
    result = run("check", env=env, cwd=tmp_path)
    assert result.returncode == 0
    assert "sk-very-secret-value" not in result.stdout + result.stderr


def test_yaml_file_sets_values_and_env_wins(tmp_path: Path) -> None:
    config = tmp_path / "frontdesk.yaml"
    config.write_text("store:\n  data_dir: from-yaml\nterminal:\n  customer_name: yaml\n")
    env = {"FRONTDESK_STORE__DATA_DIR": "from-env"}
    result = run("--config", str(config), "check", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "from-env" in result.stdout


def test_yaml_file_must_not_hold_secrets(tmp_path: Path) -> None:
    config = tmp_path / "frontdesk.yaml"
    config.write_text("slack:\n  bot_token: xoxb-oops\n")
    result = run("--config", str(config), "check", cwd=tmp_path)
    assert result.returncode == 2
    assert "FRONTDESK_SLACK__BOT_TOKEN" in result.stderr and "xoxb-oops" not in result.stderr


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0 and result.stdout.startswith("frontdesk 0.")


def test_health_without_a_running_bot_fails(tmp_path: Path) -> None:
    result = run("health", cwd=tmp_path)
    assert result.returncode == 1 and "no heartbeat" in result.stderr
