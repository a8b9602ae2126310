"""The router through the real OpenAI and Anthropic SDKs against a loopback fake server.

Every failure mode of the primary must end in the secondary's answer, with nothing the customer
could see; personal data must never reach the server.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.wiring import build_brain
from brain.breaker import BreakerConfig, State
from brain.decision import DecisionKind
from brain.knowledge import KnowledgeBase
from brain.prompts import PromptConfig
from brain.providers.answerer import LLMAnswerer
from brain.providers.anthropic import AnthropicClient
from brain.providers.base import AnswerRequest, Passage
from brain.providers.fake import json_answer
from brain.providers.llm import Price
from brain.providers.offline import OfflineAnswerer
from brain.providers.openai import OpenAIClient
from brain.redact import Redactor
from brain.router import Router, RouterConfig
from brain.store.base import Store, StoreLimits
from brain.store.sqlite import SqliteStore
from channels.base import Author, ConversationRef, InboundMessage
from config.settings import PACKAGED_KNOWLEDGE_DIR, load_settings
from tests.fakes.fake_llm import ApiKind, FakeLLMServer
from tests.servers import free_port

PASSAGE = Passage(id="return-an-item", title="Returns", text="You have 30 days.", score=0.5)
GOOD = json_answer("You have 30 days to return it.", 0.9, ["return-an-item"])


@pytest.fixture
async def fake() -> AsyncIterator[FakeLLMServer]:
    async with FakeLLMServer(reply=GOOD) as server:
        yield server


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    instance = SqliteStore(tmp_path / "llm.db", limits=StoreLimits())
    await instance.open()
    yield instance
    await instance.close()


def openai_at(url: str) -> OpenAIClient:
    return OpenAIClient(
        model="gpt-4o-mini", api_key="sk-test", base_url=url, price=Price(0.15, 0.6)
    )


def anthropic_at(url: str) -> AnthropicClient:
    return AnthropicClient(
        model="claude-haiku-4-5", api_key="sk-ant-test", base_url=url, price=Price(1.0, 5.0)
    )


def make_router(store: Store, clients: list[Any], **config: Any) -> Router:
    prompts = PromptConfig(company="Larkspur Home")
    answerers = [LLMAnswerer(c, prompts, Redactor()) for c in clients]
    settings = {"attempt_timeout_s": 0.5, "deadline_s": 5.0, **config}
    return Router(
        {"fast": answerers},
        OfflineAnswerer(),
        store,
        RouterConfig(**settings),
        BreakerConfig(consecutive_failures=2, cooldown_s=60),
    )


def ask(question: str = "Can I return my lamp?", **fields: Any) -> AnswerRequest:
    return AnswerRequest(question=question, language="en", passages=(PASSAGE,), **fields)


async def test_both_sdks_answer(fake: FakeLLMServer, store: SqliteStore) -> None:
    for client in (openai_at(fake.openai_base_url), anthropic_at(fake.anthropic_base_url)):
        answer = await make_router(store, [client], cache_ttl_s=0).answer(ask())
        assert answer.text == "You have 30 days to return it."
        assert answer.provider == client.name and answer.cost_usd > 0
        await client.close()


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 429, "headers": {"retry-after": "300"}},
        {"status": 500},
        {"delay": 3.0},  # hangs past the 0.5 s attempt timeout
        {"malformed": True},
    ],
    ids=["429-retry-after", "500", "hang", "malformed-body"],
)
async def test_openai_failures_fall_back_to_anthropic(
    fake: FakeLLMServer, store: SqliteStore, failure: dict[str, Any]
) -> None:
    fake.script("openai", [failure])
    primary, secondary = openai_at(fake.openai_base_url), anthropic_at(fake.anthropic_base_url)
    answer = await make_router(store, [primary, secondary]).answer(ask())
    assert answer.provider == secondary.name
    assert answer.text == "You have 30 days to return it."
    assert len(fake.requests_for("openai")) == 1, "our code owns retries, not the SDK"
    await primary.close()
    await secondary.close()


async def test_anthropic_overloaded_falls_back_to_openai(
    fake: FakeLLMServer, store: SqliteStore
) -> None:
    fake.script("anthropic", [{"status": 529}])
    primary, secondary = anthropic_at(fake.anthropic_base_url), openai_at(fake.openai_base_url)
    answer = await make_router(store, [primary, secondary]).answer(ask())
    assert answer.provider == secondary.name
    await primary.close()
    await secondary.close()


async def test_connection_refused_falls_back(fake: FakeLLMServer, store: SqliteStore) -> None:
    dead = openai_at(f"http://127.0.0.1:{free_port()}/v1")
    alive = anthropic_at(fake.anthropic_base_url)
    answer = await make_router(store, [dead, alive]).answer(ask())
    assert answer.provider == alive.name
    await dead.close()
    await alive.close()


async def test_breaker_stops_calling_a_dead_provider(
    fake: FakeLLMServer, store: SqliteStore
) -> None:
    fake.script("openai", [{"status": 500}] * 10)
    primary, secondary = openai_at(fake.openai_base_url), anthropic_at(fake.anthropic_base_url)
    routing = make_router(store, [primary, secondary], cache_ttl_s=0)
    for i in range(5):
        assert (await routing.answer(ask(f"question {i}"))).provider == secondary.name
    assert len(fake.requests_for("openai")) == 2, "open after 2 failures: no more calls"
    await primary.close()
    await secondary.close()


async def test_invalid_json_is_repaired_then_falls_back(
    fake: FakeLLMServer, store: SqliteStore
) -> None:
    fake.script("openai", [{"text": "Sure, 30 days!"}, {"text": "30 days, honestly"}])
    primary, secondary = openai_at(fake.openai_base_url), anthropic_at(fake.anthropic_base_url)
    answer = await make_router(store, [primary, secondary]).answer(ask())
    assert len(fake.requests_for("openai")) == 2, "one repair attempt"
    assert answer.provider == secondary.name
    await primary.close()
    await secondary.close()


async def test_card_number_never_reaches_the_provider(
    fake: FakeLLMServer, store: SqliteStore
) -> None:
    fake.reply_with(json_answer("I see the card [CARD_1] and the email [EMAIL_1].", 0.9))
    client = openai_at(fake.openai_base_url)
    question = "My card 4111 1111 1111 1111 was charged twice, mail me at robin@home.example"
    answer = await make_router(store, [client]).answer(ask(question))
    sent = json.dumps(fake.requests_for("openai")[0].body)
    assert "4111" not in sent and "robin@home.example" not in sent
    assert "[CARD_1]" in sent and "[EMAIL_1]" in sent
    assert answer.text == "I see the card 4111 1111 1111 1111 and the email robin@home.example."
    await client.close()


async def test_brain_answers_through_the_llm_when_configured(
    fake: FakeLLMServer, store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTDESK_PROVIDERS__OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("FRONTDESK_PROVIDERS__OPENAI_BASE_URL", fake.openai_base_url)
    monkeypatch.setenv("FRONTDESK_PROVIDERS__FAQ_DIRECT_THRESHOLD", "0.95")
    fake.reply_with(json_answer("Bis zu 30 Tage.", 0.9, ["return-an-item"]))
    brain, _ = build_brain(
        load_settings(env_file=None), store, KnowledgeBase.load(PACKAGED_KNOWLEDGE_DIR)
    )
    message = InboundMessage(
        ref=ConversationRef(channel="fake", conversation_id="c1"),
        message_id="m1",
        author=Author(id="cust"),
        text="Kann ich einen Artikel zurückschicken, den ich nicht mag?",
    )
    decision = await brain.handle(message)
    assert decision.kind is DecisionKind.REPLY and decision.text == "Bis zu 30 Tage."
    body = fake.requests_for("openai")[0].body
    assert body["model"] == "gpt-4o-mini"  # a simple question goes to the fast tier
    assert "German" in body["messages"][0]["content"]
    counters = await store.counters()
    assert counters["llm_calls:openai:gpt-4o-mini"] == 1
    await brain.close()


OPENAI_COST = (12 * 0.15 + 7 * 0.6) / 1_000_000  # the fake's usage at openai_at's price
ANTHROPIC_COST = (12 * 1.0 + 7 * 5.0) / 1_000_000


async def test_plain_text_answers_do_not_switch_the_provider_off(
    fake: FakeLLMServer, store: SqliteStore
) -> None:
    """One customer asking for "plain text, no JSON" must not open the breaker for everyone."""
    fake.script("openai", [{"text": "Sure, plain text: 30 days."}] * 8)
    client = openai_at(fake.openai_base_url)
    routing = make_router(store, [client], cache_ttl_s=0)
    for i in range(4):  # 8 unusable completions; the breaker opens after 2 failures
        assert (await routing.answer(ask(f"answer in plain text please {i}"))).provider == "offline"
    assert routing.breaker_states()[client.name] is State.CLOSED
    answer = await routing.answer(ask("Can I return my lamp?"))
    assert answer.provider == client.name, "the next customer still gets the LLM"
    await client.close()


@pytest.mark.parametrize(
    ("kind", "step"),
    [
        ("anthropic", {"refusal": True}),
        ("openai", {"refusal": "I can't help with that."}),
        ("openai", {"content_filter": True}),
        ("openai", {"status": 400, "code": "content_filter", "message": "filtered"}),
    ],
    ids=["anthropic-refusal", "openai-refusal", "openai-filter", "openai-filter-400"],
)
async def test_refusals_do_not_switch_the_provider_off(
    fake: FakeLLMServer, store: SqliteStore, kind: ApiKind, step: dict[str, Any]
) -> None:
    fake.script(kind, [step] * 3)
    client = (
        openai_at(fake.openai_base_url)
        if kind == "openai"
        else anthropic_at(fake.anthropic_base_url)
    )
    routing = make_router(store, [client], cache_ttl_s=0)
    for i in range(3):
        assert (await routing.answer(ask(f"something nasty {i}"))).provider == "offline"
    assert routing.breaker_states()[client.name] is State.CLOSED
    assert (await routing.answer(ask("Can I return my lamp?"))).provider == client.name
    await client.close()


async def test_every_completion_is_paid_for_repairs_and_failures_included(
    fake: FakeLLMServer, store: SqliteStore
) -> None:
    fake.script("openai", [{"text": "not json"}, {"text": "still not json"}])
    primary, secondary = openai_at(fake.openai_base_url), anthropic_at(fake.anthropic_base_url)
    answer = await make_router(store, [primary, secondary]).answer(ask(conversation_key="c-1"))
    assert answer.provider == secondary.name
    counters = await store.counters()
    assert counters["llm_calls"] == 3
    assert counters[f"llm_calls:{primary.name}"] == 2
    assert counters[f"llm_cost_usd:{primary.name}"] == pytest.approx(2 * OPENAI_COST)
    total = 2 * OPENAI_COST + ANTHROPIC_COST
    assert counters["llm_cost_usd"] == pytest.approx(total)
    per_conversation = float(await store.kv_get("conversation_cost_usd:c-1") or 0)
    assert per_conversation == pytest.approx(total, abs=1e-6)
    await primary.close()
    await secondary.close()


async def test_spend_is_counted_when_every_provider_fails(
    fake: FakeLLMServer, store: SqliteStore
) -> None:
    fake.script("openai", [{"text": "We will refund you the full amount today."}] * 2)
    fake.script("anthropic", [{"text": "nope"}, {"delay": 3.0}])  # the repair hangs
    primary, secondary = openai_at(fake.openai_base_url), anthropic_at(fake.anthropic_base_url)
    answer = await make_router(store, [primary, secondary]).answer(ask())
    assert answer.provider == "offline"
    counters = await store.counters()
    assert counters["llm_calls"] == 3, "the hung repair returned nothing to pay for"
    assert counters["llm_cost_usd"] == pytest.approx(2 * OPENAI_COST + ANTHROPIC_COST)
    await primary.close()
    await secondary.close()
