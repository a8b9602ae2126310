"""What a configuration turns on, and why: ``frontdesk check`` prints it, ``run`` enforces it.

Kept free of heavy imports so ``frontdesk check`` and ``--version`` answer at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from config.errors import ConfigError
from config.settings import Settings

SQLITE_FILE = "frontdesk.db"
UNAVAILABLE = ("discord", "email")  # channels this version has no adapter for yet


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
    parts += _slack(settings)
    for name in UNAVAILABLE:
        if getattr(settings, name).enabled:
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


def _slack(settings: Settings) -> list[Part]:
    slack = settings.slack
    if not slack.enabled:
        return [Part("channel", "slack", False, "FRONTDESK_SLACK__ENABLED is not true")]
    where = ", ".join(slack.support_channels) or "no support channels"
    dms = "DMs" if slack.answer_direct_messages else "no DMs"
    parts = [Part("channel", "slack", True, f"{slack.mode} mode; {where}; {dms}")]
    if slack.escalation_channel:
        parts.append(Part("desk", "slack", True, f"cards in {slack.escalation_channel}"))
    else:
        parts.append(Part("desk", "slack", False, "FRONTDESK_SLACK__ESCALATION_CHANNEL is not "
                          "set: use `frontdesk desk` for escalations"))  # fmt: skip
    return parts


def check_runnable(settings: Settings) -> None:
    for name in UNAVAILABLE:
        if getattr(settings, name).enabled:
            raise ConfigError(
                f"FRONTDESK_{name.upper()}__ENABLED: the {name} channel is not available in "
                "this version yet"
            )
