"""Anthropic Messages API as an ``LLMClient``.

Uses the official ``anthropic`` SDK (``AsyncAnthropic``). Why it is configured the way it is:

* ``max_retries=0``: the router owns retries, fallback and circuit breakers. Left alone, the SDK
  retries twice and obeys any ``retry-after`` without a cap (a 429 saying "retry in an hour"
  would park the request for an hour).
* An explicit timeout, per client and per call (``request.timeout_s``): the SDK default is 600 s.
* ``request.temperature`` is not sent: API version 2026-10-21 (sent by SDK 2.x) refuses
  ``temperature``/``top_p``/``top_k`` with a 400 on every model, even at default values, and the
  SDK no longer has the parameters.
* JSON output is requested by the caller's system prompt only: the Messages API has no JSON mode
  and the answer parser tolerates fenced JSON, so no prefill trick is needed.
* An explicit key (or a placeholder when ``base_url`` points at a gateway that needs none) keeps
  the SDK from hunting for credentials in the environment and profile files on disk.

Every failure becomes a ``ProviderError`` subclass whose message names the client and the cause
and never contains the API key (provider messages can echo it; they are scrubbed).
"""

from __future__ import annotations

import json
import time
from typing import Any

import anthropic
from anthropic import AsyncAnthropic, omit
from anthropic.types import AssistantMessageParam, Message, MessageParam, UserMessageParam

from brain.providers.llm import (
    ChatRequest,
    Completion,
    MalformedOutput,
    Price,
    ProviderRejected,
    ProviderUnavailable,
)
from brain.providers.sdk_common import NO_KEY, Scrubber, count, status_error
from config.errors import ConfigError, ProviderError

_FREE = Price()


class AnthropicClient:
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
    ) -> None:
        self.model = model
        self.name = name or f"anthropic:{model}"
        self.price = price
        if not api_key:
            if base_url is None:
                raise ConfigError(f"{self.name}: an API key is required for api.anthropic.com")
            api_key = NO_KEY
        self._scrub = Scrubber(api_key)
        self._client = AsyncAnthropic(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout_s,
            max_retries=0,
            http_client=http_client,
        )

    async def complete(self, request: ChatRequest) -> Completion:
        started = time.perf_counter()
        try:
            response = await self._client.messages.create(
                model=self.model,
                system=request.system or omit,
                messages=_messages(request),
                max_tokens=request.max_output_tokens,
                timeout=request.timeout_s,
            )
        except anthropic.APIError as err:
            raise self._error(err, request.timeout_s) from err
        except json.JSONDecodeError as err:  # the SDK lets a 200 with a broken JSON body through
            raise MalformedOutput(f"{self.name}: the response body is not valid JSON") from err
        latency_ms = (time.perf_counter() - started) * 1000
        if not isinstance(response, Message):  # e.g. text/plain arrives as a bare str
            raise MalformedOutput(f"{self.name}: not a Messages API response (wrong base URL?)")
        usage = getattr(response, "usage", None)
        # cache writes and reads are input too; counting them at the full price errs high
        input_tokens = sum(
            count(getattr(usage, field, 0))
            for field in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
        )
        output_tokens = count(getattr(usage, "output_tokens", 0))
        model = getattr(response, "model", None)
        return Completion(
            text=self._text(response),
            provider=self.name,
            model=model if isinstance(model, str) and model else self.model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_usd=self.price.cost(input_tokens, output_tokens),
            latency_ms=latency_ms,
        )

    async def close(self) -> None:
        await self._client.close()

    def _text(self, response: Message) -> str:
        # The SDK does not validate responses: any JSON object becomes a Message, with None for
        # missing fields and whatever types the server sent. Trust nothing.
        content: object = getattr(response, "content", None)
        blocks = content if isinstance(content, list) else []
        parts = [getattr(b, "text", None) for b in blocks if getattr(b, "type", None) == "text"]
        text = "".join(part for part in parts if isinstance(part, str))
        if not text.strip():
            if getattr(response, "stop_reason", None) == "refusal":
                raise ProviderRejected(f"{self.name}: the model refused to answer")
            raise MalformedOutput(f"{self.name}: the response has no text")
        return text

    def _error(self, err: anthropic.APIError, timeout_s: float) -> ProviderError:
        if isinstance(err, anthropic.APITimeoutError):
            return ProviderUnavailable(f"{self.name}: timed out after {timeout_s:g} s")
        if isinstance(err, anthropic.APIConnectionError):
            return ProviderUnavailable(f"{self.name}: connection failed ({self._scrub.cause(err)})")
        if isinstance(err, anthropic.APIStatusError):
            status = err.status_code
            message = err.api_message or err.message
            return status_error(self.name, status, message, self._scrub)
        if isinstance(err, anthropic.APIResponseValidationError):
            return MalformedOutput(f"{self.name}: unexpected response: {self._scrub(err.message)}")
        return ProviderUnavailable(f"{self.name}: {type(err).__name__}: {self._scrub(err.message)}")


def _messages(request: ChatRequest) -> list[MessageParam]:
    messages: list[MessageParam] = []
    for message in request.messages:
        if message.role == "user":
            messages.append(UserMessageParam(role="user", content=message.content))
        else:
            messages.append(AssistantMessageParam(role="assistant", content=message.content))
    return messages
