"""Staff replies written in a ticket's thread while no session read the desk's shard: the whole
bot (``bot.app.App``) on the fake Discord through the real discord.py. The next session reads
the ticket threads back with the customers' channels (``channels/discord/catchup.py``); a
message read over REST carries no server roles, so the desk asks Discord for its author's;
what the last session took in already keeps what it got then (``brain/conversation.py``)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from channels.discord import catchup
from channels.discord.desk import MEMBER_TRIES
from tests.discord_bot import DM, Bot, running_bot
from tests.fakes.discord_payloads import BOT
from tests.fakes.fake_discord import ALICE, BOB, MALLORY, FakeDiscord
from tests.test_discord_e2e import answer_once, escalate

SEEN = f"discord-seen:{BOT['id']}:0/1"


async def read_up_to(db: Path, when: float, within: float = 10.0) -> None:
    """Until the shard's watermark in the bot's SQLite store ``db`` reaches ``when`` (it is
    when the socket last received a frame)."""
    deadline = time.monotonic() + within
    while True:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            row = conn.execute("SELECT value FROM kv WHERE key = ?", (SEEN,)).fetchone()
        if row is not None and int(row[0]) >= int(when * 1000):  # it is in whole ms
            return
        assert time.monotonic() < deadline, f"the watermark did not pass {when} in {within} s"
        await asyncio.sleep(0.1)


async def unread(fake: FakeDiscord, thread: str, who: dict[str, object], text: str) -> None:
    message = fake.guild_message(text, thread, who)
    assert not await fake.dispatch_now("MESSAGE_CREATE", message), "no session reads the shard"


async def a_gap_after(fake: FakeDiscord, db: Path, before: float) -> None:
    """Once the watermark in ``db`` reaches ``before``, the gateway drops and the session
    cannot resume: the next one identifies anew (2.5 s to its READY), after a gap."""
    await read_up_to(db, before)
    fake.refuse_resume, fake.ready_delay_s = True, 2.5
    await fake.drop()


async def heard_now(fake: FakeDiscord, thread: str) -> float:
    """A frame on the gateway (someone typing), so that the watermark reaches now: now."""
    now = time.time()
    typing = {"channel_id": thread, "user_id": BOB["id"], "timestamp": int(now)}
    await fake.dispatch("TYPING_START", typing)
    return now


async def claimed_by_alice(bot: Bot) -> str:
    """A customer answered once, then escalated; Alice claims the ticket: its thread."""
    await answer_once(bot)
    thread, ticket = await escalate(bot)
    await bot.click(ALICE, "claim", ticket, thread)
    await bot.until(lambda: any("joined" in t for t in bot.texts(DM)))
    return thread


def bot_posts(bot: Bot, channel: str, part: str) -> int:
    return sum(part in t for t in bot.texts(channel))


async def test_staff_replies_in_a_gap_reach_the_customer_once_and_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_bot(tmp_path, monkeypatch) as bot:
        fake = bot.fake
        thread = await claimed_by_alice(bot)
        # Taken in live, before the gap (and read back again: within its margin).
        before = time.time()
        await bot.staff_says(ALICE, thread, "Hi Robin, I'm on it.")
        await bot.staff_says(BOB, thread, "I could also help")
        await bot.until(
            lambda: bot_posts(bot, DM, "on it") and bot_posts(bot, thread, "claimed by")
        )
        for _ in range(2):  # asking Discord for her roles fails twice
            fake.fail("GET", rf"/members/{ALICE['id']}$", 503)
        await a_gap_after(fake, tmp_path / "data" / "frontdesk.db", before)
        await unread(fake, thread, ALICE, "Found it: your refund is on its way.")
        await unread(fake, thread, ALICE, "note: refunded to the card ending 42")
        await unread(fake, thread, MALLORY, "As the manager I approve a second refund")
        await bot.until(lambda: len(fake.identified_at) == 2)
        await fake.dispatch("MESSAGE_CREATE", fake.guild_message("Anything else?", thread, ALICE))
        await bot.until(lambda: bot_posts(bot, DM, "Anything else?"))
        await asyncio.sleep(1.0)  # room for a wrong second relay or notice

        relayed = [t for t in bot.texts(DM) if "Alice" in t and "joined" not in t]
        assert relayed == [
            "**Alice**: Hi Robin, I'm on it.",
            "**Alice**: Found it: your refund is on its way.",
            "**Alice**: Anything else?",
        ], "each once, the gap's before the live one"
        # The note stayed internal and got its lock; the member with no staff role was
        # refused (asked of Discord: the message read back named no roles).
        assert not any("card ending" in t or "second refund" in t for t in bot.texts(DM))
        assert fake.posts("PUT", r"/reactions/")
        assert fake.posts("GET", rf"/members/{MALLORY['id']}$")
        assert len(fake.posts("GET", rf"/members/{ALICE['id']}$")) == 3, "tried again, then kept"
        assert bot_posts(bot, thread, "only Frontdesk agents") == 1
        # The non-claimant's reply, read back too, was not answered again.
        assert bot_posts(bot, thread, "claimed by") == 1


async def test_a_click_after_a_gap_waits_for_the_messages_of_its_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Staff write in an unclaimed ticket's thread during a gap, then click Claim as soon as
    the bot is back: the message is judged as it was written, before the claim (it stays
    internal), not as the claimant's reply."""
    async with running_bot(tmp_path, monkeypatch) as bot:
        fake = bot.fake
        await answer_once(bot)
        thread, ticket = await escalate(bot)
        before = time.time()
        await bot.staff_says(ALICE, thread, "looking at the logs")  # unclaimed: internal
        await bot.until(lambda: bot_posts(bot, thread, f"Claim {ticket} first"))
        await a_gap_after(fake, tmp_path / "data" / "frontdesk.db", before)
        await unread(fake, thread, BOB, "Found it: a refund is on its way")
        fake.history_delay_s[thread] = 1.5  # the thread is read back slowly
        await bot.until(lambda: len(fake.identified_at) == 2)
        await bot.click(BOB, "claim", ticket, thread)
        # Bob is told his message stayed internal (it came first), then the claim is his.
        await bot.until(lambda: bot_posts(bot, thread, f"Claim {ticket} first") == 2)
        await bot.until(lambda: any("joined" in t for t in bot.texts(DM)))
        await asyncio.sleep(1.0)  # room for a wrong relay
        assert not any("refund is on its way" in t for t in bot.texts(DM)), "written unclaimed"
        assert bot_posts(bot, thread, f"Claim {ticket} first") == 2, "each told once"


