"""Frontdesk's router against LiteLLM's ``Router``, on the same loopback fake OpenAI API.

Run: ``python bench/router.py [--quick]`` (``pip install -e '.[dev,bench]'`` for aiohttp and
litellm). Everything talks to ``tests.fakes.fake_llm.FakeLLMServer`` instances started here on
127.0.0.1, through the real SDKs; nothing leaves the machine. Four measurements:

(a) overhead per call over a raw ``AsyncOpenAI`` call (fake latency 0), p50 and p99, the three
    callers interleaved call by call after a warm-up. Frontdesk's path is the whole answerer:
    PII redaction, prompt building, the call, strict JSON parsing and post-checks, and the
    router's budget check and cost counters in a SQLite store (as in production). The raw SDK
    and LiteLLM send the very same messages (built once) and parse nothing.
(b) a dead primary with a healthy secondary, three ways (connection refused, HTTP 500, hang
    until the 1 s attempt timeout): per-request latency once Frontdesk's breaker is open and
    LiteLLM's cooldown is on, minus the same system's p50 with the secondary alone.
(c) urgent hedging: primary p50 1 s, secondary 300 ms; Frontdesk races them (``urgent=True``).
(d) cost of a 1,000-message mix from the sample playbook through the real brain
    (``bot.wiring.build_brain``) against the same messages all sent to the strong model.

The last line printed is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

# LiteLLM stays offline: its bundled cost map instead of a download at import time.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from openai import AsyncOpenAI

from bench._common import nearest_rank
from bot.wiring import build_brain
from brain.breaker import BreakerConfig, State
from brain.decision import DecisionKind
from brain.knowledge import KnowledgeBase
from brain.playbook import Playbook, Tier, Urgency
from brain.prompts import PromptConfig, build_chat
from brain.providers.answerer import LLMAnswerer
from brain.providers.base import Answer, AnswerRequest, Passage, Provider
from brain.providers.llm import Price
from brain.providers.offline import OfflineAnswerer
from brain.providers.openai import OpenAIClient
from brain.redact import Redactor
from brain.router import Router, RouterConfig
from brain.store.base import Store, StoreLimits
from brain.store.sqlite import SqliteStore
from channels.base import Author, ConversationRef, InboundMessage
from config.settings import PACKAGED_KNOWLEDGE_DIR, Settings, load_settings
from tests.fakes.fake_llm import FakeLLMServer
from tests.servers import free_port

KEY = "sk-bench-0123456789abcdef"  # the fake accepts any key
MODEL = "gpt-4o-mini"
ATTEMPT_TIMEOUT_S = 1.0  # (b): Frontdesk's attempt timeout and LiteLLM's ``timeout``
BREAKER_FAILURES = 3  # (b): Frontdesk opens after 3 consecutive failures ...
LITELLM_ALLOWED_FAILS = BREAKER_FAILURES - 1  # ... LiteLLM cools down when fails > allowed
COOLDOWN_S = 30.0  # both, the production default of Frontdesk
PROMPTS = PromptConfig(company="Larkspur Home")  # what build_router makes from the defaults
REDACTOR = Redactor({})  # redaction on, as in production (redact_pii defaults to true)
PRICE = Price(0.15, 0.60)  # gpt-4o-mini, config/sections/providers.py _DEFAULT_MODELS

ANSWER_TEXT = (
    "You can return most items within 30 days of delivery. Start the return from your "
    "account under Orders, choose the item and print the prepaid label, then drop the parcel "
    "at any partner point. Once the warehouse has checked it we email you, and the money goes "
    "back to the original payment method within 5-10 working days. Personalised items and "
    "opened bedding cannot be returned."
)
ANSWER_JSON = json.dumps(
    {"answer": ANSWER_TEXT, "confidence": 0.86, "needs_human": False, "sources": ["return-an-item"]}
)
QUESTION = (
    "Hi, Jane Doe here (jane.doe@example.com, +44 7700 900123). I bought the oak lamp last "
    "week, order LH-55120, and it doesn't fit my room. How do I send it back?"
)

TARGET_OVERHEAD_RATIO = 0.5
TARGET_DEAD_PRIMARY_MS = 20.0
TARGET_HEDGE_RATIO = 1.1
TARGET_COST_REDUCTION = 0.70


@dataclass(frozen=True, slots=True)
class Sizes:
    overhead_calls: int
    overhead_warmup: int
    dead_requests: int
    hedge_requests: int
    cost_messages: int
    cost_without_cache: bool
    busy_counters: int


FULL = Sizes(2000, 200, 200, 40, 1000, cost_without_cache=True, busy_counters=5000)
QUICK = Sizes(150, 20, 30, 6, 200, cost_without_cache=False, busy_counters=2000)


# -- helpers -------------------------------------------------------------------------------
async def timed(call: Callable[[], Awaitable[object]], settle: bool = True) -> float:
    """Milliseconds the caller waits. With ``settle``, tasks the call left behind (LiteLLM
    runs its logging hooks as background tasks) finish before the next timed call, so their
    work is not charged to whoever happens to be timed next."""
    before = asyncio.all_tasks()
    started = time.perf_counter()
    await call()
    elapsed = (time.perf_counter() - started) * 1000
    left = asyncio.all_tasks() - before
    if settle and left:
        await asyncio.wait(left, timeout=0.05)  # a new server connection's task never ends
    return elapsed


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def quiet_litellm() -> Any:
    import litellm

    litellm.suppress_debug_info = True
    if hasattr(litellm, "telemetry"):
        litellm.telemetry = False
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    return litellm


def deployment(group: str, base_url: str) -> dict[str, Any]:
    params = {"model": f"openai/{MODEL}", "api_base": base_url, "api_key": KEY}
    return {"model_name": group, "litellm_params": params}


def answerer(name: str, base_url: str) -> LLMAnswerer:
    """gpt-4o-mini at its list price, so the router writes every cost counter, as in production."""
    client = OpenAIClient(
        model=MODEL, api_key=KEY, base_url=base_url, name=name, timeout_s=8.0, price=PRICE
    )
    return LLMAnswerer(client, PROMPTS, REDACTOR)


def bench_request(kb: KnowledgeBase, urgent: bool = False) -> AnswerRequest:
    """A return question with PII, and three passages far below the FAQ-bypass threshold."""
    entries = {e.id: e for e in kb.entries}
    passages = tuple(
        Passage(id=i, title=entries[i].title, text=entries[i].answer, score=score)
        for i, score in (
            ("return-an-item", 0.55),
            ("non-returnable-items", 0.41),
            ("return-shipping-cost", 0.37),
        )
    )
    return AnswerRequest(
        question=QUESTION,
        language="en",
        passages=passages,
        intent="return_item",
        tier="fast",
        urgent=urgent,
        conversation_key="fake::bench",
        kb_version=kb.version,
    )


def sdk_messages(request: AnswerRequest) -> list[dict[str, str]]:
    """The chat Frontdesk sends for ``request`` (after redaction), for the raw SDK and LiteLLM."""
    safe = REDACTOR.redact(request.question).text
    chat = build_chat(
        AnswerRequest(question=safe, language=request.language, passages=request.passages),
        PROMPTS,
        8.0,
    )
    return [
        {"role": "system", "content": chat.system},
        *({"role": m.role, "content": m.content} for m in chat.messages),
    ]


class CountersInMemory:
    """The store calls the router makes (counters, the per-conversation cost), without SQLite."""

    def __init__(self) -> None:
        self.values: Counter[str] = Counter()

    async def incr(self, name: str, amount: float = 1, day: object = None) -> None:
        self.values[name] += amount

    async def incr_many(self, amounts: dict[str, float], day: object = None) -> None:
        self.values.update(amounts)

    async def counters(self, day: object = None) -> dict[str, float]:
        return dict(self.values)

    async def kv_get(self, key: str) -> str | None:
        return None

    async def kv_set(self, key: str, value: str, ttl_s: float | None = None) -> None:
        return None


async def open_store(path: Path) -> SqliteStore:
    store = SqliteStore(path, limits=StoreLimits())
    await store.open()
    return store


def router(
    chain: Sequence[Provider],
    store: Store,
    config: RouterConfig,
    breaker: BreakerConfig | None = None,
) -> Router:
    return Router({"fast": list(chain)}, OfflineAnswerer(), store, config, breaker)


# -- (a) overhead --------------------------------------------------------------------------
@dataclass(slots=True)
class Overhead:
    p50: dict[str, float] = field(default_factory=dict)
    p99: dict[str, float] = field(default_factory=dict)
    cpu_ms: dict[str, float] = field(default_factory=dict)
    calls: int = 0
    busy_counters: int = 0


async def measure_overhead(sizes: Sizes, kb: KnowledgeBase, tmp: Path) -> Overhead:
    litellm = quiet_litellm()
    fake = await FakeLLMServer(reply=ANSWER_JSON).start()
    request = bench_request(kb)
    messages = sdk_messages(request)
    params: dict[str, Any] = {
        "model": MODEL,
        "messages": messages,
        "temperature": 0.2,
        "max_tokens": 600,
        "response_format": {"type": "json_object"},
        "timeout": 8.0,
    }
    config = RouterConfig(cache_ttl_s=0)
    sqlite = await open_store(tmp / "overhead.db")
    busy = await open_store(tmp / "busy.db")
    result = Overhead(busy_counters=sizes.busy_counters)
    for i in range(result.busy_counters):  # a busy day: one cost counter per conversation
        await busy.incr(f"conversation_cost_usd:slack:-:C{i}", 0.0004)
    memory = cast(Store, CountersInMemory())
    ours = router([answerer("fast", fake.openai_base_url)], sqlite, config)
    ours_memory = router([answerer("fast", fake.openai_base_url)], memory, config)
    ours_busy = router([answerer("fast", fake.openai_base_url)], busy, config)
    raw = AsyncOpenAI(api_key=KEY, base_url=fake.openai_base_url, max_retries=0, timeout=8.0)
    theirs = litellm.Router(
        model_list=[deployment(MODEL, fake.openai_base_url)], num_retries=0, timeout=8.0
    )
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "raw": lambda: raw.chat.completions.create(**params),
        "frontdesk": lambda: ours.answer(request),
        "litellm": lambda: theirs.acompletion(**params),
        "frontdesk_memory": lambda: ours_memory.answer(request),
        "frontdesk_busy": lambda: ours_busy.answer(request),
    }
    check = await ours.answer(request)
    assert check.provider == "fast" and check.text.startswith("You can return"), check
    names = list(calls)
    for _ in range(sizes.overhead_warmup):
        for name in names:
            await calls[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    before = len(fake.requests)
    for i in range(sizes.overhead_calls):
        turn = i % len(names)  # rotate who goes first, so no side always follows another
        for name in names[turn:] + names[:turn]:
            samples[name].append(await timed(calls[name]))
    # one request per call: Frontdesk never needed a repair call
    assert len(fake.requests) - before == sizes.overhead_calls * len(names)
    result.calls = sizes.overhead_calls
    for name, values in samples.items():
        result.p50[name] = nearest_rank(values, 50)
        result.p99[name] = nearest_rank(values, 99)
    for name in names:  # CPU per call, deferred work included (the fake's share is the same)
        cpu = time.process_time()
        for _ in range(sizes.overhead_calls // 4):
            await timed(calls[name])
        result.cpu_ms[name] = (time.process_time() - cpu) * 1000 / (sizes.overhead_calls // 4)
    for closing in (ours, ours_memory, ours_busy):
        await closing.close()
    await raw.close()
    await sqlite.close()
    await busy.close()
    await fake.stop()
    return result


def prompt_cpu_ms(kb: KnowledgeBase, rounds: int = 2000) -> float:
    """CPU time of redaction + prompt building + parsing + checks, per answer (no I/O)."""
    from brain.prompts import check, parse

    request = bench_request(kb)
    ids = [p.id for p in request.passages]
    started = time.perf_counter()
    for _ in range(rounds):
        redaction = REDACTOR.redact(request.question)
        chat = build_chat(request, PROMPTS, 8.0)
        parsed = parse(ANSWER_JSON, ids)
        redaction.restore(check(parsed, chat.system, PROMPTS, request.max_chars))
    return (time.perf_counter() - started) * 1000 / rounds


# -- (b) dead primary ----------------------------------------------------------------------
@dataclass(slots=True)
class DeadPrimary:
    baseline_p50: dict[tuple[str, str], float] = field(default_factory=dict)
    p50: dict[tuple[str, str], float] = field(default_factory=dict)
    p95: dict[tuple[str, str], float] = field(default_factory=dict)
    p99: dict[tuple[str, str], float] = field(default_factory=dict)
    warmup: dict[tuple[str, str], tuple[int, float]] = field(default_factory=dict)
    primary_hits: dict[tuple[str, str], int | None] = field(default_factory=dict)

    def added_p95(self, system: str, mode: str) -> float:
        return self.p95[system, mode] - self.baseline_p50[system, mode]


MODES = ("refused", "http500", "hang")


async def dead_target(mode: str) -> tuple[str, FakeLLMServer | None]:
    if mode == "refused":
        return f"http://127.0.0.1:{free_port()}/v1", None
    fake = await FakeLLMServer(reply=ANSWER_JSON).start()
    if mode == "http500":
        fake.script("openai", [{"status": 500}] * 20_000)
    else:
        fake.latency = 120.0  # hangs far beyond the attempt timeout
    return fake.openai_base_url, fake


async def interleaved(
    calls: Mapping[str, Callable[[], Awaitable[object]]], count: int
) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    for i in range(count):
        turn = i % len(names)
        for name in names[turn:] + names[:turn]:
            samples[name].append(await timed(calls[name]))
    return samples


async def measure_dead_primary(sizes: Sizes, kb: KnowledgeBase, tmp: Path) -> DeadPrimary:
    litellm = quiet_litellm()
    result = DeadPrimary()
    request = bench_request(kb)
    messages = sdk_messages(request)
    healthy = await FakeLLMServer(reply=ANSWER_JSON).start()
    store = await open_store(tmp / "dead.db")
    config = RouterConfig(attempt_timeout_s=ATTEMPT_TIMEOUT_S, cache_ttl_s=0)
    breaker = BreakerConfig(consecutive_failures=BREAKER_FAILURES, cooldown_s=COOLDOWN_S)
    ll_options: dict[str, Any] = {
        "num_retries": 0,
        "timeout": ATTEMPT_TIMEOUT_S,
        "allowed_fails": LITELLM_ALLOWED_FAILS,
        "cooldown_time": COOLDOWN_S,
    }

    def ll_call(ll_router: Any, group: str) -> Callable[[], Awaitable[object]]:
        return lambda: ll_router.acompletion(
            model=group, messages=messages, temperature=0.2, max_tokens=600
        )

    alone = router([answerer("secondary", healthy.openai_base_url)], store, config, breaker)
    ll_alone = litellm.Router(
        model_list=[deployment("secondary", healthy.openai_base_url)], **ll_options
    )
    baseline = {
        "frontdesk alone": lambda: alone.answer(request),
        "litellm alone": ll_call(ll_alone, "secondary"),
    }
    for _ in range(20):
        for call in baseline.values():
            await call()

    for mode in MODES:
        ours_url, ours_fake = await dead_target(mode)
        theirs_url, theirs_fake = await dead_target(mode)
        ours = router(
            [answerer("primary", ours_url), answerer("secondary", healthy.openai_base_url)],
            store,
            config,
            breaker,
        )
        theirs = litellm.Router(
            model_list=[
                deployment("primary", theirs_url),
                deployment("secondary", healthy.openai_base_url),
            ],
            fallbacks=[{"primary": ["secondary"]}],
            **ll_options,
        )
        calls = {
            "frontdesk": lambda r=ours: r.answer(request),
            "litellm": ll_call(theirs, "primary"),
        }

        async def warm_ours(r: Router = ours) -> tuple[int, float]:
            started, sent = time.perf_counter(), 0
            while r.breaker_states()["primary"] is not State.OPEN and sent < 20:
                await r.answer(request)
                sent += 1
            return sent, time.perf_counter() - started

        async def warm_theirs(call: Callable[[], Awaitable[object]]) -> tuple[int, float]:
            started = time.perf_counter()
            for _ in range(LITELLM_ALLOWED_FAILS + 3):  # one past the cooldown, and a spare
                await call()
            return LITELLM_ALLOWED_FAILS + 3, time.perf_counter() - started

        # The failure becomes known: Frontdesk's breaker opens, LiteLLM's cooldown starts.
        warm = await asyncio.gather(warm_ours(), warm_theirs(calls["litellm"]))
        result.warmup["frontdesk", mode], result.warmup["litellm", mode] = warm
        seen = {"frontdesk": ours_fake, "litellm": theirs_fake}
        hits_before = {k: len(f.requests) if f else 0 for k, f in seen.items()}
        # The secondary alone runs in the same loop, so both see the same machine load.
        samples = await interleaved({**calls, **baseline}, sizes.dead_requests)
        for name in calls:
            values = samples[name]
            result.baseline_p50[name, mode] = nearest_rank(samples[f"{name} alone"], 50)
            result.p50[name, mode] = nearest_rank(values, 50)
            result.p95[name, mode] = nearest_rank(values, 95)
            result.p99[name, mode] = nearest_rank(values, 99)
            fake = seen[name]
            result.primary_hits[name, mode] = (
                len(fake.requests) - hits_before[name] if fake is not None else None
            )
        await ours.close()
        for fake in (ours_fake, theirs_fake):
            if fake is not None:
                await fake.stop()
    await alone.close()
    await store.close()
    await healthy.stop()
    return result


# -- (c) hedging ---------------------------------------------------------------------------
@dataclass(slots=True)
class Hedging:
    p50: dict[str, float]
    answers: int  # urgent requests the race answered
    primary_requests: int  # requests the race started at the slow primary (all abandoned)
    secondary_requests: int
    accounted_calls: float  # what the router's counters say it spent calls on


async def measure_hedging(sizes: Sizes, kb: KnowledgeBase, tmp: Path) -> Hedging:
    litellm = quiet_litellm()
    fakes = [await FakeLLMServer(reply=ANSWER_JSON).start() for _ in range(4)]
    slow, fast, race_slow, race_fast = fakes  # the race gets its own pair, to count requests
    for fake, latency in zip(fakes, (1.0, 0.3, 1.0, 0.3), strict=True):
        fake.latency = latency
    store = await open_store(tmp / "hedge.db")
    race_store = await open_store(tmp / "race.db")
    urgent = bench_request(kb, urgent=True)
    normal = bench_request(kb)
    messages = sdk_messages(normal)

    def chain(primary: FakeLLMServer, secondary: FakeLLMServer) -> list[Provider]:
        return [
            answerer("primary", primary.openai_base_url),
            answerer("secondary", secondary.openai_base_url),
        ]

    race = router(
        chain(race_slow, race_fast), race_store, RouterConfig(hedge_delay_s=0.0, cache_ttl_s=0)
    )
    delayed = router(chain(slow, fast), store, RouterConfig(cache_ttl_s=0, hedge_delay_s=0.4))
    alone = router(
        [answerer("secondary", fast.openai_base_url)], store, RouterConfig(cache_ttl_s=0)
    )
    fallback = litellm.Router(
        model_list=[
            deployment("primary", slow.openai_base_url),
            deployment("secondary", fast.openai_base_url),
        ],
        fallbacks=[{"primary": ["secondary"]}],
        num_retries=0,
        timeout=8.0,
    )
    latency_based = litellm.Router(
        model_list=[
            deployment("pool", slow.openai_base_url),
            deployment("pool", fast.openai_base_url),
        ],
        routing_strategy="latency-based-routing",
        num_retries=0,
        timeout=8.0,
    )

    def ll(ll_router: Any, group: str) -> Callable[[], Awaitable[object]]:
        return lambda: ll_router.acompletion(model=group, messages=messages, max_tokens=600)

    series: dict[str, Callable[[], Awaitable[object]]] = {
        "frontdesk_race": lambda: race.answer(urgent),
        "frontdesk_hedge_0.4": lambda: delayed.answer(urgent),
        "secondary_alone": lambda: alone.answer(normal),
        "litellm_fallback": ll(fallback, "primary"),
        "litellm_latency_based": ll(latency_based, "pool"),
    }

    async def run(call: Callable[[], Awaitable[object]]) -> float:
        return nearest_rank(
            [await timed(call, settle=False) for _ in range(sizes.hedge_requests)], 50
        )

    # The series run side by side (each one request at a time): the time is the fakes' sleep.
    p50s = await asyncio.gather(*(run(call) for call in series.values()))
    result = Hedging(
        p50=dict(zip(series, p50s, strict=True)),
        answers=sizes.hedge_requests,
        primary_requests=len(race_slow.requests),
        secondary_requests=len(race_fast.requests),
        accounted_calls=(await race_store.counters()).get("llm_calls", 0.0),
    )
    answer = await race.answer(urgent)
    assert answer.provider == "secondary", answer
    for closing in (race, delayed, alone):
        await closing.close()
    await store.close()
    await race_store.close()
    for fake in fakes:
        await fake.stop()
    return result


# -- (d) cost ------------------------------------------------------------------------------
def estimate_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


class MeteredFake(FakeLLMServer):
    """The fake, reporting usage from the request it got: characters / 4 (+4 per message)."""

    def _openai_reply(self, body: dict[str, Any], step: dict[str, Any]) -> dict[str, Any]:
        reply = super()._openai_reply(body, step)
        prompt = sum(
            estimate_tokens(str(m.get("content") or "")) + 4 for m in body.get("messages", [])
        )
        completion = estimate_tokens(str(reply["choices"][0]["message"]["content"] or ""))
        reply["usage"] = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
        return reply

    def bill(self, prices: Mapping[str, tuple[float, float]], start: int = 0) -> float:
        """What the provider would charge for every request it received (incl. abandoned)."""
        total = 0.0
        output = estimate_tokens(self.reply)
        for recorded in self.requests[start:]:
            body = recorded.body if isinstance(recorded.body, dict) else {}
            prompt = sum(
                estimate_tokens(str(m.get("content") or "")) + 4 for m in body.get("messages", [])
            )
            price_in, price_out = prices[str(body.get("model"))]
            total += (prompt * price_in + output * price_out) / 1_000_000
        return total


# Escalation reasons that hold whatever the answer says (brain/escalation.py): an LLM answer
# to such a message is thrown away.
ANSWER_INDEPENDENT = frozenset(
    {
        "human_requested",
        "negative_sentiment",
        "sensitive",
        "playbook",
        "vip",
        "too_many_turns",
        "repeated_question",
    }
)
MIX = (("simple", 0.70), ("complex", 0.20), ("urgent", 0.08), ("technical", 0.02))


def build_mix(playbook: Playbook, count: int, seed: int = 7) -> list[tuple[str, str]]:
    """(kind, text) pairs: each kind's examples shuffled and cycled, so repeats are spread."""
    pools: dict[str, list[str]] = {kind: [] for kind, _ in MIX}
    for intent in playbook.intents:
        if intent.urgency is Urgency.URGENT:
            pools["urgent"] += intent.examples
        elif intent.category in ("technical", "bug_report"):
            pools["technical"] += intent.examples
        elif intent.tier is Tier.COMPLEX:
            pools["complex"] += intent.examples
        elif intent.reply is None and not intent.escalate_always:  # questions, not small talk
            pools["simple"] += intent.examples
    rng = random.Random(seed)
    mix: list[tuple[str, str]] = []
    for kind, share in MIX:
        pool = pools[kind][:]
        rng.shuffle(pool)
        mix += [(kind, pool[i % len(pool)]) for i in range(round(count * share))]
    rng.shuffle(mix)
    return mix


