"""Per-deployment in-flight caps in the router: waits, spill-over, races, settings, metrics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.health import split_name
from bot.metrics import Metrics, Snapshot
from bot.wiring.brain import build_clients, build_router
from brain.breaker import BreakerConfig, State
from brain.prompts import PromptConfig
from brain.providers.answerer import LLMAnswerer
from brain.providers.base import AnswerRequest, Passage
from brain.providers.fake import ScriptedClient
from brain.providers.llm import ChatRequest, Completion
from brain.providers.offline import OfflineAnswerer
from brain.redact import Redactor
from brain.router import Router, RouterConfig
from brain.slots import DeploymentBusy, Slots
from brain.store.base import StoreLimits
from brain.store.sqlite import SqliteStore
from config.errors import ConfigError
from config.settings import Settings, load_settings

PASSAGE = Passage(id="return-an-item", title="Returns", text="30 days to return.", score=0.5)


class Counting(ScriptedClient):
    """A scripted deployment that records how many of its calls ran at once."""

    def __init__(self, name: str, latency_s: float) -> None:
        super().__init__(name, latency_s=latency_s)
        self.now = 0
        self.peak = 0

    async def complete(self, request: ChatRequest) -> Completion:
        self.now += 1
        self.peak = max(self.peak, self.now)
        try:
            return await super().complete(request)
        finally:
            self.now -= 1


def ask(number: int, urgent: bool = False) -> AnswerRequest:
    question = f"can I return lamp number {number}?"
    return AnswerRequest(question=question, language="en", passages=(PASSAGE,), urgent=urgent)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    instance = SqliteStore(tmp_path / "caps.db", limits=StoreLimits())
    await instance.open()
    yield instance
    await instance.close()


def router(
    store: SqliteStore, clients: list[ScriptedClient], limits: dict[str, int], **config: object
) -> Router:
    prompts = PromptConfig(company="Larkspur Home")
    answerers = [LLMAnswerer(c, prompts, Redactor()) for c in clients]
    settings = {"attempt_timeout_s": 5.0, "deadline_s": 10.0, "hedge_delay_s": 0.0, **config}
    return Router(
        {"fast": answerers}, OfflineAnswerer(), store,
        RouterConfig(**settings),  # type: ignore[arg-type]
        BreakerConfig(consecutive_failures=1, cooldown_s=30), limits=limits,
    )  # fmt: skip


async def test_a_deployment_never_runs_more_than_its_cap(store: SqliteStore) -> None:
    only = Counting("only", latency_s=0.05)
    r = router(store, [only], {"only": 3})
    answers = await asyncio.gather(*(r.answer(ask(i)) for i in range(12)))
    assert only.peak == 3, f"{only.peak} calls ran at once on a deployment capped at 3"
    # The last deployment of the chain waits for a slot rather than answering offline.
    assert {a.provider for a in answers} == {"only"}
    assert r.slot_usage()["only"].in_flight == 0 and r.slot_usage()["only"].limit == 3


async def test_a_long_wait_spills_over_to_the_next_deployment(store: SqliteStore) -> None:
    primary, secondary = Counting("primary", 0.5), Counting("secondary", 0.01)
    r = router(store, [primary, secondary], {"primary": 1, "secondary": 5}, slot_wait_s=0.05)
    answers = await asyncio.gather(r.answer(ask(1)), r.answer(ask(2)))
    assert sorted(a.provider for a in answers) == ["primary", "secondary"]
    assert primary.peak == 1
    # Busy is not broken: the primary's breaker stays closed (it opens after one failure here).
    assert r.breaker_states()["primary"] is State.CLOSED
    assert (await store.counters()).get("provider_busy:primary") == 1
    assert r.slot_usage()["primary"].timeouts == 1


async def test_urgent_races_respect_the_caps(store: SqliteStore) -> None:
    one, two = Counting("one", 0.05), Counting("two", 0.05)
    r = router(store, [one, two], {"one": 2, "two": 1})
    answers = await asyncio.gather(*(r.answer(ask(i, urgent=True)) for i in range(10)))
    assert one.peak <= 2 and two.peak <= 1, (one.peak, two.peak)
    assert all(a.provider in ("one", "two") for a in answers)


async def test_a_hedge_skips_a_full_deployment_without_queueing(store: SqliteStore) -> None:
    first, full = Counting("first", 0.05), Counting("full", 0.5)
    r = router(store, [full, first], {"full": 1, "first": 1})
    hog = asyncio.create_task(r.answer(ask(0)))  # takes "full"'s only slot
    await asyncio.sleep(0.01)
    second = router(store, [first, full], {}, max_in_flight=1)
    second.routes["full"] = r.routes["full"]  # the same deployment, shared slots
    answer = await second.answer(ask(1, urgent=True))
    assert answer.provider == "first"
    assert len(full.requests) == 1, "the hedge must not have called (or waited for) 'full'"
    await hog


async def test_slots_wait_bounded_and_free_on_cancel() -> None:
    slots = Slots("d", 1)
    async with slots.take(None):
        with pytest.raises(DeploymentBusy):
            async with slots.take(0.02):
                pass
        with pytest.raises(DeploymentBusy):
            async with slots.take(0):
                pass
        waiter = asyncio.create_task(slots.take(None).__aenter__())
        await asyncio.sleep(0.01)
        assert slots.usage().waiting == 1
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
    assert slots.usage().in_flight == 0 and slots.usage().waiting == 0
    async with slots.take(0):
        assert slots.usage().in_flight == 1
    with pytest.raises(ValueError, match="at least 1"):
        Slots("d", 0)


def settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name, value in {"FRONTDESK_PROVIDERS__OPENAI_API_KEY": "sk-test", **env}.items():
        monkeypatch.setenv(name, value)
    return load_settings(env_file=None)


def test_caps_come_from_the_settings_per_deployment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = (
        '[{"provider": "openai", "model": "gpt-4o-mini", "tier": "fast", "max_in_flight": 300},'
        ' {"provider": "openai", "model": "gpt-4o", "tier": "strong"}]'
    )
    s = settings(monkeypatch, FRONTDESK_PROVIDERS__MODELS=models,
                 FRONTDESK_PROVIDERS__MAX_IN_FLIGHT="40",
                 FRONTDESK_PROVIDERS__SLOT_WAIT_SECONDS="1.5")  # fmt: skip
    store = SqliteStore(tmp_path / "s.db", limits=StoreLimits())
    r = build_router(s, store, OfflineAnswerer())
    assert r is not None
    assert {n: u.limit for n, u in r.slot_usage().items()} == {
        "openai:gpt-4o-mini": 300,
        "openai:gpt-4o": 40,
    }
    assert r.config.slot_wait_s == 1.5
    assert len(build_clients(s)) == 2


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"FRONTDESK_PROVIDERS__MAX_IN_FLIGHT": "0"}, "FRONTDESK_PROVIDERS__MAX_IN_FLIGHT"),
        ({"FRONTDESK_PROVIDERS__SLOT_WAIT_SECONDS": "-1"}, "SLOT_WAIT_SECONDS"),
        ({"FRONTDESK_PROVIDERS__SLOT_WAIT_SECONDS": "30"}, "SLOT_WAIT_SECONDS"),
        (
            {"FRONTDESK_PROVIDERS__MODELS":
             '[{"provider": "openai", "model": "m", "tier": "fast", "max_in_flight": 0}]'},
            "MODELS__MAX_IN_FLIGHT",
        ),
    ],
)  # fmt: skip
def test_bad_caps_are_refused_naming_the_setting(
    env: dict[str, str], named: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError, match=named):
        settings(monkeypatch, **env)


def test_the_caps_show_in_metrics() -> None:
    slots = Slots("openai:gpt-4o-mini", 7)
    metrics = Metrics()
    text = metrics.render(
        Snapshot(0, 0, llm_slots={split_name(slots.name): slots.usage()})
    ).decode()
    assert 'frontdesk_llm_max_in_flight{model="gpt-4o-mini",provider="openai"} 7.0' in text
    assert 'frontdesk_llm_in_flight{model="gpt-4o-mini",provider="openai"} 0.0' in text
    assert 'frontdesk_llm_waiting{model="gpt-4o-mini",provider="openai"} 0.0' in text


async def test_a_half_open_probe_cut_by_the_deadline_in_the_slot_queue_is_not_stuck(
    store: SqliteStore,
) -> None:
    only = Counting("only", latency_s=0.3)
    r = router(store, [only], {"only": 1}, deadline_s=0.1, attempt_timeout_s=1.0)
    breaker = r.routes["only"].breaker
    breaker.record_failure()  # one failure opens it (consecutive_failures=1)
    breaker._opened_at -= 60  # the cooldown is over: half-open, one probe allowed
    async with r.routes["only"].slots.take(None):  # the only slot is taken meanwhile
        answer = await r.answer(ask(1))  # waits for the slot until the deadline, then offline
    assert answer.provider != "only"
    assert breaker.allow(), "the unused probe must be given back"
