"""The SQLite store's steps on one connection (run on the writer thread, inside the caller's
transaction): lock rows, the token bucket, queue heads, the fence of a write under a lease,
counters, outbox, conversation and ticket rows."""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime
from typing import Any

from brain.store.base import (
    Conversation,
    OutboxRecord,
    QueueEntry,
    Ticket,
    Turn,
    lease_lost,
    outbox_from_json,
    ref_from_json,
    utcnow,
)
from brain.store.lease import Lease
from brain.store.sqlite_schema import _OPEN
from channels.base import decode_queue_item


def _take_token(
    conn: sqlite3.Connection, bucket: str, rate: float, burst: int, now: float
) -> float:
    row = conn.execute("SELECT tokens, at FROM buckets WHERE name = ?", (bucket,)).fetchone()
    tokens, at = (float(row[0]), float(row[1])) if row else (float(burst), now)
    tokens = min(float(burst), tokens + max(0.0, now - at) * rate)
    wait = 0.0
    if tokens >= 1:
        tokens -= 1
    else:
        wait = (1 - tokens) / rate
    conn.execute(
        "INSERT INTO buckets (name, tokens, at) VALUES (?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET tokens = excluded.tokens, at = excluded.at",
        (bucket, tokens, now),
    )
    return wait


def _take_lock(
    conn: sqlite3.Connection, name: str, token: str, now: float, ttl_s: float, owner: str,
    mine: str,
) -> bool:  # fmt: skip
    """Free (expired), held by this very token already (a retried acquire), or left by our
    own consumer name before a restart: the lock is ours."""
    sql = (
        "INSERT INTO locks (name, token, expires_at) VALUES (?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET token = excluded.token, "
        "expires_at = excluded.expires_at WHERE locks.expires_at < ? OR locks.token = ? "
        "OR (? != '' AND substr(locks.token, 1, length(?)) = ? "
        "AND substr(locks.token, 1, length(?)) != ?)"
    )
    args = (name, token, now + ttl_s, now, token, owner, owner, owner, mine, mine)
    return _changed(conn, sql, args)


def _head_row(conn: sqlite3.Connection, conversation_key: str) -> QueueEntry | None:
    row = conn.execute(
        "SELECT id, payload, deliveries FROM inbound_queue WHERE conv = ? ORDER BY id LIMIT 1",
        (conversation_key,),
    ).fetchone()
    if row is None:
        return None
    entry_id, payload, deliveries = row
    return QueueEntry(str(entry_id), decode_queue_item(payload), max(2, int(deliveries)))


def _fence(conn: sqlite3.Connection, lease: Lease | None) -> None:
    """Refuse a write made under a lease whose lock someone else holds now."""
    if lease is None:
        return
    row = conn.execute(
        "SELECT token FROM locks WHERE name = ? AND expires_at > ?", (lease.name, time.time())
    ).fetchone()
    if row is None or row[0] != lease.token:
        raise lease_lost(lease)


def _upsert_counters(conn: sqlite3.Connection, rows: list[tuple[str, str, float]]) -> None:
    conn.executemany(
        "INSERT INTO counters (day, name, value) VALUES (?, ?, ?) "
        "ON CONFLICT (day, name) DO UPDATE SET value = value + excluded.value",
        rows,
    )


def _execute(conn: sqlite3.Connection, sql: str, args: tuple[Any, ...]) -> None:
    conn.execute(sql, args)


def _changed(conn: sqlite3.Connection, sql: str, args: tuple[Any, ...]) -> bool:
    return conn.execute(sql, args).rowcount == 1


def _fetch(conn: sqlite3.Connection, sql: str, args: tuple[Any, ...]) -> list[Any]:
    return conn.execute(sql, args).fetchall()


def _outbox_row(conn: sqlite3.Connection, key: str) -> OutboxRecord | None:
    row = conn.execute(
        "SELECT messages, sent_count, failures, dead FROM outbox WHERE inbound_key = ?", (key,)
    ).fetchone()
    if row is None:
        return None
    return OutboxRecord(key, outbox_from_json(row[0]), int(row[1]), int(row[2]), bool(row[3]))


def _conversation_row(conn: sqlite3.Connection, key: str) -> Conversation | None:
    row = conn.execute("SELECT ref, updated_at FROM conversations WHERE key = ?", (key,)).fetchone()
    if row is None:
        return None
    turns = conn.execute(
        "SELECT payload FROM turns WHERE conversation_key = ? ORDER BY seq", (key,)
    ).fetchall()
    return Conversation(
        key=key,
        ref=ref_from_json(row[0]),
        turns=tuple(Turn.from_json(t[0]) for t in turns),
        updated_at=datetime.fromtimestamp(row[1], tz=utcnow().tzinfo),
    )


def _open_ticket_row(conn: sqlite3.Connection, conversation_key: str) -> Ticket | None:
    row = conn.execute(
        f"SELECT payload FROM tickets WHERE conversation_key = ? AND status IN {_OPEN!r}",
        (conversation_key,),
    ).fetchone()
    return Ticket.from_json(row[0]) if row else None


def _ticket_row_id(ticket_id: str) -> int | None:
    number = ticket_id.removeprefix("T-")
    if not number.isascii() or not number.isdigit() or len(number) > 18:
        return None  # not one of ours (SQLite row ids are 64-bit)
    return int(number)