class Recording:
    """Wraps the brain's answerer to see what each message got (the brain keeps no trace)."""

    def __init__(self, inner: Provider) -> None:
        self.inner = inner
        self.name = inner.name
        self.last: Answer | None = None
        self.last_request: AnswerRequest | None = None

    async def answer(self, request: AnswerRequest) -> Answer:
        self.last_request = request
        self.last = await self.inner.answer(request)
        return self.last

    async def close(self) -> None:
        await self.inner.close()


@dataclass(slots=True)
class CostRun:
    messages: int = 0
    bill_usd: float = 0.0
    accounted_usd: float = 0.0
    llm_requests: int = 0
    routes: Counter[str] = field(default_factory=Counter)
    by_kind: dict[str, Counter[str]] = field(default_factory=dict)
    kind_usd: dict[str, float] = field(default_factory=dict)
    escalated: int = 0
    escalated_without_llm: int = 0
    escalated_after_llm: int = 0
    escalated_after_llm_usd: float = 0.0
    needless: int = 0  # LLM called, then escalated for a reason the answer could not change
    needless_usd: float = 0.0
    seconds: float = 0.0


def cost_settings(fake: FakeLLMServer, data_dir: Path, extra: Mapping[str, str]) -> Settings:
    os.environ["FRONTDESK_PROVIDERS__OPENAI_API_KEY"] = KEY
    os.environ["FRONTDESK_PROVIDERS__OPENAI_BASE_URL"] = fake.openai_base_url
    os.environ["FRONTDESK_STORE__DATA_DIR"] = str(data_dir)
    for name, value in extra.items():
        os.environ[name] = value
    try:
        return load_settings(env_file=None)
    finally:
        for name in extra:
            del os.environ[name]


