"""The REST API under ``/api/v1`` (described by ``/api/v1/openapi.json``).

Server keys (scope ``chat``) open conversations for any customer and act in any of them;
``admin`` keys also read tickets, transcripts and usage. A browser holds only its
conversation's customer token (returned when the conversation is opened)."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from channels.base import Author, TicketInfo, WebServices
from channels.web.auth import Caller, Keys, SharedRateLimiter, Tokens, digest
from channels.web.customers import Conflict, WebChannel, ref_for
from channels.web.http import Guard, Problem, client_ip
from channels.web.openapi import document
from channels.web.store import WebConversation, WebStore
from config.settings import WebSettings

logger = logging.getLogger(__name__)

MAX_WAIT_S = 30.0
STATUSES = ("escalated", "claimed", "resolved", "handed_back")


@dataclass
class WebContext:
    settings: WebSettings
    store: WebStore
    channel: WebChannel
    keys: Keys
    tokens: Tokens
    guard: Guard
    per_ip: SharedRateLimiter
    per_key: SharedRateLimiter
    services: WebServices | None = None

    async def limit(self, request: web.Request, caller: Caller | None = None) -> None:
        wait = await self.per_ip.take(client_ip(request, self.settings.trust_forwarded_for))
        if not wait and caller is not None and caller.scope != "customer":
            wait = await self.per_key.take(caller.key_id)
        if wait:
            raise Problem(429, "Too many requests", f"retry in {wait:.0f} s",
                          {"Retry-After": f"{wait:.0f}"})  # fmt: skip

    async def open(self) -> None:
        """Ready to serve: the customer-token key is read (or made) once."""
        await self.tokens.load()

    async def caller(self, request: web.Request) -> Caller | None:
        header = request.headers.get("Authorization", "")
        scheme, _, credential = header.partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            return None
        return await self.identify(credential.strip())

    async def identify(self, credential: str) -> Caller:
        if credential.startswith("v1."):
            conversation = self.tokens.conversation_of(credential)
            if conversation is None:
                raise Problem(401, "Invalid or expired token", "open a new conversation")
            return Caller("customer", conversation, conversation)
        scope = await self.keys.scope_of(credential)
        if scope is None:
            raise Problem(401, "Invalid API key")
        return Caller(scope, digest(credential)[:16])

    async def require(self, request: web.Request, *scopes: str) -> Caller:
        caller = await self.caller(request)
        await self.limit(request, caller)
        if caller is None:
            raise Problem(401, "Missing credentials", "send Authorization: Bearer <key or token>",
                          {"WWW-Authenticate": "Bearer"})  # fmt: skip
        if caller.scope not in scopes:
            raise Problem(403, "Not allowed with this credential",
                          f"needs scope {' or '.join(scopes)}")  # fmt: skip
        return caller

    def services_or_fail(self) -> WebServices:
        if self.services is None:
            raise Problem(503, "Not ready", "the bot is still starting")
        return self.services

    async def conversation(self, conversation_id: str, caller: Caller) -> WebConversation:
        # A token for another conversation learns nothing, not even whether this one exists.
        if not caller.may_open(conversation_id):
            raise Problem(404, "No such conversation")
        conv = await self.store.conversation(conversation_id)
        if conv is None:
            raise Problem(404, "No such conversation")
        return conv


async def body_of(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        data = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError) as err:
        raise Problem(400, "Body is not JSON") from err
    if not isinstance(data, dict):
        raise Problem(400, "Body must be a JSON object")
    return data


def text_field(data: dict[str, Any], name: str, limit: int, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise Problem(422, f"'{name}' is required")
        return None
    if not isinstance(value, str):
        raise Problem(422, f"'{name}' must be a string")
    if len(value) > limit:
        raise Problem(422, f"'{name}' is too long", f"at most {limit} characters")
    return value


def ticket_json(t: TicketInfo) -> dict[str, Any]:
    return {
        "id": t.ticket_id, "status": t.status, "conversation": {"channel": t.ref.channel,
        "id": t.ref.conversation_id}, "customer": {"id": t.customer.id,
        "name": t.customer.display_name}, "reasons": list(t.reasons), "summary": t.summary,
        "agent": t.agent, "created_at": t.created_at.isoformat(),
        "updated_at": t.updated_at.isoformat(),
    }  # fmt: skip


def routes(ctx: WebContext) -> list[web.RouteDef]:
    return [*_customer_routes(ctx), *_admin_routes(ctx)]


def _customer_routes(ctx: WebContext) -> list[web.RouteDef]:
    async def open_conversation(request: web.Request) -> web.Response:
        caller = await ctx.caller(request)
        await ctx.limit(request, caller)
        data = await body_of(request)
        if caller is None or caller.scope == "customer":
            if not ctx.settings.public_conversations:
                raise Problem(401, "Missing credentials", "opening a conversation needs a key")
            if data.get("customer_id") is not None or data.get("email") is not None:
                raise Problem(403, "customer_id and email need a server key",
                              "a browser cannot claim who the customer is")  # fmt: skip
        customer_id = text_field(data, "customer_id", 200) or f"anon-{uuid.uuid4().hex[:16]}"
        name = text_field(data, "display_name", 200)
        email = text_field(data, "email", 320)
        metadata = data.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise Problem(422, "'metadata' must be an object")
        conv = await ctx.store.create_conversation(customer_id, name, email, metadata)
        token, expiry = ctx.tokens.issue(conv.id)
        return web.json_response({"id": conv.id, "token": token, "expires_at": expiry,
                                  "customer_id": customer_id}, status=201)  # fmt: skip

    async def post_message(request: web.Request) -> web.Response:
        caller = await ctx.require(request, "chat", "admin", "customer")
        conv = await ctx.conversation(request.match_info["id"], caller)
        data = await body_of(request)
        text = text_field(data, "text", ctx.settings.max_message_chars, required=True)
        assert text is not None
        if not text.strip():
            raise Problem(422, "'text' is empty")
        key = request.headers.get("Idempotency-Key") or uuid.uuid4().hex
        if len(key) > 200:
            raise Problem(422, "Idempotency-Key is too long", "at most 200 characters")
        wait = _wait(request)
        try:
            entry, _ = await ctx.channel.post(conv, text, key)
        except Conflict as err:
            raise Problem(409, "Idempotency-Key already used for another message",
                          "a retry must repeat the same body; use a new key for a new "
                          "message") from err  # fmt: skip
        result: dict[str, Any] = {"id": entry["id"], "message_id": entry["message_id"]}
        reply = await ctx.channel.wait_reply(conv.id, entry, wait)
        if reply is not None:
            return web.json_response({**result, "reply": reply})
        return web.json_response(result, status=202)

    async def list_messages(request: web.Request) -> web.Response:
        caller = await ctx.require(request, "chat", "admin", "customer")
        conv = await ctx.conversation(request.match_info["id"], caller)
        after = _int(request, "after", 0)
        messages = await ctx.store.messages(conv.id, after=after)
        return web.json_response({"messages": messages, "typing": ctx.channel.typing(conv.id)})

    async def escalate(request: web.Request) -> web.Response:
        caller = await ctx.require(request, "chat", "admin", "customer")
        conv = await ctx.conversation(request.match_info["id"], caller)
        reason = text_field(await body_of(request), "reason", 1000) or ""
        author = Author(id=conv.customer_id, display_name=conv.display_name, email=conv.email)
        ticket = await ctx.services_or_fail().escalate(ref_for(conv.id), author, reason)
        return web.json_response({"ticket": ticket_json(ticket)}, status=201)

    return [
        web.post("/api/v1/conversations", open_conversation),
        web.post("/api/v1/conversations/{id}/messages", post_message),
        web.get("/api/v1/conversations/{id}/messages", list_messages),
        web.post("/api/v1/conversations/{id}/escalate", escalate),
    ]


def _admin_routes(ctx: WebContext) -> list[web.RouteDef]:
    async def faq(request: web.Request) -> web.Response:
        await ctx.require(request, "chat", "admin")
        query = request.query.get("query", "").strip()
        if not query:
            raise Problem(422, "'query' is required")
        limit = min(max(_int(request, "limit", 5), 1), 20)
        hits = await ctx.services_or_fail().search_faq(query[:500], limit)
        return web.json_response({"results": [
            {"id": h.entry_id, "title": h.title, "answer": h.answer, "score": h.score}
            for h in hits]})  # fmt: skip

    async def tickets(request: web.Request) -> web.Response:
        await ctx.require(request, "admin")
        wanted = [s for s in request.query.get("status", "").split(",") if s]
        unknown = [s for s in wanted if s not in STATUSES]
        if unknown:
            raise Problem(422, f"unknown status {unknown[0]!r}", f"one of {', '.join(STATUSES)}")
        found = await ctx.services_or_fail().list_tickets(wanted)
        return web.json_response({"tickets": [ticket_json(t) for t in found]})

    async def transcript(request: web.Request) -> web.Response:
        caller = await ctx.require(request, "admin")
        conv = await ctx.conversation(request.match_info["id"], caller)
        lines = await ctx.services_or_fail().transcript(ref_for(conv.id))
        return web.json_response({"conversation": conv.id, "turns": [
            {"role": t.role, "text": t.text, "at": t.at.isoformat()} for t in lines]})  # fmt: skip

    async def stats(request: web.Request) -> web.Response:
        await ctx.require(request, "admin")
        days = min(max(_int(request, "days", 7), 1), 90)
        daily = await ctx.services_or_fail().stats(days)
        totals: dict[str, float] = {}
        for _, counters in daily:
            for name, value in counters.items():
                totals[name] = totals.get(name, 0) + value
        return web.json_response({"days": days, "totals": totals, "daily": [
            {"date": day, "counters": counters} for day, counters in daily]})  # fmt: skip

    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(document())

    return [
        web.get("/api/v1/conversations/{id}/transcript", transcript),
        web.get("/api/v1/faq", faq),
        web.get("/api/v1/tickets", tickets),
        web.get("/api/v1/stats", stats),
        web.get("/api/v1/openapi.json", openapi),
    ]


def _int(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as err:
        raise Problem(422, f"'{name}' must be a whole number") from err


def _wait(request: web.Request) -> float:
    raw = request.query.get("wait")
    if raw is None:
        return 0.0
    try:
        wait = float(raw)
    except ValueError as err:
        raise Problem(422, "'wait' must be a number of seconds") from err
    if not 0 <= wait <= MAX_WAIT_S:
        raise Problem(422, "'wait' is out of range", f"0 to {MAX_WAIT_S:.0f} seconds")
    return wait
