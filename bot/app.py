"""The composition root: builds every part from ``Settings`` and runs them in order.

Start order: store -> knowledge base -> brain -> dispatcher -> scheduler -> channels. Stop is
the reverse (``AsyncExitStack``): channels stop receiving, the dispatcher finishes the messages
it has taken (unfinished ones stay queued for the next start), then the store closes. SIGTERM
and SIGINT trigger that orderly stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from dataclasses import dataclass
from typing import Any, TextIO

from bot.dispatch import DispatchConfig, Dispatcher
from bot.scheduler import Scheduler, heartbeat_path
from brain.handler import Brain
from brain.knowledge import KnowledgeBase
from brain.store.base import Store, StoreLimits
from brain.store.redis import RedisStore
from brain.store.sqlite import SqliteStore
from channels.base import Channel
from channels.terminal import TerminalChannel
from config.errors import ConfigError
from config.settings import Settings

logger = logging.getLogger(__name__)

SQLITE_FILE = "frontdesk.db"
DRAIN_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class Part:
    """One line of ``frontdesk check``: a channel, provider or store and whether it is on."""

    kind: str
    name: str
    enabled: bool
    why: str


def describe(settings: Settings) -> list[Part]:
    store = settings.store
    if store.backend == "redis":
        parts = [Part("store", "redis", True, "FRONTDESK_STORE__REDIS_URL is set")]
    else:
        where = store.data_dir / SQLITE_FILE
        parts = [Part("store", "sqlite", True, f"embedded default at {where}")]
    for name in ("slack", "discord", "email"):
        section = getattr(settings, name)
        if section.enabled:
            why = "enabled, but this version has no adapter for it yet; disable it to run"
        else:
            why = f"FRONTDESK_{name.upper()}__ENABLED is not true"
        parts.append(Part("channel", name, False, why))
    if settings.terminal_enabled:
        explicit = settings.terminal.enabled is not None
        why = "FRONTDESK_TERMINAL__ENABLED=true" if explicit else "no other channel is enabled"
        parts.append(Part("channel", "terminal", True, why))
    else:
        parts.append(Part("channel", "terminal", False, "other channels are enabled"))
    providers = settings.providers
    for name, configured in (
        ("openai", providers.openai_api_key is not None),
        ("anthropic", providers.anthropic_api_key is not None),
        ("local", providers.local_base_url is not None),
    ):
        why = "configured; LLM answering is not in this version yet" if configured else "no key"
        parts.append(Part("provider", name, False, why))
    parts.append(Part("provider", "offline", True, "answers from the knowledge base"))
    return parts


def check_runnable(settings: Settings) -> None:
    for name in ("slack", "discord", "email"):
        if getattr(settings, name).enabled:
            raise ConfigError(
                f"FRONTDESK_{name.upper()}__ENABLED: the {name} channel is not available in "
                "this version yet"
            )


def build_store(settings: Settings) -> Store:
    store = settings.store
    limits = StoreLimits(
        history_limit=store.history_limit,
        retention_s=store.retention_days * 86400,
        idempotency_ttl_s=store.idempotency_ttl_hours * 3600,
        lock_ttl_s=store.lock_ttl_seconds,
    )
    if store.redis_url is not None:
        return RedisStore.from_url(store.redis_url.get_secret_value(), limits=limits)
    return SqliteStore(store.data_dir / SQLITE_FILE, limits=limits)


class App:
    def __init__(
        self, settings: Settings, stdin: TextIO | None = None, stdout: TextIO | None = None
    ) -> None:
        check_runnable(settings)
        self.settings = settings
        self.stdin = stdin
        self.stdout = stdout
        self._stop = asyncio.Event()

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        settings = self.settings
        knowledge = KnowledgeBase.load(settings.knowledge.path)
        async with contextlib.AsyncExitStack() as stack:
            store = build_store(settings)
            await store.open()
            stack.push_async_callback(store.close)
            logger.info("store: %s", store.backend)

            brain = Brain(store, knowledge, settings.knowledge.answer_threshold)
            channels = self._channels()
            dispatcher = Dispatcher(
                store, brain, {c.name: c for c in channels}, self._dispatch_config()
            )
            worker = asyncio.create_task(dispatcher.run(), name="dispatcher")
            stack.push_async_callback(self._stop_dispatcher, dispatcher, worker)

            scheduler = Scheduler(
                store,
                heartbeat_path(settings.store.data_dir),
                settings.observability.heartbeat_seconds,
                settings.digest.timezone,
            )
            await scheduler.start()
            stack.push_async_callback(scheduler.stop)

            for channel in channels:
                await channel.start(dispatcher.submit)
                stack.push_async_callback(channel.stop)
                logger.info("channel %s started", channel.name)
            self._install_signal_handlers()
            await self._wait_until_done(channels, dispatcher, worker)

    def _channels(self) -> list[Channel]:
        channels: list[Channel] = []
        if self.settings.terminal_enabled:
            channels.append(
                TerminalChannel(self.settings.terminal.customer_name, self.stdin, self.stdout)
            )
        return channels

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

    def _install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.request_stop)
