"""CSAT: the customer's 1-5 rating after a resolve, taken out of the conversation.

``CsatResponder`` wraps the brain (a ``bot.dispatch.Responder``). The question
(``bot.observer.question``) is asked once per conversation (``Observer.ask_csat``): after an
agent resolves the ticket, or when the customer tells the bot its answer helped. The answer
comes back either

- typed, as the customer's next message ("4", "5/5 great", "3 - slow but ok"), on every
  channel; only the next message may answer, anything else closes the question for good; or
- pressed, on channels with buttons (``RatingRequest`` -> ``InboundMessage.rating``): a press
  is always an answer, never a question for the brain. It counts only while the question is
  open and at most ``PRESS_EXPIRES_S`` after it was asked (buttons stay in a chat's history
  forever); a late, second or ill-timed press gets a polite word and changes nothing. After a
  press, the customer's next message, within ``COMMENT_WINDOW_S`` and unless it asks something
  (a question mark), is taken as the comment.

A rating is never taken while a person owns the conversation again. Both ways record the
same facts, the ``csat.received`` event and the ``frontdesk_csat_ratings`` metric.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from typing import Protocol

from bot.events import Events
from bot.observer import Observer, question
from brain.decision import Decision, DecisionKind
from brain.store.base import Turn, utcnow
from channels.base import InboundMessage

logger = logging.getLogger(__name__)

CSAT_THANKS = "Thank you for your rating!"
CSAT_PRESSED = "Thank you for your rating! If you want to tell us more, just reply here."
CSAT_COMMENT_THANKS = "Thank you, we have passed that on. If you need anything else, just write."
CSAT_ALREADY = "We already have your rating for this conversation. Thank you!"
CSAT_CLOSED = "This rating question has closed. Thank you all the same!"
CSAT_NOT_NOW = "A member of our team is looking after your conversation now; no rating is needed."
PRESS_EXPIRES_S = 7 * 86400.0
COMMENT_WINDOW_S = 30 * 60.0
# The sample playbook's intent for "thanks, that solved it": the customer says the bot helped.
HELPED_INTENTS = frozenset({"thanks_goodbye"})
_RATING = re.compile(
    r"^\s*([1-5])(?:\s*(?:/\s*5|stars?|of\s+5))?(?![.,]\d)(?:[\s,.:;!)\-–]+(.*))?$",
    re.IGNORECASE | re.DOTALL,
)
_OPEN = "open"  # csat_follow_up: a press was recorded, its comment may follow
_CLOSED = "-"


def parse_rating(text: str) -> tuple[int, str] | None:
    """``"4"``, ``"5/5 great"``, ``"3 - slow but ok"`` -> (rating, comment); else None."""
    match = _RATING.match(text)
    if match is None:
        return None
    return int(match.group(1)), (match.group(2) or "").strip()


class _Brain(Protocol):
    async def handle(self, message: InboundMessage) -> Decision: ...


class CsatResponder:
    """The brain with the CSAT step around it (a ``bot.dispatch.Responder``)."""

    def __init__(self, brain: _Brain, observer: Observer, events: Events | None = None) -> None:
        self.brain = brain
        self.observer = observer
        self.events = events or Events()

    async def handle(self, message: InboundMessage) -> Decision:
        if message.rating is not None:
            return await self._pressed(message, message.rating)
        if self.observer.config.csat:
            known = await self.observer.facts.get(message.ref.key, "csat_asked", "csat_answer")
            if known.csat_asked is not None:  # else nothing to answer (most messages)
                answer = self._typed if known.csat_answer is None else self._comment
                taken = await answer(message)
                if taken is not None:
                    return taken
        decision = await self.brain.handle(message)
        if decision.kind is DecisionKind.REPLY and decision.intent in HELPED_INTENTS:
            return await self._helped(message, decision)
        return decision

    async def _typed(self, message: InboundMessage) -> Decision | None:
        """The customer's written answer to our open question, taken out of the conversation."""
        facts, key = self.observer.facts, message.ref.key
        if await facts.store.open_ticket_for(key) is not None:
            return None  # a person has the conversation again: never in their way
        parsed = parse_rating(message.text)
        # Only the next message may answer: anything else closes the question for good.
        await facts.put(key, "csat_answer", message.idempotency_key if parsed else _CLOSED)
        if parsed is None:
            return None
        await self._record(message, *parsed)
        return await self._answered(message, CSAT_THANKS)

    async def _pressed(self, message: InboundMessage, rating: int) -> Decision:
        """A rating button: recorded if the question is open, else a polite word."""
        if not self.observer.config.csat:
            return Decision(DecisionKind.REPLY, text=CSAT_CLOSED)  # buttons from before
        facts, key = self.observer.facts, message.ref.key
        known = await facts.get(key, "csat_asked", "csat_answer", "csat_rating")
        asked = known.csat_asked
        if asked is None:
            text = CSAT_CLOSED
        elif known.csat_answer is not None:
            text = CSAT_ALREADY if known.csat_rating is not None else CSAT_CLOSED
        elif (utcnow() - asked).total_seconds() > PRESS_EXPIRES_S:  # our clock, as asked
            text = CSAT_CLOSED
        elif await facts.store.open_ticket_for(key) is not None:
            text = CSAT_NOT_NOW
        else:
            await facts.put(key, "csat_answer", message.idempotency_key)
            await facts.put(key, "csat_follow_up", _OPEN)
            await self._record(message, rating, "")
            return await self._answered(message, CSAT_PRESSED)
        logger.info("csat: a press in %s not taken (%s)", key, text)
        return Decision(DecisionKind.REPLY, text=text)

    async def _comment(self, message: InboundMessage) -> Decision | None:
        """After a press, the customer's next message (soon enough) is the rating's comment."""
        facts, key = self.observer.facts, message.ref.key
        known = await facts.get(key, "csat_follow_up", "csat_rated")
        if known.csat_follow_up != _OPEN or known.csat_rated is None:
            return None
        late = (message.received_at - known.csat_rated).total_seconds() > COMMENT_WINDOW_S
        # A question is for the bot, not a remark about the service: it closes the comment.
        asks = "?" in message.text
        if late or asks or await facts.store.open_ticket_for(key) is not None:
            await facts.put(key, "csat_follow_up", _CLOSED)
            return None
        await facts.put(key, "csat_follow_up", message.idempotency_key)
        masked = self.observer.redactor.redact(message.text.strip()).text
        if masked:
            await facts.put(key, "csat_comment", masked)
        return await self._answered(message, CSAT_COMMENT_THANKS)

    async def _record(self, message: InboundMessage, rating: int, comment: str) -> None:
        facts, key = self.observer.facts, message.ref.key
        await facts.put(key, "csat_rating", rating)
        if self.observer.metrics is not None:
            self.observer.metrics.rated(rating)
        await facts.put(key, "csat_rated", message.received_at)
        masked = self.observer.redactor.redact(comment).text if comment else None
        if masked:
            await facts.put(key, "csat_comment", masked)
        await self.events.csat_received(message, rating, masked)

    async def _answered(self, message: InboundMessage, text: str) -> Decision:
        store, turn_id = self.observer.facts.store, message.idempotency_key
        await store.append_turn(message.ref, Turn(turn_id, "customer", message.text))
        await store.append_turn(message.ref, Turn(f"{turn_id}:bot", "bot", text))
        return Decision(DecisionKind.REPLY, text=text)

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
            text, buttons = question(message.author.id)
            return dataclasses.replace(decision, text=f"{decision.text}\n\n{text}", rating=buttons)
        return decision
