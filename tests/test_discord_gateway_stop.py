"""Stopping a gateway shard's term, through the real discord.py against the fake Discord, in
the three ways that once hung ``test_discord_spread`` or left a coroutine behind for the next
test, each made deterministic here:

- a term cancelled in the very loop turn its gateway handshake completes (Python 3.11's
  ``asyncio.wait_for`` inside discord.py's ``Client.connect`` swallowed that cancellation: the
  client read on without its lease, and whoever stopped the term waited forever);
- a caller cancelled while it stops a term (``Shard.release``, run by the shard spread's beat:
  its cancellation was swallowed, the shard started again and ``stop()`` hung);
- a client closed just after READY (discord.py's delayed ``on_ready`` then dispatched on the
  closed client: an AttributeError and a ``_run_event`` coroutine never awaited).
"""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import AsyncIterator
from typing import Any

import discord.gateway
import pytest
from pydantic import SecretStr

from channels.discord.connection import DiscordConnection
from config.settings import DiscordSettings
from tests.fakes.fake_discord import TOKEN, FakeDiscord
from tests.polling import until

BOUND_S = 5.0  # anything here takes milliseconds; a hang fails the test after this


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


async def started(fake: FakeDiscord, ready_timeout_s: float = 0.05) -> DiscordConnection:
    settings = DiscordSettings(enabled=True, bot_token=SecretStr(TOKEN),
                               api_base_url=fake.api_base_url,
                               gateway_url=fake.gateway_url)  # fmt: skip
    connection = DiscordConnection(settings, ready_timeout_s=ready_timeout_s)
    async with asyncio.timeout(BOUND_S):
        await connection.start()
    return connection


async def test_a_term_cancelled_as_its_handshake_completes_stops_reading(
    fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = await started(fake)
    (shard,) = connection.shards
    handshake = discord.gateway.DiscordWebSocket.from_client
    raced: list[asyncio.Task[None]] = []

    async def cancelled_as_it_returns(client: Any, **params: Any) -> Any:
        ws = await handshake(client, **params)
        if not raced and shard.task is not None:
            raced.append(shard.task)
            shard.task.cancel()  # the lease lost (or a stop) in the handshake's last turn
        return ws

    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "from_client", cancelled_as_it_returns)
    try:
        await shard.release()  # a fresh term, which connects again
        await until(lambda: bool(raced), BOUND_S)  # the new term reached its handshake
        done, _ = await asyncio.wait(raced, timeout=BOUND_S)
        assert done, "the cancelled term went on (its cancellation was swallowed)"
        await until(lambda: fake.reading() == [], BOUND_S)  # and nobody reads the shard
    finally:
        async with asyncio.timeout(BOUND_S):
            await connection.stop()


async def test_a_release_cancelled_while_it_stops_the_term_stays_cancelled(
    fake: FakeDiscord,
) -> None:
    connection = await started(fake)
    (shard,) = connection.shards
    try:
        old = shard.client
        releasing = asyncio.create_task(shard.release())
        # Every loop turn: catch the term closing its client (``release`` waits in ``stop``
        # for it to end; closing takes a websocket round trip to the fake).
        for _ in range(100_000):
            if old is None or old.is_closed() or releasing.done():
                break
            await asyncio.sleep(0)
        assert not releasing.done(), "the term closed before the test could cancel the release"
        releasing.cancel()  # as ``ShardSpread.stop`` cancels its beat mid hand-over
        done, _ = await asyncio.wait({releasing}, timeout=BOUND_S)
        assert done and releasing.cancelled(), "the release swallowed its cancellation"
        await asyncio.sleep(0.2)  # a shard started again would be reading by now
        assert not shard.holding and fake.reading() == [], fake.reading()
    finally:
        async with asyncio.timeout(BOUND_S):
            await connection.stop()
    assert shard.task is None


async def test_a_client_closed_just_after_ready_leaves_nothing_behind(
    fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    unraisable: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    delay_s = 0.2  # discord.py's guild_ready_timeout: on_ready comes this long after READY
    connection = await started(fake, ready_timeout_s=delay_s)
    (shard,) = connection.shards
    await shard.release()
    client = None

    def ready_pending() -> bool:
        nonlocal client
        client = shard.client
        return client is not None and client._connection._ready_task is not None

    await until(ready_pending, BOUND_S)  # READY on the new term, on_ready not yet dispatched
    async with asyncio.timeout(BOUND_S):
        await connection.stop()  # before on_ready was dispatched
    await asyncio.sleep(delay_s + 0.1)  # when the delayed on_ready would have fired
    del client
    gc.collect()
    assert unraisable == [], [f"{u.exc_value!r} in {u.object!r}" for u in unraisable]
    errors = [r.getMessage() for r in caplog.records if r.name == "asyncio"]
    assert errors == [], errors
