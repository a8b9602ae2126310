"""Lane tasks: a task whose lane is done takes up the next new conversation (instead of a task
started for every conversation), its log lines then name nothing of the lane before, at most
``MAX_PARKED`` wait for a lane, and every one of them ends when the dispatcher stops."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from bot.dispatch import DispatchConfig, Dispatcher
from bot.observability import current_message
from brain.decision import Decision, DecisionKind
from brain.store.base import Store
from channels.base import InboundMessage
from channels.fake import FakeChannel
from config.errors import StoreError


class Echo:
    """Answers "echo: <text>" and notes which task answered."""

    def __init__(self) -> None:
        self.tasks: list[asyncio.Task[Any] | None] = []

    async def handle(self, message: InboundMessage) -> Decision:
        self.tasks.append(asyncio.current_task())
        await asyncio.sleep(0)
        return Decision(DecisionKind.REPLY, text=f"echo: {message.text}")


class LockFailsOnce:
    """The real store, whose first conversation lock for ``conversation`` fails (the store
    is down for a moment); it notes the log context bound when each lock is asked for."""

    def __init__(self, store: Store, conversation: str) -> None:
        self._store = store
        self._conversation = conversation
        self.failed = False
        self.bound: list[tuple[str, str] | None] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)

    def lock_conversation(self, key: str, *args: Any, **kwargs: Any) -> Any:
        self.bound.append(current_message())
        if key.endswith(self._conversation) and not self.failed:
            self.failed = True
            raise StoreError("the store is down for a moment")
        return self._store.lock_conversation(key, *args, **kwargs)


@asynccontextmanager
async def running(
    store: Any, brain: Echo, channel: FakeChannel
) -> AsyncIterator[tuple[Dispatcher, asyncio.Task[None]]]:
    config = DispatchConfig(consumer="w1", retry_backoff_s=0.01)
    dispatcher = Dispatcher(store, brain, {channel.name: channel}, config)
    await channel.start(dispatcher.submit)
    run = asyncio.create_task(dispatcher.run())
    try:
        yield dispatcher, run
    finally:
        dispatcher.stop()
        await asyncio.wait_for(run, 10)
        await channel.stop()


async def test_a_done_lane_task_takes_up_the_next_conversation_and_ends_on_stop(
    store: Store,
) -> None:
    channel, brain = FakeChannel(), Echo()
    async with running(store, brain, channel) as (dispatcher, run):
        await channel.inject(channel.message("one", conversation="c1"))
        await dispatcher.drain()
        parked = set(dispatcher.lanes.tasks)
        await channel.inject(channel.message("two", conversation="c2"))
        await dispatcher.drain()
        assert len(parked) == 1 and set(dispatcher.lanes.tasks) == parked
        assert brain.tasks == [*parked, *parked]  # the one task answered both conversations
        dispatcher.stop()
        await asyncio.wait_for(run, 10)
        assert not dispatcher.lanes.tasks and all(task.done() for task in parked)
    assert channel.sent_to("c1") == ["echo: one"] and channel.sent_to("c2") == ["echo: two"]


async def test_a_taken_up_lane_logs_nothing_of_the_conversation_before(store: Store) -> None:
    channel, brain = FakeChannel(), Echo()
    failing = LockFailsOnce(store, "c2")
    async with running(failing, brain, channel) as (dispatcher, _):
        await channel.inject(channel.message("one", conversation="c1"))
        await dispatcher.drain()
        await channel.inject(channel.message("two", conversation="c2"))
        await dispatcher.drain()
    assert failing.failed
    # Every lock is asked for before the message is bound: the retry's warning (logged from
    # the lane) must not name c1's message, which the same task answered before.
    assert failing.bound == [None, None, None]
    assert channel.sent_to("c2") == ["echo: two"]


async def test_at_most_max_parked_lane_tasks_wait(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.dispatch.lanes.MAX_PARKED", 2)
    channel, brain = FakeChannel(), Echo()
    for i in range(6):
        await store.enqueue(channel.message(f"q{i}", conversation=f"c{i}"))
    async with running(store, brain, channel) as (dispatcher, _):
        await asyncio.wait_for(dispatcher.drain(), 10)
        assert len(dispatcher.lanes.tasks) == 2
    assert sorted(m.text for m in channel.sent) == [f"echo: q{i}" for i in range(6)]
