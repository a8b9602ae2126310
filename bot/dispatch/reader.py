"""Taking entries off the inbound queue: the read loop with its back-pressure, this consumer's
own unfinished entries at start, and the periodic reclaim of what a stopped worker left.
Everything read goes to ``Lanes.route``."""

from __future__ import annotations

import asyncio
import logging

from bot.dispatch.base import DispatchConfig
from bot.dispatch.lanes import Lanes
from bot.flow import BUSY_PAUSE_S, MIN_PREFETCH, READ_BATCH, Outage, cpu_saturated, read_linger
from brain.store.base import Store
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
        while not self.stopping.is_set():
            async with lanes.room:
                await lanes.room.wait_for(lambda: len(lanes.in_flight) < capacity)
                room = capacity - len(lanes.in_flight)
            waiting = len(lanes.lanes) - len(lanes.busy)  # lanes whose head has not started
            if len(lanes.in_flight) >= MIN_PREFETCH and (
                waiting >= READ_BATCH or await cpu_saturated()
            ):
                # The loop is busy computing (classification, retrieval), not waiting: what
                # this process cannot start soon is better left to another replica.
                await asyncio.sleep(BUSY_PAUSE_S)
                continue
            try:
                count = min(room, READ_BATCH)
                entries = await self.store.read_queue(self.config.consumer, count, block_s=0.2)
            except FrontdeskError as err:
                await outage.failed(err, self.stopping)
                continue
            outage.ok()
            lanes.route(entries)
            linger = read_linger(len(entries), count, len(lanes.in_flight))
            if linger:
                await asyncio.sleep(linger)

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
