"""Optional OpenTelemetry spans for LLM calls, following the GenAI semantic conventions.

Off unless ``FRONTDESK_OBSERVABILITY__OTLP_ENDPOINT`` names an OTLP/HTTP collector (and the
``otel`` extra is installed: ``pip install 'frontdesk[otel]'``). One span per provider attempt,
named ``chat <model>``, kind CLIENT, with ``gen_ai.operation.name``, ``gen_ai.provider.name``,
``gen_ai.request.model``, ``gen_ai.usage.input_tokens`` / ``output_tokens`` and, on failure,
``error.type`` (the attempt's outcome). Content is never recorded: no prompt, no answer, no
customer text (the conventions make content opt-in; Frontdesk offers no opt-in).

The span is written when the attempt is over, from the router's per-attempt record
(``brain.router.LLMCall``), with the attempt's real start and end times.
"""

from __future__ import annotations

import time
from typing import Any

from brain.router import LLMCall
from config.errors import ConfigError

_OUTCOME_ERRORS = {"error", "timeout", "invalid", "rejected", "cancelled"}


def build_tracer(endpoint: str | None) -> Any:
    """A tracer exporting to ``endpoint``, or None when tracing is off."""
    if endpoint is None:
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )
        from opentelemetry.sdk.resources import Resource  # noqa: PLC0415
        from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
        from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415
    except ImportError as err:
        raise ConfigError(
            "FRONTDESK_OBSERVABILITY__OTLP_ENDPOINT: tracing needs the otel extra "
            "(pip install 'frontdesk[otel]')"
        ) from err
    provider = TracerProvider(resource=Resource.create({"service.name": "frontdesk"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider.get_tracer("frontdesk")


def record_llm_span(tracer: Any, call: LLMCall) -> None:
    from opentelemetry.trace import SpanKind, Status, StatusCode  # noqa: PLC0415

    end = time.time_ns()
    start = end - int(call.seconds * 1e9)
    attributes: dict[str, str | int | float] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": call.provider,
        "gen_ai.request.model": call.model,
        "gen_ai.usage.input_tokens": call.input_tokens,
        "gen_ai.usage.output_tokens": call.output_tokens,
    }
    span = tracer.start_span(
        f"chat {call.model}", kind=SpanKind.CLIENT, start_time=start, attributes=attributes
    )
    if call.outcome in _OUTCOME_ERRORS:
        span.set_attribute("error.type", call.outcome)
        span.set_status(Status(StatusCode.ERROR))
    span.end(end_time=end)