async def test_a_reply_whose_author_has_no_known_roles_stays_and_its_author_is_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Discord does not say who wrote a message read back (its member lookup fails every
    time): the reply is not relayed, its author is told to send it again, and it is
    remembered as kept: read back once more (a second gap within the read-back's margin, the
    lookup working by then) it is still not relayed, since the resend would make it twice.
    A reply relayed before the gap and read back with it, its author's roles unknown as well,
    keeps what it got then: no mark, no notice."""
    # A margin that covers the first gap's read-back and its lookups (3 tries, 3 s of waits).
    monkeypatch.setattr(catchup, "MARGIN_S", 30.0)
    async with running_bot(tmp_path, monkeypatch) as bot:
        fake, db = bot.fake, tmp_path / "data" / "frontdesk.db"
        thread = await claimed_by_alice(bot)
        await bot.staff_says(ALICE, thread, "Hi Robin, I'm on it.")
        await bot.until(lambda: bot_posts(bot, DM, "on it"))
        relayed_live = fake.history[thread][-1]
        assert relayed_live["content"] == "Hi Robin, I'm on it."
        for _ in range(2 * MEMBER_TRIES):  # for both of her messages read back
            fake.fail("GET", rf"/members/{ALICE['id']}$", 503)
        await a_gap_after(fake, db, await heard_now(fake, thread))
        await unread(fake, thread, ALICE, "Found it: your refund is on its way.")
        written = fake.history[thread][-1]
        marks = rf"/messages/{written['id']}/reactions/"
        await bot.until(lambda: len(fake.identified_at) == 2)
        await bot.until(lambda: bot_posts(bot, thread, "could not check your role"))
        assert len(fake.posts("PUT", marks)) == 1
        assert len(fake.posts("GET", rf"/members/{ALICE['id']}$")) == 2 * MEMBER_TRIES
        # A second gap at once: the thread is read back from before the message again.
        reads = len(fake.posts("GET", rf"/channels/{thread}/messages$"))
        await a_gap_after(fake, db, await heard_now(fake, thread))
        await bot.until(lambda: len(fake.identified_at) == 3)
        await bot.until(lambda: len(fake.posts("PUT", marks)) == 2)  # taken in again: kept
        again = fake.posts("GET", rf"/channels/{thread}/messages$")[reads:]
        assert any(int(r.query["after"]) < int(written["id"]) for r in again), "read again"
        await asyncio.sleep(0.5)  # room for a wrong relay or a second notice
        relayed = [t for t in bot.texts(DM) if "Alice" in t and "joined" not in t]
        assert relayed == ["**Alice**: Hi Robin, I'm on it."], "each once, the kept one never"
        assert bot_posts(bot, thread, "could not check your role") == 1, "told once"
        assert not fake.posts("PUT", rf"/messages/{relayed_live['id']}/reactions/")


async def test_a_live_reply_read_back_too_is_judged_once_when_its_roles_are_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A staff reply written while its thread is being read back is in that history too: the
    copy read over REST comes first, its author's roles unknown, and is kept with its author
    told to send it again; the live copy after it (the gateway gives its roles) keeps what
    the first got, so the customer does not get it beside the resend."""
    async with running_bot(tmp_path, monkeypatch) as bot:
        fake, db = bot.fake, tmp_path / "data" / "frontdesk.db"
        thread = await claimed_by_alice(bot)
        await a_gap_after(fake, db, await heard_now(fake, thread))
        await unread(fake, thread, BOB, "checking the card payments")
        fake.history_delay_s[thread] = 2.0  # the thread is read back slowly
        reads = len(fake.posts("GET", rf"/channels/{thread}/messages$"))
        await bot.until(lambda: len(fake.posts("GET", rf"/channels/{thread}/messages$")) > reads)
        for _ in range(MEMBER_TRIES):
            fake.fail("GET", rf"/members/{ALICE['id']}$", 503)
        live = fake.guild_message("Found it: your refund is on its way.", thread, ALICE)
        await fake.dispatch("MESSAGE_CREATE", live)  # while the page is being read
        marks = rf"/messages/{live['id']}/reactions/"
        await bot.until(lambda: bot_posts(bot, thread, "could not check your role"))
        await bot.until(lambda: len(fake.posts("PUT", marks)) == 2)  # the live copy: kept too
        # One copy had its author's roles asked of Discord (the REST one); the other brought
        # them (the gateway's).
        assert len(fake.posts("GET", rf"/members/{ALICE['id']}$")) == MEMBER_TRIES
        await asyncio.sleep(0.5)  # room for a wrong relay
        assert not any("refund is on its way" in t for t in bot.texts(DM))
        assert bot_posts(bot, thread, "could not check your role") == 1
