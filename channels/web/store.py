"""The web channel's own state, in one SQLite file beside the bot's (``web.db`` in the data
directory): conversations and their visible history (what ``GET .../messages`` and the widget
show, with increasing ids to resume from), hashed API keys made with ``frontdesk api-key
create``, the webhook queue, and the customer-token secret.

The bot's store stays the owner of conversation state and tickets; this file holds what only
the web front needs. Statements are short and local, so they run on the event loop (WAL,
``synchronous=NORMAL``: a committed row survives a process crash)."""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from config.errors import StoreError

FILE = "web.db"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, display_name TEXT, email TEXT,
    metadata TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, conversation TEXT NOT NULL, role TEXT NOT NULL,
    kind TEXT NOT NULL, text TEXT NOT NULL, sender_name TEXT, client_id TEXT NOT NULL,
    in_reply_to TEXT, created_at REAL NOT NULL, UNIQUE (conversation, client_id));
CREATE TABLE IF NOT EXISTS api_keys (
    hash TEXT PRIMARY KEY, scope TEXT NOT NULL, label TEXT, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS hooks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, subscriber TEXT NOT NULL, event_id TEXT NOT NULL,
    conversation TEXT NOT NULL, body TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL, state TEXT NOT NULL DEFAULT 'pending', last_error TEXT,
    UNIQUE (subscriber, event_id));
