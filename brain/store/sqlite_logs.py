"""The SQLite store's append-only logs (the web channel's history): append, read, and
follow a topic (this process's appends at once, other processes' by polling)."""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

from brain.store.base import StoreLimits
from brain.store.sqlite_core import _POLL_S, SqliteCore
from channels.base import LogEntry


class SqliteLogs(SqliteCore):
    def __init__(self, path: Path, *, limits: StoreLimits) -> None:
        super().__init__(path, limits=limits)
        # Followers in this process hear of this store's appends at once, without a read;
        # other processes' appends are found by polling (``writer`` tells them apart).
        self._origin = secrets.token_hex(8)
        self._followers: dict[str, set[_Follower]] = {}

    # -- append-only logs ----------------------------------------------------------------------
    async def log_append(
        self, log: str, entry_id: str, value: str, topic: str | None = None
    ) -> tuple[LogEntry, bool]:
        entry, added = await self._run(
            self._tx(_log_append, log, entry_id, value, topic, self._origin, time.time())
        )
        if added and topic is not None:
            for follower in self._followers.get(topic, ()):
                follower.pending.append(entry)
                follower.wake.set()
        return entry, added

    async def log_read(self, log: str, after: int = 0, limit: int = 100) -> list[LogEntry]:
        sql = ("SELECT log, seq, entry_id, value FROM log_entries WHERE log = ? AND seq > ? "
               "ORDER BY seq LIMIT ?")  # fmt: skip
        rows = await self._run(_read_only(self, sql, (log, after, limit)))
        return [LogEntry(str(r[0]), int(r[1]), str(r[2]), str(r[3])) for r in rows]

    async def log_follow(self, topic: str) -> AsyncIterator[LogEntry]:
        follower = _Follower()
        self._followers.setdefault(topic, set()).add(follower)
        try:
            rows = await self._run(_read_only(self, "SELECT MAX(pos) FROM log_entries", ()))
            position = int(rows[0][0] or 0)
            # This process's own rows are read too (and skipped), so the position moves past
            # them: otherwise each poll would scan everything written here since it started.
            sql = ("SELECT pos, log, seq, entry_id, value, writer FROM log_entries "
                   "WHERE topic = ? AND pos > ? ORDER BY pos LIMIT 500")  # fmt: skip
            next_poll = time.monotonic() + _POLL_S
            while True:
                while follower.pending:
                    yield follower.pending.popleft()
                wait = next_poll - time.monotonic()
                if wait > 0:
                    follower.wake.clear()
                    with suppress(TimeoutError):
                        async with asyncio.timeout(wait):
                            await follower.wake.wait()
                    continue
                found = await self._run(_read_only(self, sql, (topic, position)))
                for pos, log, seq, entry_id, value, writer in found:
                    position = int(pos)
                    if writer != self._origin:
                        yield LogEntry(str(log), int(seq), str(entry_id), str(value))
                next_poll = time.monotonic() + (0.0 if len(found) == 500 else _POLL_S)
        finally:
            self._followers[topic].discard(follower)


class _Follower:
    def __init__(self) -> None:
        self.pending: deque[LogEntry] = deque()
        self.wake = asyncio.Event()


def _log_append(
    conn: sqlite3.Connection, log: str, entry_id: str, value: str, topic: str | None,
    writer: str, now: float,
) -> tuple[LogEntry, bool]:  # fmt: skip
    row = conn.execute("SELECT seq, value FROM log_entries WHERE log = ? AND entry_id = ?",
                       (log, entry_id)).fetchone()  # fmt: skip
    if row is not None:
        return LogEntry(log, int(row[0]), entry_id, str(row[1])), False
    (seq,) = conn.execute(
        "INSERT INTO log_heads (log, seq, updated_at) VALUES (?, 1, ?) ON CONFLICT (log) "
        "DO UPDATE SET seq = seq + 1, updated_at = excluded.updated_at RETURNING seq",
        (log, now),
    ).fetchone()
    conn.execute("INSERT INTO log_entries (log, seq, entry_id, value, topic, writer) VALUES "
                 "(?, ?, ?, ?, ?, ?)", (log, seq, entry_id, value, topic, writer))  # fmt: skip
    return LogEntry(log, int(seq), entry_id, value), True


def _read_only(store: SqliteCore, sql: str, args: tuple[Any, ...]) -> Callable[[], list[Any]]:
    """A single SELECT is a consistent snapshot by itself: no transaction (and no write lock
    held against other processes) needed."""

    def run() -> list[Any]:
        conn = store._conn
        assert conn is not None
        return conn.execute(sql, args).fetchall()

    return run
