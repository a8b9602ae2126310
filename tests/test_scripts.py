"""``scripts/run`` and ``scripts/test`` reinstall only when pyproject.toml changed (issue 10).

They run against a stand-in virtual environment (``FRONTDESK_VENV``) whose ``python`` records
pip calls instead of reaching a package index, and whose tools only say they ran."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = f"""#!/usr/bin/env bash
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then
    echo "pip $*" >> "$(dirname "$0")/../pip.log"
    [ -z "${{FAKE_PIP_FAIL:-}}" ] || exit 1
    exit 0
fi
exec {sys.executable} "$@"
"""


def _venv(tmp_path: Path) -> Path:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    tools = {"python": PYTHON}
    for tool in ("frontdesk", "ruff", "mypy", "pytest"):
        tools[tool] = f'#!/usr/bin/env bash\necho "{tool} $*"\n'
    for name, text in tools.items():
        path = venv / "bin" / name
        path.write_text(text)
        path.chmod(0o755)
    return venv


def _script(name: str, venv: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "scripts" / name), *args],
        capture_output=True, text=True, timeout=60, check=False,
        # HOME: the test command copies the offline model into ~/.cache; keep that in tmp.
        env={**os.environ, "FRONTDESK_VENV": str(venv), "HOME": str(venv.parent), **env},
    )  # fmt: skip


def _pip_calls(venv: Path) -> int:
    log = venv / "pip.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_run_installs_once_then_starts_without_pip(tmp_path: Path) -> None:
    venv = _venv(tmp_path)
    first = _script("run", venv, "--flag")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "frontdesk run --flag"
    installed = _pip_calls(venv)
    assert installed >= 1
    second = _script("run", venv)
    assert second.returncode == 0 and second.stdout.strip() == "frontdesk run"
    assert _pip_calls(venv) == installed, "nothing changed: no pip, no package index"
    # pyproject.toml changed since the stamp: install again.
    (venv / ".frontdesk-install").write_text("0000 \n")
    assert _script("run", venv).returncode == 0
    assert _pip_calls(venv) > installed


def test_run_without_a_package_index_uses_the_installed_version(tmp_path: Path) -> None:
    venv = _venv(tmp_path)
    result = _script("run", venv, FAKE_PIP_FAIL="1")
    assert result.returncode == 0, result.stderr
    assert "using the installed one" in result.stderr
    assert result.stdout.strip() == "frontdesk run"


def test_test_script_skips_pip_when_nothing_changed(tmp_path: Path) -> None:
    venv = _venv(tmp_path)
    first = _script("test", venv, "-q")
    assert first.returncode == 0, first.stderr
    assert "pytest -q" in first.stdout
    installed = _pip_calls(venv)
    assert "[dev,semantic]" in (venv / "pip.log").read_text()  # the embedding tests need it
    assert _script("test", venv).returncode == 0
    assert _pip_calls(venv) == installed
