"""Singleton work across replicas: acquire a store lease -> run -> on loss stop -> retry.

Some work must run in one process at a time however many replicas run: reading one mailbox,
the SLA re-page job, the daily digest. Each follows ``Singleton.run``:

    acquire the lease (a standby waits here, polling the store)
      -> run the work while the lease is held
      -> the lease is lost (renewal refused, or not renewed in time: the store was unreachable)
         -> the work is cancelled and awaited (it closes its connections on the way out)
      -> wait a backoff with jitter, then acquire again

A holder that dies stops renewing; its lease runs out after the store's lock TTL and a standby
takes over. A holder stops its work before its lease can expire (at ``SAFE_FRACTION`` of the
TTL after the last renewal, see ``brain/store/lease.py``), so the old and the new holder never
overlap. Work that must never run twice (a page sent to a desk) also calls ``check()`` right
before acting: it raises ``NotHeld`` once the lease is gone, even when the event loop was too
busy for the watcher to notice.

The lease object comes from whatever ``Locks`` is passed in (the bot's store, through the
``StoreBound`` capability, or the in-memory stand-in); if it has a ``check()`` method (the
store's ``Lease``), that method says whether it is still held. This module imports neither
the store nor the bot.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from channels.tasks import cancel_and_wait
from config.errors import FrontdeskError

logger = logging.getLogger(__name__)

Work = Callable[[], Awaitable[object]]
Gate = Callable[[], Awaitable[None]]  # returns once the lease may be tried
TryLock = Callable[[str], AbstractAsyncContextManager[object]]


class Locks(Protocol):
    def lock(self, name: str) -> AbstractAsyncContextManager[object]:
        """Held by one holder at a time across processes (a lease renewed while held)."""


class LocalLocks:
    """``Locks`` for one process (no store bound: a single replica, tests)."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}

    def lock(self, name: str) -> AbstractAsyncContextManager[object]:
        return self._locks.setdefault(name, asyncio.Lock())


class NotHeld(FrontdeskError):
    """This process does not (or no longer) hold the singleton's lease."""


