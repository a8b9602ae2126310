"""CSAT on Slack with buttons: the real app (HTTP mode) against the fake Slack Web API.

After an agent resolves, the customer's question carries five Block Kit buttons; a stranger's
click is refused privately, a malformed click is logged and ignored, the customer's click is
recorded like a typed rating (stats, ``csat.received``), the buttons are replaced by what was
chosen, a second click is refused privately, and the next message is taken as the comment.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from bot.app import App
from bot.csat import CSAT_COMMENT_THANKS, CSAT_PRESSED
from bot.observer import CSAT_QUESTION
from bot.wiring import SQLITE_FILE
from brain.store.base import StoreLimits
from brain.store.facts import ConversationFacts, Facts
from brain.store.sqlite import SqliteStore
from channels.slack.customers import ALREADY_RATED, NOT_YOURS
from config.settings import load_settings
from tests.fakes.fake_slack import FORM, SECRET, FakeChannel, FakeSlack, load, post, sign
from tests.servers import free_port, wait_for_port
from tests.test_slack_e2e import DM, ESC, Bot, configure


@pytest.fixture
async def bot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Bot]:
    async with FakeSlack() as fake:
        port = free_port()
        configure(monkeypatch, fake, port, tmp_path / "data")
        fake.profiles = {"U0ALICE": "Alice", "U0ADMIN": "Admin"}
        fake.channels[ESC] = FakeChannel(private=True, members=("U0BOT", "U0ALICE"))
        app = App(load_settings(env_file=None))
        task = asyncio.create_task(app.run())
        await asyncio.to_thread(wait_for_port, port, 30.0)
        yield Bot(fake, f"http://127.0.0.1:{port}/slack/events")
        app.request_stop()
        await asyncio.wait_for(task, 30)


def blocks_of(call: Any) -> list[dict[str, Any]]:
    blocks = call.get("blocks")
    return json.loads(blocks) if isinstance(blocks, str) else list(blocks or [])


async def press(bot: Bot, question_ts: str, value: str, user: str = "U0ROBIN") -> None:
    payload = load("block_actions_rating.json")
    payload["user"] |= {"id": user, "name": user.lower(), "username": user.lower()}
    payload["container"]["message_ts"] = payload["message"]["ts"] = question_ts
    rating = value.partition(":")[0]
    bot.ts += 1  # the click's time, in order with the customer's messages
    payload["actions"][0] |= {"action_id": f"frontdesk_csat_{rating}", "value": value,
                              "action_ts": f"1800000000.{bot.ts:06d}"}  # fmt: skip
    body = "payload=" + quote(json.dumps(payload))
    assert (await post(bot.url, body, sign(body, SECRET), FORM))[0] == 200


async def resolved(bot: Bot) -> str:
    """A hand-off resolved by Alice; the rating question's ts."""
    await bot.customer("I want to talk to a real person please")
    await bot.until(lambda: bot.posts_to(ESC))
    card_ts = bot.fake.posted_ts(ESC)[0]
    ticket = json.dumps(bot.posts_to(ESC)[0]["blocks"]).split('"value": "')[1].split('"')[0]
    assert await bot.click("U0ALICE", "frontdesk_claim", ticket, card_ts) == 200
    await bot.until(lambda: any("joined" in p["text"] for p in bot.posts_to(DM)))
    assert await bot.click("U0ALICE", "frontdesk_resolve", ticket, card_ts) == 200
    await bot.until(lambda: any(p["text"] == CSAT_QUESTION for p in bot.posts_to(DM)))
    index = next(i for i, p in enumerate(bot.posts_to(DM)) if p["text"] == CSAT_QUESTION)
    return bot.fake.posted_ts(DM)[index]


async def test_rating_buttons_on_slack(
    bot: Bot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    question_ts = await resolved(bot)
    question = next(p for p in bot.posts_to(DM) if p["text"] == CSAT_QUESTION)
    actions = [b for b in blocks_of(question) if b["type"] == "actions"]
    assert [e["value"] for e in actions[0]["elements"]] == [f"{n}:U0ROBIN" for n in range(1, 6)]

    await press(bot, question_ts, "2:U0ROBIN", user="U0MALLORY")  # someone else in the chat
    await bot.until(lambda: bot.fake.calls_to("chat.postEphemeral"))
    (refusal,) = bot.fake.calls_to("chat.postEphemeral")
    assert (refusal["user"], refusal["text"]) == ("U0MALLORY", NOT_YOURS)

    await press(bot, question_ts, "9:U0ROBIN")  # not a rating: logged, ignored
    await bot.until(lambda: any("malformed value" in r.getMessage() for r in caplog.records))

    posts = len(bot.posts_to(DM))
    await press(bot, question_ts, "4:U0ROBIN")
    await bot.until(lambda: bot.fake.calls_to("chat.update") and len(bot.posts_to(DM)) > posts)
    assert bot.posts_to(DM)[-1]["text"] == CSAT_PRESSED
    updated = [c for c in bot.fake.calls_to("chat.update") if c["channel"] == DM]
    assert updated[-1]["ts"] == question_ts
    shown = json.dumps(blocks_of(updated[-1]))
    assert "You chose 4 of 5." in shown and '"actions"' not in shown

    await press(bot, question_ts, "1:U0ROBIN")  # a second click on the same question
    await bot.until(lambda: len(bot.fake.calls_to("chat.postEphemeral")) >= 2)
    assert bot.fake.calls_to("chat.postEphemeral")[-1]["text"] == ALREADY_RATED

    await bot.customer("Alice was quick and friendly")  # the comment, as a reply
    await bot.until(lambda: bot.posts_to(DM)[-1]["text"] == CSAT_COMMENT_THANKS)

    facts = await facts_of(data / SQLITE_FILE, "slack:T0TEAM:D0ROBIN")
    assert (facts.csat_rating, facts.csat_comment) == (4, "Alice was quick and friendly")
    assert facts.reopened is None  # neither the click nor the comment is a new request
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)


async def facts_of(path: Path, key: str) -> ConversationFacts:
    store = SqliteStore(path, limits=StoreLimits())
    await store.open()
    try:
        return await Facts(store, 86400).get(key)
    finally:
        await store.close()
