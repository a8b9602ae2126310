"""The values a store keeps besides tickets: conversation ``Turn``s and ``Conversation``s, what
one turn reads (``TurnContext``, ``TurnStart``), queue entries, the outbox record, the sizes
and lifetimes both backends honour (``StoreLimits``), and the small helpers every backend
shares (lock names, JSON codecs, the fenced-write refusal)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from brain.store.lease import Lease, LeaseLost
from brain.store.tickets import Ticket, utcnow
from channels import wire_json
from channels.base import ConversationRef, DeskRelay, OutboundMessage, QueueItem
from channels.frozen import builder, constructor

CUSTOMER_ROLE = "customer"


@dataclass(frozen=True, slots=True)
class Turn:
    """One line of a conversation. ``turn_id`` makes appends idempotent on redelivery."""

    turn_id: str
    role: str  # "customer" | "bot" | "agent" | "system"
    text: str
    at: datetime = field(default_factory=utcnow)

    def to_json(self) -> str:
        at = wire_json.instant(self.at)  # written as ``isoformat`` writes it, at less cost
        return wire_json.dumps({"turn_id": self.turn_id, "role": self.role, "text": self.text,
                                "at": at})  # fmt: skip

    @classmethod
    def from_json(cls, text: str | bytes) -> Turn:
        data = wire_json.loads(text)
        at = datetime.fromisoformat(data["at"])
        return new_turn(data["turn_id"], data["role"], data["text"], at)


new_turn: Callable[[str, str, str, datetime], Turn] = builder(Turn)
"""``Turn(turn_id, role, text, at)`` at half the cost (``channels.frozen``): turns are made and
read several times for every message."""


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


# The class's own call at half the cost (``channels.frozen.constructor``), for the values the
# Redis store builds for every message (a queue entry is built twice, when read and when
# locked); everywhere else the classes are called as they are.
new_conversation = constructor(Conversation)
new_context = constructor(TurnContext)
new_entry = constructor(QueueEntry)
new_held = constructor(HeldConversation)
new_outbox_record = constructor(OutboxRecord)


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
    return wire_json.dumps(ref.to_dict())


def ref_from_json(text: str | bytes) -> ConversationRef:
    return ConversationRef.from_dict(wire_json.loads(text))


def outbox_to_json(messages: Sequence[OutboundMessage]) -> str:
    return wire_json.dumps([m.to_json() for m in messages])


def outbox_from_json(text: str | bytes) -> tuple[OutboundMessage, ...]:
    return tuple(OutboundMessage.from_json(item) for item in wire_json.loads(text))


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
