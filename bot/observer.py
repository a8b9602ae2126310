"""What operators and support leads learn from the message and desk paths, in one object.

The dispatcher, the desk hub and the router each hold one ``Observer`` (injected, default a
quiet one) and call it at the points where things happen; it turns those calls into Prometheus
metrics (when the metrics server is on), analytics facts (``brain.store.facts``), knowledge
gaps and the CSAT question (``question``) after a resolve. A failure here is logged and never
reaches the customer's path: measuring must not break answering. Taking the answer is
``bot.csat``'s.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot.metrics import Metrics
from bot.tracing import record_llm_span
from brain.conversation import DeskResult
from brain.decision import Decision, DecisionKind
from brain.redact import Redactor
from brain.router import LLMCall
from brain.store.base import Store, utcnow
from brain.store.facts import Facts, Gap
from channels.base import (
    DeskAction,
    DeskEvent,
    InboundMessage,
    OutboundMessage,
    QueueItem,
    RatingRequest,
)

logger = logging.getLogger(__name__)

# Escalated because the bot had no good answer: what the knowledge-gap loop learns from.
GAP_REASONS = frozenset({"low_confidence", "out_of_scope", "no_answer"})

# Asked once per conversation (``Observer.ask_csat``): here after an agent's resolve, by
# ``bot.csat`` when the customer says the bot's answer helped.
CSAT_QUESTION = (
    "How did we do? Reply with a number from 1 (poor) to 5 (excellent); "
    "a comment after the number is welcome."
)


def question(customer_id: str) -> tuple[str, RatingRequest]:
    """The CSAT question's text (every channel) and its buttons (where a channel has them)."""
    return CSAT_QUESTION, RatingRequest(customer_id=customer_id)


@dataclass(frozen=True, slots=True)
class ObserverConfig:
    csat: bool = True
    reopen_s: float = 7 * 86400.0


