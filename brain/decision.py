"""What the brain decided to do with one customer message."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from brain.store.base import Turn
from channels.base import Author, EscalationCard, RatingRequest


class DecisionKind(enum.StrEnum):
    REPLY = "reply"  # the bot answers
    ESCALATE = "escalate"  # a ticket was opened; ``text`` acknowledges it to the customer
    RELAY = "relay"  # a human owns the conversation; the message goes to them, not the bot
    SILENT = "silent"  # nothing to say (e.g. an empty message)


@dataclass(frozen=True, slots=True)
class Decision:
    kind: DecisionKind
    text: str | None = None
    ticket_id: str | None = None
    reasons: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    confidence: float | None = None
    card: EscalationCard | None = None
    """Set when agents must be paged about a new ticket."""
    category: str | None = None
    """The classifier's category of the question (a channel may label the thread with it)."""
    thread: tuple[tuple[Author, str], ...] = ()
    """Lines to show in ticket ``ticket_id``'s thread on every desk (``DeskHub.relay``), in
    order: set on a REPLY the bot gave while the ticket waits unclaimed (the customer's new
    question, then the bot's answer), so agents see what the customer was already told."""
    intent: str | None = None  # the classifier's intent, for analytics (top intents)
    remember: tuple[Turn, ...] = ()
    """The bot's turns, not yet in the history: set on the bot's own REPLY (no ticket) by
    ``Brain.decide``, whose caller writes them with the outbox record in one step, and only
    while the conversation still has no open ticket (``Store.outbox_put_reply``)."""
    rating: RatingRequest | None = None
    """Rating buttons to show under ``text`` where the channel has them (the CSAT question)."""
