"""Frontdesk settings: the only code that reads the environment.

Sources, highest priority first: environment variables (``FRONTDESK_<SECTION>__<FIELD>``), a
``.env`` file, an optional YAML file for the non-secret parts (``FRONTDESK_CONFIG_FILE`` or
``frontdesk --config``), then the defaults below. Lists accept a comma-separated string in the
environment (``FRONTDESK_SLACK__SUPPORT_CHANNELS=C01,C02``).

``load_settings`` turns every validation problem into one ``ConfigError`` line that names the
setting the way an operator would type it, e.g. ``FRONTDESK_DIGEST__TIMEZONE: unknown timezone``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal, get_origin
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from dotenv import dotenv_values
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)
from pydantic_settings.sources.utils import parse_env_vars

from config.errors import ConfigError
from config.yamlfile import read_yaml

ENV_PREFIX = "FRONTDESK_"
CONFIG_FILE_ENV = "FRONTDESK_CONFIG_FILE"
PACKAGED_KNOWLEDGE_DIR = Path(__file__).parent / "knowledge"
PACKAGED_PLAYBOOK = Path(__file__).parent / "playbook.yaml"
FALLBACK_TEXT = (
    "Sorry, something went wrong on our side while answering you. "
    "A teammate has been notified and will get back to you here."
)


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                return yaml.safe_load(text)
            except yaml.YAMLError as err:
                raise ValueError(
                    'not a valid list: write a,b or a JSON list such as ["a", "b"]'
                ) from err
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError(
            "empty: customers would be sent a blank message; set a text or leave it out"
        )
    return value


def _not_empty_secret(value: SecretStr | None) -> SecretStr | None:
    if value is not None and not value.get_secret_value().strip():
        raise ValueError("empty: set a value or leave the variable out")
    return value


def _path_not_empty(value: object) -> object:
    if isinstance(value, str) and not value.strip():
        raise ValueError("empty: name a path or leave the variable out for the default")
    return value


SEND_ALLOWANCE_S = 15.0
"""Time allowed for sending one reply, retries included (``bot/delivery.py``)."""


CsvList = Annotated[list[str], NoDecode, BeforeValidator(_split_csv)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveSeconds = Annotated[float, Field(gt=0)]
CustomerText = Annotated[str, AfterValidator(_not_blank)]
"""Text a customer may be sent: an empty one would leave them in silence."""
Key = Annotated[SecretStr | None, AfterValidator(_not_empty_secret)]
NonEmptyPath = Annotated[Path, BeforeValidator(_path_not_empty)]


class _Section(BaseModel):
    # inf and nan pass ``gt=0`` and then break timers (``timedelta(seconds=inf)``) far away.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


CLUSTER_PARTITIONS = 16  # default inbound streams on a Redis Cluster


class StoreSettings(_Section):
    """Where state lives: SQLite in ``data_dir`` unless ``redis_url`` is set."""

    redis_url: Key = None
    # REDIS_URL names one node of a Redis Cluster (redis-py's RedisCluster finds the rest).
    redis_cluster: bool = False
    # Inbound streams (Redis only); unset: 1 on one Redis, CLUSTER_PARTITIONS on a cluster.
    stream_partitions: int | None = Field(None, ge=1, le=1024)
    # Each replica reads only the partitions it holds a lease for (Redis only).
    partition_affinity: bool = False
    data_dir: NonEmptyPath = Path(".frontdesk")
    history_limit: int = Field(50, ge=2, le=10_000)
    retention_days: float = Field(30.0, gt=0)
    idempotency_ttl_hours: float = Field(72.0, gt=0)
    lock_ttl_seconds: PositiveSeconds = 30.0
    reclaim_idle_seconds: PositiveSeconds = 90.0
    consumer_name: str | None = None

    @property
    def backend(self) -> Literal["sqlite", "redis"]:
        return "redis" if self.redis_url is not None else "sqlite"

    @property
    def partitions(self) -> int:
        """How many inbound streams a Redis store reads."""
        if self.stream_partitions is not None:
            return self.stream_partitions
        return CLUSTER_PARTITIONS if self.redis_cluster else 1

    @model_validator(mode="after")
    def _cluster(self) -> StoreSettings:
        for name, value in (("REDIS_CLUSTER", self.redis_cluster),
                            ("STREAM_PARTITIONS", self.stream_partitions),
                            ("PARTITION_AFFINITY", self.partition_affinity)):  # fmt: skip
            if value and self.redis_url is None:
                raise ValueError(f"FRONTDESK_STORE__{name}: needs FRONTDESK_STORE__REDIS_URL")
        if self.redis_cluster and self.redis_url is not None:
            parts = urlsplit(self.redis_url.get_secret_value())
            if parts.scheme == "unix":
                raise ValueError("FRONTDESK_STORE__REDIS_URL: a cluster is reached over TCP "
                                 "(redis:// or rediss://), not a unix socket")  # fmt: skip
            if parts.path.strip("/") not in ("", "0"):
                raise ValueError("FRONTDESK_STORE__REDIS_URL: a cluster has only database 0 "
                                 f"(the URL asks for /{parts.path.strip('/')})")  # fmt: skip
        return self

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            url = value.get_secret_value()
            if not url.startswith(("redis://", "rediss://", "unix://")):
                raise ValueError("must start with redis://, rediss:// or unix://")
            parts = urlsplit(url)
            if parts.scheme != "unix":
                # redis-py parses the URL only when it connects: a bad port would surface as
                # a traceback at start-up, after `frontdesk check` said all was well.
                try:
                    port = parts.port
                except ValueError as err:
                    port_text = parts.netloc.rpartition(":")[2]
                    raise ValueError(f"port {port_text} is not a port number (1-65535)") from err
                if port == 0:
                    raise ValueError("port 0 is not a port number (1-65535)")
                if not parts.hostname:
                    raise ValueError("no host in the URL (redis://HOST:PORT/DB)")
        return value


class SlackSettings(_Section):
    enabled: bool = False
    mode: Literal["socket", "http"] = "socket"
    bot_token: SecretStr | None = None
    app_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    http_host: str = "127.0.0.1"
    http_port: int = Field(3000, ge=0, le=65535)  # 0: any free port (tests)
    support_channels: CsvList = []
    answer_direct_messages: bool = True
    escalation_channel: str | None = None
    # Who may use the desk (admins are agents too). With neither agent setting, the members of
    # the escalation channel are the agents, which is accepted only for a private channel.
    agent_user_ids: CsvList = []
    agent_group: str | None = None
    admin_user_ids: CsvList = []
    admin_group: str | None = None
    oncall_group: str | None = None
    command: str = "/frontdesk"
    max_messages_per_second: float = Field(1.0, gt=0)
    api_base_url: str = "https://slack.com/api/"

    @field_validator("agent_user_ids", "admin_user_ids")
    @classmethod
    def _user_ids(cls, value: list[str]) -> list[str]:
        for user_id in value:
            if not re.fullmatch(r"[UW][A-Z0-9]{2,}", user_id):
                raise ValueError(f"{user_id!r} is not a Slack user id (U... or W..., from the "
                                 "member's profile: More, Copy member ID)")  # fmt: skip
        return value

    @field_validator("agent_group", "admin_group", "oncall_group")
    @classmethod
    def _group_id(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"S[A-Z0-9]{2,}", value):
            raise ValueError(f"{value!r} is not a Slack user group id (S...)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SlackSettings:
        if not self.enabled:
            return self
        _require(self.bot_token, "SLACK__BOT_TOKEN", "when FRONTDESK_SLACK__ENABLED=true")
        assert self.bot_token is not None
        if not self.bot_token.get_secret_value().startswith("xoxb-"):
            raise ValueError("FRONTDESK_SLACK__BOT_TOKEN: must be a bot token starting with xoxb-")
        if self.mode == "socket":
            _require(self.app_token, "SLACK__APP_TOKEN", "in Socket Mode (FRONTDESK_SLACK__MODE)")
            assert self.app_token is not None
            if not self.app_token.get_secret_value().startswith("xapp-"):
                raise ValueError(
                    "FRONTDESK_SLACK__APP_TOKEN: must be an app-level token starting with xapp-"
                )
        else:
            _require(self.signing_secret, "SLACK__SIGNING_SECRET", "in HTTP mode")
        # Events carry channel ids, never names: a name here would silently match nothing.
        named = [("ESCALATION_CHANNEL", self.escalation_channel)]
        named += [("SUPPORT_CHANNELS", c) for c in self.support_channels]
        for setting, value in named:
            if value is not None and not re.fullmatch(r"[CG][A-Z0-9]{2,}", value):
                raise ValueError(
                    f"FRONTDESK_SLACK__{setting}: {value!r} is not a channel id "
                    "(C... or G...: channel details, bottom of the About tab)"
                )
        if not self.command.startswith("/"):
            raise ValueError("FRONTDESK_SLACK__COMMAND: must start with /")
        if not self.api_base_url.endswith("/"):
            raise ValueError("FRONTDESK_SLACK__API_BASE_URL: must end with /")
        return self


_SNOWFLAKE = re.compile(r"[0-9]{15,21}")


class DiscordSettings(_Section):
    """Discord: customers in DMs, support channels, their threads and forum posts; optionally
    a staff channel as the desk. Ids are Discord's numeric snowflakes (Developer Mode on, then
    right-click -> Copy ID)."""

    enabled: bool = False
    bot_token: SecretStr | None = None
    support_channel_ids: CsvList = []
    forum_channel_ids: CsvList = []
    answer_direct_messages: bool = True
    thread_per_conversation: bool = False
    desk_channel_id: str | None = None
    staff_role_ids: CsvList = []
    admin_role_ids: CsvList = []
    api_base_url: str = "https://discord.com/api/v10"
    gateway_url: str = "wss://gateway.discord.gg/"

    @model_validator(mode="after")
    def _consistent(self) -> DiscordSettings:
        if self.enabled:
            _require(self.bot_token, "DISCORD__BOT_TOKEN", "when FRONTDESK_DISCORD__ENABLED=true")
        # Events carry ids, never names: a channel or role name here would match nothing.
        named = [("DESK_CHANNEL_ID", self.desk_channel_id)]
        for setting in ("support_channel_ids", "forum_channel_ids", "staff_role_ids",
                        "admin_role_ids"):  # fmt: skip
            named += [(setting.upper(), value) for value in getattr(self, setting)]
        for setting, value in named:
            if value is not None and not _SNOWFLAKE.fullmatch(value):
                raise ValueError(
                    f"FRONTDESK_DISCORD__{setting}: {value!r} is not a numeric Discord id "
                    "(Developer Mode on, then right-click -> Copy ID)"
                )
        if self.desk_channel_id is not None and not self.staff_role_ids:
            raise ValueError(
                "FRONTDESK_DISCORD__STAFF_ROLE_IDS: required when "
                "FRONTDESK_DISCORD__DESK_CHANNEL_ID is set (who may act on tickets; seeing the "
                "channel is not enough)"
            )
        customers = {*self.support_channel_ids, *self.forum_channel_ids}
        if self.desk_channel_id in customers:
            raise ValueError(
                "FRONTDESK_DISCORD__DESK_CHANNEL_ID: also a support or forum channel; staff and "
                "customers need separate channels"
            )
        if not self.api_base_url.startswith(("http://", "https://")):
            raise ValueError("FRONTDESK_DISCORD__API_BASE_URL: must be an http:// or https:// URL")
        if self.api_base_url.endswith("/"):
            raise ValueError("FRONTDESK_DISCORD__API_BASE_URL: no trailing / (.../api/v10)")
        if not self.gateway_url.startswith(("ws://", "wss://")):
            raise ValueError("FRONTDESK_DISCORD__GATEWAY_URL: must be a ws:// or wss:// URL")
        return self


class EmailSettings(_Section):
    """The email channel: IMAP in (IDLE, polling fallback), SMTP out."""

    enabled: bool = False
    imap_host: str | None = None
    imap_port: int = Field(993, ge=1, le=65535)
    imap_tls: bool = True
    imap_username: str | None = None
    imap_password: SecretStr | None = None
    imap_folder: str = Field("INBOX", min_length=1)
    imap_idle: bool = True  # false: poll even when the server offers IDLE
    # RFC 2177: servers may drop an IDLE after 30 minutes, so it is re-issued before that.
    idle_reissue_seconds: float = Field(1740.0, gt=0, le=1740)
    poll_seconds: PositiveSeconds = 60.0
    imap_timeout_seconds: PositiveSeconds = 30.0
    reconnect_max_seconds: PositiveSeconds = 300.0
    tls_ca_file: Path | None = None  # trust this CA (a private or self-signed server)
    smtp_host: str | None = None
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: PositiveSeconds = 30.0
    from_address: str | None = None
    from_name: str | None = None
    message_id_domain: str | None = None  # default: the domain of FROM_ADDRESS
    max_message_bytes: int = Field(2_000_000, ge=1024)
    thread_window_days: float = Field(14.0, ge=0)
    max_messages_per_sender_per_hour: int = Field(20, ge=1)

    @model_validator(mode="after")
    def _consistent(self) -> EmailSettings:
        if self.enabled:
            why = "when FRONTDESK_EMAIL__ENABLED=true"
            for name in (
                "imap_host",
                "imap_username",
                "imap_password",
                "smtp_host",
                "from_address",
            ):
                _require(getattr(self, name), f"EMAIL__{name.upper()}", why)
        if self.from_address is not None and not re.fullmatch(
            r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", self.from_address
        ):
            raise ValueError("FRONTDESK_EMAIL__FROM_ADDRESS: not an email address")
        if self.smtp_username is not None and self.smtp_password is None:
            raise ValueError(
                "FRONTDESK_EMAIL__SMTP_PASSWORD: required when FRONTDESK_EMAIL__SMTP_USERNAME "
                "is set"
            )
        if self.tls_ca_file is not None and not self.tls_ca_file.is_file():
            raise ValueError(f"FRONTDESK_EMAIL__TLS_CA_FILE: no such file {self.tls_ca_file}")
        return self

    @property
    def domain(self) -> str:
        """The domain our Message-IDs are on."""
        if self.message_id_domain:
            return self.message_id_domain
        return (self.from_address or "frontdesk.invalid").rpartition("@")[2].lower()


class TerminalSettings(_Section):
    """The laptop channel. ``enabled`` unset means: on when no other channel is enabled."""

    enabled: bool | None = None
    customer_name: str = "you"


WEB_SCOPES = ("chat", "admin")


class WebSettings(_Section):
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


class ModelSettings(_Section):
    """One LLM deployment. Prices are US dollars per million tokens (for routing and budgets)."""

    provider: Literal["openai", "anthropic", "local"]
    model: str = Field(min_length=1)
    tier: Literal["fast", "strong"]
    input_price: float = Field(0.0, ge=0)
    output_price: float = Field(0.0, ge=0)
    max_in_flight: int | None = Field(None, ge=1, le=100_000)
    """Requests this deployment runs at once; unset: ``FRONTDESK_PROVIDERS__MAX_IN_FLIGHT``."""


class ProviderSettings(_Section):
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


class KnowledgeSettings(_Section):
    dir: Path | None = None
    answer_threshold: Probability = 0.45

    _dir_not_empty = field_validator("dir", mode="before")(_path_not_empty)

    @property
    def path(self) -> Path:
        return self.dir if self.dir is not None else PACKAGED_KNOWLEDGE_DIR


class ClassifierSettings(_Section):
    """Intent classification and language detection."""

    playbook: Path | None = None
    languages: CsvList = ["en", "de", "fr", "es"]
    oos_threshold: Probability = 0.3

    @property
    def playbook_path(self) -> Path:
        return self.playbook if self.playbook is not None else PACKAGED_PLAYBOOK

    _playbook_not_empty = field_validator("playbook", mode="before")(_path_not_empty)

    @field_validator("languages")
    @classmethod
    def _iso_codes(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("name at least one language (ISO 639-1 code such as en)")
        for code in value:
            if not re.fullmatch(r"[a-z]{2}", code):
                raise ValueError(f"{code!r} is not a two-letter ISO 639-1 code such as en or de")
        return value


DEFAULT_MODEL_DIR = Path.home() / ".cache" / "frontdesk" / "models" / "all-MiniLM-L6-v2"


class EmbeddingsSettings(_Section):
    """Optional semantic layer under retrieval (brain/embeddings.py); ``none`` = lexical only."""

    provider: Literal["none", "local", "openai"] = "none"
    model: str | None = None  # default: all-MiniLM-L6-v2 (local), text-embedding-3-small
    model_dir: Path | None = None  # local: a folder with model.onnx + tokenizer.json
    base_url: str | None = None  # openai: any OpenAI-compatible /v1 endpoint
    api_key: SecretStr | None = None
    timeout_seconds: PositiveSeconds = 10.0

    @property
    def model_path(self) -> Path:
        """Where ``local`` looks for an ONNX model (``scripts/offline-model`` installs there)."""
        return self.model_dir if self.model_dir is not None else DEFAULT_MODEL_DIR


class EscalationSettings(_Section):
    sentiment_threshold: float = Field(-0.6, ge=-1.0, le=1.0)
    max_turns: int = Field(8, ge=1)
    sensitive_keywords: CsvList = ["lawyer", "legal action", "chargeback", "cancel my account"]
    vip_user_ids: CsvList = []
    vip_email_domains: CsvList = []
    vip_always_human: bool = True
    still_waiting_minutes: float = Field(5.0, gt=0)
    """While a ticket waits unclaimed, at most one "still with the team" note per this long."""


class DeskSettings(_Section):
    internal_prefix: str = Field("note:", min_length=1)
    sla_minutes: dict[Literal["urgent", "high", "normal", "low"], PositiveSeconds] = {
        "urgent": 5.0,
        "high": 15.0,
        "normal": 60.0,
        "low": 240.0,
    }


class DigestSettings(_Section):
    enabled: bool = True
    time: dt.time = dt.time(9, 0)
    timezone: str = "UTC"

    @field_validator("time", mode="before")
    @classmethod
    def _time_of_day(cls, value: object) -> object:
        # Text only: pydantic would read a number as seconds after midnight.
        return value if isinstance(value, dt.time) else parse_time_of_day(value)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(
                f"unknown timezone {value!r} (use an IANA name like Europe/Berlin)"
            ) from err
        return value


class DispatchSettings(_Section):
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


class ObservabilitySettings(_Section):
    """Logs, the metrics and health server, support analytics and customer satisfaction."""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    heartbeat_seconds: PositiveSeconds = 15.0
    redact_logs: bool = True
    log_file: Path | None = None
    """Where log lines go while the terminal channel owns the screen (``frontdesk -v``: both)."""

    _log_file_not_empty = field_validator("log_file", mode="before")(_path_not_empty)
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


def parse_time_of_day(value: object) -> dt.time:
    """``"09:30"`` or ``"9:30:15"`` -> a time; anything else is refused with a clear reason."""
    text = str(value).strip()
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", text)
    if match is None:
        raise ValueError(f"{text!r} is not a time: write it as HH:MM, e.g. 09:30")
    hour, minute, second = (int(part or 0) for part in match.groups())
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"{text} is not a time of day (00:00 to 23:59)")
    return dt.time(hour, minute, second)


_yaml_layer: ContextVar[dict[str, Any]] = ContextVar("frontdesk_yaml_layer", default={})  # noqa: B039
_dotenv_layer: ContextVar[dict[str, str]] = ContextVar("frontdesk_dotenv", default={})  # noqa: B039


class _DotEnvLayer(EnvSettingsSource):
    """The ``FRONTDESK_*`` lines of the ``.env`` file (read by ``load_settings``), below the
    environment. Other tools' variables in a shared ``.env`` never reach validation."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(_dotenv_layer.get(), self.case_sensitive, self.env_ignore_empty,
                              self.env_parse_none_str)  # fmt: skip


