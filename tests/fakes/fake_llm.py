"""A fake OpenAI + Anthropic HTTP API on 127.0.0.1, for tests through the REAL SDKs.

Mocking the SDKs' transport would skip what matters most: their retry loops, timeouts, error
classes and response parsing. So the tests point the official clients at this server via
``base_url`` and script faults per API:

    fake.script("openai", [{"status": 429, "headers": {"retry-after": "1"}}, {"text": "hi"}])

Steps are consumed one per request, in order; then the default reply applies. A step is one of
``{"status": N, "headers": {...}, "message": "..."}`` (an error in the provider's shape),
``{"delay": s}`` (sleep, then a normal reply), ``{"text": "..."}`` (this reply once),
``{"refusal": "..."}`` (the model declines), ``{"content_filter": True}`` (OpenAI's filter
withheld the answer: no content, ``finish_reason`` "content_filter"; an error step may carry
``"code": "content_filter"`` too), and a 200 the API would never send:
``{"malformed": True}`` (JSON of the wrong shape), ``{"malformed": "not-json"}`` (broken JSON)
or ``{"malformed": "text"}`` (text/plain, as from a wrong base_url). ``latency`` delays every
response (benchmarks). Every request is recorded in ``requests``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web

from tests.fakes.loopback import LoopbackServer

ApiKind = Literal["openai", "anthropic"]
_PATHS: dict[ApiKind, str] = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages"}


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    path: str
    headers: Mapping[str, str]  # keys lower-cased
    body: Any  # the parsed JSON, or None when the body was not JSON


def _openai_error(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    kind = {429: "rate_limit_exceeded", 401: "invalid_api_key"}.get(status, "invalid_request_error")
    if status >= 500:
        kind = "server_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _anthropic_error(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    kind = {
        400: "invalid_request_error",
        401: "authentication_error",
        429: "rate_limit_error",
        529: "overloaded_error",
    }.get(status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_fake"}


class FakeLLMServer(LoopbackServer):
    def __init__(self, reply: str = "Hello from the fake LLM.") -> None:
        self.reply = reply
        self.latency = 0.0
        self.input_tokens = 12
        self.output_tokens = 7
        self.requests: list[RecordedRequest] = []
        self._steps: dict[ApiKind, list[dict[str, Any]]] = {"openai": [], "anthropic": []}
        app = web.Application()
        app.router.add_post(_PATHS["openai"], self._chat_completions)
        app.router.add_post(_PATHS["anthropic"], self._messages)
        # handler_cancellation: a client that gave up (timeout) must not leave a sleeping handler
        super().__init__(app, handler_cancellation=True)

    @property
    def openai_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"  # the SDK appends /v1/messages

    def reply_with(self, text: str) -> None:
        self.reply = text

    def script(self, kind: ApiKind, steps: Sequence[Mapping[str, Any]]) -> None:
        self._steps[kind] = [dict(step) for step in steps]

    def requests_for(self, kind: ApiKind) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == _PATHS[kind]]

    async def _handle(
        self,
        request: web.Request,
        kind: ApiKind,
        error_body: Callable[[int, str, str | None], dict[str, Any]],
        success_body: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]],
    ) -> web.Response:
        try:
            body: Any = await request.json()
        except ValueError:
            body = None
        headers = {key.lower(): value for key, value in request.headers.items()}
        self.requests.append(RecordedRequest(request.path, headers, body))
        step = self._steps[kind].pop(0) if self._steps[kind] else {}
        await asyncio.sleep(self.latency + float(step.get("delay", 0.0)))
        if "status" in step:
            status = int(step["status"])
            message = str(step.get("message", f"fake error {status}"))
            return web.json_response(
                error_body(status, message, step.get("code")),
                status=status,
                headers=step.get("headers"),
            )
        if step.get("malformed") == "not-json":
            return web.Response(text='{"choices": [', content_type="application/json")
        if step.get("malformed") == "text":
            return web.Response(text="Ollama is running")  # text/plain, like a wrong base_url
        if step.get("malformed"):
            return web.json_response({"unexpected": True})
        return web.json_response(success_body(body if isinstance(body, dict) else {}, step))

    async def _chat_completions(self, request: web.Request) -> web.Response:
        return await self._handle(request, "openai", _openai_error, self._openai_reply)

    async def _messages(self, request: web.Request) -> web.Response:
        return await self._handle(request, "anthropic", _anthropic_error, self._anthropic_reply)

    def _openai_reply(self, body: dict[str, Any], step: dict[str, Any]) -> dict[str, Any]:
        refusal = step.get("refusal")
        filtered = bool(step.get("content_filter"))
        text = None if refusal or filtered else str(step.get("text", self.reply))
        message = {"role": "assistant", "content": text, "refusal": refusal}
        finish = "content_filter" if filtered else "stop"
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": body.get("model", "unknown"),
            "choices": [
                {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
            ],
            "usage": {
                "prompt_tokens": self.input_tokens,
                "completion_tokens": self.output_tokens,
                "total_tokens": self.input_tokens + self.output_tokens,
            },
        }

    def _anthropic_reply(self, body: dict[str, Any], step: dict[str, Any]) -> dict[str, Any]:
        refused = bool(step.get("refusal"))
        text = str(step.get("text", self.reply))
        return {
            "id": f"msg_{uuid.uuid4().hex[:16]}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "unknown"),
            "content": [] if refused else [{"type": "text", "text": text}],
            "stop_reason": "refusal" if refused else "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens},
        }
