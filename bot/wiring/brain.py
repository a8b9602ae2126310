"""The brain and what it answers with: the escalation policy, the classifier, the LLM clients
(SDKs imported only when a model uses them), the router with its tiers and fallbacks, and
the offline answerer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

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
from brain.store.base import Store
from config.settings import Settings, secret_value

Alert = Callable[[str], Awaitable[None]]


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
