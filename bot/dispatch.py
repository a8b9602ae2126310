"""The single path every customer message takes.

    channel -> submit(): durable enqueue + duplicate drop -> (platform may be acked now)
    run(): read queue -> per-conversation lane (in order) -> conversation lock (across
    processes) -> outbox already has replies? deliver them : brain -> outbox -> deliver -> ack

Different conversations run concurrently up to ``max_concurrency``. An exception or timeout in
the brain is caught per message: it is logged with the conversation and message ids, a ticket is
opened and the customer gets a polite fallback. Entries a dead process left unacked are
reclaimed after ``reclaim_idle_s``; the outbox guarantees a reclaimed message is never answered
a second time once its reply was delivered.

A lane holds its head: while a conversation's message is neither delivered nor dead-lettered
(``bot/delivery.py``), the lane retries it with backoff and the next message waits. Relays
of customers' follow-ups to a ticket's thread run in a lane of their own per ticket and take
no worker slot, so a desk's posting pace never holds up answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

from bot.delivery import Delivery
from bot.desk_hub import DeskHub
from bot.events import Events
from bot.flow import (
    BUSY_PAUSE_S,
    MIN_PREFETCH,
    READ_BATCH,
    SLOW_DOWN_QUIET_S,
    SLOW_DOWN_TEXT,
    Outage,
    Throttled,
    cpu_saturated,
    join_burst,
    read_linger,
)
from bot.observability import bind_message, unbind_message
from bot.observer import Observer
from brain.decision import Decision, DecisionKind
from brain.store.base import OutboxRecord, QueueEntry, Store, TurnContext, TurnStart
from brain.store.lease import Lease
from brain.store.state import SharedState
from channels.base import (
    CardRefresh,
    Channel,
    DeskRelay,
    InboundMessage,
    OutboundMessage,
    QueueItem,
)
from config.errors import FrontdeskError, StoreError
from config.settings import FALLBACK_TEXT

logger = logging.getLogger(__name__)

SIDE_TASK_GRACE_S = 10.0
MAX_OLDER = 1000


class Responder(Protocol):
    async def handle(self, message: InboundMessage) -> Decision: ...


@runtime_checkable
class Drafter(Protocol):
    """A responder (``Brain``) whose first store step the dispatcher does with the
    conversation's lock (``turn_start``), and that leaves its own reply's turns to the
    dispatcher, which writes them with the outbox record: two store steps fewer."""

    def turn_start(self, message: InboundMessage, entry_id: str) -> TurnStart: ...

    async def decide(
        self, message: InboundMessage, context: TurnContext | None = None
    ) -> Decision: ...


@dataclass(frozen=True, slots=True)
class DispatchConfig:
    consumer: str
    max_concurrency: int = 1000
    max_in_flight: int = 2000
    handler_timeout_s: float = 60.0
    reclaim_idle_s: float = 60.0
    max_message_chars: int = 4000
    max_deliveries: int = 5
    send_attempts: int = 3
    max_send_failures: int = 5
    retry_backoff_s: float = 1.0
    max_retry_backoff_s: float = 30.0
    customer_rate_per_s: float | None = None  # None: no per-customer limit
    customer_burst: int = 10
    rate_channels: frozenset[str] | None = None  # None: every channel
    coalesce_s: Mapping[str, float] = field(default_factory=dict)  # channel -> window
    fallback_text: str = FALLBACK_TEXT


class Dispatcher:
    def __init__(
        self,
        store: Store,
        brain: Responder,
        channels: Mapping[str, Channel],
        config: DispatchConfig,
        hub: DeskHub | None = None,
        events: Events | None = None,
        observer: Observer | None = None,
    ) -> None:
        self.store = store
        self.events = events or Events()
        self.observer = observer or Observer()
        self.brain = brain
        self.channels = dict(channels)
        self.config = config
        self.hub = hub
        self.state = SharedState(store)
        self.delivery = Delivery(store, self.channels, hub, self._spawn, self.events,
                                 observer=self.observer, owner=config.consumer,
                                 send_attempts=config.send_attempts,
                                 max_send_failures=config.max_send_failures)  # fmt: skip
        self._lanes: dict[str, deque[QueueEntry]] = {}
        self._lane_tasks: set[asyncio.Task[None]] = set()
        self._in_flight: set[str] = set()
        self._slots = asyncio.Semaphore(config.max_concurrency)
        self._room = asyncio.Condition()
        self._stopping = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._locking: set[asyncio.Task[Any]] = set()
        self._busy: set[str] = set()  # lanes whose head is being handled (lock taken)
        self._arrived: dict[str, float] = {}  # entry id -> when this process took it

    # -- the channel side --------------------------------------------------------------------
    async def submit(self, message: InboundMessage) -> bool:
        """Durably queue ``message``; False (and counted) if it is a duplicate delivery."""
        context = bind_message(message.ref.key, message.message_id)
        try:
            if await self.store.enqueue(message):
                self.observer.received(message)
                return True
            logger.info("dropped duplicate %s in %s", message.message_id, message.ref.key)
            self.observer.duplicate()
            await self.store.incr("duplicates_dropped")
            return False
        finally:
            unbind_message(context)

    # -- the worker side ---------------------------------------------------------------------
    async def run(self) -> None:
        """Consume the queue until ``stop()``; then finish the messages already taken."""
        await self._resume_own()
        reclaimer = asyncio.create_task(self._reclaim_loop())
        try:
            await self._read_loop()
        finally:
            reclaimer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reclaimer
            if self._lane_tasks:
                await asyncio.gather(*self._lane_tasks, return_exceptions=True)
            if self._side_tasks:
                await asyncio.wait(self._side_tasks, timeout=SIDE_TASK_GRACE_S)

    def stop(self) -> None:
        self._stopping.set()
        for task in list(self._locking):  # still waiting for a lock: nothing done yet
            task.cancel()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_done)

    def _side_done(self, task: asyncio.Task[None]) -> None:
        self._side_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("desk work failed", exc_info=task.exception())

    async def drain(self, poll_s: float = 0.02) -> None:
        """Wait until every queued message has been handled (used by piped stdin and tests)."""
        while True:
            await self._idle.wait()
            if self._side_tasks:
                await asyncio.wait(self._side_tasks)
            if await self.store.queue_depth() == 0 and self._idle.is_set():
                return
            await asyncio.sleep(poll_s)

    async def _read_loop(self) -> None:
        # Back-pressure: above the high-water mark nothing more is read (nothing is dropped:
        # the rest waits in the queue).
        capacity = self.config.max_in_flight
        outage = Outage("reading the inbound queue")
        while not self._stopping.is_set():
            async with self._room:
                await self._room.wait_for(lambda: len(self._in_flight) < capacity)
                room = capacity - len(self._in_flight)
            waiting = len(self._lanes) - len(self._busy)  # lanes whose head has not started
            if len(self._in_flight) >= MIN_PREFETCH and (
                waiting >= READ_BATCH or await cpu_saturated()
            ):
                # The loop is busy computing (classification, retrieval), not waiting: what
                # this process cannot start soon is better left to another replica.
                await asyncio.sleep(BUSY_PAUSE_S)
                continue
            try:
                count = min(room, READ_BATCH)
                entries = await self.store.read_queue(self.config.consumer, count, block_s=0.2)
            except FrontdeskError as err:
                await outage.failed(err, self._stopping)
                continue
            outage.ok()
            self._route(entries)
            linger = read_linger(len(entries), count, len(self._in_flight))
            if linger:
                await asyncio.sleep(linger)

    async def _resume_own(self) -> None:
        """Before reading anything new: this consumer's own unfinished entries (a restart
        under the same name), at once, in queue order."""
        outage = Outage("resuming unfinished queue entries")
        own = self.config.consumer
        while not self._stopping.is_set():
            try:
                entries = await self.store.reclaim(own, 0, 1000, from_consumer=own)
            except FrontdeskError as err:
                await outage.failed(err, self._stopping)
                continue
            outage.ok()
            if entries:
                logger.warning("resuming %d unfinished messages from before a restart",
                               len(entries))  # fmt: skip
            self._route(entries)
            return

    async def _reclaim_loop(self) -> None:
        """Every half idle period: entries a stopped worker left."""
        outage = Outage("reclaiming unfinished queue entries")
        interval = max(self.config.reclaim_idle_s / 2, 0.05)
        while not self._stopping.is_set():
            await asyncio.sleep(interval)
            try:
                entries = await self.store.reclaim(
                    self.config.consumer, self.config.reclaim_idle_s, 100
                )
            except FrontdeskError as err:
                await outage.failed(err, self._stopping)
                continue
            outage.ok()
            if entries:
                logger.warning("reclaimed %d messages a stopped worker left", len(entries))
            self._route(entries)

    def _route(self, entries: Sequence[QueueEntry]) -> None:
        for entry in entries:
            if entry.entry_id in self._in_flight:
                continue  # our own slow message, reclaimed from ourselves: already queued
            self._in_flight.add(entry.entry_id)
            self._arrived[entry.entry_id] = time.monotonic()
            self._idle.clear()
            key = _lane_of(entry.message)
            lane = self._lanes.get(key)
            if lane is not None:
                lane.append(entry)
                continue
            self._lanes[key] = deque([entry])
            task = asyncio.create_task(self._run_lane(key), name=f"lane:{key}")
            self._lane_tasks.add(task)
            task.add_done_callback(self._lane_tasks.discard)

    async def _run_lane(self, key: str) -> None:
        """Handle a lane's entries in order. The head stays the head until it is done
        (delivered, or given up as a dead letter): the next message of the conversation is
        not answered before it. On stop, unfinished entries stay queued for the next start."""
        lane = self._lanes[key]
        failures = 0
        try:
            while lane and not (failures and self._stopping.is_set()):
                entry = lane[0]
                companions = await self._burst(lane) if failures == 0 else []
                attempted = await self._attempt(entry, key, failures, companions)
                self._busy.discard(key)
                if attempted is None:  # throttled: waited for the customer's next token
                    continue
                if not attempted:
                    failures += 1
                    await self._backoff(failures)
                    continue
                failures = 0
                for done in [entry, *companions]:  # companions come right after the head
                    lane.remove(done)
                    await self._release(done)
        finally:
            for left in lane:
                await self._release(left)
            del self._lanes[key]
            if not self._lanes:
                self._idle.set()

    async def _burst(self, lane: deque[QueueEntry]) -> list[QueueEntry]:
        """The messages right after the lane's head that the same customer sent within the
        channel's window of the one before, once the window after the last has passed (so a
        burst is answered as one question). Nothing is held meanwhile: no lock, no slot."""
        head = lane[0].message
        if not isinstance(head, InboundMessage) or lane[0].deliveries > 1 or head.rating:
            return []  # a button press is an answer of its own, never part of a question
        window = self.config.coalesce_s.get(head.ref.channel, 0.0)
        if window <= 0:
            return []
        while True:
            burst: list[QueueEntry] = []
            last = head
            for entry in list(lane)[1:]:
                item = entry.message
                if (
                    not isinstance(item, InboundMessage)
                    or entry.deliveries > 1
                    or item.rating is not None
                    or item.author.id != head.author.id
                    or (item.received_at - last.received_at).total_seconds() > window
                ):
                    break  # fmt: skip
                burst.append(entry)
                last = item
            # Gaps by the platform's timestamps, the wait by when this process got the last
            # one (a platform's clock, or a test's, may be anywhere).
            newest = burst[-1] if burst else lane[0]
            wait_s = self._arrived.get(newest.entry_id, 0.0) + window - time.monotonic()
            if wait_s <= 0 or self._stopping.is_set():
                return burst
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), wait_s)

    async def _attempt(
        self, entry: QueueEntry, key: str, tries: int, companions: Sequence[QueueEntry] = ()
    ) -> bool | None:
        """One try at ``entry``; False if it must be tried again (it stays unacked), None if
        the customer is over their rate (it waited for their next token; try again)."""
        try:
            if isinstance(entry.message, DeskRelay):
                return await self.delivery.relay(entry)  # no worker slot: it waits on desks
            await self._process(entry, tries, companions)
            return True
        except Throttled as throttled:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), throttled.wait_s)
            return None
        except FrontdeskError as err:  # the store or a channel is down: retried with backoff
            logger.warning("could not finish queue entry %s in %s (%s); retrying",
                           entry.entry_id, key, err)  # fmt: skip
        except Exception:
            logger.exception("could not finish queue entry %s in %s; retrying",
                             entry.entry_id, key)  # fmt: skip
        return False

    async def _backoff(self, failures: int) -> None:
        delay = min(self.config.retry_backoff_s * 2 ** (failures - 1),
                    self.config.max_retry_backoff_s)  # fmt: skip
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), delay)

    async def _release(self, entry: QueueEntry) -> None:
        async with self._room:
            self._in_flight.discard(entry.entry_id)
            self._arrived.pop(entry.entry_id, None)
            self._room.notify_all()

    async def _process(
        self, entry: QueueEntry, tries: int, companions: Sequence[QueueEntry] = ()
    ) -> None:
        item = entry.message
        me = asyncio.current_task()
        if me is not None:
            self._locking.add(me)  # cancelled on stop: nothing was done yet
        try:
            # Waiting for the lock (a dead process's lease runs out) holds no worker slot.
            start = self._turn_start(entry, tries, companions)
            lock = self.store.lock_conversation(item.ref.key, self.config.consumer, start)
            async with lock as held:
                self._locking.discard(me)
                self._busy.add(_lane_of(item))
                async with self._slots:
                    await self._handle(entry, held.lease, held.head, tries, companions,
                                       held.context)  # fmt: skip
        finally:
            self._locking.discard(me)

    def _turn_start(
        self, entry: QueueEntry, tries: int, companions: Sequence[QueueEntry]
    ) -> TurnStart | None:
        """The brain's first store step, to be done with the lock: only for a message the
        brain will surely see as it is (a first try, no burst joined to it)."""
        item = entry.message
        first = isinstance(item, InboundMessage) and entry.deliveries == 1 and tries == 0
        if not first or companions or not isinstance(self.brain, Drafter):
            return None
        assert isinstance(item, InboundMessage)
        return self.brain.turn_start(self._cut(item), entry.entry_id)

    def _cut(self, message: InboundMessage) -> InboundMessage:
        """What the brain sees of an oversize message: its first ``max_message_chars``."""
        if len(message.text) <= self.config.max_message_chars:
            return message
        return replace(message, text=message.text[: self.config.max_message_chars])

    async def _handle(
        self, entry: QueueEntry, lease: Lease, head: QueueEntry | None, tries: int,
        companions: Sequence[QueueEntry] = (), context: TurnContext | None = None,
    ) -> None:  # fmt: skip
        """Under the conversation's lock: first any older unfinished entry of the conversation
        (another replica may have read it and not finished it yet), then ``entry``. Replies
        thus keep the queue's order across replicas; the outbox makes the other replica's
        later attempt at the same entry a no-op. ``head`` was read with the lock."""
        conversation = entry.message.ref.key
        for older in range(MAX_OLDER):
            if older:
                head = await self.store.head_of(conversation)
            if head is None or head.entry_id == entry.entry_id:
                # None: finished by someone else meanwhile (or queued before this index
                # existed); the outbox tells which, so look at it.
                await self._handle_one(entry, lease, tries if head else 1, True, companions,
                                       context if head else None)  # fmt: skip
                return
            logger.info("answering %s in %s first: it came before %s", head.entry_id,
                        conversation, entry.entry_id)  # fmt: skip
            await self._handle_one(head, lease, 1, False)
        raise StoreError(f"more than {MAX_OLDER} older entries in {conversation}; retrying")

    async def _handle_one(
        self, entry: QueueEntry, lease: Lease, tries: int, release: bool,
        companions: Sequence[QueueEntry] = (), context: TurnContext | None = None,
    ) -> None:  # fmt: skip
        """Decide (once) and deliver one entry. Besides its enqueue and a share of a batched
        read, a new message costs three store round trips: the lock (with the head and the
        brain's context, ``_turn_start``), its decision with its counter and the bot's turn,
        then progress, counters, ack and unlock in one step."""
        item = entry.message
        conversation = item.ref.key
        bind_message(conversation, item.idempotency_key)  # this lane's task: its log lines
        if isinstance(item, CardRefresh):  # a desk action taken outside this process
            if self.hub is not None:
                await self.hub.refresh(item)
            await self.store.finish(entry.entry_id, lease=lease, conversation=conversation,
                                    release=release)  # fmt: skip
            return
        key = item.idempotency_key
        # A first delivery's first try cannot have an outbox record yet: no need to look.
        first = isinstance(item, InboundMessage) and entry.deliveries == 1 and tries == 0
        record = None if first else await self.store.outbox_get(key)
        if record is not None:
            logger.info("%s already decided; resuming delivery", key)
        elif isinstance(item, OutboundMessage):  # a human's message, queued for delivery
            record = await self.store.outbox_put(key, self.delivery.parts([item]), lease=lease)
        else:
            assert isinstance(item, InboundMessage)
            await self._within_rate(item)
            asked = join_burst(item, companions)
            decision = await self._decide(asked, entry.deliveries, context)
            lease.check()
            # Agents hear of it before the outbox records the decision: after a crash in
            # between, a page may repeat, but is never lost (a relay is queued once).
            await self._tell_desks(item, decision)
            outbound = self.delivery.parts(_replies(item, decision))
            decision, record = await self._record(item, decision, outbound, lease)
            await self.observer.decided(item, decision)
            for joined in companions:  # answered with the head: nothing of their own to send
                await self.store.outbox_put(joined.message.idempotency_key, [],
                                            {"messages_coalesced": 1.0}, lease)  # fmt: skip
        progress = await self.delivery.deliver(item, record, lease)
        sent = (key, progress.sent) if progress.sent is not None else None
        for joined in companions:
            await self.store.finish(joined.entry_id, lease=lease, conversation=conversation,
                                    release=False)  # fmt: skip
        await self.store.finish(entry.entry_id, lease=lease, outbox=sent,
                                counters=progress.counters, conversation=conversation,
                                release=release)  # fmt: skip

    async def _record(
        self, item: InboundMessage, decision: Decision, outbound: list[OutboundMessage],
        lease: Lease,
    ) -> tuple[Decision, OutboxRecord]:  # fmt: skip
        """The outbox record of a decision (with the bot's turns, if it left them to us)."""
        key = item.idempotency_key
        counted = {f"decisions_{decision.kind.value}": 1.0}
        if decision.remember:
            record = await self.store.outbox_put_reply(
                key, outbound, counted, lease, item.ref, decision.remember
            )
            if record is not None:
                return decision, record
            # A human took the conversation while the bot drafted: the draft is dropped.
            decision = Decision(DecisionKind.RELAY, ticket_id=None, intent=decision.intent)
            counted = {f"decisions_{decision.kind.value}": 1.0}
            outbound = []
        return decision, await self.store.outbox_put(key, outbound, counted, lease)

    async def _within_rate(self, message: InboundMessage) -> None:
        """Per-customer token bucket (in the store, so it holds across replicas). Over it the
        customer is asked once to slow down and the message waits (``Throttled``)."""
        rate, limited = self.config.customer_rate_per_s, self.config.rate_channels
        if rate is None or (limited is not None and message.ref.channel not in limited):
            return  # e.g. the terminal: the operator's own console
        bucket = f"{message.ref.channel}:{message.ref.workspace_id or '-'}:{message.author.id}"
        wait_s = await self.store.take_token(bucket, rate, self.config.customer_burst)
        if wait_s <= 0:
            return
        await self.store.incr("customers_throttled")
        if await self.state.first_slow_down(bucket, SLOW_DOWN_QUIET_S):
            slow_down = OutboundMessage(ref=message.ref, text=SLOW_DOWN_TEXT,
                                        in_reply_to=message.message_id)  # fmt: skip
            try:
                await self.delivery.send_now(slow_down)
            except FrontdeskError as err:
                logger.warning("could not ask %s to slow down: %s", message.ref.key, err)
        raise Throttled(wait_s)

    async def _decide(
        self, message: InboundMessage, deliveries: int, context: TurnContext | None = None
    ) -> Decision:
        if deliveries > self.config.max_deliveries:
            logger.error(
                "message %s in %s failed %d times; answering with the fallback",
                message.message_id, message.ref.key, deliveries - 1,
            )  # fmt: skip
            return await self._fallback(message, "repeated_failure")
        if len(message.text) > self.config.max_message_chars:
            logger.warning(
                "message %s in %s has %d characters; the brain sees the first %d",
                message.message_id, message.ref.key, len(message.text),
                self.config.max_message_chars,
            )  # fmt: skip
            await self.store.incr("oversize_messages")
            message = self._cut(message)
        try:
            brain = self.brain
            if isinstance(brain, Drafter):
                work = brain.decide(message, context)
            else:
                work = brain.handle(message)
            return await asyncio.wait_for(work, self.config.handler_timeout_s)
        except Exception:
            logger.exception(
                "brain failed on message %s in conversation %s",
                message.message_id, message.ref.key,
            )  # fmt: skip
            await self.store.incr("brain_errors")
            return await self._fallback(message, "internal_error")

    async def _fallback(self, message: InboundMessage, reason: str) -> Decision:
        """Polite reply plus a ticket, so a human really is notified as the text promises."""
        ticket_id = None
        try:
            ticket, _ = await self.store.open_ticket(
                message.ref, message.author, [reason], message.text[:200]
            )
            ticket_id = ticket.id
        except FrontdeskError:
            logger.exception("could not open a ticket for %s", message.ref.key)
        return Decision(
            DecisionKind.ESCALATE, text=self.config.fallback_text, ticket_id=ticket_id,
            reasons=(reason,),
        )  # fmt: skip

    async def _tell_desks(self, message: InboundMessage, decision: Decision) -> None:
        if self.hub is None:
            return
        if decision.card is not None:
            # Paging may wait on the desk channel's posting pace: never hold the
            # conversation (or a worker slot) for it. A page lost here is retried by the
            # SLA job, which pages every open ticket that has no card.
            self._spawn(self.hub.page(decision.card))
        elif decision.thread and decision.ticket_id:
            # An unclaimed ticket's customer got an answer: agents see both in the thread.
            # Queued like any relay (one per line, in order in the ticket's lane).
            for number, (author, text) in enumerate(decision.thread):
                source = f"{message.idempotency_key}:{number}"
                relay = DeskRelay(message.ref, decision.ticket_id, author, text, source)
                await self.store.enqueue(relay)
        elif decision.kind is DecisionKind.RELAY and decision.ticket_id:
            # Queued, so a desk outage loses nothing; delivered outside any worker slot.
            relay = DeskRelay(message.ref, decision.ticket_id, message.author, message.text,
                              message.idempotency_key)  # fmt: skip
            await self.store.enqueue(relay)


def _lane_of(item: QueueItem) -> str:
    """Relays keep their order per ticket in a lane of their own, beside the conversation."""
    if isinstance(item, DeskRelay):
        return f"relay:{item.ticket_id}"
    return item.ref.key


def _replies(message: InboundMessage, decision: Decision) -> list[OutboundMessage]:
    if not decision.text:
        return []
    return [
        OutboundMessage(
            ref=message.ref,
            text=decision.text,
            in_reply_to=message.message_id,
            category=decision.category,
            rating=decision.rating,
        )
    ]
