"""The composition root: builds every part of Frontdesk from ``Settings`` and returns them.

The only module (with ``bot/app.py``, which runs what this builds) that imports concrete
stores, providers and channel packages. Channel packages are found through the registry in
``bot/platforms.py``, the one place that names them, and imported only when their settings
section is enabled (Slack's Bolt, discord.py and the IMAP client cost memory and start-up
time).

Nothing here connects to anything: ``frontdesk check`` builds the same parts to validate them.
"""

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
from bot.platforms import PLATFORMS, enabled_platforms, platform_module, section
from bot.preflight import Checked, preflight
from bot.reload import Reloader
from bot.scheduler import Scheduler, heartbeat_path
from bot.tracing import build_tracer
from bot.web_services import BotWebServices
from brain.breaker import BreakerConfig
from brain.classify import Classifier
from brain.conversation import Ownership
from brain.embeddings import build_embedder
from brain.escalation import Policy
from brain.handler import Brain, BrainParts
from brain.knowledge import KnowledgeBase
from brain.playbook import Playbook
from brain.prompts import DEFAULT_FORBIDDEN, PromptConfig
from brain.providers.answerer import LLMAnswerer
from brain.providers.base import Provider
from brain.providers.llm import LLMClient, Price
from brain.providers.offline import OfflineAnswerer
from brain.redact import Redactor
from brain.router import Router, RouterConfig
from brain.store.base import Store, StoreLimits
from brain.store.facts import Facts
from brain.store.redis import RedisStore
from brain.store.sqlite import SqliteStore
from channels.base import Adapter, Channel, Desk, EventSink, Part, ServiceBound, StoreBound, Streams
from config.errors import ConfigError
from config.settings import Settings, secret_value

SQLITE_FILE = "frontdesk.db"
RELOAD_CHECK_S = 60.0
SYNC_S = 30.0

Alert = Callable[[str], Awaitable[None]]


# -- platforms ---------------------------------------------------------------------------------
def build_adapters(settings: Settings, streams: Streams | None = None) -> list[Adapter]:
    adapters: list[Adapter] = []
    for name in enabled_platforms(settings):
        module = platform_module(name)
        if module is None:
            raise ConfigError(
                f"FRONTDESK_{name.upper()}__ENABLED: the {name} channel is not available in "
                "this version yet"
            )
        adapters.append(module.build(settings, streams or Streams()))
    if not adapters:
        raise ConfigError(
            "FRONTDESK_TERMINAL__ENABLED: every channel is disabled, so nobody could reach the "
            "bot; enable one (e.g. FRONTDESK_SLACK__ENABLED=true) or leave the terminal on"
        )
    return adapters


def describe(settings: Settings) -> list[Part]:
    """What ``frontdesk check`` prints: the store, each platform and each provider, and why."""
    parts = [_store_part(settings)]
    enabled = enabled_platforms(settings)
    for name in PLATFORMS:
        if name in enabled:
            continue
        if section(settings, name).enabled is None:
            why = "other channels are enabled"
        else:
            why = f"FRONTDESK_{name.upper()}__ENABLED is not true"
        parts.append(Part("channel", name, False, why))
    for adapter in build_adapters(settings):
        parts += adapter.describe()
    return parts + _provider_parts(settings)


def _store_part(settings: Settings) -> Part:
    store = settings.store
    if store.backend == "redis":
        kind = "a Redis Cluster" if store.redis_cluster else "one Redis"
        why = f"FRONTDESK_STORE__REDIS_URL is set: {kind}, {store.partitions} stream partition(s)"
        return Part("store", "redis", True, why)
    where = (store.data_dir / SQLITE_FILE).resolve()
    return Part("store", "sqlite", True, f"embedded default at {where}")


def _provider_parts(settings: Settings) -> list[Part]:
    providers = settings.providers
    deployments = providers.deployments()
    parts = []
    for d in deployments:
        price = f"${d.input_price:g}/${d.output_price:g} per M tokens"
        parts.append(Part("provider", f"{d.provider}:{d.model}", True, f"{d.tier} tier, {price}"))
    for name in sorted({"openai", "anthropic", "local"} - providers.available()):
        setting = "LOCAL_BASE_URL" if name == "local" else f"{name.upper()}_API_KEY"
        parts.append(Part("provider", name, False, f"FRONTDESK_PROVIDERS__{setting} is not set"))
    why = "fallback after the LLM providers" if deployments else "answers from the knowledge base"
    parts.append(Part("provider", "offline", True, why))
    parts.append(_embeddings_part(settings))
    return parts


def _embeddings_part(settings: Settings) -> Part:
    e = settings.embeddings
    if e.provider == "none":
        why = "FRONTDESK_EMBEDDINGS__PROVIDER=none: lexical retrieval only"
        return Part("embeddings", "none", False, why)
    if e.provider == "local":
        model = e.model or "sentence-transformers/all-MiniLM-L6-v2"
        found = (e.model_path / "model.onnx").is_file()
        where = f"ONNX in {e.model_path}" if found else "downloaded once by fastembed"
        return Part("embeddings", f"local:{model}", True, f"hybrid retrieval; {where}")
    model = e.model or "text-embedding-3-small"
    where = e.base_url or "api.openai.com"
    return Part("embeddings", f"openai:{model}", True, f"hybrid retrieval via {where}")


