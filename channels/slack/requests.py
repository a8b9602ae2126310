"""Checks on requests from Slack before Bolt sees them: HTTP requests and Socket Mode envelopes.

Bolt trusts the shape of a correctly signed request: a non-numeric timestamp header, a truncated
JSON body, a list instead of an object, an ``event`` that is a string or a bad ``payload=`` form
all end in an exception inside Bolt (a 500 and a traceback), and Slack then retries the same
broken request. Here the signature is checked first (so an unsigned request stays a 401 and
reveals nothing), then the body is parsed exactly as Bolt parses it and the fields Bolt and our
listeners read are checked for type; anything else is a 400 with one log line. Socket Mode
payloads get the same type checks (``CheckedSocketModeHandler``).

Bolt also decides that a form body is an interactivity payload when the word "payload" appears
anywhere in it, so a slash command such as ``/frontdesk note customer sent the payload`` was
parsed as an empty payload and silently dropped. ``parse_slack_body`` looks for a ``payload``
*field* instead, and ``SlackHttpRequest`` hands Bolt the body parsed that way.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import parse_body
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

log = logging.getLogger(__name__)

MAX_AGE_S = 300  # Slack's (and Bolt's) replay window for signed requests
# Fields Bolt's context extraction reads, in the body and in the nested objects below.
_ID_OR_OBJECT = ("user", "channel", "team", "enterprise")
_OBJECTS = ("event", "message", "previous_message", "item", "assistant_thread", "view",
            "container", "function_data")  # fmt: skip
_LISTS_OF_OBJECTS = ("authorizations", "actions", "response_urls")
_INTERACTIVE = frozenset({"block_actions", "block_suggestion", "interactive_message",
                          "message_action", "shortcut", "view_closed",
                          "view_submission"})  # fmt: skip
_STRINGS = ("type", "action_id", "response_url", "trigger_id", "ts", "thread_ts")


def signature_problem(
    secret: str, raw: bytes, headers: Mapping[str, str], now: float | None = None
) -> tuple[int, str] | None:
    """(status, reason) when the request is not validly signed (401) or its signed timestamp
    is not a number (400); None when the signature holds and is fresh."""
    timestamp = headers.get("X-Slack-Request-Timestamp") or ""
    signature = headers.get("X-Slack-Signature") or ""
    if not timestamp or not signature or not secret:
        return 401, "no signature"
    base = b"v0:" + timestamp.encode("utf-8", "replace") + b":" + raw
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        return 401, "bad signature"
    if not (timestamp.isascii() and timestamp.isdigit()):
        return 400, f"signed timestamp header is not a number ({timestamp[:20]!r})"
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > MAX_AGE_S:
        return 401, "stale timestamp"
    return None


def parse_slack_body(text: str, content_type: str | None) -> Any:
    """The body as Bolt parses it, except that a form is an interactivity payload only when it
    has a ``payload`` field (not merely the word somewhere in a command's text)."""
    if text and content_type != "application/json" and not text.startswith("{"):
        fields = dict(parse_qsl(text, keep_blank_values=True))
        if "payload" not in fields:
            return fields
    return parse_body(text, content_type)


class SlackHttpRequest(AsyncBoltRequest):
    """A Bolt HTTP request whose body is parsed by ``parse_slack_body``. The raw body is kept
    as received, so Bolt's signature check still covers exactly what Slack signed."""

    def __init__(self, *, body: str, parsed: Any, query: str, headers: dict[str, str]) -> None:
        # Bolt's constructor insists on the raw string and parses it by its own rule; ``parsed``
        # is ``parse_slack_body`` of the same string, already done by ``read_body``.
        super().__init__(body=body, query=query, headers=dict(headers))
        self.body = parsed
        self.context = build_async_context(AsyncBoltContext({}), self.body)

    def to_copyable(self) -> AsyncBoltRequest:
        copy = super().to_copyable()  # re-parsed by Bolt's own rule: parse it again our way
        copy.body = parse_slack_body(copy.raw_body, copy.content_type)
        copy.context = build_async_context(copy.context, copy.body)
        return copy


def read_body(text: str, content_type: str | None) -> tuple[Any, str | None]:
    """A signed body parsed once: ``(body, None)``, or ``(None, why it cannot be handled)``."""
    try:
        body: Any = parse_slack_body(text, content_type)
    except ValueError as err:  # JSONDecodeError: truncated JSON or a bad ``payload=`` form
        return None, f"body is not valid JSON ({err})"
    problem = payload_problem(body)
    return (None, problem) if problem is not None else (body, None)


def payload_problem(body: object) -> str | None:
    """Why a parsed body (or a Socket Mode envelope's payload) cannot be handled, or None."""
    if not isinstance(body, dict):
        return f"body is {_kind(body)}, not an object"
    if body.get("type") in _INTERACTIVE and not isinstance(body.get("user"), dict):
        return "payload.user is not an object"
    return _shape(body, "body", 0)


def _shape(obj: Mapping[str, Any], where: str, depth: int) -> str | None:
    for key in _ID_OR_OBJECT:
        value = obj.get(key)
        if value is not None and not isinstance(value, str | dict):
            return f"{where}.{key} is {_kind(value)}"
    for key in _STRINGS:
        value = obj.get(key)
        if value is not None and not isinstance(value, str):
            return f"{where}.{key} is {_kind(value)}"
    for key in _LISTS_OF_OBJECTS:
        value = obj.get(key)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(item, dict) for item in value)
        ):
            return f"{where}.{key} is not a list of objects"
    for key in _OBJECTS:
        value = obj.get(key)
        if value is None:
            continue
        if not isinstance(value, dict):
            return f"{where}.{key} is {_kind(value)}, not an object"
        if depth < 3 and (problem := _shape(value, f"{where}.{key}", depth + 1)) is not None:
            return problem
    for index, action in enumerate(obj.get("actions") or ()):
        if (problem := _shape(action, f"{where}.actions[{index}]", depth + 1)) is not None:
            return problem
    return None


def _kind(value: object) -> str:
    names = {list: "a list", str: "a string", int: "a number", float: "a number",
             bool: "a boolean", dict: "an object"}  # fmt: skip
    return names.get(type(value), type(value).__name__)


class CheckedSocketModeHandler(AsyncSocketModeHandler):
    """Socket Mode with the same payload checks as HTTP mode: a malformed envelope is logged
    and acknowledged (Slack would resend it, and it would fail again) instead of raising in Bolt.
    """

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        problem = payload_problem(req.payload)
        if problem is None:
            await super().handle(client, req)
            return
        log.warning("Slack Socket Mode: dropped a malformed %s envelope: %s", req.type, problem)
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
