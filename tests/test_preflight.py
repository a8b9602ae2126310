"""``preflight``: what `run` would refuse, found without connecting (issue 10)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.preflight import preflight
from config.errors import ConfigError
from config.settings import load_settings

OWN_ENTRY = "---\nid: opening-hours\nquestions: ['When are you open?']\n---\nNine to five.\n"


def _refused(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], *needles: str) -> str:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = load_settings(env_file=None)
    with pytest.raises(ConfigError) as caught:
        preflight(settings)
    text = str(caught.value)
    assert "\n" not in text
    for needle in needles:
        assert needle in text, text
    return text


def test_defaults_pass() -> None:
    checked = preflight(load_settings(env_file=None))
    assert checked.knowledge.get("return-an-item") is not None
    assert checked.playbook.get("talk_to_human") is not None


def test_missing_knowledge_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env = {"FRONTDESK_KNOWLEDGE__DIR": str(tmp_path / "nope")}
    _refused(monkeypatch, env, "FRONTDESK_KNOWLEDGE__DIR: ", "nope")


def test_missing_playbook(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env = {"FRONTDESK_CLASSIFIER__PLAYBOOK": str(tmp_path / "nope.yaml")}
    _refused(monkeypatch, env, "FRONTDESK_CLASSIFIER__PLAYBOOK: ", "nope.yaml")


def test_own_kb_with_the_sample_playbook(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "hours.md").write_text(OWN_ENTRY)
    env = {"FRONTDESK_KNOWLEDGE__DIR": str(tmp_path)}
    _refused(monkeypatch, env, "FRONTDESK_CLASSIFIER__PLAYBOOK", "sample", "frontdesk init")


def test_unknown_languages(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"FRONTDESK_CLASSIFIER__LANGUAGES": "xx,yy"}
    _refused(monkeypatch, env, "FRONTDESK_CLASSIFIER__LANGUAGES: ", "xx")


def test_data_dir_that_is_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "state").write_text("not a directory")
    env = {"FRONTDESK_STORE__DATA_DIR": str(tmp_path / "state")}
    _refused(monkeypatch, env, "FRONTDESK_STORE__DATA_DIR: ", "not a directory")


def test_openai_model_without_a_key_is_caught_by_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDESK_PROVIDERS__OPENAI_API_KEY", "")
    with pytest.raises(ConfigError, match="FRONTDESK_PROVIDERS__OPENAI_API_KEY: empty"):
        load_settings(env_file=None)


def test_llm_clients_are_built(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDESK_PROVIDERS__OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("FRONTDESK_PROVIDERS__ANTHROPIC_API_KEY", "sk-ant-test")
    checked = preflight(load_settings(env_file=None))
    assert checked.clients == ("openai:gpt-4o-mini", "openai:gpt-4o", "anthropic:claude-haiku-4-5",
                               "anthropic:claude-sonnet-4-5")  # fmt: skip
