"""Metrics and health wired into the running bot: counters after traffic with bounded labels,
LLM metrics from the router, readiness following a real redis-server, ``frontdesk health``."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import aiohttp
import pytest

from bot.cli import main
from bot.health import Health
from bot.metrics import Metrics
from bot.observer import Observer
from bot.ops_server import OpsServer
from brain.breaker import BreakerConfig
from brain.knowledge import KnowledgeBase
from brain.prompts import PromptConfig
from brain.providers.answerer import LLMAnswerer
from brain.providers.base import AnswerRequest, Passage
from brain.providers.fake import ScriptedClient
from brain.providers.llm import Price, ProviderUnavailable
from brain.providers.offline import OfflineAnswerer
from brain.redact import Redactor
from brain.router import Router, RouterConfig
from brain.store.base import StoreLimits
from brain.store.redis import RedisStore
from brain.store.sqlite import SqliteStore
from config.settings import PACKAGED_KNOWLEDGE_DIR
from tests.ops_bot import running_bot, settings_for
from tests.servers import start_redis

LABEL = re.compile(r'(\w+)="([^"]*)"')


async def scrape(base: str, path: str = "/metrics") -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(base + path) as response:
        return response.status, await response.text()


async def test_metrics_show_the_traffic_with_bounded_labels(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "bot.db", limits=StoreLimits())
    await store.open()
    try:
        async with running_bot(settings_for(str(tmp_path)), store) as bot:
            await bot.customer("How do I track my order 4471-XY?", conversation="c1")
            message = bot.channel.message("I want to talk to a human now", conversation="c2")
            assert await bot.channel.inject(message)
            assert not await bot.channel.inject(message)  # the platform redelivered it
            await bot.parts.dispatcher.drain()
            status, text = await scrape(bot.base_url)
    finally:
        await store.close()
    assert status == 200
    assert 'frontdesk_messages_received_total{channel="fake"} 2.0' in text
    assert 'frontdesk_replies_sent_total{channel="fake"} 2.0' in text
    assert 'frontdesk_decisions_total{kind="reply"} 1.0' in text
    assert 'frontdesk_decisions_total{kind="escalate"} 1.0' in text
    assert 'frontdesk_escalations_total{reason="human_requested"} 1.0' in text
    assert "frontdesk_duplicates_dropped_total 1.0" in text
    assert "frontdesk_handle_seconds_count 2.0" in text
    assert "frontdesk_tickets_open 1.0" in text and "frontdesk_queue_depth 0.0" in text
    assert 'frontdesk_channel_connected{channel="fake"} 1.0' in text
    assert 'frontdesk_first_response_seconds_count{responder="bot"} 2.0' in text
    assert 'frontdesk_intents_total{intent="track_order"} 1.0' in text
    assert "frontdesk_tickets_unclaimed_past_sla 0.0" in text
    assert "frontdesk_llm_budget_usd 20.0" in text and "frontdesk_llm_spend_today_usd 0.0" in text
    values = {v for line in text.splitlines() if not line.startswith("#")
              for _, v in LABEL.findall(line)}  # fmt: skip
    assert values, "no labelled samples"
    for value in values:  # names, kinds, reasons, bucket bounds: never ids or text
        assert re.fullmatch(r"[a-z_+.0-9]+|\+Inf", value), value
    assert not any(v in ("c1", "c2", "fake:-:c1") or "4471" in v for v in values)


async def test_llm_requests_latency_tokens_cost_and_breakers(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "llm.db", limits=StoreLimits())
    await store.open()
    metrics = Metrics()
    observer = Observer(metrics=metrics)
    failing = ScriptedClient("openai:gpt-4o-mini", [ProviderUnavailable("HTTP 500")] * 3)
    good = ScriptedClient("anthropic:claude-haiku", price=Price(1.0, 5.0))
    prompts = PromptConfig(company="Larkspur Home")
    answerers = [LLMAnswerer(c, prompts, Redactor()) for c in (failing, good)]
    breaker = BreakerConfig(consecutive_failures=2, cooldown_s=60)
    tiers = {"fast": answerers}
    router = Router(tiers, OfflineAnswerer(), store, RouterConfig(), breaker, observer=observer.llm)
    passage = Passage(id="returns", title="Returns", text="30 days.", score=0.4)
    try:
        for question in ("can I return a lamp?", "can I return a chair?"):
            await router.answer(AnswerRequest(question=question, language="en",
                                              passages=(passage,)))  # fmt: skip
        health = Health(store, [], None, router)  # type: ignore[arg-type]
        text = metrics.render(await health.snapshot()).decode()
    finally:
        await store.close()
    assert (
        'frontdesk_llm_requests_total{model="gpt-4o-mini",outcome="error",provider="openai"} 2.0'
        in text
    )
    ok = 'frontdesk_llm_requests_total{model="claude-haiku",outcome="ok",provider="anthropic"} 2.0'
    assert ok in text
    assert 'frontdesk_llm_seconds_count{model="claude-haiku",provider="anthropic"} 2.0' in text
    assert re.search(r'frontdesk_llm_tokens_total\{model="claude-haiku",provider="anthropic",'
                     r'type="input"\} [1-9]', text)  # fmt: skip
    assert re.search(r'frontdesk_llm_cost_usd_total\{model="claude-haiku",'
                     r'provider="anthropic"\} [0-9.e-]+', text)  # fmt: skip
    assert 'frontdesk_breaker_open{model="gpt-4o-mini",provider="openai"} 1.0' in text
    assert 'frontdesk_breaker_open{model="claude-haiku",provider="anthropic"} 0.0' in text


async def test_readyz_follows_the_store_down_and_back(tmp_path: Path) -> None:
    server = start_redis(tmp_path / "redis")
    store = RedisStore.from_url(server.url, limits=StoreLimits())
    await store.open()
    knowledge = KnowledgeBase.load(PACKAGED_KNOWLEDGE_DIR)

    class Brain:  # the readiness check only asks whether a knowledge base is loaded
        def __init__(self) -> None:
            self.knowledge = knowledge

    health = Health(store, [], Brain(), None)  # type: ignore[arg-type]
    ops = OpsServer("127.0.0.1", 0, Metrics(), health.snapshot, health.readiness)
    await ops.start()
    base = f"http://127.0.0.1:{ops.bound_port}"

    async def ready_status(want: int) -> dict[str, object]:
        for _ in range(100):
            async with aiohttp.ClientSession() as http, http.get(base + "/readyz") as response:
                body: dict[str, object] = await response.json()
                if response.status == want:
                    return body
            await asyncio.sleep(0.05)
        raise AssertionError(f"/readyz never answered {want}: {body}")

    try:
        await ready_status(200)
        server.stop()
        body = await ready_status(503)
        assert str(body["checks"]["store"]).startswith("unreachable")  # type: ignore[index]
        status, text = await scrape(base, "/healthz")
        assert status == 200 and '"degraded"' in text  # alive, just not ready
        assert "frontdesk_queue_depth -1.0" in (await scrape(base))[1]
        server = start_redis(tmp_path / "redis", port=server.port)
        await ready_status(200)
    finally:
        await ops.stop()
        await store.close()
        server.stop()


async def test_readyz_needs_connected_channels_and_frontdesk_health_asks_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqliteStore(tmp_path / "bot.db", limits=StoreLimits())
    await store.open()
    try:
        async with running_bot(settings_for(str(tmp_path)), store) as bot:
            port = bot.parts.ops.bound_port if bot.parts.ops else None
            monkeypatch.setenv("FRONTDESK_OBSERVABILITY__METRICS_PORT", str(port))
            assert await asyncio.to_thread(main, ["health"]) == 0
            assert await asyncio.to_thread(main, ["health", "--ready"]) == 0
            bot.adapter.up = False
            status, body = await scrape(bot.base_url, "/readyz")
            assert status == 503 and "not connected: fake" in body
            assert await asyncio.to_thread(main, ["health", "--ready"]) == 1
            assert await asyncio.to_thread(main, ["health"]) == 0
            _, text = await scrape(bot.base_url)
            assert 'frontdesk_channel_connected{channel="fake"} 0.0' in text
    finally:
        await store.close()
    monkeypatch.setenv("FRONTDESK_OBSERVABILITY__METRICS_PORT", str(port))
    assert main(["health"]) == 1  # nobody listens any more


def test_metrics_port_setting() -> None:
    import os

    from config.errors import ConfigError
    from config.settings import load_settings

    os.environ["FRONTDESK_OBSERVABILITY__METRICS_PORT"] = "70000"
    try:
        with pytest.raises(ConfigError, match="FRONTDESK_OBSERVABILITY__METRICS_PORT"):
            load_settings(env_file=None)
    finally:
        del os.environ["FRONTDESK_OBSERVABILITY__METRICS_PORT"]
    assert load_settings(env_file=None).observability.metrics_port is None
