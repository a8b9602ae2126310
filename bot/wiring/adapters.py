"""The platforms' adapters, built from the settings (``build_adapters``), and what ``frontdesk
check`` prints about every part (``describe``: the store, each platform, each provider).

Channel packages are found through the registry in ``bot/platforms.py``, the one place that
names them, and imported only when their settings section is enabled (Slack's Bolt,
discord.py and the IMAP client cost memory and start-up time)."""

from __future__ import annotations

from bot.platforms import PLATFORMS, enabled_platforms, platform_module, section
from bot.wiring.store import SQLITE_FILE
from channels.base import Adapter, Part, Streams
from config.errors import ConfigError
from config.settings import Settings


def build_adapters(settings: Settings, streams: Streams | None = None) -> list[Adapter]:
    adapters: list[Adapter] = []
    for name in enabled_platforms(settings):
        module = platform_module(name)
        if module is None:
            raise ConfigError(
                f"FRONTDESK_{name.upper()}__ENABLED: the {name} channel is not available in "
                "this version yet"
            )
        adapters.append(module.build(settings, streams or Streams()))
    if not adapters:
        raise ConfigError(
            "FRONTDESK_TERMINAL__ENABLED: every channel is disabled, so nobody could reach the "
            "bot; enable one (e.g. FRONTDESK_SLACK__ENABLED=true) or leave the terminal on"
        )
    return adapters


def describe(settings: Settings) -> list[Part]:
    """What ``frontdesk check`` prints: the store, each platform and each provider, and why."""
    parts = [_store_part(settings)]
    enabled = enabled_platforms(settings)
    for name in PLATFORMS:
        if name in enabled:
            continue
        if section(settings, name).enabled is None:
            why = "other channels are enabled"
        else:
            why = f"FRONTDESK_{name.upper()}__ENABLED is not true"
        parts.append(Part("channel", name, False, why))
    for adapter in build_adapters(settings):
        parts += adapter.describe()
    return parts + _provider_parts(settings)


def _store_part(settings: Settings) -> Part:
    store = settings.store
    if store.backend == "redis":
        kind = "a Redis Cluster" if store.redis_cluster else "one Redis"
        why = f"FRONTDESK_STORE__REDIS_URL is set: {kind}, {store.partitions} stream partition(s)"
        return Part("store", "redis", True, why)
    where = (store.data_dir / SQLITE_FILE).resolve()
    return Part("store", "sqlite", True, f"embedded default at {where}")


def _provider_parts(settings: Settings) -> list[Part]:
    providers = settings.providers
    deployments = providers.deployments()
    parts = []
    for d in deployments:
        price = f"${d.input_price:g}/${d.output_price:g} per M tokens"
        parts.append(Part("provider", f"{d.provider}:{d.model}", True, f"{d.tier} tier, {price}"))
    for name in sorted({"openai", "anthropic", "local"} - providers.available()):
        setting = "LOCAL_BASE_URL" if name == "local" else f"{name.upper()}_API_KEY"
        parts.append(Part("provider", name, False, f"FRONTDESK_PROVIDERS__{setting} is not set"))
    why = "fallback after the LLM providers" if deployments else "answers from the knowledge base"
    parts.append(Part("provider", "offline", True, why))
    parts.append(_embeddings_part(settings))
    return parts


def _embeddings_part(settings: Settings) -> Part:
    e = settings.embeddings
    if e.provider == "none":
        why = "FRONTDESK_EMBEDDINGS__PROVIDER=none: lexical retrieval only"
        return Part("embeddings", "none", False, why)
    if e.provider == "local":
        model = e.model or "sentence-transformers/all-MiniLM-L6-v2"
        found = (e.model_path / "model.onnx").is_file()
        where = f"ONNX in {e.model_path}" if found else "downloaded once by fastembed"
        return Part("embeddings", f"local:{model}", True, f"hybrid retrieval; {where}")
    model = e.model or "text-embedding-3-small"
    where = e.base_url or "api.openai.com"
    return Part("embeddings", f"openai:{model}", True, f"hybrid retrieval via {where}")
