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
import re
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
from config.errors import ConfigError, ProviderError

_NO_KEY = "not-needed"
_FREE = Price()
_KEY_LIKE = re.compile(r"\b(?:sk|key)-[A-Za-z0-9_*.\-]{6,}")
_RETRYABLE = frozenset({408, 409, 429})  # plus every 5xx, including 529 "overloaded"


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
            api_key = _NO_KEY
        self._secret = api_key
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
            _count(getattr(usage, field, 0))
            for field in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
        )
        output_tokens = _count(getattr(usage, "output_tokens", 0))
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
            return ProviderUnavailable(f"{self.name}: connection failed ({self._cause(err)})")
        if isinstance(err, anthropic.APIStatusError):
            status = err.status_code
            message = err.api_message or err.message
            detail = f"{self.name}: {_describe(status)} (HTTP {status}): {self._scrub(message)}"
            if status in _RETRYABLE or status >= 500:
                return ProviderUnavailable(detail)
            return ProviderRejected(detail)
        if isinstance(err, anthropic.APIResponseValidationError):
            return MalformedOutput(f"{self.name}: unexpected response: {self._scrub(err.message)}")
        return ProviderUnavailable(f"{self.name}: {type(err).__name__}: {self._scrub(err.message)}")

    def _cause(self, err: BaseException) -> str:
        cause = err.__cause__ or err.__context__
        return self._scrub(f"{type(cause).__name__}: {cause}" if cause else str(err))

    def _scrub(self, text: str) -> str:
        if len(self._secret) >= 8:  # a real key; a placeholder or toy key would eat words
            text = text.replace(self._secret, "[redacted]")
        return _KEY_LIKE.sub("[redacted]", text)[:300]


def _messages(request: ChatRequest) -> list[MessageParam]:
    messages: list[MessageParam] = []
    for message in request.messages:
        if message.role == "user":
            messages.append(UserMessageParam(role="user", content=message.content))
        else:
            messages.append(AssistantMessageParam(role="assistant", content=message.content))
    return messages


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _describe(status: int) -> str:
    known = {
        400: "request rejected",
        401: "authentication failed, check the API key",
        402: "payment required",
        403: "permission denied",
        404: "not found, check the model name and base URL",
        408: "request timeout",
        409: "conflict",
        413: "request too large",
        422: "request rejected",
        429: "rate limited",
        529: "overloaded",
    }
    return known.get(status, "server error" if status >= 500 else "refused")
