"""``FRONTDESK_PROVIDERS__*``: the LLM deployments, routing, budget and prompt rules."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from config.sections.base import CsvList, CustomerText, Key, PositiveSeconds, Probability, Section


class ModelSettings(Section):
    """One LLM deployment. Prices are US dollars per million tokens (for routing and budgets)."""

    provider: Literal["openai", "anthropic", "local"]
    model: str = Field(min_length=1)
    tier: Literal["fast", "strong"]
    input_price: float = Field(0.0, ge=0)
    output_price: float = Field(0.0, ge=0)
    max_in_flight: int | None = Field(None, ge=1, le=100_000)
    """Requests this deployment runs at once; unset: ``FRONTDESK_PROVIDERS__MAX_IN_FLIGHT``."""


class ProviderSettings(Section):
    """LLM providers. Without any, the offline knowledge-base answerer replies."""

    openai_api_key: Key = None
    openai_base_url: str | None = None
    anthropic_api_key: Key = None
    anthropic_base_url: str | None = None
    local_base_url: str | None = None
    local_api_key: SecretStr | None = None
    local_model: str = "llama3.1:8b"
    models: list[ModelSettings] = []
    attempt_timeout_seconds: PositiveSeconds = 8.0
    deadline_seconds: PositiveSeconds = 20.0
    hedge_delay_seconds: float = Field(0.0, ge=0)
    daily_budget_usd: float = Field(20.0, ge=0)
    hard_budget_ratio: float = Field(1.2, ge=1.0)
    faq_direct_threshold: Probability = 0.8
    cache_ttl_seconds: float = Field(3600.0, ge=0)
    breaker_failures: int = Field(3, ge=1)
    breaker_cooldown_seconds: PositiveSeconds = 30.0
    max_in_flight: int = Field(50, ge=1, le=100_000)
    slot_wait_seconds: float = Field(2.0, ge=0)
    redact_pii: bool = True
    pii_patterns: dict[str, str] = {}
    company_name: CustomerText = "Larkspur Home"
    tone: str = "friendly, concise and precise"
    forbidden_phrases: CsvList = []

    @field_validator("openai_base_url", "anthropic_base_url", "local_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("forbidden_phrases", "pii_patterns")
    @classmethod
    def _regexes(cls, value: Any) -> Any:
        for pattern in value.values() if isinstance(value, dict) else value:
            try:
                re.compile(pattern)
            except re.error as err:
                raise ValueError(f"{pattern!r} is not a valid regular expression: {err}") from err
        return value

    @model_validator(mode="after")
    def _slot_wait_within_deadline(self) -> ProviderSettings:
        if self.slot_wait_seconds >= self.deadline_seconds:
            raise ValueError(
                f"FRONTDESK_PROVIDERS__SLOT_WAIT_SECONDS ({self.slot_wait_seconds:g}) must be "
                f"below FRONTDESK_PROVIDERS__DEADLINE_SECONDS ({self.deadline_seconds:g})"
            )
        return self

    @model_validator(mode="after")
    def _credentials(self) -> ProviderSettings:
        available = self.available()
        for model in self.models:
            if model.provider not in available:
                raise ValueError(
                    f"FRONTDESK_PROVIDERS__MODELS: {model.provider}:{model.model} needs "
                    f"{_CREDENTIAL[model.provider]}"
                )
        return self

    def available(self) -> set[str]:
        found = set()
        if self.openai_api_key is not None:
            found.add("openai")
        if self.anthropic_api_key is not None:
            found.add("anthropic")
        if self.local_base_url is not None:
            found.add("local")
        return found

    def deployments(self) -> list[ModelSettings]:
        """The configured models, or sensible defaults for each provider with credentials."""
        if self.models:
            return list(self.models)
        defaults: list[ModelSettings] = []
        available = self.available()
        for provider, fast, strong in _DEFAULT_MODELS:
            if provider in available:
                defaults += [ModelSettings(provider=provider, tier="fast", **fast),
                             ModelSettings(provider=provider, tier="strong", **strong)]  # fmt: skip
        if "local" in available:
            defaults.append(ModelSettings(provider="local", model=self.local_model, tier="fast"))
        return defaults


_CREDENTIAL = {
    "openai": "FRONTDESK_PROVIDERS__OPENAI_API_KEY",
    "anthropic": "FRONTDESK_PROVIDERS__ANTHROPIC_API_KEY",
    "local": "FRONTDESK_PROVIDERS__LOCAL_BASE_URL",
}
# Public list prices (USD per million input / output tokens) of a small and a large model.
_DEFAULT_MODELS: tuple[tuple[str, dict[str, Any], dict[str, Any]], ...] = (
    ("openai", {"model": "gpt-4o-mini", "input_price": 0.15, "output_price": 0.60},
     {"model": "gpt-4o", "input_price": 2.50, "output_price": 10.00}),
    ("anthropic", {"model": "claude-haiku-4-5", "input_price": 1.00, "output_price": 5.00},
     {"model": "claude-sonnet-4-5", "input_price": 3.00, "output_price": 15.00}),
)  # fmt: skip
