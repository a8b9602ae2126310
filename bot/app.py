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
from typing import Any, TextIO

from pydantic import SecretStr

from bot.dispatch import DispatchConfig, Dispatcher
from bot.inventory import build_store, check_runnable
from bot.reload import Reloader
from bot.scheduler import Scheduler, heartbeat_path
from brain.breaker import BreakerConfig
from brain.classify import Classifier
from brain.escalation import Policy
from brain.handler import Brain, BrainParts
from brain.knowledge import KnowledgeBase
from brain.playbook import Playbook
from brain.prompts import DEFAULT_FORBIDDEN, PromptConfig
from brain.providers.answerer import LLMAnswerer
from brain.providers.anthropic import AnthropicClient
from brain.providers.base import Provider
from brain.providers.llm import LLMClient, Price
from brain.providers.offline import OfflineAnswerer
from brain.providers.openai import OpenAIClient
from brain.redact import Redactor
from brain.router import Router, RouterConfig
from brain.store.base import Store
from channels.base import Channel
from channels.terminal import TerminalChannel
from config.settings import Settings

logger = logging.getLogger(__name__)

DRAIN_TIMEOUT_S = 30.0
RELOAD_CHECK_S = 60.0


def build_brain(settings: Settings, store: Store, knowledge: KnowledgeBase) -> Brain:
    playbook = Playbook.load(
        settings.classifier.playbook_path, known_kb_ids=[e.id for e in knowledge.entries]
    )
    languages = settings.classifier.languages
    escalation = settings.escalation
    policy = Policy(
        answer_threshold=settings.knowledge.answer_threshold,
        sentiment_threshold=escalation.sentiment_threshold,
        max_turns=escalation.max_turns,
        sensitive_keywords=tuple(escalation.sensitive_keywords),
        vip_user_ids=tuple(escalation.vip_user_ids),
        vip_email_domains=tuple(escalation.vip_email_domains),
        vip_always_human=escalation.vip_always_human,
    )
    classifier = Classifier(playbook, languages, settings.classifier.oos_threshold)
    offline = OfflineAnswerer(default_language=languages[0])
    answerer = build_router(settings, store, offline)
    return Brain(BrainParts(store, knowledge, classifier, answerer or offline, policy))


def build_clients(settings: Settings) -> list[tuple[str, LLMClient]]:
    """(tier, client) for every configured model, in the configured order."""
    p = settings.providers
    timeout = p.attempt_timeout_seconds
    clients: list[tuple[str, LLMClient]] = []
    for deployment in p.deployments():
        price = Price(deployment.input_price, deployment.output_price)
        client: LLMClient
        if deployment.provider == "anthropic":
            client = AnthropicClient(model=deployment.model, api_key=_secret(p.anthropic_api_key),
                                     base_url=p.anthropic_base_url, price=price,
                                     timeout_s=timeout)  # fmt: skip
        elif deployment.provider == "openai":
            client = OpenAIClient(model=deployment.model, api_key=_secret(p.openai_api_key),
                                  base_url=p.openai_base_url, price=price,
                                  timeout_s=timeout)  # fmt: skip
        else:
            client = OpenAIClient(model=deployment.model, api_key=_secret(p.local_api_key),
                                  base_url=p.local_base_url, price=price, timeout_s=timeout,
                                  name=f"local:{deployment.model}", json_mode=False)  # fmt: skip
        clients.append((deployment.tier, client))
    return clients


def build_router(settings: Settings, store: Store, offline: Provider) -> Router | None:
    """The LLM router, or None when no provider is configured (offline answers only)."""
    clients = build_clients(settings)
    if not clients:
        return None
    p = settings.providers
    prompts = PromptConfig(
        company=p.company_name,
        tone=p.tone,
        forbidden=(*DEFAULT_FORBIDDEN, *p.forbidden_phrases),
    )
    redactor = Redactor(p.pii_patterns) if p.redact_pii else None
    by_tier: dict[str, list[Provider]] = {"fast": [], "strong": []}
    for tier, client in clients:
        by_tier[tier].append(LLMAnswerer(client, prompts, redactor))
    # Each tier falls back to the other tier's models before the offline answerer.
    tiers = {
        "fast": [*by_tier["fast"], *by_tier["strong"]],
        "strong": [*by_tier["strong"], *by_tier["fast"]],
    }
    config = RouterConfig(
        attempt_timeout_s=p.attempt_timeout_seconds,
        deadline_s=p.deadline_seconds,
        hedge_delay_s=p.hedge_delay_seconds,
        faq_direct_threshold=p.faq_direct_threshold,
        daily_budget_usd=p.daily_budget_usd,
        hard_budget_ratio=p.hard_budget_ratio,
        cache_ttl_s=p.cache_ttl_seconds,
    )
    breaker = BreakerConfig(
        consecutive_failures=p.breaker_failures, cooldown_s=p.breaker_cooldown_seconds
    )
    return Router(tiers, offline, store, config, breaker)


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


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
        knowledge = KnowledgeBase.load(settings.knowledge.path)
        async with contextlib.AsyncExitStack() as stack:
            store = build_store(settings)
            await store.open()
            stack.push_async_callback(store.close)
            logger.info("store: %s", store.backend)

            brain = build_brain(settings, store, knowledge)
            stack.push_async_callback(brain.close)
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
            reloader = Reloader(brain, settings)
            scheduler.every(RELOAD_CHECK_S, "reload", reloader.check)
            await scheduler.start()
            stack.push_async_callback(scheduler.stop)

            for channel in channels:
                await channel.start(dispatcher.submit)
                stack.push_async_callback(channel.stop)
                logger.info("channel %s started", channel.name)
            self._install_signal_handlers(reloader)
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
