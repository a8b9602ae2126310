"""The one thread that owns a SQLite connection, committing operations in groups.

Each store operation is one function of the connection. Operations that are queued while the
thread is busy run together in one transaction, each inside a savepoint (one that fails is
rolled back alone and its caller gets the error), and one COMMIT ends the group: under load a
commit costs once per group instead of once per operation. A caller hears its result only
after that commit, so nothing is reported done before it is durable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

MAX_GROUP = 128
"""At most this many operations share one commit (a long group delays its first caller)."""


@dataclass(frozen=True, slots=True)
class Transaction(Generic[T]):
    """``fn(conn, *args)``, run inside the writer's transaction."""

    fn: Callable[..., T]
    args: tuple[Any, ...]

    def __call__(self, conn: sqlite3.Connection) -> T:
        return self.fn(conn, *self.args)


@dataclass(frozen=True, slots=True)
class _Job:
    work: Callable[[], Any] | Transaction[Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


class Writer:
    """Runs jobs in order on its own thread; ``Transaction`` jobs are grouped into one
    commit, any other callable (connect, close) runs alone, outside a transaction."""

    def __init__(self, name: str) -> None:
        self.conn: sqlite3.Connection | None = None
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    async def run(self, work: Callable[[], T] | Transaction[T]) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put(_Job(work, future, loop))
        return await future

    def stop(self) -> None:
        """Finish the queued jobs, then end the thread."""
        self._jobs.put(None)
        self._thread.join()

    def _loop(self) -> None:
        pending: _Job | None = None
        while True:
            job = pending if pending is not None else self._jobs.get()
            pending = None
            if job is None:
                return
            if not isinstance(job.work, Transaction):
                self._alone(job)
                continue
            group, stop = [job], False
            while len(group) < MAX_GROUP:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                if not isinstance(more.work, Transaction):
                    pending = more  # runs alone, right after this group
                    break
                group.append(more)
            self._commit(group)
            if stop:
                return

    def _alone(self, job: _Job) -> None:
        try:
            assert not isinstance(job.work, Transaction)
            result = job.work()
        except Exception as err:
            _settle(job, None, err)
        else:
            _settle(job, result, None)

    def _commit(self, group: list[_Job]) -> None:
        conn = self.conn
        if conn is None:
            for job in group:
                _settle(job, None, sqlite3.ProgrammingError("the store is not open"))
            return
        outcomes: list[tuple[Any, BaseException | None]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as err:
            for job in group:
                _settle(job, None, err)
            return
        for job in group:
            if job.future.cancelled():  # its caller gave up before it started
                outcomes.append((None, None))
                continue
            outcomes.append(_savepoint(conn, job.work))
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as err:
            logger.warning("SQLite commit of %d operations failed: %s", len(group), err)
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            outcomes = [(None, err)] * len(group)
        for job, (result, error) in zip(group, outcomes, strict=True):
            _settle(job, result, error)


def _savepoint(
    conn: sqlite3.Connection, work: Callable[..., Any]
) -> tuple[Any, BaseException | None]:
    conn.execute("SAVEPOINT op")
    try:
        result = work(conn)
    except Exception as err:
        conn.execute("ROLLBACK TO op")
        conn.execute("RELEASE op")
        return None, err
    conn.execute("RELEASE op")
    return result, None


def _settle(job: _Job, result: Any, error: BaseException | None) -> None:
    def settle() -> None:
        if job.future.done():  # cancelled meanwhile
            return
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(result)

    with contextlib.suppress(RuntimeError):  # the caller's loop is closed: nobody waits
        job.loop.call_soon_threadsafe(settle)
