"""What operators and support leads learn from the message and desk paths, in one object.

The dispatcher, the desk hub and the router each hold one ``Observer`` (injected, default a
quiet one) and call it at the points where things happen; it turns those calls into Prometheus
metrics (when the metrics server is on), analytics facts (``brain.store.facts``), knowledge
gaps and the CSAT question after a resolve. A failure here is logged and never reaches the
customer's path: measuring must not break answering.

``CsatResponder`` wraps the brain: it takes a customer's 1-5 rating out of the conversation
before the brain sees it, and asks for one when the customer says the bot's answer helped.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass
from typing import Any, Protocol

from bot.events import Events
from bot.metrics import Metrics
from bot.tracing import record_llm_span
from brain.conversation import DeskResult
from brain.decision import Decision, DecisionKind
from brain.redact import Redactor
from brain.router import LLMCall
from brain.store.base import Store, Turn, utcnow
from brain.store.facts import Facts, Gap
from channels.base import DeskAction, DeskEvent, InboundMessage, OutboundMessage, QueueItem

logger = logging.getLogger(__name__)

CSAT_QUESTION = (
    "How did we do? Reply with a number from 1 (poor) to 5 (excellent); "
    "a comment after the number is welcome."
)
CSAT_THANKS = "Thank you for your rating!"
# Escalated because the bot had no good answer: what the knowledge-gap loop learns from.
GAP_REASONS = frozenset({"low_confidence", "out_of_scope", "no_answer"})
# The sample playbook's intent for "thanks, that solved it": the customer says the bot helped.
HELPED_INTENTS = frozenset({"thanks_goodbye"})
_RATING = re.compile(
    r"^\s*([1-5])(?:\s*(?:/\s*5|stars?|of\s+5))?(?![.,]\d)(?:[\s,.:;!)\-–]+(.*))?$",
    re.IGNORECASE | re.DOTALL,
)


def parse_rating(text: str) -> tuple[int, str] | None:
    """``"4"``, ``"5/5 great"``, ``"3 - slow but ok"`` -> (rating, comment); else None."""
    match = _RATING.match(text)
    if match is None:
        return None
    return int(match.group(1)), (match.group(2) or "").strip()


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
        known = await self.facts.get(key, "reopened", "csat_answer")
        if known.reopened is not None:
            return
        if known.csat_answer == message.idempotency_key:
            return  # the rating we asked for is not a new request
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
                question = OutboundMessage(
                    ref=ticket.ref, text=CSAT_QUESTION, message_id=f"{ticket.id}:csat"
                )
                await self.store.enqueue(question)

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


class _Brain(Protocol):
    async def handle(self, message: InboundMessage) -> Decision: ...


class CsatResponder:
    """The brain with the CSAT step around it (a ``bot.dispatch.Responder``)."""

    def __init__(self, brain: _Brain, observer: Observer, events: Events | None = None) -> None:
        self.brain = brain
        self.observer = observer
        self.events = events or Events()

    async def handle(self, message: InboundMessage) -> Decision:
        rated = await self._rating(message)
        if rated is not None:
            return rated
        decision = await self.brain.handle(message)
        if decision.kind is DecisionKind.REPLY and decision.intent in HELPED_INTENTS:
            return await self._helped(message, decision)
        return decision

    async def _rating(self, message: InboundMessage) -> Decision | None:
        """The customer's answer to our question, taken out of the conversation."""
        if not self.observer.config.csat:
            return None
        facts, key = self.observer.facts, message.ref.key
        if (await facts.get(key, "csat_asked")).csat_asked is None:
            return None
        if (await facts.get(key, "csat_answer")).csat_answer is not None:
            return None
        if await facts.store.open_ticket_for(key) is not None:
            return None  # a person has the conversation again: never in their way
        parsed = parse_rating(message.text)
        # Only the next message may answer: anything else closes the question for good.
        await facts.put(key, "csat_answer", message.idempotency_key if parsed else "-")
        if parsed is None:
            return None
        rating, comment = parsed
        await facts.put(key, "csat_rating", rating)
        if self.observer.metrics is not None:
            self.observer.metrics.rated(rating)
        await facts.put(key, "csat_rated", message.received_at)
        masked = self.observer.redactor.redact(comment).text if comment else None
        if masked:
            await facts.put(key, "csat_comment", masked)
        await self.events.csat_received(message, rating, masked)
        store, turn_id = facts.store, message.idempotency_key
        await store.append_turn(message.ref, Turn(turn_id, "customer", message.text))
        await store.append_turn(message.ref, Turn(f"{turn_id}:bot", "bot", CSAT_THANKS))
        return Decision(DecisionKind.REPLY, text=CSAT_THANKS)

    async def _helped(self, message: InboundMessage, decision: Decision) -> Decision:
        facts, key = self.observer.facts, message.ref.key
        known = await facts.get(key, "first_bot_reply", "resolved")
        if known.first_bot_reply is None:
            return decision  # "thanks" before the bot said anything: nothing was resolved
        if await facts.store.open_ticket_for(key) is not None:
            return decision  # a ticket still waits for a person: not the bot's to close
        if known.resolved is None and await facts.first(key, "resolved", utcnow()):
            await facts.put(key, "resolved_by", "bot")
        if await self.observer.ask_csat(key):
            return dataclasses.replace(decision, text=f"{decision.text}\n\n{CSAT_QUESTION}")
        return decision
