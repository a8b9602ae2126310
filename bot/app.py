"""The bot's lifecycle: runs what ``bot/wiring/`` builds, in order.

Start order: store -> every part built (``build_parts``: adapters, knowledge base, brain,
router, admin, desk hub, dispatcher, scheduler) -> dispatcher -> scheduler -> per platform:
desks and channels attach their handlers, then the platform connects. Stop is the reverse
(``AsyncExitStack``): platforms disconnect, channels stop receiving, the dispatcher finishes
the messages it has taken (unfinished ones stay queued for the next start), then the store
closes. SIGTERM and SIGINT trigger that orderly stop; SIGHUP reloads the knowledge base.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from typing import Any, TextIO

from bot.admin import sync_disabled
from bot.dispatch import Dispatcher
from bot.preflight import preflight
from bot.reload import Reloader
from bot.wiring import Parts, build_adapters, build_parts, build_store
from channels.base import Channel, FiniteChannel, Streams
from config.settings import Settings

logger = logging.getLogger(__name__)

DRAIN_TIMEOUT_S = 30.0
# The cyclic collector after start-up (``settle_heap``): a young collection every 2,000 net
# container allocations, the middle generation every 50 of them. An object is thus promoted to
# the old generation after the same 100,000 allocations as with 10,000 and 10 (what keeps full
# collections rare), while each young collection walks a fifth as many objects.
GC_YOUNG_THRESHOLD = 2_000
GC_MIDDLE_THRESHOLD = 50


class App:
    def __init__(
        self, settings: Settings, stdin: TextIO | None = None, stdout: TextIO | None = None
    ) -> None:
        self.settings = settings
        self.streams = Streams(stdin, stdout)
        self._stop = asyncio.Event()
        self._background: set[asyncio.Task[bool]] = set()

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        # Refuse bad settings before touching anything: the cheap checks first.
        adapters = build_adapters(self.settings, self.streams)
        checked = preflight(self.settings)
        async with contextlib.AsyncExitStack() as stack:
            store = build_store(self.settings)
            await store.open()
            stack.push_async_callback(store.close)
            logger.info("store: %s", store.backend)
            parts = await build_parts(self.settings, store, adapters, checked)
            stack.push_async_callback(parts.brain.close)
            await sync_disabled(store, parts.router)
            if parts.ops is not None:  # /healthz answers while the rest starts
                await parts.ops.start()
                stack.push_async_callback(parts.ops.stop)

            dispatcher = parts.dispatcher
            worker = asyncio.create_task(dispatcher.run(), name="dispatcher")
            stack.push_async_callback(self._stop_dispatcher, dispatcher, worker)
            await parts.scheduler.start()
            stack.push_async_callback(parts.scheduler.stop)
            await self._start_adapters(parts, stack)
            self._install_signal_handlers(parts.reloader)
            settle_heap()
            await self._wait_until_done(list(parts.channels), dispatcher, worker)

    async def _start_adapters(self, parts: Parts, stack: contextlib.AsyncExitStack) -> None:
        """Each platform: its desks and channels attach their handlers, then it connects (so
        no event arrives before the listener meant for it); stopped in reverse order."""
        for adapter in parts.adapters:
            for desk in adapter.desks:
                await desk.start(parts.hub.handle)
                stack.push_async_callback(desk.stop)
            for channel in adapter.channels:
                await channel.start(parts.dispatcher.submit)
                stack.push_async_callback(channel.stop)
                logger.info("channel %s started", channel.name)
            await stack.enter_async_context(adapter.connection())
            parts.health.started(adapter)
            stack.callback(parts.health.stopped, adapter)

    async def _wait_until_done(
        self, channels: list[Channel], dispatcher: Dispatcher, worker: asyncio.Task[None]
    ) -> None:
        waits: list[asyncio.Task[Any]] = [asyncio.create_task(self._stop.wait())]
        finite = [c for c in channels if isinstance(c, FiniteChannel)]
        if finite and len(finite) == len(channels):
            # Only channels whose input can end (piped stdin): once it has ended and every
            # message is answered, we are done.
            waits.append(asyncio.create_task(_all_finished(finite)))
        waits.append(worker)  # the dispatcher only returns on a fatal error
        done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            if task is not worker:
                task.cancel()
        if worker in done:
            worker.result()
        elif not self._stop.is_set():
            try:
                await asyncio.wait_for(dispatcher.drain(), DRAIN_TIMEOUT_S)
            except TimeoutError:
                logger.warning(
                    "input ended, but messages were still unanswered after %.0f s; "
                    "they stay queued for the next start",
                    DRAIN_TIMEOUT_S,
                )

    async def _stop_dispatcher(self, dispatcher: Dispatcher, worker: asyncio.Task[None]) -> None:
        dispatcher.stop()
        try:
            await asyncio.wait_for(asyncio.shield(worker), DRAIN_TIMEOUT_S)
        except TimeoutError:
            logger.warning("in-flight messages did not finish in time; they stay queued")
            worker.cancel()

    def _install_signal_handlers(self, reloader: Reloader) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.request_stop)

        def reload() -> None:
            task = loop.create_task(reloader.reload("SIGHUP"))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGHUP, reload)


def settle_heap() -> None:
    """What start-up built (knowledge base, classifier, SDK and library modules: most of the
    heap) lives as long as the process. Frozen, it is out of the cyclic collector's sight, so
    a full collection walks only what requests allocate: 100-500 ms pauses otherwise, which
    every message in flight waits out. Reference counting still frees frozen objects; only
    cycles among them (an old knowledge base after a reload) are kept.

    The thresholds go from (700, 10) to ``GC_YOUNG_THRESHOLD`` and ``GC_MIDDLE_THRESHOLD``:
    with 1,000 open WebSockets (about 100,000 live objects) the default promoted so much that
    a full collection ran every 5-8 s under load. An object now reaches the old generation
    only after about 100,000 container allocations, and most request objects die by reference
    count long before. Young collections stay short (walking 2,000 objects took about 1 ms in
    ``bench/pipeline.py``'s paced runs, 10,000 took 4-6 ms), so no message waits long on one."""
    gc.collect()
    gc.freeze()
    old = gc.get_threshold()[2]
    gc.set_threshold(GC_YOUNG_THRESHOLD, GC_MIDDLE_THRESHOLD, old)


async def _all_finished(channels: list[FiniteChannel]) -> None:
    await asyncio.gather(*(c.finished.wait() for c in channels))
