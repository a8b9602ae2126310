"""Locks that fence (issue 9): a holder whose lease ran out stops before it writes the outbox,
sends or acks, so two replicas never both answer one message."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import pytest

from bot.dispatch import DispatchConfig, Dispatcher
from brain.decision import Decision, DecisionKind
from brain.store.base import Store
from brain.store.lease import LeaseLost
from channels.base import InboundMessage, OutboundMessage
from channels.fake import FakeChannel
from config.errors import ConfigError, StoreError
from config.settings import load_settings
from tests.conftest import StoreFactory


def stall_renewals(store: Store) -> None:
    """Every renewal of ``store``'s leases hangs (a stalled connection or event loop)."""

    async def stalled(*_: Any) -> bool:
        await asyncio.Event().wait()
        return True

    store._locks._renew = stalled  # type: ignore[attr-defined]


async def test_a_lease_that_cannot_be_renewed_stops_its_holder(
    store_factory: StoreFactory,
) -> None:
    store = store_factory(lock_ttl_s=0.3)
    await store.open()
    stall_renewals(store)
    reached_the_end = False
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(LeaseLost):
        async with store.lock("conversation:x", owner="w1") as lease:
            await asyncio.sleep(2.0)  # the brain thinking, long past the lease
            reached_the_end = True
            lease.check()
    assert not reached_the_end
    assert loop.time() - started < 0.35  # stopped before the lease could be taken by another
    await store.close()


async def test_a_singleton_holder_is_told_not_stopped(store_factory: StoreFactory) -> None:
    store = store_factory(lock_ttl_s=0.3)
    await store.open()
    stall_renewals(store)
    async with store.lock("email-mailbox:INBOX") as lease:  # no owner: a mailbox reader
        await asyncio.sleep(0.5)
        with pytest.raises(LeaseLost):
            lease.check()  # it steps down by itself
    await store.close()


async def test_a_lock_whose_release_failed_is_not_waited_out_by_its_own_process(
    store_factory: StoreFactory,
) -> None:
    """The store was unreachable when the holder let go (a Redis Cluster failover): the next
    holder in this process, the retry of that very message, gets the lock as soon as the
    store answers again, not after the whole TTL."""
    store = store_factory(lock_ttl_s=30.0)
    await store.open()
    locks = store._locks  # type: ignore[attr-defined]
    release = locks._release

    async def unreachable(*_: Any) -> None:
        raise StoreError("Redis lock failed: Error 111 connecting")

    locks._release = unreachable
    async with store.lock("conversation:x", owner="w1"):
        pass
    locks._release = release  # the store is back
    await _taken_again_at_once(store)
    await store.close()


async def test_a_lock_taken_with_its_answer_lost_is_not_waited_out_by_its_own_process(
    store_factory: StoreFactory,
) -> None:
    """The acquire ran on the store and its reply was lost (a connection reset by redis-py's
    cluster client mid-failover): the lock now holds a token of this process that no holder
    knows. The retry of that very message must not wait out the TTL (the lock script takes a
    token of this process for a live holder's)."""
    store = store_factory(lock_ttl_s=30.0)
    await store.open()
    locks = store._locks  # type: ignore[attr-defined]
    acquire = locks._try_acquire

    async def answer_lost(*args: Any) -> bool:
        assert await acquire(*args)
        raise StoreError("Redis lock failed (connection reset mid-command)")

    locks._try_acquire = answer_lost
    with pytest.raises(StoreError):
        async with store.lock("conversation:x", owner="w1"):
            pass
    locks._try_acquire = acquire  # the store answers again
    await _taken_again_at_once(store)
    await store.close()


async def test_an_acquire_sent_again_with_its_token_takes_the_lock(
    store_factory: StoreFactory,
) -> None:
    """redis-py's cluster client resends a command whose connection broke; the first attempt
    may have run. The resent acquire (same token) must get the lock, not find it held by a
    live holder of this process and wait out the TTL. Another token of this process still
    finds it held."""
    store = store_factory(lock_ttl_s=30.0)
    await store.open()
    acquire = store._locks._try_acquire  # type: ignore[attr-defined]
    args = (30.0, "w1/", "w1/inc/")
    assert await acquire("conversation:x", "w1/inc/1", *args)
    assert await acquire("conversation:x", "w1/inc/1", *args)
    assert not await acquire("conversation:x", "w1/inc/2", *args)
    assert not await acquire("conversation:x", "w2/other/1", 30.0, "w2/", "w2/other/")
    await store.close()


