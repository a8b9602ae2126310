"""Discord customer messages while the store cannot queue them (``channels/holding.py``): the
gateway never delivers an event again, so the channel holds each one in memory, in arrival
order per conversation, and queues it once the store is back, however long that takes (today's
code gave up after five tries, 7.5 s). Past the cap on held messages, and at shutdown, each
message not taken gets a polite "send it again" reply: nothing is lost in silence.

Through the real discord.py against the fake Discord; the last test against a real
redis-server that is killed and restarted (AOF) while messages arrive."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from brain.store.base import StoreLimits
from brain.store.redis import RedisStore
from channels.base import InboundMessage
from channels.discord.connection import DiscordConnection
from channels.discord.customers import NOT_TAKEN, DiscordChannel
from config.errors import StoreError
from tests.fakes.fake_discord import ALICE, ROBIN, SUPPORT, FakeDiscord
from tests.servers import start_redis
from tests.test_discord import Inbox, discord_settings

FAST = {"retry_base_s": 0.01, "retry_max_s": 0.05}


class Outage(Inbox):
    """The queue, down while ``down`` is set: each call raises like the store does."""

    def __init__(self) -> None:
        super().__init__()
        self.down = True
        self.failures = 0

    async def __call__(self, message: InboundMessage) -> bool:
        if self.down:
            self.failures += 1
            raise StoreError("Redis enqueue failed: Connection refused")
        return await super().__call__(message)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


async def started(
    fake: FakeDiscord, handler: Any, **changes: Any
) -> tuple[DiscordConnection, DiscordChannel]:
    settings = discord_settings(fake, **changes)
    connection = DiscordConnection(settings, ready_timeout_s=0.05)
    channel = DiscordChannel(connection, settings)
    for name, value in FAST.items():
        setattr(channel.held, name, value)
    await channel.start(handler)
    await connection.start()
    return connection, channel


async def test_a_long_outage_holds_messages_in_order_until_the_store_is_back(
    fake: FakeDiscord,
) -> None:
    queue = Outage()
    connection, channel = await started(fake, queue)
    try:
        robin = [fake.guild_message(f"robin {n}", author=ROBIN) for n in range(3)]
        alice = fake.guild_message("alice 0", author=ALICE)
        for payload in (robin[0], alice, robin[1], robin[2]):
            await fake.dispatch("MESSAGE_CREATE", payload)
        await fake.wait_for(lambda: channel.held.held == 4)
        # Far more tries than the five (7.5 s) the channel used to give a message.
        await fake.wait_for(lambda: queue.failures >= 40, within=10)
        assert channel.held.held == 4 and queue.messages == []
        queue.down = False
        await fake.wait_for(lambda: len(queue.messages) == 4)
        by_robin = [m.text for m in queue.messages if m.author.id == ROBIN["id"]]
        assert by_robin == ["robin 0", "robin 1", "robin 2"], "arrival order per conversation"
        assert channel.held.held == 0 and channel.held.refused == 0
        assert not [m for m in fake.sent if m.get("content") == NOT_TAKEN]
        # Once nothing is held, a message goes straight to the queue again.
        await fake.dispatch("MESSAGE_CREATE", fake.guild_message("robin 3", author=ROBIN))
        await fake.wait_for(lambda: len(queue.messages) == 5)
    finally:
        await connection.stop()
        await channel.stop()


async def test_past_the_cap_a_message_is_refused_politely_and_logged(
    fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    queue = Outage()
    connection, channel = await started(fake, queue, max_held_messages=2)
    try:
        payloads = [fake.guild_message(f"question {n}", author=ROBIN) for n in range(3)]
        with caplog.at_level(logging.ERROR, logger="channels.holding"):
            for payload in payloads:
                await fake.dispatch("MESSAGE_CREATE", payload)
            await fake.wait_for(lambda: fake.sent_to(SUPPORT))
        refusal = fake.sent_to(SUPPORT)[0]
        assert refusal["content"] == NOT_TAKEN
        assert str(refusal["message_reference"]["message_id"]) == payloads[2]["id"]
        assert any("(the limit)" in r.getMessage() and payloads[2]["id"] in r.getMessage()
                   for r in caplog.records)  # fmt: skip
        assert channel.held.held == 2 and channel.held.refused == 1
        queue.down = False
        await fake.wait_for(lambda: len(queue.messages) == 2)
        assert [m.text for m in queue.messages] == ["question 0", "question 1"]
    finally:
        await connection.stop()
        await channel.stop()


async def test_held_messages_at_shutdown_are_answered_send_again_before_rest_closes(
    fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    queue = Outage()
    connection, channel = await started(fake, queue)
    payloads = [fake.dm_message("first"), fake.guild_message("second", author=ALICE)]
    for payload in payloads:
        await fake.dispatch("MESSAGE_CREATE", payload)
    await fake.wait_for(lambda: channel.held.held == 2)
    with caplog.at_level(logging.ERROR, logger="channels.holding"):
        stopping = asyncio.create_task(connection.stop())
        await asyncio.sleep(0.2)
        assert not stopping.done(), "the held messages get a grace period"
        await asyncio.wait_for(stopping, 10)
    await channel.stop()
    refused = [m for m in fake.sent if m.get("content") == NOT_TAKEN]
    assert sorted(str(m["message_reference"]["message_id"]) for m in refused) == sorted(
        p["id"] for p in payloads
    )
    logged = [r.getMessage() for r in caplog.records if "was never queued" in r.getMessage()]
    assert len(logged) == 2 and queue.messages == []


async def test_a_message_that_keeps_failing_is_refused_not_blocking_its_conversation(
    fake: FakeDiscord,
) -> None:
    queue, bad = Inbox(), "this one breaks the queue"

    async def buggy(message: InboundMessage) -> bool:
        if message.text == bad:
            raise ValueError("a bug, not an outage")
        return await queue(message)

    connection, channel = await started(fake, buggy)
    try:
        for text in (bad, "and this one is fine"):
            await fake.dispatch("MESSAGE_CREATE", fake.guild_message(text, author=ROBIN))
        await fake.wait_for(lambda: [m.text for m in queue.messages] == ["and this one is fine"])
        await fake.wait_for(lambda: fake.sent_to(SUPPORT))
        assert fake.sent_to(SUPPORT)[0]["content"] == NOT_TAKEN
    finally:
        await connection.stop()
        await channel.stop()


async def test_redis_killed_and_restarted_loses_no_discord_message(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    server = start_redis(tmp_path / "redis", aof=True)
    store = RedisStore.from_url(server.url, limits=StoreLimits(), consumer="held")
    await store.open()
    queued: list[str] = []

    async def enqueue(message: InboundMessage) -> bool:
        fresh = await store.enqueue(message)
        queued.append(message.text)
        return fresh

    connection, channel = await started(fake, enqueue)
    try:
        await fake.dispatch("MESSAGE_CREATE", fake.guild_message("before", author=ROBIN))
        await fake.wait_for(lambda: queued == ["before"])
        server.kill()
        texts = [f"during {n}" for n in range(3)]
        for text in texts:
            await fake.dispatch("MESSAGE_CREATE", fake.guild_message(text, author=ROBIN))
        await fake.wait_for(lambda: channel.held.held == 3, within=30)
        await asyncio.sleep(1.0)  # several failed tries against the dead server
        server.restart()
        await fake.wait_for(lambda: channel.held.held == 0, within=30)
        entries = await store.read_queue("held", 10, 0.1)
        assert [e.message.text for e in entries if isinstance(e.message, InboundMessage)] == [
            "before",
            *texts,
        ]
        assert channel.held.refused == 0
    finally:
        await connection.stop()
        await channel.stop()
        await store.close()
        server.stop()
