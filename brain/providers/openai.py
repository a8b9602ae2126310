"""OpenAI Chat Completions (and any OpenAI-compatible server) as an ``LLMClient``.

Uses the official ``openai`` SDK (``AsyncOpenAI``). Why it is configured the way it is:

* ``max_retries=0``: the router owns retries, fallback to another provider and circuit
  breakers. The SDK's own loop (2 retries by default, obeying ``retry-after``) would hide a
  failing provider behind seconds of sleeping and multiply the latency budget.
* An explicit timeout, per client and per call (``request.timeout_s``): the SDK default is 600 s,
  and a hung provider must fail fast so the router can ask the next one.
* ``base_url`` serves local OpenAI-compatible servers (Ollama, vLLM, llama.cpp). They need no key,
  but the SDK insists on one, so a placeholder is sent. Some of them ignore or reject
  ``response_format``: ``json_mode=False`` leaves JSON to the system prompt alone.
* The output limit is sent as ``max_completion_tokens`` to OpenAI itself (``max_tokens`` is
  deprecated there and refused by reasoning models) but as ``max_tokens`` to other servers,
  which all understand the older name; ``token_limit_param`` overrides the choice.

Every failure becomes a ``ProviderError`` subclass whose message names the client and the cause
and never contains the API key (provider messages can echo it; they are scrubbed).
"""

from __future__ import annotations

import json
import time
from typing import Any, Literal

import openai
from openai import AsyncOpenAI, omit
from openai.types.chat import (
    ChatCompletion,
    ChatCompletionAssistantMessageParam,
    ChatCompletionMessageParam,
    ChatCompletionSystemMessageParam,
    ChatCompletionUserMessageParam,
)
from openai.types.shared_params import ResponseFormatJSONObject

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

TokenLimitParam = Literal["max_completion_tokens", "max_tokens"]

_FREE = Price()


class OpenAIClient:
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
        json_mode: bool = True,
        token_limit_param: TokenLimitParam | None = None,
    ) -> None:
        self.model = model
        self.name = name or f"openai:{model}"
        self.price = price
        self.json_mode = json_mode
        if token_limit_param is None:
            token_limit_param = "max_completion_tokens" if base_url is None else "max_tokens"
        self.token_limit_param: TokenLimitParam = token_limit_param
        if not api_key:
            if base_url is None:
                raise ConfigError(f"{self.name}: an API key is required for api.openai.com")
            api_key = NO_KEY
        self._scrub = Scrubber(api_key)
        self._client = AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout_s,
            max_retries=0,
            http_client=http_client,
        )

    async def complete(self, request: ChatRequest) -> Completion:
        limit = request.max_output_tokens
        json_format: ResponseFormatJSONObject = {"type": "json_object"}
        started = time.perf_counter()
        try:
            response = await self._client.chat.completions.create(
                model=self.model,
                messages=_messages(request),
                temperature=request.temperature,
                max_completion_tokens=limit if self.token_limit_param != "max_tokens" else omit,
                max_tokens=limit if self.token_limit_param == "max_tokens" else omit,
                response_format=json_format if request.json_output and self.json_mode else omit,
                timeout=request.timeout_s,
            )
        except openai.APIError as err:
            raise self._error(err, request.timeout_s) from err
        except json.JSONDecodeError as err:  # the SDK lets a 200 with a broken JSON body through
            raise MalformedOutput(f"{self.name}: the response body is not valid JSON") from err
        latency_ms = (time.perf_counter() - started) * 1000
        if not isinstance(response, ChatCompletion):  # e.g. text/plain arrives as a bare str
            raise MalformedOutput(f"{self.name}: not a chat completion response (wrong base URL?)")
        usage = getattr(response, "usage", None)
        input_tokens = count(getattr(usage, "prompt_tokens", 0))
        output_tokens = count(getattr(usage, "completion_tokens", 0))
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

    def _text(self, response: ChatCompletion) -> str:
        # The SDK does not validate responses: any JSON object becomes a ChatCompletion, with
        # None for missing fields and whatever types the server sent. Trust nothing.
        choices: object = getattr(response, "choices", None)
        if not isinstance(choices, list) or not choices:
            raise MalformedOutput(f"{self.name}: the response has no choices")
        message = getattr(choices[0], "message", None)
        text = getattr(message, "content", None)
        if not isinstance(text, str) or not text.strip():
            refusal = getattr(message, "refusal", None)
            if isinstance(refusal, str) and refusal:
                raise ProviderRejected(f"{self.name}: the model refused: {self._scrub(refusal)}")
            raise MalformedOutput(f"{self.name}: the response has no text")
        return text

    def _error(self, err: openai.APIError, timeout_s: float) -> ProviderError:
        if isinstance(err, openai.APITimeoutError):
            return ProviderUnavailable(f"{self.name}: timed out after {timeout_s:g} s")
        if isinstance(err, openai.APIConnectionError):
            return ProviderUnavailable(f"{self.name}: connection failed ({self._scrub.cause(err)})")
        if isinstance(err, openai.APIStatusError):
            status = err.status_code
            body = err.body if isinstance(err.body, dict) else {}
            message = body.get("message")  # err.message repeats "Error code: N - "
            message = message if isinstance(message, str) else err.message
            return status_error(self.name, status, message, self._scrub)
        if isinstance(err, openai.APIResponseValidationError):
            return MalformedOutput(f"{self.name}: unexpected response: {self._scrub(err.message)}")
        return ProviderUnavailable(f"{self.name}: {type(err).__name__}: {self._scrub(err.message)}")


def _messages(request: ChatRequest) -> list[ChatCompletionMessageParam]:
    messages: list[ChatCompletionMessageParam] = []
    if request.system:
        messages.append(ChatCompletionSystemMessageParam(role="system", content=request.system))
    for message in request.messages:
        if message.role == "user":
            messages.append(ChatCompletionUserMessageParam(role="user", content=message.content))
        else:
            messages.append(
                ChatCompletionAssistantMessageParam(role="assistant", content=message.content)
            )
    return messages