class _YamlLayer(PydanticBaseSettingsSource):
    """The parsed YAML file, below environment and ``.env`` in priority."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_yaml_layer.get())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    store: StoreSettings = StoreSettings()
    slack: SlackSettings = SlackSettings()
    discord: DiscordSettings = DiscordSettings()
    email: EmailSettings = EmailSettings()
    terminal: TerminalSettings = TerminalSettings()
    web: WebSettings = WebSettings()
    providers: ProviderSettings = ProviderSettings()
    knowledge: KnowledgeSettings = KnowledgeSettings()
    classifier: ClassifierSettings = ClassifierSettings()
    escalation: EscalationSettings = EscalationSettings()
    embeddings: EmbeddingsSettings = EmbeddingsSettings()
    desk: DeskSettings = DeskSettings()
    digest: DigestSettings = DigestSettings()
    dispatch: DispatchSettings = DispatchSettings()
    observability: ObservabilitySettings = ObservabilitySettings()

    @model_validator(mode="after")
    def _reclaim_after_the_work(self) -> Settings:
        # A message in flight is taken over by another worker once it was idle this long: any
        # sooner and a second worker starts on a message the first is still answering.
        least = self.dispatch.handler_timeout_seconds + SEND_ALLOWANCE_S
        if self.store.reclaim_idle_seconds <= least:
            raise ValueError(
                f"{ENV_PREFIX}STORE__RECLAIM_IDLE_SECONDS: must exceed "
                f"{ENV_PREFIX}DISPATCH__HANDLER_TIMEOUT_SECONDS plus {SEND_ALLOWANCE_S:.0f} s "
                f"to send the reply (more than {least:g})"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _DotEnvLayer(settings_cls), _YamlLayer(settings_cls))


def _require(value: object, name: str, why: str) -> None:
    if value is None or (isinstance(value, SecretStr) and not value.get_secret_value()):
        raise ValueError(f"{ENV_PREFIX}{name}: required {why}")


def env_name(loc: tuple[int | str, ...]) -> str:
    """``("slack", "bot_token")`` -> ``FRONTDESK_SLACK__BOT_TOKEN``."""
    parts = [str(part).upper() for part in loc if not isinstance(part, int)]
    return ENV_PREFIX + "__".join(parts) if parts else "settings"


def _one_line(err: ValidationError) -> str:
    first = err.errors()[0]
    message = re.sub(r"^(Value|Assertion) error, ", "", str(first["msg"]))
    if message.startswith(ENV_PREFIX):
        return message
    if first["type"] == "extra_forbidden":
        message = "unknown setting"
    return f"{env_name(tuple(first['loc']))}: {message}"


def setting_fields() -> Iterator[tuple[str, str, FieldInfo]]:
    """Every (section, field name, field) of ``Settings``."""
    for section, field in Settings.model_fields.items():
        model = field.annotation
        assert isinstance(model, type) and issubclass(model, BaseModel)
        for name, sub in model.model_fields.items():
            yield section, name, sub


def _is_secret(section: str, name: str) -> bool:
    return any(
        s == section and n == name and "SecretStr" in str(f.annotation)
        for s, n, f in setting_fields()
    )


def _read_yaml(path: Path) -> dict[str, Any]:
    data = read_yaml(path, CONFIG_FILE_ENV) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{CONFIG_FILE_ENV}: {path} must hold a mapping of sections")
    for section, fields in data.items():
        if not isinstance(fields, dict):
            continue
        for field in fields:
            if _is_secret(str(section), str(field)):
                raise ConfigError(
                    f"{env_name((section, field))}: secrets do not belong in the YAML file "
                    f"{path}; set them in the environment or .env"
                )
    return data


def _read_env_file(path: Path) -> dict[str, str]:
    """The ``FRONTDESK_*`` variables of a ``.env`` file; lines of other tools are left alone."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"--env-file: cannot read {path}: {err.strerror or err}") from err
    lines = []
    for number, line in enumerate(raw.splitlines(), start=1):
        try:
            lines.append(line.decode("utf-8"))
        except UnicodeDecodeError as err:
            name = re.match(rb"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=", line)
            key = name.group(1).decode().upper() if name else ""
            if not name or key.startswith(ENV_PREFIX):
                where = f"{key} in {path}" if key else str(path)
                raise ConfigError(f"{where}, line {number}: not valid UTF-8 text") from err
            lines.append("")  # another tool's line: not ours to judge
    values = dotenv_values(stream=io.StringIO("\n".join(lines)))
    return {
        key: value
        for key, value in values.items()
        if value is not None and key.upper().startswith(ENV_PREFIX)
    }