def route_of(answer: Answer | None, diff: Mapping[str, float]) -> str:
    if answer is None:
        return "playbook reply (no answerer)"
    if diff.get("router_faq_direct", 0):
        return "FAQ bypass"
    if diff.get("router_cache_hits", 0):
        return "cache"
    if diff.get("router_offline_fallbacks", 0):
        return "offline fallback"
    return {"openai:gpt-4o-mini": "fast", "openai:gpt-4o": "strong"}.get(
        answer.provider, answer.provider
    )


async def run_mix(
    fake: MeteredFake, settings: Settings, mix: Sequence[tuple[str, str]], all_strong: bool
) -> CostRun:
    """The mix through ``build_brain``; ``all_strong`` swaps the router for its gpt-4o answerer."""
    kb = KnowledgeBase.load(settings.knowledge.path)
    store = await open_store(settings.store.data_dir / "bench.db")
    brain, _ = build_brain(settings, store, kb)
    prices = {d.model: (d.input_price, d.output_price) for d in settings.providers.deployments()}
    real_router = cast(Router, brain.answerer)
    strong = next(d.model for d in settings.providers.deployments() if d.tier == "strong")
    inner = real_router.routes[f"openai:{strong}"].answerer if all_strong else real_router
    recorder = Recording(inner)
    brain.answerer = recorder
    run = CostRun(messages=len(mix))
    started = time.perf_counter()
    for number, (kind, text) in enumerate(mix):
        ref = ConversationRef(channel="bench", conversation_id=f"c{number}")
        message = InboundMessage(ref, f"m{number}", Author(id=f"customer-{number}"), text)
        recorder.last = None
        counters_before = await store.counters()
        requests_before = len(fake.requests)
        decision = await brain.handle(message)
        counters_after = await store.counters()
        diff = {k: v - counters_before.get(k, 0.0) for k, v in counters_after.items()}
        spent = fake.bill(prices, start=requests_before)
        route = route_of(recorder.last, diff)
        run.routes[route] += 1
        tally = run.by_kind.setdefault(kind, Counter())
        tally[route] += 1
        tally["messages"] += 1
        run.kind_usd[kind] = run.kind_usd.get(kind, 0.0) + spent
        if decision.kind is DecisionKind.ESCALATE:
            run.escalated += 1
            tally["escalated"] += 1
            if len(fake.requests) == requests_before:
                run.escalated_without_llm += 1
            else:
                run.escalated_after_llm += 1
                run.escalated_after_llm_usd += spent
                if set(decision.reasons) & ANSWER_INDEPENDENT:
                    run.needless += 1
                    run.needless_usd += spent
    run.seconds = time.perf_counter() - started
    run.llm_requests = len(fake.requests)
    run.bill_usd = fake.bill(prices)
    run.accounted_usd = (await store.counters()).get("llm_cost_usd", 0.0)
    await real_router.close()
    await store.close()
    return run


