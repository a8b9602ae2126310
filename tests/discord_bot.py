"""The whole bot on Discord, for the tests that run it against the fake Discord gateway + REST
(``tests/fakes/fake_discord.py``) through the real discord.py: the settings that point the
Discord platform at the fake, the real app (``bot.app.App``) running in-process, and the
steps a test takes as a customer or as staff."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.app import App
from config.settings import load_settings
from tests.fakes.fake_discord import (
    ADMIN_ROLE,
    DESK,
    FORUM,
    STAFF_ROLE,
    SUPPORT,
    TOKEN,
    FakeDiscord,
)

DM = "1500000000000000001"  # the customer's DM channel
EPHEMERAL = 64  # Discord's message flag: shown to the one user only


def discord_env(fake: FakeDiscord, data_dir: Path, *, forum: bool = True) -> dict[str, str]:
    """The ``FRONTDESK_*`` variables of a bot whose only platform is Discord, on the fake (a
    support channel, the forum with ``forum``, the desk channel, staff and admin roles), its
    store in ``data_dir`` and no daily digest."""
    values = {
        "DISCORD__ENABLED": "true",
        "DISCORD__BOT_TOKEN": TOKEN,
        "DISCORD__SUPPORT_CHANNEL_IDS": SUPPORT,
        "DISCORD__FORUM_CHANNEL_IDS": FORUM,
        "DISCORD__DESK_CHANNEL_ID": DESK,
        "DISCORD__STAFF_ROLE_IDS": STAFF_ROLE,
        "DISCORD__ADMIN_ROLE_IDS": ADMIN_ROLE,
        "DISCORD__API_BASE_URL": fake.api_base_url,
        "DISCORD__GATEWAY_URL": fake.gateway_url,
        "STORE__DATA_DIR": str(data_dir),
        "DIGEST__ENABLED": "false",
    }
    if not forum:
        del values["DISCORD__FORUM_CHANNEL_IDS"]
    return {f"FRONTDESK_{k}": v for k, v in values.items()}


def texts(fake: FakeDiscord, channel: str = DM) -> list[str]:
    """What the bot posted in ``channel``, oldest first."""
    return [str(m.get("content")) for m in fake.sent_to(channel)]


async def ask(fake: FakeDiscord, text: str, times: int = 1) -> dict[str, Any]:
    """The customer writes ``text`` in the DM, delivered ``times`` times (as after a RESUME:
    the same message again); the payload."""
    payload = fake.dm_message(text, DM)
    for _ in range(times):
        await fake.dispatch("MESSAGE_CREATE", payload)
    return payload


async def answered_once(fake: FakeDiscord, text: str, expect: str) -> None:
    """A question delivered twice gets exactly one new answer in the DM, containing
    ``expect``."""
    before = len(texts(fake))
    await ask(fake, text, times=2)
    await fake.wait_for(lambda: len(texts(fake)) > before, within=15)
    await asyncio.sleep(0.5)  # room for a wrong second answer
    new = texts(fake)[before:]
    assert len(new) == 1 and expect in new[0], new


@dataclass
class Bot:
    """The running bot as a test drives it: the fake Discord it talks to, and the steps."""

    fake: FakeDiscord

    def texts(self, channel: str) -> list[str]:
        return texts(self.fake, channel)

    async def until(self, check: Any) -> None:
        await self.fake.wait_for(check, within=15.0)

    async def customer(self, text: str, times: int = 1) -> dict[str, Any]:
        return await ask(self.fake, text, times)

    async def staff_says(self, who: dict[str, Any], thread: str, text: str) -> None:
        await self.fake.dispatch("MESSAGE_CREATE", self.fake.guild_message(text, thread, who))

    async def click(self, who: dict[str, Any], action: str, ticket: str, card: str) -> None:
        payload = self.fake.click(f"frontdesk:{action}:{ticket}", card, who)
        await self.fake.dispatch("INTERACTION_CREATE", payload)

    def follow_ups(self) -> list[dict[str, Any]]:
        return [c for c in self.fake.callbacks if c["path"].startswith("/webhooks/")]


@asynccontextmanager
async def running_bot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, forum: bool = True
) -> AsyncIterator[Bot]:
    """The real app on a fresh fake Discord (settings from ``discord_env``), running until
    the block ends; yielded once its slash commands are registered."""
    async with FakeDiscord() as fake:
        for key, value in discord_env(fake, tmp_path / "data", forum=forum).items():
            monkeypatch.setenv(key, value)
        app = App(load_settings(env_file=None))
        task = asyncio.create_task(app.run())
        await fake.wait_for(lambda: fake.commands or task.done(), within=30)
        yield Bot(fake)
        app.request_stop()
        await asyncio.wait_for(task, 30)
