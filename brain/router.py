"""The router: which answerer answers, and what happens when one fails.

For each request: a strong FAQ match is answered offline (no LLM call); a cached answer to the
same question is reused; otherwise the tier (``fast`` or ``strong``, chosen from the
classification, degraded when the daily budget is spent) gives an ordered chain of providers.
The chain is tried in order (or raced, for urgent messages: the next provider starts after
``hedge_delay_s``), skipping providers whose circuit breaker is open, each attempt bounded by
``attempt_timeout_s`` and the whole by ``deadline_s``. If every provider fails, the offline
answerer replies, so the customer always gets an answer or an escalation.

Each deployment (provider + model) runs at most its ``max_in_flight`` requests at once
(``brain/slots.py``), matching the provider's rate limits. A request over the cap waits for a
slot: at most ``slot_wait_s`` on a deployment that has a next one in the chain (then it spills
over to the next; a busy deployment is not a failing one, its breaker is untouched), and on the
last deployment of the chain until the request's deadline, because giving up there would
only mean the offline answer sooner. Raced (urgent) requests respect the caps too: the attempt
that runs alone waits for a slot (until the deadline), a hedge beside it never waits and runs
only on a deployment with a slot free now, without queueing in front of anyone.

Only the provider's own failures (timeouts, connection errors, HTTP errors, broken responses)
count against its breaker. An answer whose content is unusable (``InvalidAnswer``) or a model
that declines (``Refusal``) says something about the message, not the provider: a customer can
provoke either at will, and must not be able to switch the LLMs off for everyone.

Every completion is paid for and counted (``llm_calls``, ``llm_cost_usd``, per provider and per
conversation), repairs, rejected answers and cancelled hedges included: the answerers record
them in a per-request ``Ledger`` that the router totals when the request is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from brain.answer_cache import AnswerCache, cache_key
from brain.breaker import BreakerConfig, CircuitBreaker, State
from brain.classify import Classification
from brain.playbook import Tier
from brain.providers.base import Answer, AnswerRequest, Ledger, Provider
from brain.providers.llm import InvalidAnswer, ProviderUnavailable, Refusal
from brain.slots import DEFAULT_MAX_IN_FLIGHT, DeploymentBusy, Slots, SlotUsage
from brain.store.base import Store, today
from config.errors import ProviderError

logger = logging.getLogger(__name__)

Alert = Callable[[str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class LLMCall:
    """One attempt on one provider, for metrics: ``provider`` and ``model`` come from the
    configured deployment name (bounded), ``outcome`` is ok, error, timeout, invalid, rejected
    or cancelled; tokens and cost are what the attempt's completions were billed."""

    provider: str
    model: str
    outcome: str
    seconds: float
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


LLMObserver = Callable[[LLMCall], None]


@dataclass(frozen=True, slots=True)
class RouterConfig:
    attempt_timeout_s: float = 8.0
    deadline_s: float = 20.0
    hedge_delay_s: float = 0.0  # urgent messages race all providers of the tier at once
    faq_direct_threshold: float = 0.8
    daily_budget_usd: float = 20.0  # 0 = no limit
    hard_budget_ratio: float = 1.2  # beyond budget x this: offline only
    cache_ttl_s: float = 3600.0
    cache_entries: int = 2000
    spend_refresh_s: float = 5.0  # how stale the budget check may be (other replicas' spend)
    cost_ttl_s: float = 30 * 86400.0  # per-conversation cost key: no longer than retention
    slot_wait_s: float = 2.0  # waiting for a deployment's free slot before the next one
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT  # per deployment, unless ``limits`` names it


def choose_tier(classification: Classification, vip: bool) -> str:
    """Simple questions go to the cheap model; hard, technical, upset or VIP ones to the strong."""
    hard = (
        classification.tier is Tier.COMPLEX
        or classification.category in ("technical", "bug_report")
        or classification.sentiment <= -0.3
        or vip
    )
    return "strong" if hard else "fast"


@dataclass(slots=True)
class Route:
    answerer: Provider
    breaker: CircuitBreaker
    slots: Slots


