"""The whole bot on Discord: the real app (``bot.app.App``) with the real discord.py against the
fake Discord gateway + REST, the customer and the staff both on Discord.

A DM delivered twice gets one answer; a request for a human -> card in the staff channel ->
two staff click Claim at once, one winner -> the claimant's thread reply reaches the customer
(its ``@everyone`` pings nobody), a ``note:`` and a non-claimant's reply do not -> the
customer's follow-up appears in the ticket's thread -> a non-staff click is refused -> resolve
-> the bot answers the next question itself, through a 429. A 403 is not retried; a non-admin's
``/frontdesk faq add`` is refused and logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.discord_bot import DM, EPHEMERAL, Bot, answered_once, running_bot
from tests.fakes.fake_discord import (
    ALICE,
    BOB,
    DESK,
    MALLORY,
    ROBIN,
    SUPPORT,
)


@pytest.fixture
async def bot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Bot]:
    async with running_bot(tmp_path, monkeypatch) as running:
        yield running


async def answer_once(bot: Bot) -> None:
    await answered_once(bot.fake, "How do I return an item?", "30 days")  # twice, as after a RESUME
    assert bot.fake.sent_to(DM)[0]["message_reference"]["message_id"]


async def escalate(bot: Bot) -> tuple[str, str]:
    """A request for a human: the card's message id (= its thread) and the ticket."""
    fake = bot.fake
    await bot.customer("I want to talk to a real person please")
    await bot.until(lambda: fake.sent_to(DESK) and len(bot.texts(DM)) >= 2)
    assert "teammate" in bot.texts(DM)[1]
    card = fake.sent_to(DESK)[0]
    ticket = card["components"][0]["components"][0]["custom_id"].split(":")[2]
    assert ticket.startswith("T-")
    await bot.until(lambda: card["id"] in fake.threads)  # the ticket's thread
    return str(card["id"]), ticket


async def claim_race(bot: Bot, card: str, ticket: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two staff click Claim at once: (winner, loser)."""
    fake = bot.fake
    await asyncio.gather(
        bot.click(ALICE, "claim", ticket, card), bot.click(BOB, "claim", ticket, card)
    )
    await bot.until(lambda: fake.edits and bot.follow_ups())
    await bot.until(lambda: any("joined" in t for t in bot.texts(DM)))
    await asyncio.sleep(0.3)
    [refusal] = bot.follow_ups()  # exactly one loser, told privately
    assert "already claimed" in refusal["content"] and refusal["flags"] & EPHEMERAL
    joined = next(t for t in bot.texts(DM) if "joined" in t)
    assert "Claimed by" in str(fake.edits[-1]["embeds"])
    return (ALICE, BOB) if joined.startswith("Alice") else (BOB, ALICE)


async def relay_rules(bot: Bot, thread: str, winner: dict[str, Any], loser: dict[str, Any]) -> None:
    """Only the claimant's non-note messages reach the customer, pinging nobody."""
    fake = bot.fake
    before = len(bot.texts(DM))
    await bot.staff_says(winner, thread, "Hi Robin @everyone, I'm on it.")
    await bot.staff_says(winner, thread, "note: check the warehouse first")
    await bot.staff_says(loser, thread, "I could also help")
    await bot.until(lambda: any("I'm on it" in t for t in bot.texts(DM)))
    relayed = next(m for m in fake.sent_to(DM) if "I'm on it" in str(m["content"]))
    assert relayed["content"] == f"**{winner['global_name']}**: Hi Robin @everyone, I'm on it."
    assert relayed["allowed_mentions"]["parse"] == []
    await bot.until(lambda: len(fake.posts("PUT", r"/reactions/")) >= 2)
    assert not any("warehouse" in t or "also help" in t for t in bot.texts(DM)[before:])


async def test_the_whole_discord_hand_off(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    fake = bot.fake
    await answer_once(bot)
    thread, ticket = await escalate(bot)
    winner, loser = await claim_race(bot, thread, ticket)
    await relay_rules(bot, thread, winner, loser)

    await bot.customer("thanks, it's order 55555")
    await bot.until(lambda: any("55555" in t for t in bot.texts(thread)))

    await bot.click(MALLORY, "resolve", ticket, thread)
    await bot.until(lambda: len(bot.follow_ups()) >= 2)
    assert "only Frontdesk agents" in bot.follow_ups()[1]["content"]

    await bot.click(winner, "resolve", ticket, thread)
    await bot.until(lambda: any("resolved" in t for t in bot.texts(DM)))

    fake.fail(
        "POST",
        rf"/channels/{DM}/messages$",
        429,
        retry_after=0.2,
        **{"global": False},
        headers={"Retry-After": "0.2", "Via": "1.1 google"},
    )
    await bot.customer("How do I reset my password?")
    await bot.until(lambda: "password" in bot.texts(DM)[-1].lower())

    # A support channel whose permissions are broken: refused once, never retried.
    fake.fail("POST", rf"/channels/{SUPPORT}/messages$", 403, code=50013)
    await fake.dispatch("MESSAGE_CREATE", fake.guild_message("Do you ship to Norway?"))
    await bot.until(lambda: fake.posts("POST", rf"/channels/{SUPPORT}/messages$"))
    await asyncio.sleep(1.5)  # the dispatcher's retries would have come by now
    assert len(fake.posts("POST", rf"/channels/{SUPPORT}/messages$")) == 1
    assert any("Send Messages" in r.getMessage() for r in caplog.records)

    staff_add = fake.slash(ALICE, "faq", "add", question="Do you sell gnomes?", answer="Yes.")
    await fake.dispatch("INTERACTION_CREATE", staff_add)
    await bot.until(
        lambda: any("Only Frontdesk admins" in str(c.get("content")) for c in bot.follow_ups())
    )
    # Logged (Discord ids are numbers, which the log redaction masks).
    assert any(
        r.name == "bot.admin" and "non-admin" in r.getMessage() and r.levelno == logging.WARNING
        for r in caplog.records
    )
    assert ROBIN["id"] not in str(fake.sent_to(DESK)[0]["embeds"][0].get("title"))
