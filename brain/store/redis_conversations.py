"""The Redis store's conversations: their keys, turns, histories and the brain's context of one
turn (``begin_turn``), over any key layout; the steps that combine them with the lock and the
outbox are ``brain.store.redis_turns``.

A conversation's history comes back whole only when this process does not hold it already
(``brain.store.redis_history``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from brain.store.base import (
    CUSTOMER_ROLE,
    Conversation,
    Ticket,
    Turn,
    TurnContext,
    conversation_lock,
    ref_from_json,
    ref_to_json,
    utcnow,
)
from brain.store.records import new_context, new_conversation
from brain.store.redis_history import NOTHING, Histories, History, as_stored, extended
from brain.store.redis_queue import RedisQueue
from brain.store.redis_wire import _failures, _keep, _ms, _text
from channels import wire_json
from channels.base import ConversationRef

logger = logging.getLogger(__name__)

TURNS_LATELY = 8192
"""Turns kept parsed by their stored JSON (``_stored_turn``): a few MB at most."""
KEYS_LATELY = 4096
"""Conversations whose key names are kept (``_keys``)."""


@dataclass(frozen=True, slots=True)
class ConversationKeys:
    """Every key a conversation's steps name, spelled once (several were built, each with a
    CRC of the lane's name on a partitioned layout, for every message)."""

    key: str  # the conversation's
    name: str  # the lock (lane) name
    partition: int
    lock: str
    convq: str
    stream: str
    meta: str
    turns: str
    ids: str
    pointer: str
    context: tuple[str, ...]  # what begin_turn touches: meta, turns, ids, pointer (or its stand-in)
    beside: tuple[str, ...]  # the pointer, where it is read beside the script (a cluster)


@dataclass(frozen=True, slots=True)
class Beginning:
    """A turn being begun: what the script is sent, and what ``_context`` needs of it."""

    key: str
    ref: ConversationRef
    turn: Turn
    turn_json: str
    ref_json: str
    now: datetime
    customer: bool

    def args(self, limit: int, retention_ms: int, held: History | None) -> tuple[str | int, ...]:
        """The script's arguments for the turn, and what is ``held`` of the history."""
        seq, last = held.mark if held is not None else NOTHING
        return (self.turn.turn_id, self.turn_json, self.ref_json, wire_json.isoformat(self.now),
                limit, retention_ms, "1" if self.customer else "0", seq, last)  # fmt: skip


