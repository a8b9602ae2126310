"""Anthropic Messages API as an ``LLMClient``.

Uses the official ``anthropic`` SDK (``AsyncAnthropic``). Why it is configured the way it is:

* ``max_retries=0``: the router owns retries, fallback and circuit breakers. Left alone, the SDK
  retries twice and obeys any ``retry-after`` without a cap (a 429 saying "retry in an hour"
  would park the request for an hour).
* The SDK's aiohttp transport with as many connections as the deployment's in-flight cap
  (``sdk_common.aiohttp_transport``: far less CPU per request than the default httpx pool in
  a surge). Proxy settings from the environment (``HTTPS_PROXY``) still apply: the SDK's
  aiohttp client keeps httpx's ``trust_env`` and mounts a proxied aiohttp transport.
* An explicit timeout, per client and per call (``request.timeout_s``): the SDK default is 600 s.
* ``request.temperature`` is not sent: API version 2026-10-21 (sent by SDK 2.x) refuses
  ``temperature``/``top_p``/``top_k`` with a 400 on every model, even at default values, and the
  SDK no longer has the parameters.
* JSON output is requested by the caller's system prompt only: the Messages API has no JSON mode
  and the answer parser tolerates fenced JSON, so no prefill trick is needed.
* An explicit key (or a placeholder when ``base_url`` points at a gateway that needs none) keeps
  the SDK from hunting for credentials in the environment and profile files on disk.

The request template (timing, error mapping, usage, cost) is shared with the OpenAI client
(``sdk_common.SdkClient``); this module holds only the SDK call and how to read its response.
Every failure becomes a ``ProviderError`` subclass whose message names the client and the cause
and never contains the API key (provider messages can echo it; they are scrubbed).
"""

from __future__ import annotations

from typing import Any

import anthropic
import httpx2
from anthropic import AsyncAnthropic, omit
from anthropic.types import AssistantMessageParam, Message, MessageParam, UserMessageParam

from brain.providers.llm import ChatRequest, MalformedOutput, Price, Refusal
from brain.providers.sdk_common import (
    DEFAULT_CONNECTIONS,
    Reply,
    SdkClient,
    SdkErrors,
    aiohttp_transport,
    count,
)

_FREE = Price()
# cache writes and reads are input too; counting them at the full price errs high
_INPUT_FIELDS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


class AnthropicClient(SdkClient):
    errors = SdkErrors(
        base=anthropic.APIError,
        timeout=anthropic.APITimeoutError,
        connection=anthropic.APIConnectionError,
        status=anthropic.APIStatusError,
        validation=anthropic.APIResponseValidationError,
    )
    hosted = "api.anthropic.com"

    def __init__(
        self,
        *,
        model: str,
        api_key: str | None,
        base_url: str | None = None,
        price: Price = _FREE,
        name: str | None = None,
        timeout_s: float = 20.0,
        http_client: Any = None,
        connections: int = DEFAULT_CONNECTIONS,
    ) -> None:
        name = name or f"anthropic:{model}"
        super().__init__(name=name, model=model, api_key=api_key, base_url=base_url, price=price)
        if http_client is None:
            aio = anthropic.DefaultAioHttpClient
            http_client = aiohttp_transport(aio, httpx2.Limits, connections)
        self._client = AsyncAnthropic(
            api_key=self.api_key,
            base_url=base_url,
            timeout=timeout_s,
            max_retries=0,
            http_client=http_client,
        )

    async def close(self) -> None:
        await self._client.close()

    async def _send(self, request: ChatRequest) -> object:
        return await self._client.messages.create(
            model=self.model,
            system=request.system or omit,
            messages=_messages(request),
            max_tokens=request.max_output_tokens,
            timeout=request.timeout_s,
        )

    def _read(self, response: object) -> Reply:
        if not isinstance(response, Message):  # e.g. text/plain arrives as a bare str
            raise MalformedOutput(f"{self.name}: not a Messages API response (wrong base URL?)")
        content: object = getattr(response, "content", None)
        blocks = content if isinstance(content, list) else []
        parts = [getattr(b, "text", None) for b in blocks if getattr(b, "type", None) == "text"]
        text = "".join(part for part in parts if isinstance(part, str))
        if not text.strip():
            if getattr(response, "stop_reason", None) == "refusal":
                raise Refusal(f"{self.name}: the model refused to answer")
            raise MalformedOutput(f"{self.name}: the response has no text")
        usage = getattr(response, "usage", None)
        return Reply(
            text=text,
            input_tokens=sum(count(getattr(usage, field, 0)) for field in _INPUT_FIELDS),
            output_tokens=count(getattr(usage, "output_tokens", 0)),
            model=getattr(response, "model", None),
        )

    def _status_message(self, err: Exception) -> str:
        api_message = getattr(err, "api_message", None)
        return str(api_message or getattr(err, "message", err))


def _messages(request: ChatRequest) -> list[MessageParam]:
    messages: list[MessageParam] = []
    for message in request.messages:
        if message.role == "user":
            messages.append(UserMessageParam(role="user", content=message.content))
        else:
            messages.append(AssistantMessageParam(role="assistant", content=message.content))
    return messages
