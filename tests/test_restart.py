"""Restarts and outages (issue 10): a restarted consumer takes back its own leases at once, and
while the store is down the dispatcher logs one line per retry, with backoff."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from bot.dispatch import DispatchConfig, Dispatcher
from brain.decision import Decision, DecisionKind
from brain.store.base import Store
from channels.base import InboundMessage
from channels.fake import FakeChannel
from config.errors import StoreError
from tests.conftest import StoreFactory


class Echo:
    async def handle(self, message: InboundMessage) -> Decision:
        return Decision(DecisionKind.REPLY, text=f"echo: {message.text}")


async def test_a_restarted_consumer_takes_back_its_own_leases_at_once(
    store_factory: StoreFactory,
) -> None:
    channel = FakeChannel()
    message = channel.message("left behind by a kill -9")
    dead = store_factory(lock_ttl_s=30.0)
    await dead.open()
    await dead.enqueue(message)
    assert len(await dead.read_queue("host-1", 10, 0.1)) == 1
    holding = asyncio.Event()

    async def hold_forever() -> None:
        async with dead.lock(f"conversation:{message.ref.key}", owner="host-1"):
            holding.set()
            await asyncio.Event().wait()

    holder = asyncio.create_task(hold_forever())
    await asyncio.wait_for(holding.wait(), 5)
    await dead.close()  # the process is gone: its lease stays behind for 30 s
    holder.cancel()
    await asyncio.gather(holder, return_exceptions=True)

    restarted = store_factory(lock_ttl_s=30.0)
    await restarted.open()
    config = DispatchConfig(consumer="host-1", reclaim_idle_s=120)
    dispatcher = Dispatcher(restarted, Echo(), {channel.name: channel}, config)
    task = asyncio.create_task(dispatcher.run())
    try:
        await channel.wait_for(lambda sent: len(sent) == 1, within=3.0)
    finally:
        dispatcher.stop()
        await asyncio.wait_for(task, 10)
    assert channel.sent_to("c1") == ["echo: left behind by a kill -9"]
    await restarted.close()


async def test_someone_elses_lease_is_not_taken(store_factory: StoreFactory) -> None:
    one, two = store_factory(lock_ttl_s=30.0), store_factory(lock_ttl_s=30.0)
    await one.open()
    await two.open()
    async with one.lock("conversation:z", owner="host-1"):
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3), two.lock("conversation:z", owner="host-2"):
                pass
    await one.close()
    await two.close()


class DownStore:
    """A store whose queue reads fail as they do while Redis is down."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def read_queue(self, *_: object, **__: object) -> list[object]:
        raise StoreError("Redis read_queue failed: Error 111 connecting to 127.0.0.1:6379")

    async def reclaim(self, *_: object, **__: object) -> list[object]:
        raise StoreError("Redis reclaim failed: Error 111 connecting to 127.0.0.1:6379")


async def test_a_store_outage_logs_one_line_per_retry_with_backoff(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    channel = FakeChannel()
    config = DispatchConfig(consumer="w1", reclaim_idle_s=0.1)
    dispatcher = Dispatcher(DownStore(store), Echo(), {channel.name: channel}, config)  # type: ignore[arg-type]
    with caplog.at_level(logging.INFO, logger="bot"):
        task = asyncio.create_task(dispatcher.run())
        await asyncio.sleep(2.0)
        dispatcher.stop()
        await asyncio.wait_for(task, 40)
    records = [r for r in caplog.records if r.name in ("bot.dispatch", "bot.flow")]
    assert records, "an outage must be logged"
    assert all(r.exc_info is None for r in records), "no tracebacks for a store outage"
    assert all("retrying in" in r.getMessage() for r in records)
    # Waits of 0.5, 1 and 2 s for each of the two loops: at most three lines each in 2 s.
    assert len(records) <= 6, [r.getMessage() for r in records]
    waits = [r.args[2] for r in records if "inbound" in r.getMessage()]  # type: ignore[index]
    assert waits == sorted(waits) and len(set(waits)) == len(waits)
