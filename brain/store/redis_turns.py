"""The Redis store's conversations and the dispatcher's combined steps (``lock_conversation``,
``begin_turn``, ``outbox_put_reply``), over any key layout.

Each combined step is one script where its keys share a slot: always on one Redis (one
stream or several partitions), so there it costs one round trip and one command (the
script also reads the key-value flags the step asks for). On a cluster a
conversation's keys (lane tag), its open-ticket pointer (``{tickets}`` tag), the key-value
flags (no tag) and an outbox record (its inbound key's partition) live in different slots
(``brain.store.redis_keys``), so the steps are split there:

* ``lock_conversation`` and ``begin_turn`` run their script with an in-slot placeholder for
  the pointer and read the pointer and the flags at the same time, beside the script (still
  one round trip of latency; the pointer is then read just before or after the script
  rather than inside it, as the flags always were).
* ``outbox_put_reply`` checks and renews the lock, compares the pointer, then writes the
  outbox record on its slot and the turns on the lane's. See there for what that costs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from brain.store.base import (
    CUSTOMER_ROLE,
    Conversation,
    HeldConversation,
    OutboxRecord,
    QueueEntry,
    Ticket,
    Turn,
    TurnContext,
    TurnStart,
    conversation_lock,
    lease_lost,
    outbox_to_json,
    ref_from_json,
    ref_to_json,
    utcnow,
)
from brain.store.lease import Lease
from brain.store.redis_queue import RedisQueue
from brain.store.redis_wire import _failures, _keep, _ms, _outbox, _pairs, _text
from channels import wire_json
from channels.base import ConversationRef, OutboundMessage
from config.errors import StoreError

_POINTER_TRIES = 5
TURNS_LATELY = 8192
"""Turns kept parsed by their stored JSON (``RedisTurns._stored_turn``): a few MB at most."""


class RedisTurns(RedisQueue):
    # -- key helpers -------------------------------------------------------------------------
    def _conversation_keys(self, key: str) -> list[str]:
        lane = conversation_lock(key)
        return [self.layout.of_lane(lane, name, key) for name in ("conv", "convturns", "convids")]

    def _ticket_key(self, ticket_id: str) -> str:
        return self.layout.tickets("ticket", ticket_id)

    def _pointer_key(self, conversation_key: str) -> str:
        return self.layout.tickets("openticket", conversation_key)

    def _context_keys(self, ref: ConversationRef) -> tuple[list[str], list[str]]:
        """What begin_turn touches: the conversation's keys and its open-ticket pointer, and
        the keys to read beside the script (the pointer, where it is in another slot)."""
        keys = self._conversation_keys(ref.key)
        pointer = self._pointer_key(ref.key)
        if self.layout.one_slot([*keys, pointer]):
            return [*keys, pointer], []
        partition = self.layout.partition(conversation_lock(ref.key))
        return [*keys, self.layout.in_partition(partition, "openticket", "-")], [pointer]

    def _turn_args(self, ref: ConversationRef, turn: Turn) -> tuple[str | int, ...]:
        limit = max(1, self.limits.history_limit)
        now = wire_json.isoformat(utcnow())
        return (turn.turn_id, turn.to_json(), ref_to_json(ref), now, limit,
                _ms(self.limits.retention_s), _customer_flag(turn))  # fmt: skip

    # -- conversations -----------------------------------------------------------------------
    async def append_turn(self, ref: ConversationRef, turn: Turn) -> bool:
        keys = self._conversation_keys(ref.key)
        with _failures("append_turn"):
            added = await self._script("append_turn", keys, *self._turn_args(ref, turn))
        return bool(added)

    async def get_conversation(self, key: str) -> Conversation | None:
        meta, turns, _ = self._conversation_keys(key)
        with _failures("get_conversation"):
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.hmget(meta, ["ref", "updated_at"])
                pipe.lrange(turns, 0, -1)
                (ref, updated_at), rows = await pipe.execute()
        if ref is None or updated_at is None:
            return None
        return Conversation(
            key=key,
            ref=ref_from_json(ref),
            turns=tuple(self._stored_turn(row) for row in rows),
            updated_at=datetime.fromisoformat(_text(updated_at)),
        )

    async def begin_turn(
        self, ref: ConversationRef, turn: Turn, flags: Sequence[str] = ()
    ) -> TurnContext:
        (keys, beside), args = self._context_keys(ref), self._turn_args(ref, turn)
        reads = [*beside, *(self._key("kv", flag) for flag in flags)]
        with _failures("begin_turn"):
            if not self.layout.cluster:  # the flags in the script (keys of any slot will do)
                row = await self._script("begin_turn", keys + reads, *args)
                row, values = row[:5], list(row[5]) if len(row) > 5 else []
            elif reads:  # one pipeline: the flags (and maybe the pointer) are in other slots
                row, values = await self._pipelined("begin_turn", keys, args, reads)
            else:
                row, values = await self._script("begin_turn", keys, *args), []
        if beside:
            row, values = [*row[:4], values[0]], values[1:]
        return await self._context(ref, row, flags, values)

    async def _context(
        self, ref: ConversationRef, row: Sequence[Any], flags: Sequence[str], values: list[Any]
    ) -> TurnContext:
        _, ref_raw, updated_at, raws, pointer = row
        conversation = None
        if ref_raw is not None and updated_at is not None:
            conversation = Conversation(
                key=ref.key, ref=ref_from_json(ref_raw),
                turns=tuple(self._stored_turn(raw) for raw in raws),
                updated_at=datetime.fromisoformat(_text(updated_at)),
            )  # fmt: skip
        ticket = await self._open_ticket(_text(pointer)) if pointer is not None else None
        found = {f: _text(v) if v is not None else None for f, v in zip(flags, values, strict=True)}
        return TurnContext(conversation, ticket, found)

    def _stored_turn(self, raw: bytes | str) -> Turn:
        """A stored turn, parsed once: a conversation's whole history comes back with every
        message (the O(n) parse of an n-turn history each time showed in the pipeline's
        profile), and the JSON of a stored turn is written once and never changes, so the
        same text always means the same (immutable) turn."""
        known = self._turns_lately.get(raw)
        if known is None:
            known = _keep(self._turns_lately, raw, Turn.from_json(raw), TURNS_LATELY)
        return known

    async def _pipelined(
        self, name: str, keys: list[str], args: Sequence[str | float], reads: list[str]
    ) -> tuple[Any, list[Any]]:
        """On a cluster: script ``name`` and the values of ``reads`` in one round trip of
        latency, the script and one GET per key sent at once, side by side (a cluster's MGET
        takes one slot only). One Redis reads them inside the script instead."""
        row, *values = await asyncio.gather(
            self._script(name, keys, *args), *(self.client.get(key) for key in reads)
        )
        return row, values

    # -- the dispatcher's combined steps -----------------------------------------------------
    @contextlib.asynccontextmanager
    async def lock_conversation(
        self, conversation_key: str, owner: str, start: TurnStart | None = None
    ) -> AsyncIterator[HeldConversation]:
        name = conversation_lock(conversation_key)
        partition = self.layout.partition(name)
        keys = [self._lock_key(name), self._convq_key(conversation_key),
                self._stream_key(partition)]  # fmt: skip
        extra: tuple[str | int, ...] = ()
        reads: list[str] = []
        beside: list[str] = []
        if start is not None:
            context_keys, beside = self._context_keys(start.ref)
            keys += context_keys
            _, stream_id = self.layout.locate(start.entry_id)
            extra = (stream_id, *self._turn_args(start.ref, start.turn))
            reads = [*beside, *(self._key("kv", flag) for flag in start.flags)]
        found: list[tuple[QueueEntry | None, Any, list[Any]]] = [(None, None, [])]

        async def acquire(_: str, token: str, ttl_s: float, owner: str, mine: str) -> bool:
            args = (token, _ms(ttl_s), owner, mine, *extra)
            values: list[Any]
            with _failures(f"lock {name!r}"):
                if not self.layout.cluster:  # one Redis: the flags in the script, as KEYS[8..]
                    row, values = await self._script("lock_head", keys + reads, *args), []
                elif reads:  # the flags (and maybe the pointer) live in other slots: a pipeline
                    row, values = await self._pipelined("lock_head", keys, args, reads)
                else:
                    row, values = await self._script("lock_head", keys, *args), []
            if row[0]:
                head = self._head(partition, row[1]) if len(row) > 1 else None
                context_row = row[2] if len(row) > 2 else None
                if context_row is not None and len(context_row) > 5:
                    context_row, values = context_row[:5], list(context_row[5])
                if beside:  # the pointer read beside the script replaces the placeholder's
                    if context_row is not None:
                        context_row = [*context_row[:4], values[0]]
                    values = values[1:]
                found[0] = (head, context_row, values)
            return bool(row[0])

        async with self._locks.hold(name, owner, acquire) as lease:
            head, context_row, values = found[0]
            context = None
            if start is not None and context_row is not None:
                context = await self._context(start.ref, context_row, start.flags, values)
            yield HeldConversation(lease, head, context)

    async def outbox_put_reply(
        self,
        inbound_key: str,
        messages: Sequence[OutboundMessage],
        counters: Mapping[str, float],
        lease: Lease,
        ref: ConversationRef,
        turns: Sequence[Turn],
    ) -> OutboxRecord | None:
        meta, history, ids = self._conversation_keys(ref.key)
        outbox, lock = self._outbox_key(inbound_key), self._lock_key(lease)
        stats = self._stats(None, self.layout.partition(inbound_key))
        keys = [outbox, lock, stats, meta, history, ids, self._pointer_key(ref.key)]
        if not self.layout.one_slot(keys):
            return await self._put_reply_split(inbound_key, messages, counters, lease, ref, turns)
        rows = [x for t in turns for x in (t.turn_id, t.to_json(), _customer_flag(t))]
        fixed = (outbox_to_json(messages), _ms(self.limits.retention_s), lease.token)
        args = (ref_to_json(ref), wire_json.isoformat(utcnow()), max(1, self.limits.history_limit),
                len(turns), *rows, *_pairs(counters))  # fmt: skip
        expected = ""
        for _ in range(_POINTER_TRIES):
            with _failures("outbox_put_reply"):
                reply = await self._script("outbox_put_reply", keys, *fixed, expected, *args)
            if reply[0] == 0:
                raise lease_lost(lease)
            if reply[0] == 3:  # written now: the record is what we sent
                return OutboxRecord(inbound_key, tuple(messages))
            if reply[0] == 1:  # decided before (a redelivery): what was recorded then
                record = _outbox(inbound_key, reply[1])
                assert record is not None
                return record
            # The pointer names a ticket: still open (the draft is dropped) or closed since.
            pointer = _text(reply[1])
            if await self._open_ticket(pointer) is not None:
                return None
            expected = pointer
        raise StoreError(f"the open ticket of {ref.key} keeps changing; retrying")

    async def _put_reply_split(
        self,
        inbound_key: str,
        messages: Sequence[OutboundMessage],
        counters: Mapping[str, float],
        lease: Lease,
        ref: ConversationRef,
        turns: Sequence[Turn],
    ) -> OutboxRecord | None:
        """``outbox_put_reply`` on a cluster, where its keys span slots: the lock is checked
        and renewed (ours for a whole TTL from here), then the outbox record and the pointer
        are read, then the record is written on its slot and the turns on the lane's.

        The "pointer unchanged" check is then not atomic with the write: a ticket opened in
        the one round trip between the pointer read and the write (by an operator, say,
        which takes no conversation lock) lets this reply through, as it would have had it
        been written a moment earlier. Exclusion from other workers rests on the lease's
        margin, exactly as for a fenced channel send after ``Lease.check()``."""
        lock = self._lock_key(lease)
        with _failures("outbox_put_reply"):
            await self._fence(lease, lock)
            existing = await self.outbox_get(inbound_key)
            if existing is not None:
                return existing
            pointer = await self.client.get(self._pointer_key(ref.key))
        if pointer is not None and await self._open_ticket(_text(pointer)) is not None:
            return None
        record = await self.outbox_put(inbound_key, messages, counters)
        for turn in turns:  # usually one
            await self.append_turn(ref, turn)
        return record

    # -- tickets (what the steps above read) -------------------------------------------------
    async def get_ticket(self, ticket_id: str) -> Ticket | None:
        with _failures("get_ticket"):
            raw = await self._cmd("GET", self._ticket_key(ticket_id))
        return Ticket.from_json(raw) if raw is not None else None

    async def _open_ticket(self, ticket_id: str) -> Ticket | None:
        """The ticket an open-ticket pointer names, if it is still open."""
        ticket = await self.get_ticket(ticket_id)
        return ticket if ticket is not None and ticket.is_open else None


def _customer_flag(turn: Turn) -> str:
    return "1" if turn.role == CUSTOMER_ROLE else "0"
