"""The Redis store sends a conversation's history only from the turns a process does not hold
yet (``brain/store/redis_history.py``): against a real redis-server (one stream, and four
partitions) and a real Redis Cluster, the context it builds is always the one a store that
holds nothing reads, whatever another replica, a relay or a trim did in between."""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from brain.store.base import (
    Conversation,
    TurnContext,
    TurnStart,
    conversation_lock,
)
from brain.store.records import Turn
from brain.store.redis import RedisStore
from brain.store.redis_history import Histories, History, as_stored, extended
from channels.base import Author, ConversationRef, InboundMessage, OutboundMessage, ReplyHints
from tests.conftest import make_store_factory

REF = ConversationRef(channel="terminal", conversation_id="c1")
ALICE = Author(id="u-alice")
Stores = Callable[..., RedisStore]


@pytest.fixture(params=["redis", "redis-partitioned", "redis-cluster"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Stores:
    make = make_store_factory(request.param, request, tmp_path)
    return make  # type: ignore[return-value]


@pytest.fixture
async def opened(stores: Stores) -> AsyncIterator[Callable[..., Any]]:
    made: list[RedisStore] = []

    async def open_one(**limits: Any) -> RedisStore:
        store = stores(**limits)
        await store.open()
        made.append(store)
        return store

    yield open_one
    for store in made:
        await store.close()


async def fresh_view(stores: Stores, key: str, **limits: Any) -> Conversation | None:
    """The conversation as a store that holds nothing of it reads it."""
    store = stores(**limits)
    await store.open()
    try:
        return await store.get_conversation(key)
    finally:
        await store.close()


def same(context: TurnContext, expected: Conversation | None) -> None:
    got = context.conversation
    assert expected is not None and got is not None
    assert got.key == expected.key
    assert got.turns == expected.turns
    assert [type(t.at) for t in got.turns] == [type(t.at) for t in expected.turns]
    assert [t.at.tzinfo for t in got.turns] == [t.at.tzinfo for t in expected.turns]
    assert got.ref == expected.ref and got.ref.hints == expected.ref.hints
    assert got.updated_at == expected.updated_at
    assert got.updated_at.tzinfo == expected.updated_at.tzinfo


async def lock_turn(
    store: RedisStore, turn: Turn, ref: ConversationRef = REF, check: Stores | None = None,
    **limits: Any,
) -> TurnContext:  # fmt: skip
    """A customer's message through ``lock_conversation`` (lock, head, begin_turn in one step),
    answered with a bot turn through ``outbox_put_reply``, as the dispatcher does; with
    ``check``, the context is compared with what a fresh store reads right then."""
    await store.enqueue(InboundMessage(ref=ref, message_id=turn.turn_id, author=ALICE,
                                       text=turn.text))  # fmt: skip
    (entry,) = await store.read_queue("w1", 1, 0.1)
    start = TurnStart(entry.entry_id, ref, turn, ("paused:terminal",))
    async with store.lock_conversation(ref.key, "w1", start) as held:
        assert held.context is not None and held.head is not None
        assert held.head.entry_id == entry.entry_id and held.head.message == entry.message
        if check is not None:
            same(held.context, await fresh_view(check, ref.key, **limits))
        bot = Turn(f"{turn.turn_id}:bot", "bot", f"re: {turn.text}")
        reply = [OutboundMessage(ref=ref, text=bot.text, in_reply_to=turn.turn_id)]
        record = await store.outbox_put_reply(f"k-{turn.turn_id}", reply, {"replies": 1},
                                              held.lease, ref, [bot])  # fmt: skip
        assert record is not None
        await store.finish(entry.entry_id, lease=held.lease, conversation=ref.key)
    return held.context


async def test_the_history_sent_is_only_what_is_not_held(
    opened: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    store: RedisStore = await opened()
    first = await lock_turn(store, Turn("m1", "customer", "hello"))
    assert first.conversation is not None and len(first.conversation.turns) == 1
    held = store._histories.get(REF.key)
    assert held is not None and held.seq == 2  # the bot's turn followed
    assert [t.turn_id for t in held.turns] == ["m1", "m1:bot"]
    replies: list[Any] = []
    original = store._context

    async def spy(*args: Any) -> TurnContext:
        replies.append(args[2])
        return await original(*args)

    monkeypatch.setattr(store, "_context", spy)
    second = await lock_turn(store, Turn("m2", "customer", "again"))
    assert second.conversation is not None
    assert [t.turn_id for t in second.conversation.turns] == ["m1", "m1:bot", "m2"]
    (row,) = replies
    assert row[3] == [] and row[8] == b"2"  # no turn crossed over: all were held
    assert row[1] is None  # nor the meta: this very step wrote it


async def test_another_replicas_turns_come_through(
    opened: Callable[..., Any], stores: Stores
) -> None:
    one: RedisStore = await opened()
    two: RedisStore = await opened()
    await lock_turn(one, Turn("m1", "customer", "hello"))
    await lock_turn(two, Turn("m2", "customer", "from the other replica"))
    relay = Turn("a1", "agent", "an agent's line, relayed")
    assert await two.append_turn(REF, relay)
    three = await lock_turn(one, Turn("m3", "customer", "back here"), check=stores)
    assert [t.turn_id for t in three.conversation.turns] == [  # type: ignore[union-attr]
        "m1",
        "m1:bot",
        "m2",
        "m2:bot",
        "a1",
        "m3",
    ]
    await lock_turn(two, Turn("m4", "customer", "and there"), check=stores)
    begun = await one.begin_turn(REF, Turn("m5", "customer", "begun alone"))
    same(begun, await fresh_view(stores, REF.key))


async def test_a_history_trimmed_past_what_is_held_is_sent_whole(
    opened: Callable[..., Any], stores: Stores
) -> None:
    one: RedisStore = await opened(history_limit=4)
    two: RedisStore = await opened(history_limit=4)
    await lock_turn(one, Turn("m1", "customer", "hello"))
    for i in range(2, 5):  # six more turns elsewhere: m1:bot is trimmed away
        await lock_turn(two, Turn(f"m{i}", "customer", f"message {i}"))
    back = await lock_turn(one, Turn("m5", "customer", "back"), check=stores, history_limit=4)
    assert back.conversation is not None
    assert [t.turn_id for t in back.conversation.turns] == ["m3:bot", "m4", "m4:bot", "m5"]
    # Two turns elsewhere, then here: the trim now cuts inside the turns held (m5:bot stays).
    await lock_turn(two, Turn("m6", "customer", "six"), check=stores, history_limit=4)
    again = await lock_turn(one, Turn("m7", "customer", "seven"), check=stores, history_limit=4)
    assert again.conversation is not None
    assert [t.turn_id for t in again.conversation.turns] == ["m5:bot", "m6", "m6:bot", "m7"]


async def test_a_conversation_begun_again_is_not_taken_for_the_one_held(
    opened: Callable[..., Any], stores: Stores
) -> None:
    store: RedisStore = await opened()
    await lock_turn(store, Turn("m1", "customer", "hello"))
    await lock_turn(store, Turn("m2", "customer", "more"))
    keys = store._keys(REF.key)
    # Retention ran out (or the data was lost): the conversation starts over, numbered from 1.
    for name in (keys.meta, keys.turns, keys.ids):
        await store.client.delete(name)
    other = await opened()
    await lock_turn(other, Turn("n1", "customer", "new start"))
    await lock_turn(other, Turn("n2", "customer", "more"))  # numbers 1-4 again, other turns
    context = await lock_turn(store, Turn("n3", "customer", "third"), check=stores)
    assert context.conversation is not None
    assert [t.turn_id for t in context.conversation.turns] == ["n1", "n1:bot", "n2", "n2:bot",
                                                               "n3"]  # fmt: skip


async def test_random_interleavings_read_what_a_fresh_store_reads(
    opened: Callable[..., Any], stores: Stores
) -> None:
    rng = random.Random(13)
    replicas: list[RedisStore] = [await opened(history_limit=6) for _ in range(3)]
    refs = [REF, replace(REF, conversation_id="c2")]
    for step in range(36):
        store, ref = rng.choice(replicas), rng.choice(refs)
        turn = Turn(f"s{step}", "customer", f"step {step}")
        kind = rng.random()
        if kind < 0.6:
            await lock_turn(store, turn, ref, check=stores, history_limit=6)
            continue
        elif kind < 0.8:
            context = await store.begin_turn(ref, turn, ["paused:terminal"])
        else:
            await store.append_turn(ref, replace(turn, role="agent"))
            continue
        same(context, await fresh_view(stores, ref.key, history_limit=6))


async def test_a_redelivered_turn_reads_the_history_whole(
    opened: Callable[..., Any], stores: Stores
) -> None:
    store: RedisStore = await opened()
    await lock_turn(store, Turn("m1", "customer", "hello"))
    again = await store.begin_turn(REF, Turn("m1", "customer", "hello, redelivered"))
    same(again, await fresh_view(stores, REF.key))
    assert [t.text for t in again.conversation.turns] == ["hello", "re: hello"]  # type: ignore[union-attr]


async def test_a_held_history_that_does_not_follow_on_is_read_whole(
    opened: Callable[..., Any], stores: Stores, caplog: pytest.LogCaptureFixture
) -> None:
    store: RedisStore = await opened()
    await lock_turn(store, Turn("m1", "customer", "hello"))
    await lock_turn(store, Turn("m2", "customer", "more"))
    held = store._histories.get(REF.key)
    assert held is not None and len(held.turns) == 4
    # Planted: the right last turn and number, but fewer turns than the store has before it.
    store._histories.keep(REF.key, replace(held, turns=held.turns[-1:]))
    with caplog.at_level(logging.WARNING):
        context = await store.begin_turn(REF, Turn("m3", "customer", "third"))
    assert "did not follow on" in caplog.text
    same(context, await fresh_view(stores, REF.key))


async def test_a_ref_with_hints_is_the_one_stored(
    opened: Callable[..., Any], stores: Stores
) -> None:
    store: RedisStore = await opened()
    hinted = replace(REF, hints=ReplyHints(reply_to="<m1@x>", references=("<a@x>",),
                                           extra=(("k", "v"),)))  # fmt: skip
    await lock_turn(store, Turn("m1", "customer", "hello"), hinted)
    later = replace(REF, hints=ReplyHints(reply_to="<m2@x>"))
    context = await lock_turn(store, Turn("m2", "customer", "again"), later, check=stores)
    assert context.conversation is not None and context.conversation.ref.hints.reply_to == "<m2@x>"
    bot_first = await store.begin_turn(replace(REF, conversation_id="c9"), Turn("b", "bot", "hi"))
    same(bot_first, await fresh_view(stores, replace(REF, conversation_id="c9").key))


async def test_a_head_not_read_here_comes_with_its_message(opened: Callable[..., Any]) -> None:
    store: RedisStore = await opened()
    await store.enqueue(InboundMessage(ref=REF, message_id="m1", author=ALICE, text="hi"))
    (entry,) = await store.read_queue("w1", 1, 0.1)
    store._read_lately.clear()  # as if another replica had read it
    start = TurnStart(entry.entry_id, REF, Turn("m1", "customer", "hi"))
    async with store.lock_conversation(REF.key, "w1", start) as held:
        assert held.head is not None and held.head.message == entry.message
        assert held.head.entry_id == entry.entry_id and held.head.deliveries == 2
        await store.finish(entry.entry_id, lease=held.lease, conversation=REF.key)
    assert store._locks._local == {}  # the in-process lock is gone once nobody holds it


async def test_whole_and_fractional_counter_amounts_add_up(opened: Callable[..., Any]) -> None:
    store: RedisStore = await opened()
    await store.outbox_put("k1", [], {"whole": 1.0, "half": 0.5, "big": 3})
    await store.outbox_put("k2", [], {"whole": 2, "half": 1.0, "big": 2**70})
    await store.incr_many({"whole": 0.25})
    await store.outbox_put("k3", [], {"whole": 1})  # a fraction is held: HINCRBY refuses it
    counters = await store.counters()
    assert counters == {"whole": 4.25, "half": 1.5, "big": float(2**70 + 3)}


def test_the_history_kept_is_bounded_by_turns() -> None:
    histories = Histories(limit=5)
    turn = Turn("t", "customer", "x")
    for i in range(4):
        histories.keep(f"c{i}", History(1, (turn, turn), "{}", REF))
    assert len(histories) == 2 and histories.turns == 4
    assert histories.get("c0") is None and histories.get("c3") is not None
    histories.keep("c3", History(2, (turn,) * 3, "{}", REF))  # c2 and c3 fit in 5
    assert histories.turns == 5 and len(histories) == 2
    histories.keep("c4", History(1, (turn,), "{}", REF))  # the oldest goes
    assert histories.turns == 4 and histories.get("c2") is None
    histories.drop("c3")
    histories.drop("c4")
    assert histories.turns == 0 and len(histories) == 0


def test_extended_refuses_what_does_not_follow_on() -> None:
    turns = tuple(Turn(f"t{i}", "customer", str(i)) for i in range(3))
    held = History(3, turns, "{}", REF)
    new = (Turn("t3", "bot", "3"),)
    assert extended(held, 4, 4, new) == (*turns, *new)
    assert extended(held, 4, 2, new) == (turns[2], *new)
    assert extended(held, 5, 4, new) is None  # a turn in between is missing
    assert extended(held, 4, 5, new) is None  # more turns before than are held


def test_a_turn_stands_for_its_stored_json_only_when_it_reads_back_the_same() -> None:
    now = datetime.now(UTC)
    plain = Turn("t", "customer", "x", now)
    assert as_stored(plain) and Turn.from_json(plain.to_json()) == plain
    assert Turn.from_json(plain.to_json()).at.tzinfo is UTC
    paris = Turn("t", "customer", "x", now.astimezone(timezone(timedelta(hours=1))))
    assert not as_stored(paris)
    assert not as_stored(Turn("t", "customer", "x", now.replace(tzinfo=None)))

    class Text(str):
        pass

    assert not as_stored(Turn("t", "customer", Text("x"), now))


async def test_the_lock_step_lets_go_when_its_context_fails(
    opened: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    store: RedisStore = await opened()
    await store.enqueue(InboundMessage(ref=REF, message_id="m1", author=ALICE, text="hi"))
    (entry,) = await store.read_queue("w1", 1, 0.1)

    async def broken(*_: Any) -> TurnContext:
        raise RuntimeError("boom")

    monkeypatch.setattr(store, "_context", broken)
    start = TurnStart(entry.entry_id, REF, Turn("m1", "customer", "hi"))
    with pytest.raises(RuntimeError, match="boom"):
        async with store.lock_conversation(REF.key, "w1", start):
            pytest.fail("entered")
    assert store._locks._local == {}
    # released: another store takes it at once
    async with store.lock(conversation_lock(REF.key), "w2", wait=False):
        pass
