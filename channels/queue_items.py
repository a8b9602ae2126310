"""What the durable inbound queue carries besides customer and outbound messages (card
redraws, relays to the desks), the ``QueueItem`` union and its decoder."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

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
        return json.dumps({**data, "type": "refresh"}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> CardRefresh:
        data = json.loads(text)
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
            "author": asdict(self.author),
            "text": self.text,
            "source": self.source,
            "type": "relay",
        }
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> DeskRelay:
        data = json.loads(text)
        return cls(ref=ConversationRef.from_dict(data["ref"]), ticket_id=data["ticket_id"],
                   author=Author(**data["author"]), text=data["text"],
                   source=data["source"])  # fmt: skip


QueueItem = InboundMessage | OutboundMessage | CardRefresh | DeskRelay
"""What the durable queue carries: customer messages, messages humans asked to deliver, card
redraws asked for by desk actions taken outside the running bot, and relays to the desks."""


def decode_queue_item(text: str | bytes) -> QueueItem:
    kind = json.loads(text).get("type", "inbound")
    raw = text.decode() if isinstance(text, bytes) else text
    if kind == "outbound":
        return OutboundMessage.from_json(raw)
    if kind == "refresh":
        return CardRefresh.from_json(raw)
    if kind == "relay":
        return DeskRelay.from_json(raw)
    return InboundMessage.from_json(raw)
