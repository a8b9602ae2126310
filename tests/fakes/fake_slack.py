"""A fake Slack Web API and Socket Mode server on 127.0.0.1, for tests through the REAL SDKs.

Point ``AsyncWebClient(base_url=fake.api_base_url)`` at it (the trailing slash matters). It:

- records every Web API call (``calls``: method, params from the query, a form or JSON body,
  lower-cased headers) and answers ``auth.test`` (bot ``U0BOT`` in team ``T0TEAM``),
  ``chat.postMessage`` (increasing fake ``ts``), ``chat.update``, ``chat.postEphemeral``,
  ``reactions.add``, ``views.publish``, ``usergroups.users.list`` (members from ``usergroups``),
  ``users.info`` (``profiles`` gives a member's display name, ``guests`` marks restricted
  (``"restricted"``) or ultra-restricted (``"ultra"``) members; anyone else is ``user_not_found``),
  ``conversations.info`` and ``conversations.members`` (from ``channels``: id -> ``FakeChannel``,
  members paginated by ``limit`` and ``cursor`` like Slack; unknown ids are
  ``channel_not_found``) and ``apps.connections.open`` (this server's WebSocket URL); anything
  else is ``{"ok": true}``;
- scripts failures: ``fail_next("chat.postMessage", status=429, headers={"Retry-After": "1"})``
  or ``fail_next("chat.postMessage", error="channel_not_found")`` (HTTP 200, ``ok: false``);
- records ``response_url`` posts under ``/hooks/...`` (``hooks``);
- serves Socket Mode at ``/link``: sends ``hello``, then ``send_envelope`` pushes an envelope
  and ``acks`` collects what the client answers.

``wait_for(predicate)`` waits for work that happens after Slack was acknowledged; ``sign``
builds the signature headers Slack adds to HTTP requests.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import WSMsgType, web
from slack_sdk.signature import SignatureVerifier

from channels.base import InboundMessage
from config.settings import SlackSettings
from tests.fakes.loopback import LoopbackServer

BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
TEAM_ID = "T0TEAM"


@dataclass(frozen=True, slots=True)
class RecordedCall:
    method: str
    params: Mapping[str, Any]
    headers: Mapping[str, str]  # keys lower-cased


@dataclass(frozen=True, slots=True)
class FakeChannel:
    private: bool
    members: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Failure:
    status: int
    error: str
    headers: Mapping[str, str]


class FakeSlack(LoopbackServer):
    def __init__(self) -> None:
        self.calls: list[RecordedCall] = []
        self.hooks: list[tuple[str, Mapping[str, Any]]] = []
        self.posted: list[tuple[str, str, Mapping[str, Any]]] = []  # channel, ts, params
        self.acks: list[dict[str, Any]] = []
        self.usergroups: dict[str, list[str]] = {}
        self.profiles: dict[str, str] = {}  # user id -> display name, for users.info
        self.guests: dict[str, str] = {}  # user id -> "restricted" or "ultra"
        self.channels: dict[str, FakeChannel] = {}
        self._failures: dict[str, list[_Failure]] = {}
        self._ts = itertools.count(1)
        self._changed = asyncio.Condition()
        self._sockets: list[web.WebSocketResponse] = []
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/hooks/{tail:.*}", self._hook)
        app.router.add_get("/link", self._socket_mode)
        super().__init__(app)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base_url(self) -> str:
        return f"{self.base_url}/api/"

    def hook_url(self, name: str = "commands/T0TEAM/1/abc") -> str:
        return f"{self.base_url}/hooks/{name}"

    async def stop(self) -> None:
        for socket in list(self._sockets):
            await socket.close()
        await super().stop()

    # -- scripting and inspection --------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """The next call to ``method`` fails (429 means ``ratelimited`` unless told otherwise)."""
        reason = error or ("ratelimited" if status == 429 else "fake_error")
        self._failures.setdefault(method, []).append(_Failure(status, reason, headers or {}))

    def calls_to(self, method: str) -> list[Mapping[str, Any]]:
        return [call.params for call in self.calls if call.method == method]

    async def wait_for(self, predicate: Callable[[], bool], within: float = 5.0) -> None:
        async def waiting() -> None:
            async with self._changed:
                await self._changed.wait_for(predicate)

        await asyncio.wait_for(waiting(), within)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- Web API -----------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _params(request)
        headers = {key.lower(): value for key, value in request.headers.items()}
        self.calls.append(RecordedCall(method, params, headers))
        await self._notify()
        failures = self._failures.get(method)
        if failures:
            failure = failures.pop(0)
            body = {"ok": False, "error": failure.error}
            return web.json_response(body, status=failure.status, headers=dict(failure.headers))
        token = headers.get("authorization", "")
        needed = "Bearer xapp-" if method == "apps.connections.open" else "Bearer xoxb-"
        if not token.startswith(needed):
            return web.json_response({"ok": False, "error": "invalid_auth"})
        return web.json_response(self._answer(method, params))

    def _answer(self, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "url": "https://fake.slack.test/", "team": "Fake",
                    "user": "frontdesk", "team_id": TEAM_ID, "user_id": BOT_USER_ID,
                    "bot_id": BOT_ID}  # fmt: skip
        if method == "apps.connections.open":
            return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link?ticket={uuid.uuid4()}"}
        if method in ("chat.postMessage", "chat.update"):
            ts = str(params.get("ts") or self.next_ts())
            if method == "chat.postMessage":
                self.posted.append((str(params.get("channel")), ts, params))
            message = {"type": "message", "text": params.get("text"), "ts": ts,
                       "bot_id": BOT_ID, "user": BOT_USER_ID}  # fmt: skip
            return {"ok": True, "channel": params.get("channel"), "ts": ts, "message": message}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self.next_ts()}
        if method == "views.publish":
            return {"ok": True, "view": {"id": "V0HOME", **dict(params.get("view") or {})}}
        if method == "users.info":
            return self._user(str(params.get("user")))
        if method in ("conversations.info", "conversations.members"):
            return self._conversation(method, params)
        if method == "usergroups.users.list":
            return {"ok": True, "users": self.usergroups.get(str(params.get("usergroup")), [])}
        return {"ok": True}

    def _user(self, user: str) -> dict[str, Any]:
        if user not in self.profiles and user not in self.guests:
            return {"ok": False, "error": "user_not_found"}
        guest = self.guests.get(user)
        return {"ok": True, "user": {
            "id": user, "name": user.lower(), "profile": {"display_name": self.profiles.get(user)},
            "is_restricted": guest is not None, "is_ultra_restricted": guest == "ultra",
        }}  # fmt: skip

    def _conversation(self, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
        channel_id = str(params.get("channel"))
        channel = self.channels.get(channel_id)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if method == "conversations.info":
            info = {"id": channel_id, "is_channel": True, "is_private": channel.private}
            return {"ok": True, "channel": info}
        start, limit = int(params.get("cursor") or 0), int(params.get("limit") or 100)
        page = list(channel.members[start : start + limit])
        more = start + limit < len(channel.members)
        cursor = str(start + limit) if more else ""
        return {"ok": True, "members": page, "response_metadata": {"next_cursor": cursor}}

    def posted_ts(self, channel: str) -> list[str]:
        """The ts of every top-level message posted to ``channel`` (card refs), in order."""
        return [ts for ch, ts, p in self.posted if ch == channel and not p.get("thread_ts")]

    def next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    async def _hook(self, request: web.Request) -> web.Response:
        self.hooks.append((request.path, await _params(request)))
        await self._notify()
        return web.Response(text="ok")

    # -- Socket Mode ---------------------------------------------------------------------------

    async def _socket_mode(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._sockets.append(socket)
        await self._notify()
        await socket.send_json({"type": "hello", "num_connections": 1,
                                "debug_info": {"host": "fake"},
                                "connection_info": {"app_id": "A0APP"}})  # fmt: skip
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                self.acks.append(json.loads(message.data))
                await self._notify()
        self._sockets.remove(socket)
        return socket

    async def send_envelope(
        self, kind: str, payload: Mapping[str, Any], accepts_response_payload: bool = False
    ) -> str:
        """Push one envelope (``events_api``, ``interactive``, ``slash_commands``); its id."""
        await self.wait_for(lambda: bool(self._sockets))
        envelope_id = str(uuid.uuid4())
        await self._sockets[-1].send_json({
            "envelope_id": envelope_id, "type": kind, "payload": dict(payload),
            "accepts_response_payload": accepts_response_payload,
            "retry_attempt": 0, "retry_reason": "",
        })  # fmt: skip
        return envelope_id

    def ack_for(self, envelope_id: str) -> dict[str, Any] | None:
        return next((a for a in self.acks if a.get("envelope_id") == envelope_id), None)


async def _params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    raw = await request.text()
    if not raw:
        return params
    if "json" in request.content_type:
        params.update(json.loads(raw))
    else:
        params.update(parse_qsl(raw))
    for key in ("blocks", "view"):  # form-encoded calls carry these as JSON text
        if isinstance(params.get(key), str):
            params[key] = json.loads(params[key])
    return params


# -- building signed requests like Slack does ------------------------------------------------


def sign(body: str, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack adds: ``v0=`` + HMAC-SHA256 of ``v0:<timestamp>:<body>``."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


# -- test-side helpers shared by the Slack tests -------------------------------------------------

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
FIXTURES = Path(__file__).parent.parent / "fixtures" / "slack"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def load(name: str) -> dict[str, Any]:
    """A recorded payload from ``tests/fixtures/slack``."""
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def slack_settings(fake: FakeSlack | None = None, **changes: Any) -> SlackSettings:
    """Support channel C0SUPPORT, escalation channel C0ESC; with ``fake``: enabled, HTTP mode."""
    values: dict[str, Any] = {
        "support_channels": ["C0SUPPORT"],
        "escalation_channel": "C0ESC",
        "max_messages_per_second": 200.0,
    }
    if fake is not None:
        values |= {"enabled": True, "mode": "http", "bot_token": "xoxb-test",
                   "signing_secret": SECRET, "app_token": "xapp-1-A0APP-1-test",
                   "api_base_url": fake.api_base_url}  # fmt: skip
    settings = SlackSettings(**(values | changes))
    return settings.model_copy(update={"http_port": 0})  # an ephemeral port (settings say >= 1)


class Inbox:
    """An inbound handler that drops duplicates like the dispatcher (False for a repeat)."""

    def __init__(self) -> None:
        self.messages: list[InboundMessage] = []
        self.seen: set[str] = set()
        self.fail = False

    async def __call__(self, message: InboundMessage) -> bool:
        if self.fail:
            raise RuntimeError("queue unavailable")
        self.messages.append(message)
        if message.idempotency_key in self.seen:
            return False
        self.seen.add(message.idempotency_key)
        return True


async def post(
    url: str, body: str, headers: Mapping[str, str], ctype: str = JSON
) -> tuple[int, str]:
    """POST ``body`` as Slack would; the status and the response text."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body.encode(), headers={"Content-Type": ctype, **headers}) as r,
    ):
        return r.status, await r.text()
