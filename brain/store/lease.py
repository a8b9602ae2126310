"""A lease-based lock that both backends share: acquire by polling, renew while held, fenced.

A backend supplies three atomic primitives on a (name, token) pair; this module does the
waiting, the renewal and the release. In-process waiters queue on an ``asyncio.Lock`` first so
only one coroutine per process polls the backend for a given name.

Fencing: a holder may only act while its lease is surely still its own. The lease is valid
until ``SAFE_FRACTION`` of the TTL after the start of the last successful acquire or renewal
(measured before the request went out, so never later than the backend's own expiry). When
that moment passes without a renewal, a holder that named its owner (a dispatcher worker) is
cancelled where it waits and ``LeaseLost`` leaves the ``async with``; ``Lease.check()``
refuses a write even if the event loop was too blocked for any timer to fire. The dispatcher
checks before every outbox write, send and ack. A holder without an owner (a long-lived
singleton such as a mailbox reader) is not cancelled: it sees ``lease.lost`` and steps down.

Restarts: a token carries its owner (the queue consumer name) and the process incarnation,
``owner/incarnation/random``. A consumer restarted under the same name takes back the leases
its previous incarnation left behind at once instead of waiting out their TTL (two live
processes under one consumer name are not supported: they would also share queue entries).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

from config.errors import StoreError

logger = logging.getLogger(__name__)

TryAcquire = Callable[[str, str, float, str, str], Awaitable[bool]]
"""(name, token, ttl, owner prefix, incarnation prefix): take the lock if it is free, or if
its token starts with the owner prefix but not with the incarnation prefix (the same consumer
before a restart); with an empty owner prefix only a free lock is taken."""
Renew = Callable[[str, str, float], Awaitable[bool]]
Release = Callable[[str, str], Awaitable[None]]

SAFE_FRACTION = 0.8
SEP = "/"


class LeaseLost(StoreError):
    """The holder's lease ran out: another worker may hold the lock now."""


class LockBusy(StoreError):
    """``hold(..., wait=False)`` found the lock held by someone else."""


class Lease:
    """What a lock holder checks before it writes the outbox, sends or acks."""

    def __init__(self, name: str, token: str, valid_until: float) -> None:
        self.name = name
        self.token = token
        self.valid_until = valid_until  # event-loop time
        self.lost = False
        self.released = False
        self._scope: asyncio.Timeout | None = None

    def let_go(self) -> None:
        """Called by a store that released the lock as part of its last write (one round
        trip for ack and release): nothing is fenced or released after this."""
        self.released = True
        if self._scope is not None:
            self._scope.reschedule(None)

    def check(self) -> None:
        if self.released:
            raise LeaseLost(f"the lease on {self.name} was already released")
        if not self.lost and asyncio.get_running_loop().time() >= self.valid_until:
            self.lost = True
        if self.lost:
            raise LeaseLost(f"the lease on {self.name} ran out; another worker may hold it")


