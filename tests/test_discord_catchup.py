"""Reading back a gateway shard's gap (``channels/discord/catchup.py``), through the real
discord.py against the fake Discord, on the real SQLite store: what customers wrote while no
session read the shard is taken in once the next session is READY, each message once, in order
per channel, while live messages elsewhere are not held up."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from brain.store.base import StoreLimits
from brain.store.sqlite import SqliteStore
from channels.discord import catchup
from channels.discord.connection import DiscordConnection
from channels.discord.customers import DiscordChannel
from config.errors import ConfigError, StoreError
from config.settings import DiscordSettings, load_settings
from tests.discord_bot import DM
from tests.fakes.discord_payloads import BOT, ELSEWHERE, GUILD, snowflake, user
from tests.fakes.fake_discord import FORUM, SUPPORT, FakeDiscord
from tests.polling import until
from tests.test_discord import Inbox, discord_settings

SEEN = f"discord-seen:{BOT['id']}:0/1"
OTHER_DM = "1500000000000000002"  # a customer the bot has never heard from
SAM = user(7, "Sam")


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = SqliteStore(tmp_path / "state.db", limits=StoreLimits())
    await opened.open()
    yield opened
    await opened.close()


@asynccontextmanager
async def session(
    settings: DiscordSettings, store: SqliteStore, inbox: Inbox
) -> AsyncIterator[DiscordConnection]:
    """One replica's Discord connection on ``store``, its customer messages into ``inbox``
    (shared between sessions, it drops repeats as the durable queue does)."""
    connection = DiscordConnection(settings, ready_timeout_s=0.05, locks=store)
    channel = DiscordChannel(connection, settings)
    await channel.start(inbox)
    try:
        async with connection.connected():
            yield connection
    finally:
        await channel.stop()


def texts(inbox: Inbox) -> list[str]:
    return [m.text for m in inbox.messages]


def message_in(channel: int) -> Any:
    """A message as far as waiting for a read-back sees it."""
    return SimpleNamespace(channel=SimpleNamespace(id=channel))


class OpenClient:
    """A gateway client as far as a read-back that never gets to Discord sees it."""

    def is_closed(self) -> bool:
        return False


def once(inbox: Inbox) -> list[str]:
    """What was queued, in order: the first copy of each message (the queue drops repeats)."""
    return list(dict.fromkeys(texts(inbox)))


async def stored(store: SqliteStore, key: str, within: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while await store.kv_get(key) is None:
        assert loop.time() < deadline, f"{key} not written within {within} s"
        await asyncio.sleep(0.05)


async def unread(fake: FakeDiscord, payload: dict[str, Any]) -> None:
    assert not await fake.dispatch_now("MESSAGE_CREATE", payload), "no session reads the shard"


async def first_session(
    fake: FakeDiscord, store: SqliteStore, inbox: Inbox, settings: DiscordSettings
) -> str:
    """A session in which the DM customer writes "hello": it records the DM channel and the
    shard's watermark, which it returns."""
    async with session(settings, store, inbox):
        await fake.dispatch("MESSAGE_CREATE", fake.dm_message("hello", DM))
        await stored(store, f"discord-dm:{BOT['id']}:{DM}")
        await stored(store, SEEN)
    before = await store.kv_get(SEEN)
    assert before is not None
    return before


async def unread_and_unreadable(fake: FakeDiscord) -> None:
    """The DM customer writes "still there?" while nobody reads the shard, and every try at
    their channel's history fails (503)."""
    await unread(fake, fake.dm_message("still there?", DM))
    for _ in range(catchup.TRIES):
        fake.fail("GET", rf"/channels/{DM}/messages$", 503)


