"""Lanes: one per conversation (and one per ticket for relays), so each conversation's
messages are handled in order and different conversations concurrently.

A lane holds its head: while it is neither delivered nor dead-lettered (``bot/delivery.py``),
the lane retries it with backoff and the next message waits. Messages the same customer sent
in a quick burst are joined to the head (coalescing) and answered as one question.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence

from bot.delivery import Delivery
from bot.dispatch.base import DispatchConfig
from bot.dispatch.turn import Turns
from bot.flow import READ_BATCH, Throttled
from bot.observability import clear_message
from brain.store.base import QueueEntry
from channels.base import DeskRelay, InboundMessage, QueueItem
from config.errors import FrontdeskError

logger = logging.getLogger(__name__)

# At most this many lane tasks wait for a new lane (as many as one read brings).
MAX_PARKED = READ_BATCH


class Lanes:
    """The entries this process has taken, by lane; ``in_flight`` bounds what is read."""

    def __init__(
        self, config: DispatchConfig, turns: Turns, delivery: Delivery, stopping: asyncio.Event
    ) -> None:
        self.config = config
        self.turns = turns
        self.delivery = delivery
        self.stopping = stopping
        self.lanes: dict[str, deque[QueueEntry]] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.in_flight: set[str] = set()
        # Set whenever an entry leaves ``in_flight`` (the reader clears it before it waits).
        # An event, not a condition: releasing an entry is then a plain call, no lock taken.
        self.room = asyncio.Event()
        self.idle = asyncio.Event()  # set while no lane has work
        self.idle.set()
        self.busy: set[str] = set()  # lanes whose head is being handled (lock taken)
        self.arrived: dict[str, float] = {}  # entry id -> when this process took it
        # Lane tasks whose lane is done, waiting to be handed the next new lane: starting a
        # task costs more than all the rest of a lane's own Python (most lanes are one
        # message long). ``close`` ends them.
        self._parked: list[asyncio.Future[str | None]] = []
        self._closed = False
        # While the reader lingers (``linger``): how few entries in flight end its wait.
        self._draining: tuple[int, asyncio.Future[None]] | None = None

    def route(self, entries: Sequence[QueueEntry]) -> None:
        for entry in entries:
            if entry.entry_id in self.in_flight:
                continue  # our own slow message, reclaimed from ourselves: already queued
            self.in_flight.add(entry.entry_id)
            self.arrived[entry.entry_id] = time.monotonic()
            self.idle.clear()
            key = lane_of(entry.message)
            lane = self.lanes.get(key)
            if lane is not None:
                lane.append(entry)
                continue
            self.lanes[key] = deque([entry])
            if self._parked:
                self._parked.pop().set_result(key)
                continue
            task = asyncio.create_task(self._run_lanes(key), name="lane")
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    def close(self) -> None:
        """No lane will be routed any more (the reader stopped): the parked lane tasks end,
        and those still running end once their lane is done."""
        self._closed = True
        while self._parked:
            self._parked.pop().set_result(None)

    async def _run_lanes(self, key: str | None) -> None:
        """One lane after another: each lane's entries, then the next lane ``route`` hands
        this task (when fewer than ``MAX_PARKED`` tasks wait for one already)."""
        while key is not None:
            await self._run_lane(key)
            if self._closed or len(self._parked) >= MAX_PARKED:
                return
            parked: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
            self._parked.append(parked)
            try:
                key = await parked
            except asyncio.CancelledError:
                if parked in self._parked:  # not handed a lane: none to leave behind
                    self._parked.remove(parked)
                raise
            # The log context of the lane before must not name the next lane's lines.
            clear_message()

    async def _run_lane(self, key: str) -> None:
        """Handle a lane's entries in order. The head stays the head until it is done
        (delivered, or given up as a dead letter): the next message of the conversation is
        not answered before it. On stop, unfinished entries stay queued for the next start."""
        lane = self.lanes[key]
        # Once per lane, not per message: a lane's entries share its channel (the key holds
        # it), so its coalescing window; and the marker ``Turns.process`` calls once locked.
        window = _window(self.config.coalesce_s, lane[0].message)
        locked = functools.partial(self.busy.add, key)
        failures = 0
        try:
            while lane and not (failures and self.stopping.is_set()):
                entry = lane[0]
                companions: Sequence[QueueEntry] = ()
                if window > 0 and failures == 0:
                    companions = await self._burst(lane, window)
                attempted = await self._attempt(entry, key, failures, companions, locked)
                self.busy.discard(key)
                if attempted is None:  # throttled: waited for the customer's next token
                    continue
                if not attempted:
                    failures += 1
                    await self._backoff(failures)
                    continue
                failures = 0
                # The head and its companions (right after it) leave the lane; entries are
                # only ever appended behind them meanwhile.
                for _ in range(1 + len(companions)):
                    self._release(lane.popleft())
        finally:
            for left in lane:
                self._release(left)
            del self.lanes[key]
            if not self.lanes:
                self.idle.set()

    async def _burst(self, lane: deque[QueueEntry], window: float) -> list[QueueEntry]:
        """The messages right after the lane's head that the same customer sent within the
        channel's ``window`` of the one before, once the window after the last has passed (so
        a burst is answered as one question). Nothing is held meanwhile: no lock, no slot."""
        head = lane[0].message
        if not isinstance(head, InboundMessage) or lane[0].deliveries > 1 or head.rating:
            return []  # a button press is an answer of its own, never part of a question
        while True:
            burst: list[QueueEntry] = []
            last = head
            for entry in list(lane)[1:]:
                item = entry.message
                if (
                    not isinstance(item, InboundMessage)
                    or entry.deliveries > 1
                    or item.rating is not None
                    or item.author.id != head.author.id
                    or (item.received_at - last.received_at).total_seconds() > window
                ):
                    break  # fmt: skip
                burst.append(entry)
                last = item
            # Gaps by the platform's timestamps, the wait by when this process got the last
            # one (a platform's clock, or a test's, may be anywhere).
            newest = burst[-1] if burst else lane[0]
            wait_s = self.arrived.get(newest.entry_id, 0.0) + window - time.monotonic()
            if wait_s <= 0 or self.stopping.is_set():
                return burst
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), wait_s)

    async def _attempt(
        self, entry: QueueEntry, key: str, tries: int, companions: Sequence[QueueEntry],
        locked: Callable[[], None],
    ) -> bool | None:  # fmt: skip
        """One try at ``entry``; False if it must be tried again (it stays unacked), None if
        the customer is over their rate (it waited for their next token; try again)."""
        try:
            if isinstance(entry.message, DeskRelay):
                return await self.delivery.relay(entry)  # no worker slot: it waits on desks
            await self.turns.process(entry, tries, companions, locked, key)
            return True
        except Throttled as throttled:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), throttled.wait_s)
            return None
        except FrontdeskError as err:  # the store or a channel is down: retried with backoff
            logger.warning("could not finish queue entry %s in %s (%s); retrying",
                           entry.entry_id, key, err)  # fmt: skip
        except Exception:
            logger.exception("could not finish queue entry %s in %s; retrying",
                             entry.entry_id, key)  # fmt: skip
        return False

    async def _backoff(self, failures: int) -> None:
        delay = min(self.config.retry_backoff_s * 2 ** (failures - 1),
                    self.config.max_retry_backoff_s)  # fmt: skip
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), delay)

    def _release(self, entry: QueueEntry) -> None:
        self.in_flight.discard(entry.entry_id)
        self.arrived.pop(entry.entry_id, None)
        self.room.set()
        draining = self._draining
        if draining is not None and len(self.in_flight) < draining[0]:
            _resolve(draining[1])

    async def linger(self, below: int, most_s: float) -> None:
        """Until fewer than ``below`` entries are in flight, ``most_s`` at most: a busy
        process reads its next batch once the one before is nearly done, not after a fixed
        pause in which the loop may run out of work. One waiter at a time (the reader)."""
        if len(self.in_flight) < below:
            return
        loop = asyncio.get_running_loop()
        drained: asyncio.Future[None] = loop.create_future()
        self._draining = (below, drained)
        timer = loop.call_later(most_s, _resolve, drained)
        try:
            await drained
        finally:
            timer.cancel()
            self._draining = None

    async def wait_for_room(self, capacity: int) -> int:
        """Until fewer than ``capacity`` entries are in flight: how many more may be read."""
        while len(self.in_flight) >= capacity:
            self.room.clear()
            await self.room.wait()
        return capacity - len(self.in_flight)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _window(coalesce_s: Mapping[str, float], item: QueueItem) -> float:
    """The coalescing window of a lane whose first entry is ``item`` (none for relays)."""
    if not coalesce_s or isinstance(item, DeskRelay):
        return 0.0
    return coalesce_s.get(item.ref.channel, 0.0)


def lane_of(item: QueueItem) -> str:
    """Relays keep their order per ticket in a lane of their own, beside the conversation."""
    if isinstance(item, DeskRelay):
        return f"relay:{item.ticket_id}"
    return item.ref.key
