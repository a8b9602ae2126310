"""``FRONTDESK_OBSERVABILITY__*``: logs, metrics and health, analytics and CSAT."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from config.sections.base import PositiveSeconds, Section, path_not_empty


class ObservabilitySettings(Section):
    """Logs, the metrics and health server, support analytics and customer satisfaction."""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    heartbeat_seconds: PositiveSeconds = 15.0
    redact_logs: bool = True
    log_file: Path | None = None
    """Where log lines go while the terminal channel owns the screen (``frontdesk -v``: both)."""

    _log_file_not_empty = field_validator("log_file", mode="before")(path_not_empty)
    metrics_host: str = Field("127.0.0.1", min_length=1)
    metrics_port: int | None = Field(None, ge=0, le=65535)
    csat_enabled: bool = True
    reopen_days: float = Field(7.0, gt=0)
    otlp_endpoint: str | None = None

    @field_validator("otlp_endpoint")
    @classmethod
    def _otlp_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL (OTLP over HTTP)")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value