async def server_away(
    fake: FakeDiscord, store: SqliteStore, inbox: Inbox, connection: DiscordConnection
) -> str:
    """A customer writes "hi" in the support channel, then the server becomes unavailable
    (GUILD_DELETE): returns the shard's watermark as it stands then."""
    await fake.dispatch("MESSAGE_CREATE", fake.guild_message("hi", SUPPORT))
    await until(lambda: len(inbox.seen) == 1, within=5)
    await stored(store, SEEN)
    client: Any = connection.shards[0].client
    await fake.dispatch("GUILD_DELETE", {"id": GUILD, "unavailable": True})
    await until(lambda: client.guilds[0].unavailable, within=5)
    held = await store.kv_get(SEEN)
    assert held is not None
    return held


async def moved_past(store: SqliteStore, before: str) -> None:
    """After a watermark beat, the shard's watermark is later than ``before``."""
    await asyncio.sleep(1.2)
    after = await store.kv_get(SEEN)
    assert after is not None and int(after) > int(before), (after, before)


async def test_the_gap_is_read_back_once_in_order_and_others_are_not_held(
    fake: FakeDiscord, store: SqliteStore
) -> None:
    settings, inbox = discord_settings(fake), Inbox()
    async with session(settings, store, inbox):
        assert fake.posts("GET", r"/messages$") == [], "a first session has no gap to read"
        await fake.dispatch("MESSAGE_CREATE", fake.dm_message("hello", DM))
        await until(lambda: len(inbox.messages) == 1, 5)
        # The watermark is written once caught up, the DM channel once seen.
        await stored(store, SEEN)
        await stored(store, f"discord-dm:{BOT['id']}:{DM}")
    # Nobody reads the shard now: what customers write is never delivered on the gateway.
    await unread(fake, fake.dm_message("still there?", DM))
    await unread(fake, fake.guild_message("my parcel is late", SUPPORT))
    await unread(fake, fake.guild_message("wrong size sent", SUPPORT, SAM))
    post = fake.thread(snowflake(), FORUM, "Refund", owner=str(SAM["id"]))
    fake.threads[post["id"]] = post  # a forum post made in the gap
    await unread(fake, {**fake.guild_message("where is my refund?", post["id"], SAM),
                        "id": post["id"]})  # fmt: skip
    fake.history_delay_s[DM] = 1.0  # the DM is read back slowly
    async with session(settings, store, inbox) as connection:
        await fake.dispatch("MESSAGE_CREATE", fake.dm_message("are you there?", DM))
        await fake.dispatch("MESSAGE_CREATE", fake.dm_message("first time here", OTHER_DM))
        await until(lambda: connection.caught_up(0), within=10)
        await until(lambda: "are you there?" in texts(inbox), 5)
        got = texts(inbox)
        # Every message of the gap, each queued once: what is read back twice (the "hello"
        # of the first session, the live DM also in the history read) is a repeat.
        assert set(got) == {"hello", "still there?", "my parcel is late", "wrong size sent",
                            "where is my refund?", "are you there?", "first time here"}  # fmt: skip
        assert len(inbox.seen) == 7
        # The live DM waited behind its channel's gap; a DM elsewhere did not wait for it.
        assert got.index("still there?") < got.index("are you there?")
        assert got.index("first time here") < got.index("still there?")
        reads = [r.path for r in fake.posts("GET", r"/messages$")]
        assert f"/channels/{DM}/messages" in reads and f"/channels/{SUPPORT}/messages" in reads
        assert f"/channels/{OTHER_DM}/messages" not in reads, "unknown DMs cannot be listed"


async def test_a_channel_with_nothing_new_is_not_read(
    fake: FakeDiscord, store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catchup, "MARGIN_S", 0.5)
    settings, inbox = discord_settings(fake, answer_direct_messages=False), Inbox()
    async with session(settings, store, inbox):
        await fake.dispatch("MESSAGE_CREATE", fake.guild_message("hi", SUPPORT))
        await asyncio.sleep(1.5)
        # Chatter elsewhere (the socket heard from Discord since), then a watermark beat:
        # "hi" is older than the gap.
        await fake.dispatch("MESSAGE_CREATE", fake.guild_message("lunch?", ELSEWHERE))
        await asyncio.sleep(1.5)
    async with session(settings, store, inbox) as connection:
        await until(lambda: connection.caught_up(0), within=10)
        assert fake.posts("GET", r"/messages$") == [], "the support channel's last message is old"
    assert texts(inbox) == ["hi"]