class Router:
    name = "router"

    def __init__(
        self,
        tiers: Mapping[str, Sequence[Provider]],
        offline: Provider,
        store: Store,
        config: RouterConfig | None = None,
        breaker: BreakerConfig | None = None,
        on_alert: Alert | None = None,
        observer: LLMObserver | None = None,
        limits: Mapping[str, int] | None = None,
    ) -> None:
        self.config = config or RouterConfig()
        self.observer = observer
        self.offline = offline
        self.store = store
        self._on_alert = on_alert
        self._disabled: frozenset[str] = frozenset()
        self.routes: dict[str, Route] = {}
        self.tiers: dict[str, list[str]] = {}
        for tier, answerers in tiers.items():
            for answerer in answerers:
                if answerer.name not in self.routes:
                    cap = (limits or {}).get(answerer.name, self.config.max_in_flight)
                    slots = Slots(answerer.name, cap)
                    self.routes[answerer.name] = Route(answerer, CircuitBreaker(breaker), slots)
            self.tiers[tier] = [a.name for a in answerers]
        self._cache = AnswerCache(self.config.cache_entries, self.config.cache_ttl_s)
        self._spent = 0.0
        self._spent_read_at = float("-inf")
        self._spent_day = today()

    async def close(self) -> None:
        for route in self.routes.values():
            await route.answerer.close()
        await self.offline.close()

    @property
    def disabled(self) -> frozenset[str]:
        """The providers an admin switched off (skipped until switched on again)."""
        return self._disabled

    def set_disabled(self, names: Iterable[str]) -> None:
        """Skip exactly these providers from now on (names not configured here are ignored)."""
        self._disabled = frozenset(names)

    def set_alert(self, callback: Alert | None) -> None:
        """Where budget alerts go (the desks), once each per day."""
        self._on_alert = callback

    def breaker_states(self) -> dict[str, State]:
        return {name: route.breaker.state for name, route in self.routes.items()}

    def slot_usage(self) -> dict[str, SlotUsage]:
        """Each deployment's in-flight cap, requests in flight and waiting (for metrics)."""
        return {name: route.slots.usage() for name, route in self.routes.items()}

    async def answer(self, request: AnswerRequest) -> Answer:
        if request.passages and request.passages[0].score >= self.config.faq_direct_threshold:
            await self.store.incr("router_faq_direct")
            return await self.offline.answer(request)
        # Only a conversation's first question may share answers: later ones depend on what was
        # said before, and an answer that carried someone's personal data is never reused.
        key = cache_key(request) if not request.history else None
        cached = self._cache.get(key) if key else None
        if cached is not None:
            await self.store.incr("router_cache_hits")
            return cached
        tier = await self._affordable(request.tier)
        chain = [self.routes[n] for n in self.tiers.get(tier, []) if n not in self._disabled]
        ledger = Ledger()
        try:
            if not chain:
                raise ProviderUnavailable(f"no provider configured for the {tier} tier")
            run = self._race if request.urgent else self._in_turn
            routed = replace(request, ledger=ledger)
            answer = await asyncio.wait_for(run(chain, routed), self.config.deadline_s)
        except (ProviderError, ExceptionGroup, TimeoutError) as err:
            logger.warning("all providers failed for %s tier, answering offline: %s", tier, err)
            await self.store.incr("router_offline_fallbacks")
            return await self.offline.answer(request)
        finally:
            await self._account(ledger, request.conversation_key)
        if key and answer.cacheable and not answer.needs_human:
            self._cache.put(key, answer)
        return answer

    async def _in_turn(self, chain: Sequence[Route], request: AnswerRequest) -> Answer:
        errors: list[Exception] = []
        for place, route in enumerate(chain):
            if not route.breaker.allow():
                errors.append(ProviderUnavailable(f"{route.answerer.name}: circuit open"))
                continue
            wait = None if place == len(chain) - 1 else self.config.slot_wait_s
            try:
                return await self._attempt(route, request, wait)
            except (ProviderError, TimeoutError) as err:
                errors.append(err)
        raise ExceptionGroup("every provider in the chain failed", errors)

    async def _race(self, chain: Sequence[Route], request: AnswerRequest) -> Answer:
        """Start the first provider; start the next after ``hedge_delay_s`` or on a failure;
        the first valid answer wins and the others are cancelled."""
        waiting = list(chain)
        running: dict[asyncio.Task[Answer], Route] = {}
        errors: list[Exception] = []

        def start_next() -> None:
            # Ask a breaker only when its provider is really about to be called: a half-open
            # breaker grants a single probe, and an unused grant would block it for good.
            while waiting:
                route = waiting.pop(0)
                if route.breaker.allow():
                    # Only an attempt that runs alone waits for a slot; a hedge never does.
                    wait = 0.0 if running else None
                    attempt = self._attempt(route, request, wait)
                    running[asyncio.create_task(attempt)] = route
                    return
                errors.append(ProviderUnavailable(f"{route.answerer.name}: circuit open"))

        try:
            start_next()
            while running:
                if waiting and self.config.hedge_delay_s <= 0:
                    start_next()
                    continue
                timeout = self.config.hedge_delay_s if waiting else None
                done, _ = await asyncio.wait(
                    running, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                if not done:
                    start_next()
                for task in done:
                    running.pop(task)
                    if task.exception() is None:
                        return task.result()
                    errors.append(task.exception())  # type: ignore[arg-type]
                    if not running:
                        start_next()  # a failure starts the next provider at once
        finally:
            for task in running:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*running, return_exceptions=True)
        if not errors:
            errors.append(ProviderUnavailable("no provider available"))
        raise ExceptionGroup("every provider in the race failed", errors)

    async def _attempt(self, route: Route, request: AnswerRequest, wait_s: float | None) -> Answer:
        taken = False
        try:
            async with route.slots.take(wait_s):
                taken = True
                return await self._observed(route, request)
        except asyncio.CancelledError:
            if not taken:  # past the deadline while waiting for a slot: no verdict either
                route.breaker.release()
            raise
        except DeploymentBusy as err:
            if taken:
                raise
            route.breaker.release()  # never called: no verdict on the provider
            logger.info("%s", err)
            await self.store.incr(f"provider_busy:{route.answerer.name}")
            raise

    async def _observed(self, route: Route, request: AnswerRequest) -> Answer:
        if self.observer is None:
            return await self._attempt_once(route, request)
        started, mark = time.perf_counter(), len(request.ledger.entries) if request.ledger else 0
        outcome = "error"
        try:
            answer = await self._attempt_once(route, request)
            outcome = "ok"
            return answer
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        except Refusal:
            outcome = "rejected"
            raise
        except InvalidAnswer:
            outcome = "invalid"
            raise
        except TimeoutError:
            outcome = "timeout"
            raise
        finally:
            self._observe(route.answerer.name, outcome, started, request.ledger, mark)

    def _observe(
        self, name: str, outcome: str, started: float, ledger: Ledger | None, mark: int
    ) -> None:
        provider, _, model = name.partition(":")
        spent = [s for s in (ledger.entries[mark:] if ledger else ()) if s.provider == name]
        call = LLMCall(
            provider, model or provider, outcome, time.perf_counter() - started,
            sum(s.input_tokens for s in spent), sum(s.output_tokens for s in spent),
            sum(s.cost_usd for s in spent),
        )  # fmt: skip
        try:
            assert self.observer is not None
            self.observer(call)
        except Exception:
            logger.exception("LLM metrics hook failed")

    async def _attempt_once(self, route: Route, request: AnswerRequest) -> Answer:
        timeout = self.config.attempt_timeout_s
        started = time.perf_counter()
        try:
            answer = await asyncio.wait_for(
                route.answerer.answer(replace(request, timeout_s=timeout)), timeout
            )
        except asyncio.CancelledError:
            route.breaker.release()  # hedged away or past the deadline: no verdict
            raise
        except (InvalidAnswer, Refusal) as err:
            route.breaker.release()  # the provider works; this message's answer does not
            await self.store.incr(f"provider_unusable_answers:{route.answerer.name}")
            logger.info("provider %s gave no usable answer: %s", route.answerer.name, err)
            raise
        except (ProviderError, TimeoutError) as err:
            route.breaker.record_failure()
            await self.store.incr(f"provider_failures:{route.answerer.name}")
            elapsed_ms = (time.perf_counter() - started) * 1000
            reason = str(err) or type(err).__name__
            name = route.answerer.name
            logger.warning("provider %s failed after %.0f ms: %s", name, elapsed_ms, reason)
            raise
        route.breaker.record_success()
        return answer

    async def _affordable(self, tier: str) -> str:
        budget = self.config.daily_budget_usd
        if budget <= 0:
            return tier
        spent = await self._spent_today()
        if spent >= budget * self.config.hard_budget_ratio:
            text = (
                f"LLM spend ${spent:.2f} is past the hard limit; "
                "answering offline until midnight UTC"
            )
            await self._alert_once("budget_hard", text)
            return "offline"
        if spent >= budget:
            text = (
                f"LLM spend ${spent:.2f} reached the daily budget ${budget:.2f}; "
                "using the fast tier only"
            )
            await self._alert_once("budget_soft", text)
            return "fast"
        return tier

    async def _alert_once(self, kind: str, text: str) -> None:
        counters = await self.store.counters()
        await self.store.incr(f"alerts_{kind}")
        if counters.get(f"alerts_{kind}", 0) == 0:
            logger.warning("%s", text)
            if self._on_alert is not None:
                await self._on_alert(text)

    async def _spent_today(self) -> float:
        """Today's LLM spend, re-read from the store at most every few seconds (other replicas
        spend too); this process's own calls are added as they happen."""
        now = time.monotonic()
        day = today()
        if now - self._spent_read_at >= self.config.spend_refresh_s or day != self._spent_day:
            self._spent = (await self.store.counters(day)).get("llm_cost_usd", 0.0)
            self._spent_read_at, self._spent_day = now, day
        return self._spent

    async def _account(self, ledger: Ledger, conversation_key: str | None) -> None:
        """Count every completion of one request, in one round trip (plus one per conversation)."""
        amounts: defaultdict[str, float] = defaultdict(float)
        for spend in ledger.entries:
            amounts["llm_calls"] += 1
            amounts[f"llm_calls:{spend.provider}"] += 1
            if spend.cost_usd:
                amounts["llm_cost_usd"] += spend.cost_usd
                amounts[f"llm_cost_usd:{spend.provider}"] += spend.cost_usd
        if not amounts:
            return
        await self.store.incr_many(dict(amounts))
        cost = amounts["llm_cost_usd"]
        self._spent += cost
        if cost and conversation_key:
            # Runs under the conversation's lock, so read-modify-write is safe here.
            key = f"conversation_cost_usd:{conversation_key}"
            total = float(await self.store.kv_get(key) or 0.0) + cost
            await self.store.kv_set(key, f"{total:.6f}", ttl_s=self.config.cost_ttl_s)
