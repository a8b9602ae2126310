"""The SQLite store's plumbing: the file, the writer thread that owns the connection, running
one operation (``_run``, ``_tx``), and the named locks (``lock``, fenced leases)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, TypeVar

from brain.store.base import StoreLimits
from brain.store.lease import Lease, LeaseLocks
from brain.store.sqlite_rows import _changed, _execute, _take_lock
from brain.store.sqlite_schema import SCHEMA, _migrate
from brain.store.sqlite_writer import Transaction, Writer
from config.errors import StoreError

T = TypeVar("T")

# How often a blocked reader looks for rows another process enqueued.
_POLL_S = 0.05


class SqliteCore:
    def __init__(self, path: Path, *, limits: StoreLimits) -> None:
        self.path = path
        self.limits = limits
        self._writer: Writer | None = None
        self._conn: sqlite3.Connection | None = None
        self._enqueued = asyncio.Event()
        self._locks = LeaseLocks(self._lock_acquire, self._lock_renew, self._lock_release,
                                 limits.lock_ttl_s)  # fmt: skip

    # -- plumbing ----------------------------------------------------------------------------
    async def open(self) -> None:
        self._writer = Writer("frontdesk-sqlite")
        try:
            await self._run(self._connect)
        except (OSError, sqlite3.Error) as err:
            raise StoreError(f"cannot open SQLite store at {self.path}: {err}") from err

    def _connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL loses nothing on a process crash (WAL); only an OS crash may drop the tail.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=10000")
        conn.executescript(SCHEMA)
        _migrate(conn)
        self._conn = conn
        assert self._writer is not None
        self._writer.conn = conn

    async def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await writer.run(conn.close)
        await asyncio.to_thread(writer.stop)

    async def _run(self, work: Callable[[], T] | Transaction[T]) -> T:
        if self._writer is None:
            raise StoreError("SQLite store used before open() or after close()")
        try:
            return await self._writer.run(work)
        except sqlite3.Error as err:
            raise StoreError(f"SQLite store {self.path}: {err}") from err

    def _tx(self, fn: Callable[..., T], *args: Any) -> Transaction[T]:
        """``fn(conn, *args)`` as one operation of the writer's (grouped) transaction."""
        return Transaction(fn, args)

    # -- lock --------------------------------------------------------------------------------
    def lock(
        self, name: str, owner: str | None = None, *, wait: bool = True
    ) -> AbstractAsyncContextManager[Lease]:
        return self._locks.hold(name, owner, wait=wait)

    async def _lock_acquire(
        self, name: str, token: str, ttl_s: float, owner: str, mine: str
    ) -> bool:
        return await self._run(self._tx(_take_lock, name, token, time.time(), ttl_s, owner, mine))

    async def _lock_renew(self, name: str, token: str, ttl_s: float) -> bool:
        sql = "UPDATE locks SET expires_at = ? WHERE name = ? AND token = ?"
        return await self._run(self._tx(_changed, sql, (time.time() + ttl_s, name, token)))

    async def _lock_release(self, name: str, token: str) -> None:
        sql = "DELETE FROM locks WHERE name = ? AND token = ?"
        await self._run(self._tx(_execute, sql, (name, token)))
