"""Two Frontdesk replicas with Discord on one real redis-server, against the fake Discord
gateway + REST through the real discord.py: only the holder of the gateway lease opens a
gateway connection; a customer message is answered exactly once, also when the replica that
reads the gateway is not the one that answers (the standby sends); when the holder stops, or
is killed (``kill -9``: its lease must run out), the other replica takes the gateway within
the lease TTL, reads back what customers wrote in the gap (answered once) and goes on
answering. With two shards, each has its own connection (IDENTIFYs
5 s apart) and receives its own events (the server's on its shard, DMs on shard 0)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr

from bot.preflight import preflight
from bot.wiring import Parts, build_parts, build_store
from channels.base import ConversationRef, OutboundMessage
from channels.discord import DiscordAdapter
from channels.discord.connection import DiscordConnection
from channels.discord.customers import DiscordChannel
from config.settings import DiscordSettings, load_settings
from tests.discord_bot import DM, answered_once, discord_env, texts
from tests.fakes.fake_discord import (
    DESK,
    SUPPORT,
    TOKEN,
    FakeDiscord,
)
from tests.polling import until
from tests.servers import RedisServer
from tests.test_discord import Inbox

IN_PROCESS_TTL_S = 3.0
# A cold process's first answers can hold its event loop for most of a second on a busy
# machine, which a 1 s lease does not survive.
KILL_TTL_S = 2.0
DB = 11  # a database of its own on the shared server: the store's default key namespace
ROOT = Path(__file__).resolve().parent.parent


def environment(
    fake: FakeDiscord, redis_url: str, data_dir: Path, consumer: str, ttl_s: float
) -> dict[str, str]:
    values = {
        "STORE__REDIS_URL": redis_url,
        "STORE__CONSUMER_NAME": consumer,
        "STORE__LOCK_TTL_SECONDS": str(ttl_s),
        "DISPATCH__COALESCE_CHANNELS": "",  # answer at once, not after a 2 s burst window
    }
    return discord_env(fake, data_dir) | {f"FRONTDESK_{k}": v for k, v in values.items()}


@pytest.fixture
async def redis_url(redis_server: RedisServer) -> AsyncIterator[str]:
    url = f"redis://127.0.0.1:{redis_server.port}/{DB}"
    client = aioredis.Redis.from_url(url)
    await client.flushdb()
    yield url
    await client.flushdb()
    await client.aclose()


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


@asynccontextmanager
async def replica(
    fake: FakeDiscord,
    redis_url: str,
    tmp_path: Path,
    name: str,
    monkeypatch: pytest.MonkeyPatch,
    ttl_s: float,
) -> AsyncIterator[Parts]:
    """One replica as ``frontdesk run`` starts it (store, parts, dispatcher, desks and
    channels, then the platform's connection); stopped in reverse on leaving."""
    with monkeypatch.context() as env:
        for key, value in environment(fake, redis_url, tmp_path / name, name, ttl_s).items():
            env.setenv(key, value)
        settings = load_settings(env_file=None)
    # Training the classifier is CPU work: off the loop, where the other replica renews.
    checked = await asyncio.to_thread(preflight, settings)
    store = build_store(settings)
    await store.open()
    parts = await build_parts(settings, store, checked=checked)
    worker = asyncio.create_task(parts.dispatcher.run())
    try:
        async with AsyncExitStack() as stack:
            for adapter in parts.adapters:
                for desk in adapter.desks:
                    await desk.start(parts.hub.handle)
                    stack.push_async_callback(desk.stop)
                for channel in adapter.channels:
                    await channel.start(parts.dispatcher.submit)
                    stack.push_async_callback(channel.stop)
                await stack.enter_async_context(adapter.connection())
            yield parts
    finally:
        parts.dispatcher.stop()
        await asyncio.wait_for(worker, 30)
        await parts.brain.close()
        await store.close()


def discord_of(parts: Parts) -> DiscordAdapter:
    return next(a for a in parts.adapters if isinstance(a, DiscordAdapter))


async def test_one_replica_reads_the_gateway_the_other_sends_and_takes_over(
    fake: FakeDiscord, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with AsyncExitStack() as stack:
        holder = AsyncExitStack()
        stack.push_async_callback(holder.aclose)
        # In one process, a replica's start-up (the knowledge base, the classifier) blocks the
        # other's lease renewals for a moment: a lease longer than that here.
        ttl = IN_PROCESS_TTL_S
        b = await holder.enter_async_context(
            replica(fake, redis_url, tmp_path, "b", monkeypatch, ttl)
        )
        a = await stack.enter_async_context(
            replica(fake, redis_url, tmp_path, "a", monkeypatch, ttl)
        )
        a_discord, b_discord = discord_of(a), discord_of(b)
        assert fake.connections == 1, "one gateway connection for two replicas"
        assert b_discord.conn.held_shards() == [0] and a_discord.conn.held_shards() == []
        assert a_discord.connected and b_discord.connected  # the standby counts as up
        await asyncio.sleep(1.5 * ttl)  # renewals keep the gateway with its holder
        assert fake.connections == 1 and a_discord.conn.held_shards() == []

        await answered_once(fake, "Do you offer next-day delivery?", "delivery")

        # Only A consumes now: what B's gateway reads is answered by A, which holds no
        # gateway (its REST client sends), and A's desk posts to the staff channel.
        b.dispatcher.stop()
        await answered_once(fake, "How do I reset my password?", "password")
        await a.desks[0].alert("the standby replica can post to the desk")
        assert any("standby replica" in t for t in texts(fake, DESK))
        channel = next(c for c in a.channels if isinstance(c, DiscordChannel))
        await channel.send(OutboundMessage(ref=_dm_ref(), text="relayed by the standby"))
        assert texts(fake)[-1] == "relayed by the standby"

        await holder.aclose()  # the holder stops: it gives up its lease
        took = await until(lambda: a_discord.conn.held_shards() == [0], 2 * ttl)
        assert took < ttl, "taken over within the lease TTL"
        await fake.wait_for(lambda: a_discord.connected, within=5)
        assert fake.connections == 2
        await answered_once(fake, "Which payment methods do you accept?", "")


def _dm_ref() -> ConversationRef:
    return ConversationRef(channel="discord", conversation_id=DM)


@contextlib.contextmanager
def frontdesk_run(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("FRONTDESK_")}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run"], env={**clean, **env}, cwd=ROOT,
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            yield process
        finally:
            process.kill()
            process.wait()


async def test_a_killed_holder_is_replaced_within_the_lease_ttl(
    fake: FakeDiscord, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ttl = KILL_TTL_S
    env = environment(fake, redis_url, tmp_path / "killed", "killed", ttl)
    log = tmp_path / "killed.log"
    with frontdesk_run(env, log) as holder:
        identified = lambda: any(f["op"] == 2 for f in fake.gateway_in)  # noqa: E731
        try:
            await fake.wait_for(lambda: identified() or holder.poll() is not None, within=60)
            assert holder.poll() is None
            await answered_once(fake, "Do you offer next-day delivery?", "delivery")
        except (AssertionError, TimeoutError) as err:
            raise AssertionError(f"the first replica: {log.read_text()}") from err
        async with replica(fake, redis_url, tmp_path, "standby", monkeypatch, ttl) as standby:
            conn = discord_of(standby).conn
            connections = fake.connections
            await asyncio.sleep(1.5 * ttl)
            assert conn.held_shards() == [], "the standby waits while the holder lives"
            holder.send_signal(signal.SIGKILL)  # no release, no goodbye: the lease runs out
            killed_at = time.monotonic()
            await fake.wait_for(lambda: 0 not in fake.reading(), within=5)
            # Written while nobody reads the gateway: Discord never delivers it.
            answers = len(texts(fake))
            gap = fake.dm_message("How do I reset my password?", DM)
            assert not await fake.dispatch_now("MESSAGE_CREATE", gap)
            await until(lambda: conn.held_shards() == [0], 3 * ttl)
            assert time.monotonic() - killed_at < 1.5 * ttl, "taken over within the lease TTL"
            await fake.wait_for(lambda: discord_of(standby).connected, within=5)
            assert fake.connections == connections + 1
            # The new session reads the gap back: the question is answered, once, and the
            # one the killed replica answered (read back too) is not answered again.
            await fake.wait_for(lambda: len(texts(fake)) > answers, within=15)
            await asyncio.sleep(0.5)  # room for a wrong second answer
            new = texts(fake)[answers:]
            assert len(new) == 1 and "password" in new[0], new


async def test_each_shard_has_its_connection_and_its_events(fake: FakeDiscord) -> None:
    settings = DiscordSettings(
        enabled=True,
        bot_token=SecretStr(TOKEN),
        support_channel_ids=[SUPPORT],
        api_base_url=fake.api_base_url,
        gateway_url=fake.gateway_url,
        shard_count=2,
    )
    connection = DiscordConnection(settings, ready_timeout_s=0.05)
    channel, inbox = DiscordChannel(connection, settings), Inbox()
    await channel.start(inbox)
    async with connection.connected():
        assert connection.held_shards() == [0, 1] and fake.connections == 2
        identifies = [f["d"]["shard"] for f in fake.gateway_in if f["op"] == 2]
        assert sorted(identifies) == [[0, 2], [1, 2]]
        (_, first), (_, second) = fake.identified_at
        assert second - first >= 5.0, "one IDENTIFY per 5 s"
        guild, dm = fake.guild_message("Do you ship to Norway?"), fake.dm_message("Hi", DM)
        assert (fake.shard_of(guild), fake.shard_of(dm)) == (1, 0)  # the server's, and DMs'
        for payload in (guild, dm):
            await fake.dispatch("MESSAGE_CREATE", payload)
        await fake.wait_for(lambda: len(inbox.messages) == 2)
        assert {m.text for m in inbox.messages} == {"Do you ship to Norway?", "Hi"}
    await channel.stop()
    assert fake.connections == 2 and not connection.is_connected()
