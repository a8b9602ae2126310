"""Builds every part of Frontdesk from ``Settings``: the store, the brain and its LLM router,
the Slack connection with its channel and desk. The only module (with ``bot/app.py``, which
runs what this builds) that imports concrete stores, providers and channel adapters.
"""

from __future__ import annotations

from pydantic import SecretStr

from bot.inventory import SQLITE_FILE
from brain.breaker import BreakerConfig
from brain.classify import Classifier
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
from brain.store.redis import RedisStore
from brain.store.sqlite import SqliteStore
from config.settings import Settings


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
    """(tier, client) for every configured model, in the configured order.

    The SDKs are imported only when a model uses them: together they cost an idle bot about
    50 MB of memory."""
    p = settings.providers
    timeout = p.attempt_timeout_seconds
    clients: list[tuple[str, LLMClient]] = []
    for deployment in p.deployments():
        price = Price(deployment.input_price, deployment.output_price)
        client: LLMClient
        if deployment.provider == "anthropic":
            from brain.providers.anthropic import AnthropicClient  # noqa: PLC0415

            client = AnthropicClient(model=deployment.model, api_key=_secret(p.anthropic_api_key),
                                     base_url=p.anthropic_base_url, price=price,
                                     timeout_s=timeout)  # fmt: skip
        elif deployment.provider == "openai":
            from brain.providers.openai import OpenAIClient  # noqa: PLC0415

            client = OpenAIClient(model=deployment.model, api_key=_secret(p.openai_api_key),
                                  base_url=p.openai_base_url, price=price,
                                  timeout_s=timeout)  # fmt: skip
        else:
            from brain.providers.openai import OpenAIClient  # noqa: PLC0415

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
