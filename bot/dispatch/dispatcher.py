"""The ``Dispatcher``: builds the parts of the pipeline from one config and runs them.

``submit`` is the channel side (durable enqueue, duplicates dropped); ``run`` the worker side
(``Reader`` -> ``Lanes`` -> ``Turns``, which ask the ``Decider`` and hand the outbox to
``Delivery``) until ``stop``; ``drain`` waits until the queue is empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Mapping
from typing import Any

from bot.delivery import Delivery
from bot.desk_hub import DeskHub
from bot.dispatch.base import DispatchConfig, Responder
from bot.dispatch.decide import Decider
from bot.dispatch.lanes import Lanes
from bot.dispatch.reader import Reader
from bot.dispatch.turn import Turns
from bot.events import Events
from bot.observability import bind_message, unbind_message
from bot.observer import Observer
from brain.store.base import Store
from brain.store.state import SharedState
from channels.base import Channel, InboundMessage

logger = logging.getLogger(__name__)

SIDE_TASK_GRACE_S = 10.0


class Dispatcher:
    def __init__(
        self,
        store: Store,
        brain: Responder,
        channels: Mapping[str, Channel],
        config: DispatchConfig,
        hub: DeskHub | None = None,
        events: Events | None = None,
        observer: Observer | None = None,
    ) -> None:
        self.store = store
        self.events = events or Events()
        self.observer = observer or Observer()
        self.brain = brain
        self.channels = dict(channels)
        self.config = config
        self.hub = hub
        self.state = SharedState(store)
        self.delivery = Delivery(store, self.channels, hub, self._spawn, self.events,
                                 observer=self.observer, owner=config.consumer,
                                 send_attempts=config.send_attempts,
                                 max_send_failures=config.max_send_failures)  # fmt: skip
        self._stopping = asyncio.Event()
        self._side_tasks: set[asyncio.Task[None]] = set()
        decider = Decider(store, brain, config, self.delivery, self.state)
        self.turns = Turns(store, config, decider, self.delivery, hub, self.observer,
                           self._spawn)  # fmt: skip
        self.lanes = Lanes(config, self.turns, self.delivery, self._stopping)
        self.reader = Reader(store, config, self.lanes, self._stopping)

    # -- the channel side --------------------------------------------------------------------
    async def submit(self, message: InboundMessage) -> bool:
        """Durably queue ``message``; False (and counted) if it is a duplicate delivery."""
        context = bind_message(message.ref.key, message.message_id)
        try:
            if await self.store.enqueue(message):
                self.observer.received(message)
                return True
            logger.info("dropped duplicate %s in %s", message.message_id, message.ref.key)
            self.observer.duplicate()
            await self.store.incr("duplicates_dropped")
            return False
        finally:
            unbind_message(context)

    # -- the worker side ---------------------------------------------------------------------
    async def run(self) -> None:
        """Consume the queue until ``stop()``; then finish the messages already taken."""
        await self.reader.resume_own()
        reclaimer = asyncio.create_task(self.reader.reclaim_loop())
        try:
            await self.reader.read_loop()
        finally:
            reclaimer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reclaimer
            self.lanes.close()
            if self.lanes.tasks:
                await asyncio.gather(*self.lanes.tasks, return_exceptions=True)
            if self._side_tasks:
                await asyncio.wait(self._side_tasks, timeout=SIDE_TASK_GRACE_S)

    def stop(self) -> None:
        self._stopping.set()
        self.turns.cancel_waiting()  # still waiting for a lock: nothing done yet

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_done)

    def _side_done(self, task: asyncio.Task[None]) -> None:
        self._side_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("desk work failed", exc_info=task.exception())

    async def drain(self, poll_s: float = 0.02) -> None:
        """Wait until every queued message has been handled (used by piped stdin and tests)."""
        while True:
            await self.lanes.idle.wait()
            if self._side_tasks:
                await asyncio.wait(self._side_tasks)
            if await self.store.queue_depth() == 0 and self.lanes.idle.is_set():
                return
            await asyncio.sleep(poll_s)
