"""The agents' side: what a desk user did (``DeskEvent`` with its ``Role``), what the bot
answers them (``DeskFeedback``), what a desk shows (``EscalationCard``, ``HomeView``) and the
``Desk`` protocols (with the optional home view, and ``DeskBackend`` for a desk without a
live connection)."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from channels.messages import Author, ConversationRef


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

    UNKNOWN = -1
    """The platform could not say (Discord's member lookup failing): refused as ``NONE`` is,
    with an answer of its own, and never taken for an agent."""
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


DeskHandler = Callable[[DeskEvent], Awaitable[DeskFeedback]]


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
