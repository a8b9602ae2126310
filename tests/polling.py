"""Waiting for something another task or process does, with a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def until(predicate: Callable[[], bool], within: float) -> float:
    """Seconds until ``predicate()`` holds, polled every 10 ms; AssertionError after
    ``within`` seconds."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > within:
            raise AssertionError(f"not within {within} s")
        await asyncio.sleep(0.01)
    return time.monotonic() - started
