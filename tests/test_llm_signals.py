"""When an LLM answers, it also reads the customer (frustrated, urgent, wants a person) and the
escalation policy uses that reading: no extra call (issue 14, item 5)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from brain.classify import Classifier
from brain.decision import DecisionKind
from brain.escalation import Policy
from brain.handler import Brain, BrainParts
from brain.knowledge import KnowledgeBase
from brain.prompts import parse
from brain.providers.base import Answer, AnswerRequest
from brain.providers.llm import InvalidAnswer
from brain.store.base import Store, StoreLimits
from brain.store.sqlite import SqliteStore
from channels.base import Author, ConversationRef, InboundMessage

REPLY = '{"answer": "Here it is.", "confidence": 0.9, "needs_human": false, "sources": ["a"]'


def test_the_structured_answer_carries_the_customer_signals() -> None:
    parsed = parse(REPLY + ', "frustrated": true, "urgent": false, "wants_human": true}', ["a"])
    assert (parsed.frustrated, parsed.urgent, parsed.wants_human) == (True, False, True)
    older = parse(REPLY + "}", ["a"])  # a model that leaves them out: nothing is read into it
    assert (older.frustrated, older.urgent, older.wants_human) == (False, False, False)
    with pytest.raises(InvalidAnswer, match='"urgent" must be true or false'):
        parse(REPLY + ', "urgent": "very"}', ["a"])


class ReadingLLM:
    """Answers from the first passage and reports what it read in the customer's message."""

    name = "reading-llm"

    def __init__(self, **reading: bool) -> None:
        self.reading = reading
        self.calls = 0

    async def answer(self, request: AnswerRequest) -> Answer:
        self.calls += 1
        best = request.passages[0]
        return Answer(best.text, 0.9, (best.id,), provider=self.name, **self.reading)

    async def close(self) -> None:
        return None


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    instance = SqliteStore(tmp_path / "state.db", limits=StoreLimits())
    await instance.open()
    yield instance
    await instance.close()


def message(text: str) -> InboundMessage:
    return InboundMessage(
        ref=ConversationRef(channel="fake", conversation_id="c1"),
        message_id="m1",
        author=Author(id="cust"),
        text=text,
    )


@pytest.mark.parametrize(
    ("reading", "reason"),
    [
        ({"frustrated": True}, "negative_sentiment"),
        ({"urgent": True}, "urgent"),
        ({"wants_human": True}, "human_requested"),
    ],
)
async def test_the_policy_uses_what_the_model_read(
    store: Store,
    knowledge: KnowledgeBase,
    classifier: Classifier,
    reading: dict[str, bool],
    reason: str,
) -> None:
    llm = ReadingLLM(**reading)
    brain = Brain(BrainParts(store, knowledge, classifier, llm, Policy()))
    # Polite and plain: the cues see nothing, only the model's reading hands it over.
    decision = await brain.handle(message("How do I return an item?"))
    assert decision.kind is DecisionKind.ESCALATE, decision
    assert reason in decision.reasons and llm.calls == 1
    assert decision.card is not None
    assert f"{reason} (read so by the answering model)" in decision.card.reasons


async def test_a_calm_reading_answers(
    store: Store, knowledge: KnowledgeBase, classifier: Classifier
) -> None:
    brain = Brain(BrainParts(store, knowledge, classifier, ReadingLLM(), Policy()))
    decision = await brain.handle(message("How do I return an item?"))
    assert decision.kind is DecisionKind.REPLY, decision.reasons
