"""The shared vocabulary between channel adapters, the dispatcher and the brain.

Adapters translate platform events into these frozen values and back; nothing past this module
ever looks at a platform payload. ``InboundMessage.raw`` keeps the original event for debugging
only: it is excluded from ``repr`` and the brain never reads it.
"""

from __future__ import annotations

import asyncio
import enum
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TextIO, runtime_checkable


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
            return cls()
        return cls(
            reply_to=data.get("reply_to"),
            references=tuple(data.get("references") or ()),
            address=data.get("address"),
            subject=data.get("subject"),
            extra=tuple((str(k), str(v)) for k, v in data.get("extra") or ()),
        )


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
    hints: ReplyHints = field(default_factory=ReplyHints, compare=False)

    def to_dict(self) -> dict[str, Any]:
        # Written out rather than ``asdict``: every queued message serialises its reference,
        # and ``asdict``'s deep copy was a visible share of a surge's CPU (bench/surge.py).
        return {"channel": self.channel, "conversation_id": self.conversation_id,
                "thread_id": self.thread_id, "workspace_id": self.workspace_id,
                "hints": self.hints.to_dict()}  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConversationRef:
        return cls(
            channel=data["channel"],
            conversation_id=data["conversation_id"],
            thread_id=data.get("thread_id"),
            workspace_id=data.get("workspace_id"),
            hints=ReplyHints.from_dict(data.get("hints")),
        )

    @property
    def key(self) -> str:
        """Stable identity of the conversation across messages (thread included)."""
        parts = [self.channel, self.workspace_id or "-", self.conversation_id]
        if self.thread_id:
            parts.append(self.thread_id)
        return ":".join(parts)


@dataclass(frozen=True, slots=True)
class Author:
    id: str
    display_name: str | None = None
    email: str | None = None
    is_bot: bool = False


@dataclass(frozen=True, slots=True)
class Attachment:
    name: str
    content_type: str | None = None
    size: int | None = None
    url: str | None = None


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
            "author": asdict(self.author),
            "text": self.text,
            "received_at": self.received_at.isoformat(),
            "attachments": [asdict(a) for a in self.attachments],
            "raw": None,  # the platform payload is not persisted in the queue
            "oversize": self.oversize,
            "rating": self.rating,
            "type": "inbound",
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> InboundMessage:
        data = json.loads(text)
        return cls(
            ref=ConversationRef.from_dict(data["ref"]),
            message_id=data["message_id"],
            author=Author(**data["author"]),
            text=data["text"],
            received_at=datetime.fromisoformat(data["received_at"]),
            attachments=tuple(Attachment(**a) for a in data.get("attachments", ())),
            oversize=bool(data.get("oversize", False)),
            rating=data.get("rating"),
        )


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
            "rating": asdict(self.rating) if self.rating is not None else None,
            "type": "outbound",
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> OutboundMessage:
        data = json.loads(text)
        return cls(
            ref=ConversationRef.from_dict(data["ref"]),
            text=data["text"],
            in_reply_to=data.get("in_reply_to"),
            sender_name=data.get("sender_name"),
            message_id=data.get("message_id"),
            category=data.get("category"),
            rating=RatingRequest(**data["rating"]) if data.get("rating") else None,
        )


class DeskAction(enum.StrEnum):
    CLAIM = "claim"
    REPLY = "reply"  # a message in the ticket's thread (relayed if the claimant wrote it)
    NOTE = "note"
    RESOLVE = "resolve"
    HAND_BACK = "hand_back"
    COMMAND = "command"  # an admin command, ``text`` holds it ("faq list", "pause slack")
    HOME = "home"  # an agent opened the desk's home view; feedback carries nothing


class Role(enum.IntEnum):
    """What a desk user may do, decided by the desk from its platform (Slack user ids and user
    groups, Discord roles, the terminal operator). Customers share the workspace or server
    with the agents, so seeing a channel never makes anyone an agent."""

    NONE = 0
    AGENT = 1
    ADMIN = 2


@dataclass(frozen=True, slots=True)
class DeskEvent:
    """Something an agent or admin did on a desk (claim, reply in thread, resolve, command).

    ``desk`` names the desk it came from. Button clicks carry ``ticket_id`` and the ``desk_ref``
    of the card clicked (the hub refuses a click whose card is not the ticket's card); thread
    replies carry only ``desk_ref`` (the value ``page`` returned for the ticket's card), which
    the hub maps back to the ticket. ``role`` is decided by the desk from its settings.
    """

    action: DeskAction
    agent: Author
    desk: str = ""
    ticket_id: str | None = None
    desk_ref: str | None = None
    text: str = ""
    event_id: str | None = None
    role: Role = Role.NONE
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True, slots=True)
class DeskFeedback:
    """What the bot answers a desk event with, for the agent who acted.

    ``ok=False``: refused (show it privately). ``internal=True``: a thread message that was not
    relayed to the customer (mark it discreetly, e.g. with a reaction). ``withheld=True``: it was
    meant for the customer but stayed internal (the sender is not the claimant).
    """

    text: str
    ok: bool = True
    internal: bool = False
    withheld: bool = False


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


