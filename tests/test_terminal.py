"""The terminal channel on bad input: invalid bytes, a failing intake, a store outage."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
from pathlib import Path

from channels.base import InboundMessage
from channels.terminal.customers import STORE_DOWN, TerminalChannel
from config.errors import StoreError
from tests.test_cli import FRONTDESK


def test_invalid_utf8_on_stdin_is_replaced_and_every_line_is_answered(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("FRONTDESK_")}
    result = subprocess.run(
        [FRONTDESK, "run"],
        input=b"Where is my order \xff?\nHow do I return an item?\n",
        capture_output=True,
        env=clean,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    replies = [ln for ln in result.stdout.decode().splitlines() if ln.startswith("frontdesk> ")]
    assert len(replies) == 2
    assert "30 days" in replies[1]


class Flaky:
    """An intake whose store is down for the first ``failures`` calls."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.queued: list[InboundMessage] = []

    async def __call__(self, message: InboundMessage) -> bool:
        if self.failures > 0:
            self.failures -= 1
            raise StoreError("redis: connection refused")
        self.queued.append(message)
        return True


async def test_a_store_outage_delays_a_line_but_never_loses_it() -> None:
    stdout = io.StringIO()
    channel = TerminalChannel("robin", io.StringIO("first\nsecond\n"), stdout)
    intake = Flaky(failures=3)
    await channel.start(intake)
    await asyncio.wait_for(channel.finished.wait(), 30)
    assert [m.text for m in intake.queued] == ["first", "second"]
    assert stdout.getvalue().count(STORE_DOWN) == 1  # told once, not on every retry
    await channel.stop()


class Unreadable(io.StringIO):
    def __iter__(self) -> Unreadable:
        return self

    def __next__(self) -> str:
        raise OSError("input/output error")


async def test_a_reading_failure_ends_input_instead_of_hanging() -> None:
    channel = TerminalChannel("robin", Unreadable(), io.StringIO())
    await channel.start(Flaky(failures=0))
    await asyncio.wait_for(channel.finished.wait(), 10)
    await channel.stop()
