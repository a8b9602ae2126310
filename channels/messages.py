"""The messages themselves: where a conversation is (``ConversationRef`` with its persisted
``ReplyHints``), who wrote (``Author``), a customer's message (``InboundMessage``) and what the
bot sends (``OutboundMessage``, with optional CSAT buttons: ``RatingRequest``).

Adapters translate platform events into these frozen values and back; nothing past the
adapters ever looks at a platform payload. ``InboundMessage.raw`` keeps the original event for
debugging only: it is excluded from ``repr`` and the brain never reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from channels import wire_json
from channels.frozen import builder, constructor


@dataclass(frozen=True, slots=True)
class ReplyHints:
    """What a platform needs to answer a conversation later, long after the inbound payload is
    gone: persisted with the conversation and the ticket, so a desk relay days later threads.

    ``reply_to`` is the platform message to answer or reference (email Message-ID, Discord
    message id); ``references`` the email References chain; ``address`` where the customer is
    reached (email address); ``subject`` the email subject. ``extra`` holds any other small
    platform value as (name, value) pairs.
    """

    reply_to: str | None = None
    references: tuple[str, ...] = ()
    address: str | None = None
    subject: str | None = None
    extra: tuple[tuple[str, str], ...] = ()

    def get(self, name: str) -> str | None:
        return dict(self.extra).get(name)

    def to_dict(self) -> dict[str, Any]:
        return {"reply_to": self.reply_to, "references": self.references,
                "address": self.address, "subject": self.subject, "extra": self.extra}  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ReplyHints:
        if not data:
            return NO_HINTS
        reply_to, address, subject = data.get("reply_to"), data.get("address"), data.get("subject")
        references, extra = data.get("references"), data.get("extra")
        if reply_to is None and address is None and subject is None and not (references or extra):
            return NO_HINTS  # most references carry none: read them as the one shared value
        return cls(
            reply_to=reply_to,
            references=tuple(references or ()),
            address=address,
            subject=subject,
            extra=tuple((str(k), str(v)) for k, v in extra or ()),
        )


NO_HINTS = ReplyHints()
"""No hints: the value of every reference that has none, shared (values are immutable) rather
than built anew for each reference made or read, several times for every message."""


@dataclass(frozen=True, slots=True)
class ConversationRef:
    """Where to reply: the channel, the conversation within it and, if any, the thread.

    ``workspace_id`` is the Slack team or Discord guild. ``hints`` travel with the reference
    but are not part of its identity (``key``, equality): a conversation keeps its key while
    its latest message (the one to reply to) changes.
    """

    channel: str
    conversation_id: str
    thread_id: str | None = None
    workspace_id: str | None = None
    hints: ReplyHints = field(default=NO_HINTS, compare=False)

    def to_dict(self) -> dict[str, Any]:
        # Written out rather than ``asdict``: every queued message serialises its reference,
        # and ``asdict``'s deep copy was a visible share of a surge's CPU (bench/surge.py).
        return {"channel": self.channel, "conversation_id": self.conversation_id,
                "thread_id": self.thread_id, "workspace_id": self.workspace_id,
                "hints": self.hints.to_dict()}  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConversationRef:
        # References are read several times for every message: built by ``channels.frozen``
        # (fields in order), at half the cost of ``cls(...)``.
        hints = ReplyHints.from_dict(data.get("hints"))
        return _new_ref(data["channel"], data["conversation_id"], data.get("thread_id"),
                        data.get("workspace_id"), hints)  # fmt: skip

    @property
    def key(self) -> str:
        """Stable identity of the conversation across messages (thread included)."""
        # Formatted rather than joined from a list: read about ten times for every message.
        workspace = self.workspace_id or "-"
        if self.thread_id:
            return f"{self.channel}:{workspace}:{self.conversation_id}:{self.thread_id}"
        return f"{self.channel}:{workspace}:{self.conversation_id}"


@dataclass(frozen=True, slots=True)
class Author:
    id: str
    display_name: str | None = None
    email: str | None = None
    is_bot: bool = False

    def to_dict(self) -> dict[str, Any]:
        # Written out rather than ``asdict`` (a deep copy): every queued message has one.
        return {"id": self.id, "display_name": self.display_name, "email": self.email,
                "is_bot": self.is_bot}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Attachment:
    name: str
    content_type: str | None = None
    size: int | None = None
    url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        # Written out rather than ``asdict`` (a deep copy), like the others here.
        return {"name": self.name, "content_type": self.content_type, "size": self.size,
                "url": self.url}  # fmt: skip


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One customer message, whatever platform it came from."""

    ref: ConversationRef
    message_id: str
    author: Author
    text: str
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    attachments: tuple[Attachment, ...] = ()
    raw: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)
    oversize: bool = False
    """The platform message was larger than the channel reads (email over MAX_MESSAGE_BYTES):
    ``text`` is its start, and a person must see the whole of it."""
    rating: int | None = None
    """Set when the customer pressed a rating button (``RatingRequest``) instead of writing:
    the rating, 1-5 (``text`` holds the same digit). Such a message is an answer to the bot's
    question, never a question of its own: the bot records it and never passes it on."""

    @property
    def idempotency_key(self) -> str:
        """Channel + platform message id: the same event delivered twice has the same key."""
        return f"{self.ref.channel}:{self.ref.workspace_id or '-'}:{self.message_id}"

    def to_json(self) -> str:
        data = {
            "ref": self.ref.to_dict(),
            "message_id": self.message_id,
            "author": self.author.to_dict(),
            "text": self.text,
            "received_at": wire_json.instant(self.received_at),  # as ``isoformat`` writes it
            "attachments": [a.to_dict() for a in self.attachments],
            "raw": None,  # the platform payload is not persisted in the queue
            "oversize": self.oversize,
            "rating": self.rating,
            "type": "inbound",
        }
        return wire_json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> InboundMessage:
        return cls.from_dict(wire_json.loads(text))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InboundMessage:
        attachments = data.get("attachments")
        return _new_inbound(  # the fields in order (see ``ConversationRef.from_dict``)
            ConversationRef.from_dict(data["ref"]),
            data["message_id"],
            _new_author(**data["author"]),
            data["text"],
            datetime.fromisoformat(data["received_at"]),  # received_at
            tuple(Attachment(**a) for a in attachments) if attachments else (),
            None,  # raw: the platform payload is not kept in the queue
            bool(data.get("oversize", False)),
            data.get("rating"),
        )