InboundHandler = Callable[[InboundMessage], Awaitable[bool]]
"""What a channel calls for every customer message. Returns once the message is durably
queued (True) or recognised as a duplicate (False); only then may the platform be acknowledged."""

DeskHandler = Callable[[DeskEvent], Awaitable[DeskFeedback]]


@runtime_checkable
class Channel(Protocol):
    """A customer-facing channel adapter."""

    name: str

    async def start(self, handler: InboundHandler) -> None:
        """Begin receiving; call ``handler`` for every inbound customer message."""

    async def stop(self) -> None:
        """Stop receiving and release connections. Idempotent."""

    async def send(self, message: OutboundMessage) -> None:
        """Deliver ``message`` to ``message.ref`` (in its thread). Raises ``ChannelError``."""


@runtime_checkable
class Connected(Protocol):
    """An adapter capability: whether its platform connection is up right now (readiness and
    the ``frontdesk_channel_connected`` gauge). An adapter without it counts as connected
    while it is started."""

    @property
    def connected(self) -> bool: ...


@runtime_checkable
class Suppressing(Protocol):
    """A channel capability: how many inbound messages it deliberately did not pass on, by
    reason (auto-replies, bounces, spam, rate limit), since this process started
    (``frontdesk_suppressed_total``)."""

    @property
    def suppressed(self) -> Mapping[str, int]: ...


@runtime_checkable
class SplitsMessages(Protocol):
    """A channel capability: the platform caps a message's length. ``split`` returns the parts
    ``send`` then delivers with one platform call each (the first may carry the sender's name,
    the others not). The dispatcher stores the parts in the outbox and records progress per
    part, so a retry resumes at the part that failed instead of repeating the ones before."""

    def split(self, message: OutboundMessage) -> list[OutboundMessage]: ...


@dataclass(frozen=True, slots=True)
class EscalationCard:
    """What a desk shows agents about one ticket; built by the bot, rendered by the desk."""

    ticket_id: str
    origin: ConversationRef
    customer: Author
    status: str  # escalated | claimed | resolved | handed_back
    reasons: tuple[str, ...]
    summary: str
    transcript: tuple[str, ...] = ()
    category: str | None = None
    urgency: str | None = None  # low | normal | high | urgent
    sentiment: float | None = None
    agent: str | None = None
    repage: int = 0  # 0 = first page; n = n-th SLA re-page (louder)
    handle_time_s: float | None = None  # set once resolved
    origin_link: str | None = None
    claimant: str | None = None  # the claiming agent's identity (``agent`` is the shown name)
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class HomeView:
    """What the desk's home view shows (Slack App Home)."""

    open_tickets: tuple[EscalationCard, ...]
    created_at: tuple[datetime, ...]  # one per open ticket, for its age
    stats: tuple[tuple[str, str], ...]  # (label, value) for today


@runtime_checkable
class Desk(Protocol):
    """Where humans see escalations and act on them (Slack channel, terminal desk)."""

    name: str

    async def start(self, handler: DeskHandler) -> None: ...

    async def stop(self) -> None: ...

    async def page(self, card: EscalationCard, thread_of: str | None = None) -> str:
        """Post a new card and return its desk ref. A re-page (``card.repage > 0``) passes the
        card's ref as ``thread_of``: the louder reminder goes in its thread."""

    async def update(self, desk_ref: str, card: EscalationCard) -> None:
        """Redraw the card at ``desk_ref`` (claimed by, resolved, handed back)."""

    async def relay(self, desk_ref: str, author: Author, text: str) -> None:
        """Show a customer's follow-up message in the ticket's thread."""

    async def alert(self, text: str) -> None:
        """Tell the agents something operational (budget spent, provider down)."""


@runtime_checkable
class HomeDesk(Desk, Protocol):
    """A desk with a per-user home view (Slack App Home). Only agents get tickets in it."""

    async def show_home(self, user_id: str, view: HomeView | None) -> None:
        """Render ``view`` for one user; None: the neutral page a non-agent sees."""


class DeskBackend(Protocol):
    """The desk path as a desk without a live connection sees it (the terminal desk): the bot
    builds it on its store; every action goes through the same checks as a live desk's."""

    async def handle(self, event: DeskEvent) -> DeskFeedback: ...

    async def open_cards(self) -> list[EscalationCard]:
        """Open tickets, oldest first."""

    async def ticket_card(self, ticket_id: str) -> EscalationCard | None:
        """One ticket with its whole conversation since the last hand-back, timestamped."""


@runtime_checkable
class FiniteChannel(Channel, Protocol):
    """A channel whose input can end (piped stdin): ``finished`` is set at end of input."""

    finished: asyncio.Event


