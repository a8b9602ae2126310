"""Every store key has a TTL no longer than retention (issue 9), on both backends.

The exceptions are work and configuration, never personal data past retention: open tickets
(with their per-conversation pointer and the status indexes, cleaned by the purge), the ticket
counter, the inbound stream (acked entries are deleted) and the admins' settings (paused
channels, FAQ entries, switched-off providers).
"""

from __future__ import annotations

import time
from pathlib import Path

from brain.store.base import Store, StoreLimits, TicketStatus, Turn
from brain.store.redis import RedisStore
from brain.store.sqlite import SqliteStore
from brain.store.state import FaqRecord, SharedState
from channels.base import Author, ConversationRef, InboundMessage, OutboundMessage
from tests.servers import RedisServer

RETENTION_S = 100.0
REF = ConversationRef(channel="terminal", conversation_id="c1")
OTHER = ConversationRef(channel="terminal", conversation_id="c2")
ALICE = Author(id="u-alice")


async def fill(store: Store) -> None:
    state = SharedState(store)
    await store.enqueue(InboundMessage(ref=REF, message_id="m1", author=ALICE, text="hi"))
    await store.outbox_put("k1", [OutboundMessage(ref=REF, text="hello")])
    await store.append_turn(REF, Turn(turn_id="t1", role="customer", text="hi"))
    closed, _ = await store.open_ticket(REF, ALICE, ["human_requested"], "x")
    await store.transition_ticket(closed.id, 0, TicketStatus.RESOLVED, "agent")
    await store.open_ticket(OTHER, ALICE, ["human_requested"], "still open")
    await store.incr("messages_sent")
    await store.kv_set("anything", "1", ttl_s=RETENTION_S * 10)
    await state.map_card("slack", "C1:123.456", closed.id)
    await state.mark_paging("slack", closed.id, RETENTION_S * 10)
    await state.mark_relayed("relay:k1", {"slack"}, RETENTION_S * 10)
    await state.pause("slack")
    await state.add_faq("faq-1", FaqRecord("q", "a", "admin", "now"))
    await state.set_provider_enabled("openai", False)


LIMITS = StoreLimits(retention_s=RETENTION_S, idempotency_ttl_s=RETENTION_S * 10)


async def test_redis_keys_expire_within_retention(redis_server: RedisServer) -> None:
    store = RedisStore.from_url(redis_server.url, limits=LIMITS, namespace="ttl-test")
    await store.open()
    await fill(store)
    async with store.lock("conversation:x"):
        keys = [k.decode() async for k in store.client.scan_iter(match=f"{store.namespace}:*")]
        ttls = {k.removeprefix(store.namespace + ":"): await store.client.pttl(k) for k in keys}
    kept = {"inbound", "ticket_seq", "openticket:terminal:-:c2", "ticket:T-2",
            "tickets:escalated", "tickets:resolved", "kv:paused:slack", "kv:faq:faq-1",
            "kv:provider_disabled:openai"}  # fmt: skip
    assert {k for k, ttl in ttls.items() if ttl < 0} == kept
    too_long = {k: ttl for k, ttl in ttls.items() if ttl > RETENTION_S * 1000}
    assert too_long == {}
    await store.close()


async def test_sqlite_rows_expire_within_retention(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db", limits=LIMITS)
    await store.open()
    await fill(store)
    later = time.time() + RETENTION_S + 86400  # counters are kept per day
    await store._run(store._tx(store._purge, later))
    rows = await store._run(store._tx(_all_rows))
    assert rows["idempotency"] == []
    assert rows["outbox"] == [] and rows["conversations"] == [] and rows["turns"] == []
    assert rows["counters"] == []
    assert sorted(r[0] for r in rows["kv"]) == ["faq:faq-1", "paused:slack",
                                                "provider_disabled:openai"]  # fmt: skip
    assert [r[2] for r in rows["tickets"]] == ["escalated"]
    await store.close()


def _all_rows(conn: object) -> dict[str, list[tuple[object, ...]]]:
    tables = ["idempotency", "outbox", "conversations", "turns", "counters", "kv", "tickets"]
    return {t: list(conn.execute(f"SELECT * FROM {t}")) for t in tables}  # type: ignore[attr-defined]
