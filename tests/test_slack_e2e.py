"""The whole bot on Slack: the real app (HTTP Events API mode) against the fake Slack Web API.

Customer DM -> answer in thread; a request for a human -> card -> two concurrent claims, one
winner -> the claimant's thread reply reaches the customer, a note and a non-claimant's reply
do not -> the customer's follow-up appears in the thread -> resolve -> the bot answers the next
question itself. Also: an event delivered three times gets one reply, a 429 is retried after
Retry-After, and a non-admin's ``faq add`` is refused and logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.app import App
from bot.cli import main
from config.settings import load_settings
from tests.fakes.fake_slack import FORM, SECRET, FakeChannel, FakeSlack, post, sign
from tests.servers import free_port, wait_for_port

CUSTOMER, DM = "U0ROBIN", "D0ROBIN"
ESC = "C0ESC"


@dataclass
class Bot:
    fake: FakeSlack
    url: str
    ts: int = 0

    async def event(self, event: dict[str, Any], event_id: str, retry: int = 0) -> int:
        body = json.dumps({"type": "event_callback", "team_id": "T0TEAM", "api_app_id": "A0APP",
                           "event": event, "event_id": event_id, "event_time": 1})  # fmt: skip
        headers = sign(body, SECRET) | ({"X-Slack-Retry-Num": str(retry)} if retry else {})
        status, _ = await post(self.url, body, headers)
        return status

    async def customer(self, text: str, retries: int = 0) -> str:
        self.ts += 1
        ts = f"1800000000.{self.ts:06d}"
        event = {"type": "message", "channel": DM, "channel_type": "im", "user": CUSTOMER,
                 "text": text, "ts": ts, "event_ts": ts}  # fmt: skip
        for attempt in range(retries + 1):
            assert await self.event(event, f"Ev{ts}", retry=attempt) == 200
        return ts

    async def agent_says(self, user: str, thread_ts: str, text: str) -> None:
        self.ts += 1
        ts = f"1800000001.{self.ts:06d}"
        event = {"type": "message", "channel": ESC, "channel_type": "channel", "user": user,
                 "text": text, "ts": ts, "thread_ts": thread_ts, "event_ts": ts}  # fmt: skip
        assert await self.event(event, f"Ev{ts}") == 200

    async def click(self, user: str, action_id: str, ticket: str, card_ts: str) -> int:
        payload = {
            "type": "block_actions", "user": {"id": user, "username": user.lower(),
                                              "name": user.lower(), "team_id": "T0TEAM"},
            "team": {"id": "T0TEAM"}, "api_app_id": "A0APP", "trigger_id": f"t{user}",
            "container": {"type": "message", "message_ts": card_ts, "channel_id": ESC},
            "channel": {"id": ESC}, "message": {"ts": card_ts, "text": "card"},
            "response_url": self.fake.hook_url(f"actions/{user}"),
            "actions": [{"action_id": action_id, "block_id": "frontdesk", "value": ticket,
                         "type": "button", "action_ts": f"{card_ts}{user}"}],
        }  # fmt: skip
        body = urlencode({"payload": json.dumps(payload)})
        status, _ = await post(self.url, body, sign(body, SECRET), FORM)
        return status

    async def command(self, user: str, text: str) -> None:
        body = urlencode({"command": "/frontdesk", "text": text, "user_id": user,
                          "user_name": user.lower(), "channel_id": ESC, "team_id": "T0TEAM",
                          "response_url": self.fake.hook_url(f"commands/{user}"),
                          "trigger_id": "t1"})  # fmt: skip
        status, _ = await post(self.url, body, sign(body, SECRET), FORM)
        assert status == 200

    def posts_to(self, channel: str) -> list[dict[str, Any]]:
        return [dict(c) for c in self.fake.calls_to("chat.postMessage") if c["channel"] == channel]

    async def until(self, check: Any) -> None:
        await self.fake.wait_for(check, within=15.0)


def configure(monkeypatch: pytest.MonkeyPatch, fake: FakeSlack, port: int, data: Path) -> None:
    for key, value in {
        "SLACK__ENABLED": "true", "SLACK__MODE": "http", "SLACK__BOT_TOKEN": "xoxb-e2e",
        "SLACK__SIGNING_SECRET": SECRET, "SLACK__HTTP_PORT": str(port),
        "SLACK__ESCALATION_CHANNEL": ESC, "SLACK__SUPPORT_CHANNELS": "C0HELP",
        "SLACK__ADMIN_USER_IDS": "U0ADMIN",
        "SLACK__API_BASE_URL": fake.api_base_url, "SLACK__MAX_MESSAGES_PER_SECOND": "100",
        "STORE__DATA_DIR": str(data),
    }.items():  # fmt: skip
        monkeypatch.setenv(f"FRONTDESK_{key}", value)


@pytest.fixture
async def bot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Bot]:
    async with FakeSlack() as fake:
        port = free_port()
        configure(monkeypatch, fake, port, tmp_path / "data")
        fake.profiles = {"U0ALICE": "Alice", "U0BOB": "Bob", "U0NOBODY": "Nobody"}
        # No agent setting: the members of the (private) escalation channel are the agents.
        fake.channels[ESC] = FakeChannel(private=True, members=("U0BOT", "U0ALICE", "U0BOB"))
        app = App(load_settings(env_file=None))
        task = asyncio.create_task(app.run())
        await asyncio.to_thread(wait_for_port, port, 30.0)
        yield Bot(fake, f"http://127.0.0.1:{port}/slack/events")
        app.request_stop()
        await asyncio.wait_for(task, 30)


async def test_a_public_escalation_channel_without_agents_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with FakeSlack() as fake:
        configure(monkeypatch, fake, free_port(), tmp_path / "data")
        fake.channels[ESC] = FakeChannel(private=False, members=("U0ALICE",))
        code = await asyncio.wait_for(asyncio.to_thread(main, ["run"]), 60)
    assert code == 2
    err = capsys.readouterr().err
    (line,) = [line for line in err.splitlines() if line.startswith("frontdesk:")]
    assert line.startswith("frontdesk: invalid setting: FRONTDESK_SLACK__AGENT_USER_IDS: ")
    assert "Traceback" not in err
    assert fake.calls_to("chat.postMessage") == []


async def test_the_whole_slack_hand_off(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    await bot.customer("How do I return an item?", retries=2)  # delivered 3 times
    await bot.until(lambda: len(bot.posts_to(DM)) >= 1)
    await asyncio.sleep(0.5)  # room for a wrong second reply to show up
    answers = bot.posts_to(DM)
    assert len(answers) == 1 and answers[0].get("thread_ts") is None  # a DM is one chat
    assert "30 days" in answers[0]["text"]

    await bot.customer("I want to talk to a real person please")
    await bot.until(lambda: len(bot.posts_to(ESC)) >= 1 and len(bot.posts_to(DM)) >= 2)
    card = bot.posts_to(ESC)[0]
    assert "teammate" in bot.posts_to(DM)[1]["text"]
    card_ts = bot.fake.posted_ts(ESC)[0]
    ticket = json.dumps(card["blocks"]).split('"value": "')[1].split('"')[0]
    assert ticket.startswith("T-")

    statuses = await asyncio.gather(bot.click("U0ALICE", "frontdesk_claim", ticket, card_ts),
                                        bot.click("U0BOB", "frontdesk_claim", ticket,
                                              card_ts))  # fmt: skip
    assert statuses == [200, 200]
    await bot.until(lambda: bot.fake.calls_to("chat.update")
                    and bot.fake.calls_to("chat.postEphemeral"))  # fmt: skip
    assert len(bot.fake.calls_to("chat.postEphemeral")) == 1, "exactly one loser"
    loser = bot.fake.calls_to("chat.postEphemeral")[0]["user"]
    winner = "U0BOB" if loser == "U0ALICE" else "U0ALICE"
    assert "already claimed" in bot.fake.calls_to("chat.postEphemeral")[0]["text"]
    name = {"U0ALICE": "Alice", "U0BOB": "Bob"}[winner]
    await bot.until(lambda: any("joined" in p["text"] for p in bot.posts_to(DM)))
    assert any(p["text"].startswith(f"{name} from our team") for p in bot.posts_to(DM))

    await bot.agent_says(winner, card_ts, "Hi Robin, I'm on it.")
    await bot.agent_says(winner, card_ts, "note: check the warehouse first")
    await bot.agent_says(loser, card_ts, "I could also help")
    await bot.agent_says("U0NOBODY", card_ts, "Send me your card number")  # not an agent
    await bot.until(lambda: any("I'm on it" in p["text"] for p in bot.posts_to(DM)))
    assert any(p["text"] == f"*{name}*: Hi Robin, I'm on it." for p in bot.posts_to(DM))
    await bot.until(lambda: len(bot.fake.calls_to("reactions.add")) >= 3)
    texts = [p["text"] for p in bot.posts_to(DM)][2:]  # what came after the hand-off
    assert not any("warehouse" in t or "could also help" in t or "card" in t for t in texts)

    await non_agent_is_refused_privately(bot, ticket, caplog)

    await bot.customer("thanks, it's order 55555")
    await bot.until(lambda: any("55555" in p["text"] for p in bot.posts_to(ESC)))
    relayed = next(p for p in bot.posts_to(ESC) if "55555" in p["text"])
    assert relayed["thread_ts"] == card_ts

    await bot.click(winner, "frontdesk_resolve", ticket, card_ts)
    await bot.until(lambda: any("resolved" in p["text"] for p in bot.posts_to(DM)))

    bot.fake.fail_next("chat.postMessage", status=429, headers={"Retry-After": "1"})
    await bot.customer("How do I reset my password?")
    await bot.until(lambda: any("password" in p["text"].lower() and "reset" in p["text"].lower()
                                for p in bot.posts_to(DM)[-1:]))  # fmt: skip

    # In a support channel the answer goes in the question's thread.
    question = {"type": "message", "channel": "C0HELP", "channel_type": "channel",
                "user": "U0SAM", "text": "Do you ship to Norway?",
                "ts": "1800000009.000001"}  # fmt: skip
    assert await bot.event(question, "EvHELP1") == 200
    await bot.until(lambda: bot.posts_to("C0HELP"))
    assert bot.posts_to("C0HELP")[0]["thread_ts"] == "1800000009.000001"

    await bot.command("U0NOBODY", 'faq add "Do you sell gnomes?" "Yes."')
    await bot.until(lambda: bot.fake.hooks)
    assert "only Frontdesk agents" in json.dumps(bot.fake.hooks)
    assert any("U0NOBODY" in r.getMessage() and r.levelno == logging.WARNING
               for r in caplog.records)  # fmt: skip


async def non_agent_is_refused_privately(
    bot: Bot, ticket: str, caplog: pytest.LogCaptureFixture
) -> None:
    def refusal() -> list[Any]:
        return [e for e in bot.fake.calls_to("chat.postEphemeral") if e["user"] == "U0NOBODY"]

    await bot.until(refusal)
    assert len(refusal()) == 1 and "only Frontdesk agents" in refusal()[0]["text"]
    logged = [r.getMessage() for r in caplog.records if "U0NOBODY" in r.getMessage()]
    assert any("reply" in line and "refused" in line for line in logged)
    assert not any("card number" in r.getMessage() for r in caplog.records)

    # A customer opening the app's Home tab sees the neutral page, no ticket.
    home = {"type": "app_home_opened", "user": CUSTOMER, "channel": DM, "tab": "home",
            "event_ts": "1800000002.000001"}  # fmt: skip
    assert await bot.event(home, "EvHOME1") == 200
    await bot.until(lambda: bot.fake.calls_to("views.publish"))
    (published,) = bot.fake.calls_to("views.publish")
    assert published["user_id"] == CUSTOMER and ticket not in json.dumps(published["view"])
    assert "Open tickets" not in json.dumps(published["view"])