class Observer:
    def __init__(
        self,
        facts: Facts | None = None,
        metrics: Metrics | None = None,
        config: ObserverConfig | None = None,
        redactor: Redactor | None = None,
        tracer: Any = None,
    ) -> None:
        self._facts = facts
        self.tracer = tracer  # an OpenTelemetry tracer (bot/tracing.py), or None: no spans
        self.metrics = metrics
        self.config = config or ObserverConfig()
        self.redactor = redactor or Redactor()

    @property
    def facts(self) -> Facts:
        if self._facts is None:
            raise RuntimeError("this observer records no analytics")
        return self._facts

    @property
    def store(self) -> Store:
        return self.facts.store

    # -- the dispatcher ----------------------------------------------------------------------
    def received(self, message: InboundMessage) -> None:
        if self.metrics is not None:
            self.metrics.received(message.ref.channel)

    def duplicate(self) -> None:
        if self.metrics is not None:
            self.metrics.duplicate()

    async def decided(self, message: InboundMessage, decision: Decision) -> None:
        if self.metrics is not None:
            reasons = decision.reasons if decision.kind is DecisionKind.ESCALATE else ()
            self.metrics.decided(decision.kind.value, reasons)
        if self._facts is None:
            return
        try:
            await self._record_decision(message, decision)
        except Exception:
            logger.exception("could not record analytics for a decision")

    async def sent(self, outbound: OutboundMessage, cause: QueueItem) -> None:
        if self.metrics is None:
            return
        seconds = None
        if isinstance(cause, InboundMessage):
            seconds = (utcnow() - cause.received_at).total_seconds()
        self.metrics.replied(outbound.ref.channel, seconds)

    def llm(self, call: LLMCall) -> None:
        if self.tracer is not None:
            record_llm_span(self.tracer, call)
        if self.metrics is not None:
            tokens = {"input": call.input_tokens, "output": call.output_tokens}
            self.metrics.llm(call.provider, call.model, call.outcome, call.seconds, tokens,
                             call.cost_usd)  # fmt: skip

    async def _record_decision(self, message: InboundMessage, decision: Decision) -> None:
        key, facts, now = message.ref.key, self.facts, utcnow()
        if await facts.first(key, "started", message.received_at):
            await facts.put(key, "channel", message.ref.channel)
        if decision.intent:
            await facts.first(key, "intent", decision.intent)
            if self.metrics is not None:
                self.metrics.intent(decision.intent)
        await self._maybe_reopened(key, message)
        if decision.text and await facts.first(key, "first_bot_reply", now):
            started = (await facts.get(key, "started")).started
            if self.metrics is not None and started is not None:
                self.metrics.responded("bot", (now - started).total_seconds())
        escalated = decision.kind is DecisionKind.ESCALATE and decision.ticket_id
        if escalated and await facts.first(key, "escalated", now):
            ticket = await self.store.get_ticket(decision.ticket_id or "")
            await facts.put(key, "ticket", decision.ticket_id)
            await facts.put(key, "reasons", ticket.reasons if ticket else decision.reasons)
            await facts.put(key, "urgency", (ticket.urgency if ticket else None) or "normal")

    async def _maybe_reopened(self, key: str, message: InboundMessage) -> None:
        resolved = (await self.facts.get(key, "resolved")).resolved
        if resolved is None:
            return
        if message.rating is not None:
            return  # a rating button, pressed however late, is no new request
        known = await self.facts.get(key, "reopened", "csat_answer", "csat_follow_up")
        if known.reopened is not None:
            return
        if message.idempotency_key in (known.csat_answer, known.csat_follow_up):
            return  # the rating we asked for (or its comment) is not a new request
        gap = (message.received_at - resolved).total_seconds()
        if 0 < gap <= self.config.reopen_s:
            await self.facts.put(key, "reopened", message.received_at)

    # -- the desk hub ----------------------------------------------------------------------
    async def desk_done(self, event: DeskEvent, result: DeskResult) -> None:
        """After a desk action was applied (and its messages queued)."""
        if not result.ok or result.ticket is None or self._facts is None:
            return
        try:
            await self._record_desk(event, result)
        except Exception:
            logger.exception("could not record analytics for %s on %s", event.action,
                             result.ticket.id)  # fmt: skip

    async def _record_desk(self, event: DeskEvent, result: DeskResult) -> None:
        assert result.ticket is not None
        ticket, now, facts = result.ticket, utcnow(), self.facts
        key = ticket.ref.key
        if event.action is DeskAction.CLAIM:
            await facts.first(key, "claimed", now)
        elif event.action is DeskAction.REPLY and result.outbound:
            escalated = (await facts.get(key, "escalated")).escalated
            first = await facts.first(key, "first_agent_reply", now)
            if first and self.metrics is not None and escalated is not None:
                self.metrics.responded("human", (now - escalated).total_seconds())
            await facts.put(key, "agent_reply", self.redactor.redact(event.text.strip()).text)
        elif event.action is DeskAction.HAND_BACK:
            await facts.first(key, "handed_back", now)
        elif event.action is DeskAction.RESOLVE:
            if await facts.first(key, "resolved", now):
                await facts.put(key, "resolved_by", "agent")
            await self._gap(event, result)
            if await self.ask_csat(key):
                text, buttons = question(ticket.customer.id)
                asking = OutboundMessage(ref=ticket.ref, text=text, message_id=f"{ticket.id}:csat",
                                         rating=buttons)  # fmt: skip
                await self.store.enqueue(asking)

    async def _gap(self, event: DeskEvent, result: DeskResult) -> None:
        ticket = result.ticket
        assert ticket is not None
        if not GAP_REASONS.intersection(ticket.reasons):
            return
        answer = (await self.facts.get(ticket.ref.key, "agent_reply")).agent_reply
        if not answer:
            return  # resolved without telling the customer anything: nothing to learn
        gap = Gap(
            id=ticket.id,
            question=self.redactor.redact(ticket.summary).text,
            answer=answer,
            intent=ticket.details.get("intent"),
            reasons=ticket.reasons,
            at=utcnow(),
            channel=ticket.ref.channel,
            agent=ticket.owner_name or event.agent.id,
        )
        await self.facts.add_gap(gap)

    async def ask_csat(self, key: str) -> bool:
        """True (once per conversation) if the customer should now be asked for a rating."""
        if not self.config.csat or self._facts is None:
            return False
        return await self.facts.first(key, "csat_asked", utcnow())
