"""The single path every customer message takes.

    channel -> submit(): durable enqueue + duplicate drop -> (platform may be acked now)
    run(): read queue -> per-conversation lane (in order) -> conversation lock (across
    processes) -> outbox already has replies? deliver them : brain -> outbox -> deliver -> ack

Different conversations run concurrently up to ``max_concurrency``. An exception or timeout in
the brain is caught per message: it is logged with the conversation and message ids, a ticket is
opened and the customer gets a polite fallback. Entries a dead process left unacked are
reclaimed after ``reclaim_idle_s``; the outbox guarantees a reclaimed message is never answered
a second time once its reply was delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from bot.desk_hub import DeskHub
from bot.events import Events
from bot.observability import bind_message, unbind_message
from bot.observer import Observer
from brain.decision import Decision, DecisionKind
from brain.store.base import OutboxRecord, QueueEntry, Store
from channels.base import CardRefresh, Channel, InboundMessage, OutboundMessage, QueueItem
from config.errors import ChannelError, DeliveryRefused, FrontdeskError
from config.settings import FALLBACK_TEXT

logger = logging.getLogger(__name__)

SIDE_TASK_GRACE_S = 10.0


class Responder(Protocol):
    async def handle(self, message: InboundMessage) -> Decision: ...


@dataclass(frozen=True, slots=True)
class DispatchConfig:
    consumer: str
    max_concurrency: int = 32
    handler_timeout_s: float = 60.0
    reclaim_idle_s: float = 60.0
    max_message_chars: int = 4000
    max_deliveries: int = 5
    send_attempts: int = 3
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
        self._lanes: dict[str, deque[QueueEntry]] = {}
        self._lane_tasks: set[asyncio.Task[None]] = set()
        self._in_flight: set[str] = set()
        self._slots = asyncio.Semaphore(config.max_concurrency)
        self._room = asyncio.Condition()
        self._stopping = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._side_tasks: set[asyncio.Task[None]] = set()

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
        own = await self.store.reclaim(
            self.config.consumer, 0, 1000, from_consumer=self.config.consumer
        )
        if own:
            logger.warning("resuming %d unfinished messages from before a restart", len(own))
        self._route(own)
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
        capacity = self.config.max_concurrency * 4
        while not self._stopping.is_set():
            async with self._room:
                await self._room.wait_for(lambda: len(self._in_flight) < capacity)
                room = capacity - len(self._in_flight)
            try:
                entries = await self.store.read_queue(self.config.consumer, room, block_s=0.2)
            except FrontdeskError:
                logger.exception("cannot read the inbound queue; retrying in 1 s")
                await asyncio.sleep(1.0)
                continue
            self._route(entries)

    async def _reclaim_loop(self) -> None:
        interval = max(self.config.reclaim_idle_s / 2, 0.05)
        while True:
            await asyncio.sleep(interval)
            try:
                entries = await self.store.reclaim(
                    self.config.consumer, self.config.reclaim_idle_s, 100
                )
            except FrontdeskError:
                logger.exception("reclaim of stale queue entries failed")
                continue
            if entries:
                logger.warning("reclaimed %d messages a stopped worker left", len(entries))
            self._route(entries)

    def _route(self, entries: Sequence[QueueEntry]) -> None:
        for entry in entries:
            if entry.entry_id in self._in_flight:
                continue  # our own slow message, reclaimed from ourselves: already queued
            self._in_flight.add(entry.entry_id)
            self._idle.clear()
            key = entry.message.ref.key
            lane = self._lanes.get(key)
            if lane is not None:
                lane.append(entry)
                continue
            self._lanes[key] = deque([entry])
            task = asyncio.create_task(self._run_lane(key), name=f"lane:{key}")
            self._lane_tasks.add(task)
            task.add_done_callback(self._lane_tasks.discard)

    async def _run_lane(self, key: str) -> None:
        lane = self._lanes[key]
        try:
            while lane:
                entry = lane[0]
                try:
                    async with self._slots:
                        await self._process(entry)
                except Exception:
                    # Store or channel down: leave the entry unacked; reclaim retries it later.
                    logger.exception(
                        "could not finish queue entry %s in %s; it will be retried",
                        entry.entry_id, key,
                    )  # fmt: skip
                lane.popleft()
                await self._release(entry)
        finally:
            del self._lanes[key]
            if not self._lanes:
                self._idle.set()

    async def _release(self, entry: QueueEntry) -> None:
        async with self._room:
            self._in_flight.discard(entry.entry_id)
            self._room.notify_all()

    async def _process(self, entry: QueueEntry) -> None:
        item = entry.message
        bind_message(item.ref.key, item.idempotency_key)  # this lane's task: its log lines
        async with self.store.lock(f"conversation:{item.ref.key}"):
            if isinstance(item, CardRefresh):  # a desk action taken outside this process
                if self.hub is not None:
                    await self.hub.refresh(item)
                await self.store.ack(entry.entry_id)
                return
            record = await self.store.outbox_get(item.idempotency_key)
            if record is not None:
                logger.info("%s already decided; resuming delivery", item.idempotency_key)
            elif isinstance(item, OutboundMessage):  # a human's message, queued for delivery
                record = await self.store.outbox_put(item.idempotency_key, [item])
            else:
                decision = await self._decide(item, entry.deliveries)
                # Agents hear of it before the outbox records the decision: after a crash in
                # between, a page or relay may repeat, but is never lost.
                await self._tell_desks(item, decision)
                outbound = _replies(item, decision)
                record = await self.store.outbox_put(item.idempotency_key, outbound)
                await self.store.incr(f"decisions_{decision.kind.value}")
                await self.observer.decided(item, decision)
            await self._deliver(record, item)
            await self.store.ack(entry.entry_id)

    async def _decide(self, message: InboundMessage, deliveries: int) -> Decision:
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
            message = replace(message, text=message.text[: self.config.max_message_chars])
        try:
            return await asyncio.wait_for(self.brain.handle(message), self.config.handler_timeout_s)
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

    async def _deliver(self, record: OutboxRecord, cause: QueueItem) -> None:
        sent = record.sent_count
        for outbound in record.pending:
            try:
                await self._send_with_retry(outbound)
                await self.store.incr("messages_sent")
                event_id = outbound.message_id or f"{record.inbound_key}:{sent}"
                await self.events.message_sent(outbound, event_id)
                await self.observer.sent(outbound, cause)
            except DeliveryRefused as err:
                # Permanent (e.g. the customer's terminal session is gone): retrying cannot help.
                logger.error("could not deliver to %s: %s", outbound.ref.key, err)
                await self.store.incr("messages_undeliverable")
            sent += 1
            await self.store.outbox_mark_sent(record.inbound_key, sent)

    async def _send_with_retry(self, outbound: OutboundMessage) -> None:
        channel = self.channels.get(outbound.ref.channel)
        if channel is None:
            raise ChannelError(f"no channel named {outbound.ref.channel!r} is running")
        for attempt in range(1, self.config.send_attempts + 1):
            try:
                await channel.send(outbound)
                return
            except DeliveryRefused:
                raise
            except ChannelError:
                if attempt == self.config.send_attempts:
                    raise
                logger.warning(
                    "send to %s failed (attempt %d); retrying", outbound.ref.key, attempt
                )
                await asyncio.sleep(0.2 * 2**attempt)

    async def _tell_desks(self, message: InboundMessage, decision: Decision) -> None:
        if self.hub is None:
            return
        try:
            if decision.card is not None:
                # Paging may wait on the desk channel's posting pace: never hold the
                # conversation (or a worker slot) for it. A page lost here is retried by the
                # SLA job, which pages every open ticket that has no card.
                self._spawn(self.hub.page(decision.card))
            elif decision.thread and decision.ticket_id:
                # An unclaimed ticket's customer got an answer: agents see both in the thread.
                for author, text in decision.thread:
                    await self.hub.relay(decision.ticket_id, author, text)
            elif decision.kind is DecisionKind.RELAY and decision.ticket_id:
                await self.hub.relay(decision.ticket_id, message.author, message.text)
        except FrontdeskError:
            # Paging is retried by the SLA job; the conversation keeps every relayed message.
            logger.exception("could not tell the desks about %s", message.ref.key)


def _replies(message: InboundMessage, decision: Decision) -> list[OutboundMessage]:
    if not decision.text:
        return []
    return [
        OutboundMessage(
            ref=message.ref,
            text=decision.text,
            in_reply_to=message.message_id,
            category=decision.category,
        )
    ]
