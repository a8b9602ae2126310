"""Webhooks out: signed, retried after a 500 with the same event id, in order per
conversation, from the durable queue; ticket events from the desk path."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from brain.store.base import Store, TicketStatus
from channels.base import Author, BotEvent, DeskAction, DeskEvent, Role
from channels.web.customers import ref_for
from channels.web.hookqueue import HookQueue
from channels.web.webhooks import Webhooks
from tests.conftest import StoreFactory
from tests.web_bot import HookReceiver, running_bot, web_settings

SECRET = "whsec-test-0123456789"


def readme_verify() -> Callable[..., bool]:
    """The receiver's check exactly as the README shows it."""
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = re.search(r"```python\n(import hashlib.*?def verify.*?)```", text, re.DOTALL)
    assert block is not None, "the README lost its webhook verification snippet"
    scope: dict[str, Any] = {}
    exec(block.group(1), scope)
    return scope["verify"]  # type: ignore[no-any-return]


verify = readme_verify()


def events(receiver: HookReceiver) -> list[dict[str, Any]]:
    return [json.loads(body) for _, body in receiver.requests]


async def test_bot_events_are_signed_and_cover_the_ticket_life(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with HookReceiver() as receiver:
        settings = web_settings(tmp_path / "data", monkeypatch,
                                WEB__WEBHOOKS=f"{receiver.url} {SECRET}")  # fmt: skip
        async with running_bot(settings) as bot:
            conv, token = await bot.conversation()
            path = f"/api/v1/conversations/{conv}/messages?wait=10"
            await bot.call("POST", path, token, json_body={"text": "How do I return an item?"},
                           expect=200)  # fmt: skip
            await bot.call("POST", path, token, json_body={"text": "I want to talk to a person"},
                           expect=200)  # fmt: skip
            await bot.parts.dispatcher.drain()
            tickets = await bot.parts.hub.store.list_tickets([TicketStatus.ESCALATED])
            ticket_id = tickets[0].id
            alice = Author(id="alice", display_name="Alice")
            for action in (DeskAction.CLAIM, DeskAction.RESOLVE):
                feedback = await bot.parts.hub.handle(DeskEvent(
                    action, alice, desk="terminal", ticket_id=ticket_id, role=Role.AGENT,
                    event_id=f"e-{action}"))  # fmt: skip
                assert feedback.ok, feedback.text
            await bot.parts.dispatcher.drain()
            kinds = ["message.created", "message.created", "ticket.escalated", "ticket.claimed",
                     "ticket.resolved"]  # fmt: skip
            await receiver.until(lambda: len(receiver.requests) >= 8)
            # The widget shows the hand-off with the agent's name.
            handoffs = [m for m in await bot.adapter.server.ctx.store.messages(conv)
                        if m["kind"] == "handoff"]  # fmt: skip
    got = events(receiver)
    assert [e["type"] for e in got if e["type"] != "message.created"] == kinds[2:]
    # 2 answers, the claim and resolve notes, the CSAT question
    assert sum(e["type"] == "message.created" for e in got) == 5
    for headers, body in receiver.requests:
        assert verify(SECRET, headers, body)
        assert not verify("another-secret", headers, body)
        assert headers["Frontdesk-Event-Id"] == json.loads(body)["id"]
    claimed = next(e for e in got if e["type"] == "ticket.claimed")
    assert claimed["data"]["ticket"]["agent_name"] == "Alice"
    assert claimed["conversation"] == {**claimed["conversation"], "channel": "web", "id": conv}
    assert [m["text"] for m in handoffs] == ["Alice from support joined"]


async def settled(store: HookQueue, states: dict[str, int], within_s: float = 5.0) -> bool:
    """The receiver answered; the queue records it a moment later."""
    deadline = asyncio.get_running_loop().time() + within_s
    while await store.states() != states:
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def event(n: int, conversation: str = "c1") -> BotEvent:
    return BotEvent("message.created", f"ev-{conversation}-{n}", ref_for(conversation),
                    {"message": {"text": f"reply {n}"}}, datetime.now(UTC))  # fmt: skip


def queue_on(store: Store) -> HookQueue:
    """The queue on the bot's store (``store``: SQLite or a real redis-server)."""
    queue = HookQueue()
    queue.use(store)
    return queue


async def test_retried_after_a_500_in_order_and_durable(store: Store) -> None:
    async with HookReceiver() as receiver:
        receiver.fail = 2  # the first two requests get a 500
        queue = queue_on(store)
        hooks = Webhooks(queue, [(receiver.url, SECRET)], retry_s=0.05)
        for n in range(3):
            await hooks.queue(event(n))
        await hooks.queue(event(0))  # raised again after a crash: the same id is queued once
        await hooks.start()
        await receiver.until(lambda: len(receiver.requests) >= 5)
        assert await settled(queue, {"delivered": 3})
        await hooks.stop()
    ids = [h["Frontdesk-Event-Id"] for h, _ in receiver.requests]
    # The first event failed twice and was retried with the same id; the later ones waited.
    assert ids == ["ev-c1-0", "ev-c1-0", "ev-c1-0", "ev-c1-1", "ev-c1-2"]


async def test_conversations_do_not_wait_for_each_other(store: Store) -> None:
    async with HookReceiver() as receiver:
        queue = queue_on(store)
        hooks = Webhooks(queue, [(receiver.url, SECRET)], retry_s=30.0)
        receiver.fail = 1
        await hooks.queue(event(0, "c1"))
        await hooks.start()
        await receiver.until(lambda: len(receiver.requests) >= 1)  # c1 now backs off 30 s
        await hooks.queue(event(0, "c2"))
        await receiver.until(lambda: len(receiver.requests) >= 2)
        assert await settled(queue, {"delivered": 1, "pending": 1})
        await hooks.stop()


async def test_pending_events_survive_a_restart(store_factory: StoreFactory) -> None:
    async with HookReceiver() as receiver:
        before = store_factory()
        await before.open()
        await Webhooks(queue_on(before), [(receiver.url, SECRET)]).queue(event(1))
        await before.close()  # the process stops before delivering
        after = store_factory()  # the next start, or another replica
        await after.open()
        try:
            queue = queue_on(after)
            hooks = Webhooks(queue, [(receiver.url, SECRET)], retry_s=0.05)
            await hooks.start()
            await receiver.until(lambda: len(receiver.requests) >= 1)
            assert await settled(queue, {"delivered": 1})
            await hooks.stop()
        finally:
            await after.close()
    assert events(receiver)[0]["id"] == "ev-c1-1"


async def test_replicas_send_each_event_once_in_order(store_factory: StoreFactory) -> None:
    """Two replicas raise events of one conversation, both run a sender: one sends (the
    other waits for the lock), every event once, in the order they were raised."""
    async with HookReceiver() as receiver:
        stores = [store_factory(), store_factory()]
        for opened in stores:
            await opened.open()
        try:
            replicas = [Webhooks(queue_on(s), [(receiver.url, SECRET)], retry_s=0.05)
                        for s in stores]  # fmt: skip
            for hooks in replicas:
                await hooks.start()
            for n in range(6):
                await replicas[n % 2].queue(event(n))
            await receiver.until(lambda: len(receiver.requests) >= 6)
            assert await settled(replicas[0].store, {"delivered": 6})
            for hooks in replicas:
                await hooks.stop()
        finally:
            for opened in stores:
                await opened.close()
    assert [e["id"] for e in events(receiver)] == [f"ev-c1-{n}" for n in range(6)]


async def test_a_standby_asks_rarely_and_takes_over_when_the_sender_stops(
    store_factory: StoreFactory,
) -> None:
    """While one replica sends, the other asks for the sender's lease a few times (with a
    backoff), not 20 times a second; when the sender stops, the standby takes over within
    its longest backoff and sends what is raised next."""
    async with HookReceiver() as receiver:
        stores = [store_factory(), store_factory()]
        for opened in stores:
            await opened.open()
        asks = 0
        # Counted where the store is asked (the lease module's one backend try).
        locks = stores[1]._locks  # type: ignore[attr-defined]
        try_acquire = locks._try_acquire

        async def counted(*args: Any) -> bool:
            nonlocal asks
            asks += 1
            return bool(await try_acquire(*args))

        locks._try_acquire = counted
        subscriber = [(receiver.url, SECRET)]
        holder = Webhooks(queue_on(stores[0]), subscriber, retry_s=0.05)
        standby = Webhooks(queue_on(stores[1]), subscriber, retry_s=0.05, standby_s=(0.1, 0.4))
        try:
            await holder.start()
            while holder.terms == 0:  # noqa: ASYNC110 (a test waiting for a counter)
                await asyncio.sleep(0.01)
            await standby.start()
            await holder.queue(event(0))
            await receiver.until(lambda: len(receiver.requests) >= 1)
            await asyncio.sleep(1.5)
            # backoffs of 0.05-0.1, 0.1-0.2, then 0.2-0.4 s: at most 9 asks in 1.5 s (the
            # lock's own polling would have asked about 30 times)
            assert standby.terms == 0 and 3 <= asks <= 9, asks
            await holder.stop()  # releases the lease
            stopped = asyncio.get_running_loop().time()
            await standby.queue(event(1))
            await receiver.until(lambda: len(receiver.requests) >= 2, within=5.0)
            assert asyncio.get_running_loop().time() - stopped < 0.4 + 1.0  # backoff + send
            assert standby.terms == 1
        finally:
            for hooks in (holder, standby):
                await hooks.stop()
            for opened in stores:
                await opened.close()
    assert [e["id"] for e in events(receiver)] == ["ev-c1-0", "ev-c1-1"]


async def test_a_subscriber_down_for_good_does_not_block_the_rest(store: Store) -> None:
    async with HookReceiver() as receiver:
        receiver.fail = 100
        queue = queue_on(store)
        hooks = Webhooks(queue, [(receiver.url, SECRET)], max_attempts=2, retry_s=0.05)
        await hooks.queue(event(0))
        await hooks.queue(event(1))
        await hooks.start()
        await receiver.until(lambda: len(receiver.requests) >= 4)
        assert await settled(queue, {"failed": 2})
        await hooks.stop()


class BrokenSink:
    async def emit(self, event: BotEvent) -> None:
        raise RuntimeError("receiver store down")


async def test_a_failing_event_sink_never_stops_the_bot(caplog: pytest.LogCaptureFixture) -> None:
    from bot.events import Events

    class Recorder:
        def __init__(self) -> None:
            self.seen: list[str] = []

        async def emit(self, event: BotEvent) -> None:
            self.seen.append(event.event_id)

    recorder = Recorder()
    await Events([BrokenSink(), recorder]).emit(event(1))
    assert recorder.seen == ["ev-c1-1"]
    assert "could not hand event ev-c1-1" in caplog.text
