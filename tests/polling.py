"""Waiting for something another task or process does, with a deadline; handing a message
over as a platform does, until the bot takes it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from channels.base import InboundMessage
from config.errors import StoreError


async def until(predicate: Callable[[], bool], within: float) -> float:
    """Seconds until ``predicate()`` holds, polled every 10 ms; AssertionError after
    ``within`` seconds."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > within:
            raise AssertionError(f"not within {within} s")
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def hand_over(
    inject: Callable[[InboundMessage], Awaitable[object]], message: InboundMessage
) -> None:
    """``inject(message)`` again every 50 ms while the bot refuses it (its store is down), as
    a platform retries a message until the bot takes it."""
    while True:
        try:
            await inject(message)
            return
        except StoreError:
            await asyncio.sleep(0.05)