@dataclass(slots=True)
class Cost:
    ours: CostRun
    strong: CostRun
    no_cache: CostRun | None
    mix: Counter[str]
    distinct: int  # different texts in the mix: repeats are what the response cache serves

    @property
    def reduction(self) -> float:
        return 1 - self.ours.bill_usd / self.strong.bill_usd


async def measure_cost(sizes: Sizes, tmp: Path) -> Cost:
    runs: dict[str, CostRun] = {}
    variants = [("ours", False, {}), ("strong", True, {})]
    if sizes.cost_without_cache:
        variants.append(("no_cache", False, {"FRONTDESK_PROVIDERS__CACHE_TTL_SECONDS": "0"}))
    mix: list[tuple[str, str]] = []
    for name, all_strong, extra in variants:
        fake = await MeteredFake(reply=ANSWER_JSON).start()
        data_dir = tmp / f"cost-{name}"
        data_dir.mkdir()
        settings = cost_settings(fake, data_dir, extra)
        if not mix:
            mix = build_mix(Playbook.load(settings.classifier.playbook_path), sizes.cost_messages)
        runs[name] = await run_mix(fake, settings, mix, all_strong)
        await fake.stop()
    kinds = Counter(kind for kind, _ in mix)
    distinct = len({text for _, text in mix})
    return Cost(runs["ours"], runs["strong"], runs.get("no_cache"), kinds, distinct)


