"""A message's conversation lock leaves no reference cycle behind: everything the lock and its
lease made for one message goes by reference counting when the message is done, so the cyclic
collector's young collections (pauses every message in flight waits out) find nothing of it.
Before: ``LockedConversation`` -> its ``Hold`` -> the hold's acquire callback (a bound method of
that ``LockedConversation``), about 24 objects a message.

Nor does the store keep a finished message: the Redis store's memo of what its reads decoded
held each one (with its author and ref) for the next 2,048 reads, objects the young collections
walked and moved on to the older generations."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from brain.store.base import Store, TurnStart
from brain.store.records import Turn
from channels.base import Author, ConversationRef, InboundMessage, OutboundMessage
from tests.conftest import make_store_factory

REF = ConversationRef(channel="terminal", conversation_id="c-cycles")
LOCK_TYPES = {"LockedConversation", "Hold", "Lease", "HeldConversation", "TurnStart"}


@pytest.fixture(params=["sqlite", "redis", "redis-partitioned"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    return make_store_factory(request.param, request, tmp_path)()


@pytest.fixture
def saved_garbage() -> Iterator[list[object]]:
    """What the cyclic collector finds unreachable while the test runs (kept, not freed)."""
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield gc.garbage
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


async def answer(store: Store, n: int) -> None:
    """Message ``n`` as the dispatcher handles it: read, lock with its turn, reply, finish."""
    turn = Turn(f"m{n}", "customer", f"question {n}")
    await store.enqueue(InboundMessage(ref=REF, message_id=turn.turn_id,
                                       author=Author(id="u1"), text=turn.text))  # fmt: skip
    (entry,) = await store.read_queue("w1", 1, 0.1)
    start = TurnStart(entry.entry_id, REF, turn, ())
    async with store.lock_conversation(REF.key, "w1", start) as held:
        bot = Turn(f"m{n}:bot", "bot", f"answer {n}")
        reply = [OutboundMessage(ref=REF, text=bot.text, in_reply_to=turn.turn_id)]
        await store.outbox_put_reply(f"k{n}", reply, {"replies": 1}, held.lease, REF, [bot])
        await store.finish(entry.entry_id, lease=held.lease, conversation=REF.key)


async def test_a_locked_message_leaves_no_cycle(store: Store, saved_garbage: list[object]) -> None:
    await store.open()
    try:
        await answer(store, 0)  # first use: scripts loaded, caches made
        gc.collect()
        saved_garbage.clear()
        for n in range(1, 6):
            await answer(store, n)
        gc.collect()
        found = sorted({type(o).__name__ for o in saved_garbage} & LOCK_TYPES)
        assert not found, f"left in reference cycles: {found}"
    finally:
        await store.close()


async def test_a_finished_message_is_not_kept(store: Store) -> None:
    await store.open()
    try:
        for n in range(4):
            await answer(store, n)
        gc.collect()
        kept = [o.text for o in gc.get_objects()
                if isinstance(o, InboundMessage) and o.ref == REF]  # fmt: skip
        assert not kept, f"finished messages still held: {kept}"
    finally:
        await store.close()
