"""The daily digest: posted at the configured time under a controllable clock, once across
two schedulers on one Redis, with what is waiting and the knowledge gaps; an approved gap
answers the next customer asking it, without a restart."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
import uuid
from pathlib import Path

from bot.digest import DigestJob, DigestSource
from brain.digest import cluster_gaps
from brain.store.base import OPEN_STATUSES, Store, StoreLimits, TicketStatus
from brain.store.facts import Facts, Gap
from brain.store.redis import RedisStore
from brain.store.sqlite import SqliteStore
from channels.base import Author, DeskAction, Role
from tests.ops_bot import running_bot, settings_for
from tests.servers import RedisServer

BERLIN = "Europe/Berlin"


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


async def test_posted_at_the_scheduled_time_once_a_day(store: Store) -> None:
    posted: list[str] = []

    async def post(text: str) -> None:
        posted.append(text)

    # 09:00 in Berlin is 08:00 UTC in winter.
    clock = Clock(dt.datetime(2026, 12, 1, 7, 59, 30, tzinfo=dt.UTC))
    source = DigestSource(store, Facts(store, 86400), BERLIN)
    job = DigestJob(source, post, dt.time(9, 0), "replica-a", clock)
    assert not await job.tick() and posted == []
    clock.now = dt.datetime(2026, 12, 1, 8, 0, 0, tzinfo=dt.UTC)
    assert await job.tick()
    assert len(posted) == 1 and posted[0].startswith("Frontdesk daily digest for 2026-11-30")
    clock.now += dt.timedelta(minutes=30)
    assert not await job.tick() and len(posted) == 1
    clock.now = dt.datetime(2026, 12, 2, 7, 59, tzinfo=dt.UTC)
    assert not await job.tick()
    clock.now = dt.datetime(2026, 12, 2, 8, 1, tzinfo=dt.UTC)
    assert await job.tick()
    days = [p.splitlines()[0].removeprefix("Frontdesk daily digest for ") for p in posted]
    assert days == ["2026-11-30", "2026-12-01"]


async def test_two_schedulers_on_one_redis_post_it_once(redis_server: RedisServer) -> None:
    namespace = f"t{uuid.uuid4().hex[:10]}"
    stores = [RedisStore.from_url(redis_server.url, limits=StoreLimits(), namespace=namespace)
              for _ in range(2)]  # fmt: skip
    posted: list[str] = []

    async def post(text: str) -> None:
        await asyncio.sleep(0.05)  # composing and posting take a moment: the race is real
        posted.append(text)

    clock = Clock(dt.datetime(2026, 12, 1, 9, 0, 5, tzinfo=dt.UTC))
    for s in stores:
        await s.open()
    try:
        jobs = [DigestJob(DigestSource(s, Facts(s, 86400)), post, dt.time(9, 0), f"r{i}", clock)
                for i, s in enumerate(stores)]  # fmt: skip
        for _ in range(3):
            results = await asyncio.gather(*(job.tick() for job in jobs))
            clock.now += dt.timedelta(seconds=30)
        assert len(posted) == 1 and sorted(results) == [False, False]
    finally:
        for s in stores:
            await s.close()


def gap(gap_id: str, question: str, intent: str | None = None, minute: int = 0) -> Gap:
    at = dt.datetime(2026, 11, 30, 10, minute, tzinfo=dt.UTC)
    return Gap(gap_id, question, f"answer to {gap_id}", intent, ("low_confidence",), at)


def test_gaps_cluster_by_shared_words() -> None:
    clusters = cluster_gaps([
        gap("T-1", "Do you offer gift wrapping for presents?", minute=1),
        gap("T-2", "Can I get gift wrapping on my order?", minute=2),
        gap("T-3", "Is there a store in Lisbon?", minute=3),
        gap("T-4", "gift wrapping available?", minute=4),
    ])  # fmt: skip
    assert [[g.id for g in c.gaps] for c in clusters] == [["T-1", "T-2", "T-4"], ["T-3"]]
    assert clusters[0].lead.id == "T-4"


async def test_an_approved_gap_answers_the_next_customer(store: Store, tmp_path: Path) -> None:
    question = "Can I bring my dog along to a pottery glazing workshop on a Sunday?"
    answer = "Our pottery workshops run on Saturdays only, and dogs are welcome in the studio."
    async with running_bot(settings_for(str(tmp_path)), store) as bot:
        first = await bot.customer(question, "c1")
        tickets = await store.list_tickets([TicketStatus.ESCALATED])
        assert tickets, first
        ticket = tickets[0]
        assert {"low_confidence", "out_of_scope"} & set(ticket.reasons), (first, ticket.reasons)
        await bot.agent(DeskAction.CLAIM, ticket_id=ticket.id)
        await bot.agent(DeskAction.REPLY, desk_ref=bot.desk.cards[ticket.id], text=answer,
                        event_id="ev-gift")  # fmt: skip
        await bot.agent(DeskAction.RESOLVE, ticket_id=ticket.id)
        digest = await bot.agent(DeskAction.COMMAND, text="digest")
        assert digest.text == "Digest posted."
        text = bot.desk.alerts[-1]
        assert question[:60] in text and answer in text
        assert f"Add to FAQ: /frontdesk gap approve {ticket.id}" in text
        assert f"{ticket.id} · " not in text  # resolved: not among the open tickets
        refused = await bot.agent(DeskAction.COMMAND, text=f"gap approve {ticket.id}")
        assert not refused.ok  # agents may not change the knowledge base
        bot.desk.roles["U_ADMIN"] = Role.ADMIN
        admin = Author(id="U_ADMIN", display_name="Ada")
        approved = await bot.agent(DeskAction.COMMAND, who=admin, text=f"gap approve {ticket.id}")
        assert approved.ok, approved.text
        reply = await bot.customer("can I bring my dog to a pottery glazing workshop?", "c2")
        assert reply == [answer]
        assert len(await store.list_tickets(OPEN_STATUSES)) == 0
        assert (
            await bot.agent(DeskAction.COMMAND, text="gap list")
        ).text == "No knowledge gaps waiting."


def test_frontdesk_digest_print(tmp_path: Path) -> None:
    async def prepare() -> None:
        store = SqliteStore(tmp_path / ".frontdesk" / "frontdesk.db", limits=StoreLimits())
        await store.open()
        await Facts(store, 86400).add_gap(gap("T-9", "Do you ship to the Azores?"))
        await store.close()

    asyncio.run(prepare())
    run = [sys.executable, "-m", "bot.cli", "digest", "--print", "--date", "2026-11-30"]
    done = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Frontdesk daily digest for 2026-11-30")
    assert "Do you ship to the Azores?" in done.stdout and "gap approve T-9" in done.stdout
