"""A fake Discord: gateway (websocket, zlib-stream like the real one) and REST API on one
loopback aiohttp server, for tests through the REAL discord.py.

Point discord.py at it with the settings ``api_base_url=fake.api_base_url`` and
``gateway_url=fake.gateway_url`` (the connection sets them). It serves one guild with a
support channel, a forum channel (tags ``billing``, ``shipping``), a staff desk channel, the
roles ``STAFF_ROLE`` and ``ADMIN_ROLE``, and answers what the bot calls: ``/users/@me``,
``/oauth2/applications/@me``, channel and message create / edit, thread creation (followed by
``THREAD_CREATE`` on the gateway, as Discord does), thread edits, reactions, typing, command
sync, interaction callbacks and follow-ups, and a channel's messages after a given id (every
``MESSAGE_CREATE`` dispatched, read or not, and every message the bot posted is kept per
channel, and channels and threads carry their ``last_message_id``, as in GUILD_CREATE). Anything
else is a 404.

Scripting: ``fail("POST", r"/channels/\\d+/messages$", 403, code=50013)`` makes the next
matching request fail; ``drop()`` closes the gateway like a network cut (the client resumes,
and ``replay`` events are delivered again after the RESUME, as Discord may do; with
``refuse_resume`` the RESUME gets INVALID_SESSION and the client identifies anew). Several
gateway connections may be open at once, one per shard the bot identifies with: each event
goes to the session of its shard (``shard_of``), as Discord routes them.

Pitfalls (from the rig): discord.py parses JSON only with ``Content-Type`` exactly
``application/json``; ``"message_reference": null`` crashes its parser; a 429 without a
``Via`` header is taken for a Cloudflare ban; interaction callbacks carry no Authorization.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.discord_payloads import (
    ADMIN_ROLE,
    ALICE,
    APP_ID,
    BOB,
    BOT,
    CAROL,
    DESK,
    ELSEWHERE,
    FORUM,
    GUILD,
    MALLORY,
    MEMBERS,
    OTHER_BOT,
    ROBIN,
    STAFF_ROLE,
    SUPPORT,
    TAGS,
    TOKEN,
    Payloads,
    snowflake,
)
from tests.fakes.loopback import LoopbackServer

__all__ = [
    "ADMIN_ROLE",
    "ALICE",
    "BOB",
    "BOT",
    "CAROL",
    "DESK",
    "ELSEWHERE",
    "FORUM",
    "GUILD",
    "MALLORY",
    "OTHER_BOT",
    "ROBIN",
    "STAFF_ROLE",
    "SUPPORT",
    "TAGS",
    "TOKEN",
    "FakeDiscord",
]


def _json(obj: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    body = json.dumps(obj).encode()
    return web.Response(
        body=body, status=status, headers={"Content-Type": "application/json", **(headers or {})}
    )


@dataclass
class Failure:
    method: str
    path: re.Pattern[str]
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass(eq=False)
class _Session:
    """One gateway connection: its zlib stream, sequence and shard."""

    ws: web.WebSocketResponse
    z: Any
    seq: int = 0
    shard: int = 0
    identified: asyncio.Event = field(default_factory=asyncio.Event)
    # zlib-stream frames must leave in compression order
    sending: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass
class Request:
    method: str
    path: str
    body: dict[str, Any] | None
    query: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)


class FakeDiscord(Payloads, LoopbackServer):
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.sent: list[dict[str, Any]] = []  # messages the bot created: channel_id, id, body
        self.edits: list[dict[str, Any]] = []  # message edits: channel_id, message_id, body
        self.callbacks: list[dict[str, Any]] = []  # interaction callbacks and follow-ups
        self.gateway_in: list[dict[str, Any]] = []  # frames the bot sent (IDENTIFY, RESUME...)
        self.threads: dict[str, dict[str, Any]] = {}
        self.history: dict[str, list[dict[str, Any]]] = {}  # channel -> its messages, oldest first
        self.last_ids: dict[str, str] = {}  # channel -> its last message id
        self.history_delay_s: dict[str, float] = {}  # channel -> how long reading it takes
        self.commands: list[dict[str, Any]] = []
        self.connections = 0
        self.refuse_intents = False  # as when the message content intent is not switched on
        self.replay: list[tuple[str, dict[str, Any]]] = []  # sent again after the next RESUME
        self.refuse_resume = False  # a RESUME gets INVALID_SESSION: the client identifies anew
        self.ready_delay_s = 0.0  # between an IDENTIFY and its READY
        self.silent = False  # heartbeats go unacknowledged: a connection dead but not closed
        self.guild_delay_s = 0.0  # the server's GUILD_CREATE comes this long after READY
        self.on_sent: Callable[[dict[str, Any]], None] | None = None  # e.g. to time posts
        self._failures: list[Failure] = []
        self._closing: set[asyncio.Task[bool]] = set()
        self.shard_count = 1  # as the bot last identified
        self.identified_at: list[tuple[int, float]] = []  # (shard, loop time) per IDENTIFY
        self.ready_at: list[tuple[int, float]] = []  # (shard, loop time) per READY sent
        self.closed_at: list[tuple[int, float]] = []  # (shard, loop time) per identified close
        self._sessions: dict[int, _Session] = {}  # the identified session of each shard
        self._open: set[_Session] = set()
        self._changed = asyncio.Condition()
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{path:.*}", self._rest)
        super().__init__(app)

    @property
    def api_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    async def stop(self) -> None:
        for session in list(self._open):
            if not session.ws.closed:
                await session.ws.close()
        await super().stop()

    # -- scripting and inspection ----------------------------------------------------------

    def fail(
        self,
        method: str,
        path: str,
        status: int,
        code: int = 0,
        message: str = "",
        headers: Mapping[str, str] | None = None,
        **body: Any,
    ) -> None:
        """The next ``method`` request whose path matches the regex ``path`` fails."""
        payload = {"message": message or f"{status}: fake failure", "code": code, **body}
        self._failures.append(
            Failure(method, re.compile(path), status, payload, dict(headers or {}))
        )

    def reading(self) -> list[int]:
        """The shard of every open, identified gateway session (a shard read twice shows
        twice)."""
        return sorted(s.shard for s in self._open if s.identified.is_set() and not s.ws.closed)

    def posts(self, method: str, pattern: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and re.search(pattern, r.path)]

    def sent_to(self, channel_id: str) -> list[dict[str, Any]]:
        return [m for m in self.sent if m["channel_id"] == channel_id]

    async def wait_for(self, predicate: Callable[[], object], within: float = 5.0) -> None:
        """Until ``predicate()`` holds: re-checked on every request the fake records and at
        least every 10 ms (for conditions on the bot's side, such as a handler's inbox)."""

        async def waiting() -> None:
            async with self._changed:
                while not predicate():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), 0.01)

        await asyncio.wait_for(waiting(), within)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- REST ------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["path"]
        body: dict[str, Any] | None = None
        if request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
            elif request.content_type.startswith("multipart"):
                form = await request.post()
                body = json.loads(str(form.get("payload_json", "{}")))
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.requests.append(Request(request.method, path, body, dict(request.query), headers))
        await self._notify()
        for failure in self._failures:
            if failure.method == request.method and failure.path.search(path):
                self._failures.remove(failure)
                return _json(failure.body, failure.status, failure.headers)
        if path.startswith(("/interactions/", "/webhooks/")):  # no Authorization on these
            return await self._interaction(request.method, path, body or {}, request.query)
        if headers.get("authorization") != f"Bot {TOKEN}":
            return _json({"message": "401: Unauthorized", "code": 0}, 401)
        answer = await self._answer(request.method, path, body or {}, request.query)
        if isinstance(answer, web.Response):
            return answer
        if answer is None:
            return _json({"message": "404: Not Found (fake)", "code": 0}, 404)
        if answer == {}:
            return web.Response(status=204)
        return _json(answer)

    async def _answer(
        self, method: str, path: str, body: dict[str, Any], query: Mapping[str, str]
    ) -> Any:
        if method == "GET" and path == "/users/@me":
            return BOT
        if method == "GET" and path == "/oauth2/applications/@me":
            return {
                "id": APP_ID,
                "name": "frontdesk",
                "icon": None,
                "description": "",
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "flags": 0,
                "owner": ROBIN,
                "team": None,
                "summary": "",
            }
        parts = path.strip("/").split("/")
        if (
            method == "GET"
            and parts[:1] == ["guilds"]
            and len(parts) == 4
            and parts[2] == "members"
        ):
            return self.member_of(parts[1], parts[3])
        if parts[0] == "channels" and len(parts) >= 2:
            return await self._channel_call(method, parts[1], parts[2:], body, query)
        if parts[0] == "applications" and method == "PUT" and parts[-1] == "commands":
            self.commands = [
                {
                    **c,
                    "id": snowflake(),
                    "application_id": APP_ID,
                    "version": "1",
                    "guild_id": GUILD,
                }
                for c in body or []
            ]
            return self.commands
        return None

    async def _channel_call(
        self,
        method: str,
        channel: str,
        rest: list[str],
        body: dict[str, Any],
        query: Mapping[str, str],
    ) -> Any:
        if not rest:
            if method == "GET":
                return self.channel(channel)
            if method == "PATCH" and channel in self.threads:
                self.threads[channel].update(body)
                return self.threads[channel]
            return None
        if rest == ["typing"] and method == "POST":
            return {}
        if rest == ["messages"] and method == "GET":
            await asyncio.sleep(self.history_delay_s.get(channel, 0.0))
            return self.messages_after(channel, int(query.get("after", 0)),
                                       int(query.get("limit", 50)))  # fmt: skip
        if rest == ["messages"] and method == "POST":
            message = {
                **self.message(channel, BOT, body.get("content") or ""),
                "embeds": body.get("embeds") or [],
                "components": body.get("components") or [],
            }
            if body.get("message_reference"):  # a JSON null here crashes discord.py
                message["message_reference"] = {**body["message_reference"], "channel_id": channel}
            record = {"channel_id": channel, "id": message["id"], **body}
            self.sent.append(record)
            self.keep(message)
            if self.on_sent is not None:
                self.on_sent(record)
            await self._notify()
            return message
        if len(rest) == 2 and rest[0] == "messages" and method == "PATCH":
            self.edits.append({"channel_id": channel, "message_id": rest[1], **body})
            await self._notify()
            return {
                **self.message(channel, BOT, body.get("content") or ""),
                "id": rest[1],
                "embeds": body.get("embeds") or [],
                "components": body.get("components") or [],
            }
        if len(rest) == 3 and rest[0] == "messages" and rest[2] == "threads" and method == "POST":
            return await self._start_thread(channel, rest[1], str(body.get("name")))
        if len(rest) >= 4 and rest[2] == "reactions" and method == "PUT":
            return {}
        return None

    async def _start_thread(self, parent: str, message_id: str, name: str) -> Any:
        if message_id in self.threads:
            return _failure_body(400, 160004, "A thread has already been created for this message")
        thread = self.thread(message_id, parent, name)
        self.threads[message_id] = thread
        await self.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        return thread

    async def _interaction(
        self, method: str, path: str, body: dict[str, Any], query: Mapping[str, str]
    ) -> web.Response:
        data = body.get("data") or body
        self.callbacks.append({"method": method, "path": path, **body})
        await self._notify()
        message = {
            **self.message(DESK, BOT, data.get("content") or ""),
            "flags": data.get("flags", 0),
        }
        if path.startswith("/interactions/") and query.get("with_response") in ("1", "true"):
            iid = path.split("/")[2]
            return _json(
                {
                    "interaction": {
                        "id": iid,
                        "type": 3,
                        "response_message_id": message["id"],
                        "response_message_loading": body.get("type") == 5,
                        "response_message_ephemeral": bool(message["flags"] & 64),
                    },
                    "resource": {"type": body.get("type", 4), "message": message},
                }
            )
        if path.startswith("/interactions/"):
            return web.Response(status=204)
        return _json(message)

    # -- gateway ---------------------------------------------------------------------------

    def shard_of(self, data: Mapping[str, Any]) -> int:
        """Discord's routing: a guild's events go to shard ``(guild_id >> 22) % count``, DMs to
        shard 0 (``count``: the shard count the bot identified with)."""
        guild = data.get("guild_id")
        return (int(guild) >> 22) % self.shard_count if guild else 0

    async def _send(self, payload: dict[str, Any], session: _Session | None = None) -> None:
        session = session or self._sessions.get(0)
        if session is None or session.ws.closed:
            return
        data = json.dumps(payload).encode()
        async with session.sending:
            if session.z is not None:
                await session.ws.send_bytes(
                    session.z.compress(data) + session.z.flush(zlib.Z_SYNC_FLUSH)
                )
            else:
                await session.ws.send_str(data.decode())

    def keep(self, message: Mapping[str, Any]) -> None:
        """``message`` is now in its channel's history (and is the channel's last message)."""
        channel, message_id = str(message["channel_id"]), str(message["id"])
        self.history.setdefault(channel, []).append(dict(message))
        self.last_ids[channel] = message_id
        if channel in self.threads:
            self.threads[channel]["last_message_id"] = message_id

    def messages_after(self, channel: str, after: int, limit: int) -> list[dict[str, Any]]:
        """Discord's ``GET /channels/{id}/messages?after=``: the ``limit`` messages right after
        ``after``, newest first."""
        later = [m for m in self.history.get(channel, []) if int(m["id"]) > after]
        later.sort(key=lambda m: int(m["id"]))
        # Over REST a message carries no ``member`` (its author's server roles), as on Discord.
        page = [
            {k: v for k, v in m.items() if k != "member"} for m in later[: max(1, min(limit, 100))]
        ]
        return list(reversed(page))

    def member_of(self, guild: str, user_id: str) -> dict[str, Any] | None:
        """``GET /guilds/{guild}/members/{user}``: the member with their roles, or a 404."""
        who = next((u for u in MEMBERS if str(u["id"]) == user_id), None)
        return self.member(who) if guild == GUILD and who is not None else None

    async def dispatch(self, event: str, data: Mapping[str, Any]) -> None:
        """Send one DISPATCH event to the bot's session for the event's shard (waits until
        one has identified, as after a drop or a replica's takeover)."""
        if event == "MESSAGE_CREATE":
            self.keep(data)
        shard = self.shard_of(data)

        def ready() -> bool:
            session = self._sessions.get(shard)
            return session is not None and session.identified.is_set() and not session.ws.closed

        await self.wait_for(ready, within=10)
        await self._event(self._sessions[shard], event, data)

    async def dispatch_now(self, event: str, data: Mapping[str, Any]) -> bool:
        """Send one DISPATCH event only if a session reads its shard right now, as Discord
        does for a new session (what happened before its READY never reaches it). False:
        nobody read it, the event is lost (a message stays in its channel's history)."""
        if event == "MESSAGE_CREATE":
            self.keep(data)
        session = self._sessions.get(self.shard_of(data))
        if session is None or not session.identified.is_set() or session.ws.closed:
            return False
        await self._event(session, event, data)
        return True

    async def _event(self, session: _Session, event: str, data: Mapping[str, Any]) -> None:
        session.seq += 1
        await self._send({"op": 0, "t": event, "s": session.seq, "d": dict(data)}, session)

    async def drop(self, code: int = 4000) -> None:
        """Close the gateway connections as a network cut would; the client resumes."""
        for session in list(self._sessions.values()):
            session.identified.clear()
            # Not awaited to the end: the closing handshake waits on the client for seconds.
            self._closing.add(asyncio.create_task(session.ws.close(code=code)))
        await asyncio.sleep(0)

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections += 1
        compress = request.query.get("compress") == "zlib-stream"
        session = _Session(ws, zlib.compressobj() if compress else None)
        self._open.add(session)
        hello = {"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None}
        await self._send(hello, session)
        async for message in ws:
            if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                break
            frame = json.loads(message.data)
            self.gateway_in.append(frame)
            await self._notify()
            if frame["op"] == 1 and not self.silent:
                await self._send({"op": 11, "d": None, "s": None, "t": None}, session)
            elif frame["op"] == 2 and self.refuse_intents:
                await ws.close(code=4014)  # "disallowed intents": message content is off
            elif frame["op"] == 2:
                index, count = frame["d"].get("shard") or [0, 1]
                session.shard, self.shard_count = index, count
                self.identified_at.append((index, asyncio.get_running_loop().time()))
                self._sessions[index] = session
                await asyncio.sleep(self.ready_delay_s)
                await self._ready(session)
            elif frame["op"] == 6 and self.refuse_resume:
                await self._send({"op": 9, "d": False, "s": None, "t": None}, session)
            elif frame["op"] == 6:
                session.shard = int(str(frame["d"]["session_id"]).rpartition("-")[2] or 0)
                session.seq = int(frame["d"].get("seq") or 0)
                self._sessions[session.shard] = session
                session.identified.set()
                for event, data in self.replay:
                    await self._event(session, event, data)
                self.replay = []
                await self._event(session, "RESUMED", {})
        self._open.discard(session)
        if session.identified.is_set():
            self.closed_at.append((session.shard, asyncio.get_running_loop().time()))
        session.identified.clear()
        if self._sessions.get(session.shard) is session:
            del self._sessions[session.shard]
        await self._notify()
        return ws

    async def _ready(self, session: _Session) -> None:
        mine = self.shard_of({"guild_id": GUILD}) == session.shard
        session.seq += 1
        await self._send(
            {
                "op": 0,
                "t": "READY",
                "s": session.seq,
                "d": {
                    "v": 10,
                    "user": {**BOT, "verified": True, "mfa_enabled": False, "flags": 0},
                    "guilds": [{"id": GUILD, "unavailable": True}] if mine else [],
                    "session_id": f"fake-session-{session.shard}",
                    "resume_gateway_url": self.gateway_url,
                    "shard": [session.shard, self.shard_count],
                    "application": {"id": APP_ID, "flags": 0},
                    "private_channels": [],
                    "relationships": [],
                },
            },
            session,
        )
        if mine and self.guild_delay_s > 0:  # the server is unavailable for a while
            later = asyncio.create_task(self._guild_later(session, self.guild_delay_s))
            self._closing.add(later)  # type: ignore[arg-type]
            later.add_done_callback(self._closing.discard)  # type: ignore[arg-type]
        elif mine:
            session.seq += 1
            guild = {"op": 0, "t": "GUILD_CREATE", "s": session.seq, "d": self.guild()}
            await self._send(guild, session)
        self.ready_at.append((session.shard, asyncio.get_running_loop().time()))
        session.identified.set()

    async def _guild_later(self, session: _Session, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        await self._event(session, "GUILD_CREATE", self.guild())

    async def forum_post(
        self, title: str, content: str, author: Mapping[str, Any] = ROBIN
    ) -> dict[str, Any]:
        """A new forum post: THREAD_CREATE, then its starter message (same id as the thread)."""
        thread_id = snowflake()
        thread = self.thread(thread_id, FORUM, title, owner=str(author["id"]))
        self.threads[thread_id] = thread
        await self.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        starter = {**self.guild_message(content, thread_id, author), "id": thread_id}
        await self.dispatch("MESSAGE_CREATE", starter)
        return starter


def _failure_body(status: int, code: int, message: str) -> web.Response:
    return _json({"message": message, "code": code}, status)
