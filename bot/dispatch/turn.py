"""One queue entry under its conversation's lock: older unfinished entries of the conversation
first (order across replicas), then the outbox (a redelivered message resumes delivery) or the
brain's decision, the desks told, the outbox written, the reply delivered and the entry acked.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from bot.delivery import Delivery, Spawn
from bot.desk_hub import DeskHub
from bot.dispatch.base import DispatchConfig
from bot.dispatch.decide import Decider
from bot.flow import join_burst
from bot.observability import bind_message
from bot.observer import Observer
from brain.decision import Decision, DecisionKind
from brain.store.base import OutboxRecord, QueueEntry, Store, TurnContext
from brain.store.lease import Lease
from channels.base import CardRefresh, DeskRelay, InboundMessage, OutboundMessage
from channels.frozen import constructor
from config.errors import StoreError

logger = logging.getLogger(__name__)

MAX_OLDER = 1000
# The counter of each kind of decision, named once (an enum's ``.value`` is a slow property).
_DECIDED = {kind: f"decisions_{kind.value}" for kind in DecisionKind}


class Turns:
    def __init__(
        self,
        store: Store,
        config: DispatchConfig,
        decider: Decider,
        delivery: Delivery,
        hub: DeskHub | None,
        observer: Observer,
        spawn: Spawn,
    ) -> None:
        self.store = store
        self.config = config
        self.decider = decider
        self.delivery = delivery
        self.hub = hub
        self.observer = observer
        self.spawn = spawn
        self._slots = asyncio.Semaphore(config.max_concurrency)
        self._locking: set[asyncio.Task[Any]] = set()

    def cancel_waiting(self) -> None:
        """On stop: the turns still waiting for a lock (nothing done yet) give up."""
        for task in list(self._locking):
            task.cancel()

    async def process(
        self,
        entry: QueueEntry,
        tries: int,
        companions: Sequence[QueueEntry],
        locked: Callable[[], None],
        conversation: str | None = None,
    ) -> None:
        """Handle ``entry`` (with the ``companions`` of its burst) under the conversation's
        lock, in a worker slot; ``locked`` is called once the lock is held. ``conversation``
        is the entry's ``ref.key`` when the caller has it (a lane's key): a property that
        builds a new string each time it is read."""
        item = entry.message
        if conversation is None:
            conversation = item.ref.key
        me = asyncio.current_task()
        if me is not None:
            self._locking.add(me)  # cancelled on stop: nothing was done yet
        try:
            # Waiting for the lock (a dead process's lease runs out) holds no worker slot.
            start = self.decider.turn_start(entry, tries, companions)
            lock = self.store.lock_conversation(conversation, self.config.consumer, start)
            async with lock as held:
                self._locking.discard(me)
                locked()
                async with self._slots:
                    await self._handle(entry, conversation, held.lease, held.head, tries,
                                       companions, held.context)  # fmt: skip
        finally:
            self._locking.discard(me)

    async def _handle(
        self, entry: QueueEntry, conversation: str, lease: Lease, head: QueueEntry | None,
        tries: int, companions: Sequence[QueueEntry] = (), context: TurnContext | None = None,
    ) -> None:  # fmt: skip
        """Under the conversation's lock: first any older unfinished entry of the conversation
        (another replica may have read it and not finished it yet), then ``entry``. Replies
        thus keep the queue's order across replicas; the outbox makes the other replica's
        later attempt at the same entry a no-op. ``head`` was read with the lock."""
        for older in range(MAX_OLDER):
            if older:
                head = await self.store.head_of(conversation)
            if head is None or head.entry_id == entry.entry_id:
                # None: finished by someone else meanwhile (or queued before this index
                # existed); the outbox tells which, so look at it.
                await self._handle_one(entry, conversation, lease, tries if head else 1, True,
                                       companions, context if head else None)  # fmt: skip
                return
            logger.info("answering %s in %s first: it came before %s", head.entry_id,
                        conversation, entry.entry_id)  # fmt: skip
            await self._handle_one(head, conversation, lease, 1, False)
        raise StoreError(f"more than {MAX_OLDER} older entries in {conversation}; retrying")

    async def _handle_one(
        self, entry: QueueEntry, conversation: str, lease: Lease, tries: int, release: bool,
        companions: Sequence[QueueEntry] = (), context: TurnContext | None = None,
    ) -> None:  # fmt: skip
        """Decide (once) and deliver one entry. Besides its enqueue and a share of a batched
        read, a new message costs three store round trips: the lock (with the head and the
        brain's context, ``Decider.turn_start``), its decision with its counter and the bot's
        turn, then progress, counters, ack and unlock in one step."""
        item = entry.message
        key = item.idempotency_key  # a property that formats a new string: read once
        bind_message(conversation, key)  # this lane's task: its log lines
        if isinstance(item, CardRefresh):  # a desk action taken outside this process
            if self.hub is not None:
                await self.hub.refresh(item)
            await self.store.finish(entry.entry_id, lease=lease, conversation=conversation,
                                    release=release)  # fmt: skip
            return
        # A first delivery's first try cannot have an outbox record yet: no need to look.
        first = isinstance(item, InboundMessage) and entry.deliveries == 1 and tries == 0
        record = None if first else await self.store.outbox_get(key)
        if record is not None:
            logger.info("%s already decided; resuming delivery", key)
        elif isinstance(item, OutboundMessage):  # a human's message, queued for delivery
            record = await self.store.outbox_put(key, self.delivery.parts([item]), lease=lease)
        else:
            assert isinstance(item, InboundMessage)
            await self.decider.within_rate(item)
            asked = join_burst(item, companions)
            decision = await self.decider.decide(asked, entry.deliveries, context)
            lease.check()
            # Agents hear of it before the outbox records the decision: after a crash in
            # between, a page may repeat, but is never lost (a relay is queued once).
            await self._tell_desks(item, decision)
            outbound = self.delivery.parts(_replies(item, decision))
            decision, record = await self._record(item, key, decision, outbound, lease)
            await self.observer.decided(item, decision)
            for joined in companions:  # answered with the head: nothing of their own to send
                await self.store.outbox_put(joined.message.idempotency_key, [],
                                            {"messages_coalesced": 1.0}, lease)  # fmt: skip
        progress = await self.delivery.deliver(item, record, lease)
        sent = (key, progress.sent) if progress.sent is not None else None
        try:
            for joined in companions:
                await self.store.finish(joined.entry_id, lease=lease, conversation=conversation,
                                        release=False)  # fmt: skip
            await self.store.finish(entry.entry_id, lease=lease, outbox=sent,
                                    counters=progress.counters, conversation=conversation,
                                    release=release)  # fmt: skip
        except BaseException:  # sent, not recorded: the retry must not send it again
            self.delivery.unrecorded(key, progress)
            raise

    async def _record(
        self, item: InboundMessage, key: str, decision: Decision,
        outbound: list[OutboundMessage], lease: Lease,
    ) -> tuple[Decision, OutboxRecord]:  # fmt: skip
        """The outbox record of a decision (with the bot's turns, if it left them to us)."""
        counted = {_DECIDED[decision.kind]: 1.0}
        if decision.remember:
            record = await self.store.outbox_put_reply(
                key, outbound, counted, lease, item.ref, decision.remember
            )
            if record is not None:
                return decision, record
            # A human took the conversation while the bot drafted: the draft is dropped.
            decision = Decision(DecisionKind.RELAY, ticket_id=None, intent=decision.intent)
            counted = {_DECIDED[decision.kind]: 1.0}
            outbound = []
        return decision, await self.store.outbox_put(key, outbound, counted, lease)

    async def _tell_desks(self, message: InboundMessage, decision: Decision) -> None:
        if self.hub is None:
            return
        if decision.card is not None:
            # Paging may wait on the desk channel's posting pace: never hold the
            # conversation (or a worker slot) for it. A page lost here is retried by the
            # SLA job, which pages every open ticket that has no card.
            self.spawn(self.hub.page(decision.card))
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


# Every reply is built here: the class's own call by ``channels.frozen``, at half the cost.
_new_outbound = constructor(OutboundMessage)


def _replies(message: InboundMessage, decision: Decision) -> list[OutboundMessage]:
    if not decision.text:
        return []
    return [
        _new_outbound(
            ref=message.ref,
            text=decision.text,
            in_reply_to=message.message_id,
            category=decision.category,
            rating=decision.rating,
        )
    ]
