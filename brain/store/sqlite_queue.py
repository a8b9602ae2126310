"""The SQLite store's inbound queue (idempotent enqueue, read, reclaim, finish) and outbox."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from typing import Any

from brain.store.base import OutboxRecord, QueueEntry, conversation_of, outbox_to_json, today
from brain.store.lease import Lease
from brain.store.sqlite_core import _POLL_S, SqliteCore
from brain.store.sqlite_rows import (
    _changed,
    _execute,
    _fence,
    _fetch,
    _head_row,
    _outbox_row,
    _upsert_counters,
)
from channels.base import OutboundMessage, QueueItem, decode_queue_item


class SqliteQueue(SqliteCore):
    # -- inbound queue -----------------------------------------------------------------------
    async def enqueue(self, message: QueueItem) -> bool:
        added = await self._run(self._tx(self._enqueue, message, time.time()))
        if added:
            self._enqueued.set()
        return added

    def _enqueue(self, conn: sqlite3.Connection, message: QueueItem, now: float) -> bool:
        cursor = conn.execute(
            "INSERT INTO idempotency (key, expires_at) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at "
            "WHERE idempotency.expires_at < ?",
            (message.idempotency_key, now + self.limits.idempotency_s, now),
        )
        if cursor.rowcount != 1:
            return False
        conn.execute(
            "INSERT INTO inbound_queue (payload, conv) VALUES (?, ?)",
            (message.to_json(), conversation_of(message)),
        )
        return True

    async def read_queue(self, consumer: str, count: int, block_s: float) -> list[QueueEntry]:
        deadline = time.monotonic() + block_s
        while True:
            self._enqueued.clear()
            entries = await self._run(self._tx(self._take, consumer, count, None, time.time()))
            remaining = deadline - time.monotonic()
            if entries or remaining <= 0:
                return entries
            with suppress(TimeoutError):
                await asyncio.wait_for(self._enqueued.wait(), timeout=min(remaining, _POLL_S))

    async def reclaim(
        self, consumer: str, min_idle_s: float, count: int, from_consumer: str | None = None
    ) -> list[QueueEntry]:
        now = time.time()
        take = self._tx(self._take, consumer, count, now - min_idle_s, now, from_consumer)
        return await self._run(take)

    def _take(
        self, conn: sqlite3.Connection, consumer: str, count: int, idle_before: float | None,
        now: float, from_consumer: str | None = None,
    ) -> list[QueueEntry]:  # fmt: skip
        args: tuple[Any, ...]
        if idle_before is None:
            where, args = "consumer IS NULL", (count,)
        elif from_consumer is None:
            where, args = "consumer IS NOT NULL AND taken_at <= ?", (idle_before, count)
        else:
            where, args = "consumer = ? AND taken_at <= ?", (from_consumer, idle_before, count)
        rows = conn.execute(
            "UPDATE inbound_queue SET consumer = ?, taken_at = ?, deliveries = deliveries + 1 "
            f"WHERE id IN (SELECT id FROM inbound_queue WHERE {where} ORDER BY id LIMIT ?) "
            "RETURNING id, payload, deliveries",
            (consumer, now, *args),
        ).fetchall()
        return [
            QueueEntry(str(row[0]), decode_queue_item(row[1]), int(row[2])) for row in sorted(rows)
        ]

    async def ack(self, entry_id: str) -> None:
        await self._run(self._tx(_execute, "DELETE FROM inbound_queue WHERE id = ?", (entry_id,)))

    async def finish(
        self,
        entry_id: str,
        *,
        lease: Lease | None = None,
        outbox: tuple[str, int] | None = None,
        counters: Mapping[str, float] | None = None,
        conversation: str | None = None,
        release: bool = True,
    ) -> None:
        # The conversation's unfinished entries are the queue rows themselves (``conv``).
        finish = self._tx(self._finish, entry_id, lease, outbox, dict(counters or {}), release)
        await self._run(finish)
        if lease is not None and release:
            lease.let_go()

    async def head_of(self, conversation_key: str) -> QueueEntry | None:
        return await self._run(self._tx(_head_row, conversation_key))

    def _finish(
        self, conn: sqlite3.Connection, entry_id: str, lease: Lease | None,
        outbox: tuple[str, int] | None, counters: dict[str, float], release: bool,
    ) -> None:  # fmt: skip
        _fence(conn, lease)
        if outbox is not None:
            conn.execute(
                "UPDATE outbox SET sent_count = MAX(sent_count, ?) WHERE inbound_key = ?",
                (outbox[1], outbox[0]),
            )
        if counters:
            _upsert_counters(conn, [(today().isoformat(), n, a) for n, a in counters.items()])
        conn.execute("DELETE FROM inbound_queue WHERE id = ?", (entry_id,))
        if lease is not None and release:
            conn.execute(
                "DELETE FROM locks WHERE name = ? AND token = ?", (lease.name, lease.token)
            )

    async def queue_depth(self) -> int:
        rows = await self._run(self._tx(_fetch, "SELECT COUNT(*) FROM inbound_queue", ()))
        return int(rows[0][0])

    # -- outbox ------------------------------------------------------------------------------
    async def outbox_put(
        self,
        inbound_key: str,
        messages: Sequence[OutboundMessage],
        counters: Mapping[str, float] | None = None,
        lease: Lease | None = None,
    ) -> OutboxRecord:
        payload = outbox_to_json(messages)
        put = self._tx(self._outbox_put, inbound_key, payload, dict(counters or {}), lease)
        return await self._run(put)

    def _outbox_put(
        self, conn: sqlite3.Connection, key: str, payload: str, counters: dict[str, float],
        lease: Lease | None,
    ) -> OutboxRecord:  # fmt: skip
        _fence(conn, lease)
        created = conn.execute(
            "INSERT OR IGNORE INTO outbox (inbound_key, messages, created_at) VALUES (?, ?, ?)",
            (key, payload, time.time()),
        ).rowcount
        if created and counters:
            _upsert_counters(conn, [(today().isoformat(), n, a) for n, a in counters.items()])
        record = _outbox_row(conn, key)
        assert record is not None
        return record

    async def outbox_get(self, inbound_key: str) -> OutboxRecord | None:
        return await self._run(self._tx(_outbox_row, inbound_key))

    async def outbox_mark_sent(self, inbound_key: str, sent_count: int) -> None:
        sql = "UPDATE outbox SET sent_count = MAX(sent_count, ?) WHERE inbound_key = ?"
        await self._run(self._tx(_execute, sql, (sent_count, inbound_key)))

    async def outbox_failed(self, inbound_key: str) -> int:
        sql = "UPDATE outbox SET failures = failures + 1 WHERE inbound_key = ? RETURNING failures"
        rows = await self._run(self._tx(_fetch, sql, (inbound_key,)))
        return int(rows[0][0]) if rows else 0

    async def outbox_dead(self, inbound_key: str) -> bool:
        sql = "UPDATE outbox SET dead = 1 WHERE inbound_key = ? AND dead = 0"
        return await self._run(self._tx(_changed, sql, (inbound_key,)))
