"""The hand-written JSON of queued values keeps every field (it replaced ``asdict``)."""

from __future__ import annotations

import json
from dataclasses import asdict, fields

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
