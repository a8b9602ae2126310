"""Cross-message pipelining (``brain.store.redis_batch``) against a real redis-server: what
concurrent callers issue in one tick goes out as one pipeline, each caller gets its own reply
or its own error, one caller's commands keep their order, and a lost script cache or a
restarted connection costs nothing but a retry."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from brain.store.base import StoreLimits
from brain.store.redis import RedisStore
from brain.store.redis_batch import Coalescer
from channels.messages import Author, ConversationRef, InboundMessage
from tests.servers import RedisServer


@pytest.fixture
async def client(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    pool = aioredis.BlockingConnectionPool.from_url(redis_server.url, max_connections=8)
    client = aioredis.Redis.from_pool(pool)
    yield client
    await client.aclose()


@pytest.fixture
async def batch(client: aioredis.Redis) -> AsyncIterator[Coalescer]:
    coalescer = Coalescer(client)
    yield coalescer
    await coalescer.close()


def _key(name: str) -> str:
    return f"batch-test:{uuid.uuid4().hex[:8]}:{name}"


async def test_commands_of_one_tick_share_one_pipeline_and_each_caller_gets_its_own_reply(
    client: aioredis.Redis, batch: Coalescer
) -> None:
    keys = [_key(str(i)) for i in range(50)]
    await client.mset({key: f"value-{i}" for i, key in enumerate(keys)})
    replies = await asyncio.gather(*(batch.call("GET", key) for key in keys))
    assert replies == [f"value-{i}".encode() for i in range(50)]
    assert (batch.pipelines, batch.commands) == (1, 50)


async def test_what_is_queued_while_a_pipeline_is_unanswered_goes_out_in_the_next_one(
    client: aioredis.Redis, batch: Coalescer
) -> None:
    """One pipeline in flight at a time: callers of later ticks wait for its reply and then
    share one pipeline, whatever the number of ticks they came in."""
    key = _key("slow")
    slow = asyncio.create_task(batch.call("EVAL", "redis.call('SET', KEYS[1], 1) "
                                          "local t = redis.call('TIME') "
                                          "while true do local n = redis.call('TIME') "
                                          "if (n[1] - t[1]) * 1e6 + n[2] - t[2] > 200000 "
                                          "then break end end return 1", 1, key))  # fmt: skip
    await asyncio.sleep(0.05)  # the slow script is on the server now
    later = []
    for _ in range(5):  # five ticks, one command each
        later.append(asyncio.create_task(batch.call("INCR", key)))
        await asyncio.sleep(0)
    assert batch.pipelines == 1
    assert await slow == 1
    assert await asyncio.gather(*later) == [2, 3, 4, 5, 6]
    assert (batch.pipelines, batch.commands) == (2, 6)


async def test_replies_are_parsed_as_redis_py_parses_that_command(
    client: aioredis.Redis, batch: Coalescer
) -> None:
    key = _key("h")
    await client.hset(key, mapping={"a": "1"})
    exists, fields, missing = await asyncio.gather(
        batch.call("EXISTS", key), batch.call("HGETALL", key), batch.call("HMGET", key, "zz")
    )
    assert (exists, fields, missing) == (1, {b"a": b"1"}, [None])


async def test_one_failing_command_fails_only_its_caller(
    client: aioredis.Redis, batch: Coalescer
) -> None:
    text, number = _key("text"), _key("number")
    await client.set(text, "not a number")
    await client.set(number, "1")
    results = await asyncio.gather(
        batch.call("INCR", number),
        batch.call("INCR", text),  # WRONGTYPE-like error: not an integer
        batch.call("EVALSHA", "0" * 40, 0),  # NOSCRIPT
        batch.call("INCR", number),
        return_exceptions=True,
    )
    assert results[0] == 2 and results[3] == 3
    assert isinstance(results[1], ResponseError) and "not an integer" in str(results[1])
    assert isinstance(results[2], ResponseError)
    assert batch.pipelines == 1
    assert await batch.call("GET", number) == b"3"  # the connection is still in step


async def test_one_callers_commands_keep_their_order_among_many_callers(
    batch: Coalescer,
) -> None:
    lists = [_key(f"list{i}") for i in range(20)]

    async def caller(key: str) -> None:
        for n in range(30):
            # Some awaited one by one, some queued together in one tick: both keep order.
            if n % 3 == 0:
                await asyncio.gather(*(batch.call("RPUSH", key, f"{n}.{k}") for k in range(3)))
            else:
                await batch.call("RPUSH", key, str(n))

    await asyncio.gather(*(caller(key) for key in lists))
    want = [item for n in range(30) for item in ([f"{n}.{k}" for k in range(3)]
            if n % 3 == 0 else [str(n)])]  # fmt: skip
    for key in lists:
        assert [v.decode() for v in await batch.call("LRANGE", key, 0, -1)] == want
    assert batch.pipelines < 20 * 30  # callers in the same tick shared pipelines


async def test_a_caller_cancelled_in_flight_does_not_disturb_the_others(
    batch: Coalescer,
) -> None:
    key = _key("counter")
    tasks = [asyncio.create_task(batch.call("INCR", key)) for _ in range(10)]
    await asyncio.sleep(0)  # every task has queued its command; the flush comes after this
    tasks[4].cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[4], asyncio.CancelledError)
    assert sorted(r for r in results if isinstance(r, int)) == list(range(1, 10))
    assert await batch.call("GET", key) == b"9"  # the cancelled command was never sent


async def test_a_lost_script_cache_is_reloaded_and_the_script_runs(
    client: aioredis.Redis, batch: Coalescer
) -> None:
    source = "return ARGV[1] .. '!'"
    sha = await client.script_load(source)
    await client.script_flush()
    replies = await asyncio.gather(*(batch.evalsha(sha, source, [], (str(i),)) for i in range(5)))
    assert replies == [f"{i}!".encode() for i in range(5)]


async def test_a_connection_the_server_closed_is_replaced_by_the_next_pipeline(
    client: aioredis.Redis, batch: Coalescer
) -> None:
    key = _key("k")
    await batch.call("SET", key, "1")
    killer = aioredis.Redis(connection_pool=client.connection_pool)
    await killer.client_kill_filter(_type="normal", skipme=True)
    # As with a plain redis-py call on a pooled connection (no retries configured), the
    # pipeline that finds the closed connection may fail; the next one reconnects.
    try:
        first = await batch.call("GET", key)
    except RedisConnectionError:
        first = await batch.call("GET", key)
    assert first == b"1"
    assert await batch.call("GET", key) == b"1"


async def test_a_connection_error_fails_every_caller_of_that_pipeline(
    redis_server: RedisServer,
) -> None:
    # A port nobody listens on: no retry helps, and every caller hears the error.
    pool = aioredis.BlockingConnectionPool.from_url(
        f"redis://127.0.0.1:{redis_server.port + 1}/0", max_connections=2, timeout=1
    )
    client = aioredis.Redis.from_pool(pool)
    coalescer = Coalescer(client)
    try:
        results = await asyncio.gather(
            *(coalescer.call("GET", "x") for _ in range(3)), return_exceptions=True
        )
        assert all(isinstance(r, RedisConnectionError) for r in results), results
        assert len({id(r) for r in results}) == 3  # each caller its own exception object
    finally:
        await coalescer.close()
        await client.aclose()


async def test_the_store_pipelines_concurrent_messages_steps(redis_server: RedisServer) -> None:
    store = RedisStore.from_url(redis_server.url, limits=StoreLimits(), namespace=_key("ns"))
    await store.open()
    try:
        assert store._batch is not None
        before = store._batch.pipelines
        values = await asyncio.gather(*(store.kv_get(f"missing-{i}") for i in range(40)))
        assert values == [None] * 40
        assert store._batch.pipelines - before == 1
    finally:
        await store.close()


async def test_a_queue_read_with_entries_waiting_shares_the_pipeline_and_an_empty_one_blocks(
    redis_server: RedisServer,
) -> None:
    """A read that finds entries goes in the coalesced pipeline (no blocking XREADGROUP of
    its own); a read of an empty queue still blocks and returns what arrives meanwhile."""
    store = RedisStore.from_url(redis_server.url, limits=StoreLimits(), namespace=_key("ns"))
    await store.open()
    blocking: list[object] = []
    original = store.client.xreadgroup

    def counted(*args: object, **kwargs: object) -> object:
        blocking.append(kwargs.get("block"))
        return original(*args, **kwargs)  # type: ignore[arg-type]

    store.client.xreadgroup = counted  # type: ignore[method-assign]
    try:
        assert store._batch is not None
        for i in range(3):
            await store.enqueue(_inbound(f"c{i}", f"m{i}"))
        before = store._batch.commands
        entries = await store.read_queue("w", 10, block_s=0.5)
        assert sorted(e.message.message_id for e in entries) == ["m0", "m1", "m2"]
        assert blocking == [] and store._batch.commands - before == 1

        later = asyncio.get_running_loop().call_later(
            0.1, lambda: asyncio.ensure_future(store.enqueue(_inbound("c9", "m9")))
        )
        entries = await store.read_queue("w", 10, block_s=2.0)
        later.cancel()
        assert [e.message.message_id for e in entries] == ["m9"]
        assert blocking == [2000]
    finally:
        await store.close()


CUSTOMER = Author(id="u1", display_name="Customer")


def _inbound(conversation: str, message_id: str) -> InboundMessage:
    ref = ConversationRef(channel="fake", conversation_id=conversation)
    return InboundMessage(ref=ref, message_id=message_id, author=CUSTOMER, text="hello")


async def test_a_pipeline_gets_the_socket_timeout_as_a_whole_and_the_pool_keeps_its_own(
    redis_server: RedisServer,
) -> None:
    """The coalescer times a whole pipeline against the connections' socket timeout (redis-py
    would time each reply): a server that does not answer still fails the pipeline's callers
    with redis-py's timeout, the connection is dropped, and connections go back to the pool
    with their timeout."""
    pool = aioredis.BlockingConnectionPool.from_url(
        redis_server.url, max_connections=4, socket_timeout=0.5
    )
    client = aioredis.Redis.from_pool(pool)
    coalescer = Coalescer(client, keep=0)
    sleeper = aioredis.Redis.from_url(redis_server.url)
    try:
        assert await coalescer.call("PING") is True
        assert all(c.socket_timeout == 0.5 for c in pool._available_connections)
        # A script that spins holds the whole server: nothing of the pipeline is answered.
        spin = (
            "local t = redis.call('TIME') while true do local n = redis.call('TIME') "
            "if (n[1] - t[1]) * 1e6 + n[2] - t[2] > 1.2e6 then return 1 end end"
        )

        async def hold_the_server() -> None:
            await sleeper.eval(spin, 0)

        blocking = asyncio.create_task(hold_the_server())
        await asyncio.sleep(0.1)
        started = asyncio.get_running_loop().time()
        results = await asyncio.gather(
            *(coalescer.call("PING") for _ in range(3)), return_exceptions=True
        )
        waited = asyncio.get_running_loop().time() - started
        assert all(isinstance(r, RedisTimeoutError) for r in results), results
        assert 0.4 <= waited < 1.0  # the timeout, not the end of the script
        await blocking
        assert await coalescer.call("PING") is True  # a fresh connection after the drop
        assert all(c.socket_timeout == 0.5 for c in pool._available_connections)
    finally:
        await coalescer.close()
        await client.aclose()
        await sleeper.aclose()


async def test_commands_are_packed_as_redis_py_packs_them(batch: Coalescer) -> None:
    """hiredis packs the pipeline: numbers, bytes and non-ASCII text arrive as redis-py would
    send them, a two-word command name is split, and what cannot be sent fails its pipeline
    with redis-py's DataError."""
    key = _key("packed")
    values = ["Grüße 👋", 0.1, 1e20, 12345678901234567890, b"\x00\xff", 7]
    await asyncio.gather(*(batch.call("RPUSH", key, v) for v in values))
    got = await batch.call("LRANGE", key, 0, -1)
    assert got == ["Grüße 👋".encode(), b"0.1", b"1e+20", b"12345678901234567890", b"\x00\xff",
                   b"7"]  # fmt: skip
    assert isinstance(await batch.call("CONFIG GET", "maxmemory"), dict)
    with pytest.raises(DataError):
        await batch.call("SET", key, None)
    assert await batch.call("PING") is True
