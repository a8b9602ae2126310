"""The platform registry: the one place in ``bot/`` that names a platform.

Kept apart from ``bot/wiring/`` (which imports the whole brain) so that the ``frontdesk``
command can ask every platform package for its sub-commands and still answer ``--help`` at
once. Adding a platform = its package ``channels/<name>/`` + one line here + its settings
section (``config/sections/channels.py``, field ``enabled``).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from config.settings import Settings

PLATFORMS: dict[str, str] = {
    "slack": "channels.slack",
    "discord": "channels.discord",
    "email": "channels.email",
    "web": "channels.web",
    "terminal": "channels.terminal",
}
"""Every platform Frontdesk knows, by settings section, with the package that implements it.
A section whose ``enabled`` is unset (None) is on when no other platform is (the terminal)."""


def section(settings: Settings, name: str) -> Any:
    """The platform's settings section (every one has ``enabled``)."""
    return getattr(settings, name)


def enabled_platforms(settings: Settings) -> list[str]:
    explicit = [name for name in PLATFORMS if section(settings, name).enabled is True]
    fallback = [name for name in PLATFORMS if section(settings, name).enabled is None]
    return explicit or fallback


def platform_module(name: str) -> ModuleType | None:
    """The platform's package, or None when this version has none (not yet built).

    A package's ``__init__`` stays light (no SDK import): it is imported here for its
    ``build``, ``describe`` and optional ``add_commands``."""
    path = PLATFORMS[name]
    try:
        return importlib.import_module(path)
    except ModuleNotFoundError as err:
        if err.name is not None and path.startswith(err.name):
            return None
        raise


def platform_modules() -> list[ModuleType]:
    """Every platform package this version has."""
    return [m for m in (platform_module(name) for name in PLATFORMS) if m is not None]
