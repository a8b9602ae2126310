"""The widget's live connection: ``GET /api/v1/ws?token=...&after=ID``.

Browsers cannot set headers on a WebSocket, so the customer token comes in the query (the
access log is off). On connect the server sends every message after ``after`` (the last id the
widget saw: resume after a reconnect), then pushes replies, typing and hand-off as they happen.

Frames from the widget: ``{"type": "message", "text": ..., "client_id": ...}`` (the client id
is the idempotency key: a frame re-sent after a reconnect never yields a second reply) and
``{"type": "ping"}``. Frames to it: ``hello``, ``message``, ``ack``, ``typing``, ``error``,
``pong``. The ack carries the stored message and whether the bot is typing, so the sending
session gets two frames per question: the ack and the reply."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from aiohttp import WSMsgType, web

from channels.web.api import WebContext
from channels.web.customers import Conflict, Session
from channels.web.http import Problem, client_ip
from channels.web.store import WebConversation
from config.errors import FrontdeskError

logger = logging.getLogger(__name__)

HEARTBEAT_S = 25.0


def socket_route(ctx: WebContext) -> web.RouteDef:
    async def connect(request: web.Request) -> web.StreamResponse:
        await ctx.limit(request)
        if not ctx.guard.allowed_origin(request):
            raise Problem(403, "Origin not allowed", "add it to FRONTDESK_WEB__CORS_ORIGINS")
        caller = await ctx.identify(request.query.get("token", ""))
        if caller.conversation is None:
            raise Problem(403, "A customer token is required")
        conv = await ctx.conversation(caller.conversation, caller)
        raw_after = request.query.get("after", "0")
        after = int(raw_after) if raw_after.isdigit() else 0
        ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S,
                                   max_msg_size=ctx.settings.max_body_bytes)  # fmt: skip
        await ws.prepare(request)
        frames: asyncio.Queue[str] = asyncio.Queue()
        session = Session(conv.id, frames.put_nowait)
        # Attached before the history is read: an entry written meanwhile is not missed, and
        # ``session.shown`` keeps it from being sent twice.
        session.shown = after
        ctx.channel.attach(session)
        writer = asyncio.create_task(_write(ws, frames))
        try:
            hello = {"type": "hello", "conversation": conv.id,
                     "typing": ctx.channel.typing(conv.id)}  # fmt: skip
            frames.put_nowait(_dumps(hello))
            backlog = await ctx.store.messages(conv.id, after=after, limit=1000)
            for message in backlog:
                if message["id"] > session.shown:  # not pushed meanwhile
                    session.shown = message["id"]
                    frames.put_nowait(_dumps({"type": "message", "message": message}))
            ip = client_ip(request, ctx.settings.trust_forwarded_for)
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                reply = await _frame(ctx, conv, ip, msg.data, session)
                if reply is not None:
                    frames.put_nowait(_dumps(reply))
        finally:
            ctx.channel.detach(session)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        return ws

    return web.get("/api/v1/ws", connect)


def _dumps(frame: dict[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False)


async def _write(ws: web.WebSocketResponse, frames: asyncio.Queue[str]) -> None:
    while True:
        frame = await frames.get()
        try:
            await ws.send_str(frame)
        except (ConnectionError, RuntimeError):
            return  # closing: the reader ends the session


async def _frame(
    ctx: WebContext, conv: WebConversation, ip: str, raw: str, origin: Session
) -> dict[str, Any] | None:
    try:
        data = json.loads(raw)
    except ValueError:
        return {"type": "error", "title": "Frame is not JSON"}
    if not isinstance(data, dict):
        return {"type": "error", "title": "Frame must be a JSON object"}
    if data.get("type") == "ping":
        return {"type": "pong"}
    if data.get("type") != "message":
        return {"type": "error", "title": "Unknown frame type"}
    text, client_id = data.get("text"), data.get("client_id")
    if not isinstance(text, str) or not text.strip():
        return {"type": "error", "title": "'text' is empty", "client_id": client_id}
    if len(text) > ctx.settings.max_message_chars:
        return {"type": "error", "title": "Message too long", "client_id": client_id}
    if not isinstance(client_id, str) or not 0 < len(client_id) <= 200:
        return {"type": "error", "title": "'client_id' is required"}
    wait = await ctx.per_ip.take(ip)
    if wait:
        return {"type": "error", "title": "Too many messages", "retry_after": wait,
                "client_id": client_id}  # fmt: skip
    try:
        entry, _ = await ctx.channel.post(conv, text, client_id, origin)
    except Conflict:
        return {"type": "error", "title": "'client_id' already used for another message",
                "client_id": client_id}  # fmt: skip
    except FrontdeskError:
        logger.exception("could not queue a widget message in %s", conv.id)
        return {"type": "error", "title": "Not delivered, please retry", "client_id": client_id}
    typing = ctx.channel.typing(conv.id)
    return {"type": "ack", "client_id": client_id, "message": entry, "typing": typing}