# -- the store and the brain ---------------------------------------------------------------
def build_store(settings: Settings) -> Store:
    store = settings.store
    limits = StoreLimits(
        history_limit=store.history_limit,
        retention_s=store.retention_days * 86400,
        idempotency_ttl_s=store.idempotency_ttl_hours * 3600,
        lock_ttl_s=store.lock_ttl_seconds,
    )
    if store.redis_url is not None:
        consumer = store.consumer_name or socket.gethostname()
        return RedisStore.from_url(store.redis_url.get_secret_value(), limits=limits,
                                   cluster=store.redis_cluster, partitions=store.partitions,
                                   affinity=store.partition_affinity,
                                   consumer=consumer)  # fmt: skip
    return SqliteStore(store.data_dir / SQLITE_FILE, limits=limits)


def build_brain(
    settings: Settings,
    store: Store,
    knowledge: KnowledgeBase,
    alert: Alert | None = None,
    classifier: Classifier | None = None,
) -> tuple[Brain, Router | None]:
    """The brain, and its LLM router when a provider is configured (None: offline only).
    ``classifier``: one already trained on the playbook (``preflight`` trains one)."""
    languages = settings.classifier.languages
    escalation = settings.escalation
    policy = build_policy(settings)
    if classifier is None:
        playbook = Playbook.load(
            settings.classifier.playbook_path, known_kb_ids=[e.id for e in knowledge.entries]
        )
        classifier = Classifier(
            playbook,
            languages,
            settings.classifier.oos_threshold,
            escalation.sentiment_threshold,
            knowledge.embedder,
        )
    offline = OfflineAnswerer(default_language=languages[0])
    router = build_router(settings, store, offline, alert)
    still_waiting_s = settings.escalation.still_waiting_minutes * 60
    parts = BrainParts(store, knowledge, classifier, router or offline, policy, still_waiting_s)
    return Brain(parts), router


def build_policy(settings: Settings) -> Policy:
    escalation = settings.escalation
    return Policy(
        answer_threshold=settings.knowledge.answer_threshold,
        sentiment_threshold=escalation.sentiment_threshold,
        max_turns=escalation.max_turns,
        sensitive_keywords=tuple(escalation.sensitive_keywords),
        vip_user_ids=tuple(escalation.vip_user_ids),
        vip_email_domains=tuple(escalation.vip_email_domains),
        vip_always_human=escalation.vip_always_human,
    )


def build_redactor(settings: Settings) -> Redactor:
    return Redactor(settings.providers.pii_patterns)


def build_clients(settings: Settings) -> list[tuple[str, LLMClient]]:
    """(tier, client) for every configured model, in the configured order.

    The SDKs are imported only when a model uses them: together they cost an idle bot about
    50 MB of memory."""
    p = settings.providers
    clients: list[tuple[str, LLMClient]] = []
    for deployment in p.deployments():
        common: dict[str, Any] = {
            "model": deployment.model,
            "price": Price(deployment.input_price, deployment.output_price),
            "timeout_s": p.attempt_timeout_seconds,
            # As many connections as the deployment's cap lets requests run at once.
            "connections": deployment.max_in_flight or p.max_in_flight,
        }
        client: LLMClient
        if deployment.provider == "anthropic":
            from brain.providers.anthropic import AnthropicClient  # noqa: PLC0415

            key, url = secret_value(p.anthropic_api_key), p.anthropic_base_url
            client = AnthropicClient(api_key=key, base_url=url, **common)
        else:
            from brain.providers.openai import OpenAIClient  # noqa: PLC0415

            if deployment.provider == "openai":
                key, url = secret_value(p.openai_api_key), p.openai_base_url
                client = OpenAIClient(api_key=key, base_url=url, **common)
            else:
                key, url = secret_value(p.local_api_key), p.local_base_url
                name = f"local:{deployment.model}"
                client = OpenAIClient(
                    api_key=key, base_url=url, name=name, json_mode=False, **common
                )
        clients.append((deployment.tier, client))
    return clients


def build_router(
    settings: Settings, store: Store, offline: Provider, alert: Alert | None = None
) -> Router | None:
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
    redactor = build_redactor(settings) if p.redact_pii else None
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
        cost_ttl_s=settings.store.retention_days * 86400,
        slot_wait_s=p.slot_wait_seconds,
        max_in_flight=p.max_in_flight,
    )
    breaker = BreakerConfig(
        consecutive_failures=p.breaker_failures, cooldown_s=p.breaker_cooldown_seconds
    )
    return Router(tiers, offline, store, config, breaker, on_alert=alert,
                  limits=deployment_limits(settings, [c for _, c in clients]))  # fmt: skip


def deployment_limits(settings: Settings, clients: Sequence[LLMClient]) -> dict[str, int]:
    """Each client's in-flight cap by its router name (``build_clients`` keeps the order)."""
    p = settings.providers
    return {
        client.name: deployment.max_in_flight or p.max_in_flight
        for deployment, client in zip(p.deployments(), clients, strict=True)
    }


# -- the running bot ---------------------------------------------------------------------------
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
