"""Bad settings from every source are one line naming the setting (issue 10)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from config.errors import ConfigError
from config.settings import load_settings


def _refused(message: str, **kwargs: object) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(**kwargs)  # type: ignore[arg-type]
    text = str(caught.value)
    assert "\n" not in text
    assert message in text, text
    return text


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("FRONTDESK_PROVIDERS__MODELS", "not json", "FRONTDESK_PROVIDERS__MODELS: not valid JSON"),
        ("FRONTDESK_DESK__SLA_MINUTES", "garbage", "FRONTDESK_DESK__SLA_MINUTES: not valid JSON"),
        ("FRONTDESK_SLACK__SUPPORT_CHANNELS", "[1,2", "FRONTDESK_SLACK__SUPPORT_CHANNELS: "),
        ("FRONTDESK_DESK", "{oops", "FRONTDESK_DESK: not valid JSON"),
        ("FRONTDESK_OBSERVABILITY__HEARTBEAT_SECONDS", "inf",
         "FRONTDESK_OBSERVABILITY__HEARTBEAT_SECONDS: "),
        ("FRONTDESK_STORE__LOCK_TTL_SECONDS", "nan", "FRONTDESK_STORE__LOCK_TTL_SECONDS: "),
        ("FRONTDESK_STORE__REDIS_URL", "redis://localhost:99999/0",
         "FRONTDESK_STORE__REDIS_URL: port 99999"),
        ("FRONTDESK_STORE__REDIS_URL", "redis:///0", "FRONTDESK_STORE__REDIS_URL: no host"),
        ("FRONTDESK_PROVIDERS__OPENAI_API_KEY", "", "FRONTDESK_PROVIDERS__OPENAI_API_KEY: empty"),
        ("FRONTDESK_PROVIDERS__ANTHROPIC_API_KEY", " ",
         "FRONTDESK_PROVIDERS__ANTHROPIC_API_KEY: empty"),
        ("FRONTDESK_STORE__DATA_DIR", "", "FRONTDESK_STORE__DATA_DIR: empty"),
        ("FRONTDESK_KNOWLEDGE__DIR", " ", "FRONTDESK_KNOWLEDGE__DIR: empty"),
        ("FRONTDESK_CLASSIFIER__PLAYBOOK", "", "FRONTDESK_CLASSIFIER__PLAYBOOK: empty"),
        ("FRONTDESK_OBSERVABILITY__LOG_FILE", "", "FRONTDESK_OBSERVABILITY__LOG_FILE: empty"),
        ("FRONTDESK_DISPATCH__FALLBACK_TEXT", "", "FRONTDESK_DISPATCH__FALLBACK_TEXT: empty"),
        ("FRONTDESK_DISPATCH__FALLBACK_TEXT", "   ", "FRONTDESK_DISPATCH__FALLBACK_TEXT: empty"),
        ("FRONTDESK_PROVIDERS__COMPANY_NAME", "", "FRONTDESK_PROVIDERS__COMPANY_NAME: empty"),
        ("FRONTDESK_DIGEST__TIME", "25:00", "FRONTDESK_DIGEST__TIME: 25:00 is not a time"),
        ("FRONTDESK_DIGEST__TIME", "noon", "FRONTDESK_DIGEST__TIME: "),
    ],
)  # fmt: skip
def test_bad_environment_values(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    _refused(message, env_file=None)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("FRONTDESK_PROVIDERS__MODELS=not json", "FRONTDESK_PROVIDERS__MODELS: not valid JSON"),
        ("FRONTDESK_DESK__SLA_MINUTES=garbage", "FRONTDESK_DESK__SLA_MINUTES: not valid JSON"),
        ("FRONTDESK_SLACK__SUPPORT_CHANNELS='[1,2'", "FRONTDESK_SLACK__SUPPORT_CHANNELS: "),
        ("FRONTDESK_BOGUS=1", "FRONTDESK_BOGUS: unknown setting"),
        ("FRONTDESK_DISPATCH__FALLBACK_TEXT=", "FRONTDESK_DISPATCH__FALLBACK_TEXT: empty"),
    ],
)
def test_bad_env_file_values(tmp_path: Path, line: str, message: str) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f"OTHER_APP_VAR=1\n{line}\n")
    text = _refused(message, env_file=env_file)
    assert "FRONTDESK_FRONTDESK" not in text


def test_env_file_shared_with_other_tools(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("OTHER_APP_VAR=1\nexport PATHLIKE=/x\nFRONTDESK_STORE__HISTORY_LIMIT=7\n")
    assert load_settings(env_file=env_file).store.history_limit == 7


def test_env_file_not_utf8(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_bytes(
        b"FRONTDESK_STORE__HISTORY_LIMIT=7\nFRONTDESK_TERMINAL__CUSTOMER_NAME=\xff\n"
    )
    text = _refused("FRONTDESK_TERMINAL__CUSTOMER_NAME", env_file=env_file)
    assert "line 2" in text and "UTF-8" in text


def test_missing_explicit_env_file(tmp_path: Path) -> None:
    _refused("--env-file: ", env_file=tmp_path / "nope.env", require_env_file=True)
    # The default ./.env may be absent.
    load_settings(env_file=tmp_path / "nope.env")


def test_yaml_file_not_utf8(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_bytes(b"terminal:\n  customer_name: \xff\n")
    text = _refused("FRONTDESK_CONFIG_FILE: ", yaml_file=config, env_file=None)
    assert "UTF-8" in text and "line 2" in text


@pytest.mark.parametrize(
    ("written", "expected"),
    [("10:30", dt.time(10, 30)), ("'07:05'", dt.time(7, 5)), ("23:59", dt.time(23, 59))],
)
def test_yaml_times_are_read_as_text(tmp_path: Path, written: str, expected: dt.time) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"digest:\n  time: {written}\n")
    assert load_settings(yaml_file=config, env_file=None).digest.time == expected


@pytest.mark.parametrize("written", ["25:00", "9", "10:61", "1:2:3:4"])
def test_yaml_bad_times_are_refused(tmp_path: Path, written: str) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"digest:\n  time: {written}\n")
    _refused("FRONTDESK_DIGEST__TIME: ", yaml_file=config, env_file=None)


def test_yaml_list_values(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("desk:\n  sla_minutes: garbage\n")
    _refused("FRONTDESK_DESK__SLA_MINUTES: ", yaml_file=config, env_file=None)