# -- report --------------------------------------------------------------------------------
def report_overhead(o: Overhead, prompt_ms: float) -> dict[str, float]:
    raw50, raw99 = o.p50["raw"], o.p99["raw"]
    over = {name: (o.p50[name] - raw50, o.p99[name] - raw99) for name in o.p50}
    print(
        f"\n(a) Overhead over a raw AsyncOpenAI call: {o.calls} calls per caller, interleaved, "
        f"fake latency 0"
    )
    print(
        f"{'caller':<58} {'p50 ms':>8} {'p99 ms':>8} {'+p50 ms':>8} {'+p99 ms':>8} "
        f"{'CPU ms':>7} {'+CPU ms':>8}"
    )
    labels = {
        "raw": "raw AsyncOpenAI chat.completions.create (baseline)",
        "frontdesk": "Frontdesk Router (redact+prompt+parse, SQLite counters)",
        "litellm": "LiteLLM Router.acompletion",
        "frontdesk_memory": "  diagnostic: Frontdesk, counters in memory (no SQLite)",
        "frontdesk_busy": f"  diagnostic: Frontdesk, SQLite with {o.busy_counters:,} counters",
    }
    for name, label in labels.items():
        print(
            f"{label:<58} {o.p50[name]:>8.2f} {o.p99[name]:>8.2f} "
            f"{over[name][0]:>8.2f} {over[name][1]:>8.2f} {o.cpu_ms[name]:>7.2f} "
            f"{o.cpu_ms[name] - o.cpu_ms['raw']:>8.2f}"
        )
    ratio50 = over["frontdesk"][0] / over["litellm"][0]
    ratio99 = over["frontdesk"][1] / over["litellm"][1]
    print(
        f"{'ratio Frontdesk / LiteLLM overhead':<58} {'':>8} {'':>8} {ratio50:>8.2f} "
        f"{ratio99:>8.2f}"
    )
    print(
        f"target: Frontdesk's p99 overhead <= {TARGET_OVERHEAD_RATIO}x LiteLLM's -> "
        f"{ratio99:.2f}x, {verdict(ratio99 <= TARGET_OVERHEAD_RATIO)}"
    )
    print(
        "CPU ms: process CPU per call, the fake server's share and LiteLLM's deferred logging "
        f"tasks included; redaction + prompt + parse + checks alone: {prompt_ms:.3f} ms"
    )
    return {
        "overhead_p50_ms": over["frontdesk"][0],
        "overhead_p99_ms": over["frontdesk"][1],
        "litellm_overhead_p50_ms": over["litellm"][0],
        "litellm_overhead_p99_ms": over["litellm"][1],
    }


