"""What a configuration turns on, and why (``frontdesk check``), and the store it selects.

Kept free of heavy imports so ``frontdesk check`` and ``--version`` answer at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from brain.store.base import Store, StoreLimits
from brain.store.redis import RedisStore
from brain.store.sqlite import SqliteStore
from config.errors import ConfigError
from config.settings import Settings

SQLITE_FILE = "frontdesk.db"


@dataclass(frozen=True, slots=True)
class Part:
    """One line of ``frontdesk check``: a channel, provider or store and whether it is on."""

    kind: str
    name: str
    enabled: bool
    why: str


def describe(settings: Settings) -> list[Part]:
    store = settings.store
    if store.backend == "redis":
        parts = [Part("store", "redis", True, "FRONTDESK_STORE__REDIS_URL is set")]
    else:
        where = store.data_dir / SQLITE_FILE
        parts = [Part("store", "sqlite", True, f"embedded default at {where}")]
    for name in ("slack", "discord", "email"):
        section = getattr(settings, name)
        if section.enabled:
            why = "enabled, but this version has no adapter for it yet; disable it to run"
        else:
            why = f"FRONTDESK_{name.upper()}__ENABLED is not true"
        parts.append(Part("channel", name, False, why))
    if settings.terminal_enabled:
        explicit = settings.terminal.enabled is not None
        why = "FRONTDESK_TERMINAL__ENABLED=true" if explicit else "no other channel is enabled"
        parts.append(Part("channel", "terminal", True, why))
    else:
        parts.append(Part("channel", "terminal", False, "other channels are enabled"))
    providers = settings.providers
    deployments = providers.deployments()
    for deployment in deployments:
        price = f"${deployment.input_price:g}/${deployment.output_price:g} per M tokens"
        parts.append(Part("provider", f"{deployment.provider}:{deployment.model}", True,
                          f"{deployment.tier} tier, {price}"))  # fmt: skip
    for name in sorted({"openai", "anthropic", "local"} - providers.available()):
        setting = "LOCAL_BASE_URL" if name == "local" else f"{name.upper()}_API_KEY"
        parts.append(Part("provider", name, False, f"FRONTDESK_PROVIDERS__{setting} is not set"))
    why = "fallback after the LLM providers" if deployments else "answers from the knowledge base"
    parts.append(Part("provider", "offline", True, why))
    return parts


def check_runnable(settings: Settings) -> None:
    for name in ("slack", "discord", "email"):
        if getattr(settings, name).enabled:
            raise ConfigError(
                f"FRONTDESK_{name.upper()}__ENABLED: the {name} channel is not available in "
                "this version yet"
            )


def build_store(settings: Settings) -> Store:
    store = settings.store
    limits = StoreLimits(
        history_limit=store.history_limit,
        retention_s=store.retention_days * 86400,
        idempotency_ttl_s=store.idempotency_ttl_hours * 3600,
        lock_ttl_s=store.lock_ttl_seconds,
    )
    if store.redis_url is not None:
        return RedisStore.from_url(store.redis_url.get_secret_value(), limits=limits)
    return SqliteStore(store.data_dir / SQLITE_FILE, limits=limits)
