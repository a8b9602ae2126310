"""What the email channel must remember across restarts and replicas, as two tiny protocols.

Channels never import the store; the store satisfies both protocols as it is (``kv_get``,
``kv_set``, ``lock``), so the app passes it in. Without one (a single process, tests), the
in-memory versions below keep the same behaviour for the life of the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Protocol, runtime_checkable


class KeyValue(Protocol):
    async def kv_get(self, key: str) -> str | None: ...

    async def kv_set(self, key: str, value: str, ttl_s: float | None = None) -> None: ...


class Locks(Protocol):
    def lock(self, name: str) -> AbstractAsyncContextManager[object]:
        """Held by one holder at a time across processes (a lease renewed while held)."""


@runtime_checkable
class Counters(Protocol):
    """Daily counters (the store's): suppressed mail shows up in stats and the digest."""

    async def incr(self, name: str, amount: float = 1) -> None: ...


class MemoryState:
    """Both protocols for one process."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[str, float | None]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def kv_get(self, key: str) -> str | None:
        found = self._values.get(key)
        if found is None:
            return None
        value, expires = found
        if expires is not None and expires < time.monotonic():
            del self._values[key]
            return None
        return value

    async def kv_set(self, key: str, value: str, ttl_s: float | None = None) -> None:
        expires = time.monotonic() + ttl_s if ttl_s is not None else None
        self._values[key] = (value, expires)

    @contextlib.asynccontextmanager
    async def _hold(self, name: str) -> AsyncIterator[None]:
        async with self._locks.setdefault(name, asyncio.Lock()):
            yield

    def lock(self, name: str) -> AbstractAsyncContextManager[None]:
        return self._hold(name)
