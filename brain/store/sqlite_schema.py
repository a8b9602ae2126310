"""The SQLite store's tables, and the migration of a file written by an older version."""

from __future__ import annotations

import sqlite3

from brain.store.base import OPEN_STATUSES

_OPEN = tuple(sorted(s.value for s in OPEN_STATUSES))

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS idempotency (key TEXT PRIMARY KEY, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS inbound_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT, payload TEXT NOT NULL,
    consumer TEXT, taken_at REAL, deliveries INTEGER NOT NULL DEFAULT 0, conv TEXT);
CREATE INDEX IF NOT EXISTS inbound_queue_waiting ON inbound_queue (consumer, id);
CREATE TABLE IF NOT EXISTS outbox (
    inbound_key TEXT PRIMARY KEY, messages TEXT NOT NULL,
    sent_count INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0, dead INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS locks (name TEXT PRIMARY KEY, token TEXT NOT NULL, expires_at REAL);
CREATE TABLE IF NOT EXISTS conversations (
    key TEXT PRIMARY KEY, ref TEXT NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS turns (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, conversation_key TEXT NOT NULL,
    turn_id TEXT NOT NULL, payload TEXT NOT NULL, UNIQUE (conversation_key, turn_id));
CREATE TABLE IF NOT EXISTS tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT, conversation_key TEXT NOT NULL,
    status TEXT NOT NULL, epoch INTEGER NOT NULL, payload TEXT NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS one_open_ticket_per_conversation
    ON tickets (conversation_key) WHERE status IN {_OPEN!r};
CREATE INDEX IF NOT EXISTS tickets_by_status ON tickets (status, id);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at REAL);
CREATE TABLE IF NOT EXISTS buckets (name TEXT PRIMARY KEY, tokens REAL NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS counters (
    day TEXT NOT NULL, name TEXT NOT NULL, value REAL NOT NULL, PRIMARY KEY (day, name));
CREATE TABLE IF NOT EXISTS log_heads (
    log TEXT PRIMARY KEY, seq INTEGER NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS log_entries (
    pos INTEGER PRIMARY KEY AUTOINCREMENT, log TEXT NOT NULL, seq INTEGER NOT NULL,
    entry_id TEXT NOT NULL, value TEXT NOT NULL, topic TEXT, writer TEXT,
    UNIQUE (log, entry_id), UNIQUE (log, seq));
CREATE INDEX IF NOT EXISTS log_entries_by_topic ON log_entries (topic, pos);
"""


# Columns added after a table first shipped: (table, column, definition).
_ADDED_COLUMNS = (
    ("inbound_queue", "conv", "TEXT"),
    ("outbox", "failures", "INTEGER NOT NULL DEFAULT 0"),
    ("outbox", "dead", "INTEGER NOT NULL DEFAULT 0"),
)


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring a file written by an older version up to the current schema."""
    for table, column, definition in _ADDED_COLUMNS:
        present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
    conn.execute(
        "CREATE INDEX IF NOT EXISTS inbound_queue_by_conversation ON inbound_queue (conv, id)"
    )
