"""The cheaper ways of building and writing per-message values (issue 13: CPU per message)
write the same bytes and build equal values as the plain ways they replaced: datetimes handed
to orjson (``wire_json.instant``), the shared empty ``ReplyHints``, the handler's ``Facts``
with the answer spelled out instead of ``replace``."""

from __future__ import annotations

import json
import random
from dataclasses import InitVar, asdict, dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from brain.classify import Classification
from brain.escalation import Facts
from brain.handler import _with_answer
from brain.playbook import Urgency
from brain.providers.base import Answer
from brain.store.records import Turn
from channels import wire_json
from channels.base import (
    Attachment,
    Author,
    ConversationRef,
    InboundMessage,
    OutboundMessage,
    RatingRequest,
    ReplyHints,
)
from channels.messages import NO_HINTS

OFFSETS = [timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30)),
           timezone(timedelta(seconds=3725)), timezone(timedelta(0), "named")]  # fmt: skip


def _datetimes() -> list[datetime]:
    rng = random.Random(13)
    found = [datetime(1, 1, 1, tzinfo=UTC), datetime(999, 12, 31, 23, 59, 59, 1, tzinfo=UTC),
             datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), datetime(2026, 1, 2, 3, 4),
             datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=UTC, fold=1), datetime.now(UTC),
             datetime.fromisoformat("2026-12-01T23:22:10.000100+00:00")]  # fmt: skip
    for i in range(3000):
        at = datetime.fromtimestamp(rng.uniform(-6e10, 2.5e11), UTC)
        if i % 3 == 0:
            at = at.replace(microsecond=rng.choice([0, 1, 10, 999, 1000, 500000, 999999]))
        if i % 11 == 0:
            at = at.astimezone(rng.choice(OFFSETS))
        if i % 13 == 0:
            at = at.replace(tzinfo=None)
        found.append(at)
    return found


def test_a_datetime_is_written_as_isoformat_writes_it() -> None:
    for at in _datetimes():
        assert wire_json.dumps({"at": wire_json.instant(at)}) == f'{{"at":"{at.isoformat()}"}}'
    # Only an exact, aware UTC datetime goes to orjson; the rest is formatted here.
    assert wire_json.instant(datetime(2026, 1, 2)) == "2026-01-02T00:00:00"
    assert isinstance(wire_json.instant(datetime.now(OFFSETS[0])), str)


def test_isoformat_is_the_datetimes_own() -> None:
    for at in _datetimes():
        assert wire_json.isoformat(at) == at.isoformat()


def test_what_orjson_refuses_beside_a_datetime_falls_back_with_the_datetime_as_text() -> None:
    at = datetime(2026, 5, 6, 7, 8, 9, 10, tzinfo=UTC)
    broken = "half an emoji \ud83d"
    text = wire_json.dumps({"text": broken, "at": wire_json.instant(at)})
    text.encode("utf-8")  # escaped to ASCII, as before
    assert wire_json.loads(text) == {"text": broken, "at": at.isoformat()}
    turn = Turn("t1", "customer", broken, at)
    assert Turn.from_json(turn.to_json()) == turn
    with pytest.raises(TypeError):
        wire_json.dumps({"text": broken, "what": object()})


# The implementations before issue 13's CPU work: what old stored JSON looks like.
def _old_turn_json(turn: Turn) -> str:
    data = {"turn_id": turn.turn_id, "role": turn.role, "text": turn.text}
    return wire_json.dumps({**data, "at": turn.at.isoformat()})


def _old_inbound_json(m: InboundMessage) -> str:
    data = {"ref": m.ref.to_dict(), "message_id": m.message_id, "author": asdict(m.author),
            "text": m.text, "received_at": m.received_at.isoformat(),
            "attachments": [asdict(a) for a in m.attachments], "raw": None,
            "oversize": m.oversize, "rating": m.rating, "type": "inbound"}  # fmt: skip
    return wire_json.dumps(data)


