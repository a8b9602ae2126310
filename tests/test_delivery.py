"""Delivery: never forever, never out of order, never twice (issue 9).

Dead letters after N failed delivery attempts, a lane that holds its head, per-part progress
of multi-part replies, durable relays that hold no worker slot.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace

from bot.desk_hub import DeskHub
from bot.dispatch import DispatchConfig, Dispatcher
from brain.conversation import Ownership
from brain.decision import Decision, DecisionKind
from brain.store.base import OPEN_STATUSES, Store, TicketPatch
from channels.base import Author, InboundMessage, OutboundMessage
from channels.fake import FakeChannel, FakeDesk
from config.errors import ChannelError, StoreError

SLA = {"urgent": 5, "high": 15, "normal": 60, "low": 240}


class Echo:
    """Replies "echo: <text>"; texts starting with "relay " are relayed to ``ticket_id``."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.ticket_id: str | None = None

    async def handle(self, message: InboundMessage) -> Decision:
        self.seen.append(message.text)
        if message.text.startswith("relay ") and self.ticket_id:
            return Decision(DecisionKind.RELAY, ticket_id=self.ticket_id)
        return Decision(DecisionKind.REPLY, text=f"echo: {message.text}")


class BrokenChannel(FakeChannel):
    """A channel whose sends fail (transiently, as far as it can tell) until ``healed``."""

    def __init__(self) -> None:
        super().__init__()
        self.attempts = 0
        self.healed = False

    async def send(self, message: OutboundMessage) -> None:
        self.attempts += 1
        if not self.healed:
            raise ChannelError("fake: the platform is down")
        await super().send(message)


class FlakyChannel(FakeChannel):
    """Fails the first ``failures`` sends of replies that contain ``word``."""

    def __init__(self, word: str, failures: int) -> None:
        super().__init__()
        self.word, self.failures = word, failures

    async def send(self, message: OutboundMessage) -> None:
        if self.word in message.text and self.failures > 0:
            self.failures -= 1
            raise ChannelError("fake: this one failed")
        await super().send(message)


class PartedChannel(FakeChannel):
    """A platform with a 10-character limit that, like Slack today, also splits inside
    ``send``; its second part fails once."""

    limit = 10

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def split(self, message: OutboundMessage) -> list[OutboundMessage]:
        text = message.text
        chunks = [text[i : i + self.limit] for i in range(0, len(text), self.limit)]
        return [replace(message, text=chunk) for chunk in chunks]

    async def send(self, message: OutboundMessage) -> None:
        for part in self.split(message):
            self.calls += 1
            if self.calls == 2:
                raise ChannelError("fake: the second part failed")
            await super().send(part)


class SlowDesk(FakeDesk):
    """Relays wait until ``open`` is set (a desk channel's posting pace); then the first
    fails."""

    def __init__(self) -> None:
        super().__init__()
        self.open = asyncio.Event()
        self.relay_calls = 0

    async def relay(self, desk_ref: str, author: Author, text: str) -> None:
        self.relay_calls += 1
        await self.open.wait()
        if self.relay_calls == 1:
            raise ChannelError("fakedesk: relay failed")
        await super().relay(desk_ref, author, text)


async def claimed(store: Store, channel: FakeChannel, desk: FakeDesk, brain: Echo) -> None:
    """Conversation "claimed" has a ticket whose card is "card-9" on ``desk``; ``brain``
    relays "relay ..." messages to it."""
    first = channel.message("hello", conversation="claimed")
    ticket, _ = await store.open_ticket(first.ref, first.author, ["human_requested"], "x")
    await store.annotate_ticket(ticket.id, TicketPatch(desk_ref=(desk.name, "card-9")))
    brain.ticket_id = ticket.id


@asynccontextmanager
async def running(
    store: Store, brain: Echo, channel: FakeChannel, desk: FakeDesk | None = None,
    **config: object,
) -> AsyncIterator[tuple[Dispatcher, DeskHub]]:  # fmt: skip
    desk = desk or FakeDesk()
    hub = DeskHub(store, [desk], Ownership(store, "note:"), SLA)
    settings = {"consumer": "w1", "reclaim_idle_s": 0.2, "retry_backoff_s": 0.01, **config}
    dispatcher = Dispatcher(store, brain, {channel.name: channel},
                            DispatchConfig(**settings), hub)  # type: ignore[arg-type]  # fmt: skip
    await channel.start(dispatcher.submit)
    await desk.start(hub.handle)
    task = asyncio.create_task(dispatcher.run())
    try:
        yield dispatcher, hub
    finally:
        dispatcher.stop()
        await asyncio.wait_for(task, 10)
        await channel.stop()


async def test_an_undeliverable_reply_is_dead_lettered_once(store: Store) -> None:
    channel, desk = BrokenChannel(), FakeDesk()
    async with running(store, Echo(), channel, desk, max_send_failures=3,
                       send_attempts=1) as (dispatcher, _):  # fmt: skip
        await channel.inject(channel.message("where is my parcel"))
        await asyncio.wait_for(dispatcher.drain(), 5)
        await asyncio.sleep(0.5)  # reclaim rounds: a dead letter is never retried
    assert channel.attempts == 3 and channel.sent == []
    assert await store.queue_depth() == 0
    tickets = await store.list_tickets(OPEN_STATUSES)
    assert len(tickets) == 1 and "undeliverable" in tickets[0].reasons
    assert len(desk.alerts) == 1 and tickets[0].id in desk.alerts[0]
    assert (await store.counters())["messages_dead_lettered"] == 1


