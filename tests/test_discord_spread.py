"""Discord gateway shards spread over replicas on one real redis-server (``spread.py``),
against the fake Discord through the real discord.py: replicas started one after the other
end up reading 4 shards as 2 + 2, then 2 + 1 + 1 (the first one hands shards over); a shard
is never read by two replicas at once; when a replica is killed (``kill -9``: its presence
and leases must run out) the survivors take its shards, and when one stops the last takes
all four. Before this, the first replica took every shard and kept them."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import TypeVar

import pytest
from pydantic import SecretStr

from brain.store.base import StoreLimits
from brain.store.redis import RedisStore
from channels.discord import gateway
from channels.discord.connection import DiscordConnection
from config.settings import DiscordSettings
from tests import polling
from tests.discord_shard_holder import IDENTIFY_SPACING_S
from tests.fakes.fake_discord import TOKEN, FakeDiscord
from tests.servers import RedisServer
from tests.test_discord_replicas import ROOT

T = TypeVar("T")
SHARDS = 4
TTL_S = 2.0
BOUND_S = 60.0  # any one start or stop; past it the test fails with what it waited for


def bounded(step: Awaitable[T], what: str) -> Awaitable[T]:
    return polling.bounded(step, what, BOUND_S)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


class Replicas:
    def __init__(self, fake: FakeDiscord, server: RedisServer) -> None:
        self.fake, self.server = fake, server
        self.namespace = f"t{uuid.uuid4().hex[:10]}"
        self.stores: list[RedisStore] = []

    def store(self) -> RedisStore:
        store = RedisStore.from_url(self.server.url, limits=StoreLimits(lock_ttl_s=TTL_S),
                                    namespace=self.namespace)  # fmt: skip
        self.stores.append(store)
        return store

    async def start(self, stack: AsyncExitStack) -> DiscordConnection:
        store = self.store()
        await bounded(store.open(), "opening the store")
        stack.push_async_callback(lambda: bounded(store.close(), "closing the store"))
        fake = self.fake
        settings = DiscordSettings(enabled=True, bot_token=SecretStr(TOKEN),
                                   api_base_url=fake.api_base_url, gateway_url=fake.gateway_url,
                                   shard_count=SHARDS)  # fmt: skip
        connection = DiscordConnection(settings, ready_timeout_s=0.05, locks=store,
                                       presence_ttl_s=TTL_S)  # fmt: skip
        await bounded(connection.start(), "a replica starting")
        stack.push_async_callback(lambda: bounded(connection.stop(), "a replica stopping"))
        return connection

    def process(self) -> subprocess.Popen[bytes]:
        args = [self.server.url, self.namespace, str(TTL_S), str(SHARDS),
                self.fake.api_base_url, self.fake.gateway_url]  # fmt: skip
        return subprocess.Popen([sys.executable, "-m", "tests.discord_shard_holder", *args],
                                cwd=ROOT, stdout=subprocess.PIPE)  # fmt: skip

    async def presence(self, expected: list[int], within: float = 3.0) -> None:
        """Until the replicas' presence in the store says they read ``expected`` shards."""
        started, found = time.monotonic(), None
        while time.monotonic() - started < within:
            entries = await self.stores[0].kv_scan("discord-replicas:")
            found = sorted(len(json.loads(v)["shards"]) for v in entries.values())
            if found == expected:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"presence says {found}, not {expected}")


async def settle(check: Callable[[], bool], replicas: Replicas, within: float) -> float:
    """Wait until ``check()``; meanwhile no shard may ever be read twice."""
    started = time.monotonic()
    while not check():
        reading = replicas.fake.reading()
        assert len(reading) == len(set(reading)), f"a shard read twice: {reading}"
        if time.monotonic() - started > within:
            raise AssertionError(f"not within {within} s; reading {reading}")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


def counts(*connections: DiscordConnection) -> list[int]:
    return [len(c.held_shards()) for c in connections]


async def test_shards_spread_over_replicas_and_survivors_take_over(
    fake: FakeDiscord, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway, "IDENTIFY_SPACING_S", IDENTIFY_SPACING_S)
    replicas = Replicas(fake, redis_server)
    async with AsyncExitStack() as stack:
        a = await replicas.start(stack)
        assert a.held_shards() == [0, 1, 2, 3], "alone, a replica reads every shard"
        killed = replicas.process()
        try:
            assert killed.stdout is not None
            line = await asyncio.wait_for(asyncio.to_thread(killed.stdout.readline), 60)
            assert line.strip() == b"ready"
            await settle(lambda: counts(a) == [2] and fake.reading() == [0, 1, 2, 3],
                         replicas, 20)  # fmt: skip
            # Two hand-overs, unless a lease ran out meanwhile: on a loaded machine the loop
            # can starve past the 2 s TTL, and the shards then moved by failover (the same
            # spread, one shard never read twice, is what ``settle`` holds the test to).
            lost = sum(shard.singleton.losses for shard in a.shards)
            assert a.spread is not None and (a.spread.releases == 2 or lost), a.spread.releases
            await replicas.presence([2, 2])

            c = await replicas.start(stack)
            # Whichever of the two reading 2 has the higher id hands one over.
            await settle(lambda: counts(c) == [1] and len(fake.reading()) == 4, replicas, 20)
            await replicas.presence([1, 1, 2])

            killed.kill()  # no goodbye: its presence and its leases run out
            killed.wait(timeout=10)
            took = await settle(lambda: counts(a, c) == [2, 2], replicas, 6 * TTL_S)
            assert took < 3 * TTL_S
            await settle(lambda: fake.reading() == [0, 1, 2, 3], replicas, 10)
            await replicas.presence([2, 2], within=3 * TTL_S)
        finally:
            killed.kill()
            killed.wait(timeout=10)
            if killed.stdout is not None:
                killed.stdout.close()
        # gives its shards and its presence up: the last replica takes all
        await bounded(c.stop(), "replica c stopping")
        await settle(lambda: a.held_shards() == [0, 1, 2, 3], replicas, 4 * TTL_S)
        await settle(lambda: fake.reading() == [0, 1, 2, 3], replicas, 10)