_new_ref: Callable[[str, str, str | None, str | None, ReplyHints], ConversationRef] = builder(
    ConversationRef
)
_new_inbound: Callable[
    [ConversationRef, str, Author, str, datetime, tuple[Attachment, ...], None, bool, int | None],
    InboundMessage,
] = builder(InboundMessage)
_new_author = constructor(Author)  # the class's own call, at half the cost (one per message read)

RATING_SCALE = 5  # CSAT ratings run from 1 (poor) to 5 (excellent)


@dataclass(frozen=True, slots=True)
class RatingRequest:
    """Asks the customer to rate the conversation from 1 to ``RATING_SCALE`` with buttons, on an
    ``OutboundMessage`` whose text asks the same in words. A channel that has buttons (Slack,
    Discord) renders them under the text, and a press comes back as an ``InboundMessage`` with
    ``rating`` set; every other channel ignores it, and the customer answers in words.

    ``customer_id`` is the only person whose press counts: in a shared channel others see the
    buttons too (the channel refuses them privately)."""

    customer_id: str


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """A message Frontdesk sends to a conversation.

    ``in_reply_to`` is the inbound message id it answers. ``sender_name`` is set when a human
    agent wrote it. ``message_id`` identifies messages queued on their own (an agent's relayed
    reply, a closing note), which makes queueing them idempotent.
    """

    ref: ConversationRef
    text: str
    in_reply_to: str | None = None
    sender_name: str | None = None
    message_id: str | None = None
    category: str | None = None  # the question's category, for channels that label threads
    rating: RatingRequest | None = None  # rating buttons under the text, where there are any

    @property
    def idempotency_key(self) -> str:
        if self.message_id is None:
            raise ValueError("only an OutboundMessage with a message_id can be queued")
        return f"out:{self.ref.channel}:{self.message_id}"

    def to_json(self) -> str:
        data = {
            "ref": self.ref.to_dict(),
            "text": self.text,
            "in_reply_to": self.in_reply_to,
            "sender_name": self.sender_name,
            "message_id": self.message_id,
            "category": self.category,
            "rating": {"customer_id": self.rating.customer_id} if self.rating else None,
            "type": "outbound",
        }
        return wire_json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> OutboundMessage:
        return cls.from_dict(wire_json.loads(text))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OutboundMessage:
        return cls(
            ref=ConversationRef.from_dict(data["ref"]),
            text=data["text"],
            in_reply_to=data.get("in_reply_to"),
            sender_name=data.get("sender_name"),
            message_id=data.get("message_id"),
            category=data.get("category"),
            rating=RatingRequest(**data["rating"]) if data.get("rating") else None,
        )
