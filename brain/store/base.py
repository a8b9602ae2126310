"""The ``Store`` protocol: the only owner of persistent state.

Two backends implement it: ``SqliteStore`` (embedded default) and ``RedisStore`` (production).
``tests/test_store_conformance.py`` runs one suite unchanged against both, so a behaviour
described here is a behaviour both backends have.

The values it keeps are defined beside it and re-exported here (``from brain.store.base
import X`` works for all of them): tickets in ``brain/store/tickets.py``; turns,
conversations, queue entries, outbox records, ``StoreLimits`` and the shared helpers in
``brain/store/records.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import date
from typing import Any, Protocol

from brain.store.lease import Lease
from brain.store.records import (
    CUSTOMER_ROLE,
    RETAINED,
    Conversation,
    HeldConversation,
    OutboxRecord,
    QueueEntry,
    StoreLimits,
    Turn,
    TurnContext,
    TurnStart,
    conversation_lock,
    conversation_of,
    lease_lost,
    lock_name,
    new_turn,
    outbox_from_json,
    outbox_to_json,
    ref_from_json,
    ref_to_json,
)
from brain.store.tickets import (
    OPEN_STATUSES,
    Repage,
    Ticket,
    TicketPatch,
    TicketStatus,
    today,
    utcnow,
)
from channels.base import Author, ConversationRef, LogEntry, OutboundMessage, QueueItem

__all__ = [
    "CUSTOMER_ROLE",
    "OPEN_STATUSES",
    "RETAINED",
    "Conversation",
    "HeldConversation",
    "OutboxRecord",
    "QueueEntry",
    "Repage",
    "Store",
    "StoreLimits",
    "Ticket",
    "TicketPatch",
    "TicketStatus",
    "Turn",
    "TurnContext",
    "TurnStart",
    "conversation_lock",
    "conversation_of",
    "lease_lost",
    "lock_name",
    "new_turn",
    "outbox_from_json",
    "outbox_to_json",
    "ref_from_json",
    "ref_to_json",
    "today",
    "utcnow",
]


class Store(Protocol):
    """Everything Frontdesk persists. All methods are coroutines safe to call concurrently."""

    backend: str

    async def open(self) -> None:
        """Connect and create schema/groups. Raises ``StoreError`` with a clear message."""

    async def close(self) -> None: ...

    # -- inbound queue with idempotency ------------------------------------------------------
    async def enqueue(self, message: QueueItem) -> bool:
        """Durably append ``message`` unless its idempotency key was seen within the TTL.

        Returns False for a duplicate. The check and the append are one atomic step.
        """

    async def read_queue(self, consumer: str, count: int, block_s: float) -> list[QueueEntry]:
        """Take up to ``count`` new entries for ``consumer``, waiting up to ``block_s``."""

    async def reclaim(
        self, consumer: str, min_idle_s: float, count: int, from_consumer: str | None = None
    ) -> list[QueueEntry]:
        """Take over entries taken more than ``min_idle_s`` ago and never acked.

        ``from_consumer`` limits this to one consumer's entries: a process restarting under
        its old name reclaims its own unfinished work at once with ``min_idle_s=0``.
        """

    async def ack(self, entry_id: str) -> None:
        """Mark an entry done; it is never delivered again."""

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
        """The end of one message, in one step: record delivery progress (``outbox``: inbound
        key and sent count), add ``counters`` (today), ack the entry (dropping it from
        ``conversation``'s unfinished entries) and, if ``release``, release ``lease``.
        Nothing is written unless the lease is still held (``LeaseLost``)."""

    async def queue_depth(self) -> int:
        """Entries not yet acked (waiting or in flight)."""

    def lock_conversation(
        self, conversation_key: str, owner: str, start: TurnStart | None = None
    ) -> AbstractAsyncContextManager[HeldConversation]:
        """``lock(conversation_lock(conversation_key), owner)`` that also reads, in the same
        step as the acquire, what ``head_of`` would return right after it, and, if the head
        is ``start.entry_id``, does ``begin_turn`` of ``start`` (a message's first step in
        the brain): one round trip for what would be three."""

    async def head_of(self, conversation_key: str) -> QueueEntry | None:
        """The oldest unfinished entry of a conversation, whoever took it (None: none). A
        worker holding the conversation's lock handles that one first, so replies keep the
        queue's order even when two replicas read consecutive messages of one conversation.
        Its ``deliveries`` is at least 2: it may have been decided already."""

    # -- outbox ------------------------------------------------------------------------------
    async def outbox_put(
        self,
        inbound_key: str,
        messages: Sequence[OutboundMessage],
        counters: Mapping[str, float] | None = None,
        lease: Lease | None = None,
    ) -> OutboxRecord:
        """Record the replies for ``inbound_key``; if a record exists, keep and return it.

        ``counters`` are added (today) in the same step, only if this call created the record.
        With ``lease``, nothing is written unless the lease's lock is still held by it
        (``LeaseLost``): the store itself fences the write.
        """

    async def outbox_put_reply(
        self,
        inbound_key: str,
        messages: Sequence[OutboundMessage],
        counters: Mapping[str, float],
        lease: Lease,
        ref: ConversationRef,
        turns: Sequence[Turn],
    ) -> OutboxRecord | None:
        """``outbox_put`` of the bot's own reply, in one step with its ``turns`` (appended as
        ``append_turn`` does), and only while the conversation has no open ticket: None (and
        nothing written) if one was opened since the reply was drafted, so the draft is
        dropped. An existing record is returned as it is (no turn appended)."""

    async def outbox_get(self, inbound_key: str) -> OutboxRecord | None: ...

    async def outbox_mark_sent(self, inbound_key: str, sent_count: int) -> None: ...

    async def outbox_failed(self, inbound_key: str) -> int:
        """Count one more failed delivery attempt; returns the count so far (0: no record)."""

    async def outbox_dead(self, inbound_key: str) -> bool:
        """Mark the record dead-lettered. True only for the call that marked it."""

    # -- per-conversation lock (holds across processes) -----------------------------------
    def lock(
        self, name: str, owner: str | None = None, *, wait: bool = True
    ) -> AbstractAsyncContextManager[Lease]:
        """Exclusive lock on ``name``; renewed while held, expires if the holder dies.
        ``wait=False``: one try, ``StoreError`` (``LockBusy``) when someone else holds it
        (a standby that paces its own retries instead of the lock's polling).

        ``owner`` (the queue consumer name): a process restarted under the same name takes
        over the locks its previous incarnation left at once, and a holder whose lease ran out
        is stopped (cancelled where it waits; ``LeaseLost`` leaves the block). Without an owner
        (a long-lived singleton such as a mailbox reader) it is only told (``lease.lost``,
        ``Lease.check()``). Either way the ``Lease`` is checked before every write."""

    # -- conversations -----------------------------------------------------------------------
    async def append_turn(self, ref: ConversationRef, turn: Turn) -> bool:
        """Append ``turn`` (bounded history). False if ``turn.turn_id`` is already there."""

    async def get_conversation(self, key: str) -> Conversation | None: ...

    async def begin_turn(
        self, ref: ConversationRef, turn: Turn, flags: Sequence[str] = ()
    ) -> TurnContext:
        """``append_turn(ref, turn)``, then what the brain reads before it decides, in one
        step: the conversation, its open ticket (``open_ticket_for``) and the ``kv_get``
        values of ``flags``."""

    async def purge_expired(self) -> int:
        """Delete conversations, closed tickets and idempotency keys past retention."""

    # -- tickets -----------------------------------------------------------------------------
    async def open_ticket(
        self,
        ref: ConversationRef,
        customer: Author,
        reasons: Sequence[str],
        summary: str,
        details: Mapping[str, Any] | None = None,
    ) -> tuple[Ticket, bool]:
        """Open an escalation for the conversation, or return its open one (created=False)."""

    async def get_ticket(self, ticket_id: str) -> Ticket | None: ...

    async def open_ticket_for(self, conversation_key: str) -> Ticket | None: ...

    async def list_tickets(self, statuses: Collection[TicketStatus]) -> list[Ticket]:
        """Tickets in ``statuses``, oldest first."""

    async def transition_ticket(
        self, ticket_id: str, expected_epoch: int, status: TicketStatus, agent: str | None
    ) -> Ticket | None:
        """Compare-and-set: apply only if the ticket's epoch is still ``expected_epoch``.

        Returns the updated ticket, or None if someone else moved it first (or it is unknown).
        """

    async def annotate_ticket(self, ticket_id: str, patch: TicketPatch) -> Ticket | None:
        """Apply ``patch`` atomically (claimant's name, desk ref, SLA ladder). Not an
        ownership change: the epoch stays. None if the ticket is unknown."""

    # -- small settings and mappings (paused channels, admin FAQ entries) -------------------
    async def kv_set(self, key: str, value: str, ttl_s: float | None = None) -> None: ...

    async def kv_get(self, key: str) -> str | None: ...

    async def kv_delete(self, key: str) -> None: ...

    async def kv_scan(self, prefix: str) -> dict[str, str]:
        """Every live key starting with ``prefix``, with its value."""

    # -- per-customer rate (token bucket) ---------------------------------------------------
    async def take_token(self, bucket: str, rate_per_s: float, burst: int) -> float:
        """Take one token from ``bucket`` (refilled at ``rate_per_s``, holding at most
        ``burst``): 0 if taken, else the seconds until the next token (nothing taken)."""

    # -- counters ----------------------------------------------------------------------------
    async def incr(self, name: str, amount: float = 1, day: date | None = None) -> None: ...

    async def incr_many(self, amounts: Mapping[str, float], day: date | None = None) -> None:
        """Several counters in one round trip (all or none)."""

    async def counters(self, day: date | None = None) -> dict[str, float]: ...

    # -- append-only logs with ids (the web channel's visible history) ----------------------
    async def log_append(
        self, log: str, entry_id: str, value: str, topic: str | None = None
    ) -> tuple[LogEntry, bool]:
        """Append ``value`` under ``entry_id`` unless the log holds that id already: (the
        stored entry, whether this call added it). Numbers follow 1, 2, ... per log; a log
        lives as long as retention allows after its last append. With a ``topic``, every
        ``log_follow(topic)`` (in any process) hears of the new entry."""

    async def log_read(self, log: str, after: int = 0, limit: int = 100) -> list[LogEntry]:
        """Entries numbered above ``after``, oldest first, at most ``limit``."""

    def log_follow(self, topic: str) -> AsyncIterator[LogEntry]:
        """Entries appended with ``topic`` from now on, in append order, until closed. After
        a gap (a lost connection) it yields an entry with an empty ``log`` first."""
