"""The bounded caches of the Slack package: size and age limits, and the per-channel pacer."""

from __future__ import annotations

import asyncio
import time

from channels.slack.cache import TtlCache
from channels.slack.pacing import Pacer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_after_their_ttl() -> None:
    clock = Clock()
    cache: TtlCache[str, int] = TtlCache(max_size=10, ttl_s=60.0, clock=clock)
    cache.put("a", 1)
    clock.now += 59.0
    assert cache.get("a") == 1
    clock.now += 2.0
    assert cache.get("a") is None and len(cache) == 0


def test_the_least_recently_used_entry_goes_first() -> None:
    cache: TtlCache[str, int] = TtlCache(max_size=3, ttl_s=60.0)
    for i, key in enumerate("abc"):
        cache.put(key, i)
    assert cache.get("a") == 0  # now the most recent
    cache.put("d", 3)
    assert len(cache) == 3 and cache.get("b") is None
    assert [cache.get(k) for k in "acd"] == [0, 2, 3]


def test_put_refreshes_an_entrys_age() -> None:
    clock = Clock()
    cache: TtlCache[str, int] = TtlCache(max_size=2, ttl_s=10.0, clock=clock)
    cache.put("a", 1)
    clock.now += 8.0
    cache.put("a", 2)
    clock.now += 8.0
    assert cache.get("a") == 2


async def test_pacer_state_is_bounded() -> None:
    pacer = Pacer(1000.0, max_channels=5)
    for i in range(50):
        await pacer.wait(f"C{i:03d}")
    assert len(pacer) <= 5


async def test_pacer_still_spaces_a_busy_channel() -> None:
    pacer = Pacer(20.0, max_channels=2)  # 50 ms apart
    started = time.monotonic()
    await asyncio.gather(*(pacer.wait("C0BUSY") for _ in range(3)))
    assert time.monotonic() - started >= 0.09
