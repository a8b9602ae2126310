"""The running bot: ``build_parts`` wires every part ``frontdesk run`` runs (``Parts``) on an
opened store, with the builders only it needs (observer, desk hub, dispatcher settings,
scheduler, digest)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.admin import Admin, AdminContext, admin_entries, sync_disabled
from bot.csat import CsatResponder
from bot.desk_hub import DeskAlerts, DeskHub
from bot.digest import DIGEST_CHECK_S, DigestJob, DigestSource
from bot.dispatch import DispatchConfig, Dispatcher
from bot.events import Events
from bot.health import Health
from bot.home import home_view
from bot.metrics import Metrics
from bot.observer import Observer, ObserverConfig
from bot.ops_server import OpsServer, share_port
from bot.preflight import Checked, preflight
from bot.reload import Reloader
from bot.scheduler import Scheduler, heartbeat_path
from bot.tracing import build_tracer
from bot.web_services import BotWebServices
from bot.wiring.adapters import build_adapters
from bot.wiring.brain import build_brain, build_redactor
from brain.conversation import Ownership
from brain.embeddings import build_embedder
from brain.handler import Brain
from brain.knowledge import KnowledgeBase
from brain.router import Router
from brain.store.base import Store
from brain.store.facts import Facts
from channels.base import Adapter, Channel, Desk, EventSink, ServiceBound, StoreBound
from config.settings import Settings

RELOAD_CHECK_S = 60.0
SYNC_S = 30.0


@dataclass(frozen=True, slots=True)
class Parts:
    """Everything ``frontdesk run`` runs, built and wired but not started."""

    adapters: tuple[Adapter, ...]
    channels: tuple[Channel, ...]
    desks: tuple[Desk, ...]
    brain: Brain
    router: Router | None
    hub: DeskHub
    admin: Admin
    dispatcher: Dispatcher
    reloader: Reloader
    scheduler: Scheduler
    observer: Observer
    health: Health
    ops: OpsServer | None = None  # the metrics and health server, when its port is set


async def build_parts(
    settings: Settings,
    store: Store,
    adapters: Sequence[Adapter] | None = None,
    checked: Checked | None = None,
) -> Parts:
    """Every part of the running bot on an opened ``store``; nothing is started. ``adapters``
    default to those the settings enable and ``checked`` to a fresh ``preflight`` (the app
    runs both before opening the store, to refuse bad settings first)."""
    checked = checked if checked is not None else preflight(settings)
    adapters = tuple(adapters if adapters is not None else build_adapters(settings))
    for adapter in adapters:  # adapters keeping durable state of their own (email)
        if isinstance(adapter, StoreBound):
            adapter.use_store(store)
    channels = tuple(c for a in adapters for c in a.channels)
    desks = tuple(d for a in adapters for d in a.desks)
    alerts = DeskAlerts(desks)  # before the hub: the router and admin commands need it
    embedder = build_embedder(settings.embeddings, settings.store.data_dir / "embeddings")
    # Embedding the KB is CPU work (once; then cached on disk): off the event loop.
    extra = await admin_entries(store)
    knowledge = await asyncio.to_thread(
        KnowledgeBase.load, settings.knowledge.path, extra, embedder
    )
    # preflight's classifier reads words only; with embeddings the brain trains its own.
    trained = None if knowledge.embedder is not None else checked.classifier
    brain, router = build_brain(settings, store, knowledge, alerts.send, trained)
    reloader = Reloader(brain, settings, store)
    names = tuple(c.name for c in channels)
    metrics = Metrics() if settings.observability.metrics_port is not None else None
    observer = build_observer(settings, store, metrics)
    digest = digest_source(settings, store, observer.facts, router)
    context = AdminContext(store, names, router, reloader.reload, alerts.send, observer.facts,
                           sla_minutes(settings), digest)  # fmt: skip
    admin = Admin(context)
    if router is not None:
        router.observer = observer.llm
    events = Events([a for a in adapters if isinstance(a, EventSink)])
    hub = build_hub(settings, store, desks, admin.run, alerts, events=events, observer=observer)
    dispatcher = Dispatcher(
        store, CsatResponder(brain, observer, events), {c.name: c for c in channels},
        dispatch_config(settings), hub, events, observer=observer,
    )  # fmt: skip
    for adapter in adapters:  # adapters that serve an API of the bot (the web channel)
        if isinstance(adapter, ServiceBound):
            adapter.bind(BotWebServices(store, brain, hub))
    scheduler = build_scheduler(settings, store, reloader, hub, router, alerts, digest)
    budget = settings.providers.daily_budget_usd
    health = Health(store, adapters, brain, router, sla_minutes(settings), budget)
    ops, o = None, settings.observability
    if metrics is not None and o.metrics_port is not None:
        ops = OpsServer(o.metrics_host, o.metrics_port, metrics, health.snapshot, health.readiness)
        share_port(ops, adapters)
    return Parts(
        adapters, channels, desks, brain, router, hub, admin, dispatcher, reloader, scheduler,
        observer, health, ops,
    )  # fmt: skip


def digest_source(
    settings: Settings, store: Store, facts: Facts, router: Router | None = None
) -> DigestSource:
    return DigestSource(
        store, facts, settings.digest.timezone, sla_minutes(settings),
        settings.providers.daily_budget_usd, router,
    )  # fmt: skip


def sla_minutes(settings: Settings) -> dict[str, float]:
    return {str(k): v for k, v in settings.desk.sla_minutes.items()}


def build_observer(settings: Settings, store: Store, metrics: Metrics | None = None) -> Observer:
    o = settings.observability
    config = ObserverConfig(csat=o.csat_enabled, reopen_s=o.reopen_days * 86400)
    facts = Facts(store, ttl_s=settings.store.retention_days * 86400)
    tracer = build_tracer(o.otlp_endpoint)
    return Observer(facts, metrics, config, build_redactor(settings), tracer)


def build_hub(
    settings: Settings,
    store: Store,
    desks: Sequence[Desk] = (),
    commands: Callable[..., Awaitable[Any]] | None = None,
    alerts: DeskAlerts | None = None,
    live: bool = True,
    events: Events | None = None,
    observer: Observer | None = None,
) -> DeskHub:
    """The desk path. ``live=False`` for a process without desk connections (``frontdesk
    desk``): card redraws are then queued for the running bot."""

    async def home() -> Any:
        return await home_view(store)

    return DeskHub(
        store,
        desks,
        Ownership(store, settings.desk.internal_prefix),
        sla_minutes(settings),
        commands=commands,
        home=home,
        redactor=build_redactor(settings),
        live=live,
        alerts=alerts,
        events=events,
        observer=observer or build_observer(settings, store),
    )


def dispatch_config(settings: Settings) -> DispatchConfig:
    d = settings.dispatch
    return DispatchConfig(
        consumer=settings.store.consumer_name or socket.gethostname(),
        max_concurrency=settings.dispatch.max_concurrency,
        max_in_flight=settings.dispatch.max_in_flight,
        handler_timeout_s=settings.dispatch.handler_timeout_seconds,
        reclaim_idle_s=settings.store.reclaim_idle_seconds,
        max_message_chars=settings.dispatch.max_message_chars,
        fallback_text=settings.dispatch.fallback_text,
        max_send_failures=settings.dispatch.max_send_failures,
        customer_rate_per_s=settings.dispatch.customer_rate_per_minute / 60 or None,
        customer_burst=settings.dispatch.customer_burst,
        rate_channels=frozenset(d.customer_rate_channels),
        coalesce_s=dict.fromkeys(d.coalesce_channels, d.coalesce_seconds),
    )


def build_scheduler(
    settings: Settings,
    store: Store,
    reloader: Reloader,
    hub: DeskHub,
    router: Router | None,
    alerts: DeskAlerts,
    digest: DigestSource | None = None,
) -> Scheduler:

    scheduler = Scheduler(
        store,
        heartbeat_path(settings.store.data_dir),
        settings.observability.heartbeat_seconds,
        settings.digest.timezone,
    )
    scheduler.every(RELOAD_CHECK_S, "reload", reloader.check)

    async def sync_providers() -> None:
        await sync_disabled(store, router)

    scheduler.every(SYNC_S, "sync-providers", sync_providers)
    if hub.desks:

        async def repage() -> int:
            return await hub.repage_due(scheduler.leader.check)

        scheduler.every(SYNC_S, "sla-repage", repage, singleton=True)
        if settings.digest.enabled:
            source = digest or digest_source(settings, store, Facts(store, 86400.0), router)
            name = settings.store.consumer_name or socket.gethostname()
            job = DigestJob(source, alerts.send, settings.digest.time, name)
            scheduler.every(DIGEST_CHECK_S, "digest", job.tick, singleton=True)
    return scheduler