def _check_unknown_env(environ: Mapping[str, str | None], where: str = "") -> None:
    """A typo in a variable name must not be silently ignored."""
    known = {env_name((section, name)) for section, name, _ in setting_fields()}
    known |= {env_name((section,)) for section in Settings.model_fields}
    for key in environ:
        upper = key.upper()
        if upper.startswith(ENV_PREFIX) and upper != CONFIG_FILE_ENV and upper not in known:
            raise ConfigError(
                f"{upper}: unknown setting{where} (see .env.example for the valid names)"
            )


def _json_fields() -> dict[str, str]:
    """Variables whose value is JSON (a whole section, a list of models, a mapping) and what
    kind of JSON, so a malformed value is named before pydantic-settings decodes it."""
    fields = {env_name((section,)): "an object" for section in Settings.model_fields}
    examples = {
        "FRONTDESK_PROVIDERS__MODELS": '[{"provider": "local", "model": "llama3.1:8b", '
        '"tier": "fast"}]',
        "FRONTDESK_DESK__SLA_MINUTES": '{"urgent": 5, "high": 15, "normal": 60, "low": 240}',
    }
    for section, name, field in setting_fields():
        if any(m is NoDecode or isinstance(m, NoDecode) for m in field.metadata):
            continue
        origin = get_origin(field.annotation) or field.annotation
        variable = env_name((section, name))
        if origin is list:
            fields[variable] = "a list, e.g. " + examples.get(variable, '["a", "b"]')
        elif origin is dict:
            fields[variable] = "an object, e.g. " + examples.get(variable, '{"key": "value"}')
    return fields