class LeaseLocks:
    def __init__(
        self, try_acquire: TryAcquire, renew: Renew, release: Release, ttl_s: float
    ) -> None:
        self._try_acquire = try_acquire
        self._renew = renew
        self._release = release
        self._ttl_s = ttl_s
        # name -> [the in-process lock, how many hold it or wait for it]: dropped at 0
        self._local: dict[str, list[Any]] = {}
        self.incarnation = secrets.token_hex(6)
        # Tokens must be unique, not secret: this process's random incarnation and a count
        # (reading the OS's randomness for every lock showed in the pipeline's profile).
        self._tokens = itertools.count(1)
        # name -> {token: expiry time}: this process's tokens that may still sit on the lock
        self._unreleased: dict[str, dict[str, float]] = {}

    def hold(
        self,
        name: str,
        owner: str | None = None,
        try_acquire: TryAcquire | None = None,
        wait: bool = True,
    ) -> Hold:
        """The lock, once free (``wait=False``: now, or ``LockBusy``). ``try_acquire``
        (default: the backend's) may read more in the same step as a successful acquire (a
        conversation's head entry)."""
        return Hold(self, name, owner, try_acquire or self._try_acquire, wait)

    async def _let_go(self, name: str, token: str) -> None:
        try:
            await asyncio.shield(self._release(name, token))
        except Exception as err:
            logger.warning("could not release lock %s (%s); released on its next use, or it "
                           "expires by itself", name, err)  # fmt: skip
            self._stale(name, token)

    def _stale(self, name: str, token: str) -> None:
        loop = asyncio.get_running_loop()
        self._unreleased.setdefault(name, {})[token] = loop.time() + self._ttl_s

    async def _release_stale(self, name: str) -> None:
        """Release this process's own earlier tokens on ``name`` whose release failed, or
        whose acquire failed without a clear answer (the store was down: a Redis Cluster
        failover, a restart; the acquire may have run and only its reply been lost). The lock
        script refuses a token of this very process as a live holder's, so without this the
        next holder here, typically the retry of the very same message, would wait out the
        whole TTL for a lock nobody holds (the frozen-master failover test's unanswered
        conversations). Safe: a release deletes only while the token is still the lock's."""
        stale = self._unreleased.get(name)
        if not stale:
            return
        now = asyncio.get_running_loop().time()
        for token, expires_at in list(stale.items()):
            if now < expires_at:
                try:
                    await self._release(name, token)
                except Exception:
                    return  # still unreachable: tried again on the next poll
            del stale[token]
        del self._unreleased[name]

    async def _acquire(
        self,
        try_acquire: TryAcquire,
        name: str,
        token: str,
        owner: str,
        mine: str,
        wait: bool = True,
    ) -> float:
        """Poll until acquired; returns until when the lease is surely ours."""
        loop = asyncio.get_running_loop()
        delay = 0.005
        while True:
            if self._unreleased:
                await self._release_stale(name)
            asked_at = loop.time()
            try:
                taken = await try_acquire(name, token, self._ttl_s, owner, mine)
            except BaseException:
                self._stale(name, token)  # it may have been taken, the answer lost
                raise
            if taken:
                return asked_at + self._ttl_s * SAFE_FRACTION
            if not wait:
                raise LockBusy(f"{name} is held by someone else")
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 0.05)

    def _start_renewing(
        self, renewer: list[asyncio.Task[None]], name: str, token: str, lease: Lease
    ) -> None:
        if not lease.released:
            if lease._scope is not None:  # a worker is stopped once its lease runs out
                lease._scope.reschedule(lease.valid_until)
            renewer.append(asyncio.get_running_loop().create_task(
                self._keep_alive(name, token, lease, lease._scope)
            ))  # fmt: skip

    async def _keep_alive(
        self, name: str, token: str, lease: Lease, scope: asyncio.Timeout | None
    ) -> None:
        """Renew now, then every third of the TTL, until released or lost."""
        loop = asyncio.get_running_loop()
        while True:
            asked_at = loop.time()
            try:
                still_ours = await self._renew(name, token, self._ttl_s)
            except Exception as err:
                # The holder is stopped when the lease runs out; until then, keep trying.
                logger.warning("could not renew lock %s (%s); retrying", name, err)
                await asyncio.sleep(self._ttl_s / 3)
                continue
            if lease.released:
                return
            if not still_ours:
                logger.error("lock %s was lost while held; stopping its holder", name)
                lease.lost = True
                if scope is not None:
                    scope.reschedule(loop.time())
                return
            lease.valid_until = asked_at + self._ttl_s * SAFE_FRACTION
            if scope is not None and not lease.released:
                scope.reschedule(lease.valid_until)
            await asyncio.sleep(self._ttl_s / 3)


