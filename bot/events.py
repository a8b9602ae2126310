"""Events for the systems around support (``BotEvent``), raised where they happen in the bot
(the dispatcher's deliveries, the desk hub's ticket moves) and handed to every adapter that
listens (``EventSink``: the web adapter queues them as webhooks).

Event ids are derived from what happened (ticket, epoch, status; the outbound message), so a
redelivery after a crash raises the same id and receivers can drop the repeat."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from brain.store.base import Ticket
from channels.base import BotEvent, EscalationCard, EventSink, InboundMessage, OutboundMessage

logger = logging.getLogger(__name__)


class Events:
    def __init__(self, sinks: Sequence[EventSink] = ()) -> None:
        self.sinks = tuple(sinks)

    async def emit(self, event: BotEvent) -> None:
        for sink in self.sinks:
            try:
                await sink.emit(event)
            except Exception:
                logger.exception("could not hand event %s to %r", event.event_id, sink)

    async def escalated(self, card: EscalationCard) -> None:
        if not self.sinks:  # no listener: nothing to build (see ``message_sent``)
            return
        data = {
            "ticket": {"id": card.ticket_id, "status": card.status, "reasons": list(card.reasons),
                       "summary": card.summary, "urgency": card.urgency},
            "customer": {"id": card.customer.id, "name": card.customer.display_name},
        }  # fmt: skip
        event_id = f"ticket:{card.ticket_id}:escalated"
        await self.emit(BotEvent("ticket.escalated", event_id, card.origin, data))

    async def ticket_moved(self, ticket: Ticket) -> None:
        """``ticket.claimed`` / ``ticket.resolved`` for a ticket that just got there."""
        if not self.sinks:
            return
        kind = {"claimed": "ticket.claimed", "resolved": "ticket.resolved"}.get(ticket.status)
        if kind is None:
            return
        data = {
            "ticket": {"id": ticket.id, "status": str(ticket.status), "agent": ticket.agent,
                       "agent_name": ticket.owner_name, "reasons": list(ticket.reasons)},
            "customer": {"id": ticket.customer.id, "name": ticket.customer.display_name},
        }  # fmt: skip
        event_id = f"ticket:{ticket.id}:{ticket.epoch}:{ticket.status}"
        await self.emit(BotEvent(kind, event_id, ticket.ref, data))

    async def message_sent(self, message: OutboundMessage, event_id: str) -> None:
        # Every delivered message passes here; without a listener (no web adapter) the event
        # would be built only to be dropped.
        if not self.sinks:
            return
        data = {
            "message": {"text": message.text, "sender": "agent" if message.sender_name else "bot",
                        "agent_name": message.sender_name, "in_reply_to": message.in_reply_to},
        }  # fmt: skip
        await self.emit(BotEvent("message.created", f"msg:{event_id}", message.ref, data))

    async def csat_received(
        self, message: InboundMessage, rating: int, comment: str | None
    ) -> None:
        """``csat.received``: the customer's 1-5 rating (and masked comment) after a resolve."""
        if not self.sinks:
            return
        data = {
            "csat": {"rating": rating, "comment": comment},
            "customer": {"id": message.author.id, "name": message.author.display_name},
        }
        event_id = f"csat:{message.idempotency_key}"
        await self.emit(BotEvent("csat.received", event_id, message.ref, data))