class RedisConversations(RedisQueue):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._histories = Histories()
        self._keys_lately: dict[str, ConversationKeys] = {}

    # -- key helpers -------------------------------------------------------------------------
    def _keys(self, key: str) -> ConversationKeys:
        known = self._keys_lately.get(key)
        if known is not None:
            return known
        layout, name = self.layout, conversation_lock(key)
        partition = layout.partition(name)
        meta, turns, ids = (
            layout.of_lane(name, kind, key) for kind in ("conv", "convturns", "convids")
        )
        pointer = self._pointer_key(key)
        context: tuple[str, ...] = (meta, turns, ids, pointer)
        beside: tuple[str, ...] = ()
        if not layout.one_slot(context):
            context = (meta, turns, ids, layout.in_partition(partition, "openticket", "-"))
            beside = (pointer,)
        keys = ConversationKeys(key, name, partition, self._lock_key(name), self._convq_key(key),
                                self._stream_key(partition), meta, turns, ids, pointer, context,
                                beside)  # fmt: skip
        return _keep(self._keys_lately, key, keys, KEYS_LATELY)

    def _conversation_keys(self, key: str) -> list[str]:
        keys = self._keys(key)
        return [keys.meta, keys.turns, keys.ids]

    def _context_keys(self, ref: ConversationRef) -> tuple[list[str], list[str]]:
        """What begin_turn touches: the conversation's keys and its open-ticket pointer, and
        the keys to read beside the script (the pointer, where it is in another slot)."""
        keys = self._keys(ref.key)
        return list(keys.context), list(keys.beside)

    def _ticket_key(self, ticket_id: str) -> str:
        return self.layout.tickets("ticket", ticket_id)

    def _pointer_key(self, conversation_key: str) -> str:
        return self.layout.tickets("openticket", conversation_key)

    def _turn_args(self, ref: ConversationRef, turn: Turn, turn_json: str) -> tuple[str | int, ...]:
        limit = max(1, self.limits.history_limit)
        now = wire_json.isoformat(utcnow())
        return (turn.turn_id, turn_json, ref_to_json(ref), now, limit,
                _ms(self.limits.retention_s), _customer_flag(turn))  # fmt: skip

    def _beginning(self, ref: ConversationRef, turn: Turn, key: str) -> Beginning:
        return Beginning(key, ref, turn, turn.to_json(), ref_to_json(ref), utcnow(),
                         turn.role == CUSTOMER_ROLE)  # fmt: skip

    # -- conversations -----------------------------------------------------------------------
    async def append_turn(self, ref: ConversationRef, turn: Turn) -> bool:
        return bool((await self._append(ref, turn, turn.to_json()))[0])

    async def _append(self, ref: ConversationRef, turn: Turn, turn_json: str) -> list[Any]:
        """append_turn's reply: [1, seq, length] (appended) or [0]."""
        keys = self._conversation_keys(ref.key)
        args = self._turn_args(ref, turn, turn_json)
        with _failures("append_turn"):
            reply: list[Any] = await self._script("append_turn", keys, *args)
        return reply

    async def get_conversation(self, key: str) -> Conversation | None:
        meta, turns, _ = self._conversation_keys(key)
        with _failures("get_conversation"):
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.hmget(meta, ["ref", "updated_at"])
                pipe.lrange(turns, 0, -1)
                (ref, updated_at), rows = await pipe.execute()
        if ref is None or updated_at is None:
            return None
        return new_conversation(
            key=key,
            ref=ref_from_json(ref),
            turns=tuple(self._stored_turn(row) for row in rows),
            updated_at=datetime.fromisoformat(_text(updated_at)),
        )

    async def begin_turn(
        self, ref: ConversationRef, turn: Turn, flags: Sequence[str] = ()
    ) -> TurnContext:
        key = ref.key
        keys, begun, held = (
            self._keys(key),
            self._beginning(ref, turn, key),
            self._histories.get(key),
        )
        args = begun.args(max(1, self.limits.history_limit), _ms(self.limits.retention_s), held)
        context_keys = list(keys.context)
        reads = [*keys.beside, *(self._key("kv", flag) for flag in flags)]
        values: list[Any]
        with _failures("begin_turn"):
            if not self.layout.cluster:  # the flags in the script (keys of any slot will do)
                row = await self._script("begin_turn", context_keys + reads, *args)
                values = list(row[5]) if row[5] is not None else []
            elif reads:  # one pipeline: the flags (and maybe the pointer) are in other slots
                row, values = await self._pipelined("begin_turn", context_keys, args, reads)
            else:
                row, values = await self._script("begin_turn", context_keys, *args), []
        if keys.beside:
            row, values = [*row[:4], values[0], *row[5:]], values[1:]
        return await self._context(begun, held, row, flags, values)

    async def _context(
        self, begun: Beginning, held: History | None, row: Sequence[Any], flags: Sequence[str],
        values: list[Any],
    ) -> TurnContext:  # fmt: skip
        """The brain's context from a ``context`` reply (``brain.store.redis_scripts``)."""
        added, ref_raw, updated_raw, raws, pointer, _, seq, length, since = row
        conversation, key = None, begun.key
        if added == 1 and begun.customer:  # the ref and the time this very step wrote
            ref_raw, updated_at = begun.ref_json, begun.now
        elif ref_raw is not None and updated_raw is not None:
            updated_at = datetime.fromisoformat(_text(updated_raw))
        else:
            ref_raw = None
        if ref_raw is not None:
            stored = self._stored_turn
            if since:  # the turns after those held, but for the one just appended
                turns = None
                if held is not None and int(since) == held.seq:
                    own = begun.turn if as_stored(begun.turn) else stored(begun.turn_json)
                    turns = extended(held, seq, length, (*map(stored, raws), own))
                if turns is None:  # (never, while turns only grow at the end)
                    logger.warning("the history of %s did not follow on; reading it whole", key)
                    turns = await self._all_turns(key)
                    seq = None
            else:
                turns = tuple(map(stored, raws))
            same = held is not None and held.ref_raw == ref_raw
            ref = held.ref if same and held is not None else ref_from_json(ref_raw)
            if seq is not None:
                self._histories.keep(key, History(seq, turns, ref_raw, ref))
            conversation = new_conversation(key, ref, turns, updated_at)
        ticket = await self._open_ticket(_text(pointer)) if pointer is not None else None
        found = {f: _text(v) if v is not None else None for f, v in zip(flags, values, strict=True)}
        return new_context(conversation, ticket, found)

    async def _all_turns(self, key: str) -> tuple[Turn, ...]:
        self._histories.drop(key)
        with _failures("get_conversation"):
            rows = await self._cmd("LRANGE", self._keys(key).turns, 0, -1)
        return tuple(map(self._stored_turn, rows))

    def _stored_turn(self, raw: bytes | str) -> Turn:
        """A stored turn, parsed once: the JSON of a stored turn is written once and never
        changes, so the same text always means the same (immutable) turn (a history read
        whole, after a restart or when another replica took the conversation, is mostly
        turns parsed before)."""
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