def _check_json(environ: Mapping[str, str | None], where: str = "") -> None:
    kinds = _json_fields()
    for key, value in environ.items():
        kind = kinds.get(key.upper())
        if kind is None or not value:
            continue
        try:
            json.loads(value)
        except json.JSONDecodeError as err:
            raise ConfigError(
                f"{key.upper()}: not valid JSON{where} ({err.msg} at character {err.pos}); "
                f"expected {kind}"
            ) from err


def load_settings(
    yaml_file: Path | None = None,
    env_file: Path | None = Path(".env"),
    require_env_file: bool = False,
) -> Settings:
    """Read and validate every setting, or raise ``ConfigError`` with one clear line.

    ``env_file`` may be missing unless ``require_env_file`` (the operator named it)."""
    environ = os.environ
    _check_unknown_env(environ)
    _check_json(environ)
    dotenv: dict[str, str] = {}
    if env_file is not None:
        if env_file.is_file():
            dotenv = _read_env_file(env_file)
        elif require_env_file:
            raise ConfigError(f"--env-file: {env_file}: no such file")
    where = f" (in {env_file})"
    _check_unknown_env(dotenv, where)
    _check_json(dotenv, where)
    config_file = environ.get(CONFIG_FILE_ENV) or dotenv.get(CONFIG_FILE_ENV)
    if yaml_file is None and config_file:
        yaml_file = Path(config_file)
    layer = _read_yaml(yaml_file) if yaml_file is not None else {}
    tokens = (_yaml_layer.set(layer), _dotenv_layer.set(dotenv))
    try:
        return Settings()
    except ValidationError as err:
        raise ConfigError(_one_line(err)) from err
    except SettingsError as err:  # a value pydantic-settings could not decode at all
        field = re.search(r'field "(\w+)"', str(err))
        name = env_name((field.group(1),)) if field else "settings"
        raise ConfigError(f"{name}: a value of this section cannot be read ({err})") from err
    finally:
        _yaml_layer.reset(tokens[0])
        _dotenv_layer.reset(tokens[1])


def secret_value(value: SecretStr | None) -> str | None:
    """The plain value of an optional secret, for the one call that hands it to a client."""
    return value.get_secret_value() if value is not None else None
