"""Singleton work across two replicas on one real redis-server: one holder at a time, a standby
that takes over within the lease TTL when the holder stops, is cut off or loses its lease, and
the SLA re-page job that posts once with two schedulers."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.desk_hub import DeskHub
from bot.scheduler import Scheduler
from bot.wiring import build_hub
from brain.conversation import card_for
from brain.store.base import StoreLimits, TicketStatus
from brain.store.redis import RedisStore
from channels.base import Author, ConversationRef, EscalationCard
from channels.fake import FakeDesk
from channels.singleton import NotHeld, Singleton, Work, stop
from config.errors import StoreError
from config.settings import Settings
from tests.polling import until
from tests.servers import RedisServer

TTL_S = 1.0
ROOT = Path(__file__).resolve().parent.parent


class Recorder:
    """Work that notes when each replica ran it."""

    def __init__(self) -> None:
        self.running: set[str] = set()
        self.spans: list[tuple[str, float, float]] = []

    def work(self, name: str) -> Work:
        async def run() -> None:
            started = time.monotonic()
            self.running.add(name)
            try:
                await asyncio.Event().wait()
            finally:
                self.running.discard(name)
                self.spans.append((name, started, time.monotonic()))

        return run


@pytest.fixture
async def stores(redis_server: RedisServer) -> AsyncIterator[list[RedisStore]]:
    namespace = f"t{uuid.uuid4().hex[:10]}"
    replicas = [RedisStore.from_url(redis_server.url, limits=StoreLimits(lock_ttl_s=TTL_S),
                                    namespace=namespace) for _ in range(2)]  # fmt: skip
    for store in replicas:
        await store.open()
    yield replicas
    for store in replicas:
        await store.close()


def singleton(store: RedisStore, name: str = "mailbox") -> Singleton:
    return Singleton(store, name, retry_base_s=0.05, retry_max_s=0.2, watch_s=0.02)


async def test_one_replica_runs_it_and_the_standby_takes_over(stores: list[RedisStore]) -> None:
    work = Recorder()
    a, b = singleton(stores[0]), singleton(stores[1])
    tasks = {"a": asyncio.create_task(a.run(work.work("a"))),
             "b": asyncio.create_task(b.run(work.work("b")))}  # fmt: skip
    try:
        await until(lambda: len(work.running) == 1, 2)
        await asyncio.sleep(3 * TTL_S)  # renewals keep it with the first holder
        assert len(work.running) == 1 and a.held != b.held
        holder = next(iter(work.running))
        await stop(tasks.pop(holder))  # the holder stops (its lease is released)
        assert work.running == set()
        took = await until(lambda: work.running == {"a", "b"} - {holder}, 2 * TTL_S)
        assert took < TTL_S
    finally:
        for task in tasks.values():
            await stop(task)


async def test_a_holder_cut_off_from_the_store_steps_down_before_the_standby_takes_over(
    stores: list[RedisStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    work = Recorder()
    a = singleton(stores[0])
    first = asyncio.create_task(a.run(work.work("a")))
    await until(lambda: work.running == {"a"}, 2)
    b = singleton(stores[1])
    second = asyncio.create_task(b.run(work.work("b")))

    async def unreachable(*_args: object) -> bool:
        raise StoreError("connection refused")

    # Replica a can no longer reach Redis: it cannot renew, so its lease runs out. Like a
    # dead or frozen holder, it never releases the lock; b must wait out the TTL.
    for primitive in ("_renew", "_try_acquire", "_release"):
        monkeypatch.setattr(stores[0]._locks, primitive, unreachable)
    cut_at = time.monotonic()
    try:
        await until(lambda: work.running == {"b"}, 3 * TTL_S)
        (_, _, a_stopped), = [s for s in work.spans if s[0] == "a"]  # fmt: skip
        b_started = time.monotonic()
        assert a_stopped < b_started, "the old holder stopped before the new one began"
        assert b_started - cut_at < 2 * TTL_S, "the standby took over within the lease TTL"
        with pytest.raises(NotHeld):
            a.check()
        b.check()
    finally:
        await stop(first)
        await stop(second)


async def test_a_killed_holder_is_replaced_within_the_lease_ttl(
    stores: list[RedisStore], redis_server: RedisServer
) -> None:
    namespace = stores[0].namespace
    holder = subprocess.Popen(  # noqa: ASYNC220 (started once; the test waits on it below)
        [sys.executable, "-m", "tests.singleton_holder", redis_server.url, namespace,
         "mailbox", str(TTL_S)],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    work = Recorder()
    standby = singleton(stores[1])
    task: asyncio.Task[None] | None = None
    try:
        assert holder.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(holder.stdout.readline), 20)
        assert line.strip() == "holding"
        task = asyncio.create_task(standby.run(work.work("standby")))
        await asyncio.sleep(2 * TTL_S)
        assert work.running == set(), "the standby must wait while the holder lives"
        holder.kill()  # SIGKILL: no release, no goodbye; the lease must run out
        killed_at = time.monotonic()
        await until(lambda: work.running == {"standby"}, 3 * TTL_S)
        assert time.monotonic() - killed_at < 1.5 * TTL_S, "taken over within the lease TTL"
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
        await stop(task)


async def test_a_lost_lease_stops_the_work_which_resumes_once_retaken(
    stores: list[RedisStore], redis_server: RedisServer
) -> None:
    work = Recorder()
    a = singleton(stores[0])
    task = asyncio.create_task(a.run(work.work("a")))
    try:
        await until(lambda: work.running == {"a"}, 2)
        # Someone else's token now sits on the lease (it expired and another replica took it).
        await stores[0].client.set(stores[0]._key("lock", "mailbox"), "other", px=500)
        await until(lambda: work.running == set(), 2 * TTL_S)
        assert not a.held
        await until(lambda: work.running == {"a"}, 3 * TTL_S)  # the other's lease ran out
        assert a.terms == 2 and len(work.spans) == 1
    finally:
        await stop(task)


class SlowDesk(FakeDesk):
    """A desk whose pages take a moment, so two unguarded replicas would overlap."""

    async def page(self, card: EscalationCard, thread_of: str | None = None) -> str:
        await asyncio.sleep(0.05)
        return await super().page(card, thread_of)


async def test_the_sla_repage_posts_once_with_two_schedulers(
    stores: list[RedisStore], tmp_path: Path
) -> None:
    desk = SlowDesk()  # one desk channel both replicas post to
    hubs = [build_hub(Settings(), store, [desk]) for store in stores]
    for hub in hubs:
        hub.sla_minutes = dict.fromkeys(("urgent", "high", "normal", "low"), 0.01)  # 0.6 s
    ref = ConversationRef("fake", "c1")
    ticket, _ = await stores[0].open_ticket(ref, Author("u1", "Ann"), ["human_request"], "help")
    await hubs[0].page(card_for(ticket))
    assert len(desk.pages) == 1
    schedulers = [
        Scheduler(store, tmp_path / f"beat{i}", 60.0, "UTC", singleton(store, "scheduler"))
        for i, store in enumerate(stores)
    ]
    for scheduler, hub in zip(schedulers, hubs, strict=True):

        async def repage(hub: DeskHub = hub, scheduler: Scheduler = scheduler) -> int:
            return await hub.repage_due(scheduler.leader.check)

        scheduler.every(3600, "sla-repage", repage, singleton=True)
        await scheduler.start()
    try:
        await until(lambda: any(s.leader.held for s in schedulers), 2 * TTL_S)
        await asyncio.sleep(0.65)  # past the first re-page step (0.6 s), not the second
        # Both replicas' jobs fire at the same moment, twice: the race is real.
        for _ in range(2):
            await asyncio.gather(*(s.run_now("sla-repage") for s in schedulers))
    finally:
        for scheduler in schedulers:
            await scheduler.stop()
    repages = [card.repage for card, _ in desk.pages if card.repage]
    saved = await stores[1].get_ticket(ticket.id)
    assert saved is not None and saved.status is TicketStatus.ESCALATED
    assert repages == [1], f"the first re-page step must be posted once, not {repages}"
    assert [r.level for r in saved.repages] == [1]
    assert sum(1 for s in schedulers if s.leader.terms) == 1, "only one replica ever led"