def _old_outbound_json(m: OutboundMessage) -> str:
    data = {"ref": m.ref.to_dict(), "text": m.text, "in_reply_to": m.in_reply_to,
            "sender_name": m.sender_name, "message_id": m.message_id, "category": m.category,
            "rating": asdict(m.rating) if m.rating is not None else None,
            "type": "outbound"}  # fmt: skip
    return wire_json.dumps(data)


def _old_hints(data: dict[str, Any] | None) -> ReplyHints:
    if not data:
        return ReplyHints()
    return ReplyHints(
        reply_to=data.get("reply_to"),
        references=tuple(data.get("references") or ()),
        address=data.get("address"),
        subject=data.get("subject"),
        extra=tuple((str(k), str(v)) for k, v in data.get("extra") or ()),
    )


HINTS = ReplyHints("r", ("a", "b"), "x@example.test", "subject", (("k", "v"),))


def test_turns_and_messages_are_written_byte_for_byte_as_before_and_read_back_equal() -> None:
    ref = ConversationRef("email", "c1", "t1", "w1", HINTS)
    for at in _datetimes()[:400]:
        turn = Turn("m1:bot", "bot", 'Grüße 👋 "quoted"', at)
        assert turn.to_json() == _old_turn_json(turn)
        assert Turn.from_json(_old_turn_json(turn)) == turn
        inbound = InboundMessage(
            ref=ref, message_id="m1", author=Author("u", "Zoë", "u@example.test"), text="hé",
            received_at=at, attachments=(Attachment("a.txt", "text/plain", 3, "https://x/a"),
                                         Attachment("b")),
            raw={"not": "kept"}, oversize=True, rating=4,
        )  # fmt: skip
        assert inbound.to_json() == _old_inbound_json(inbound)
        assert InboundMessage.from_json(_old_inbound_json(inbound)) == inbound
    plain = InboundMessage(ConversationRef("fake", "c"), "m2", Author("u"), "hi")
    assert plain.to_json() == _old_inbound_json(plain)
    for rating in (None, RatingRequest("u1")):
        outbound = OutboundMessage(ref, "text", "m1", "Alice", "desk:1", "billing", rating)
        assert outbound.to_json() == _old_outbound_json(outbound)
        assert OutboundMessage.from_json(_old_outbound_json(outbound)) == outbound


@pytest.mark.parametrize(
    "data",
    [
        None,
        {},
        NO_HINTS.to_dict(),
        json.loads(json.dumps(NO_HINTS.to_dict())),
        {"reply_to": None},
        {"references": [], "extra": []},
        {"reply_to": ""},
        {"subject": ""},
        {"address": "a@example.test"},
        {"references": ["<1@x>"]},
        {"extra": [["k", 1]]},
        json.loads(json.dumps(HINTS.to_dict())),
    ],
)
def test_hints_read_equal_to_the_plain_constructor(data: dict[str, Any] | None) -> None:
    hints = ReplyHints.from_dict(data)
    assert hints == _old_hints(data)
    assert hash(hints) == hash(_old_hints(data))
    assert (hints is NO_HINTS) == (hints == ReplyHints())


def test_a_reference_without_hints_shares_the_empty_value() -> None:
    ref = ConversationRef("fake", "c1")
    assert ref.hints is NO_HINTS and ReplyHints() == NO_HINTS
    read = ConversationRef.from_dict(json.loads(json.dumps(ref.to_dict())))
    assert read == ref and read.hints is NO_HINTS
    hinted = ConversationRef("x", "c", hints=HINTS)
    assert ConversationRef.from_dict(hinted.to_dict()).hints == HINTS
    assert replace(ref, hints=HINTS).hints == HINTS and ref.hints is NO_HINTS
    with pytest.raises(AttributeError):
        NO_HINTS.reply_to = "x"  # type: ignore[misc]