CREATE INDEX IF NOT EXISTS hooks_pending ON hooks (state, subscriber, conversation, seq);
"""


@dataclass(frozen=True, slots=True)
class WebConversation:
    id: str
    customer_id: str
    display_name: str | None
    email: str | None
    metadata: dict[str, Any]
    created_at: float


@dataclass(frozen=True, slots=True)
class Hook:
    seq: int
    subscriber: str
    event_id: str
    conversation: str
    body: str
    attempts: int


class WebStore:
    def __init__(self, path: Path, cached_conversations: int = 10_000) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        # Conversation rows never change: each message would otherwise read its row twice.
        self._conversations: dict[str, WebConversation] = {}
        self._cache_size = cached_conversations

    def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as err:
            raise StoreError(f"cannot open the web channel's database {self.path}: {err}") from err
        db.row_factory = sqlite3.Row
        self._db = db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            self.open()
        assert self._db is not None
        return self._db

    # -- meta ------------------------------------------------------------------------------
    def secret(self, name: str) -> str:
        """A random secret created on first use and kept (the customer-token key)."""
        self.db.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (name, secrets.token_hex(32)))
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (name,)).fetchone()
        return str(row["value"])

    # -- conversations and history ----------------------------------------------------------
    def create_conversation(
        self, customer_id: str, display_name: str | None, email: str | None,
        metadata: dict[str, Any],
    ) -> WebConversation:  # fmt: skip
        conv = WebConversation(f"wc_{secrets.token_urlsafe(12)}", customer_id, display_name,
                               email, metadata, time.time())  # fmt: skip
        self.db.execute(
            "INSERT INTO conversations VALUES (?, ?, ?, ?, ?, ?)",
            (conv.id, customer_id, display_name, email, json.dumps(metadata), conv.created_at),
        )
        return conv

    def conversation(self, conversation_id: str) -> WebConversation | None:
        cached = self._conversations.get(conversation_id)
        if cached is not None:
            return cached
        row = self.db.execute(
            "SELECT * FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        if row is None:
            return None
        conv = WebConversation(row["id"], row["customer_id"], row["display_name"], row["email"],
                               json.loads(row["metadata"]), row["created_at"])  # fmt: skip
        if len(self._conversations) >= self._cache_size:
            self._conversations.pop(next(iter(self._conversations)))  # the oldest entry
        self._conversations[conv.id] = conv
        return conv

    def conversation_ids(self) -> list[str]:
        """Every conversation, oldest first."""
        rows = self.db.execute("SELECT id FROM conversations ORDER BY created_at").fetchall()
        return [str(r["id"]) for r in rows]

    def add_message(
        self, conversation: str, role: str, text: str, client_id: str,
        sender_name: str | None = None, in_reply_to: str | None = None, kind: str = "message",
    ) -> tuple[dict[str, Any], bool]:  # fmt: skip
        """Append a message; (the stored message, False) when ``client_id`` is already there."""
        row = self.db.execute(
            "INSERT OR IGNORE INTO messages (conversation, role, kind, text, sender_name, "
            "client_id, in_reply_to, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
            (conversation, role, kind, text, sender_name, client_id, in_reply_to, time.time()),
        ).fetchone()
        if row is not None:
            return message_json(row), True
        row = self.db.execute(
            "SELECT * FROM messages WHERE conversation = ? AND client_id = ?",
            (conversation, client_id),
        ).fetchone()
        return message_json(row), False

    def messages(self, conversation: str, after: int = 0, limit: int = 200) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT * FROM messages WHERE conversation = ? AND seq > ? ORDER BY seq LIMIT ?",
            (conversation, after, limit),
        ).fetchall()
        return [message_json(r) for r in rows]

    def reply_to(self, conversation: str, message_id: str) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT * FROM messages WHERE conversation = ? AND in_reply_to = ? ORDER BY seq "
            "LIMIT 1", (conversation, message_id),
        ).fetchone()  # fmt: skip
        return message_json(row) if row is not None else None

    # -- API keys made with `frontdesk api-key create` -------------------------------------
    def add_key(self, digest: str, scope: str, label: str | None) -> None:
        self.db.execute("INSERT INTO api_keys VALUES (?, ?, ?, ?)",
                        (digest, scope, label, time.time()))  # fmt: skip

    def key_scope(self, digest: str) -> str | None:
        row = self.db.execute("SELECT scope FROM api_keys WHERE hash = ?", (digest,)).fetchone()
        return str(row["scope"]) if row is not None else None

    def stored_keys(self) -> list[tuple[str, str, str | None, float]]:
        rows = self.db.execute("SELECT * FROM api_keys ORDER BY created_at").fetchall()
        return [(r["hash"], r["scope"], r["label"], r["created_at"]) for r in rows]

    def remove_key(self, prefix: str) -> int:
        return self.db.execute("DELETE FROM api_keys WHERE hash LIKE ?", (prefix + "%",)).rowcount

    # -- the webhook queue ----------------------------------------------------------------
    def queue_hook(self, subscriber: str, event_id: str, conversation: str, body: str) -> bool:
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO hooks (subscriber, event_id, conversation, body, next_at) "
            "VALUES (?, ?, ?, ?, 0)", (subscriber, event_id, conversation, body),
        )  # fmt: skip
        return cursor.rowcount == 1

    def due_hooks(self, now: float, limit: int = 64) -> list[Hook]:
        """The oldest pending event of each (subscriber, conversation), if it is due: one
        conversation's events go out in order, one at a time."""
        rows = self.db.execute(
            "SELECT h.* FROM hooks h JOIN (SELECT MIN(seq) AS seq FROM hooks "
            "WHERE state = 'pending' GROUP BY subscriber, conversation) heads "
            "ON h.seq = heads.seq WHERE h.next_at <= ? ORDER BY h.seq LIMIT ?",
            (now, limit),
        ).fetchall()
        return [Hook(r["seq"], r["subscriber"], r["event_id"], r["conversation"], r["body"],
                     r["attempts"]) for r in rows]  # fmt: skip

    def next_hook_at(self) -> float | None:
        row = self.db.execute(
            "SELECT MIN(next_at) AS at FROM hooks WHERE state = 'pending'"
        ).fetchone()
        return float(row["at"]) if row is not None and row["at"] is not None else None

    def hook_done(self, seq: int, state: str = "delivered", error: str | None = None) -> None:
        self.db.execute("UPDATE hooks SET state = ?, last_error = ? WHERE seq = ?",
                        (state, error, seq))  # fmt: skip

    def hook_retry(self, seq: int, attempts: int, next_at: float, error: str) -> None:
        self.db.execute(
            "UPDATE hooks SET attempts = ?, next_at = ?, last_error = ? WHERE seq = ?",
            (attempts, next_at, error, seq),
        )

    def hook_states(self) -> dict[str, int]:
        rows = self.db.execute("SELECT state, COUNT(*) AS n FROM hooks GROUP BY state").fetchall()
        return {r["state"]: r["n"] for r in rows}


def message_json(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["seq"],
        "role": row["role"],
        "kind": row["kind"],
        "text": row["text"],
        "sender_name": row["sender_name"],
        "message_id": row["client_id"],
        "in_reply_to": row["in_reply_to"],
        "created_at": datetime.fromtimestamp(row["created_at"], UTC).isoformat(),
    }
