"""Taking entries off the inbound queue: the read loop with its back-pressure, this consumer's
own unfinished entries at start, and the periodic reclaim of what a stopped worker left.
Everything read goes to ``Lanes.route``."""

from __future__ import annotations

import asyncio
import logging
import time

from bot.dispatch.base import DispatchConfig
from bot.dispatch.lanes import Lanes
from bot.flow import (
    BUSY_PAUSE_S,
    LINGER_UNTIL_BELOW,
    MIN_PREFETCH,
    READ_BATCH,
    READ_DEADLINE_S,
    STRANDED_IDLE_S,
    STRANDED_READ_S,
    TAKE_BACK_AGAIN_S,
    Outage,
    cpu_saturated,
    read_linger,
)
from brain.store.base import Store
from channels.deadline import Deadlines
from config.errors import FrontdeskError

logger = logging.getLogger(__name__)


class Reader:
    def __init__(
        self, store: Store, config: DispatchConfig, lanes: Lanes, stopping: asyncio.Event
    ) -> None:
        self.store = store
        self.config = config
        self.lanes = lanes
        self.stopping = stopping

    async def read_loop(self) -> None:
        # Back-pressure: above the high-water mark nothing more is read (nothing is dropped:
        # the rest waits in the queue).
        capacity = self.config.max_in_flight
        lanes = self.lanes
        outage = Outage("reading the inbound queue")
        suspect = False  # a read failed or hung: it may have taken entries it never returned
        again: list[float] = []  # when the follow-up take-backs after a suspect read are due
        deadline = Deadlines(READ_DEADLINE_S)
        while not self.stopping.is_set():
            room = await lanes.wait_for_room(capacity)
            waiting = len(lanes.lanes) - len(lanes.busy)  # lanes whose head has not started
            if len(lanes.in_flight) >= MIN_PREFETCH and (
                waiting >= READ_BATCH or await cpu_saturated()
            ):
                # The loop is busy computing (classification, retrieval), not waiting: what
                # this process cannot start soon is better left to another replica. The pause
                # ends early once what is in flight is nearly done.
                await lanes.linger(LINGER_UNTIL_BELOW, BUSY_PAUSE_S)
                continue
            try:
                count = min(room, READ_BATCH)
                asked_at = time.monotonic()
                # The deadline in this task (``wait_for`` would start a task for every read), on
                # one timer for every read (``asyncio.timeout`` makes one each time).
                with deadline.within():
                    entries = await self.store.read_queue(self.config.consumer, count,
                                                          block_s=0.2)  # fmt: skip
            except FrontdeskError as err:
                suspect = True
                await outage.failed(err, self.stopping)
                continue
            except TimeoutError:
                suspect = True
                hung = TimeoutError(f"no answer within {READ_DEADLINE_S:.0f} s")
                await outage.failed(hung, self.stopping)
                continue
            outage.ok()
            now = time.monotonic()
            if suspect or now - asked_at > STRANDED_READ_S:
                suspect = not await self.take_back_own()
                again = [] if suspect else [now + delay for delay in TAKE_BACK_AGAIN_S]
            elif again and now >= again[0] and await self.take_back_own():
                again.pop(0)
            lanes.route(entries)
            linger = read_linger(len(entries), count, len(lanes.in_flight))
            if linger:
                await lanes.linger(LINGER_UNTIL_BELOW, linger)

    async def resume_own(self) -> None:
        """Before reading anything new: this consumer's own unfinished entries (a restart
        under the same name), at once, in queue order."""
        outage = Outage("resuming unfinished queue entries")
        own = self.config.consumer
        while not self.stopping.is_set():
            try:
                entries = await self.store.reclaim(own, 0, 1000, from_consumer=own)
            except FrontdeskError as err:
                await outage.failed(err, self.stopping)
                continue
            outage.ok()
            if entries:
                logger.warning("resuming %d unfinished messages from before a restart",
                               len(entries))  # fmt: skip
            self.lanes.route(entries)
            return

    async def take_back_own(self) -> bool:
        """This consumer's own pending entries that are not in flight here, in queue order
        (False: the store failed again). A read that failed or hung may have taken entries
        and never returned them: redis-py's cluster pipeline retries its XREADGROUPs when a
        node fails (a Redis Cluster failover), and a retried ``>`` read returns nothing of
        what the first attempt took. Only the next message of the same conversation, or the
        reclaim after ``reclaim_idle_s``, would bring such an entry up otherwise."""
        own = self.config.consumer
        try:
            entries = await self.store.reclaim(own, STRANDED_IDLE_S, 1000, from_consumer=own)
        except FrontdeskError as err:
            logger.warning("taking back unreturned queue entries failed (%s)", err)
            return False
        stranded = [e for e in entries if e.entry_id not in self.lanes.in_flight]
        if stranded:
            logger.warning("took back %d messages a failed read had taken", len(stranded))
        self.lanes.route(stranded)
        return True

    async def reclaim_loop(self) -> None:
        """Every half idle period: entries a stopped worker left."""
        outage = Outage("reclaiming unfinished queue entries")
        interval = max(self.config.reclaim_idle_s / 2, 0.05)
        while not self.stopping.is_set():
            await asyncio.sleep(interval)
            try:
                entries = await self.store.reclaim(
                    self.config.consumer, self.config.reclaim_idle_s, 100
                )
            except FrontdeskError as err:
                await outage.failed(err, self.stopping)
                continue
            outage.ok()
            if entries:
                logger.warning("reclaimed %d messages a stopped worker left", len(entries))
            self.lanes.route(entries)
