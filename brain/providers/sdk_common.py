"""What the OpenAI and Anthropic clients share: the request template, error mapping, key
scrubbing and token counts.

Both SDKs come from the same generator and fail the same ways, so one template
(``SdkClient.complete``) times the call, maps every SDK error onto ours and builds the
``Completion``; a client supplies only the SDK call (``_send``) and how to read the SDK's
response (``_read``). Nothing here imports an SDK: a client passes its SDK's error classes in
``errors``, so an unconfigured SDK is never loaded.
"""

from __future__ import annotations

import json
import re
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from brain.providers.llm import (
    ChatRequest,
    Completion,
    MalformedOutput,
    Price,
    ProviderRejected,
    ProviderUnavailable,
    Refusal,
)
from config.errors import ConfigError, ProviderError

NO_KEY = "not-needed"  # local servers ignore the key; the SDKs refuse to run without one
_KEY_LIKE = re.compile(r"\b(?:sk|key)-[A-Za-z0-9_*.\-]{6,}")
# What a customer's own words can provoke: about the message, never the provider's health.
_CONTENT_CODES = frozenset({"content_filter", "content_policy_violation"})
_RETRYABLE = frozenset({408, 409, 429})  # plus every 5xx, including Anthropic's 529
_STATUS_TEXT = {
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


DEFAULT_CONNECTIONS = 100


def aiohttp_transport(aio_client: Any, limits: Any, connections: int) -> Any:
    """The SDK's own aiohttp transport (``DefaultAioHttpClient``), sized to the deployment's
    in-flight cap. Why not the default httpx pool: it rescans every pooled connection on each
    request and response (and probes each idle one's socket), so its CPU cost per request grows
    with the pool; at a few hundred connections in flight it costs several milliseconds of CPU
    per request, against about one for aiohttp's connector (``bench/surge.py``)."""
    return aio_client(limits=limits(max_connections=connections,
                                    max_keepalive_connections=connections))  # fmt: skip


class Scrubber:
    """Removes the API key (and anything key-shaped) from text that may reach logs."""

    def __init__(self, secret: str) -> None:
        self.secret = secret

    def __call__(self, text: str) -> str:
        if len(self.secret) >= 8:  # a real key; a placeholder or toy key would eat words
            text = text.replace(self.secret, "[redacted]")
        return _KEY_LIKE.sub("[redacted]", text)[:300]

    def cause(self, err: BaseException) -> str:
        cause = err.__cause__ or err.__context__
        return self(f"{type(cause).__name__}: {cause}" if cause else str(err))


def status_error(name: str, status: int, message: str, scrub: Scrubber) -> ProviderError:
    """An HTTP error status: worth trying elsewhere (unavailable) or not (rejected)."""
    text = _STATUS_TEXT.get(status, "server error" if status >= 500 else "refused")
    detail = f"{name}: {text} (HTTP {status}): {scrub(message)}"
    if status in _RETRYABLE or status >= 500:
        return ProviderUnavailable(detail)
    return ProviderRejected(detail)


def count(value: object) -> int:
    """A token count from an unvalidated response: a positive int, else 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


@dataclass(frozen=True, slots=True)
class SdkErrors:
    """One SDK's exception classes, most general first."""

    base: type[Exception]  # APIError: everything the SDK raises on purpose
    timeout: type[Exception]  # a subclass of ``connection`` in both SDKs: checked first
    connection: type[Exception]
    status: type[Exception]
    validation: type[Exception]


@dataclass(frozen=True, slots=True)
class Reply:
    """What a client read from its SDK's response."""

    text: str
    input_tokens: int
    output_tokens: int
    model: object  # the model the server says answered; anything but a non-empty str is ignored


class SdkClient(ABC):
    """An ``LLMClient`` over an official SDK: the shared request template."""

    errors: ClassVar[SdkErrors]
    hosted: ClassVar[str]  # the vendor's API host, named when a key is missing

    def __init__(
        self, *, name: str, model: str, api_key: str | None, base_url: str | None, price: Price
    ) -> None:
        self.model = model
        self.name = name
        self.price = price
        if not api_key:
            if base_url is None:
                raise ConfigError(f"{self.name}: an API key is required for {self.hosted}")
            api_key = NO_KEY
        self.api_key = api_key
        self._scrub = Scrubber(api_key)

    async def complete(self, request: ChatRequest) -> Completion:
        started = time.perf_counter()
        try:
            response = await self._send(request)
        except json.JSONDecodeError as err:  # the SDKs let a 200 with a broken JSON body through
            raise MalformedOutput(f"{self.name}: the response body is not valid JSON") from err
        except self.errors.base as err:
            raise self._error(err, request.timeout_s) from err
        latency_ms = (time.perf_counter() - started) * 1000
        reply = self._read(response)
        model = reply.model if isinstance(reply.model, str) and reply.model else self.model
        return Completion(
            text=reply.text,
            provider=self.name,
            model=model,
            input_tokens=reply.input_tokens,
            output_tokens=reply.output_tokens,
            cost_usd=self.price.cost(reply.input_tokens, reply.output_tokens),
            latency_ms=latency_ms,
        )

    @abstractmethod
    async def _send(self, request: ChatRequest) -> object:
        """The SDK call, with the SDK's retries off and ``request.timeout_s`` as its timeout."""

    @abstractmethod
    def _read(self, response: object) -> Reply:
        """The text and usage of a response. The SDKs do not validate responses (any JSON
        object becomes a response model, with None for missing fields and whatever types the
        server sent): trust nothing, raise ``MalformedOutput`` or ``Refusal``."""

    @abstractmethod
    def _status_message(self, err: Exception) -> str:
        """The provider's own words from an HTTP error."""

    async def close(self) -> None:
        return None

    def _error(self, err: Exception, timeout_s: float) -> ProviderError:
        message = self._scrub(str(getattr(err, "message", "") or err))
        if isinstance(err, self.errors.timeout) and not _refused(err):
            return ProviderUnavailable(f"{self.name}: timed out after {timeout_s:g} s")
        if isinstance(err, self.errors.connection):
            return ProviderUnavailable(f"{self.name}: connection failed ({self._scrub.cause(err)})")
        if isinstance(err, self.errors.status):
            status = count(getattr(err, "status_code", 0))
            if getattr(err, "code", None) in _CONTENT_CODES:
                detail = self._scrub(self._status_message(err))
                return Refusal(f"{self.name}: the content filter refused (HTTP {status}): {detail}")
            return status_error(self.name, status, self._status_message(err), self._scrub)
        if isinstance(err, self.errors.validation):
            return MalformedOutput(f"{self.name}: unexpected response: {message}")
        return ProviderUnavailable(f"{self.name}: {type(err).__name__}: {message}")


def _refused(err: BaseException) -> bool:
    """A connection that failed at once, under an SDK timeout error: the aiohttp transport maps
    every ``aiohttp.ClientConnectionError``, a refused connection included, to a connect
    timeout. Its cause is then an ``OSError`` that is no timeout."""
    seen: set[int] = set()
    cause = err.__cause__ or err.__context__
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, OSError) and not isinstance(cause, TimeoutError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False