def report_dead(d: DeadPrimary, requests: int) -> dict[str, float]:
    print(
        f"\n(b) Dead primary, healthy secondary: {requests} requests per mode after the "
        f"warm-up, attempt timeout {ATTEMPT_TIMEOUT_S:g} s"
    )
    print(
        f"{'mode':<9} {'system':<10} {'warm-up':>16} {'alone p50':>10} {'p50 ms':>8} "
        f"{'p95 ms':>8} {'p99 ms':>8} {'+p95 ms':>8} {'primary hits':>13}"
    )
    for mode in MODES:
        for system in ("frontdesk", "litellm"):
            key = (system, mode)
            n, secs = d.warmup[key]
            hits = d.primary_hits[key]
            print(
                f"{mode:<9} {system:<10} {f'{n} req, {secs:.2f} s':>16} "
                f"{d.baseline_p50[key]:>10.2f} {d.p50[key]:>8.2f} {d.p95[key]:>8.2f} "
                f"{d.p99[key]:>8.2f} {d.added_p95(*key):>8.2f} "
                f"{'-' if hits is None else hits:>13}"
            )
    ours = max(d.added_p95("frontdesk", m) for m in MODES)
    theirs = max(d.added_p95("litellm", m) for m in MODES)
    print(
        f"worst mode, added p95: Frontdesk {ours:.2f} ms, LiteLLM {theirs:.2f} ms "
        f"(ratio {ours / theirs:.2f})"
    )
    print(
        f"target: added p95 <= {TARGET_DEAD_PRIMARY_MS:g} ms once the breaker is open -> "
        f"{ours:.2f} ms, {verdict(ours <= TARGET_DEAD_PRIMARY_MS)}"
    )
    return {"dead_primary_p95_ms": ours, "litellm_dead_primary_p95_ms": theirs}