async def test_reading_back_is_off_with_zero_seconds(fake: FakeDiscord, store: SqliteStore) -> None:
    settings, inbox = discord_settings(fake, catch_up_seconds=0), Inbox()
    async with session(settings, store, inbox) as connection:
        await fake.dispatch("MESSAGE_CREATE", fake.dm_message("hello", DM))
        await until(lambda: len(inbox.messages) == 1, 5)
        assert connection.marks is None and await store.kv_get(SEEN) is None


def test_reading_back_further_than_the_idempotency_keys_live_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FRONTDESK_STORE__IDEMPOTENCY_TTL_HOURS", "0.5")
    with pytest.raises(ConfigError, match="FRONTDESK_DISCORD__CATCH_UP_SECONDS"):
        load_settings(env_file=None)


class NoWatermarks(SqliteStore):
    """A store whose watermarks cannot be read (as when it fails right after the lease)."""

    async def kv_get(self, key: str) -> str | None:
        if key.startswith("discord-seen:"):
            raise StoreError("the store is unreachable")
        return await super().kv_get(key)


async def test_without_its_watermark_a_session_goes_on_and_says_so(
    fake: FakeDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store, inbox = NoWatermarks(tmp_path / "state.db", limits=StoreLimits()), Inbox()
    await store.open()
    try:
        async with session(discord_settings(fake), store, inbox) as connection:
            await until(lambda: connection.caught_up(0), within=10)
            await fake.dispatch("MESSAGE_CREATE", fake.dm_message("hello", DM))
            await until(lambda: texts(inbox) == ["hello"], 5)
            await asyncio.sleep(1.5)  # a watermark beat: this session must not write one
            assert not connection.fully_read(0)
            assert await SqliteStore.kv_get(store, SEEN) is None
    finally:
        await store.close()
    assert "cannot read back its gap" in caplog.text


async def test_a_session_closed_before_its_plan_hands_on_what_waited(
    fake: FakeDiscord, store: SqliteStore
) -> None:
    """The client of a term that ends between READY and ``on_ready`` (a lease lost, a stop)
    never plans: the customer messages that waited for it are delivered all the same."""
    delivered: list[Any] = []

    async def deliver(message: Any) -> None:
        delivered.append(message)

    marks = catchup.Watermarks(store, int(BOT["id"]), 1)
    waiting = catchup.ShardCatchUp(0, object(), discord_settings(fake), marks, deliver)
    first, second = message_in(1), message_in(1)
    await waiting.live(first)
    await waiting.live(second)
    assert delivered == [] and not waiting.done.is_set()
    await waiting.release()
    assert delivered == [first, second] and waiting.done.is_set()


async def test_the_watermark_stays_until_the_gap_is_read_back(
    fake: FakeDiscord, store: SqliteStore
) -> None:
    """A replica killed while it reads a gap back must leave that gap to the next one."""
    settings, inbox = discord_settings(fake), Inbox()
    before = await first_session(fake, store, inbox, settings)
    await unread(fake, fake.dm_message("still there?", DM))
    fake.history_delay_s[DM] = 2.5
    async with session(settings, store, inbox) as connection:
        await asyncio.sleep(2.0)  # two watermark beats while the DM is read back
        assert not connection.caught_up(0) and await store.kv_get(SEEN) == before
        await until(lambda: connection.caught_up(0), within=10)
        await until(lambda: "still there?" in texts(inbox), 5)
        await moved_past(store, before)


async def test_a_failed_resume_reads_back_from_the_disconnect(
    fake: FakeDiscord, store: SqliteStore
) -> None:
    """Discord refuses the RESUME; discord.py identifies anew after 5 s, and READY comes a
    while after that. The new socket is open meanwhile, but nothing was read since the
    disconnect: the watermark must stand still from there, or the new session reads back
    from too late and what the customer wrote right after the disconnect is lost."""
    settings, inbox = discord_settings(fake), Inbox()
    async with session(settings, store, inbox) as connection:
        await fake.dispatch("MESSAGE_CREATE", fake.dm_message("hello", DM))
        await stored(store, f"discord-dm:{BOT['id']}:{DM}")
        await stored(store, SEEN)
        fake.refuse_resume, fake.ready_delay_s = True, 2.5
        await fake.drop()
        await unread(fake, fake.dm_message("still there?", DM))
        await until(lambda: len(fake.identified_at) == 2, within=15)
        await until(lambda: fake.reading() == [0], within=10)
        await fake.dispatch("MESSAGE_CREATE", fake.dm_message("hello again", DM))
        await until(lambda: connection.caught_up(0), within=10)
        await until(lambda: len(inbox.seen) == 3, within=5)
    assert once(inbox) == ["hello", "still there?", "hello again"]
    assert connection.resumes == 0 and fake.posts("GET", rf"/channels/{DM}/messages$")


async def test_a_restart_with_another_shard_count_reads_the_gap_back(
    fake: FakeDiscord, store: SqliteStore
) -> None:
    """``SHARD_COUNT`` changed over a restart (every replica stopped): the new shards have no
    record of their own, and read back from the records of the count before."""
    settings, inbox = discord_settings(fake), Inbox()
    await first_session(fake, store, inbox, settings)
    await unread(fake, fake.dm_message("still there?", DM))
    await unread(fake, fake.guild_message("my parcel is late", SUPPORT))
    async with session(discord_settings(fake, shard_count=2), store, inbox) as connection:
        await until(lambda: connection.caught_up(0) and connection.caught_up(1), within=20)
        await until(lambda: len(inbox.seen) == 3, within=5)
        assert fake.shard_of(fake.guild_message("x", SUPPORT)) == 1, "the server moved shard"
        await stored(store, f"discord-seen:{BOT['id']}:1/2")  # its own record from now on
    assert sorted(once(inbox)) == ["hello", "my parcel is late", "still there?"]


@pytest.mark.parametrize(
    ("count", "index", "own", "missing", "expected"),
    [
        (8, 5, None, None, 2.0),  # twice the shards: its servers were all on shard 5 % 4 = 1
        (2, 1, None, None, 2.0),  # half: on shards 1 and 3, the earlier of the two
        (3, 0, None, None, 1.0),  # neither: on any of the four
        (8, 5, 500, None, 2.0),  # its own record is from before the count in use since
        (8, 5, 9000, None, 9.0),  # its own record is recent: it stands
        (2, 1, None, 3, 1.0),  # one of its servers' shards never recorded: the earliest of all
    ],
)
async def test_a_shard_with_no_recent_record_reads_from_the_shards_its_servers_were_on(
    store: SqliteStore, count: int, index: int, own: int | None, missing: int | None,
    expected: float,
) -> None:  # fmt: skip
    prefix = f"discord-seen:{BOT['id']}:"
    for shard, ms in enumerate((1000, 2000, 3000, 4000)):  # the 4 shards before
        if shard != missing:
            await store.kv_set(f"{prefix}{shard}/4", str(ms))
    await store.kv_set(f"{prefix}x/4", "garbage")  # a record of no known shape: skipped
    if own is not None:
        await store.kv_set(f"{prefix}{index}/{count}", str(own))
    marks = catchup.Watermarks(store, int(BOT["id"]), count)
    assert await marks.seen(index, stale_before=5.0) == expected


async def test_a_resumed_session_reads_nothing_back(fake: FakeDiscord, store: SqliteStore) -> None:
    settings, inbox = discord_settings(fake), Inbox()
    async with session(settings, store, inbox) as connection:
        await fake.dispatch("MESSAGE_CREATE", fake.dm_message("hello", DM))
        await stored(store, SEEN)
        fake.replay = [("MESSAGE_CREATE", fake.dm_message("missed it?", DM))]
        await fake.drop()
        await until(lambda: connection.resumes == 1, within=10)
        await until(lambda: connection.fully_read(0), within=5)
        await fake.dispatch("MESSAGE_CREATE", fake.dm_message("thanks", DM))
        await until(lambda: len(inbox.seen) == 3, within=5)
    assert once(inbox) == ["hello", "missed it?", "thanks"]
    assert fake.posts("GET", r"/messages$") == []


async def test_a_read_that_fails_is_tried_again_and_the_watermark_waits(
    fake: FakeDiscord, store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every try at the DM's history fails (503): its live messages go on, and the channel is
    read again later; until then the shard's watermark does not move past its gap."""
    monkeypatch.setattr(catchup, "LATE_RETRY_S", 2.0)
    settings, inbox = discord_settings(fake), Inbox()
    before = await first_session(fake, store, inbox, settings)
    await unread_and_unreadable(fake)
    async with session(settings, store, inbox) as connection:
        await until(lambda: connection.caught_up(0), within=10)
        await fake.dispatch("MESSAGE_CREATE", fake.dm_message("anyone?", DM))
        await until(lambda: "anyone?" in texts(inbox), within=5)
        await asyncio.sleep(1.2)  # a watermark beat
        assert "still there?" not in texts(inbox) and not connection.fully_read(0)
        assert await store.kv_get(SEEN) == before
        await until(lambda: "still there?" in texts(inbox), within=5)
        await until(lambda: connection.fully_read(0), within=5)
        await moved_past(store, before)
    assert once(inbox) == ["hello", "anyone?", "still there?"]
    assert len(fake.posts("GET", rf"/channels/{DM}/messages$")) == catchup.TRIES + 1


async def test_a_read_back_cancelled_while_planning_hands_on_what_waited(
    fake: FakeDiscord, store: SqliteStore
) -> None:
    delivered: list[Any] = []

    async def deliver(message: Any) -> None:
        delivered.append(message)

    class Stuck(catchup.Watermarks):
        async def seen(self, index: int) -> float | None:
            await asyncio.Event().wait()  # a store that does not answer
            return None

    waiting = catchup.ShardCatchUp(0, OpenClient(), discord_settings(fake),  # type: ignore[arg-type]
                                   Stuck(store, int(BOT["id"]), 1), deliver)  # fmt: skip
    task = asyncio.create_task(waiting.run())
    await asyncio.sleep(0.05)
    first = message_in(1)
    await waiting.live(first)
    assert delivered == []
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert delivered == [first] and waiting.done.is_set() and not waiting.complete.is_set()


async def test_the_watermark_is_when_the_socket_last_heard_from_discord(
    fake: FakeDiscord, store: SqliteStore
) -> None:
    """A connection dead but not closed receives nothing: the watermark stays at its last
    frame instead of following the clock until discord.py gives the connection up."""
    settings, inbox = discord_settings(fake), Inbox()
    async with session(settings, store, inbox):
        await fake.dispatch("MESSAGE_CREATE", fake.dm_message("hello", DM))
        await until(lambda: len(inbox.seen) == 1, within=5)
        fake.silent, heard = True, time.time()
        await asyncio.sleep(2.5)  # two watermark beats, no frame
        value = await store.kv_get(SEEN)
    assert value is not None and int(value) / 1000 < heard + 0.5, (int(value) / 1000, heard)


async def test_a_resumed_session_keeps_the_watermark_until_the_gap_before_it_is_read(
    fake: FakeDiscord, store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A session whose DM channel failed to be read resumes after a disconnect: the resumed
    session has nothing of its own to read, but the watermark still waits for that DM."""
    monkeypatch.setattr(catchup, "LATE_RETRY_S", 4.0)
    settings, inbox = discord_settings(fake), Inbox()
    before = await first_session(fake, store, inbox, settings)
    await unread_and_unreadable(fake)
    async with session(settings, store, inbox) as connection:
        await until(lambda: connection.caught_up(0), within=10)
        await fake.drop()
        await until(lambda: connection.resumes == 1, within=10)
        await until(lambda: connection.caught_up(0), within=5)
        await asyncio.sleep(1.2)  # a watermark beat after the RESUMED
        assert not connection.fully_read(0) and await store.kv_get(SEEN) == before
        await until(lambda: "still there?" in texts(inbox), within=10)
        await until(lambda: connection.fully_read(0), within=5)
        await moved_past(store, before)


class WatermarksLater(SqliteStore):
    """A store whose watermarks cannot be read for its first ``failures`` tries."""

    failures = catchup.TRIES

    async def kv_get(self, key: str) -> str | None:
        if key.startswith("discord-seen:") and self.failures > 0:
            self.failures -= 1
            raise StoreError("the store is unreachable")
        return await super().kv_get(key)


async def test_a_plan_that_failed_is_made_later_and_its_gap_read(
    fake: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catchup, "LATE_RETRY_S", 1.0)
    store, inbox = WatermarksLater(tmp_path / "state.db", limits=StoreLimits()), Inbox()
    await store.open()
    try:
        settings = discord_settings(fake)
        store.failures = 0
        async with session(settings, store, inbox):
            await fake.dispatch("MESSAGE_CREATE", fake.dm_message("hello", DM))
            await stored(store, f"discord-dm:{BOT['id']}:{DM}")
            await stored(store, SEEN)
        await unread(fake, fake.dm_message("still there?", DM))
        store.failures = catchup.TRIES
        async with session(settings, store, inbox) as connection:
            await until(lambda: connection.caught_up(0), within=10)
            await fake.dispatch("MESSAGE_CREATE", fake.dm_message("anyone?", DM))
            await until(lambda: "still there?" in texts(inbox), within=5)
            await until(lambda: connection.fully_read(0), within=5)
    finally:
        await store.close()
    assert once(inbox) == ["hello", "anyone?", "still there?"]


async def test_a_resume_before_on_ready_leaves_the_reading_to_on_ready(
    fake: FakeDiscord, store: SqliteStore
) -> None:
    """discord.py's on_ready comes a while after READY (it waits for the guilds). A
    disconnect and a RESUMED in that while must not release the session's read-back: its
    gap would never be read, and the watermark would move past it."""
    settings, inbox = discord_settings(fake), Inbox()
    async with session(settings, store, inbox) as connection:
        await until(lambda: connection.caught_up(0), within=10)
        client: Any = connection.shards[0].client
        await client.on_disconnect()  # the session is lost...
        waiting = connection._catch_ups[0]
        assert not waiting.started and not connection.caught_up(0)
        await client.on_connect()  # ...a new one is READY...
        await client.on_disconnect()  # ...and lost in its first second...
        await client.on_resumed()  # ...and resumed, before its on_ready
        assert connection._catch_ups[0] is waiting and not waiting.started
        await client.on_ready()
        await until(lambda: connection.caught_up(0), within=5)
        assert connection._catch_ups[0] is waiting and waiting.started


async def test_the_on_ready_of_a_session_lost_meanwhile_leaves_the_next_one_waiting(
    fake: FakeDiscord, store: SqliteStore
) -> None:
    """READY, then the session is lost before discord.py's on_ready (which still comes):
    that on_ready reads its gap back, and the next session (a new READY) still holds its
    live messages and the watermark until its own on_ready."""
    settings, inbox = discord_settings(fake), Inbox()
    async with session(settings, store, inbox) as connection:
        await until(lambda: connection.caught_up(0), within=10)
        client: Any = connection.shards[0].client
        await client.on_disconnect()
        reading = connection._catch_ups[0]
        await client.on_connect()  # READY of a new session...
        await client.on_disconnect()  # ...lost in its first second
        await client.on_ready()  # its on_ready comes all the same
        await until(reading.done.is_set, within=5)  # and reads its gap back
        waiting = connection._catch_ups[0]
        assert waiting is not reading and waiting.previous is reading and not waiting.started
        assert not connection.caught_up(0)
        assert not connection.fully_read(0), "nobody reads the shard: no watermark"
        await client.on_connect()  # the next session
        await client.on_ready()
        await until(lambda: connection.fully_read(0), within=5)


async def test_a_server_that_arrives_after_on_ready_is_read_back(
    fake: FakeDiscord, store: SqliteStore
) -> None:
    """The server is unavailable when the session starts (its GUILD_CREATE comes after
    on_ready): its support channel is not in the plan, so it is read back when the server
    arrives, a live message there waits behind it, and the watermark waits for it."""
    settings, inbox = discord_settings(fake), Inbox()
    before = await first_session(fake, store, inbox, settings)
    await unread(fake, fake.guild_message("my parcel is late", SUPPORT))
    fake.guild_delay_s, fake.history_delay_s[SUPPORT] = 2.5, 1.0
    async with session(settings, store, inbox) as connection:
        await until(lambda: connection.caught_up(0), within=10)
        await asyncio.sleep(1.2)  # a watermark beat while the server is unavailable
        assert await store.kv_get(SEEN) == before
        await until(lambda: connection.cached_channel(int(SUPPORT)) is not None, within=5)
        await fake.dispatch("MESSAGE_CREATE", fake.guild_message("hello?", SUPPORT, SAM))
        await until(lambda: "hello?" in texts(inbox), within=5)
        await until(lambda: connection.fully_read(0), within=5)
        await moved_past(store, before)
    got = once(inbox)
    assert got.index("my parcel is late") < got.index("hello?"), got


async def test_a_server_back_from_an_outage_is_read_back_from_its_start(
    fake: FakeDiscord, store: SqliteStore
) -> None:
    """GUILD_DELETE (unavailable), messages Discord never sends, GUILD_CREATE: they are
    read back from the outage's start, and the watermark waits meanwhile."""
    settings, inbox = discord_settings(fake), Inbox()
    async with session(settings, store, inbox) as connection:
        held = await server_away(fake, store, inbox, connection)
        fake.keep(fake.guild_message("are you down?", SUPPORT, SAM))  # never sent to the bot
        await asyncio.sleep(1.2)  # a watermark beat during the outage
        assert await store.kv_get(SEEN) == held
        await fake.dispatch("GUILD_CREATE", fake.guild())
        await until(lambda: "are you down?" in texts(inbox), within=5)
        await until(lambda: connection.fully_read(0), within=5)
        await moved_past(store, held)
    assert once(inbox) == ["hi", "are you down?"]


async def test_a_server_back_during_a_resume_is_read_back(
    fake: FakeDiscord, store: SqliteStore
) -> None:
    """The server's GUILD_CREATE comes in the events Discord replays after a RESUME, before
    the RESUMED that releases the session: it is taken on then."""
    settings, inbox = discord_settings(fake), Inbox()
    async with session(settings, store, inbox) as connection:
        held = await server_away(fake, store, inbox, connection)
        fake.keep(fake.guild_message("are you down?", SUPPORT, SAM))
        # Replayed: the server, then a live message in it, which must wait for its gap.
        live = fake.guild_message("hello?", SUPPORT, SAM)
        fake.replay = [("GUILD_CREATE", fake.guild()), ("MESSAGE_CREATE", live)]
        fake.history_delay_s[SUPPORT] = 0.5
        await fake.drop()
        await until(lambda: connection.resumes == 1, within=10)
        await until(lambda: "hello?" in texts(inbox), within=5)
        await until(lambda: connection.fully_read(0), within=5)
        await moved_past(store, held)
    assert once(inbox) == ["hi", "are you down?", "hello?"]