async def test_check_fails_once_the_lease_ran_out_even_if_no_timer_fired(
    store_factory: StoreFactory,
) -> None:
    store = store_factory(lock_ttl_s=0.2)
    await store.open()
    stall_renewals(store)
    with pytest.raises(LeaseLost):
        async with store.lock("conversation:y") as lease:
            # A blocked event loop: no timer runs, but the next write must still be refused.
            time.sleep(0.25)  # noqa: ASYNC251
            lease.check()
    await store.close()


class SlowChannel(FakeChannel):
    async def send(self, message: OutboundMessage) -> None:
        await asyncio.sleep(0.3)
        await super().send(message)


class RacingBrain:
    """Replica A decides only once replica B has started on the same message (its lease
    must have run out by then); B decides right after A."""

    def __init__(self, me: str, b_started: asyncio.Event, a_decided: asyncio.Event) -> None:
        self.me, self.b_started, self.a_decided = me, b_started, a_decided
        self.called = asyncio.Event()

    async def handle(self, message: InboundMessage) -> Decision:
        self.called.set()
        if self.me == "a":
            await asyncio.wait_for(self.b_started.wait(), 5)
            self.a_decided.set()
        else:
            self.b_started.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.a_decided.wait(), 1.0)
            await asyncio.sleep(0.05)
        return Decision(DecisionKind.REPLY, text=f"answer from {self.me}")


async def test_two_replicas_never_both_answer_one_message(store_factory: StoreFactory) -> None:
    store_a, store_b = store_factory(lock_ttl_s=0.5), store_factory(lock_ttl_s=0.5)
    await store_a.open()
    await store_b.open()
    stall_renewals(store_a)
    b_started, a_decided = asyncio.Event(), asyncio.Event()
    brain_a = RacingBrain("a", b_started, a_decided)
    brain_b = RacingBrain("b", b_started, a_decided)
    channel = SlowChannel()
    common: dict[str, Any] = {"retry_backoff_s": 0.05, "handler_timeout_s": 10}
    a = Dispatcher(store_a, brain_a, {channel.name: channel},
                   DispatchConfig(consumer="a", reclaim_idle_s=60, **common))  # fmt: skip
    b = Dispatcher(store_b, brain_b, {channel.name: channel},
                   DispatchConfig(consumer="b", reclaim_idle_s=0.3, **common))  # fmt: skip
    await store_a.enqueue(channel.message("where is my parcel"))
    run_a = asyncio.create_task(a.run())
    await asyncio.wait_for(brain_a.called.wait(), 5)
    run_b = asyncio.create_task(b.run())
    try:
        await channel.wait_for(lambda sent: len(sent) >= 1, within=10)
        await asyncio.wait_for(a.drain(), 10)
        await asyncio.wait_for(b.drain(), 10)
        await asyncio.sleep(0.5)  # a second answer would be on its way by now
    finally:
        a.stop()
        b.stop()
        await asyncio.wait_for(asyncio.gather(run_a, run_b), 10)
    assert channel.sent_to("c1") == ["answer from b"]
    assert await store_b.queue_depth() == 0
    await store_a.close()
    await store_b.close()


def test_reclaim_idle_must_exceed_the_handler_timeout_plus_send_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FRONTDESK_DISPATCH__HANDLER_TIMEOUT_SECONDS", "60")
    monkeypatch.setenv("FRONTDESK_STORE__RECLAIM_IDLE_SECONDS", "60")
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file=None)
    message = str(caught.value)
    assert message.startswith("FRONTDESK_STORE__RECLAIM_IDLE_SECONDS: must exceed")
    assert "\n" not in message and "FRONTDESK_DISPATCH__HANDLER_TIMEOUT_SECONDS" in message
    monkeypatch.setenv("FRONTDESK_STORE__RECLAIM_IDLE_SECONDS", "120")
    assert load_settings(env_file=None).store.reclaim_idle_seconds == 120


async def _taken_again_at_once(store: Any) -> None:
    """The lock is taken by its own process at once, then released for good."""
    started = time.monotonic()
    async with store.lock("conversation:x", owner="w1"):
        assert time.monotonic() - started < 1.0
    async with store.lock("conversation:x", owner="w2"):
        assert time.monotonic() - started < 1.0
