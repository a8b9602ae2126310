"""The bot's services for the web channel's API (``channels.base.WebServices``): knowledge
base search, tickets, transcripts, usage and manual escalation, on the store and brain the
running bot uses. Bound to the web adapter in ``bot.wiring.build_parts``."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from bot.desk_hub import DeskHub
from brain.conversation import card_for
from brain.handler import Brain
from brain.store.base import OPEN_STATUSES, Store, Ticket, TicketStatus, today
from channels.base import (
    Author,
    ConversationRef,
    FaqHit,
    TicketInfo,
    TranscriptLine,
)

logger = logging.getLogger(__name__)

MANUAL_REASON = "manual_request"


class BotWebServices:
    def __init__(self, store: Store, brain: Brain, hub: DeskHub) -> None:
        self.store = store
        self.brain = brain
        self.hub = hub

    async def search_faq(self, query: str, limit: int) -> list[FaqHit]:
        # The reloader swaps the brain's knowledge base: read it on every call.
        hits = self.brain.knowledge.search(query, k=limit)
        return [FaqHit(h.entry.id, h.entry.title, h.entry.answer, round(h.score, 4)) for h in hits]

    async def list_tickets(self, statuses: Sequence[str]) -> list[TicketInfo]:
        wanted = {TicketStatus(s) for s in statuses} if statuses else set(OPEN_STATUSES)
        return [info(t) for t in await self.store.list_tickets(wanted)]

    async def transcript(self, ref: ConversationRef) -> list[TranscriptLine]:
        conversation = await self.store.get_conversation(ref.key)
        turns = conversation.turns if conversation else ()
        return [TranscriptLine(t.role, t.text, t.at) for t in turns]

    async def stats(self, days: int) -> list[tuple[str, dict[str, float]]]:
        dates = [today() - timedelta(days=i) for i in range(days)][::-1]
        return [(d.isoformat(), await self.store.counters(d)) for d in dates]

    async def escalate(self, ref: ConversationRef, customer: Author, reason: str) -> TicketInfo:
        summary = reason.strip()[:300] or "The customer asked for a person."
        ticket, created = await self.store.open_ticket(ref, customer, [MANUAL_REASON], summary)
        if created:
            await self.store.incr(f"escalations_{MANUAL_REASON}")
            conversation = await self.store.get_conversation(ref.key)
            logger.info("conversation %s escalated by request as %s", ref.key, ticket.id)
            await self.hub.page(card_for(ticket, conversation.turns if conversation else ()))
        return info(ticket)


def info(ticket: Ticket) -> TicketInfo:
    return TicketInfo(
        ticket_id=ticket.id, status=str(ticket.status), ref=ticket.ref, customer=ticket.customer,
        reasons=ticket.reasons, summary=ticket.summary, agent=ticket.owner_name,
        created_at=ticket.created_at, updated_at=ticket.updated_at,
    )  # fmt: skip
