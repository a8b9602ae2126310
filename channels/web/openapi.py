"""The OpenAPI 3.1 document served at ``/api/v1/openapi.json`` (a test validates every real
response of the API against it)."""

from __future__ import annotations

from typing import Any

_STR = {"type": "string"}
_NSTR = {"type": ["string", "null"]}
_TIME = {"type": "string", "format": "date-time"}


def _obj(required: list[str], **props: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": props}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


SCHEMAS: dict[str, Any] = {
    "Problem": _obj(["title", "status"], type=_STR, title=_STR, status={"type": "integer"},
                    detail=_STR),
    "NewConversation": {"type": "object", "properties": {
        "customer_id": _STR, "display_name": _STR, "email": _STR, "metadata": {"type": "object"}},
        "description": "customer_id and email need a server key"},
    "Conversation": _obj(["id", "token", "expires_at", "customer_id"], id=_STR, token=_STR,
                         expires_at={"type": "integer"}, customer_id=_STR),
    "NewMessage": _obj(["text"], text=_STR),
    "Message": _obj(
        ["id", "role", "kind", "text", "message_id", "created_at"],
        id={"type": "integer", "description": "increasing; use with ?after="},
        role={"enum": ["customer", "bot", "agent", "system"]},
        kind={"enum": ["message", "handoff"]}, text=_STR, sender_name=_NSTR, message_id=_STR,
        in_reply_to=_NSTR, created_at=_TIME),
    "Accepted": _obj(["id", "message_id"], id={"type": "integer"}, message_id=_STR,
                     reply=_ref("Message")),
    "History": _obj(["messages", "typing"], messages={"type": "array", "items": _ref("Message")},
                    typing={"type": "boolean"}),
    "Ticket": _obj(
        ["id", "status", "conversation", "customer", "reasons", "summary", "created_at"],
        id=_STR, status={"enum": ["escalated", "claimed", "resolved", "handed_back"]},
        conversation=_obj(["channel", "id"], channel=_STR, id=_STR),
        customer=_obj(["id"], id=_STR, name=_NSTR),
        reasons={"type": "array", "items": _STR}, summary=_STR, agent=_NSTR,
        created_at=_TIME, updated_at=_TIME),
    "TicketCreated": _obj(["ticket"], ticket=_ref("Ticket")),
    "Tickets": _obj(["tickets"], tickets={"type": "array", "items": _ref("Ticket")}),
    "FaqResults": _obj(["results"], results={"type": "array", "items": _obj(
        ["id", "title", "answer", "score"], id=_STR, title=_STR, answer=_STR,
        score={"type": "number"})}),
    "Transcript": _obj(["conversation", "turns"], conversation=_STR, turns={
        "type": "array", "items": _obj(["role", "text", "at"], role=_STR, text=_STR, at=_TIME)}),
    "Stats": _obj(["days", "totals", "daily"], days={"type": "integer"},
                  totals={"type": "object", "additionalProperties": {"type": "number"}},
                  daily={"type": "array", "items": _obj(["date", "counters"], date=_STR,
                         counters={"type": "object",
                                   "additionalProperties": {"type": "number"}})}),
}  # fmt: skip

_ERRORS = {
    code: {"description": why, "content": {"application/problem+json": {"schema":
           _ref("Problem")}}}
    for code, why in (("400", "bad request"), ("401", "missing or invalid credentials"),
                      ("403", "not allowed"), ("404", "no such conversation"),
                      ("413", "body too large"), ("422", "invalid field"),
                      ("429", "rate limited (see Retry-After)"))
}  # fmt: skip


def _op(summary: str, ok: str, schema: str, *, body: str | None = None,
        params: list[dict[str, Any]] | None = None, extra: dict[str, Any] | None = None,
        security: list[dict[str, list[str]]] | None = None) -> dict[str, Any]:  # fmt: skip
    responses = {ok: {"description": "ok", "content": {"application/json": {
        "schema": _ref(schema)}}}, **(extra or {}), **_ERRORS}  # fmt: skip
    op: dict[str, Any] = {"summary": summary, "responses": responses, "parameters": params or []}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": _ref(body)}}}  # fmt: skip
    if security is not None:
        op["security"] = security
    return op


def _q(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}  # fmt: skip


_ID = {"name": "id", "in": "path", "required": True, "schema": _STR}
_IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": _STR,
    "description": "a retry with the same key and body never yields a second reply; the "
    "same key with another body is refused with 409",
}
Security = list[dict[str, list[str]]]
_CHAT: Security = [{"bearer": ["chat"]}, {"bearer": ["admin"]}, {"customerToken": []}]
_ADMIN: Security = [{"bearer": ["admin"]}]


def document() -> dict[str, Any]:
    accepted = {"202": {"description": "queued; no reply within ?wait", "content": {
        "application/json": {"schema": _ref("Accepted")}}},
        "409": {"description": "the Idempotency-Key was already used for a message with "
                "another text (nothing was queued; a retry must repeat the same body)",
                "content": {"application/problem+json": {"schema": _ref("Problem")}}}}  # fmt: skip
    return {
        "openapi": "3.1.0",
        "info": {"title": "Frontdesk web API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "components": {"schemas": SCHEMAS, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "server key: scope chat or admin"},
            "customerToken": {"type": "http", "scheme": "bearer",
                              "description": "one conversation's token (v1....)"}}},
        "paths": {
            "/conversations": {"post": _op(
                "Open a conversation; returns its customer token", "201", "Conversation",
                body="NewConversation", security=[*_CHAT, {}])},
            "/conversations/{id}/messages": {
                "post": _op("Send a customer message", "200", "Accepted", body="NewMessage",
                            params=[_ID, _IDEMPOTENCY, _q("wait", {"type": "number",
                                    "minimum": 0, "maximum": 30},
                                    "seconds to wait for the reply")], extra=accepted,
                            security=_CHAT),
                "get": _op("History after a message id (at most 200 a call: page with after)",
                           "200", "History",
                           params=[_ID, _q("after", {"type": "integer"})], security=_CHAT)},
            "/conversations/{id}/escalate": {"post": _op(
                "Hand the conversation to a person", "201", "TicketCreated", params=[_ID],
                security=_CHAT)},
            "/conversations/{id}/transcript": {"get": _op(
                "The whole conversation as the bot keeps it", "200", "Transcript",
                params=[_ID], security=_ADMIN)},
            "/faq": {"get": _op("Search the knowledge base", "200", "FaqResults", params=[
                _q("query", _STR), _q("limit", {"type": "integer", "minimum": 1,
                                                "maximum": 20})],
                security=[{"bearer": ["chat"]}, {"bearer": ["admin"]}])},
            "/tickets": {"get": _op("Tickets by status (default: open ones)", "200", "Tickets",
                                    params=[_q("status", _STR, "comma-separated")],
                                    security=_ADMIN)},
            "/ws": {"get": {
                "summary": "The widget's WebSocket: history after ?after=, then live frames "
                           "(hello, message, ack, typing, error, pong); send "
                           "{type: message, text, client_id} or {type: ping}",
                "parameters": [_q("token", _STR, "the conversation's customer token"),
                               _q("after", {"type": "integer"}, "last message id seen")],
                "responses": {"101": {"description": "switching protocols"}, **_ERRORS}}},
            "/stats": {"get": _op("Usage per day", "200", "Stats",
                                  params=[_q("days", {"type": "integer"})], security=_ADMIN)},
        },
    }  # fmt: skip
