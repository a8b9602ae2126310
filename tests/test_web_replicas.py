"""Two web replicas on one store (the same SQLite file, or one real redis-server): a message
posted to replica A is answered live on the widget connected to replica B, the history and
the customer token are the same on both, and a retry through the other replica is still one
message with one reply."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from brain.store.base import Store, StoreLimits
from brain.store.sqlite import SqliteStore
from channels.base import LogEntry
from channels.web.customers import Session, WebChannel
from channels.web.store import HISTORY, WebStore
from tests.servers import RedisServer
from tests.test_web_socket import frames_until
from tests.web_bot import CHAT_KEY, WebBot, running_bot, web_settings


@pytest.fixture(params=["sqlite", "redis"])
async def replicas(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[WebBot, WebBot]]:
    namespace = f"t{uuid.uuid4().hex[:10]}"

    def store() -> Store:
        if request.param == "sqlite":
            return SqliteStore(tmp_path / "shared.db", limits=StoreLimits())
        from brain.store.redis import RedisStore

        server: RedisServer = request.getfixturevalue("redis_server")
        return RedisStore.from_url(server.url, limits=StoreLimits(), namespace=namespace)

    async with AsyncExitStack() as stack:
        bots = []
        for name in ("a", "b"):  # each replica with a data directory of its own
            settings = web_settings(tmp_path / name, monkeypatch)
            bots.append(await stack.enter_async_context(running_bot(settings, store())))
        yield bots[0], bots[1]


async def test_a_message_posted_to_one_replica_is_answered_on_the_other(
    replicas: tuple[WebBot, WebBot],
) -> None:
    a, b = replicas
    conv, token = await a.conversation()  # the token A signed opens the widget on B
    ws = await b.client.ws_connect(f"/api/v1/ws?token={token}")
    assert json.loads((await ws.receive(timeout=5)).data)["type"] == "hello"
    headers = {"Idempotency-Key": "k-1"}
    path = f"/api/v1/conversations/{conv}/messages"
    question = {"text": "How do I return an item?"}
    _, posted, _ = await a.call("POST", path, token, json_body=question, headers=headers,
                                expect=202)  # fmt: skip
    seen = await frames_until(ws, "message", "bot")
    # B pushes the customer's message (it came from no session of B's) and the reply.
    customer = next(f["message"] for f in seen if f["type"] == "message")
    assert customer["id"] == posted["id"] and customer["role"] == "customer"
    reply = seen[-1]["message"]
    assert "30 days" in reply["text"] and reply["in_reply_to"] == posted["message_id"]

    # The retry goes through the other replica: the same message, the reply at once.
    _, again, _ = await b.call("POST", f"{path}?wait=5", token, json_body=question,
                               headers=headers, expect=200)  # fmt: skip
    assert again["id"] == posted["id"] and again["reply"]["id"] == reply["id"]
    for bot in (a, b):
        await bot.parts.dispatcher.drain()
    _, history_a, _ = await a.call("GET", path, token, expect=200)
    _, history_b, _ = await b.call("GET", path, token, expect=200)
    assert history_a["messages"] == history_b["messages"]
    assert [m["role"] for m in history_b["messages"]] == ["customer", "bot"]
    await ws.close()


async def test_wait_on_one_replica_gets_the_reply_written_by_either(
    replicas: tuple[WebBot, WebBot],
) -> None:
    a, b = replicas
    conv, token = await b.conversation()
    path = f"/api/v1/conversations/{conv}/messages?wait=10"
    # One after the other (a burst from one customer may be answered in one reply).
    questions = ["How do I return an item?", "Where is my order?", "Can I change my address?",
                 "Do you ship abroad?"]  # fmt: skip
    for n, bot in enumerate((a, b, a, b)):
        _, body, _ = await bot.call("POST", path, token, expect=200,
                                    json_body={"text": questions[n]},
                                    headers={"Idempotency-Key": f"k-{n}"})  # fmt: skip
        assert body["reply"]["in_reply_to"] == body["message_id"]
    # Four questions, four replies: whichever dispatcher took each, none answered twice.
    _, history, _ = await a.call("GET", path.split("?", maxsplit=1)[0], token, expect=200)
    assert [m["role"] for m in history["messages"]] == ["customer", "bot"] * 4


async def test_an_entry_that_comes_early_waits_for_the_one_before(tmp_path: Path) -> None:
    """Another replica's entry may reach this one after a later local entry: the widget
    still gets them in order, each once."""
    store = SqliteStore(tmp_path / "state.db", limits=StoreLimits())
    await store.open()
    web = WebStore()
    web.use(store)
    channel = WebChannel(web)
    await channel.follow()
    try:
        conv = await web.create_conversation("c-1", None, None, {})
        frames: list[str] = []
        two = asyncio.Event()

        def put(frame: str) -> None:
            frames.append(frame)
            if len(frames) >= 2:
                two.set()

        channel.attach(Session(conv.id, put))
        first = {"role": "customer", "kind": "message", "text": "first", "sender_name": None,
                 "in_reply_to": None, "created_at": "2026-12-01T00:00:00+00:00"}  # fmt: skip
        # Stored, but not announced yet (still on its way from the other replica).
        await store.log_append(HISTORY + conv.id, "m-1", json.dumps(first))
        await web.add_message(conv.id, "bot", "second", "m-2", in_reply_to="m-1")
        await asyncio.wait_for(two.wait(), 5)
        await asyncio.sleep(0.1)  # nothing more comes
        assert [json.loads(f)["message"]["text"] for f in frames] == ["first", "second"]
    finally:
        await channel.unfollow()
        await store.close()


@pytest.fixture
def three_a_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    """Set before ``replicas`` builds its two bots (fixtures run in argument order)."""
    monkeypatch.setenv("FRONTDESK_WEB__KEY_RATE_LIMIT_PER_MINUTE", "3")


async def test_the_rate_limit_counts_every_replica(
    three_a_minute: None, replicas: tuple[WebBot, WebBot]
) -> None:
    a, b = replicas
    for bot in (a, b, a):
        await bot.call("GET", "/api/v1/faq?query=refund", CHAT_KEY, expect=200)
    # the key's fourth request in the minute, through either replica, waits
    for bot in (b, a):
        _, body, headers = await bot.call("GET", "/api/v1/faq?query=refund", CHAT_KEY,
                                          expect=429)  # fmt: skip
        assert int(headers["Retry-After"]) >= 1 and body["title"] == "Too many requests"


@pytest.fixture(params=["sqlite", "redis"])
def two_stores(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Store, Store]:
    """Two instances on one store, as two replicas have (one SQLite file, or one real
    redis-server)."""
    if request.param == "sqlite":
        return (SqliteStore(tmp_path / "shared.db", limits=StoreLimits()),
                SqliteStore(tmp_path / "shared.db", limits=StoreLimits()))  # fmt: skip
    from brain.store.redis import RedisStore

    server: RedisServer = request.getfixturevalue("redis_server")
    namespace = f"t{uuid.uuid4().hex[:10]}"
    return (RedisStore.from_url(server.url, limits=StoreLimits(), namespace=namespace),
            RedisStore.from_url(server.url, limits=StoreLimits(), namespace=namespace))  # fmt: skip


async def test_a_reply_right_after_start_and_connect_is_pushed_live(
    two_stores: tuple[Store, Store],
) -> None:
    """``follow()`` returns once the feed is live (on Redis pub/sub subscribes in the
    background): a reply another replica writes right after this one started, to a session
    that attached at once, is pushed by the feed; nothing reads the history for it."""
    here, there = two_stores
    for store in two_stores:
        await store.open()
    web, other = WebStore(), WebStore()
    web.use(here)
    other.use(there)
    channel = WebChannel(web)
    follow = here.log_follow

    async def slow_to_subscribe(topic: str) -> AsyncIterator[LogEntry]:
        # Subscribing takes a while (a new connection, a busy server): nothing published
        # meanwhile reaches this follower.
        await asyncio.sleep(0.3)
        async for entry in follow(topic):
            yield entry

    here.log_follow = slow_to_subscribe  # type: ignore[method-assign]
    try:
        conv = await other.create_conversation("c-1", None, None, {})
        await channel.follow()
        frames: asyncio.Queue[str] = asyncio.Queue()
        channel.attach(Session(conv.id, frames.put_nowait))  # a widget that connected now
        reads = 0
        log_read = here.log_read

        async def counted(log: str, after: int = 0, limit: int = 100) -> list[LogEntry]:
            nonlocal reads
            reads += 1
            return await log_read(log, after, limit)

        here.log_read = counted  # type: ignore[method-assign]
        await other.add_message(conv.id, "bot", "right away", "m-1")  # on the other replica
        frame = json.loads(await asyncio.wait_for(frames.get(), 5))
        assert frame["message"]["text"] == "right away" and frame["message"]["id"] == 1
        assert reads == 0  # pushed by the feed, not read
    finally:
        await channel.unfollow()
        for store in two_stores:
            await store.close()
