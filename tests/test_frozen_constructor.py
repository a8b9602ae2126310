"""``channels.frozen.constructor``: the class's own call (parameters, defaults, errors), making
exactly what the class makes, for each value the hot path builds with one."""

from __future__ import annotations

import inspect
from dataclasses import FrozenInstanceError, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

import pytest

from brain.decision import Decision, DecisionKind
from brain.providers.base import Answer, AnswerRequest, Passage
from brain.store.records import (
    Conversation,
    HeldConversation,
    OutboxRecord,
    QueueEntry,
    TurnContext,
    TurnStart,
    new_turn,
)
from brain.store.redis_batch import _Call
from channels.frozen import constructor
from channels.messages import (
    Author,
    ConversationRef,
    InboundMessage,
    OutboundMessage,
    RatingRequest,
)

REF = ConversationRef("slack", "C1", "T1", "W1")
TURN = new_turn("m1", "customer", "hello", datetime(2026, 3, 4, tzinfo=UTC))
MESSAGE = InboundMessage(ref=REF, message_id="m1", author=Author("u1"), text="hello")
PASSAGE = Passage("e1", "Title", "Text", 0.5)

# (class, positional arguments, keyword arguments): the fewest, and every field.
CALLS: list[tuple[type, tuple[Any, ...], dict[str, Any]]] = [
    (Decision, (DecisionKind.SILENT,), {}),
    (Decision, (DecisionKind.REPLY,), {"text": "hi", "sources": ("e1",), "confidence": 0.75,
                                       "category": "billing", "intent": "refund",
                                       "remember": (TURN,)}),
    (Decision, (DecisionKind.ESCALATE, "t", "T-1", ("x",), ("e",), 0.1, None, "c",
                ((Author("u"), "q"),), "i", (TURN,), RatingRequest("u")), {}),
    (AnswerRequest, ("q", "en", (PASSAGE,)), {}),
    (AnswerRequest, (), {"question": "q", "language": "de", "passages": (), "history": (TURN,),
                         "intent": "refund", "tier": "strong", "urgent": True,
                         "conversation_key": "k", "kb_version": "v3"}),
    (TurnStart, ("1-0", REF, TURN), {}),
    (TurnStart, ("1-0", REF, TURN, ("paused:slack",)), {}),
    (OutboundMessage, (REF, "hello"), {}),
    (OutboundMessage, (), {"ref": REF, "text": "hi", "in_reply_to": "m1", "category": "c",
                           "rating": RatingRequest("u")}),
    (Author, (), {"id": "u1", "display_name": "U", "email": "u@example.com", "is_bot": True}),
    (Author, ("u2",), {}),
    (Answer, ("text", 0.5, ("e1",), False, "offline"), {}),
    (Answer, ("t", 0.1), {"model": "m", "input_tokens": 3, "cacheable": False}),
    (QueueEntry, ("1-0", MESSAGE), {}),
    (QueueEntry, ("1-0", MESSAGE, 2), {}),
    (Conversation, ("k", REF, (TURN,), TURN.at), {}),
    (TurnContext, (None, None), {}),
    (TurnContext, (None, None, {"paused:slack": "1"}), {}),
    (OutboxRecord, ("k", (OutboundMessage(REF, "hi"),)), {}),
    (OutboxRecord, ("k", (), 1, 2, True), {}),
    (_Call, (("GET", "k"), {}, None), {}),
]  # fmt: skip


