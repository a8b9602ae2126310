"""OpenAI and Anthropic clients through the REAL SDKs against a loopback fake of both APIs.

What is pinned down: the request we send (model, system prompt, messages, limits), what we read
back (text, tokens, cost, latency), that the SDKs never retry behind the router's back (the fake
sees exactly one request per call), and how every failure maps onto ``ProviderUnavailable``,
``ProviderRejected`` or ``MalformedOutput`` without leaking the API key.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Literal

import pytest

from brain.providers.anthropic import AnthropicClient
from brain.providers.llm import (
    ChatMessage,
    ChatRequest,
    LLMClient,
    MalformedOutput,
    Price,
    ProviderRejected,
    ProviderUnavailable,
    Refusal,
)
from brain.providers.openai import OpenAIClient
from config.errors import ConfigError, ProviderError
from tests.fakes.fake_llm import ApiKind, FakeLLMServer
from tests.servers import free_port

KEY = "sk-test-S3CRET-0123456789abcdef"
PRICE = Price(input_per_million=3.0, output_per_million=15.0)
SYSTEM = 'You are the support bot. Reply with a JSON object {"answer": ...}.'
REQUEST = ChatRequest(
    system=SYSTEM,
    messages=(
        ChatMessage("user", "Where is my order?"),
        ChatMessage("assistant", "Which order number?"),
        ChatMessage("user", "A-1234"),
    ),
    max_output_tokens=321,
    timeout_s=5.0,
)
WIRE_MESSAGES = [
    {"role": "user", "content": "Where is my order?"},
    {"role": "assistant", "content": "Which order number?"},
    {"role": "user", "content": "A-1234"},
]


def make_client(kind: ApiKind, base_url: str, **options: Any) -> OpenAIClient | AnthropicClient:
    options.setdefault("api_key", KEY)
    if kind == "openai":
        return OpenAIClient(model="gpt-test", base_url=base_url, price=PRICE, **options)
    return AnthropicClient(model="claude-test", base_url=base_url, price=PRICE, **options)


def base_url(fake: FakeLLMServer, kind: ApiKind) -> str:
    return fake.openai_base_url if kind == "openai" else fake.anthropic_base_url


@dataclass
class Api:
    kind: ApiKind
    fake: FakeLLMServer
    client: OpenAIClient | AnthropicClient

    def script(self, *steps: dict[str, Any]) -> None:
        self.fake.script(self.kind, steps)

    @property
    def calls(self) -> int:
        return len(self.fake.requests_for(self.kind))


@pytest.fixture
async def fake() -> AsyncIterator[FakeLLMServer]:
    async with FakeLLMServer() as server:
        yield server


@pytest.fixture(params=["openai", "anthropic"])
async def api(request: pytest.FixtureRequest, fake: FakeLLMServer) -> AsyncIterator[Api]:
    kind: ApiKind = request.param
    client = make_client(kind, base_url(fake, kind))
    yield Api(kind, fake, client)
    await client.close()


async def failure(api: Api, request: ChatRequest = REQUEST) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        await api.client.complete(request)
    err = caught.value
    assert api.client.name in str(err)
    assert KEY not in str(err)
    return err


# ---------- success ----------


async def test_success_reads_text_tokens_cost_and_latency(api: Api) -> None:
    api.fake.reply_with('{"answer": "It ships today."}')
    api.fake.latency = 0.05
    completion = await api.client.complete(REQUEST)
    assert completion.text == '{"answer": "It ships today."}'
    assert completion.provider == f"{api.kind}:{api.client.model}"
    assert completion.model == api.client.model
    assert (completion.input_tokens, completion.output_tokens) == (12, 7)
    assert completion.cost_usd == pytest.approx((12 * 3.0 + 7 * 15.0) / 1_000_000)
    assert completion.latency_ms >= 50
    assert api.calls == 1


async def test_openai_request_body(fake: FakeLLMServer) -> None:
    client = make_client("openai", fake.openai_base_url)
    try:
        await client.complete(REQUEST)
    finally:
        await client.close()
    (sent,) = fake.requests_for("openai")
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.body["model"] == "gpt-test"
    assert sent.body["messages"] == [{"role": "system", "content": SYSTEM}, *WIRE_MESSAGES]
    assert sent.body["max_tokens"] == 321  # a base_url server: the name every server knows
    assert "max_completion_tokens" not in sent.body
    assert sent.body["temperature"] == pytest.approx(0.2)
    assert sent.body["response_format"] == {"type": "json_object"}
    assert sent.headers["x-stainless-retry-count"] == "0"


async def test_anthropic_request_body(fake: FakeLLMServer) -> None:
    client = make_client("anthropic", fake.anthropic_base_url)
    try:
        await client.complete(REQUEST)
    finally:
        await client.close()
    (sent,) = fake.requests_for("anthropic")
    auth = sent.headers.get("x-api-key") or sent.headers["authorization"].removeprefix("Bearer ")
    assert auth == KEY
    assert sent.body["model"] == "claude-test"
    assert sent.body["system"] == SYSTEM
    assert sent.body["messages"] == WIRE_MESSAGES
    assert sent.body["max_tokens"] == 321
    assert "temperature" not in sent.body  # API 2026-10-21 answers 400 to any sampling param


async def test_openai_token_limit_name_and_json_mode_are_configurable(
    fake: FakeLLMServer,
) -> None:
    client = OpenAIClient(
        model="m",
        api_key=KEY,
        base_url=fake.openai_base_url,
        json_mode=False,
        token_limit_param="max_completion_tokens",
    )
    try:
        await client.complete(REQUEST)
    finally:
        await client.close()
    (sent,) = fake.requests_for("openai")
    assert sent.body["max_completion_tokens"] == 321
    assert "max_tokens" not in sent.body
    assert "response_format" not in sent.body


async def test_no_json_format_when_the_request_does_not_ask(api: Api) -> None:
    plain = ChatRequest(system="", messages=(ChatMessage("user", "hi"),), json_output=False)
    await api.client.complete(plain)
    (sent,) = api.fake.requests_for(api.kind)
    assert "response_format" not in sent.body
    assert "system" not in sent.body  # an empty system prompt is left out
    assert sent.body["messages"] == [{"role": "user", "content": "hi"}]


async def test_local_server_needs_no_key(fake: FakeLLMServer) -> None:
    client = OpenAIClient(
        model="llama3.1:8b", api_key=None, base_url=fake.openai_base_url, name="local:llama3.1:8b"
    )
    try:
        completion = await client.complete(REQUEST)
    finally:
        await client.close()
    assert completion.provider == "local:llama3.1:8b"
    assert completion.cost_usd == 0.0
    assert fake.requests[0].headers["authorization"] == "Bearer not-needed"


@pytest.mark.parametrize("factory", [OpenAIClient, AnthropicClient])
def test_hosted_api_without_key_is_a_config_error(factory: Callable[..., LLMClient]) -> None:
    with pytest.raises(ConfigError, match="API key"):
        factory(model="m", api_key=None)


async def test_per_call_timeout_wins_over_the_client_default(fake: FakeLLMServer) -> None:
    client = make_client("openai", fake.openai_base_url, timeout_s=0.2)
    fake.script("openai", [{"delay": 0.5}])
    try:
        completion = await client.complete(REQUEST)  # REQUEST.timeout_s is 5 s
    finally:
        await client.close()
    assert completion.text == fake.reply


# ---------- provider unavailable: the router may try elsewhere ----------


async def test_429_with_retry_after_fails_at_once_without_sdk_retry(api: Api) -> None:
    api.script({"status": 429, "headers": {"retry-after": "30"}})
    err = await failure(api)
    assert isinstance(err, ProviderUnavailable)
    assert "429" in str(err)
    assert err.__cause__ is not None  # raised "from" the SDK's error
    assert api.calls == 1


@pytest.mark.parametrize("status", [500, 503, 408, 409])
async def test_server_errors_are_unavailable_after_one_request(api: Api, status: int) -> None:
    api.script({"status": status})
    err = await failure(api)
    assert isinstance(err, ProviderUnavailable)
    assert f"HTTP {status}" in str(err)
    assert api.calls == 1


async def test_anthropic_overloaded_529_is_unavailable(fake: FakeLLMServer) -> None:
    client = make_client("anthropic", fake.anthropic_base_url)
    fake.script("anthropic", [{"status": 529}])
    try:
        with pytest.raises(ProviderUnavailable, match="overloaded"):
            await client.complete(REQUEST)
    finally:
        await client.close()
    assert len(fake.requests) == 1


async def test_hang_past_the_request_timeout_is_unavailable(api: Api) -> None:
    api.script({"delay": 2.0})
    started = time.perf_counter()
    err = await failure(api, ChatRequest(system=SYSTEM, messages=REQUEST.messages, timeout_s=0.3))
    assert time.perf_counter() - started < 1.5  # did not wait for the server
    assert isinstance(err, ProviderUnavailable)
    assert "timed out" in str(err)
    assert err.__cause__ is not None
    assert api.calls == 1


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_connection_refused_is_unavailable(kind: ApiKind) -> None:
    port = free_port()  # nothing listens there
    url = f"http://127.0.0.1:{port}/v1" if kind == "openai" else f"http://127.0.0.1:{port}"
    client = make_client(kind, url)
    try:
        with pytest.raises(ProviderUnavailable, match="connection failed") as caught:
            await client.complete(REQUEST)
    finally:
        await client.close()
    assert client.name in str(caught.value)
    assert KEY not in str(caught.value)


# ---------- provider rejected: retrying the same request is pointless ----------


@pytest.mark.parametrize("status", [400, 403, 404, 422])
async def test_client_errors_are_rejected(api: Api, status: int) -> None:
    api.script({"status": status, "message": "no such thing"})
    err = await failure(api)
    assert isinstance(err, ProviderRejected)
    assert f"HTTP {status}" in str(err)
    assert "no such thing" in str(err)
    assert err.__cause__ is not None
    assert api.calls == 1


async def test_bad_key_is_rejected_and_the_echoed_key_is_scrubbed(api: Api) -> None:
    api.script({"status": 401, "message": f"Incorrect API key provided: {KEY[:12]}***{KEY[-4:]}"})
    err = await failure(api)
    assert isinstance(err, ProviderRejected)
    assert "check the API key" in str(err)
    assert KEY[:12] not in str(err)


async def test_full_key_echoed_in_an_error_is_scrubbed(api: Api) -> None:
    api.script({"status": 403, "message": f"key {KEY} may not use this model"})
    err = await failure(api)  # asserts the key is absent
    assert "may not use this model" in str(err)


async def test_refusal_is_rejected(api: Api) -> None:
    api.script({"refusal": "I can't help with that."})
    err = await failure(api)
    assert isinstance(err, Refusal) and isinstance(err, ProviderRejected)
    assert "refused" in str(err)


@pytest.mark.parametrize(
    "step",
    [{"content_filter": True}, {"status": 400, "code": "content_filter", "message": "filtered"}],
    ids=["finish-reason", "http-400"],
)
async def test_openai_content_filter_is_a_refusal(
    fake: FakeLLMServer, step: dict[str, Any]
) -> None:
    """What the customer wrote tripped the filter: about the message, not the provider."""
    client = make_client("openai", fake.openai_base_url)
    fake.script("openai", [step])
    try:
        with pytest.raises(Refusal, match="content filter"):
            await client.complete(REQUEST)
    finally:
        await client.close()


# ---------- malformed output: the provider answered, but not usably ----------


@pytest.mark.parametrize(
    "step",
    [
        {"malformed": True},  # JSON of the wrong shape: the SDK builds a model full of None
        {"malformed": "not-json"},  # the SDK lets json.JSONDecodeError through
        {"malformed": "text"},  # text/plain: the SDK returns a bare str
        {"text": ""},
        {"text": "  \n "},
    ],
    ids=["wrong-shape", "broken-json", "plain-text", "empty", "blank"],
)
async def test_unusable_200_is_malformed_output(api: Api, step: dict[str, Any]) -> None:
    api.script(step)
    err = await failure(api)
    assert isinstance(err, MalformedOutput)
    assert api.calls == 1


# ---------- protocol ----------


async def test_cancellation_propagates_unchanged(api: Api) -> None:
    """The router cancels the slower of two hedged calls: that must stay a CancelledError."""
    api.script({"delay": 2.0})
    # wait_for cancels the call; a ProviderError here would mean the SDK swallowed the cancel
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(api.client.complete(REQUEST), timeout=0.3)
    assert api.calls == 1


@pytest.mark.parametrize(
    ("kind", "expected"), [("openai", "openai:gpt-test"), ("anthropic", "anthropic:claude-test")]
)
async def test_default_names_and_protocol(
    fake: FakeLLMServer, kind: Literal["openai", "anthropic"], expected: str
) -> None:
    client: LLMClient = make_client(kind, base_url(fake, kind))
    try:
        assert client.name == expected
        assert client.price == PRICE
    finally:
        await client.close()