def _classification() -> Classification:
    return Classification(
        intent="returns", category="orders", confidence=0.8, out_of_scope=False,
        urgency=Urgency.NORMAL, sentiment=0.1, language="en", wants_human=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    "answer",
    [
        None,
        Answer("a", 0.7),
        Answer("", 0.9, needs_human=True),
        Answer("b", 0.6, frustrated=True),
        Answer("c", 0.5, urgent=True),
        Answer("d", 0.4, wants_human=True),
    ],
)
def test_facts_with_the_answer_equal_replace(answer: Answer | None) -> None:
    # Every field set away from its default, so that one left out would show.
    facts = Facts(
        text="where is my parcel", classification=_classification(), answer_confidence=1.0,
        customer=Author("u", "U"), customer_turns=3, previous_answered=("before",),
        channel_paused=True, oversize=False, llm_frustrated=True, llm_urgent=False,
        llm_wants_human=True,
    )  # fmt: skip
    confidence = None if answer is None else (0.0 if answer.needs_human else answer.confidence)
    expected = replace(
        facts, answer_confidence=confidence,
        llm_frustrated=answer is not None and answer.frustrated,
        llm_urgent=answer is not None and answer.urgent,
        llm_wants_human=answer is not None and answer.wants_human,
    )  # fmt: skip
    assert _with_answer(facts, answer) == expected
    # A field added to Facts must be added to ``_with_answer`` too.
    assert [f.name for f in fields(Facts)] == [
        "text", "classification", "answer_confidence", "customer", "customer_turns",
        "previous_answered", "channel_paused", "oversize", "llm_frustrated", "llm_urgent",
        "llm_wants_human",
    ]  # fmt: skip


