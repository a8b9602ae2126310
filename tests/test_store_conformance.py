"""One behaviour suite, run unchanged against SQLite, a real redis-server (one stream, and
four partitions) and a real three-master Redis Cluster."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from brain.store.base import (
    OPEN_STATUSES,
    Repage,
    Store,
    StoreLimits,
    TicketPatch,
    TicketStatus,
    Turn,
    TurnStart,
    conversation_lock,
    utcnow,
)
from brain.store.lease import LeaseLost
from brain.store.sqlite import SqliteStore
from channels.base import Author, ConversationRef, InboundMessage, OutboundMessage, ReplyHints
from tests.conftest import StoreFactory, make_store_factory


@pytest.fixture(params=["sqlite", "redis", "redis-partitioned", "redis-cluster"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    return make_store_factory(request.param, request, tmp_path)


REF = ConversationRef(channel="terminal", conversation_id="c1")
ALICE = Author(id="u-alice", display_name="Alice")


def message(message_id: str, text: str = "hello", ref: ConversationRef = REF) -> InboundMessage:
    return InboundMessage(ref=ref, message_id=message_id, author=ALICE, text=text)


async def test_enqueue_drops_duplicates_atomically(store: Store) -> None:
    results = await asyncio.gather(*(store.enqueue(message("m1")) for _ in range(5)))
    assert sorted(results) == [False, False, False, False, True]
    assert await store.queue_depth() == 1


async def test_queue_is_fifo_and_ack_removes(store: Store) -> None:
    for i in range(3):
        assert await store.enqueue(message(f"m{i}", text=f"text {i}"))
    entries = await store.read_queue("w1", count=10, block_s=0.1)
    assert [e.message.text for e in entries] == ["text 0", "text 1", "text 2"]
    assert entries[0].message == message("m0", text="text 0").__class__(
        ref=REF, message_id="m0", author=ALICE, text="text 0",
        received_at=entries[0].message.received_at,
    )  # fmt: skip
    assert all(e.deliveries == 1 for e in entries)
    assert await store.read_queue("w1", count=10, block_s=0.05) == []
    assert await store.queue_depth() == 3
    for entry in entries:
        await store.ack(entry.entry_id)
    assert await store.queue_depth() == 0


async def test_read_queue_wakes_on_enqueue(store: Store) -> None:
    reader = asyncio.create_task(store.read_queue("w1", count=1, block_s=5.0))
    await asyncio.sleep(0.05)
    await store.enqueue(message("late"))
    entries = await asyncio.wait_for(reader, timeout=5.0)
    assert [e.message.message_id for e in entries] == ["late"]


async def test_abandoned_entries_are_reclaimed_once(store: Store) -> None:
    await store.enqueue(message("m1"))
    taken = await store.read_queue("dead-worker", count=1, block_s=0.1)
    assert len(taken) == 1
    assert await store.reclaim("w2", min_idle_s=60, count=10) == []  # not idle long enough
    await asyncio.sleep(0.15)
    reclaimed = await store.reclaim("w2", min_idle_s=0.1, count=10)
    assert [e.message.message_id for e in reclaimed] == ["m1"]
    assert reclaimed[0].deliveries == 2
    assert await store.read_queue("w3", count=10, block_s=0.05) == []
    await store.ack(reclaimed[0].entry_id)
    await asyncio.sleep(0.15)
    assert await store.reclaim("w3", min_idle_s=0.1, count=10) == []
    assert await store.queue_depth() == 0


async def test_restarted_consumer_reclaims_only_its_own_entries_at_once(store: Store) -> None:
    await store.enqueue(message("mine"))
    await store.enqueue(message("theirs"))
    assert len(await store.read_queue("host-a", count=1, block_s=0.1)) == 1
    assert len(await store.read_queue("host-b", count=1, block_s=0.1)) == 1
    own = await store.reclaim("host-a", min_idle_s=0, count=10, from_consumer="host-a")
    assert [e.message.message_id for e in own] == ["mine"]
    assert own[0].deliveries == 2


async def test_outbox_keeps_the_first_decision(store: Store) -> None:
    first = [OutboundMessage(ref=REF, text="one", in_reply_to="m1")]
    second = [OutboundMessage(ref=REF, text="two", in_reply_to="m1")]
    assert await store.outbox_get("k1") is None
    record = await store.outbox_put("k1", first)
    assert record.messages == tuple(first) and record.sent_count == 0
    again = await store.outbox_put("k1", second)
    assert again.messages == tuple(first)
    await store.outbox_mark_sent("k1", 1)
    stored = await store.outbox_get("k1")
    assert stored is not None and stored.sent_count == 1 and stored.pending == ()


async def test_outbox_counts_failed_deliveries_and_dead_letters_once(store: Store) -> None:
    assert await store.outbox_failed("nothing") == 0
    assert not await store.outbox_dead("nothing")
    assert await store.outbox_get("nothing") is None  # counting never creates a record
    parts = [OutboundMessage(ref=REF, text=t, in_reply_to="m1") for t in ("a", "b")]
    await store.outbox_put("k1", parts)
    assert [await store.outbox_failed("k1") for _ in range(3)] == [1, 2, 3]
    assert await store.outbox_dead("k1")
    assert not await store.outbox_dead("k1")
    record = await store.outbox_get("k1")
    assert record is not None and record.failures == 3 and record.dead
    assert record.pending == () and record.messages == tuple(parts)
    again = await store.outbox_put("k1", [])
    assert again.dead and again.failures == 3


async def test_a_ticket_patch_adds_a_reason_once(store: Store) -> None:
    ticket, _ = await store.open_ticket(REF, ALICE, ["human_requested"], "wants a human")
    for _ in range(2):
        await store.annotate_ticket(ticket.id, TicketPatch(reason="undeliverable"))
    stored = await store.get_ticket(ticket.id)
    assert stored is not None and stored.reasons == ("human_requested", "undeliverable")
    assert stored.epoch == ticket.epoch


async def test_finish_records_progress_counts_acks_and_unlocks_in_one_step(
    store_factory: StoreFactory,
) -> None:
    store, other = store_factory(lock_ttl_s=5.0), store_factory(lock_ttl_s=5.0)
    await store.open()
    await other.open()
    await store.enqueue(message("m1"))
    (entry,) = await store.read_queue("w1", 10, 0.1)
    parts = [OutboundMessage(ref=REF, text=t) for t in ("a", "b")]
    async with store.lock("conversation:c1", owner="w1") as lease:
        record = await store.outbox_put("k1", parts, {"decisions_reply": 1}, lease)
        assert record.sent_count == 0
        again = await store.outbox_put("k1", [], {"decisions_reply": 1}, lease)
        assert again.messages == tuple(parts)  # counted once: only the call that created it
        await store.finish(entry.entry_id, lease=lease, outbox=("k1", 2),
                           counters={"messages_sent": 2})  # fmt: skip
        # released in that same step: another store takes the lock at once
        async with asyncio.timeout(1.0), other.lock("conversation:c1"):
            pass
    stored = await store.outbox_get("k1")
    assert stored is not None and stored.sent_count == 2
    assert await store.queue_depth() == 0
    counters = await store.counters()
    assert counters["decisions_reply"] == 1 and counters["messages_sent"] == 2
    await store.close()
    await other.close()


async def test_finish_without_release_keeps_the_lock(store_factory: StoreFactory) -> None:
    store, other = store_factory(lock_ttl_s=5.0), store_factory(lock_ttl_s=5.0)
    await store.open()
    await other.open()
    await store.enqueue(message("m1"))
    await store.enqueue(message("m2"))
    first, second = await store.read_queue("w1", 10, 0.1)
    async with store.lock("conversation:c1") as lease:
        await store.finish(first.entry_id, lease=lease, conversation=REF.key, release=False)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2), other.lock("conversation:c1"):
                pass
        await store.finish(second.entry_id, lease=lease, conversation=REF.key)
    assert await store.queue_depth() == 0
    await store.close()
    await other.close()


async def test_fenced_writes_are_refused_once_someone_else_holds_the_lock(
    store_factory: StoreFactory,
) -> None:
    store, other = store_factory(lock_ttl_s=3.0), store_factory(lock_ttl_s=3.0)
    await store.open()
    await other.open()
    await store.enqueue(message("m1"))
    (entry,) = await store.read_queue("w1", 10, 0.1)
    async with store.lock("conversation:c1") as lease:
        # The lease ran out and someone else took the lock (as after a stall):
        await store._locks._release("conversation:c1", lease.token)  # type: ignore[attr-defined]
        async with other.lock("conversation:c1"):
            with pytest.raises(LeaseLost):
                await store.outbox_put("k1", [], {"decisions_reply": 1}, lease)
            with pytest.raises(LeaseLost):
                await store.finish(entry.entry_id, lease=lease, counters={"messages_sent": 1})
    assert await store.outbox_get("k1") is None
    assert await store.queue_depth() == 1
    assert "messages_sent" not in await store.counters()
    await store.close()
    await other.close()


async def test_head_of_is_a_conversations_oldest_unfinished_entry(store: Store) -> None:
    other = ConversationRef(channel="terminal", conversation_id="c2")
    await store.enqueue(message("a1"))
    await store.enqueue(message("b1", ref=other))
    await store.enqueue(message("a2"))
    assert await store.head_of("terminal:-:nobody") is None
    head = await store.head_of(REF.key)
    assert head is not None and head.message.message_id == "a1" and head.deliveries >= 2
    entries = await store.read_queue("w1", 10, 0.1)
    first = next(e for e in entries if e.message.message_id == "a1")
    assert first.entry_id == head.entry_id
    await store.finish(first.entry_id, conversation=REF.key)
    head = await store.head_of(REF.key)
    assert head is not None and head.message.message_id == "a2"
    second = next(e for e in entries if e.message.message_id == "a2")
    await store.ack(second.entry_id)  # a plain ack: the index heals itself
    assert await store.head_of(REF.key) is None
    other_head = await store.head_of(other.key)
    assert other_head is not None and other_head.message.message_id == "b1"


async def test_lock_conversation_takes_the_lock_and_reads_the_head_in_one_step(
    store_factory: StoreFactory,
) -> None:
    store, other = store_factory(lock_ttl_s=5.0), store_factory(lock_ttl_s=5.0)
    await store.open()
    await other.open()
    async with store.lock_conversation(REF.key, "w1") as held:
        assert held.head is None and held.context is None
        assert held.lease.name == conversation_lock(REF.key)
    await store.enqueue(message("a1"))
    await store.enqueue(message("a2"))
    (first, second) = await store.read_queue("w1", 10, 0.1)
    async with store.lock_conversation(REF.key, "w1") as held:
        assert held.head is not None and held.head.entry_id == first.entry_id
        assert held.head.deliveries >= 2
        assert held.head.message == first.message  # (read by this store just now)
        with pytest.raises(TimeoutError):  # the same lock as ``lock(conversation_lock(...))``
            async with asyncio.timeout(0.2), other.lock(conversation_lock(REF.key)):
                pass
        await store.finish(first.entry_id, lease=held.lease, conversation=REF.key)
    async with other.lock_conversation(REF.key, "w2") as held:
        assert held.head is not None and held.head.entry_id == second.entry_id
        assert held.head.message == second.message  # (never read by this one)
        assert held.head.deliveries >= 2
    await store.close()
    await other.close()


async def test_lock_conversation_begins_the_heads_turn_in_the_same_step(store: Store) -> None:
    await store.kv_set("paused:terminal", "1")
    await store.enqueue(message("a1", text="first"))
    await store.enqueue(message("a2", text="second"))
    first, second = await store.read_queue("w1", 10, 0.1)
    flags = ("paused:terminal",)
    # Not the head: the older entry goes first, so nothing of the later one is written.
    later = TurnStart(second.entry_id, REF, Turn("a2", "customer", "second"), flags)
    async with store.lock_conversation(REF.key, "w1", later) as held:
        assert held.head is not None and held.head.entry_id == first.entry_id
        assert held.context is None
    assert await store.get_conversation(REF.key) is None
    start = TurnStart(first.entry_id, REF, Turn("a1", "customer", "first"), flags)
    async with store.lock_conversation(REF.key, "w1", start) as held:
        assert held.context is not None and held.context.open_ticket is None
        assert held.context.conversation is not None
        assert [t.text for t in held.context.conversation.turns] == ["first"]
        assert dict(held.context.flags) == {"paused:terminal": "1"}
        await store.finish(first.entry_id, lease=held.lease, conversation=REF.key)
    ticket, _ = await store.open_ticket(REF, ALICE, ["human_requested"], "help")
    async with store.lock_conversation(REF.key, "w1", replace(later, flags=())) as held:
        assert held.context is not None and held.context.open_ticket == ticket
        assert held.context.conversation is not None
        assert [t.text for t in held.context.conversation.turns] == ["first", "second"]


async def test_begin_turn_appends_and_reads_the_brains_context(store: Store) -> None:
    await store.kv_set("paused:terminal", "1")
    context = await store.begin_turn(REF, Turn("t1", "customer", "hi"), ["paused:terminal", "x"])
    assert context.conversation is not None and context.conversation.ref == REF
    assert [t.text for t in context.conversation.turns] == ["hi"]
    assert context.open_ticket is None
    assert dict(context.flags) == {"paused:terminal": "1", "x": None}
    ticket, _ = await store.open_ticket(REF, ALICE, ["human_requested"], "help")
    again = await store.begin_turn(REF, Turn("t1", "customer", "hi again"))  # a redelivery
    assert again.conversation is not None and [t.text for t in again.conversation.turns] == ["hi"]
    assert again.open_ticket == ticket and dict(again.flags) == {}
    await store.transition_ticket(ticket.id, ticket.epoch, TicketStatus.RESOLVED, "bob")
    later = await store.begin_turn(REF, Turn("t2", "customer", "thanks"))
    assert later.open_ticket is None
    assert later.conversation is not None and len(later.conversation.turns) == 2


async def test_outbox_put_reply_writes_the_turns_unless_a_ticket_opened(store: Store) -> None:
    other = ConversationRef(channel="terminal", conversation_id="c2")
    reply = [OutboundMessage(ref=REF, text="answer", in_reply_to="m1")]
    bot = Turn("m1:bot", "bot", "answer")
    async with store.lock(conversation_lock(REF.key), owner="w1") as lease:
        record = await store.outbox_put_reply("k1", reply, {"decisions_reply": 1}, lease, REF,
                                              [bot])  # fmt: skip
        assert record is not None and record.messages == tuple(reply)
        again = await store.outbox_put_reply("k1", [], {"decisions_reply": 1}, lease, REF,
                                             [Turn("m1:other", "bot", "other")])  # fmt: skip
        assert again is not None and again.messages == tuple(reply)  # the first one stays
    conversation = await store.get_conversation(REF.key)
    assert conversation is not None and [t.turn_id for t in conversation.turns] == ["m1:bot"]
    assert (await store.counters())["decisions_reply"] == 1
    # A ticket opened while the reply was drafted: nothing is written, the draft is dropped.
    ticket, _ = await store.open_ticket(other, ALICE, ["human_requested"], "help")
    async with store.lock(conversation_lock(other.key), owner="w1") as lease:
        dropped = await store.outbox_put_reply("k2", reply, {"decisions_reply": 1}, lease,
                                               other, [bot])  # fmt: skip
        assert dropped is None
        assert await store.outbox_get("k2") is None
        assert await store.get_conversation(other.key) is None
        await store.transition_ticket(ticket.id, ticket.epoch, TicketStatus.RESOLVED, "bob")
        kept = await store.outbox_put_reply("k2", reply, {}, lease, other, [bot])
        assert kept is not None  # the ticket closed again: the conversation is the bot's
    assert (await store.counters())["decisions_reply"] == 1


async def test_outbox_put_reply_is_fenced(store_factory: StoreFactory) -> None:
    store, other = store_factory(lock_ttl_s=3.0), store_factory(lock_ttl_s=3.0)
    await store.open()
    await other.open()
    async with store.lock(conversation_lock(REF.key)) as lease:
        await store._locks._release(lease.name, lease.token)  # type: ignore[attr-defined]
        async with other.lock(conversation_lock(REF.key)):
            with pytest.raises(LeaseLost):
                await store.outbox_put_reply("k1", [], {}, lease, REF, [Turn("t", "bot", "x")])
    assert await store.outbox_get("k1") is None
    assert await store.get_conversation(REF.key) is None
    await store.close()
    await other.close()


async def test_lock_is_exclusive_across_store_instances(store_factory: StoreFactory) -> None:
    one, two = store_factory(lock_ttl_s=2.0), store_factory(lock_ttl_s=2.0)
    await one.open()
    await two.open()
    events: list[str] = []

    async def hold(store: Store, name: str) -> None:
        async with store.lock("conv-1"):
            events.append(f"{name}-in")
            await asyncio.sleep(0.1)
            events.append(f"{name}-out")

    await asyncio.gather(hold(one, "a"), hold(two, "b"), hold(one, "c"))
    assert len(events) == 6
    for i in range(0, 6, 2):  # every entry is followed by its own exit
        assert events[i].endswith("-in") and events[i + 1] == events[i][:-3] + "-out"
    await one.close()
    await two.close()


async def test_different_locks_do_not_block_each_other(store: Store) -> None:
    async with store.lock("a"):
        await asyncio.wait_for(_enter(store, "b"), timeout=2.0)


async def _enter(store: Store, name: str) -> None:
    async with store.lock(name):
        pass


async def test_lock_outlives_its_ttl_while_held(store_factory: StoreFactory) -> None:
    one, two = store_factory(lock_ttl_s=0.3), store_factory(lock_ttl_s=0.3)
    await one.open()
    await two.open()
    order: list[str] = []
    async with one.lock("x"):
        waiter = asyncio.create_task(_mark(two, "x", order))
        await asyncio.sleep(0.8)  # well past the TTL: renewal must keep it ours
        order.append("holder-done")
    await asyncio.wait_for(waiter, timeout=3.0)
    assert order == ["holder-done", "waiter"]
    await one.close()
    await two.close()


async def _mark(store: Store, name: str, order: list[str]) -> None:
    async with store.lock(name):
        order.append("waiter")


async def test_history_is_bounded_and_idempotent(store_factory: StoreFactory) -> None:
    store = store_factory(history_limit=5)
    await store.open()
    for i in range(8):
        assert await store.append_turn(REF, Turn(turn_id=f"t{i}", role="customer", text=f"n{i}"))
    assert not await store.append_turn(REF, Turn(turn_id="t7", role="customer", text="again"))
    conversation = await store.get_conversation(REF.key)
    assert conversation is not None
    assert [t.text for t in conversation.turns] == ["n3", "n4", "n5", "n6", "n7"]
    assert conversation.ref == REF
    assert await store.get_conversation("terminal:-:unknown") is None
    await store.close()


async def test_ticket_open_is_unique_per_conversation(store: Store) -> None:
    ticket, created = await store.open_ticket(REF, ALICE, ["human_requested"], "wants a human")
    assert created and ticket.status is TicketStatus.ESCALATED and ticket.epoch == 0
    same, created_again = await store.open_ticket(REF, ALICE, ["other"], "again")
    assert not created_again and same.id == ticket.id
    assert (await store.open_ticket_for(REF.key)) == ticket
    assert await store.get_ticket(ticket.id) == ticket
    assert await store.get_ticket("T-does-not-exist") is None


async def test_concurrent_claims_have_one_winner(store: Store) -> None:
    ticket, _ = await store.open_ticket(REF, ALICE, ["human_requested"], "help")
    results = await asyncio.gather(
        *(
            store.transition_ticket(ticket.id, ticket.epoch, TicketStatus.CLAIMED, f"agent{i}")
            for i in range(10)
        )
    )
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    claimed = await store.get_ticket(ticket.id)
    assert claimed == winners[0]
    assert claimed.status is TicketStatus.CLAIMED and claimed.epoch == 1
    assert claimed.agent == winners[0].agent


async def test_closing_a_ticket_frees_the_conversation(store: Store) -> None:
    ticket, _ = await store.open_ticket(REF, ALICE, ["low_confidence"], "?")
    claimed = await store.transition_ticket(ticket.id, 0, TicketStatus.CLAIMED, "bob")
    assert claimed is not None
    assert await store.transition_ticket(ticket.id, 0, TicketStatus.RESOLVED, "bob") is None
    resolved = await store.transition_ticket(ticket.id, 1, TicketStatus.RESOLVED, "bob")
    assert resolved is not None and not resolved.is_open
    assert await store.open_ticket_for(REF.key) is None
    fresh, created = await store.open_ticket(REF, ALICE, ["human_requested"], "again")
    assert created and fresh.id != ticket.id
    open_ids = [t.id for t in await store.list_tickets(OPEN_STATUSES)]
    assert open_ids == [fresh.id]
    closed = await store.list_tickets([TicketStatus.RESOLVED])
    assert [t.id for t in closed] == [ticket.id]


async def test_list_tickets_oldest_first(store: Store) -> None:
    ids = []
    for i in range(3):
        ref = ConversationRef(channel="terminal", conversation_id=f"c{i}")
        ticket, _ = await store.open_ticket(ref, ALICE, ["r"], f"s{i}")
        ids.append(ticket.id)
    assert [t.id for t in await store.list_tickets(OPEN_STATUSES)] == ids


async def test_counters_by_day(store: Store) -> None:
    day = datetime(2026, 1, 2, tzinfo=UTC).date()
    await store.incr("answered", day=day)
    await store.incr("answered", 2, day=day)
    await store.incr("cost_usd", 0.25, day=day)
    assert await store.counters(day) == {"answered": 3, "cost_usd": 0.25}
    await store.incr_many({"answered": 1, "llm_calls": 2}, day=day)
    assert await store.counters(day) == {"answered": 4, "cost_usd": 0.25, "llm_calls": 2}
    assert await store.counters(datetime(2026, 1, 3, tzinfo=UTC).date()) == {}


async def test_purge_drops_conversations_past_retention(store_factory: StoreFactory) -> None:
    store = store_factory(retention_s=0.2, idempotency_ttl_s=0.2)
    await store.open()
    await store.append_turn(REF, Turn(turn_id="t1", role="customer", text="old"))
    assert await store.enqueue(message("m-old"))
    await asyncio.sleep(1.1)
    await store.purge_expired()
    assert await store.get_conversation(REF.key) is None
    assert await store.enqueue(message("m-old")), "idempotency key should have expired"
    await store.close()


async def test_state_survives_a_restart(store_factory: StoreFactory) -> None:
    first = store_factory()
    await first.open()
    await first.append_turn(REF, Turn(turn_id="t1", role="customer", text="where is my order"))
    ticket, _ = await first.open_ticket(REF, ALICE, ["human_requested"], "order")
    await first.enqueue(message("pending-1"))
    await first.close()

    second = store_factory()
    await second.open()
    conversation = await second.get_conversation(REF.key)
    assert conversation is not None and conversation.turns[0].text == "where is my order"
    assert await second.open_ticket_for(REF.key) == ticket
    assert not await second.enqueue(message("pending-1"))
    entries = await second.read_queue("w1", count=5, block_s=0.1)
    assert [e.message.message_id for e in entries] == ["pending-1"]
    await second.close()


async def test_annotate_applies_a_typed_patch_without_an_ownership_change(store: Store) -> None:
    ticket, _ = await store.open_ticket(REF, ALICE, ["vip"], "s", {"urgency": "high", "x": 1})
    assert ticket.urgency == "high" and ticket.details == {"x": 1}
    annotated = await store.annotate_ticket(ticket.id, TicketPatch(desk_ref=("slack", "C1:1.2")))
    assert annotated is not None and annotated.epoch == ticket.epoch
    assert annotated.desk_refs == {"slack": "C1:1.2"}
    step = Repage(1, utcnow(), "slack")
    annotated = await store.annotate_ticket(ticket.id, TicketPatch(repage=step, agent_name="Al"))
    assert annotated is not None and annotated.repages == (step,)
    assert annotated.agent_name == "Al" and annotated.desk_refs == {"slack": "C1:1.2"}
    assert await store.get_ticket(ticket.id) == annotated
    assert await store.annotate_ticket("T-404", TicketPatch(agent_name="x")) is None
    claimed = await store.transition_ticket(ticket.id, annotated.epoch, TicketStatus.CLAIMED, "bob")
    assert claimed is not None and claimed.desk_refs == {"slack": "C1:1.2"}
    assert claimed.repages == (step,)


async def test_reply_hints_survive_the_store(store: Store) -> None:
    hinted = replace(REF, hints=ReplyHints(reply_to="<m2@x>", references=("<m1@x>", "<m2@x>"),
                                           address="robin@example.test", subject="Order 12",
                                           extra=(("guild", "42"),)))  # fmt: skip
    ticket, _ = await store.open_ticket(hinted, ALICE, ["vip"], "s")
    assert (await store.get_ticket(ticket.id)).ref.hints == hinted.hints  # type: ignore[union-attr]
    await store.append_turn(hinted, Turn("t1", "customer", "hi"))
    conversation = await store.get_conversation(hinted.key)
    assert conversation is not None and conversation.ref.hints == hinted.hints
    later = replace(REF, hints=ReplyHints(reply_to="<m3@x>"))
    await store.append_turn(REF, Turn("t2", "agent", "desk turns keep the customer's hints"))
    await store.append_turn(later, Turn("t3", "customer", "and the customer's newest wins"))
    conversation = await store.get_conversation(hinted.key)
    assert conversation is not None and conversation.ref.hints.reply_to == "<m3@x>"


async def test_kv_set_get_scan_delete_and_expiry(store: Store) -> None:
    await store.kv_set("paused:slack", "1")
    await store.kv_set("paused:email", "1")
    await store.kv_set("faq:a*b", "{}")
    await store.kv_set("short", "x", ttl_s=0.1)
    assert await store.kv_get("paused:slack") == "1"
    assert await store.kv_scan("paused:") == {"paused:email": "1", "paused:slack": "1"}
    assert await store.kv_scan("faq:a*") == {"faq:a*b": "{}"}
    await store.kv_delete("paused:slack")
    assert await store.kv_get("paused:slack") is None
    await asyncio.sleep(0.2)
    assert await store.kv_get("short") is None
    assert await store.kv_scan("sho") == {}


async def test_sqlite_file_from_an_older_version_gains_the_new_outbox_columns(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE outbox (inbound_key TEXT PRIMARY KEY, messages TEXT NOT NULL, "
            "sent_count INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL)"
        )
        conn.execute("INSERT INTO outbox VALUES ('k1', '[]', 0, 0)")
    store = SqliteStore(path, limits=StoreLimits())
    await store.open()
    assert await store.outbox_failed("k1") == 1
    record = await store.outbox_get("k1")
    assert record is not None and record.failures == 1 and not record.dead
    await store.close()


async def test_log_numbers_entries_and_keeps_the_first_of_an_id(store: Store) -> None:
    first, added = await store.log_append("web:c1", "m1", '{"text": "hi"}')
    assert (first.seq, first.entry_id, added) == (1, "m1", True)
    again, added = await store.log_append("web:c1", "m1", '{"text": "other"}')
    assert (again.seq, again.value, added) == (1, '{"text": "hi"}', False)
    results = await asyncio.gather(*(store.log_append("web:c1", f"m{i}", str(i))
                                     for i in range(2, 12)))  # fmt: skip
    assert sorted(e.seq for e, _ in results) == list(range(2, 12))
    other, _ = await store.log_append("web:c2", "m1", "x")
    assert other.seq == 1
    entries = await store.log_read("web:c1", after=3, limit=4)
    assert [e.seq for e in entries] == [4, 5, 6, 7]
    assert all(e.log == "web:c1" for e in entries)
    last = await store.log_read("web:c1", after=10)
    assert [e.seq for e in last] == [11] and last[0].entry_id.startswith("m")
    assert await store.log_read("web:none") == []


async def test_log_followers_hear_appends_from_another_instance(
    store_factory: StoreFactory,
) -> None:
    writer, reader = store_factory(), store_factory()
    await writer.open()
    await reader.open()
    follower, own = reader.log_follow("web"), writer.log_follow("web")
    try:
        first = asyncio.ensure_future(anext(follower))
        own_first = asyncio.ensure_future(anext(own))
        await asyncio.sleep(0.3)  # subscribed before the append
        await writer.log_append("web:a", "m1", "one", topic="web")
        await writer.log_append("web:quiet", "m1", "unheard")  # no topic: not followed
        await writer.log_append("web:b", "m1", "two", topic="web")
        await writer.log_append("web:b", "m1", "two again", topic="web")  # not added: silent
        heard = [await asyncio.wait_for(first, 5), await asyncio.wait_for(anext(follower), 5)]
        mine = [await asyncio.wait_for(own_first, 5), await asyncio.wait_for(anext(own), 5)]
        assert mine == heard  # the writer's own follower hears them too
        assert [(e.log, e.seq, e.value) for e in heard] == [
            ("web:a", 1, "one"),
            ("web:b", 1, "two"),
        ]
    finally:
        await follower.aclose()
        await own.aclose()
        await writer.close()
        await reader.close()
