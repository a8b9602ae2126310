"""Slack and Discord in one bot: the hub pages every configured desk, so a Discord customer is
served from the Slack desk and a Slack customer from the Discord desk (``bot.app.App`` against
both fakes).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.app import App
from config.settings import load_settings
from tests.fakes.fake_discord import ALICE, DESK, STAFF_ROLE, TOKEN, FakeDiscord
from tests.fakes.fake_slack import SECRET, FakeSlack
from tests.servers import free_port, wait_for_port
from tests.test_slack_e2e import DM as SLACK_DM
from tests.test_slack_e2e import ESC
from tests.test_slack_e2e import Bot as SlackBot

DISCORD_DM = "1500000000000000001"


@dataclass
class Both:
    slack: SlackBot
    discord: FakeDiscord

    def discord_texts(self, channel: str) -> list[str]:
        return [str(m.get("content")) for m in self.discord.sent_to(channel)]

    def slack_texts(self, channel: str) -> list[str]:
        return [str(p["text"]) for p in self.slack.posts_to(channel)]


@pytest.fixture
async def both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Both]:
    async with FakeSlack() as slack, FakeDiscord() as discord:
        port = free_port()
        for key, value in {
            "SLACK__ENABLED": "true", "SLACK__MODE": "http", "SLACK__BOT_TOKEN": "xoxb-e2e",
            "SLACK__SIGNING_SECRET": SECRET, "SLACK__HTTP_PORT": str(port),
            "SLACK__ESCALATION_CHANNEL": ESC, "SLACK__API_BASE_URL": slack.api_base_url,
            "SLACK__MAX_MESSAGES_PER_SECOND": "100", "SLACK__AGENT_USER_IDS": "U0ALICE",
            "DISCORD__ENABLED": "true", "DISCORD__BOT_TOKEN": TOKEN,
            "DISCORD__DESK_CHANNEL_ID": DESK, "DISCORD__STAFF_ROLE_IDS": STAFF_ROLE,
            "DISCORD__API_BASE_URL": discord.api_base_url,
            "DISCORD__GATEWAY_URL": discord.gateway_url,
            "STORE__DATA_DIR": str(tmp_path / "data"), "DIGEST__ENABLED": "false",
        }.items():  # fmt: skip
            monkeypatch.setenv(f"FRONTDESK_{key}", value)
        slack.profiles = {"U0ALICE": "Alice"}
        app = App(load_settings(env_file=None))
        task = asyncio.create_task(app.run())
        await asyncio.to_thread(wait_for_port, port, 30.0)
        await discord.wait_for(lambda: discord.commands or task.done(), within=30)
        yield Both(SlackBot(slack, f"http://127.0.0.1:{port}/slack/events"), discord)
        app.request_stop()
        await asyncio.wait_for(task, 30)


async def test_a_discord_customer_served_from_the_slack_desk(both: Both) -> None:
    discord, slack = both.discord, both.slack
    payload = discord.dm_message("I want to talk to a real person please", DISCORD_DM)
    await discord.dispatch("MESSAGE_CREATE", payload)
    await slack.until(lambda: slack.posts_to(ESC))  # the Slack card...
    await discord.wait_for(lambda: discord.sent_to(DESK) and both.discord_texts(DISCORD_DM))
    card = slack.posts_to(ESC)[0]
    ticket = json.dumps(card["blocks"]).split('"value": "')[1].split('"')[0]
    card_ts = slack.fake.posted_ts(ESC)[0]

    assert await slack.click("U0ALICE", "frontdesk_claim", ticket, card_ts) == 200
    await discord.wait_for(lambda: any("joined" in t for t in both.discord_texts(DISCORD_DM)))
    await discord.wait_for(lambda: discord.edits)  # ...and the Discord card says so too
    assert "Claimed by" in str(discord.edits[-1]["embeds"])

    await slack.agent_says("U0ALICE", card_ts, "Hi from Slack")
    await discord.wait_for(lambda: "**Alice**: Hi from Slack" in both.discord_texts(DISCORD_DM))


async def test_a_slack_customer_served_from_the_discord_desk(both: Both) -> None:
    discord, slack = both.discord, both.slack
    await slack.customer("I want to talk to a real person please")
    await discord.wait_for(lambda: discord.sent_to(DESK), within=15)
    card = discord.sent_to(DESK)[0]
    claim = card["components"][0]["components"][0]["custom_id"]
    await discord.wait_for(lambda: card["id"] in discord.threads)

    await discord.dispatch("INTERACTION_CREATE", discord.click(claim, card["id"], ALICE))
    await slack.until(lambda: any("joined" in t for t in both.slack_texts(SLACK_DM)))
    message = discord.guild_message("Hi from Discord", card["id"], ALICE)
    await discord.dispatch("MESSAGE_CREATE", message)
    await slack.until(lambda: any("Hi from Discord" in t for t in both.slack_texts(SLACK_DM)))
    assert any(t.startswith("*Alice*") for t in both.slack_texts(SLACK_DM))
