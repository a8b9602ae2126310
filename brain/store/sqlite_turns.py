"""The SQLite store's conversations, and the dispatcher's combined steps: the conversation
lock taken with the queue head and the first turn, the reply written with its turns."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager

from brain.store.base import (
    CUSTOMER_ROLE,
    Conversation,
    HeldConversation,
    OutboxRecord,
    QueueEntry,
    Turn,
    TurnContext,
    TurnStart,
    conversation_lock,
    outbox_to_json,
    ref_to_json,
)
from brain.store.lease import Lease
from brain.store.sqlite_queue import SqliteQueue
from brain.store.sqlite_rows import (
    _conversation_row,
    _fence,
    _head_row,
    _open_ticket_row,
    _outbox_row,
    _take_lock,
)
from channels.base import ConversationRef, OutboundMessage


class SqliteTurns(SqliteQueue):
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
