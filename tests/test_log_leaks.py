"""A whole conversation's logs, scanned: no planted secret or personal data in any line, and
every line logged on a message's path names its conversation and message.

The conversation: a question answered by an LLM after the first provider fails (its error text
carries the planted key), a hand-off with a card number, a claim, an agent's reply, a resolve,
the CSAT rating with a phone number in the comment. The conversation's id is the customer's
email address (as an email channel's may be), so the ids every line carries must be masked too.
Logging is at DEBUG, in JSON and in text.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.observability import configure_logging
from brain.providers.fake import json_answer
from brain.store.base import StoreLimits
from brain.store.sqlite import SqliteStore
from channels.base import DeskAction
from tests.fakes.fake_llm import FakeLLMServer
from tests.ops_bot import running_bot, settings_for

OPENAI_KEY = "sk-proj-PLANTEDopenaiSECRET0123456789abcdef"
ANTHROPIC_KEY = "sk-ant-api03-PLANTEDanthropicSECRET987654"
EMAIL, PHONE, CARD = "jane.doe@example.com", "+44 20 7946 0958", "4111 1111 1111 1111"
SECRETS = (OPENAI_KEY, ANTHROPIC_KEY, "PLANTED")
PERSONAL = (EMAIL, "jane.doe", PHONE, "7946", "0958", CARD, "4111111111111111", "1111 1111")


@pytest.fixture
def root_logging() -> Iterator[None]:
    yield
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if h.get_name() != "frontdesk"]
    root.setLevel(logging.WARNING)


@pytest.mark.parametrize("fmt", ["json", "text"])
async def test_no_secret_or_personal_data_in_any_log_line(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], root_logging: None
) -> None:
    async with FakeLLMServer(reply=json_answer("Yes, within 30 days of delivery.", 0.9)) as llm:
        llm.script("openai", [{"status": 401, "message": f"Incorrect API key {OPENAI_KEY}"}])
        providers = {
            "openai_api_key": OPENAI_KEY, "openai_base_url": llm.openai_base_url,
            "anthropic_api_key": ANTHROPIC_KEY, "anthropic_base_url": llm.anthropic_base_url,
            "models": [{"provider": "openai", "model": "gpt-4o-mini", "tier": "fast"},
                       {"provider": "anthropic", "model": "claude-haiku-4-5", "tier": "fast"}],
            "faq_direct_threshold": 1.0, "attempt_timeout_seconds": 5,
        }  # fmt: skip
        logs = {"log_level": "DEBUG", "log_format": fmt}
        settings = settings_for(str(tmp_path), providers=providers, observability=logs)
        configure_logging("DEBUG", fmt, redact_personal_data=True)
        store = SqliteStore(tmp_path / "bot.db", limits=StoreLimits())
        await store.open()
        try:
            async with running_bot(settings, store) as bot:
                answer = await bot.customer(
                    f"Hi, I'm {EMAIL} ({PHONE}). Can I return a lamp I bought last week?", EMAIL
                )
                assert answer == ["Yes, within 30 days of delivery."]
                await bot.customer(f"I want to talk to a human. My card {CARD} was charged", EMAIL)
                ticket = (await store.list_tickets({"escalated"}))[0]  # type: ignore[arg-type]
                await bot.agent(DeskAction.CLAIM, ticket_id=ticket.id)
                await bot.agent(DeskAction.REPLY, desk_ref=bot.desk.cards[ticket.id],
                                text=f"Refunded to {CARD}, receipt sent to {EMAIL}",
                                event_id="ev-1")  # fmt: skip
                await bot.agent(DeskAction.RESOLVE, ticket_id=ticket.id)
                thanks = await bot.customer(f"5 lovely, call me on {PHONE} any time", EMAIL)
                assert thanks == ["Thank you for your rating!"]
        finally:
            await store.close()
        assert len(llm.requests) == 2  # the failing provider, then the one that answered
    output = capsys.readouterr().err
    lines = output.splitlines()
    assert len(lines) > 5, output
    for needle in (*SECRETS, *PERSONAL):
        # A group of digits counts on its own only: "7946" of the phone number, not the
        # microseconds of a timestamp (".794642") that happen to start with it.
        found = re.compile(rf"(?<!\d){re.escape(needle)}(?!\d)")
        leaks = [line for line in lines if found.search(line)]
        assert not leaks, f"{needle!r} leaked: {leaks[:3]}"
    on_path = [line for line in lines if "provider openai:gpt-4o-mini failed" in line
               or " escalated as " in line]  # fmt: skip
    assert len(on_path) == 2, output
    for line in on_path:
        if fmt == "json":
            record = json.loads(line)
            assert record["conversation"].startswith("fake:-:[")
            assert record["message_id"].startswith("fake:-:m")
        else:
            assert "[conversation=fake:-:[" in line and " message=fake:-:m" in line
