"""What the Redis store keeps decoded between steps (against a real redis-server): a stored
turn is parsed once however often its conversation's history is read, the copy is the same
turn, and the memory it takes is bounded."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from brain.store import redis_conversations
from brain.store.base import StoreLimits, Turn
from brain.store.redis import RedisStore
from channels.messages import ConversationRef
from tests.servers import RedisServer

REF = ConversationRef(channel="fake", conversation_id="c1")


@pytest.fixture
async def store(redis_server: RedisServer) -> AsyncIterator[RedisStore]:
    namespace = f"caches-{uuid.uuid4().hex[:8]}"
    store = RedisStore.from_url(redis_server.url, limits=StoreLimits(), namespace=namespace)
    await store.open()
    yield store
    await store.close()


async def test_a_history_read_again_reuses_the_turns_parsed_before(store: RedisStore) -> None:
    turns = [Turn(f"t{i}", "customer" if i % 2 == 0 else "bot", f"text {i} é") for i in range(6)]
    for turn in turns:
        assert await store.append_turn(REF, turn)
    first = await store.get_conversation(REF.key)
    again = await store.begin_turn(REF, Turn("t6", "customer", "one more"))
    assert first is not None and again.conversation is not None
    assert first.turns == tuple(turns)
    assert again.conversation.turns[:6] == tuple(turns)
    assert all(a is b for a, b in zip(first.turns, again.conversation.turns, strict=False))
    assert again.conversation.turns[6] == Turn("t6", "customer", "one more",
                                               again.conversation.turns[6].at)  # fmt: skip


async def test_the_parsed_turns_kept_are_bounded(
    store: RedisStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redis_conversations, "TURNS_LATELY", 3)
    for i in range(8):
        await store.append_turn(REF, Turn(f"t{i}", "customer", f"text {i}"))
    conversation = await store.get_conversation(REF.key)
    assert conversation is not None and len(conversation.turns) == 8
    assert len(store._turns_lately) == 3
    assert [t.turn_id for t in store._turns_lately.values()] == ["t5", "t6", "t7"]
