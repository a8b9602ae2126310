"""Posting pace per Slack channel."""

from __future__ import annotations

import asyncio
import time

from channels.slack.cache import TtlCache


class Pacer:
    """At most ``rate`` posts per second per Slack channel; channels don't wait on each other.

    Slack allows about one message per second per channel and answers bursts with 429. The state
    per channel is bounded (``TtlCache``): a channel idle for a few seconds needs no memory of
    its last post, and a lane dropped while in use only costs one early post, which Slack would
    answer with a 429 that the client retries after ``Retry-After``.
    """

    def __init__(self, rate: float, max_channels: int = 10_000) -> None:
        self._interval = 1.0 / rate
        self._lanes: TtlCache[str, _Lane] = TtlCache(max_channels, max(self._interval, 1.0) * 10)

    async def wait(self, channel: str) -> None:
        lane = self._lanes.get(channel)
        if lane is None:
            lane = _Lane()
        self._lanes.put(channel, lane)
        async with lane.lock:
            delay = lane.last + self._interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            lane.last = time.monotonic()
            self._lanes.put(channel, lane)

    def __len__(self) -> int:
        return len(self._lanes)


class _Lane:
    __slots__ = ("last", "lock")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.last = float("-inf")
