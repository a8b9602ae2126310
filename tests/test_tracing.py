"""OpenTelemetry spans for LLM calls: GenAI attributes, no content, only when configured."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from bot.observer import Observer
from bot.tracing import build_tracer
from brain.breaker import BreakerConfig
from brain.prompts import PromptConfig
from brain.providers.answerer import LLMAnswerer
from brain.providers.base import AnswerRequest, Passage
from brain.providers.fake import ScriptedClient
from brain.providers.llm import Price, ProviderUnavailable
from brain.providers.offline import OfflineAnswerer
from brain.redact import Redactor
from brain.router import Router, RouterConfig
from brain.store.base import StoreLimits
from brain.store.sqlite import SqliteStore
from config.errors import ConfigError
from config.settings import load_settings

QUESTION = "Can I return the lamp I bought, my email is jane.doe@example.com?"


async def test_one_span_per_attempt_with_genai_attributes_and_no_content(
    tmp_path: Path,
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    observer = Observer(tracer=provider.get_tracer("test"))
    failing = ScriptedClient("openai:gpt-4o-mini", [ProviderUnavailable("HTTP 500")])
    good = ScriptedClient("anthropic:claude-haiku", price=Price(1.0, 5.0))
    prompts = PromptConfig(company="Larkspur Home")
    answerers = [LLMAnswerer(c, prompts, Redactor()) for c in (failing, good)]
    store = SqliteStore(tmp_path / "t.db", limits=StoreLimits())
    await store.open()
    router = Router({"fast": answerers}, OfflineAnswerer(), store, RouterConfig(),
                    BreakerConfig(), observer=observer.llm)  # fmt: skip
    passage = Passage(id="returns", title="Returns", text="30 days.", score=0.4)
    try:
        await router.answer(AnswerRequest(question=QUESTION, language="en", passages=(passage,)))
    finally:
        await store.close()
    spans = exporter.get_finished_spans()
    assert [s.name for s in spans] == ["chat gpt-4o-mini", "chat claude-haiku"]
    failed, ok = (dict(s.attributes or {}) for s in spans)
    assert failed["gen_ai.provider.name"] == "openai" and failed["error.type"] == "error"
    assert ok["gen_ai.operation.name"] == "chat" and ok["gen_ai.request.model"] == "claude-haiku"
    assert int(ok["gen_ai.usage.input_tokens"]) > 0 and "error.type" not in ok
    assert spans[1].end_time > spans[1].start_time
    for span in spans:  # content is off: nothing the customer wrote or the model answered
        values = " ".join(str(v) for v in (span.attributes or {}).values())
        assert "lamp" not in values and "jane" not in values and "answer from" not in values
        assert not any(k.startswith(("gen_ai.input", "gen_ai.output", "gen_ai.prompt"))
                       for k in span.attributes or {})  # fmt: skip


def test_off_unless_an_endpoint_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    assert build_tracer(None) is None
    assert load_settings(env_file=None).observability.otlp_endpoint is None
    monkeypatch.setenv("FRONTDESK_OBSERVABILITY__OTLP_ENDPOINT", "collector:4318")
    with pytest.raises(ConfigError, match="FRONTDESK_OBSERVABILITY__OTLP_ENDPOINT"):
        load_settings(env_file=None)
    assert build_tracer("http://127.0.0.1:4318/v1/traces") is not None