async def test_events_are_built_only_for_a_listener(monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.events
    from channels.base import BotEvent

    seen: list[BotEvent] = []

    class Recorder:
        async def emit(self, event: BotEvent) -> None:
            seen.append(event)

    outbound = OutboundMessage(ConversationRef("fake", "c1"), "hello", "m1", "Alice")
    inbound = InboundMessage(ConversationRef("fake", "c1"), "m2", Author("u", "U"), "5", rating=5)
    await bot.events.Events([Recorder()]).message_sent(outbound, "fake:m1")
    await bot.events.Events([Recorder()]).csat_received(inbound, 5, None)
    assert [(e.kind, e.event_id) for e in seen] == [
        ("message.created", "msg:fake:m1"), ("csat.received", "csat:fake:-:m2")
    ]  # fmt: skip
    assert seen[0].data["message"] == {"text": "hello", "sender": "agent", "agent_name": "Alice",
                                       "in_reply_to": "m1"}  # fmt: skip

    def refuse(*_: object) -> BotEvent:
        raise AssertionError("an event was built with nobody to hear it")

    monkeypatch.setattr(bot.events, "BotEvent", refuse)
    quiet = bot.events.Events()
    await quiet.message_sent(outbound, "fake:m1")
    await quiet.csat_received(inbound, 5, None)
    with pytest.raises(AssertionError):
        await bot.events.Events([Recorder()]).message_sent(outbound, "fake:m1")


def test_the_handlers_positional_facts_and_passages_equal_the_keyword_ones() -> None:
    from brain.entries import KnowledgeEntry
    from brain.handler import Brain, _facts
    from brain.providers.base import Passage

    ref = ConversationRef("fake", "c1")
    message = InboundMessage(ref, "m3", Author("u", "U"), "  where is it?  ", oversize=True)
    turns = (Turn("a", "customer", "first"), Turn("b", "bot", "answer"), Turn("c", "customer", "x"))
    expected = Facts(
        text="where is it?", classification=_classification(), answer_confidence=0.25,
        customer=Author("u", "U"), customer_turns=2, previous_answered=["first"],
        channel_paused=False, oversize=True,
    )  # fmt: skip
    assert _facts(message, _classification(), turns, 0.25, False) == expected
    assert _facts(message, _classification(), turns, 0.25, True).channel_paused
    entry = KnowledgeEntry(id="e1", title="Returns", answer="Send it back.",
                           translations={"de": "Zurück."})  # fmt: skip
    assert Brain._passage(entry, 0.5, True) == Passage(
        id="e1", title="Returns", text="Send it back.", score=0.65, translations={"de": "Zurück."}
    )
    assert Brain._passage(entry, 0.95, True).score == 1.0


def test_the_fake_channels_positional_message_equals_the_keyword_one() -> None:
    from channels.fake import FakeChannel

    made = FakeChannel("fake").message("hi", "c9", "m7", "u1")
    assert made == InboundMessage(
        ref=ConversationRef(channel="fake", conversation_id="c9"), message_id="m7",
        author=Author(id="u1", display_name="u1"), text="hi", received_at=made.received_at,
    )  # fmt: skip


async def test_the_offline_answerers_positional_answers_equal_the_keyword_ones() -> None:
    from brain.providers.base import AnswerRequest, Passage
    from brain.providers.offline import OfflineAnswerer

    offline = OfflineAnswerer()
    assert await offline.answer(AnswerRequest("q", "en", ())) == Answer(
        text="", confidence=0.0, needs_human=True, provider="offline"
    )
    passage = Passage("e1", "T", "long answer", 0.8, {})
    got = await offline.answer(AnswerRequest("q", "en", (passage,), max_chars=4))
    assert got == Answer(text="long", confidence=0.8, sources=("e1",), provider="offline")


def _builders() -> list[tuple[Any, type, tuple[Any, ...]]]:
    from brain import handler
    from brain.providers.base import Passage
    from brain.store.records import new_turn
    from channels import messages

    at = datetime(2026, 3, 4, 5, 6, 7, 8, tzinfo=UTC)
    ref = ConversationRef("slack", "C1", "T1", "W1", HINTS)
    return [
        (new_turn, Turn, ("m1", "customer", "hello", at)),
        (messages._new_ref, ConversationRef, ("slack", "C1", "T1", "W1", HINTS)),
        (messages._new_ref, ConversationRef, ("fake", "c1", None, None, NO_HINTS)),
        (messages._new_inbound, InboundMessage,
         (ref, "m2", Author("u", "U"), "hi", at, (Attachment("a"),), None, True, 3)),
        (handler._new_facts, Facts,
         ("t", _classification(), 0.5, Author("u"), 2, ("x",), True, False, True, False, True)),
        (handler._new_passage, Passage, ("e1", "Title", "Text", 0.75, {"de": "Text"})),
    ]  # fmt: skip


def test_each_fast_constructor_makes_what_the_class_makes() -> None:
    from dataclasses import FrozenInstanceError

    for build, cls, values in _builders():
        made, plain = build(*values), cls(*values)
        assert type(made) is cls and made == plain and repr(made) == repr(plain)
        assert [getattr(made, f.name) for f in fields(cls)] == list(values)
        if cls.__name__ not in ("Facts", "Passage"):  # (those hold a list or a dict)
            assert hash(made) == hash(plain)
        with pytest.raises(FrozenInstanceError):
            setattr(made, fields(cls)[0].name, "changed")
        # Every field, no defaults: a field added to the class breaks the callers at once.
        assert build.__code__.co_argcount == len(fields(cls))
    turn = _builders()[0][0]("a", "bot", "b", datetime.now(UTC))
    assert Turn.from_json(turn.to_json()) == turn


def test_a_fast_constructor_is_refused_for_a_class_it_would_build_wrongly() -> None:
    from channels.frozen import builder

    @dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclass(slots=True)
    class Mutable:
        a: int

    @dataclass(frozen=True, slots=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            assert self.a > 0

    @dataclass(frozen=True, slots=True)
    class Derived:
        a: int
        b: int = field(init=False, default=0)

    @dataclass(frozen=True, slots=True)
    class WithInitVar:
        a: int
        scale: InitVar[int]

    @dataclass(frozen=True, slots=True)
    class Base:
        a: int

    @dataclass(frozen=True, slots=True)
    class Child(Base):
        b: str

    child = builder(Child)(1, "x")  # an inherited slot is written through the base's
    assert child == Child(1, "x") and (child.a, child.b) == (1, "x")
    for cls in (NoSlots, Mutable, Checked, Derived, WithInitVar, dict):
        with pytest.raises(TypeError):
            builder(cls)