def report_hedging(hedging: Hedging, requests: int) -> dict[str, float]:
    h = hedging.p50
    print(
        f"\n(c) Urgent hedging: primary 1.0 s, secondary 0.3 s (fake latency), {requests} "
        f"requests per series, p50"
    )
    labels = {
        "frontdesk_race": "Frontdesk, urgent, hedge_delay_s=0 (race)",
        "frontdesk_hedge_0.4": "Frontdesk, urgent, hedge_delay_s=0.4",
        "secondary_alone": "secondary alone (Frontdesk router, one provider)",
        "litellm_fallback": "LiteLLM, primary -> secondary fallbacks (no hedging)",
        "litellm_latency_based": "LiteLLM, both in one group, latency-based-routing",
    }
    faster = h["secondary_alone"]
    for name, label in labels.items():
        print(f"{label:<56} {h[name]:>9.1f} ms  {h[name] / faster:>5.2f}x the faster")
    print(
        f"the race: {hedging.answers} answers, {hedging.primary_requests} requests started at "
        f"the primary (all abandoned) + {hedging.secondary_requests} at the secondary; the "
        f"router's counters record {hedging.accounted_calls:.0f} LLM calls"
    )
    ratio = h["frontdesk_race"] / faster
    print(
        f"target: hedged p50 <= {TARGET_HEDGE_RATIO}x the faster provider's -> {ratio:.3f}x, "
        f"{verdict(ratio <= TARGET_HEDGE_RATIO)}"
    )
    return {"hedged_p50_ms": h["frontdesk_race"], "faster_provider_p50_ms": faster}


