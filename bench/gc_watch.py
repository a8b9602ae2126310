"""Run the bot (``python bench/gc_watch.py OUT.json run ...``) while recording every garbage
collection: per generation, how many, their total and longest pause, and each full collection
with the seconds since start-up at which it ran. Written to OUT.json when the bot exits.
``bench/web.py --gc`` uses it."""

from __future__ import annotations

import atexit
import gc
import json
import runpy
import sys
import time
from pathlib import Path
from typing import Any

_started = time.perf_counter()
_pause_began = [0.0]
_pauses: list[tuple[int, float, float]] = []  # generation, seconds since start, pause ms


def _watch(phase: str, info: dict[str, Any]) -> None:
    now = time.perf_counter()
    if phase == "start":
        _pause_began[0] = now
    else:
        _pauses.append((int(info["generation"]), now - _started, (now - _pause_began[0]) * 1000))


def _write(out: Path) -> None:
    summary: dict[str, Any] = {}
    for generation in (0, 1, 2):
        mine = [ms for g, _, ms in _pauses if g == generation]
        summary[f"gen{generation}"] = {"count": len(mine), "total_ms": round(sum(mine), 1),
                                       "max_ms": round(max(mine, default=0.0), 1)}  # fmt: skip
    summary["full"] = [[round(at, 1), round(ms, 1)] for g, at, ms in _pauses if g == 2]
    out.write_text(json.dumps(summary))


if __name__ == "__main__":
    target = Path(sys.argv[1])
    gc.callbacks.append(_watch)
    atexit.register(_write, target)
    sys.argv = ["bot.cli", *sys.argv[2:]]
    runpy.run_module("bot.cli", run_name="__main__")
