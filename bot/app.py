"""The composition root: builds every part from ``Settings`` and runs them in order.

Start order: store -> knowledge base -> brain -> dispatcher -> scheduler -> channels. Stop is
the reverse (``AsyncExitStack``): channels stop receiving, the dispatcher finishes the messages
it has taken (unfinished ones stay queued for the next start), then the store closes. SIGTERM
and SIGINT trigger that orderly stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import socket
from typing import TYPE_CHECKING, Any, TextIO

from bot.admin import Admin, AdminContext, admin_entries, build_digest, sync_disabled
from bot.desk_hub import DeskHub
from bot.dispatch import DispatchConfig, Dispatcher
from bot.home import show_home
from bot.inventory import check_runnable
from bot.reload import Reloader
from bot.scheduler import Scheduler, heartbeat_path
from bot.wiring import build_brain, build_store
from brain.knowledge import KnowledgeBase
from brain.router import Router
from brain.store.base import Store
from channels.base import Channel, Desk
from channels.terminal.customers import TerminalChannel
from config.settings import Settings

if TYPE_CHECKING:
    from channels.slack.connection import SlackConnection

logger = logging.getLogger(__name__)

DRAIN_TIMEOUT_S = 30.0
RELOAD_CHECK_S = 60.0
SYNC_S = 30.0


def _slack_connection(settings: Settings) -> SlackConnection | None:
    """The shared Slack app, imported only when Slack is on (it brings aiohttp and Bolt)."""
    if not settings.slack.enabled:
        return None
    from channels.slack.connection import SlackConnection  # noqa: PLC0415

    return SlackConnection(settings.slack)


class App:
    def __init__(
        self, settings: Settings, stdin: TextIO | None = None, stdout: TextIO | None = None
    ) -> None:
        check_runnable(settings)
        self.settings = settings
        self.stdin = stdin
        self.stdout = stdout
        self._stop = asyncio.Event()
        self._background: set[asyncio.Task[bool]] = set()

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        settings = self.settings
        async with contextlib.AsyncExitStack() as stack:
            store = build_store(settings)
            await store.open()
            stack.push_async_callback(store.close)
            logger.info("store: %s", store.backend)
            knowledge = KnowledgeBase.load(settings.knowledge.path, await admin_entries(store))
            brain = build_brain(settings, store, knowledge)
            stack.push_async_callback(brain.close)
            router = brain.answerer if isinstance(brain.answerer, Router) else None
            await sync_disabled(store, router)

            slack = _slack_connection(settings)
            channels = self._channels(slack)
            hub = DeskHub(store, self._desks(slack), settings.desk.internal_prefix,
                          {str(k): v for k, v in settings.desk.sla_minutes.items()})  # fmt: skip
            if router is not None:
                router.on_alert = hub.alert
            dispatcher = Dispatcher(
                store, brain, {c.name: c for c in channels}, self._dispatch_config(), hub
            )
            worker = asyncio.create_task(dispatcher.run(), name="dispatcher")
            stack.push_async_callback(self._stop_dispatcher, dispatcher, worker)

            reloader = Reloader(brain, settings, store)
            admin = Admin(AdminContext(store, tuple(c.name for c in channels), router,
                                       reloader.reload, hub.alert))  # fmt: skip
            hub.commands = admin.run
            hub.home = functools.partial(show_home, store)
            scheduler = self._scheduler(store, reloader, hub, router)
            await scheduler.start()
            stack.push_async_callback(scheduler.stop)

            for desk in hub.desks:
                await desk.start(hub.handle)
                stack.push_async_callback(desk.stop)
            for channel in channels:
                await channel.start(dispatcher.submit)
                stack.push_async_callback(channel.stop)
                logger.info("channel %s started", channel.name)
            if slack is not None:
                await slack.start()  # connect only once every listener is registered
                stack.push_async_callback(slack.stop)
            self._install_signal_handlers(reloader)
            await self._wait_until_done(channels, dispatcher, worker)

    def _channels(self, slack: SlackConnection | None) -> list[Channel]:
        channels: list[Channel] = []
        if slack is not None:
            from channels.slack.customers import SlackChannel  # noqa: PLC0415

            channels.append(SlackChannel(slack, self.settings.slack))
        if self.settings.terminal_enabled:
            channels.append(
                TerminalChannel(self.settings.terminal.customer_name, self.stdin, self.stdout)
            )
        return channels

    def _desks(self, slack: SlackConnection | None) -> list[Desk]:
        if slack is None or self.settings.slack.escalation_channel is None:
            return []
        from channels.slack.desk import SlackDesk  # noqa: PLC0415

        return [SlackDesk(slack, self.settings.slack, self.settings.desk)]

    def _scheduler(
        self, store: Store, reloader: Reloader, hub: DeskHub, router: Router | None
    ) -> Scheduler:
        settings = self.settings
        scheduler = Scheduler(
            store,
            heartbeat_path(settings.store.data_dir),
            settings.observability.heartbeat_seconds,
            settings.digest.timezone,
        )
        scheduler.every(RELOAD_CHECK_S, "reload", reloader.check)
        scheduler.every(SYNC_S, "sync-providers", functools.partial(sync_disabled, store, router))
        if hub.desks:
            scheduler.every(SYNC_S, "sla-repage", hub.repage_due)
            if settings.digest.enabled:

                async def post_digest() -> None:
                    await hub.alert(await build_digest(store, days=1))

                scheduler.daily(settings.digest.time, "digest", post_digest)
        return scheduler

    def _dispatch_config(self) -> DispatchConfig:
        settings = self.settings
        return DispatchConfig(
            consumer=settings.store.consumer_name or socket.gethostname(),
            max_concurrency=settings.dispatch.max_concurrency,
            handler_timeout_s=settings.dispatch.handler_timeout_seconds,
            reclaim_idle_s=settings.store.reclaim_idle_seconds,
            max_message_chars=settings.dispatch.max_message_chars,
            fallback_text=settings.dispatch.fallback_text,
        )

    async def _wait_until_done(
        self, channels: list[Channel], dispatcher: Dispatcher, worker: asyncio.Task[None]
    ) -> None:
        waits: list[asyncio.Task[Any]] = [asyncio.create_task(self._stop.wait())]
        terminals = [c for c in channels if isinstance(c, TerminalChannel)]
        if terminals and len(terminals) == len(channels):
            # Only the terminal runs: end of input means we are done once it is answered.
            waits.append(asyncio.create_task(terminals[0].finished.wait()))
        waits.append(worker)  # the dispatcher only returns on a fatal error
        done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            if task is not worker:
                task.cancel()
        if worker in done:
            worker.result()
        elif not self._stop.is_set():
            await asyncio.wait_for(dispatcher.drain(), DRAIN_TIMEOUT_S)

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
