"""The brain's single entry point: one customer message in, one ``Decision`` out.

    state -> classify -> retrieve -> answer (provider) -> escalation policy -> Decision

It runs under the dispatcher's per-conversation lock, so it may read and write the
conversation's state without racing other messages of the same conversation. Desk actions
(claim, resolve) do not take that lock; the handler therefore re-checks ownership before it
releases a reply, and throws the draft away if a human took over meanwhile.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TypeVar, TypeVarTuple

from brain import replies
from brain.classify import Classification, Classifier
from brain.conversation import card_for, since_reset
from brain.decision import Decision, DecisionKind
from brain.entries import KnowledgeEntry
from brain.escalation import Facts, Policy, Reason, explain, is_vip, reasons
from brain.knowledge import KnowledgeBase
from brain.playbook import Intent, Playbook, Urgency
from brain.providers.base import Answer, AnswerRequest, Passage, Provider
from brain.router import choose_tier
from brain.store.base import (
    Conversation,
    Store,
    Ticket,
    TicketStatus,
    Turn,
    TurnContext,
    TurnStart,
    new_turn,
    utcnow,
)
from brain.store.state import SharedState
from channels.base import Author, InboundMessage
from channels.frozen import builder, constructor
from config.errors import ProviderError

logger = logging.getLogger(__name__)

INTENT_AGREEMENT_BONUS = 0.15
TRANSCRIPT_TURNS = 8
# Texts up to this long are classified and searched on the event loop (``Brain._cpu``): at most
# about 3 ms of CPU with the lexical models, measured on 200 characters of a real complaint.
INLINE_CHARS = 200
STILL_WAITING_S = 300.0
BOT_AUTHOR = Author(id="frontdesk", display_name="Frontdesk (bot)", is_bot=True)
_NOTICE = "waiting"  # turn-id suffix of "still with the team" notes
T = TypeVar("T")
Ts = TypeVarTuple("Ts")


@dataclass(frozen=True, slots=True)
class BrainParts:
    store: Store
    knowledge: KnowledgeBase
    classifier: Classifier
    answerer: Provider
    policy: Policy
    still_waiting_s: float = STILL_WAITING_S
    """While a ticket waits unclaimed: at most one "still with the team" note per this long."""


class Brain:
    def __init__(self, parts: BrainParts) -> None:
        self.store = parts.store
        self.knowledge = parts.knowledge
        self.classifier = parts.classifier
        self.answerer = parts.answerer
        self.policy = parts.policy
        self.still_waiting_s = parts.still_waiting_s
        # The playbook's intents by name, for the playbook they were read from (``_intent``).
        self._playbook: Playbook | None = None
        self._intents: dict[str, Intent] = {}

    def reload(self, knowledge: KnowledgeBase, classifier: Classifier | None = None) -> None:
        """Swap in a freshly loaded knowledge base (and classifier) for the next message."""
        self.knowledge = knowledge
        if classifier is not None:
            self.classifier = classifier

    async def close(self) -> None:
        await self.answerer.close()

    async def handle(self, message: InboundMessage) -> Decision:
        """``decide``, and remember the bot's reply in the history (for a caller that keeps
        no outbox): unless a human took the conversation meanwhile, then the draft is dropped."""
        decision = await self.decide(message)
        if not decision.remember:
            return decision
        if (await self.store.open_ticket_for(message.ref.key)) is not None:
            # A human claimed the conversation while we were thinking: drop the draft.
            return Decision(DecisionKind.RELAY, ticket_id=None)
        for turn in decision.remember:
            await self.store.append_turn(message.ref, turn)
        return replace(decision, remember=())

    def turn_start(self, message: InboundMessage, entry_id: str) -> TurnStart:
        """What ``decide`` begins with (``Store.begin_turn``): the customer's turn and the
        settings it reads, for a caller that can do it with the conversation's lock."""
        text = message.text.strip()
        flags = (SharedState.paused_flag(message.ref.channel),)
        turn = new_turn(message.idempotency_key, "customer", text, utcnow())
        return _new_start(entry_id, message.ref, turn, flags)

    async def decide(self, message: InboundMessage, context: TurnContext | None = None) -> Decision:
        """The decision for ``message``; ``context`` is what ``turn_start`` asked for, if the
        caller read it already. The bot's own reply comes back with its turn in
        ``Decision.remember``, not yet written: the dispatcher writes it with the outbox record
        (one step that also drops the draft if a ticket was opened meanwhile)."""
        text = message.text.strip()
        paused_flag = SharedState.paused_flag(message.ref.channel)
        if context is None:  # one store round trip: the customer's turn in, the context out
            start = self.turn_start(message, "")
            context = await self.store.begin_turn(message.ref, start.turn, start.flags)
        if not text:
            return Decision(DecisionKind.SILENT)
        owner, conversation = context.open_ticket, context.conversation
        if owner is not None and owner.status is not TicketStatus.ESCALATED:
            return await self._relay(message, owner, conversation)
        # ``owner`` is now None or a ticket still waiting for a person: the bot keeps talking.
        turns = since_reset(conversation.turns if conversation else ())
        classification = await self._cpu(
            self.classifier.model.embedder is None, self.classifier.classify, text
        )
        paused = context.flags.get(paused_flag) is not None
        # Reasons that do not depend on an answer (a request for a person, a sensitive topic,
        # a paused channel, ...) hand over at once: no LLM call is spent on a draft nobody sees.
        # (A full confidence stands in for the answer, so only those reasons can fire.)
        facts = _facts(message, classification, turns, answer_confidence=1.0, paused=paused)
        found = reasons(self.policy, facts)
        answer = None
        if not found:
            answer = await self._answer(message, classification, turns)
            facts = _with_answer(facts, answer)
            found = reasons(self.policy, facts)
        if owner is not None:
            return await self._while_waiting(
                message, owner, classification, found, answer, conversation
            )
        if found:
            whys = explain(self.policy, facts, found)
            decision = await self._escalate(message, classification, found, answer, turns, whys)
            await self._remember(message, decision)
            return replace(decision, intent=classification.intent)
        assert answer is not None
        return _new_decision(
            DecisionKind.REPLY, text=answer.text, sources=answer.sources,
            confidence=answer.confidence, category=classification.category,
            intent=classification.intent, remember=(_bot_turn(message, answer.text),),
        )  # fmt: skip

    async def _answer(
        self, message: InboundMessage, classification: Classification, turns: Sequence[Turn]
    ) -> Answer | None:
        text = message.text.strip()
        intent = self._intent(classification.intent or "")
        if intent is not None and intent.reply:
            return Answer(intent.reply, classification.confidence, provider="playbook")
        related = set(intent.kb) if intent is not None else set()
        hits = await self._cpu(not self.knowledge.semantic, self.knowledge.search, text, 3)
        passages = sorted(
            (self._passage(hit.entry, hit.score, hit.entry.id in related) for hit in hits),
            key=lambda p: p.score,
            reverse=True,
        )  # fmt: skip
        request = _new_request(
            question=text,
            language=classification.language,
            passages=tuple(passages),
            history=tuple(turns[-TRANSCRIPT_TURNS - 1 : -1]),  # the last turn is the question
            intent=classification.intent,
            tier=choose_tier(classification, is_vip(self.policy, message.author)),
            urgent=classification.urgency >= Urgency.URGENT,
            conversation_key=message.ref.key,
            kb_version=self.knowledge.version,
        )
        try:
            return await self.answerer.answer(request)
        except ProviderError:
            logger.exception("no provider could answer")
            return None

    def _intent(self, name: str) -> Intent | None:
        """``Playbook.get(name)`` by a dict: ``get`` scans every intent, for every message
        answered. Read again when a reload brings another playbook (a frozen value: the same
        object always has the same intents); the first of a name wins, as in ``get``."""
        playbook = self.classifier.playbook
        if playbook is not self._playbook:
            intents: dict[str, Intent] = {}
            for intent in playbook.intents:
                intents.setdefault(intent.name, intent)
            self._playbook, self._intents = playbook, intents
        return self._intents.get(name)

    @staticmethod
    async def _cpu(lexical: bool, step: Callable[[str, *Ts], T], text: str, *args: *Ts) -> T:
        """``step(text, *args)``, a CPU-bound step: in a worker thread, where the interpreter
        switches threads every few milliseconds, so other conversations keep moving while a
        long message is read; on the loop for a short text read by the lexical models alone.
        Handing a step to a thread and back costs about 0.35 ms of CPU on a 2-core VM (two
        wake-ups and the interpreter lock changing hands), as much as the step itself for a
        short message: with both steps on the loop, ``bench/pipeline.py`` went from 485 to 737
        messages a second. An embedding model always runs in the worker: it releases the
        lock, so it runs beside the loop."""
        if lexical and len(text) <= INLINE_CHARS:
            return step(text, *args)
        return await asyncio.to_thread(step, text, *args)

    @staticmethod
    def _passage(entry: KnowledgeEntry, score: float, intent_agrees: bool) -> Passage:
        # When the classifier's intent lists this entry, two signals agree: trust it more.
        bonus = INTENT_AGREEMENT_BONUS if intent_agrees else 0.0
        score = min(1.0, score + bonus)
        return _new_passage(entry.id, entry.title, entry.answer, score, entry.translations)

    async def _relay(
        self, message: InboundMessage, ticket: Ticket, conversation: Conversation | None
    ) -> Decision:
        """A human owns the conversation: acknowledge once, then only pass messages on."""
        turns = conversation.turns if conversation else ()
        acknowledged = any(t.role == "bot" and t.at >= ticket.created_at for t in turns)
        if acknowledged:
            return Decision(DecisionKind.RELAY, ticket_id=ticket.id)
        language = self.classifier.language.detect(message.text)
        decision = Decision(
            DecisionKind.RELAY, text=replies.waiting(language, ticket.id), ticket_id=ticket.id
        )
        await self._remember(message, decision)
        return decision

    async def _while_waiting(
        self,
        message: InboundMessage,
        ticket: Ticket,
        classification: Classification,
        found: tuple[Reason, ...],
        answer: Answer | None,
        conversation: Conversation | None,
    ) -> Decision:
        """The ticket waits unclaimed: a confident knowledge-base answer to a new question
        still goes out (and into the ticket's thread); anything else, including the escalated
        question asked again, waits for the person, with a short note now and then."""
        current = await self.store.open_ticket_for(message.ref.key)
        if current is None or current.id != ticket.id or current.epoch != ticket.epoch:
            # Claimed (or closed) while we were thinking: the draft belongs to an older owner.
            if current is not None:
                return await self._relay(message, current, conversation)
            return Decision(DecisionKind.RELAY, ticket_id=ticket.id)
        if not found and answer is not None and answer.sources and answer.provider != "playbook":
            text = message.text.strip()
            decision = Decision(
                DecisionKind.REPLY, text=answer.text, ticket_id=ticket.id, sources=answer.sources,
                confidence=answer.confidence,
                thread=((message.author, text), (BOT_AUTHOR, answer.text)),
            )  # fmt: skip
            await self._remember(message, decision)
            return decision
        if self._noted_recently(ticket, conversation):
            return Decision(DecisionKind.RELAY, ticket_id=ticket.id)
        note = replies.still_waiting(classification.language, ticket.id)
        decision = Decision(DecisionKind.RELAY, text=note, ticket_id=ticket.id)
        await self._remember(message, decision, suffix=_NOTICE)
        return decision

    def _noted_recently(self, ticket: Ticket, conversation: Conversation | None) -> bool:
        since = max(ticket.created_at, utcnow() - timedelta(seconds=self.still_waiting_s))
        return any(
            t.role == "bot" and t.turn_id.endswith(f":{_NOTICE}") and t.at >= since
            for t in (conversation.turns if conversation else ())
        )

    async def _escalate(
        self,
        message: InboundMessage,
        classification: Classification,
        found: tuple[Reason, ...],
        answer: Answer | None,
        turns: Sequence[Turn],
        whys: dict[str, str],
    ) -> Decision:
        details = {
            "why": whys,
            "intent": classification.intent or classification.top_intent,
            "category": classification.category,
            "urgency": classification.urgency.label,
            "sentiment": classification.sentiment,
            "language": classification.language,
            "confidence": answer.confidence if answer else None,
        }
        ticket, created = await self.store.open_ticket(
            message.ref, message.author, [r.value for r in found], message.text.strip()[:300],
            details,
        )  # fmt: skip
        await self.store.incr_many({f"escalations_{reason.value}": 1 for reason in found})
        logger.info("conversation %s escalated as %s: %s", message.ref.key, ticket.id,
                    ", ".join(r.value for r in found))  # fmt: skip
        text = replies.handoff(classification.language, ticket.id, Reason.HUMAN_REQUESTED in found)
        card = card_for(ticket, turns) if created else None
        return Decision(
            DecisionKind.ESCALATE, text=text, ticket_id=ticket.id, reasons=ticket.reasons,
            confidence=answer.confidence if answer else None, card=card,
            category=classification.category,
        )  # fmt: skip

    async def _remember(
        self, message: InboundMessage, decision: Decision, suffix: str = "bot"
    ) -> None:
        if decision.text:
            await self.store.append_turn(message.ref, _bot_turn(message, decision.text, suffix))