class Hold:
    """``LeaseLocks.hold``: ``async with`` it for the ``Lease``. In turn: the in-process lock,
    the backend's, a timeout scope, the renewal timer; on the way out the renewal stops, the
    scope ends (its expiry is ``LeaseLost``) and the lock is released unless the store already
    did. Written out as a class rather than with ``contextlib.asynccontextmanager`` (every
    message takes a lock, and that generator-based manager was a visible share of the
    pipeline's CPU). A worker's deadline (the end of its lease) is armed when the renewal
    starts, a third of the TTL in: the lease cannot run out before, and most holds (one
    message) end long before, so one timer per hold is made instead of two."""

    __slots__ = ("_lease", "_local", "_locks", "_name", "_owner", "_renewer", "_scope", "_timer",
                 "_try", "_wait")  # fmt: skip

    def __init__(
        self, locks: LeaseLocks, name: str, owner: str | None, try_acquire: TryAcquire,
        wait: bool,
    ) -> None:  # fmt: skip
        self._locks = locks
        self._name = name
        self._owner = owner
        self._try: TryAcquire | None = try_acquire
        self._wait = wait
        self._renewer: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Lease:
        locks, name, owner = self._locks, self._name, self._owner
        # A hold is entered once. Its acquire callback is often a bound method of the object
        # that keeps this hold (``LockedConversation._acquire``): let go of here, the two are
        # no reference cycle, and they go by reference counting when the message is done.
        # Kept, every message left ~24 objects in a cycle, nearly all that the cyclic
        # collector's young collections found (3-5 ms pauses every ~0.6 s at 500 msg/s).
        try_acquire, self._try = self._try, None
        if try_acquire is None:
            raise RuntimeError(f"a lock hold on {name} is entered once")
        local = locks._local.get(name)
        if local is None:
            local = locks._local[name] = [asyncio.Lock(), 0]
        local[1] += 1
        self._local = local
        try:
            await local[0].acquire()
        except BaseException:
            self._forget()
            raise
        try:
            if owner:
                owner = owner.replace(SEP, "%2F")
                mine = f"{owner}{SEP}{locks.incarnation}{SEP}"
                token, prefixes = f"{mine}{next(locks._tokens):x}", (owner + SEP, mine)
            else:
                token, prefixes = f"{locks.incarnation}-{next(locks._tokens):x}", ("", "")
            until = await locks._acquire(try_acquire, name, token, *prefixes, wait=self._wait)
        except BaseException:
            self._unlock()
            raise
        lease = self._lease = Lease(name, token, until)
        try:
            scope = self._scope = asyncio.timeout_at(None)
            await scope.__aenter__()
        except BaseException:
            try:
                await locks._let_go(name, token)
            finally:
                self._unlock()
            raise
        # A worker (an owner) is stopped when its lease runs out; a long-lived singleton
        # holder (a mailbox reader) is only told, through ``lease.lost`` and ``check()``, so
        # that it can step down and try again by itself.
        lease._scope = scope if owner is not None else None
        # The renewer starts a third of the TTL from now, from a timer: most holds (one
        # message) end long before, and a task started and cancelled for each of them cost
        # more than the rest of the lock's Python.
        self._timer = asyncio.get_running_loop().call_later(
            locks._ttl_s / 3, locks._start_renewing, self._renewer, name, token, lease
        )
        return lease

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        err: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        lease, scope = self._lease, self._scope
        try:
            try:
                try:
                    try:
                        if err is not None:
                            raise err  # as if thrown into the generator at its ``yield``
                    finally:
                        self._timer.cancel()
                        for task in self._renewer:
                            task.cancel()
                            with contextlib.suppress(asyncio.CancelledError):
                                await task
                except BaseException as raised:
                    # (a Timeout never swallows: it lets the error on, or makes it TimeoutError)
                    await scope.__aexit__(type(raised), raised, raised.__traceback__)
                    raise
                else:
                    await scope.__aexit__(None, None, None)
            except TimeoutError as timeout:
                if not scope.expired():
                    raise
                lease.lost = True
                raise LeaseLost(
                    f"the lease on {self._name} ran out while held; stopped"
                ) from timeout
            finally:
                if not lease.released:
                    await self._locks._let_go(self._name, lease.token)
        except BaseException as raised:
            if raised is not err:
                raise
            raised.__traceback__ = tb  # the body's own error goes on as it was
            return
        finally:
            self._unlock()

    def _unlock(self) -> None:
        self._local[0].release()
        self._forget()

    def _forget(self) -> None:
        self._local[1] -= 1
        if not self._local[1]:
            del self._locks._local[self._name]
