"""SQLite backend: the embedded default, one file in the data directory.

Every operation runs as one function on a single dedicated thread that owns the connection, so
the event loop never blocks on disk; operations queued together share one transaction and
one commit, each in a savepoint of its own (``brain/store/sqlite_writer.py``). WAL mode plus
``BEGIN IMMEDIATE`` and a busy timeout make a second process (a replica, or ``frontdesk desk``
in another terminal) safe to share the same file.

``SqliteStore`` is assembled from one class per area, each on the one before: the plumbing
and named locks (``sqlite_core.py``), the inbound queue and outbox (``sqlite_queue.py``),
conversations and the dispatcher's combined steps (``sqlite_turns.py``), the append-only logs
(``sqlite_logs.py``); this module adds tickets, key-value entries, token buckets, counters
and retention. The tables are in ``sqlite_schema.py``, the steps on one connection in
``sqlite_rows.py``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from brain.store.base import Ticket, TicketPatch, TicketStatus, today, utcnow
from brain.store.sqlite_logs import SqliteLogs
from brain.store.sqlite_rows import (
    _execute,
    _fetch,
    _open_ticket_row,
    _take_token,
    _ticket_row_id,
    _upsert_counters,
)
from brain.store.sqlite_schema import _OPEN
from brain.store.sqlite_turns import SqliteTurns
from channels.base import Author, ConversationRef


class SqliteStore(SqliteTurns, SqliteLogs):
    backend = "sqlite"

    async def purge_expired(self) -> int:
        return await self._run(self._tx(self._purge, time.time()))

    def _purge(self, conn: sqlite3.Connection, now: float) -> int:
        cutoff = now - self.limits.retention_s
        stale = "SELECT key FROM conversations WHERE updated_at < ?"
        conn.execute(f"DELETE FROM turns WHERE conversation_key IN ({stale})", (cutoff,))
        purged = conn.execute("DELETE FROM conversations WHERE updated_at < ?", (cutoff,)).rowcount
        conn.execute("DELETE FROM idempotency WHERE expires_at < ?", (now,))
        conn.execute("DELETE FROM outbox WHERE created_at < ?", (cutoff,))
        conn.execute("DELETE FROM locks WHERE expires_at < ?", (now,))
        conn.execute("DELETE FROM buckets WHERE at < ?", (now - 86400,))  # full long ago
        conn.execute("DELETE FROM kv WHERE expires_at < ?", (now,))
        stale_logs = "SELECT log FROM log_heads WHERE updated_at < ?"
        conn.execute(f"DELETE FROM log_entries WHERE log IN ({stale_logs})", (cutoff,))
        conn.execute("DELETE FROM log_heads WHERE updated_at < ?", (cutoff,))
        # Counters are kept per day: the days before the cut-off's go.
        cutoff_day = datetime.fromtimestamp(cutoff, tz=UTC).date().isoformat()
        conn.execute("DELETE FROM counters WHERE day < ?", (cutoff_day,))
        conn.execute(
            f"DELETE FROM tickets WHERE status NOT IN {_OPEN!r} AND updated_at < ?", (cutoff,)
        )
        return int(purged)

    # -- tickets -----------------------------------------------------------------------------
    async def open_ticket(
        self,
        ref: ConversationRef,
        customer: Author,
        reasons: Sequence[str],
        summary: str,
        details: Mapping[str, Any] | None = None,
    ) -> tuple[Ticket, bool]:
        opening = self._tx(self._open_ticket, ref, customer, tuple(reasons), summary, details)
        return await self._run(opening)

    def _open_ticket(
        self, conn: sqlite3.Connection, ref: ConversationRef, customer: Author,
        reasons: tuple[str, ...], summary: str, details: Mapping[str, Any] | None,
    ) -> tuple[Ticket, bool]:  # fmt: skip
        existing = _open_ticket_row(conn, ref.key)
        if existing is not None:
            return existing, False
        now = utcnow()
        row_id = conn.execute(
            "INSERT INTO tickets (conversation_key, status, epoch, payload, created_at, updated_at)"
            " VALUES (?, ?, 0, '', ?, ?)",
            (ref.key, TicketStatus.ESCALATED.value, now.timestamp(), now.timestamp()),
        ).lastrowid
        ticket = Ticket.opened(f"T-{row_id}", ref, customer, reasons, summary, details, now)
        conn.execute("UPDATE tickets SET payload = ? WHERE id = ?", (ticket.to_json(), row_id))
        return ticket, True

    async def get_ticket(self, ticket_id: str) -> Ticket | None:
        row_id = _ticket_row_id(ticket_id)
        if row_id is None:
            return None
        rows = await self._run(self._tx(_fetch, "SELECT payload FROM tickets WHERE id = ?",
                                        (row_id,)))  # fmt: skip
        return Ticket.from_json(rows[0][0]) if rows else None

    async def open_ticket_for(self, conversation_key: str) -> Ticket | None:
        return await self._run(self._tx(_open_ticket_row, conversation_key))

    async def list_tickets(self, statuses: Collection[TicketStatus]) -> list[Ticket]:
        wanted = [TicketStatus(s).value for s in statuses]
        marks = ",".join("?" * len(wanted))
        sql = f"SELECT payload FROM tickets WHERE status IN ({marks}) ORDER BY created_at, id"
        rows = await self._run(self._tx(_fetch, sql, tuple(wanted)))
        return [Ticket.from_json(row[0]) for row in rows]

    async def transition_ticket(
        self, ticket_id: str, expected_epoch: int, status: TicketStatus, agent: str | None
    ) -> Ticket | None:
        row_id = _ticket_row_id(ticket_id)
        if row_id is None:
            return None
        return await self._run(self._tx(self._transition, row_id, expected_epoch, status, agent))

    def _transition(
        self, conn: sqlite3.Connection, row_id: int, expected_epoch: int, status: TicketStatus,
        agent: str | None,
    ) -> Ticket | None:  # fmt: skip
        rows = conn.execute(
            "SELECT payload FROM tickets WHERE id = ? AND epoch = ?", (row_id, expected_epoch)
        ).fetchall()
        if not rows:
            return None
        ticket = Ticket.from_json(rows[0][0]).moved(status, agent, utcnow())
        conn.execute(
            "UPDATE tickets SET status = ?, epoch = ?, payload = ?, updated_at = ? WHERE id = ?",
            (status.value, ticket.epoch, ticket.to_json(), ticket.updated_at.timestamp(), row_id),
        )
        return ticket

    async def annotate_ticket(self, ticket_id: str, patch: TicketPatch) -> Ticket | None:
        row_id = _ticket_row_id(ticket_id)
        if row_id is None:
            return None
        return await self._run(self._tx(self._annotate, row_id, patch))

    def _annotate(self, conn: sqlite3.Connection, row_id: int, patch: TicketPatch) -> Ticket | None:
        row = conn.execute("SELECT payload FROM tickets WHERE id = ?", (row_id,)).fetchone()
        if row is None:
            return None
        current = Ticket.from_json(row[0])
        ticket = patch.apply(current)
        conn.execute("UPDATE tickets SET payload = ? WHERE id = ?", (ticket.to_json(), row_id))
        return ticket

    # -- kv ----------------------------------------------------------------------------------
    async def kv_set(self, key: str, value: str, ttl_s: float | None = None) -> None:
        expires = time.time() + self.limits.kept(ttl_s) if ttl_s is not None else None
        sql = "INSERT OR REPLACE INTO kv (key, value, expires_at) VALUES (?, ?, ?)"
        await self._run(self._tx(_execute, sql, (key, value, expires)))

    async def kv_get(self, key: str) -> str | None:
        sql = "SELECT value FROM kv WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)"
        rows = await self._run(self._tx(_fetch, sql, (key, time.time())))
        return str(rows[0][0]) if rows else None

    async def kv_delete(self, key: str) -> None:
        await self._run(self._tx(_execute, "DELETE FROM kv WHERE key = ?", (key,)))

    async def kv_scan(self, prefix: str) -> dict[str, str]:
        sql = (
            "SELECT key, value FROM kv WHERE substr(key, 1, ?) = ? "
            "AND (expires_at IS NULL OR expires_at > ?) ORDER BY key"
        )
        rows = await self._run(self._tx(_fetch, sql, (len(prefix), prefix, time.time())))
        return {str(k): str(v) for k, v in rows}

    # -- per-customer rate -------------------------------------------------------------------
    async def take_token(self, bucket: str, rate_per_s: float, burst: int) -> float:
        return await self._run(self._tx(_take_token, bucket, rate_per_s, burst, time.time()))

    # -- counters ----------------------------------------------------------------------------
    async def incr(self, name: str, amount: float = 1, day: date | None = None) -> None:
        await self.incr_many({name: amount}, day)

    async def incr_many(self, amounts: Mapping[str, float], day: date | None = None) -> None:
        bucket = (day or today()).isoformat()
        rows = [(bucket, name, amount) for name, amount in amounts.items()]
        await self._run(self._tx(_upsert_counters, rows))

    async def counters(self, day: date | None = None) -> dict[str, float]:
        sql = "SELECT name, value FROM counters WHERE day = ?"
        rows = await self._run(self._tx(_fetch, sql, ((day or today()).isoformat(),)))
        return {str(name): float(value) for name, value in rows}
