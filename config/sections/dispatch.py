"""``FRONTDESK_DISPATCH__*``: the message pipeline (concurrency, limits, fallback, coalescing)."""

from __future__ import annotations

from pydantic import Field

from config.sections.base import CsvList, CustomerText, PositiveSeconds, Section

FALLBACK_TEXT = (
    "Sorry, something went wrong on our side while answering you. "
    "A teammate has been notified and will get back to you here."
)

SEND_ALLOWANCE_S = 15.0
"""Time allowed for sending one reply, retries included (``bot/delivery.py``)."""


class DispatchSettings(Section):
    max_concurrency: int = Field(1000, ge=1, le=10_000)
    max_in_flight: int = Field(2000, ge=1, le=1_000_000)
    max_message_chars: int = Field(4000, ge=100)
    handler_timeout_seconds: PositiveSeconds = 60.0
    fallback_text: CustomerText = FALLBACK_TEXT
    max_send_failures: int = Field(5, ge=1, le=1000)
    customer_rate_per_minute: float = Field(30.0, ge=0)  # 0: no per-customer limit
    customer_burst: int = Field(10, ge=1, le=10_000)
    customer_rate_channels: CsvList = Field(
        default_factory=lambda: ["slack", "discord", "email", "web"]
    )
    coalesce_seconds: float = Field(2.0, ge=0, le=60)
    coalesce_channels: CsvList = Field(default_factory=lambda: ["slack", "discord"])
