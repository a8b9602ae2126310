"""The ``Store`` protocol and the values it keeps: the only owner of persistent state.

Two backends implement it: ``SqliteStore`` (embedded default) and ``RedisStore`` (production).
``tests/test_store_conformance.py`` runs one suite unchanged against both, so a behaviour
described here is a behaviour both backends have.
"""

from __future__ import annotations

import enum
import json
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any, Protocol

from brain.store.lease import Lease, LeaseLost
from channels.base import (
    Author,
    ConversationRef,
    DeskRelay,
    LogEntry,
    OutboundMessage,
    QueueItem,
)


def utcnow() -> datetime:
    return datetime.now(UTC)


class TicketStatus(enum.StrEnum):
    ESCALATED = "escalated"
    CLAIMED = "claimed"
    RESOLVED = "resolved"
    HANDED_BACK = "handed_back"

    @property
    def label(self) -> str:
        """The state in words, for people ("handed back")."""
        return self.value.replace("_", " ")


OPEN_STATUSES = frozenset({TicketStatus.ESCALATED, TicketStatus.CLAIMED})


@dataclass(frozen=True, slots=True)
class Repage:
    """One step of a ticket's SLA ladder: the ``level``-th louder re-page, on ``desk``."""

    level: int
    at: datetime
    desk: str


@dataclass(frozen=True, slots=True)
class TicketPatch:
    """Bookkeeping a store merges into a ticket without an ownership change (the epoch stays):
    the claimant's shown name, where a desk shows the ticket's card, one more SLA re-page,
    one more reason (kept once: "undeliverable" when a reply could not be delivered)."""

    agent_name: str | None = None
    desk_ref: tuple[str, str] | None = None  # (desk name, ref)
    repage: Repage | None = None
    reason: str | None = None

    def apply(self, ticket: Ticket) -> Ticket:
        changes: dict[str, Any] = {}
        if self.agent_name is not None:
            changes["agent_name"] = self.agent_name
        if self.desk_ref is not None:
            desk, ref = self.desk_ref
            changes["desk_refs"] = {**ticket.desk_refs, desk: ref}
        if self.repage is not None:
            changes["repages"] = (*ticket.repages, self.repage)
        if self.reason is not None and self.reason not in ticket.reasons:
            changes["reasons"] = (*ticket.reasons, self.reason)
        return replace(ticket, **changes)


