"""A lease-based lock that both backends share: acquire by polling, renew while held.

A backend supplies three atomic primitives on a (name, token) pair; this module does the
waiting, the renewal and the release. In-process waiters queue on an ``asyncio.Lock`` first so
only one coroutine per process polls the backend for a given name.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable

logger = logging.getLogger(__name__)

TryAcquire = Callable[[str, str, float], Awaitable[bool]]
Renew = Callable[[str, str, float], Awaitable[bool]]
Release = Callable[[str, str], Awaitable[None]]


class LeaseLocks:
    def __init__(
        self, try_acquire: TryAcquire, renew: Renew, release: Release, ttl_s: float
    ) -> None:
        self._try_acquire = try_acquire
        self._renew = renew
        self._release = release
        self._ttl_s = ttl_s
        self._local: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @contextlib.asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[None]:
        local = self._local.get(name)
        if local is None:
            local = asyncio.Lock()
            self._local[name] = local
        async with local:
            token = secrets.token_hex(12)
            await self._acquire(name, token)
            renewer = asyncio.create_task(self._keep_alive(name, token))
            try:
                yield
            finally:
                renewer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renewer
                try:
                    await asyncio.shield(self._release(name, token))
                except Exception:
                    logger.warning("could not release lock %s; it expires by itself", name,
                                   exc_info=True)  # fmt: skip

    async def _acquire(self, name: str, token: str) -> None:
        delay = 0.005
        while not await self._try_acquire(name, token, self._ttl_s):
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 0.05)

    async def _keep_alive(self, name: str, token: str) -> None:
        while True:
            await asyncio.sleep(self._ttl_s / 3)
            try:
                still_ours = await self._renew(name, token, self._ttl_s)
            except Exception:
                logger.warning("could not renew lock %s; retrying", name, exc_info=True)
                continue
            if not still_ours:
                # Only possible if this process stalled for longer than the TTL.
                logger.error("lock %s expired while held; another worker may enter", name)
                return
