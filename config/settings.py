"""Frontdesk settings: the ``Settings`` model and ``load_settings``, the only code that reads
the environment.

Sources, highest priority first: environment variables (``FRONTDESK_<SECTION>__<FIELD>``), a
``.env`` file, an optional YAML file for the non-secret parts (``FRONTDESK_CONFIG_FILE`` or
``frontdesk --config``), then the defaults below. Lists accept a comma-separated string in the
environment (``FRONTDESK_SLACK__SUPPORT_CHANNELS=C01,C02``).

``load_settings`` turns every validation problem into one ``ConfigError`` line that names the
setting the way an operator would type it, e.g. ``FRONTDESK_DIGEST__TIMEZONE: unknown timezone``.

The sections (``StoreSettings``, ``SlackSettings``, ...) live in ``config/sections/``, one module
per area, with the field types they share in ``config/sections/base.py``; the ``.env`` and YAML
layers are in ``config/sources.py``. Every name other code uses is importable from here too.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, get_origin

from pydantic import BaseModel, SecretStr, ValidationError, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from config.errors import ConfigError
from config.sections.base import (
    ENV_PREFIX,
    CsvList,
    CustomerText,
    Key,
    NonEmptyPath,
    PositiveSeconds,
    Probability,
)
from config.sections.brain import (
    DEFAULT_MODEL_DIR,
    PACKAGED_KNOWLEDGE_DIR,
    PACKAGED_PLAYBOOK,
    ClassifierSettings,
    EmbeddingsSettings,
    EscalationSettings,
    KnowledgeSettings,
)
from config.sections.channels import (
    DiscordSettings,
    EmailSettings,
    SlackSettings,
    TerminalSettings,
)
from config.sections.desk import DeskSettings, DigestSettings, parse_time_of_day
from config.sections.dispatch import FALLBACK_TEXT, SEND_ALLOWANCE_S, DispatchSettings
from config.sections.observability import ObservabilitySettings
from config.sections.providers import ModelSettings, ProviderSettings
from config.sections.store import CLUSTER_PARTITIONS, StoreSettings
from config.sections.web import WEB_EVENTS, WEB_SCOPES, WebSettings, web_api_keys, web_webhooks
from config.sources import DotEnvLayer, YamlLayer, layered, read_env_file
from config.yamlfile import read_yaml

__all__ = [
    "CLUSTER_PARTITIONS",
    "CONFIG_FILE_ENV",
    "DEFAULT_MODEL_DIR",
    "ENV_PREFIX",
    "FALLBACK_TEXT",
    "PACKAGED_KNOWLEDGE_DIR",
    "PACKAGED_PLAYBOOK",
    "SEND_ALLOWANCE_S",
    "WEB_EVENTS",
    "WEB_SCOPES",
    "ClassifierSettings",
    "CsvList",
    "CustomerText",
    "DeskSettings",
    "DigestSettings",
    "DiscordSettings",
    "DispatchSettings",
    "EmailSettings",
    "EmbeddingsSettings",
    "EscalationSettings",
    "Key",
    "KnowledgeSettings",
    "ModelSettings",
    "NonEmptyPath",
    "ObservabilitySettings",
    "PositiveSeconds",
    "Probability",
    "ProviderSettings",
    "Settings",
    "SlackSettings",
    "StoreSettings",
    "TerminalSettings",
    "WebSettings",
    "env_name",
    "load_settings",
    "parse_time_of_day",
    "secret_value",
    "setting_fields",
    "web_api_keys",
    "web_webhooks",
]

CONFIG_FILE_ENV = "FRONTDESK_CONFIG_FILE"


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

    @model_validator(mode="after")
    def _catch_up_within_memory(self) -> Settings:
        # Messages read back after a gateway gap are told from those already taken by their
        # idempotency keys: reading back further than the keys live would answer twice.
        kept_s = self.store.idempotency_ttl_hours * 3600
        if self.discord.catch_up_seconds > kept_s:
            raise ValueError(
                f"{ENV_PREFIX}DISCORD__CATCH_UP_SECONDS: at most "
                f"{ENV_PREFIX}STORE__IDEMPOTENCY_TTL_HOURS ({kept_s:g} s): older messages "
                "could no longer be told from those already answered"
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
        return (init_settings, env_settings, DotEnvLayer(settings_cls), YamlLayer(settings_cls))


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
            dotenv = read_env_file(env_file)
        elif require_env_file:
            raise ConfigError(f"--env-file: {env_file}: no such file")
    where = f" (in {env_file})"
    _check_unknown_env(dotenv, where)
    _check_json(dotenv, where)
    config_file = environ.get(CONFIG_FILE_ENV) or dotenv.get(CONFIG_FILE_ENV)
    if yaml_file is None and config_file:
        yaml_file = Path(config_file)
    layer = _read_yaml(yaml_file) if yaml_file is not None else {}
    with layered(layer, dotenv):
        try:
            return Settings()
        except ValidationError as err:
            raise ConfigError(_one_line(err)) from err
        except SettingsError as err:  # a value pydantic-settings could not decode at all
            field = re.search(r'field "(\w+)"', str(err))
            name = env_name((field.group(1),)) if field else "settings"
            raise ConfigError(f"{name}: a value of this section cannot be read ({err})") from err


def secret_value(value: SecretStr | None) -> str | None:
    """The plain value of an optional secret, for the one call that hands it to a client."""
    return value.get_secret_value() if value is not None else None
