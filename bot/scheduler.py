"""Periodic jobs on APScheduler (3.x): the retention purge and the liveness heartbeat, plus
what ``bot/wiring/parts.py`` registers with ``every`` and ``daily``: the knowledge-base reload
check, the disabled-provider sync, SLA re-paging and the daily digest.

Every replica runs its own scheduler. Jobs about this process (heartbeat, reload, provider
sync) run on each; jobs registered with ``singleton=True`` (SLA re-paging, the digest) run
only on the replica that holds the store lease ``scheduler`` (``channels/singleton.py``): the
others stand by and one of them takes over within the lease TTL when the holder stops or
dies. A run still going when the lease is lost is cancelled, and ``leader.check()`` lets a
job refuse to act once the lease is gone. The purge is idempotent and runs everywhere."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from brain.store.base import Store
from channels.singleton import Singleton, stop
from config.errors import FrontdeskError

logger = logging.getLogger(__name__)

Job = Callable[[], Awaitable[object]]

PURGE_EVERY_S = 3600
LEADER_LEASE = "scheduler"


def heartbeat_path(data_dir: Path) -> Path:
    return data_dir / "heartbeat"


def write_heartbeat(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"{time.time():.3f}\n", encoding="utf-8")
    tmp.replace(path)


def heartbeat_age(path: Path) -> float | None:
    try:
        return time.time() - float(path.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


class Scheduler:
    def __init__(
        self,
        store: Store,
        heartbeat: Path,
        heartbeat_s: float,
        timezone: str,
        leader: Singleton | None = None,
    ) -> None:
        self.store = store
        self.heartbeat = heartbeat
        self.leader = leader or Singleton(store, LEADER_LEASE)
        self._leading: asyncio.Task[None] | None = None
        self._scheduler = AsyncIOScheduler(timezone=timezone)
        self._scheduler.add_job(self._purge, "interval", seconds=PURGE_EVERY_S, id="purge")
        self._scheduler.add_job(self._beat, "interval", seconds=heartbeat_s, id="heartbeat")

    def every(self, seconds: float, name: str, job: Job, singleton: bool = False) -> None:
        """Run ``job`` every ``seconds``; a failing run is logged and the next one still runs.
        ``singleton``: only on the replica holding the scheduler lease."""
        run = _guarded(name, self._led(job) if singleton else job)
        self._scheduler.add_job(run, "interval", seconds=seconds, id=name)

    def daily(self, at: dt.time, name: str, job: Job, singleton: bool = False) -> None:
        """Run ``job`` every day at ``at`` in the scheduler's timezone."""
        run = _guarded(name, self._led(job) if singleton else job)
        self._scheduler.add_job(run, "cron", hour=at.hour, minute=at.minute, id=name)

    async def run_now(self, name: str) -> None:
        """Run the job registered as ``name`` once, now, as its schedule would."""
        job = self._scheduler.get_job(name)
        if job is None:
            raise KeyError(name)
        await job.func()

    def _led(self, job: Job) -> Job:
        async def led() -> bool:
            return await self.leader.job(job)

        return led

    async def start(self) -> None:
        await self._beat()
        await self._purge()
        self._leading = asyncio.create_task(self.leader.run(), name="scheduler-lease")
        self._scheduler.start()

    async def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        await stop(self._leading)  # releases the lease: a standby takes over at once
        self._leading = None
        self.heartbeat.unlink(missing_ok=True)

    async def _beat(self) -> None:
        write_heartbeat(self.heartbeat)

    async def _purge(self) -> None:
        try:
            purged = await self.store.purge_expired()
        except FrontdeskError:
            logger.exception("retention purge failed")
            return
        if purged:
            logger.info("retention purge removed %d conversations", purged)


def _guarded(name: str, job: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
    """``job`` with its failures logged, so one bad run never stops the schedule."""

    async def guarded() -> None:
        try:
            await job()
        except Exception:
            logger.exception("scheduled job %s failed", name)

    return guarded