class Singleton:
    def __init__(
        self,
        locks: Locks,
        name: str,
        *,
        retry_base_s: float = 0.5,
        retry_max_s: float = 30.0,
        watch_s: float = 0.5,
        rng: random.Random | None = None,
        gate: Gate | None = None,
        try_lock: TryLock | None = None,
        poll_s: float = 0.25,
    ) -> None:
        self.locks = locks
        # A gated singleton (Discord shards spread over replicas) tries the lease only once
        # ``gate()`` has returned, one try at a time (``try_lock``: the store's ``wait=False``),
        # instead of polling the store until it has it.
        self.gate, self.try_lock, self.poll_s = gate, try_lock, poll_s
        self.name = name
        self.retry_base_s = retry_base_s
        self.retry_max_s = retry_max_s
        self.watch_s = watch_s
        self.rng = rng or random.Random()
        self.terms = 0  # times this process took the lease
        self.losses = 0  # terms that ended with the lease lost (not renewed in time)
        self._lease: object | None = None
        self._held = asyncio.Event()
        self._jobs: set[asyncio.Future[object]] = set()

    @property
    def held(self) -> bool:
        """The lease is ours and, as far as this process can tell, still valid."""
        if not self._held.is_set():
            return False
        try:
            self._check_lease()
        except Exception:
            return False
        return True

    def check(self) -> None:
        """Raise ``NotHeld`` unless the lease is surely still ours: call before acting."""
        if not self._held.is_set():
            raise NotHeld(f"{self.name}: not the holder")
        try:
            self._check_lease()
        except Exception as err:
            raise NotHeld(f"{self.name}: the lease was lost ({err})") from err

    async def wait_held(self) -> None:
        await self._held.wait()

    async def run(self, work: Work | None = None) -> None:
        """Until cancelled: hold the lease whenever it can be had, running ``work`` (or
        nothing: ``job`` runs work on demand) while it is held. If ``work`` ends or fails
        by itself, the lease is released and taken again after the backoff."""
        attempt = 0
        while True:
            entered = False
            try:
                async with await self._acquire() as lease:
                    entered = True
                    attempt = 0 if await self._term(lease, work) else attempt
            except asyncio.CancelledError:
                raise
            except Exception as err:
                if not entered and self.gate is not None:
                    # Held by another replica (or the store is unreachable): look again.
                    logger.debug("singleton %s: not taken (%s)", self.name, err)
                    await asyncio.sleep(self.rng.uniform(self.poll_s / 2, self.poll_s))
                    continue
                logger.warning("singleton %s: %s: %s", self.name, type(err).__name__, err)
            finally:
                self._step_down()
            delay = self._backoff(attempt)
            attempt += 1
            logger.info("singleton %s: trying again to take the lease in %.1f s", self.name, delay)
            await asyncio.sleep(delay)

    async def _acquire(self) -> AbstractAsyncContextManager[object]:
        """The lease's context manager: plain (it polls until held), or once the gate opens
        a single try."""
        if self.gate is None or self.try_lock is None:
            return self.locks.lock(self.name)
        await self.gate()
        return self.try_lock(self.name)

    async def job(self, work: Work) -> bool:
        """Run ``work`` once if this process holds the lease (else do nothing and return
        False). The run is cancelled if the lease is lost meanwhile."""
        if not self.held:
            return False
        task: asyncio.Future[object] = asyncio.ensure_future(work())
        self._jobs.add(task)
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # our caller is being cancelled, not just the job
            logger.warning("singleton %s: the lease was lost mid-run; the run stopped", self.name)
            return False
        finally:
            self._jobs.discard(task)
        return True

    async def _term(self, lease: object, work: Work | None) -> bool:
        """One term as holder; True if it ended with the lease lost (not the work failing)."""
        self._lease = lease
        self.terms += 1
        self._held.set()
        logger.info("singleton %s: this process holds the lease now", self.name)
        worker = asyncio.ensure_future(work() if work is not None else asyncio.Event().wait())
        watcher = asyncio.ensure_future(self._watch())
        try:
            await asyncio.wait({worker, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._held.clear()  # nothing new starts under this lease from here on
            # ``cancel_and_wait``: work whose library swallowed its cancellation (3.11's
            # ``wait_for``) is cancelled again instead of running on without the lease.
            tasks: list[asyncio.Future[Any]] = [worker, watcher, *self._jobs]
            await asyncio.gather(*(cancel_and_wait(t) for t in tasks), return_exceptions=True)
        if watcher.done() and not watcher.cancelled() and watcher.exception() is None:
            logger.error("singleton %s: the lease was lost; stopped the work", self.name)
            self.losses += 1
            return True
        if not worker.cancelled() and worker.exception() is not None:
            error = worker.exception()
            logger.error("singleton %s: the work failed: %s", self.name, error, exc_info=error)
        return False

    async def _watch(self) -> None:
        """Return once the lease is lost (checked every ``watch_s``, or more often for a short
        lease, so that the holder stops well before the lease can expire; no round trip)."""
        if not callable(getattr(self._lease, "check", None)):
            await asyncio.Event().wait()  # an in-process lock is never lost
        every = self.watch_s
        valid_until = getattr(self._lease, "valid_until", None)
        if isinstance(valid_until, float):
            left = valid_until - asyncio.get_running_loop().time()
            every = min(every, max(0.01, left / 8))
        while True:
            await asyncio.sleep(every)
            try:
                self._check_lease()
            except Exception:
                return

    def _check_lease(self) -> None:
        check = getattr(self._lease, "check", None)
        if callable(check):
            check()

    def _step_down(self) -> None:
        self._held.clear()
        self._lease = None

    def _backoff(self, attempt: int) -> float:
        """Exponential, capped, with full jitter (replicas do not retry in step)."""
        ceiling = min(self.retry_max_s, self.retry_base_s * 2**attempt)
        return self.rng.uniform(ceiling / 2, ceiling)


async def stop(task: asyncio.Task[None] | None) -> None:
    """Cancel a singleton's ``run`` task and wait until its work has stopped."""
    await cancel_and_wait(task)