class SharedStorage(Protocol):
    """The part of the bot's store an adapter may use for its own durable state (a mailbox's
    position, a sent-mail ledger) and for singleton work (one reader per mailbox)."""

    async def kv_get(self, key: str) -> str | None: ...

    async def kv_set(self, key: str, value: str, ttl_s: float | None = None) -> None: ...

    def lock(self, name: str) -> AbstractAsyncContextManager[object]: ...


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One entry of a store's append-only log (``Store.log_append``): its number in the log
    (1, 2, ...), its id (unique in the log) and the value the writer gave. ``log`` names the
    log; an entry with an empty ``log`` from ``log_follow`` means "entries may have been
    missed here": a follower re-reads what it needs."""

    log: str
    seq: int
    entry_id: str
    value: str


@runtime_checkable
class StoreBound(Protocol):
    """An adapter capability: ``use_store`` receives the bot's store before it connects."""

    def use_store(self, store: SharedStorage) -> None: ...


@dataclass(frozen=True, slots=True)
class Part:
    """One line of ``frontdesk check``: a channel, desk, provider or store, on or off, and why."""

    kind: str
    name: str
    enabled: bool
    why: str


@dataclass(frozen=True, slots=True)
class Streams:
    """The process's own terminal, for adapters that talk through it (the terminal channel)."""

    stdin: TextIO | None = None
    stdout: TextIO | None = None


@runtime_checkable
class Adapter(Protocol):
    """What one platform package builds from the settings (``channels.<platform>.build``).

    The app starts every desk and channel (they register their handlers), then enters the
    adapter's context, which connects to the platform (Slack's shared Bolt app, the Discord
    gateway, the IMAP mailbox); leaving it disconnects. Building never connects: ``frontdesk
    check`` builds enabled adapters only to ``describe`` them.
    """

    name: str
    channels: Sequence[Channel]
    desks: Sequence[Desk]

    def connection(self) -> AbstractAsyncContextManager[None]:
        """Connect on enter (after channels and desks started), disconnect on exit."""

    def describe(self) -> list[Part]:
        """What ``frontdesk check`` prints for this platform: each part, on or off, and why."""


@dataclass(frozen=True, slots=True)
class HttpEndpoint:
    """Where a platform's requests come in over HTTP (Slack's Events API request URL): the
    address the adapter would listen on, and the aiohttp handler for ``method`` ``path``."""

    host: str
    port: int
    method: str
    path: str
    handler: Callable[[Any], Awaitable[Any]]  # aiohttp: web.Request -> web.StreamResponse


@runtime_checkable
class ServesHttp(Protocol):
    """An adapter capability: it receives on an HTTP endpoint of its own (``http_endpoint``,
    None when it does not, e.g. Slack in Socket Mode). When the bot's ops server listens on
    the same host and port, the bot mounts the handler there and calls ``serve_shared``
    before connecting: the adapter then opens no server of its own (one port to expose)."""

    def http_endpoint(self) -> HttpEndpoint | None: ...

    def serve_shared(self) -> None: ...


# -- events the bot raises, and the services the web channel asks the bot for --------------
@dataclass(frozen=True, slots=True)
class BotEvent:
    """Something that happened in a conversation, for systems around support (webhooks).

    ``kind`` is one of ``config.settings.WEB_EVENTS``; ``event_id`` is stable across a
    redelivery of the same happening (receivers de-duplicate on it); ``data`` is plain JSON."""

    kind: str
    event_id: str
    ref: ConversationRef
    data: Mapping[str, Any]
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@runtime_checkable
class EventSink(Protocol):
    """An adapter capability: hears every ``BotEvent`` (the web adapter queues webhooks).
    ``emit`` must be quick and must not raise for a receiver that is down."""

    async def emit(self, event: BotEvent) -> None: ...


@dataclass(frozen=True, slots=True)
class FaqHit:
    entry_id: str
    title: str
    answer: str
    score: float


@dataclass(frozen=True, slots=True)
class TicketInfo:
    """A ticket as the API shows it."""

    ticket_id: str
    status: str
    ref: ConversationRef
    customer: Author
    reasons: tuple[str, ...]
    summary: str
    agent: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    role: str  # customer | bot | agent | note | system
    text: str
    at: datetime


class WebServices(Protocol):
    """What the bot offers the web channel's API (built in ``bot/web_services.py``)."""

    async def search_faq(self, query: str, limit: int) -> list[FaqHit]: ...

    async def list_tickets(self, statuses: Sequence[str]) -> list[TicketInfo]:
        """Tickets in ``statuses`` (empty: every open one), oldest first."""

    async def transcript(self, ref: ConversationRef) -> list[TranscriptLine]:
        """The conversation as the bot keeps it (internal notes included: admins only)."""

    async def stats(self, days: int) -> list[tuple[str, dict[str, float]]]:
        """(ISO date, counters) for the last ``days`` days, oldest first."""

    async def escalate(self, ref: ConversationRef, customer: Author, reason: str) -> TicketInfo:
        """Open (or return the open) ticket for the conversation and page every desk."""


@runtime_checkable
class ServiceBound(Protocol):
    """An adapter capability: ``bind`` receives the bot's services before anything starts."""

    def bind(self, services: WebServices) -> None: ...