async def test_a_dead_letter_on_a_ticket_says_so_on_that_ticket(store: Store) -> None:
    channel, desk = BrokenChannel(), FakeDesk()
    message = channel.message("still waiting")
    ticket, _ = await store.open_ticket(message.ref, message.author, ["human_requested"], "x")
    async with running(store, Echo(), channel, desk, max_send_failures=2,
                       send_attempts=1) as (dispatcher, _):  # fmt: skip
        await channel.inject(message)
        await asyncio.wait_for(dispatcher.drain(), 5)
    tickets = await store.list_tickets(OPEN_STATUSES)
    assert [t.id for t in tickets] == [ticket.id]
    assert tickets[0].reasons == ("human_requested", "undeliverable")
    assert len(desk.alerts) == 1


async def test_a_lane_holds_its_head(store: Store) -> None:
    channel = FlakyChannel("first", failures=2)
    async with running(store, Echo(), channel, send_attempts=1) as (dispatcher, _):
        await channel.inject(channel.message("first"))
        await channel.inject(channel.message("second"))
        await asyncio.wait_for(dispatcher.drain(), 5)
    assert channel.sent_to("c1") == ["echo: first", "echo: second"]


async def test_a_retry_resumes_at_the_part_that_failed(store: Store) -> None:
    channel = PartedChannel()
    async with running(store, Echo(), channel, send_attempts=1) as (dispatcher, _):
        await channel.inject(channel.message("abcdefghijklmnopqrstuvwxyz"))
        await asyncio.wait_for(dispatcher.drain(), 5)
    # "echo: abcdefghijklmnopqrstuvwxyz" in parts of 10, each sent exactly once
    assert channel.sent_to("c1") == ["echo: abcd", "efghijklmn", "opqrstuvwx", "yz"]


async def test_a_relay_is_durable_and_holds_no_worker_slot(store: Store) -> None:
    channel, desk, brain = FakeChannel(), SlowDesk(), Echo()
    await claimed(store, channel, desk, brain)
    async with running(store, brain, channel, desk, max_concurrency=1) as (dispatcher, _):
        await channel.inject(channel.message("relay it's order 12345", conversation="claimed"))
        # The relay waits on the desk's pace: another customer is answered meanwhile.
        await channel.inject(channel.message("hi", conversation="other"))
        await channel.wait_for(lambda sent: len(sent) == 1, within=3)
        assert desk.relays == []
        desk.open.set()
        await asyncio.wait_for(dispatcher.drain(), 5)
    assert channel.sent_to("other") == ["echo: hi"]
    assert desk.relays == [("card-9", "relay it's order 12345")]  # after one failure, once
    assert desk.relay_calls == 2


def fail_first(
    store: Store, method: str, times: int,
    when: Callable[[dict[str, object]], bool] = lambda kwargs: True,
) -> list[int]:  # fmt: skip
    """``store.<method>`` raises StoreError on its first ``times`` calls (the store went down
    between a send and its bookkeeping) whose keyword arguments pass ``when``; returns the
    list those calls are counted in."""
    real = getattr(store, method)
    calls: list[int] = []

    async def failing(*args: object, **kwargs: object) -> object:
        if not when(kwargs):
            return await real(*args, **kwargs)
        calls.append(1)
        if len(calls) <= times:
            raise StoreError(f"fake: {method} failed")
        return await real(*args, **kwargs)

    setattr(store, method, failing)
    return calls


async def test_a_reply_whose_ack_failed_is_not_sent_again(store: Store) -> None:
    """The send went out and the store failed before recording it, twice: the lane's retries
    record it; the customer gets the reply once and the counters count it once."""
    channel = FakeChannel()
    calls = fail_first(store, "finish", 2)
    async with running(store, Echo(), channel) as (dispatcher, _):
        await channel.inject(channel.message("where is my parcel"))
        await asyncio.wait_for(dispatcher.drain(), 5)
    assert channel.sent_to("c1") == ["echo: where is my parcel"]
    assert len(calls) == 3 and await store.queue_depth() == 0
    assert (await store.counters())["messages_sent"] == 1


async def test_a_part_whose_progress_failed_to_record_is_not_sent_again(store: Store) -> None:
    channel = PartedChannel()
    channel.calls = 10  # no part fails to send here: recording the first part's progress does
    calls = fail_first(store, "outbox_mark_sent", 1)
    async with running(store, Echo(), channel, send_attempts=1) as (dispatcher, _):
        await channel.inject(channel.message("abcdefghijklmnopqrstuvwxyz"))
        await asyncio.wait_for(dispatcher.drain(), 5)
    assert channel.sent_to("c1") == ["echo: abcd", "efghijklmn", "opqrstuvwx", "yz"]
    assert len(calls) == 4  # the failed one, its retry, then one after each later part


async def test_a_relay_whose_ack_failed_is_not_shown_twice(store: Store) -> None:
    channel, desk, brain = FakeChannel(), FakeDesk(), Echo()
    await claimed(store, channel, desk, brain)
    # A relay is finished without naming a conversation (its lock is the ticket's).
    calls = fail_first(store, "finish", 2, lambda kwargs: "conversation" not in kwargs)
    async with running(store, brain, channel, desk) as (dispatcher, _):
        await channel.inject(channel.message("relay it's order 12345", conversation="claimed"))
        await asyncio.wait_for(dispatcher.drain(), 5)
    assert desk.relays == [("card-9", "relay it's order 12345")]
    assert len(calls) == 3 and await store.queue_depth() == 0
