"""SQLite backend: the embedded default, one file in the data directory.

Every operation runs as one function on a single dedicated thread that owns the connection, so
the event loop never blocks on disk; operations queued together share one transaction and
one commit, each in a savepoint of its own (``brain/store/sqlite_writer.py``). WAL mode plus
``BEGIN IMMEDIATE`` and a busy timeout make a second process (a replica, or ``frontdesk desk``
in another terminal) safe to share the same file.
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from brain.store.base import (
    CUSTOMER_ROLE,
    OPEN_STATUSES,
    Conversation,
    HeldConversation,
    OutboxRecord,
    QueueEntry,
    StoreLimits,
    Ticket,
    TicketPatch,
    TicketStatus,
    Turn,
    TurnContext,
    TurnStart,
    conversation_lock,
    conversation_of,
    lease_lost,
    outbox_from_json,
    outbox_to_json,
    ref_from_json,
    ref_to_json,
    today,
    utcnow,
)
from brain.store.lease import Lease, LeaseLocks
from brain.store.sqlite_writer import Transaction, Writer
from channels.base import (
    Author,
    ConversationRef,
    LogEntry,
    OutboundMessage,
    QueueItem,
    decode_queue_item,
)
from config.errors import StoreError

T = TypeVar("T")

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

# How often a blocked reader looks for rows another process enqueued.
_POLL_S = 0.05


class SqliteStore:
    backend = "sqlite"

    def __init__(self, path: Path, *, limits: StoreLimits) -> None:
        self.path = path
        self.limits = limits
        self._writer: Writer | None = None
        self._conn: sqlite3.Connection | None = None
        self._enqueued = asyncio.Event()
        # Followers in this process hear of this store's appends at once, without a read;
        # other processes' appends are found by polling (``writer`` tells them apart).
        self._origin = secrets.token_hex(8)
        self._followers: dict[str, set[_Follower]] = {}
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

    @asynccontextmanager
    async def lock_conversation(
        self, conversation_key: str, owner: str, start: TurnStart | None = None
    ) -> AsyncIterator[HeldConversation]:
        name = conversation_lock(conversation_key)
        found: list[tuple[QueueEntry | None, TurnContext | None]] = [(None, None)]

        async def acquire(_: str, token: str, ttl_s: float, owner: str, mine: str) -> bool:
            args = (name, token, time.time(), ttl_s, owner, mine, conversation_key, start)
            taken, head, context = await self._run(self._tx(self._lock_head, *args))
            found[0] = (head, context)
            return taken

        async with self._locks.hold(name, owner, acquire) as lease:
            yield HeldConversation(lease, *found[0])

    def _lock_head(
        self, conn: sqlite3.Connection, name: str, token: str, now: float, ttl_s: float,
        owner: str, mine: str, conversation_key: str, start: TurnStart | None,
    ) -> tuple[bool, QueueEntry | None, TurnContext | None]:  # fmt: skip
        if not _take_lock(conn, name, token, now, ttl_s, owner, mine):
            return False, None, None
        head = _head_row(conn, conversation_key)
        if start is None or head is None or head.entry_id != start.entry_id:
            return True, head, None
        return True, head, self._begin_turn(conn, start.ref, start.turn, start.flags, now)

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

    async def outbox_put_reply(
        self,
        inbound_key: str,
        messages: Sequence[OutboundMessage],
        counters: Mapping[str, float],
        lease: Lease,
        ref: ConversationRef,
        turns: Sequence[Turn],
    ) -> OutboxRecord | None:
        payload = outbox_to_json(messages)
        put = self._tx(self._outbox_put_reply, inbound_key, payload, dict(counters), lease, ref,
                       tuple(turns))  # fmt: skip
        return await self._run(put)

    def _outbox_put_reply(
        self, conn: sqlite3.Connection, key: str, payload: str, counters: dict[str, float],
        lease: Lease, ref: ConversationRef, turns: tuple[Turn, ...],
    ) -> OutboxRecord | None:  # fmt: skip
        _fence(conn, lease)
        existing = _outbox_row(conn, key)
        if existing is not None:
            return existing
        if _open_ticket_row(conn, ref.key) is not None:
            return None
        for turn in turns:
            self._append_turn(conn, ref, turn)
        return self._outbox_put(conn, key, payload, counters, None)

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

    # -- conversations -----------------------------------------------------------------------
    async def append_turn(self, ref: ConversationRef, turn: Turn) -> bool:
        return await self._run(self._tx(self._append_turn, ref, turn))

    def _append_turn(self, conn: sqlite3.Connection, ref: ConversationRef, turn: Turn) -> bool:
        inserted = conn.execute(
            "INSERT OR IGNORE INTO turns (conversation_key, turn_id, payload) VALUES (?, ?, ?)",
            (ref.key, turn.turn_id, turn.to_json()),
        ).rowcount
        if inserted != 1:
            return False
        # The stored ref (with its reply hints) follows the customer's latest message.
        update = "updated_at = excluded.updated_at"
        if turn.role == CUSTOMER_ROLE:
            update += ", ref = excluded.ref"
        conn.execute(
            "INSERT INTO conversations (key, ref, updated_at) VALUES (?, ?, ?) "
            f"ON CONFLICT (key) DO UPDATE SET {update}",
            (ref.key, ref_to_json(ref), time.time()),
        )
        conn.execute(
            "DELETE FROM turns WHERE conversation_key = ? AND seq NOT IN (SELECT seq FROM turns "
            "WHERE conversation_key = ? ORDER BY seq DESC LIMIT ?)",
            (ref.key, ref.key, self.limits.history_limit),
        )
        return True

    async def get_conversation(self, key: str) -> Conversation | None:
        return await self._run(self._tx(_conversation_row, key))

    async def begin_turn(
        self, ref: ConversationRef, turn: Turn, flags: Sequence[str] = ()
    ) -> TurnContext:
        return await self._run(self._tx(self._begin_turn, ref, turn, tuple(flags), time.time()))

    def _begin_turn(
        self, conn: sqlite3.Connection, ref: ConversationRef, turn: Turn, flags: tuple[str, ...],
        now: float,
    ) -> TurnContext:  # fmt: skip
        self._append_turn(conn, ref, turn)
        values: dict[str, str | None] = {}
        for flag in flags:
            row = conn.execute(
                "SELECT value FROM kv WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)",
                (flag, now),
            ).fetchone()
            values[flag] = str(row[0]) if row else None
        conversation = _conversation_row(conn, ref.key)
        return TurnContext(conversation, _open_ticket_row(conn, ref.key), values)

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


def _read_only(store: SqliteStore, sql: str, args: tuple[Any, ...]) -> Callable[[], list[Any]]:
    """A single SELECT is a consistent snapshot by itself: no transaction (and no write lock
    held against other processes) needed."""

    def run() -> list[Any]:
        conn = store._conn
        assert conn is not None
        return conn.execute(sql, args).fetchall()

    return run


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