def _bot_turn(message: InboundMessage, text: str, suffix: str = "bot") -> Turn:
    return new_turn(f"{message.idempotency_key}:{suffix}", "bot", text, utcnow())


# Facts (twice) and passages (one per hit) are built for every message: by ``channels.frozen``
# (every field, in order), at half the cost of calling the class.
_new_facts: Callable[
    [str, Classification, float | None, Author, int, Sequence[str], bool, bool, bool, bool, bool],
    Facts,
] = builder(Facts)
_new_passage: Callable[[str, str, str, float, Mapping[str, str]], Passage] = builder(Passage)
# The request, the reply and the turn's start of every message answered: the class's own call
# (same parameters and defaults) by ``channels.frozen.constructor``, at half the cost.
_new_request = constructor(AnswerRequest)
_new_decision = constructor(Decision)
_new_start = constructor(TurnStart)


def _facts(
    message: InboundMessage,
    classification: Classification,
    turns: Sequence[Turn],
    answer_confidence: float | None,
    paused: bool,
) -> Facts:
    answered = [
        turn.text
        for turn, following in itertools.pairwise(turns)
        if turn.role == "customer" and following.role == "bot"
    ]
    return _new_facts(
        message.text.strip(),  # text
        classification,
        answer_confidence,
        message.author,  # customer
        sum(1 for t in turns if t.role == "customer"),  # customer_turns
        answered,  # previous_answered
        paused,  # channel_paused
        message.oversize,
        False,  # llm_frustrated: no answer drafted yet (nor the next two)
        False,  # llm_urgent
        False,  # llm_wants_human
    )


def _with_answer(facts: Facts, answer: Answer | None) -> Facts:
    """``facts`` with what the drafted ``answer`` adds. Spelled out rather than ``replace``:
    every message that gets an answer passes here, and ``replace`` first reads every field
    back through a loop over ``fields()``."""
    return _new_facts(
        facts.text,
        facts.classification,
        _confidence(answer),  # answer_confidence
        facts.customer,
        facts.customer_turns,
        facts.previous_answered,
        facts.channel_paused,
        facts.oversize,
        answer is not None and answer.frustrated,  # llm_frustrated
        answer is not None and answer.urgent,  # llm_urgent
        answer is not None and answer.wants_human,  # llm_wants_human
    )


def _confidence(answer: Answer | None) -> float | None:
    """None: no provider could answer at all. ``needs_human``: it found nothing to say."""
    if answer is None:
        return None
    return 0.0 if answer.needs_human else answer.confidence
