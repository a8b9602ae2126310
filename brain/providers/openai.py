"""OpenAI Chat Completions (and any OpenAI-compatible server) as an ``LLMClient``.

Uses the official ``openai`` SDK (``AsyncOpenAI``). Why it is configured the way it is:

* ``max_retries=0``: the router owns retries, fallback to another provider and circuit
  breakers. The SDK's own loop (2 retries by default, obeying ``retry-after``) would hide a
  failing provider behind seconds of sleeping and multiply the latency budget.
* The SDK's aiohttp transport with as many connections as the deployment's in-flight cap
  (``sdk_common.aiohttp_transport``: far less CPU per request than the default httpx pool in
  a surge). Proxy settings from the environment (``HTTPS_PROXY``) still apply: the SDK's
  aiohttp client keeps httpx's ``trust_env`` and mounts a proxied aiohttp transport.
* An explicit timeout, per client and per call (``request.timeout_s``): the SDK default is 600 s,
  and a hung provider must fail fast so the router can ask the next one.
* ``base_url`` serves local OpenAI-compatible servers (Ollama, vLLM, llama.cpp). They need no key,
  but the SDK insists on one, so a placeholder is sent. Some of them ignore or reject
  ``response_format``: ``json_mode=False`` leaves JSON to the system prompt alone.
* The output limit is sent as ``max_completion_tokens`` to OpenAI itself (``max_tokens`` is
  deprecated there and refused by reasoning models) but as ``max_tokens`` to other servers,
  which all understand the older name; ``token_limit_param`` overrides the choice.

The request template (timing, error mapping, usage, cost) is shared with the Anthropic client
(``sdk_common.SdkClient``); this module holds only the SDK call and how to read its response.
Every failure becomes a ``ProviderError`` subclass whose message names the client and the cause
and never contains the API key (provider messages can echo it; they are scrubbed).
"""

from __future__ import annotations

from typing import Any, Literal

import httpx2
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

from brain.providers.llm import ChatRequest, MalformedOutput, Price, Refusal
from brain.providers.sdk_common import (
    DEFAULT_CONNECTIONS,
    Reply,
    SdkClient,
    SdkErrors,
    aiohttp_transport,
    count,
)

TokenLimitParam = Literal["max_completion_tokens", "max_tokens"]

_FREE = Price()
_JSON: ResponseFormatJSONObject = {"type": "json_object"}


class OpenAIClient(SdkClient):
    errors = SdkErrors(
        base=openai.APIError,
        timeout=openai.APITimeoutError,
        connection=openai.APIConnectionError,
        status=openai.APIStatusError,
        validation=openai.APIResponseValidationError,
    )
    hosted = "api.openai.com"

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
        json_mode: bool = True,
        token_limit_param: TokenLimitParam | None = None,
    ) -> None:
        name = name or f"openai:{model}"
        super().__init__(name=name, model=model, api_key=api_key, base_url=base_url, price=price)
        self.json_mode = json_mode
        if token_limit_param is None:
            token_limit_param = "max_completion_tokens" if base_url is None else "max_tokens"
        self.token_limit_param: TokenLimitParam = token_limit_param
        if http_client is None:
            aio = openai.DefaultAioHttpClient
            http_client = aiohttp_transport(aio, httpx2.Limits, connections)
        self._client = AsyncOpenAI(
            api_key=self.api_key,
            base_url=base_url,
            timeout=timeout_s,
            max_retries=0,
            http_client=http_client,
        )

    async def close(self) -> None:
        await self._client.close()

    async def _send(self, request: ChatRequest) -> object:
        limit = request.max_output_tokens
        by_old_name = self.token_limit_param == "max_tokens"
        return await self._client.chat.completions.create(
            model=self.model,
            messages=_messages(request),
            temperature=request.temperature,
            max_completion_tokens=omit if by_old_name else limit,
            max_tokens=limit if by_old_name else omit,
            response_format=_JSON if request.json_output and self.json_mode else omit,
            timeout=request.timeout_s,
        )

    def _read(self, response: object) -> Reply:
        if not isinstance(response, ChatCompletion):  # e.g. text/plain arrives as a bare str
            raise MalformedOutput(f"{self.name}: not a chat completion response (wrong base URL?)")
        choices: object = getattr(response, "choices", None)
        if not isinstance(choices, list) or not choices:
            raise MalformedOutput(f"{self.name}: the response has no choices")
        message = getattr(choices[0], "message", None)
        text = getattr(message, "content", None)
        if not isinstance(text, str) or not text.strip():
            refusal = getattr(message, "refusal", None)
            if isinstance(refusal, str) and refusal:
                raise Refusal(f"{self.name}: the model refused: {self._scrub(refusal)}")
            if getattr(choices[0], "finish_reason", None) == "content_filter":
                raise Refusal(f"{self.name}: the content filter withheld the answer")
            raise MalformedOutput(f"{self.name}: the response has no text")
        usage = getattr(response, "usage", None)
        return Reply(
            text=text,
            input_tokens=count(getattr(usage, "prompt_tokens", 0)),
            output_tokens=count(getattr(usage, "completion_tokens", 0)),
            model=getattr(response, "model", None),
        )

    def _status_message(self, err: Exception) -> str:
        body = getattr(err, "body", None)
        message = body.get("message") if isinstance(body, dict) else None
        # err.message repeats "Error code: N - " before the provider's words
        return message if isinstance(message, str) else str(getattr(err, "message", err))


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
