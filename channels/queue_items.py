"""What the durable inbound queue carries besides customer and outbound messages (card
redraws, relays to the desks), the ``QueueItem`` union and its decoder."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from channels import wire_json
from channels.messages import Author, ConversationRef, InboundMessage, OutboundMessage


@dataclass(frozen=True, slots=True)
class CardRefresh:
    """Queued by a desk action taken away from the running bot (``frontdesk desk claim``): the
    bot redraws the ticket's card on every live desk, in order with the conversation."""

    ref: ConversationRef
    ticket_id: str
    epoch: int

    @property
    def idempotency_key(self) -> str:
        return f"refresh:{self.ticket_id}:{self.epoch}"

    def to_json(self) -> str:
        data = {"ref": self.ref.to_dict(), "ticket_id": self.ticket_id, "epoch": self.epoch}
        return wire_json.dumps({**data, "type": "refresh"})

    @classmethod
    def from_json(cls, text: str) -> CardRefresh:
        return cls.from_dict(wire_json.loads(text))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CardRefresh:
        ref = ConversationRef.from_dict(data["ref"])
        return cls(ref=ref, ticket_id=data["ticket_id"], epoch=int(data["epoch"]))


@dataclass(frozen=True, slots=True)
class DeskRelay:
    """A customer's follow-up to show in a ticket's thread on every desk, queued like agent
    replies so that a desk outage loses nothing. ``source`` is the idempotency key of the
    customer message it relays (one relay per message, however often it is decided)."""

    ref: ConversationRef
    ticket_id: str
    author: Author
    text: str
    source: str

    @property
    def idempotency_key(self) -> str:
        return f"relay:{self.source}"

    def to_json(self) -> str:
        data = {
            "ref": self.ref.to_dict(),
            "ticket_id": self.ticket_id,
            "author": self.author.to_dict(),
            "text": self.text,
            "source": self.source,
            "type": "relay",
        }
        return wire_json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> DeskRelay:
        return cls.from_dict(wire_json.loads(text))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeskRelay:
        return cls(ref=ConversationRef.from_dict(data["ref"]), ticket_id=data["ticket_id"],
                   author=Author(**data["author"]), text=data["text"],
                   source=data["source"])  # fmt: skip


QueueItem = InboundMessage | OutboundMessage | CardRefresh | DeskRelay
"""What the durable queue carries: customer messages, messages humans asked to deliver, card
redraws asked for by desk actions taken outside the running bot, and relays to the desks."""


def decode_queue_item(text: str | bytes) -> QueueItem:
    data = wire_json.loads(text)  # parsed once, whatever the kind
    kind = data.get("type", "inbound")
    if kind == "outbound":
        return OutboundMessage.from_dict(data)
    if kind == "refresh":
        return CardRefresh.from_dict(data)
    if kind == "relay":
        return DeskRelay.from_dict(data)
    return InboundMessage.from_dict(data)
