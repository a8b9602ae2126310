"""The dispatcher: exactly one reply per message, order per conversation, error boundary."""

from __future__ import annotations

import asyncio
import logging
import random
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.dispatch import DispatchConfig, Dispatcher, Responder
from brain.decision import Decision, DecisionKind
from brain.store.base import OPEN_STATUSES, Store
from channels.base import InboundMessage
from channels.fake import FakeChannel
from config.settings import PACKAGED_KNOWLEDGE_DIR
from tests.conftest import BrainFactory, StoreFactory


class EchoBrain:
    """Answers "echo: <text>" after a short random pause; fails or hangs on request."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.active: dict[str, int] = defaultdict(int)
        self.max_active_total = 0
        self.max_active_per_conversation = 0
        self._total = 0

    async def handle(self, message: InboundMessage) -> Decision:
        key = message.ref.key
        self.seen.append(message.text)
        self.active[key] += 1
        self._total += 1
        self.max_active_total = max(self.max_active_total, self._total)
        self.max_active_per_conversation = max(self.max_active_per_conversation,
                                               self.active[key])  # fmt: skip
        try:
            if message.text == "boom":
                raise RuntimeError("brain exploded")
            if message.text == "hang":
                await asyncio.sleep(3600)
            await asyncio.sleep(random.uniform(0, 0.004))
            return Decision(DecisionKind.REPLY, text=f"echo: {message.text}")
        finally:
            self.active[key] -= 1
            self._total -= 1


@asynccontextmanager
async def running(
    store: Store, brain: Responder, channel: FakeChannel, **config: object
) -> AsyncIterator[Dispatcher]:
    settings = {"consumer": "test-worker", "reclaim_idle_s": 60.0, **config}
    dispatcher = Dispatcher(store, brain, {channel.name: channel}, DispatchConfig(**settings))  # type: ignore[arg-type]
    await channel.start(dispatcher.submit)
    task = asyncio.create_task(dispatcher.run())
    try:
        yield dispatcher
    finally:
        dispatcher.stop()
        await asyncio.wait_for(task, 10)
        await channel.stop()


async def test_same_message_three_times_is_answered_once(store: Store) -> None:
    channel, brain = FakeChannel(), EchoBrain()
    async with running(store, brain, channel) as dispatcher:
        message = channel.message("where is my parcel", message_id="evt-1")
        accepted = [await channel.inject(message) for _ in range(3)]
        await dispatcher.drain()
    assert accepted == [True, False, False]
    assert channel.sent_to("c1") == ["echo: where is my parcel"]
    assert brain.seen == ["where is my parcel"]
    assert (await store.counters())["duplicates_dropped"] == 2


async def test_one_conversation_in_order_while_others_run_concurrently(store: Store) -> None:
    channel, brain = FakeChannel(), EchoBrain()
    async with running(store, brain, channel, max_concurrency=16) as dispatcher:
        sends = []
        for i in range(50):
            sends.append(channel.inject(channel.message(f"ordered {i}", conversation="main")))
            sends.append(channel.inject(channel.message(f"other {i}", conversation=f"o{i}")))
        # The platform may deliver from several connections at once.
        await asyncio.gather(*sends)
        await dispatcher.drain()
    main = channel.sent_to("main")
    assert len(main) == 50
    # Within one conversation, replies follow the order messages were queued in.
    queued = [t for t in brain.seen if t.startswith("ordered")]
    assert main == [f"echo: {t}" for t in queued]
    assert all(len(channel.sent_to(f"o{i}")) == 1 for i in range(50))
    assert brain.max_active_per_conversation == 1
    assert brain.max_active_total > 1, "different conversations should overlap"


async def test_sequential_submissions_keep_their_order(store: Store) -> None:
    channel, brain = FakeChannel(), EchoBrain()
    async with running(store, brain, channel) as dispatcher:
        for i in range(50):
            await channel.inject(channel.message(f"step {i}", conversation="main"))
        await dispatcher.drain()
    assert channel.sent_to("main") == [f"echo: step {i}" for i in range(50)]


async def test_brain_exception_gives_fallback_and_next_message_works(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    channel, brain = FakeChannel(), EchoBrain()
    async with running(store, brain, channel) as dispatcher:
        await channel.inject(channel.message("boom", message_id="bad-1"))
        await channel.inject(channel.message("hello again"))
        await dispatcher.drain()
    replies = channel.sent_to("c1")
    assert replies[0] == DispatchConfig(consumer="x").fallback_text
    assert replies[1] == "echo: hello again"
    failure = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert failure and "bad-1" in failure[0].getMessage() and "fake:-:c1" in failure[0].getMessage()
    tickets = await store.list_tickets(OPEN_STATUSES)
    assert [t.reasons for t in tickets] == [("internal_error",)]
    assert (await store.counters())["brain_errors"] == 1


async def test_brain_timeout_gives_fallback(store: Store) -> None:
    channel, brain = FakeChannel(), EchoBrain()
    async with running(store, brain, channel, handler_timeout_s=0.2) as dispatcher:
        await channel.inject(channel.message("hang"))
        await dispatcher.drain()
    assert channel.sent_to("c1") == [DispatchConfig(consumer="x").fallback_text]


async def test_abandoned_message_is_reclaimed_and_answered_once(
    store_factory: StoreFactory,
) -> None:
    crashed = store_factory()
    await crashed.open()
    channel = FakeChannel()
    message = channel.message("are you open on sunday", message_id="m-crash")
    assert await crashed.enqueue(message)
    assert len(await crashed.read_queue("dead-host", 10, 0.1)) == 1  # taken, then the host died
    await crashed.close()

    survivor, brain = store_factory(), EchoBrain()
    await survivor.open()
    async with running(survivor, brain, channel, reclaim_idle_s=0.3, consumer="live-host"):
        await channel.wait_for(lambda sent: len(sent) >= 1)
        await asyncio.sleep(0.8)  # more reclaim rounds: nothing may be sent twice
    assert channel.sent_to("c1") == ["echo: are you open on sunday"]
    assert await survivor.queue_depth() == 0
    await survivor.close()


async def test_crash_after_send_before_ack_does_not_resend(store: Store) -> None:
    channel, brain = FakeChannel(), EchoBrain()
    message = channel.message("hello", message_id="m-sent")
    await store.enqueue(message)
    entries = await store.read_queue("old-me", 10, 0.1)
    await store.outbox_put(message.idempotency_key, [])  # decided: nothing left to send
    async with running(store, brain, channel, consumer="old-me") as dispatcher:
        await dispatcher.drain()
    assert entries and channel.sent == [] and brain.seen == []
    assert await store.queue_depth() == 0


async def test_restart_under_the_same_name_resumes_at_once(store: Store) -> None:
    channel, brain = FakeChannel(), EchoBrain()
    await store.enqueue(channel.message("left behind"))
    await store.read_queue("host-1", 10, 0.1)
    async with running(store, brain, channel, consumer="host-1") as dispatcher:
        await asyncio.wait_for(dispatcher.drain(), 5)
    assert channel.sent_to("c1") == ["echo: left behind"]


async def test_transient_send_failure_is_retried(store: Store) -> None:
    channel, brain = FakeChannel(), EchoBrain()
    channel.fail_next_sends = 1
    async with running(store, brain, channel) as dispatcher:
        await channel.inject(channel.message("hi"))
        await dispatcher.drain()
    assert channel.sent_to("c1") == ["echo: hi"]


async def test_oversize_message_is_cut_for_the_brain(store: Store) -> None:
    channel, brain = FakeChannel(), EchoBrain()
    async with running(store, brain, channel, max_message_chars=100) as dispatcher:
        await channel.inject(channel.message("x" * 5000))
        await dispatcher.drain()
    assert brain.seen == ["x" * 100]
    assert (await store.counters())["oversize_messages"] == 1


async def test_brain_answers_from_the_knowledge_base(
    store: Store, make_brain: BrainFactory
) -> None:
    channel = FakeChannel()
    brain = make_brain(store)
    async with running(store, brain, channel) as dispatcher:
        await channel.inject(channel.message("How do I retrun an item?", conversation="a"))
        await channel.inject(channel.message("what is the meaning of life", conversation="b"))
        await dispatcher.drain()
        await channel.inject(channel.message("hello? anyone?", conversation="b"))
        await dispatcher.drain()
    assert "30 days" in channel.sent_to("a")[0]
    handoff, note = channel.sent_to("b")
    assert "teammate" in handoff and "still with the team" in note
    tickets = await store.list_tickets(OPEN_STATUSES)
    assert [t.reasons for t in tickets] == [("out_of_scope",)]
    conversation = await store.get_conversation(tickets[0].ref.key)
    assert conversation is not None
    # The follow-up is kept for the teammate; the customer is told it is still with the team.
    assert [t.role for t in conversation.turns] == ["customer", "bot", "customer", "bot"]


def test_packaged_knowledge_dir_exists() -> None:
    assert Path(PACKAGED_KNOWLEDGE_DIR, "return-an-item.md").is_file()


class HangsOnce:
    """A store whose first queue read never answers (a hung Redis node): the rest is real."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.reads = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)

    async def read_queue(self, *args: object, **kwargs: object) -> object:
        self.reads += 1
        if self.reads == 1:
            await asyncio.Event().wait()
        return await self._store.read_queue(*args, **kwargs)  # type: ignore[arg-type]


async def test_a_read_that_never_answers_is_cut_off_and_reading_goes_on(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.dispatch.reader.READ_DEADLINE_S", 0.3)
    hanging = HangsOnce(store)
    channel, brain = FakeChannel(), EchoBrain()
    async with running(hanging, brain, channel) as dispatcher:  # type: ignore[arg-type]
        await channel.inject(channel.message("where is my parcel", message_id="evt-1"))
        await channel.wait_for(lambda sent: len(sent) == 1, within=10)
        await dispatcher.drain()
    assert hanging.reads > 1
    assert [m.text for m in channel.sent] == ["echo: where is my parcel"]
