"""The README's examples, run as written through the real ``frontdesk`` command (issue 10).

The commands and the output they show are read from README.md itself, so an example that
drifts from what the program does fails here. ``./scripts/run`` and ``.venv/bin/frontdesk``
stand for the ``frontdesk`` of the environment running the tests.
"""

from __future__ import annotations

import os
import queue
import re
import shlex
import subprocess
import threading
import time
from pathlib import Path

from tests.test_cli import FRONTDESK, run

README = Path(__file__).resolve().parent.parent / "README.md"
PROMPT = re.compile(r"^[\w.-]+> ")


def _blocks(heading: str | None = None) -> list[list[str]]:
    """The fenced code blocks of the README (under ``heading`` when given), as lines."""
    blocks: list[list[str]] = []
    current: list[str] | None = None
    section = None
    for line in README.read_text().splitlines():
        if current is None and line.startswith("#"):
            section = line.lstrip("#").strip()
        elif line.startswith("```"):
            if current is None:
                current = []
            else:
                if heading is None or section == heading:
                    blocks.append(current)
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def _block_with(needle: str, heading: str | None = None) -> list[str]:
    found = [b for b in _blocks(heading) if any(needle in line for line in b)]
    assert found, f"README.md has no example with {needle!r}"
    return found[0]


def _command(line: str) -> list[str]:
    words = shlex.split(line, comments=True)
    assert words[0] in {".venv/bin/frontdesk", "./scripts/run"}, line
    return [FRONTDESK, *(["run"] if words[0] == "./scripts/run" else []), *words[1:]]


def _chat(stdout: str) -> list[str]:
    """Terminal output with wrapped lines joined again."""
    lines: list[str] = []
    for line in stdout.splitlines():
        if line.startswith("  ") and lines:
            lines[-1] += " " + line.strip()
        else:
            lines.append(line)
    return lines


def test_piped_example(tmp_path: Path) -> None:
    block = _block_with("| ./scripts/run")
    command, shown = block[0], block[1]
    question = re.search(r"printf '(.*)\\n'", command)
    assert question is not None
    result = run(*_command(command.split("|")[1])[1:], stdin=question.group(1) + "\n", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert _chat(result.stdout)[0].startswith(shown), result.stdout


def test_own_knowledge_base_example(tmp_path: Path) -> None:
    block = _block_with("frontdesk init", "Use your own knowledge base")
    for line in block:
        if line.startswith(".venv/bin/frontdesk"):
            result = run(*_command(line)[1:], cwd=tmp_path)
            assert result.returncode == 0, (line, result.stderr)
        elif line.startswith("printf"):
            piped = line.split("|")[1]
            question = re.search(r"printf '(.*)\\n'", line)
            assert question is not None
            result = run(*_command(piped)[1:], stdin=question.group(1) + "\n", cwd=tmp_path)
            assert result.returncode == 0, result.stderr
            answered = _chat(result.stdout)
        elif PROMPT.match(line):
            assert answered[0].startswith(line), answered


def test_check_on_a_bad_setting_example(tmp_path: Path) -> None:
    block = _block_with('frontdesk check; echo "exit $?"')
    words = shlex.split(block[0].split(";")[0])
    env = dict(word.split("=", 1) for word in words if "=" in word and not word.startswith("."))
    command = [w for w in words if "=" not in w or w.startswith(".")]
    result = run(*_command(" ".join(command))[1:], env=env, cwd=tmp_path)
    assert result.stderr.strip() == block[1]
    assert f"exit {result.returncode}" == block[2]


class _Terminal:
    """``frontdesk run`` in its own process, as terminal 1: type lines, read the chat."""

    def __init__(self, command: list[str], cwd: Path) -> None:
        clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("FRONTDESK_")}
        self.process = subprocess.Popen(
            command, cwd=cwd, env=clean, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def type(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def expect(self, shown: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            chat = _chat("\n".join(self.seen))
            if any(line.startswith(shown) for line in chat):
                return
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"terminal 1 never showed {shown!r}; it showed {chat}"
            try:
                self.seen.append(self.lines.get(timeout=min(remaining, 0.5)))
            except queue.Empty:
                continue

    def close(self) -> str:
        process = self.process
        assert process.stdin is not None and process.stdout and process.stderr
        process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self.reader.join(timeout=5)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        process.stdout.close()
        err = process.stderr.read()
        process.stderr.close()
        assert process.returncode == 0, err
        return "\n".join(self.seen)


def test_hand_off_loop_example(tmp_path: Path) -> None:
    heading = "Try the hand-off loop on a laptop"
    customer, agent, meanwhile = _blocks(heading)[:3]
    terminal = _Terminal(_command(customer[0]), tmp_path)
    try:
        for line in customer[1:]:
            if line.startswith("> "):
                terminal.type(line[2:])
            elif PROMPT.match(line):
                terminal.expect(line)
        for line in agent:
            result = run(*_command(line)[1:], cwd=tmp_path)
            assert result.returncode == 0, (line, result.stdout, result.stderr)
            assert "Traceback" not in result.stderr
        for line in meanwhile:
            terminal.expect(line)
    finally:
        chat = terminal.close()
    internal = re.search(r'note T-1 "(.*?)"', "\n".join(agent))
    assert internal is not None and internal.group(1) not in chat, "a note stays internal"
