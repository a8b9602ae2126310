"""The composition root: builds every part of Frontdesk from ``Settings`` and returns them.

The only package (with ``bot/app.py``, which runs what this builds) that imports concrete
stores, providers and channel packages. Nothing here connects to anything: ``frontdesk
check`` builds the same parts to validate them.

- ``bot/wiring/parts.py``: ``build_parts`` and ``Parts`` (the running bot), with the
  observer, desk hub, dispatcher settings, scheduler and digest it wires.
- ``bot/wiring/brain.py``: ``build_brain``, ``build_policy``, the LLM clients and the router.
- ``bot/wiring/store.py``: ``build_store`` (Redis or the SQLite file).
- ``bot/wiring/adapters.py``: ``build_adapters`` and ``describe`` (``frontdesk check``).

The names most callers use are re-exported here.
"""

from __future__ import annotations

from bot.wiring.adapters import build_adapters, describe
from bot.wiring.brain import build_brain, build_policy
from bot.wiring.parts import Parts, build_hub, build_parts
from bot.wiring.store import SQLITE_FILE, build_store

__all__ = [
    "SQLITE_FILE",
    "Parts",
    "build_adapters",
    "build_brain",
    "build_hub",
    "build_parts",
    "build_policy",
    "build_store",
    "describe",
]
