"""``FRONTDESK_WEB__*``: the REST API, webhooks out and the chat widget."""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, field_validator

from config.sections.base import CsvList, PositiveSeconds, Section

WEB_SCOPES = ("chat", "admin")


class WebSettings(Section):
    """The web channel: REST API under /api/v1, webhooks out, the embeddable chat widget.

    ``api_keys`` are comma-separated ``scope:key`` pairs (scopes ``chat``, ``admin``);
    ``webhooks`` comma-separated ``URL SECRET`` pairs (both secret: URLs often carry tokens).
    """

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)  # 0: any free port (tests)
    api_keys: SecretStr | None = None
    token_secret: SecretStr | None = None  # signs customer tokens; unset: one kept in data_dir
    token_ttl_hours: float = Field(168.0, gt=0)
    public_conversations: bool = True  # browsers may open conversations without a server key
    cors_origins: CsvList = []
    frame_ancestors: CsvList = []
    trust_forwarded_for: bool = False  # behind a reverse proxy: client IP from X-Forwarded-For
    max_body_bytes: int = Field(16_384, ge=1024)
    max_message_chars: int = Field(4000, ge=100)
    rate_limit_per_minute: int = Field(120, ge=1)  # per client IP
    key_rate_limit_per_minute: int = Field(1200, ge=1)  # per API key
    webhooks: SecretStr | None = None
    webhook_events: CsvList = []  # empty: every event
    webhook_max_attempts: int = Field(12, ge=1)
    webhook_retry_seconds: PositiveSeconds = 2.0  # first retry; doubles, capped at 10 minutes
    webhook_timeout_seconds: PositiveSeconds = 10.0

    @field_validator("api_keys")
    @classmethod
    def _keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            web_api_keys(value)
        return value

    @field_validator("webhooks")
    @classmethod
    def _hooks(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            web_webhooks(value)
        return value

    @field_validator("cors_origins", "frame_ancestors")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if not re.fullmatch(r"https?://[^/\s;,]+", origin):
                raise ValueError(f"{origin!r} is not an origin like https://shop.example")
        return value

    @field_validator("webhook_events")
    @classmethod
    def _events(cls, value: list[str]) -> list[str]:
        for name in value:
            if name not in WEB_EVENTS:
                raise ValueError(f"unknown event {name!r} (one of {', '.join(WEB_EVENTS)})")
        return value


WEB_EVENTS = (
    "message.created",
    "ticket.escalated",
    "ticket.claimed",
    "ticket.resolved",
    "csat.received",
)


def web_api_keys(value: SecretStr) -> list[tuple[str, str]]:
    """``FRONTDESK_WEB__API_KEYS`` as (scope, key) pairs; ValueError names the problem."""
    pairs = []
    for item in value.get_secret_value().split(","):
        if not item.strip():
            continue
        scope, _, key = item.strip().partition(":")
        if scope not in WEB_SCOPES or not key:
            raise ValueError("each entry must be scope:key with scope chat or admin")
        if len(key) < 16:
            raise ValueError(f"a {scope} key is shorter than 16 characters")
        pairs.append((scope, key))
    return pairs


def web_webhooks(value: SecretStr) -> list[tuple[str, str]]:
    """``FRONTDESK_WEB__WEBHOOKS`` as (url, secret) pairs; ValueError names the problem."""
    pairs = []
    for item in value.get_secret_value().split(","):
        if not item.strip():
            continue
        url, _, secret = item.strip().partition(" ")
        if not url.startswith(("http://", "https://")) or not secret.strip():
            raise ValueError("each entry must be 'URL SECRET' with an http(s) URL")
        pairs.append((url, secret.strip()))
    return pairs
