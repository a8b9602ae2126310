"""Per-customer protection (issue 13): a token bucket per customer in the store; over it the
customer gets one polite "slow down" and the messages wait, none is lost."""

from __future__ import annotations

import asyncio

from bot.dispatch import SLOW_DOWN_TEXT, DispatchConfig, Dispatcher
from brain.decision import Decision, DecisionKind
from brain.store.base import Store
from channels.base import InboundMessage
from channels.fake import FakeChannel


class Echo:
    async def handle(self, message: InboundMessage) -> Decision:
        return Decision(DecisionKind.REPLY, text=f"echo: {message.text}")


async def test_the_store_keeps_one_bucket_per_customer(store: Store) -> None:
    assert await store.take_token("customer:a", rate_per_s=1.0, burst=2) == 0
    assert await store.take_token("customer:a", rate_per_s=1.0, burst=2) == 0
    wait = await store.take_token("customer:a", rate_per_s=1.0, burst=2)
    assert 0.5 < wait <= 1.0
    assert await store.take_token("customer:b", rate_per_s=1.0, burst=2) == 0
    await asyncio.sleep(wait + 0.05)
    assert await store.take_token("customer:a", rate_per_s=1.0, burst=2) == 0


async def test_over_the_rate_one_slow_down_and_every_message_answered_in_order(
    store: Store,
) -> None:
    channel = FakeChannel()
    config = DispatchConfig(consumer="w1", customer_rate_per_s=10.0, customer_burst=3)
    dispatcher = Dispatcher(store, Echo(), {channel.name: channel}, config)
    await channel.start(dispatcher.submit)
    worker = asyncio.create_task(dispatcher.run())
    try:
        for i in range(8):
            await channel.inject(channel.message(f"q{i}", conversation="eager", author="eager"))
        await channel.inject(channel.message("hi", conversation="calm", author="calm"))
        await channel.wait_for(lambda sent: any(m.ref.conversation_id == "calm" for m in sent),
                               within=0.5)  # fmt: skip
        await asyncio.wait_for(dispatcher.drain(), 10)
    finally:
        dispatcher.stop()
        await asyncio.wait_for(worker, 10)
    eager = channel.sent_to("eager")
    assert eager.count(SLOW_DOWN_TEXT) == 1
    assert [t for t in eager if t != SLOW_DOWN_TEXT] == [f"echo: q{i}" for i in range(8)]
    assert (await store.counters())["customers_throttled"] >= 1


async def test_channels_outside_the_rate_are_not_limited(store: Store) -> None:
    channel = FakeChannel()
    config = DispatchConfig(consumer="w1", customer_rate_per_s=0.1, customer_burst=1,
                            rate_channels=frozenset({"slack"}))  # fmt: skip
    dispatcher = Dispatcher(store, Echo(), {channel.name: channel}, config)
    await channel.start(dispatcher.submit)
    worker = asyncio.create_task(dispatcher.run())
    try:
        for i in range(5):
            await channel.inject(channel.message(f"q{i}"))
        await asyncio.wait_for(dispatcher.drain(), 3)
    finally:
        dispatcher.stop()
        await asyncio.wait_for(worker, 10)
    assert channel.sent_to("c1") == [f"echo: q{i}" for i in range(5)]
