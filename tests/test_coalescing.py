"""Burst coalescing (issue 13): what a customer sends within a short window is answered as one
question, with one reply."""

from __future__ import annotations

import asyncio

from bot.dispatch import DispatchConfig, Dispatcher
from brain.decision import Decision, DecisionKind
from brain.store.base import Store
from channels.base import InboundMessage
from channels.fake import FakeChannel


class Echo:
    def __init__(self) -> None:
        self.seen: list[str] = []

    async def handle(self, message: InboundMessage) -> Decision:
        self.seen.append(message.text)
        return Decision(DecisionKind.REPLY, text=f"echo: {message.text}")


async def test_a_burst_is_answered_as_one_question(store: Store) -> None:
    channel, brain = FakeChannel(), Echo()
    config = DispatchConfig(consumer="w1", coalesce_s={"fake": 0.4})
    dispatcher = Dispatcher(store, brain, {channel.name: channel}, config)
    await channel.start(dispatcher.submit)
    worker = asyncio.create_task(dispatcher.run())
    try:
        for text in ("hi", "my order 1234", "has not arrived"):
            await channel.inject(channel.message(text))
            await asyncio.sleep(0.15)
        await channel.inject(channel.message("from someone else", author="other"))
        await channel.wait_for(lambda sent: len(sent) >= 2, within=3)
        await asyncio.sleep(0.6)
        await channel.inject(channel.message("thanks"))
        await asyncio.wait_for(dispatcher.drain(), 5)
    finally:
        dispatcher.stop()
        await asyncio.wait_for(worker, 10)
    assert brain.seen == ["hi\nmy order 1234\nhas not arrived", "from someone else", "thanks"]
    assert len(channel.sent_to("c1")) == 3
    assert await store.queue_depth() == 0
    assert (await store.counters())["messages_coalesced"] == 2


async def test_channels_without_a_window_answer_each_message(store: Store) -> None:
    channel, brain = FakeChannel(), Echo()
    dispatcher = Dispatcher(store, brain, {channel.name: channel},
                            DispatchConfig(consumer="w1", coalesce_s={"slack": 2.0}))  # fmt: skip
    await channel.start(dispatcher.submit)
    worker = asyncio.create_task(dispatcher.run())
    try:
        for text in ("one", "two"):
            await channel.inject(channel.message(text))
        await asyncio.wait_for(dispatcher.drain(), 5)
    finally:
        dispatcher.stop()
        await asyncio.wait_for(worker, 10)
    assert brain.seen == ["one", "two"]
