"""CSAT on Discord with buttons: the real app and discord.py against the fake gateway + REST.

After staff resolve, the customer's question carries five buttons; a stranger's click is
refused with an ephemeral answer, a malformed one is logged and ignored, the customer's click
is recorded like a typed rating, the buttons are disabled with the choice highlighted, a
second click gets an ephemeral follow-up, and the next message is taken as the comment.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.csat import CSAT_COMMENT_THANKS, CSAT_PRESSED
from bot.observer import CSAT_QUESTION
from bot.wiring import SQLITE_FILE
from channels.discord.presses import ALREADY_RATED, NOT_YOURS
from tests.discord_bot import DM, EPHEMERAL, Bot, running_bot
from tests.fakes.discord_payloads import snowflake
from tests.fakes.fake_discord import (
    ALICE,
    DESK,
    MALLORY,
    ROBIN,
)
from tests.test_slack_csat import facts_of

FIXTURE = Path(__file__).parent / "fixtures" / "discord" / "component_rating_dm.json"
DEFERRED_UPDATE = 6


@pytest.fixture
async def bot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Bot]:
    async with running_bot(tmp_path, monkeypatch, forum=False) as running:
        yield running


async def press(bot: Bot, question: dict[str, Any], custom_id: str, who: dict[str, Any]) -> str:
    """A click on the question in the DM, shaped like the recorded payload; its token."""
    payload = json.loads(FIXTURE.read_text())
    token = f"token-{snowflake()}"
    payload |= {"id": snowflake(), "token": token, "user": dict(who)}
    payload["data"]["custom_id"] = custom_id
    payload["message"] |= {"id": question["id"], "components": question["components"]}
    await bot.fake.dispatch("INTERACTION_CREATE", payload)
    return token


def calls_for(bot: Bot, token: str) -> list[dict[str, Any]]:
    return [c for c in bot.fake.callbacks if token in c["path"]]


async def test_rating_buttons_on_discord(
    bot: Bot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake = bot.fake
    await bot.customer("I want to talk to a real person please")
    await bot.until(lambda: fake.sent_to(DESK) and bot.texts(DM))
    card = str(fake.sent_to(DESK)[0]["id"])
    ticket = fake.sent_to(DESK)[0]["components"][0]["components"][0]["custom_id"].split(":")[2]
    await bot.until(lambda: card in fake.threads)
    await bot.click(ALICE, "claim", ticket, card)
    await bot.until(lambda: any("joined" in t for t in bot.texts(DM)))
    await bot.click(ALICE, "resolve", ticket, card)
    await bot.until(lambda: CSAT_QUESTION in bot.texts(DM))
    question = next(m for m in fake.sent_to(DM) if m["content"] == CSAT_QUESTION)
    ids = [b["custom_id"] for row in question["components"] for b in row["components"]]
    assert ids == [f"frontdesk:csat:{n}:{ROBIN['id']}" for n in range(1, 6)]

    stranger = await press(bot, question, ids[1], MALLORY)  # a forged click by someone else
    await bot.until(lambda: calls_for(bot, stranger))
    (refusal,) = calls_for(bot, stranger)
    assert refusal["data"]["content"] == NOT_YOURS and refusal["data"]["flags"] & EPHEMERAL

    broken = f"frontdesk:csat:9:{ROBIN['id']}"
    await press(bot, {**question, "components": [{"type": 1, "components": [
        {"type": 2, "style": 2, "label": "9", "custom_id": broken}]}]}, broken, ROBIN)  # fmt: skip
    await bot.until(lambda: any("malformed custom_id" in r.getMessage() for r in caplog.records))

    answered = await press(bot, question, ids[3], ROBIN)
    await bot.until(lambda: CSAT_PRESSED in bot.texts(DM) and len(calls_for(bot, answered)) >= 2)
    deferred, edited = calls_for(bot, answered)
    assert deferred["type"] == DEFERRED_UPDATE and edited["method"] == "PATCH"
    buttons = edited["components"][0]["components"]
    assert all(b["disabled"] for b in buttons) and buttons[3]["style"] == 3  # 4, in green
    thanks = next(m for m in fake.sent_to(DM) if m["content"] == CSAT_PRESSED)
    assert str(thanks["message_reference"]["message_id"]) == question["id"]

    again = await press(bot, question, ids[0], ROBIN)  # a second click, before the redraw
    await bot.until(lambda: len(calls_for(bot, again)) >= 2)
    follow_up = calls_for(bot, again)[-1]
    assert follow_up["content"] == ALREADY_RATED and follow_up["flags"] & EPHEMERAL

    await bot.customer("Alice sorted it out in minutes")
    await bot.until(lambda: bot.texts(DM)[-1] == CSAT_COMMENT_THANKS)
    facts = await facts_of(tmp_path / "data" / SQLITE_FILE, f"discord:-:{DM}")
    assert (facts.csat_rating, facts.csat_comment) == (4, "Alice sorted it out in minutes")
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)
