"""The chat-completion protocol every LLM client implements (OpenAI, Anthropic, local, fake).

A client turns one ``ChatRequest`` into one ``Completion`` or raises ``ProviderError``; the
subclass says what went wrong and so what the router does with it:

* ``ProviderUnavailable`` (timeout, connection, 429, 5xx): try the next provider; counts
  against this one's circuit breaker;
* ``ProviderRejected`` (400, auth, permission): the same, retrying here is pointless;
* ``MalformedOutput`` (a response that breaks the API's own shape: a broken server or a wrong
  base URL): the same;
* ``Refusal`` (a ``ProviderRejected``: the model or its content filter declined this message) and
  ``InvalidAnswer`` (a ``MalformedOutput`` raised by the answerer: the content is not our JSON
  or fails a check): try the next provider, but never held against this one's health, since a
  customer can provoke either at will.

Clients never retry on their own: the router owns retries, fallback, breakers and hedging. The
OpenAI and Anthropic clients share one request template (``sdk_common.SdkClient``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from config.errors import ProviderError

Role = Literal["user", "assistant"]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class ChatRequest:
    system: str
    messages: tuple[ChatMessage, ...]
    max_output_tokens: int = 600
    temperature: float = 0.2
    json_output: bool = True  # ask for a JSON object when the API supports it
    timeout_s: float = 20.0


@dataclass(frozen=True, slots=True)
class Price:
    """US dollars per million tokens."""

    input_per_million: float = 0.0
    output_per_million: float = 0.0

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (
            input_tokens * self.input_per_million + output_tokens * self.output_per_million
        ) / 1_000_000


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    latency_ms: float


class LLMClient(Protocol):
    """One provider + model. ``name`` is unique per deployment (e.g. ``openai:gpt-4o-mini``)."""

    name: str
    price: Price

    async def complete(self, request: ChatRequest) -> Completion: ...

    async def close(self) -> None: ...


class ProviderUnavailable(ProviderError):
    """Timeout, connection failure, rate limit, 5xx: another provider may well succeed."""


class ProviderRejected(ProviderError):
    """The provider refused the request itself (400, auth, content policy)."""


class Refusal(ProviderRejected):
    """The model declined to answer this message. About the message, not the provider's
    health: a customer can provoke it at will."""


class MalformedOutput(ProviderError):
    """The provider answered, but not in the structure its API promises (wrong shape, broken
    JSON, no text): a broken server or a wrong base URL."""


class InvalidAnswer(MalformedOutput):
    """The model's reply arrived intact, but its content is unusable: not the JSON object we
    asked for, or it failed a post-check. About the content, not the provider's health: a
    customer can provoke it at will ("answer in plain text")."""
