"""The Redis store's combined steps for the dispatcher (``lock_conversation``, ``begin_turn``,
``outbox_put_reply``), over any key layout; the conversations they stand on are
``brain.store.redis_conversations``.

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

A conversation's history comes back whole only when this process does not hold it already
(``brain.store.redis_history``); the lock step itself is ``brain.store.redis_locking``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from brain.store.base import (
    OutboxRecord,
    Turn,
    TurnStart,
    lease_lost,
    outbox_to_json,
    ref_to_json,
    utcnow,
)
from brain.store.lease import Lease
from brain.store.records import new_outbox_record
from brain.store.redis_conversations import RedisConversations, _customer_flag
from brain.store.redis_history import History, as_stored, extended
from brain.store.redis_locking import LockedConversation
from brain.store.redis_wire import _failures, _ms, _outbox, _pairs, _text
from channels import wire_json
from channels.base import ConversationRef, OutboundMessage
from config.errors import StoreError

_POINTER_TRIES = 5


class RedisTurns(RedisConversations):
    # -- the dispatcher's combined steps -----------------------------------------------------
    def lock_conversation(
        self, conversation_key: str, owner: str, start: TurnStart | None = None
    ) -> LockedConversation:
        return LockedConversation(self, conversation_key, owner, start)

    async def outbox_put_reply(
        self,
        inbound_key: str,
        messages: Sequence[OutboundMessage],
        counters: Mapping[str, float],
        lease: Lease,
        ref: ConversationRef,
        turns: Sequence[Turn],
    ) -> OutboxRecord | None:
        key = ref.key
        conv = self._keys(key)
        lock = conv.lock if lease.name == conv.name else self._lock_key(lease)
        stats = self._stats(None, self.layout.partition(inbound_key))
        keys = [self._outbox_key(inbound_key), lock, stats, conv.meta, conv.turns, conv.ids,
                conv.pointer]  # fmt: skip
        if not self.layout.one_slot(keys):
            return await self._put_reply_split(inbound_key, messages, counters, lease, ref, turns)
        jsons = [t.to_json() for t in turns]
        rows = [
            x for t, j in zip(turns, jsons, strict=True) for x in (t.turn_id, j, _customer_flag(t))
        ]
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
                self._follow(key, turns, jsons, reply)
                return new_outbox_record(inbound_key, tuple(messages))
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

    def _follow(
        self, key: str, turns: Sequence[Turn], jsons: list[str], reply: Sequence[Any]
    ) -> None:
        """The history held for ``key`` with ``turns`` appended by ``outbox_put_reply``
        (reply {3, appended, seq, length}), where nothing else came in between."""
        held = self._histories.get(key)
        _, appended, seq, length = reply
        if held is None or not turns or appended != len(turns):
            return
        own = tuple(
            t if as_stored(t) else self._stored_turn(j) for t, j in zip(turns, jsons, strict=True)
        )
        history = extended(held, seq, length, own)
        if history is not None:
            self._histories.keep(key, History(seq, history, held.ref_raw, held.ref))

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
            turn_json = turn.to_json()
            added, *after = await self._append(ref, turn, turn_json)
            if added:
                self._follow(ref.key, [turn], [turn_json], [3, 1, *after])
        return record
