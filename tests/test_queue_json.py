"""The hand-written JSON of queued values keeps every field (it replaced ``asdict``)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, fields

import pytest

from brain.store.records import outbox_from_json, outbox_to_json
from channels import wire_json
from channels.base import (
    Attachment,
    Author,
    ConversationRef,
    InboundMessage,
    OutboundMessage,
    ReplyHints,
)

HINTS = ReplyHints("r", ("a", "b"), "x@example.test", "subject", (("k", "v"),))
REF = ConversationRef("email", "c1", "t1", "w1", HINTS)


def test_a_ref_serialises_every_field_as_asdict_did() -> None:
    assert json.loads(json.dumps(REF.to_dict())) == json.loads(json.dumps(asdict(REF)))
    assert set(REF.to_dict()["hints"]) == {f.name for f in fields(ReplyHints)}
    assert ConversationRef.from_dict(REF.to_dict()).hints == HINTS


def test_messages_serialise_every_field_and_come_back_equal() -> None:
    inbound = InboundMessage(
        ref=REF, message_id="m1", author=Author("u", "U", "u@example.test"), text="hi",
        attachments=(Attachment("a.txt", "text/plain", 3, "https://x.test/a"),),
        raw={"payload": ["not", "kept"]}, oversize=True,
    )  # fmt: skip
    data = json.loads(inbound.to_json())
    assert set(data) == {f.name for f in fields(InboundMessage)} | {"type"}
    assert data["raw"] is None
    assert InboundMessage.from_json(inbound.to_json()) == inbound
    outbound = OutboundMessage(REF, "text", "m1", "Alice", "desk:1", "billing")
    assert set(json.loads(outbound.to_json())) == {f.name for f in fields(OutboundMessage)} | {
        "type"
    }
    assert OutboundMessage.from_json(outbound.to_json()) == outbound


def test_what_the_standard_library_wrote_before_is_read_back_the_same() -> None:
    """Queues and stores written before ``channels.wire_json`` (spaced separators, ASCII
    escapes) are read as they were."""
    outbound = OutboundMessage(REF, "Grüße, ça va? 👋", "m1", "Zoë", "desk:1", "billing")
    old = json.dumps(json.loads(outbound.to_json()))  # json's defaults: ", ", ": ", \\u escapes
    assert "\\u00fc" in old
    assert OutboundMessage.from_json(old) == outbound
    assert outbox_from_json(json.dumps([outbound.to_json()])) == (outbound,)
    assert outbox_from_json(outbox_to_json([outbound])) == (outbound,)


def test_what_orjson_refuses_is_written_and_read_as_the_standard_library_does() -> None:
    broken = "half an emoji \ud83d from a broken payload"  # a lone surrogate
    assert wire_json.loads(wire_json.dumps({"text": broken})) == {"text": broken}
    # What a store keeps must encode as UTF-8 (Redis, SQLite), also inside an outbox record.
    outbound = OutboundMessage(REF, broken, "m1")
    stored = outbox_to_json([outbound])
    stored.encode("utf-8")
    assert outbox_from_json(stored) == (outbound,)
    InboundMessage(ref=REF, message_id="m2", author=Author("u"), text=broken).to_json().encode()
    assert math.isnan(wire_json.loads("[NaN]")[0])  # as json reads it
    with pytest.raises(json.JSONDecodeError):
        wire_json.loads("not json")
    assert wire_json.dumps({"a": [1, 2.5, None, True]}) == '{"a":[1,2.5,null,true]}'