@pytest.mark.parametrize(("cls", "args", "kwargs"), CALLS)
def test_makes_what_the_class_makes(
    cls: type, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    made, plain = constructor(cls)(*args, **kwargs), cls(*args, **kwargs)
    assert type(made) is cls and made == plain and repr(made) == repr(plain)
    assert [getattr(made, f.name) for f in fields(cls)] == [
        getattr(plain, f.name) for f in fields(cls)
    ]
    try:
        expected = hash(plain)
    except TypeError:  # a passage holds a dict: then neither hashes
        with pytest.raises(TypeError):
            hash(made)
    else:
        assert hash(made) == expected
    with pytest.raises(FrozenInstanceError):
        setattr(made, fields(cls)[0].name, "changed")


@pytest.mark.parametrize("cls", [Decision, AnswerRequest, TurnStart, OutboundMessage, Author])
def test_takes_the_parameters_the_class_takes(cls: type) -> None:
    ours = inspect.signature(constructor(cls)).parameters
    theirs = inspect.signature(cls).parameters
    assert list(ours) == list(theirs)
    for name, parameter in theirs.items():
        default = parameter.default
        if default is inspect.Parameter.empty:
            assert ours[name].default is inspect.Parameter.empty
        elif type(default).__name__ != "_HAS_DEFAULT_FACTORY_CLASS":
            assert ours[name].default is default


def test_wrong_calls_fail_as_the_class_call_fails() -> None:
    build = constructor(Author)
    with pytest.raises(TypeError):
        build()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        build(**{"id": "u", "nickname": "x"})  # type: ignore[arg-type]  # an unknown stored key
    with pytest.raises(TypeError):
        build("u", id="u")  # type: ignore[misc]


def test_a_default_factory_makes_a_new_value_each_time() -> None:
    @dataclass(frozen=True, slots=True)
    class Holder:
        name: str
        tags: dict[str, str] = field(default_factory=dict)
        at: datetime = field(default_factory=lambda: datetime.now(UTC))

    build = constructor(Holder)
    first, second = build("a"), build("b")
    assert first.tags == {} and first.tags is not second.tags
    assert second.at >= first.at
    given = {"k": "v"}
    assert build("c", given).tags is given
    named = build("d", tags=given)
    assert named.tags is given and named == Holder("d", given, named.at)


def test_refuses_what_it_could_not_build_as_the_class_does() -> None:
    @dataclass(frozen=True, slots=True, kw_only=True)
    class KeywordsOnly:
        a: int = 0

    @dataclass(frozen=True)
    class NoSlots:
        a: int

    for cls in (KeywordsOnly, NoSlots):
        with pytest.raises(TypeError):
            constructor(cls)


@dataclass(frozen=True, slots=True, weakref_slot=True)
class Weak:
    a: int
    b: tuple[int, ...]


def test_a_built_value_is_a_plain_instance_of_its_class() -> None:
    """Built as a twin of the class's layout and then made a ``cls``: nothing of the twin may
    show (type, pickling, copies, weak references, the garbage collector's view)."""
    import copy
    import gc
    import pickle
    import weakref

    from channels.frozen import builder

    cases: list[tuple[Any, tuple[Any, ...]]] = [
        (ConversationRef, ("slack", "C1", "T1", "W1", REF.hints)),
        (Weak, (1, (2, 3))),
    ]
    for cls, values in cases:
        made: Any = builder(cls)(*values)
        plain = cls(*values)
        assert made.__class__ is cls and type(made) is cls and isinstance(made, cls)
        assert pickle.loads(pickle.dumps(made)) == plain
        assert copy.deepcopy(made) == plain and copy.copy(made) == plain
        assert gc.is_tracked(made) == gc.is_tracked(plain)
        if cls is Weak:
            assert weakref.ref(made)() is made
        with pytest.raises(FrozenInstanceError):
            made.__setattr__(fields(cls)[1].name, None)
        with pytest.raises(FrozenInstanceError):
            delattr(made, fields(cls)[0].name)


def test_the_hot_values_are_built_as_twins() -> None:
    """The fast way (a twin of the layout) holds for every value built on each message; a
    class that breaks it (a base class, a mangled slot) would fall back to the slower way."""
    from brain.escalation import Facts
    from brain.store.records import Turn
    from channels import frozen

    hot = [Turn, ConversationRef, InboundMessage, Facts, Passage, Decision, AnswerRequest,
           TurnStart, OutboundMessage, Author, Answer, QueueEntry, Conversation, TurnContext,
           HeldConversation, OutboxRecord, _Call]  # fmt: skip
    for cls in hot:
        assert frozen._twin(cls, [f.name for f in fields(cls)]) is not None, cls
