"""The platform registry: what a configuration turns on, what `check` says, and that a
platform package costs nothing until it is enabled."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.platforms import PLATFORMS, enabled_platforms, platform_module
from bot.wiring import build_adapters, describe
from config.errors import ConfigError
from config.settings import load_settings
from tests.test_cli import run


def test_the_terminal_is_on_only_when_nothing_else_is(monkeypatch: pytest.MonkeyPatch) -> None:
    assert enabled_platforms(load_settings(env_file=None)) == ["terminal"]
    monkeypatch.setenv("FRONTDESK_TERMINAL__ENABLED", "false")
    with pytest.raises(ConfigError, match="FRONTDESK_TERMINAL__ENABLED: every channel"):
        build_adapters(load_settings(env_file=None))


@pytest.mark.parametrize("command", ["run", "check"])
def test_every_channel_disabled_is_refused_in_one_line(tmp_path: Path, command: str) -> None:
    result = run(command, env={"FRONTDESK_TERMINAL__ENABLED": "false"}, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "every channel is disabled" in lines[0], result.stderr


def test_check_prints_the_real_sqlite_path(tmp_path: Path) -> None:
    result = run("check", env={"FRONTDESK_STORE__DATA_DIR": "data"}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert str((tmp_path / "data" / "frontdesk.db").resolve()) in result.stdout


def test_check_describes_each_platform_from_its_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDESK_SLACK__ENABLED", "true")
    monkeypatch.setenv("FRONTDESK_SLACK__BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("FRONTDESK_SLACK__APP_TOKEN", "xapp-1")
    parts = {(p.kind, p.name): p for p in describe(load_settings(env_file=None))}
    assert parts["channel", "slack"].enabled and "socket mode" in parts["channel", "slack"].why
    assert not parts["desk", "slack"].enabled
    assert parts["channel", "terminal"].why == "other channels are enabled"


def test_every_registered_package_that_exists_has_build() -> None:
    for name in PLATFORMS:
        module = platform_module(name)
        if module is not None:
            assert callable(module.build), name


def test_platform_packages_import_no_sdk_until_built() -> None:
    code = (
        "import sys, bot.cli; "
        "heavy = [m for m in ('slack_bolt', 'slack_sdk', 'aiohttp', 'discord', 'aioimaplib') "
        "if m in sys.modules]; print(heavy)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)  # fmt: skip
    assert result.stdout.strip() == "[]"
