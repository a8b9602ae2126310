"""Per-deployment in-flight caps: at most ``limit`` LLM requests run on one deployment at once.

A provider's rate limits are per deployment (an API key's requests per minute on one model, a
local server's batch size), so the cap is per deployment, not one global number. A request over
the cap waits for a slot, first come first served, for a bounded time; the router decides what
a wait that runs out means (the next deployment of the chain, see ``brain/router.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from brain.providers.llm import ProviderUnavailable

DEFAULT_MAX_IN_FLIGHT = 50


class DeploymentBusy(ProviderUnavailable):
    """Every slot of the deployment stayed taken for the whole wait: try another one."""


@dataclass(frozen=True, slots=True)
class SlotUsage:
    """One deployment's cap as metrics show it."""

    limit: int
    in_flight: int
    waiting: int
    timeouts: int  # waits that ran out since start (a running total)


class Slots:
    def __init__(self, name: str, limit: int = DEFAULT_MAX_IN_FLIGHT) -> None:
        if limit < 1:
            raise ValueError(f"{name}: the in-flight cap must be at least 1, not {limit}")
        self.name = name
        self.limit = limit
        self._free = asyncio.Semaphore(limit)
        self._in_flight = 0
        self._waiting = 0
        self._timeouts = 0

    def usage(self) -> SlotUsage:
        return SlotUsage(self.limit, self._in_flight, self._waiting, self._timeouts)

    @contextlib.asynccontextmanager
    async def take(self, wait_s: float | None) -> AsyncIterator[None]:
        """Hold one slot for the ``async with``; wait at most ``wait_s`` for it (None: until
        cancelled, 0: only a slot that is free now and that nobody queues for)."""
        if wait_s is not None and wait_s <= 0:
            # ``locked()`` is also true while others queue: a hedge never jumps the queue.
            if self._free.locked():
                raise self._busy(0.0)
            await self._free.acquire()  # free: returns at once
        else:
            self._waiting += 1
            try:
                async with asyncio.timeout(wait_s):
                    await self._free.acquire()
            except TimeoutError:
                raise self._busy(wait_s or 0.0) from None
            finally:
                self._waiting -= 1
        self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1
            self._free.release()

    def _busy(self, waited_s: float) -> DeploymentBusy:
        self._timeouts += 1
        return DeploymentBusy(
            f"{self.name}: all {self.limit} in-flight slots taken (waited {waited_s:g} s)"
        )