@dataclass(frozen=True, slots=True)
class Ticket:
    """An escalation. ``epoch`` grows by one on every transition (compare-and-set token).

    ``agent_name`` is the claimant's name as customers see it; ``desk_refs`` where each desk
    shows the card; ``repages`` the SLA ladder; ``details`` the classification at escalation
    time (intent, category, sentiment, language), shown on cards."""

    id: str
    ref: ConversationRef
    customer: Author
    status: TicketStatus
    epoch: int
    reasons: tuple[str, ...]
    summary: str
    agent: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    details: dict[str, Any] = field(default_factory=dict)
    urgency: str | None = None
    agent_name: str | None = None
    desk_refs: dict[str, str] = field(default_factory=dict)
    repages: tuple[Repage, ...] = ()

    @classmethod
    def opened(
        cls,
        ticket_id: str,
        ref: ConversationRef,
        customer: Author,
        reasons: Sequence[str],
        summary: str,
        details: Mapping[str, Any] | None,
        now: datetime,
    ) -> Ticket:
        """A new escalation; the urgency (which sets the SLA) is lifted out of ``details``."""
        facts = dict(details or {})
        urgency = facts.pop("urgency", None)
        return cls(
            id=ticket_id, ref=ref, customer=customer, status=TicketStatus.ESCALATED, epoch=0,
            reasons=tuple(reasons), summary=summary, created_at=now, updated_at=now,
            details=facts, urgency=str(urgency) if urgency is not None else None,
        )  # fmt: skip

    @property
    def owner_name(self) -> str | None:
        """Who owns it, as people see it."""
        return self.agent_name or self.agent

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def to_json(self) -> str:
        return json.dumps(
            {
                "id": self.id,
                "ref": self.ref.to_dict(),
                "customer": asdict(self.customer),
                "status": self.status.value,
                "epoch": self.epoch,
                "reasons": list(self.reasons),
                "summary": self.summary,
                "agent": self.agent,
                "created_at": self.created_at.isoformat(),
                "updated_at": self.updated_at.isoformat(),
                "details": self.details,
                "urgency": self.urgency,
                "agent_name": self.agent_name,
                "desk_refs": self.desk_refs,
                "repages": [
                    {"level": r.level, "at": r.at.isoformat(), "desk": r.desk} for r in self.repages
                ],
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Ticket:
        data = json.loads(text)
        return cls(
            id=data["id"],
            ref=ConversationRef.from_dict(data["ref"]),
            customer=Author(**data["customer"]),
            status=TicketStatus(data["status"]),
            epoch=int(data["epoch"]),
            reasons=tuple(data["reasons"]),
            summary=data["summary"],
            agent=data.get("agent"),
            created_at=datetime.fromisoformat(data["created_at"]),
            updated_at=datetime.fromisoformat(data["updated_at"]),
            details=dict(data.get("details") or {}),
            urgency=data.get("urgency"),
            agent_name=data.get("agent_name"),
            desk_refs=dict(data.get("desk_refs") or {}),
            repages=tuple(
                Repage(int(r["level"]), datetime.fromisoformat(r["at"]), r["desk"])
                for r in data.get("repages") or ()
            ),
        )

    def moved(self, status: TicketStatus, agent: str | None, now: datetime) -> Ticket:
        return replace(self, status=status, agent=agent, epoch=self.epoch + 1, updated_at=now)


CUSTOMER_ROLE = "customer"


@dataclass(frozen=True, slots=True)
class Turn:
    """One line of a conversation. ``turn_id`` makes appends idempotent on redelivery."""

    turn_id: str
    role: str  # "customer" | "bot" | "agent" | "system"
    text: str
    at: datetime = field(default_factory=utcnow)

    def to_json(self) -> str:
        data = {"turn_id": self.turn_id, "role": self.role, "text": self.text}
        return json.dumps({**data, "at": self.at.isoformat()}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> Turn:
        data = json.loads(text)
        at = datetime.fromisoformat(data["at"])
        return cls(turn_id=data["turn_id"], role=data["role"], text=data["text"], at=at)


@dataclass(frozen=True, slots=True)
class Conversation:
    key: str
    ref: ConversationRef
    turns: tuple[Turn, ...]
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class TurnContext:
    """What the brain reads for one customer message, in one step (``Store.begin_turn``):
    the conversation (with the new turn), its open ticket, and the small settings asked for
    (key -> value, None where unset)."""

    conversation: Conversation | None
    open_ticket: Ticket | None
    flags: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TurnStart:
    """The arguments of ``begin_turn``, handed to ``lock_conversation`` to be done in the
    same step as the lock when ``entry_id`` (the entry the turn belongs to) is the head."""

    entry_id: str
    ref: ConversationRef
    turn: Turn
    flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """A message taken from the durable inbound queue; ``ack`` it once fully handled."""

    entry_id: str
    message: QueueItem
    deliveries: int = 1


@dataclass(frozen=True, slots=True)
class HeldConversation:
    """What ``lock_conversation`` yields: the lease, the conversation's oldest unfinished
    entry (None: none), and ``begin_turn``'s context if it was done with the lock."""

    lease: Lease
    head: QueueEntry | None
    context: TurnContext | None = None


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """The replies decided for one inbound message (one entry per platform part), how many
    were already delivered, how many delivery attempts failed, and whether it was given up
    (dead-lettered: never sent again)."""

    inbound_key: str
    messages: tuple[OutboundMessage, ...]
    sent_count: int = 0
    failures: int = 0
    dead: bool = False

    @property
    def pending(self) -> tuple[OutboundMessage, ...]:
        return () if self.dead else self.messages[self.sent_count :]


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


def conversation_lock(conversation_key: str) -> str:
    """The name of the lock a conversation's messages are handled under."""
    return f"conversation:{conversation_key}"


def lock_name(item: QueueItem) -> str:
    """The lock (the lane) ``item`` is handled under: its conversation's, or for a relay its
    ticket's. A partitioned Redis store keeps every key of a lane in one partition, so the
    dispatcher must lock exactly this name."""
    if isinstance(item, DeskRelay):
        return f"relay:{item.ticket_id}"
    return conversation_lock(item.ref.key)


def conversation_of(item: QueueItem) -> str | None:
    """The conversation whose lock an item is handled under (relays have a lane of their own)."""
    return None if isinstance(item, DeskRelay) else item.ref.key


def lease_lost(lease: Lease) -> LeaseLost:
    """What a store raises when a fenced write finds the lease's lock held by someone else."""
    lease.lost = True
    return LeaseLost(f"the lease on {lease.name} is no longer held; the write was refused")


def ref_to_json(ref: ConversationRef) -> str:
    return json.dumps(ref.to_dict(), ensure_ascii=False)


def ref_from_json(text: str | bytes) -> ConversationRef:
    return ConversationRef.from_dict(json.loads(text))


def outbox_to_json(messages: Sequence[OutboundMessage]) -> str:
    return json.dumps([m.to_json() for m in messages])


def outbox_from_json(text: str | bytes) -> tuple[OutboundMessage, ...]:
    return tuple(OutboundMessage.from_json(item) for item in json.loads(text))


def today(now: datetime | None = None) -> date:
    return (now or utcnow()).date()


@dataclass(frozen=True, slots=True)
class StoreLimits:
    """Sizes and lifetimes both backends honour (from ``StoreSettings``)."""

    history_limit: int = 50
    retention_s: float = 30 * 86400
    idempotency_ttl_s: float = 72 * 3600
    lock_ttl_s: float = 30.0

    @property
    def idempotency_s(self) -> float:
        """No key outlives retention: a platform message id is remembered at most that long."""
        return min(self.idempotency_ttl_s, self.retention_s)

    def kept(self, ttl_s: float) -> float:
        """``ttl_s`` cut to the retention period (``RETAINED``: keep for the whole period)."""
        return min(ttl_s, self.retention_s)


RETAINED = float("inf")
"""A ``kv_set`` TTL meaning "as long as retention allows" (mappings that hold no setting)."""
