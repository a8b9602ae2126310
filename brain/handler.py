"""The brain's single entry point: one customer message in, one ``Decision`` out.

This first brain answers from the knowledge base when retrieval is confident and otherwise
opens a ticket for a teammate. It runs under the dispatcher's per-conversation lock, so it may
read and write the conversation's state without racing other messages of the conversation.
"""

from __future__ import annotations

import logging

from brain.decision import Decision, DecisionKind
from brain.knowledge import KnowledgeBase
from brain.store.base import Store, Ticket, Turn
from channels.base import EscalationCard, InboundMessage

logger = logging.getLogger(__name__)

HANDOFF_TEXT = (
    "I'm not sure I can answer that well, so I've passed your question to a teammate "
    "(reference {ticket}). They'll reply right here."
)
STILL_WAITING_TEXT = "A teammate will reply here (reference {ticket})."


class Brain:
    def __init__(self, store: Store, knowledge: KnowledgeBase, answer_threshold: float) -> None:
        self.store = store
        self.knowledge = knowledge
        self.answer_threshold = answer_threshold

    def reload(self, knowledge: KnowledgeBase) -> None:
        """Swap in a freshly loaded knowledge base (takes effect for the next message)."""
        self.knowledge = knowledge

    async def handle(self, message: InboundMessage) -> Decision:
        text = message.text.strip()
        await self.store.append_turn(message.ref, Turn(message.idempotency_key, "customer", text))
        if not text:
            return Decision(DecisionKind.SILENT)
        ticket = await self.store.open_ticket_for(message.ref.key)
        if ticket is not None:
            return Decision(DecisionKind.RELAY, ticket_id=ticket.id)
        hits = self.knowledge.search(text, k=3)
        best = hits[0] if hits else None
        if best is not None and best.score >= self.answer_threshold:
            decision = Decision(
                DecisionKind.REPLY,
                text=best.entry.answer,
                sources=(best.entry.id,),
                confidence=best.score,
            )
        else:
            decision = await self._escalate(message, "low_confidence", best.score if best else 0)
        await self._remember(message, decision)
        return decision

    async def _escalate(self, message: InboundMessage, reason: str, score: float) -> Decision:
        summary = message.text.strip()[:200]
        ticket, created = await self.store.open_ticket(
            message.ref, message.author, [reason], summary
        )
        logger.info(
            "escalated conversation %s as %s (%s, best score %.2f)",
            message.ref.key, ticket.id, reason, score,
        )  # fmt: skip
        template = HANDOFF_TEXT if created else STILL_WAITING_TEXT
        return Decision(
            DecisionKind.ESCALATE,
            text=template.format(ticket=ticket.id),
            ticket_id=ticket.id,
            reasons=ticket.reasons,
            confidence=score,
            card=_card(ticket) if created else None,
        )

    async def _remember(self, message: InboundMessage, decision: Decision) -> None:
        if decision.text:
            turn = Turn(f"{message.idempotency_key}:bot", "bot", decision.text)
            await self.store.append_turn(message.ref, turn)


def _card(ticket: Ticket) -> EscalationCard:
    return EscalationCard(
        ticket_id=ticket.id,
        origin=ticket.ref,
        customer=ticket.customer,
        status=ticket.status.value,
        reasons=ticket.reasons,
        summary=ticket.summary,
        transcript=(ticket.summary,),
    )