ROUTES = (
    "playbook reply (no answerer)",
    "FAQ bypass",
    "cache",
    "fast",
    "strong",
    "offline fallback",
)


def report_cost(c: Cost) -> dict[str, float]:
    ours, strong = c.ours, c.strong
    mix = ", ".join(f"{c.mix[k]} {k}" for k, _ in MIX)
    print(
        f"\n(d) Cost, {ours.messages} messages ({mix}; {c.distinct} different texts) through "
        f"build_brain, each in its own conversation; tokens = characters / 4"
    )
    print(
        f"{'kind':<10} {'msgs':>5} "
        + " ".join(f"{r.split(' ')[0][:8]:>8}" for r in ROUTES)
        + f" {'escal.':>7} {'ours $':>9} {'strong $':>9}"
    )
    for kind, _ in MIX:
        t = ours.by_kind.get(kind, Counter())
        print(
            f"{kind:<10} {t['messages']:>5} "
            + " ".join(f"{t[r]:>8}" for r in ROUTES)
            + f" {t['escalated']:>7} {ours.kind_usd.get(kind, 0):>9.4f} "
            f"{strong.kind_usd.get(kind, 0):>9.4f}"
        )
    print(
        f"{'all':<10} {ours.messages:>5} "
        + " ".join(f"{ours.routes[r]:>8}" for r in ROUTES)
        + f" {ours.escalated:>7} {ours.bill_usd:>9.4f} {strong.bill_usd:>9.4f}"
    )
    print(
        f"LLM requests: ours {ours.llm_requests}, all-strong {strong.llm_requests}; "
        f"router-accounted cost ${ours.accounted_usd:.4f} vs provider bill ${ours.bill_usd:.4f}"
    )
    print(
        f"escalated: {ours.escalated} ({ours.escalated_without_llm} without an LLM call, "
        f"{ours.escalated_after_llm} after one, costing ${ours.escalated_after_llm_usd:.4f} "
        f"= {ours.escalated_after_llm_usd / ours.bill_usd:.1%} of ours)"
    )
    print(
        f"of those, {ours.needless} escalated for a reason that does not depend on the answer "
        f"(sensitive, playbook, asked for a human, upset, ...): ${ours.needless_usd:.4f}; "
        f"skipping those calls would make the reduction "
        f"{1 - (ours.bill_usd - ours.needless_usd) / strong.bill_usd:.1%}"
    )
    print(
        f"brain time: ours {ours.seconds:.1f} s, all-strong {strong.seconds:.1f} s "
        f"({ours.seconds / ours.messages * 1000:.1f} / "
        f"{strong.seconds / strong.messages * 1000:.1f} ms per message)"
    )
    if c.no_cache is not None:
        nc = c.no_cache
        print(
            f"without the response cache (cache_ttl_seconds=0): ${nc.bill_usd:.4f}, "
            f"reduction {1 - nc.bill_usd / strong.bill_usd:.1%}; "
            + ", ".join(f"{r} {nc.routes[r]}" for r in ROUTES if nc.routes[r])
            + f"; {nc.needless} LLM answers thrown away by an answer-independent escalation "
            f"(${nc.needless_usd:.4f}; skipped: reduction "
            f"{1 - (nc.bill_usd - nc.needless_usd) / strong.bill_usd:.1%})"
        )
    print(
        f"target: cost reduction >= {TARGET_COST_REDUCTION:.0%} -> {c.reduction:.1%}, "
        f"{verdict(c.reduction >= TARGET_COST_REDUCTION)}"
    )
    return {"cost_reduction": c.reduction}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations, under a minute")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    logging.getLogger("brain").setLevel(logging.ERROR)  # the warm-ups' expected failures
    started = time.perf_counter()
    litellm = quiet_litellm()
    kb = KnowledgeBase.load(PACKAGED_KNOWLEDGE_DIR)
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        clock = time.perf_counter()
        overhead = await measure_overhead(sizes, kb, tmp)
        took = {"a": time.perf_counter() - clock}
        dead = await measure_dead_primary(sizes, kb, tmp)
        took["b"] = time.perf_counter() - clock - sum(took.values())
        hedging = await measure_hedging(sizes, kb, tmp)
        took["c"] = time.perf_counter() - clock - sum(took.values())
        cost = await measure_cost(sizes, tmp)
        took["d"] = time.perf_counter() - clock - sum(took.values())
    print(
        f"Router benchmark ({'quick' if args.quick else 'full'}), Frontdesk vs LiteLLM "
        f"{_version('litellm')} (openai SDK {_version('openai')}), loopback fake OpenAI API"
    )
    figures |= report_overhead(overhead, prompt_cpu_ms(kb))
    figures |= report_dead(dead, sizes.dead_requests)
    figures |= report_hedging(hedging, sizes.hedge_requests)
    figures |= report_cost(cost)
    del litellm
    sections = ", ".join(f"({k}) {v:.0f} s" for k, v in took.items())
    print(f"\nwall time {time.perf_counter() - started:.0f} s: {sections}")
    print(json.dumps({k: round(v, 4 if k == "cost_reduction" else 2) for k, v in figures.items()}))


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


if __name__ == "__main__":
    asyncio.run(main())
