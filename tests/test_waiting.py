"""While a ticket waits unclaimed the customer is never left in silence (issue 10)."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import replace

from brain.conversation import Ownership
from brain.decision import DecisionKind
from brain.handler import Brain
from brain.store.base import Store
from channels.base import Author, ConversationRef, InboundMessage
from tests.conftest import BrainFactory

_ids = itertools.count(1)
ROBIN = Author(id="cust-1", display_name="Robin")
UNANSWERABLE = "My grandmother's antique clock from your shop keeps chiming at odd hours"


def says(text: str) -> InboundMessage:
    return InboundMessage(
        ref=ConversationRef(channel="fake", conversation_id="waiting"),
        message_id=f"w{next(_ids)}",
        author=ROBIN,
        text=text,
    )


async def _handed_over(brain: Brain) -> str:
    decision = await brain.handle(says(UNANSWERABLE))
    assert decision.kind is DecisionKind.ESCALATE, decision
    assert "low_confidence" in decision.reasons or "out_of_scope" in decision.reasons
    assert decision.ticket_id is not None
    return decision.ticket_id


async def test_confident_answers_still_go_out_and_reach_the_thread(
    store: Store, make_brain: BrainFactory
) -> None:
    brain = make_brain(store)
    ticket_id = await _handed_over(brain)
    decision = await brain.handle(says("How do I return an item?"))
    assert decision.kind is DecisionKind.REPLY
    assert decision.text is not None and "30 days" in decision.text
    assert decision.ticket_id == ticket_id
    assert [text for _, text in decision.thread] == ["How do I return an item?", decision.text]
    assert decision.thread[0][0] == ROBIN and decision.thread[1][0].is_bot
    ticket = await store.get_ticket(ticket_id)
    assert ticket is not None and ticket.is_open  # the escalated question still waits


async def test_anything_else_gets_a_still_with_the_team_note_at_most_every_few_minutes(
    store: Store, make_brain: BrainFactory
) -> None:
    brain = make_brain(store)
    ticket_id = await _handed_over(brain)
    first = await brain.handle(says("hello? anyone?"))
    assert first.kind is DecisionKind.RELAY and first.ticket_id == ticket_id
    assert first.text is not None and "still with the team" in first.text
    assert ticket_id in first.text
    again = await brain.handle(says("hello??"))
    assert again.kind is DecisionKind.RELAY and again.ticket_id == ticket_id
    assert again.text is None  # relayed to the agents, no second note right away
    # Small talk is not a knowledge-base answer: it waits too, never a cheery "Hi!".
    hi = await brain.handle(says("hi"))
    assert hi.kind is DecisionKind.RELAY and hi.text is None


async def test_the_note_repeats_after_the_interval(store: Store, make_brain: BrainFactory) -> None:
    brain = make_brain(store)
    brain.still_waiting_s = 0.2
    await _handed_over(brain)
    first = await brain.handle(says("hello? anyone?"))
    assert first.text is not None
    assert (await brain.handle(says("hello??"))).text is None
    await asyncio.sleep(0.3)
    later = await brain.handle(says("is anybody there at all?"))
    assert later.text is not None and "still with the team" in later.text


async def test_the_escalated_question_itself_waits_for_a_human(
    store: Store, make_brain: BrainFactory
) -> None:
    brain = make_brain(store)
    await _handed_over(brain)
    repeated = await brain.handle(says(UNANSWERABLE))
    assert repeated.kind is DecisionKind.RELAY
    assert repeated.text is None or "still with the team" in repeated.text


async def test_silent_once_claimed(store: Store, make_brain: BrainFactory) -> None:
    brain = make_brain(store)
    ticket_id = await _handed_over(brain)
    assert (await Ownership(store).claim(ticket_id, "alice")).ok
    decisions = [await brain.handle(says(t)) for t in ("How do I return an item?", "hello?")]
    assert [d.kind for d in decisions] == [DecisionKind.RELAY, DecisionKind.RELAY]
    assert all(d.ticket_id == ticket_id and not d.thread for d in decisions)


async def test_a_draft_is_dropped_when_the_ticket_is_claimed_meanwhile(
    store: Store, make_brain: BrainFactory
) -> None:
    brain = make_brain(store)
    ticket_id = await _handed_over(brain)
    answerer = brain.answerer

    class ClaimWhileThinking:
        name = "claiming"

        async def close(self) -> None:
            return None

        async def answer(self, request):  # type: ignore[no-untyped-def]
            await Ownership(store).claim(ticket_id, "bob")
            return replace(await answerer.answer(request))

    brain.answerer = ClaimWhileThinking()  # type: ignore[assignment]
    decision = await brain.handle(says("How do I return an item?"))
    assert decision.kind is DecisionKind.RELAY and decision.ticket_id == ticket_id
    assert decision.text is None or "30 days" not in decision.text
