"""Getting decided messages out: the outbox, per part, bounded retries, dead letters, relays.

The dispatcher decides under the conversation lock; this module delivers what the outbox
holds. Replies are stored as the parts the platform will post (``SplitsMessages``), and
progress is recorded after each part, so a retry resumes at the part that failed. Every
failed delivery attempt is counted in the outbox record; after ``max_send_failures`` the
record is dead-lettered: never sent again, the conversation's ticket (or a new one) says
"undeliverable" and the desks get one alert. Customers' follow-ups for a ticket's thread
(``DeskRelay``) are queued and delivered here, outside any worker slot.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.desk_hub import DeskHub
from bot.events import Events
from bot.observer import Observer
from brain.store.base import OutboxRecord, QueueEntry, Store, TicketPatch, lock_name
from brain.store.lease import Lease
from brain.store.state import SharedState
from channels.base import (
    Author,
    Channel,
    ConversationRef,
    DeskRelay,
    InboundMessage,
    OutboundMessage,
    QueueItem,
    SplitsMessages,
)
from config.errors import ChannelError, DeliveryRefused

logger = logging.getLogger(__name__)

UNDELIVERABLE = "undeliverable"
UNRECORDED_MAX = 10_000  # sends remembered whose recording failed (``Delivery.unrecorded``)
RELAY_MEMORY_S = 7 * 86400.0

Spawn = Callable[[Coroutine[Any, Any, None]], None]
T = TypeVar("T")


@dataclass
class Progress:
    """How far one delivery got: the outbox sent count to record (None: nothing to record,
    e.g. dead-lettered) and the counters to add, both with the ack."""

    sent: int | None
    counters: dict[str, float] = field(default_factory=dict)

    def count(self, name: str) -> None:
        self.counters[name] = self.counters.get(name, 0) + 1


class Delivery:
    def __init__(
        self,
        store: Store,
        channels: Mapping[str, Channel],
        hub: DeskHub | None,
        spawn: Spawn,
        events: Events,
        *,
        observer: Observer | None = None,
        owner: str,
        send_attempts: int,
        max_send_failures: int,
    ) -> None:
        self.store = store
        self.owner = owner
        self.state = SharedState(store)
        self.channels = channels
        self._splitters: dict[str, SplitsMessages | None] = {}
        self.hub = hub
        self.spawn = spawn
        self.events = events
        self.observer = observer or Observer()
        self.send_attempts = send_attempts
        self.max_send_failures = max_send_failures
        self._relay_failures: defaultdict[str, int] = defaultdict(int)
        # What this process delivered whose recording has not landed (the store failed between
        # a send and its ack): the lane's retry records it instead of sending it again. Only a
        # crash in that window repeats a reply. Each key leaves with the retry that follows
        # (a lane retries its head until it is done), or past ``UNRECORDED_MAX``.
        self._unrecorded: dict[str, Progress] = {}
        self._relayed_unrecorded: dict[str, set[str]] = {}

    def parts(self, messages: Sequence[OutboundMessage]) -> list[OutboundMessage]:
        """``messages`` as the platform posts them: one outbox entry per part."""
        parts: list[OutboundMessage] = []
        for message in messages:
            splitter = self._splitter(message.ref.channel)
            parts += splitter.split(message) if splitter is not None else [message]
        return parts

    def _splitter(self, name: str) -> SplitsMessages | None:
        # A protocol ``isinstance`` costs microseconds in Python 3.11: asked once a channel.
        if name in self._splitters:
            return self._splitters[name]
        channel = self.channels.get(name)
        splitter = channel if isinstance(channel, SplitsMessages) else None
        if channel is not None:
            self._splitters[name] = splitter
        return splitter

    async def deliver(self, item: QueueItem, record: OutboxRecord, lease: Lease) -> Progress:
        """Send what is pending; the last part's progress is left for the caller to record
        with the ack (``Store.finish``). Raises ``ChannelError`` when this attempt failed and
        the record may be retried; a record past ``max_send_failures`` is dead-lettered."""
        progress = self._unrecorded.pop(record.inbound_key, None)
        if progress is None or progress.sent is None or progress.sent < record.sent_count:
            progress = Progress(record.sent_count)
        try:
            await self._send_pending(record, lease, progress, item)
        except ChannelError as err:
            lease.check()
            if progress.counters:
                await self.store.incr_many(progress.counters)
            failures = await self.store.outbox_failed(record.inbound_key)
            if failures < self.max_send_failures:
                raise
            await self._dead_letter(item, record, failures, err)
            return Progress(None)
        except BaseException:
            self.unrecorded(record.inbound_key, progress)  # e.g. the store failed mid-way
            raise
        return progress

    def unrecorded(self, key: str, progress: Progress) -> None:
        """``progress`` of the delivery of ``key`` was not recorded (its ack failed): the
        next delivery of ``key`` in this process starts after it, sending nothing twice."""
        if progress.sent:
            _remember(self._unrecorded, key, progress)

    async def _send_pending(
        self, record: OutboxRecord, lease: Lease, progress: Progress, cause: QueueItem
    ) -> None:
        pending = () if record.dead else record.messages[progress.sent or 0 :]
        ahead = (progress.sent or 0) > record.sent_count  # sent here, not recorded yet
        for number, outbound in enumerate(pending, start=1):
            if number > 1 or ahead:  # the part before was sent: record it before the next
                await self.store.outbox_mark_sent(record.inbound_key, progress.sent or 0)
            lease.check()
            try:
                await self._send_with_retry(outbound)
                progress.count("messages_sent")
                event_id = outbound.message_id or f"{record.inbound_key}:{progress.sent or 0}"
                await self.events.message_sent(outbound, event_id)
                await self.observer.sent(outbound, cause)
            except DeliveryRefused as err:
                # Permanent (e.g. the customer's terminal session is gone): retrying cannot help.
                logger.error("could not deliver to %s: %s", outbound.ref.key, err)
                progress.count("messages_undeliverable")
            progress.sent = (progress.sent or 0) + 1

    async def send_now(self, outbound: OutboundMessage) -> None:
        """Send outside the outbox (a courtesy notice that may be lost, never repeated)."""
        await self._send_with_retry(outbound)

    async def _send_with_retry(self, outbound: OutboundMessage) -> None:
        channel = self.channels.get(outbound.ref.channel)
        if channel is None:
            raise ChannelError(f"no channel named {outbound.ref.channel!r} is running")
        for attempt in range(1, self.send_attempts + 1):
            try:
                await channel.send(outbound)
                return
            except DeliveryRefused:
                raise
            except ChannelError:
                if attempt == self.send_attempts:
                    raise
                logger.warning(
                    "send to %s failed (attempt %d); retrying", outbound.ref.key, attempt
                )
                await asyncio.sleep(0.2 * 2**attempt)

    async def _dead_letter(
        self, item: QueueItem, record: OutboxRecord, failures: int, err: ChannelError
    ) -> None:
        ref = record.pending[0].ref if record.pending else item.ref
        author = item.author if isinstance(item, InboundMessage) else _customer(ref)
        ticket = await self.store.open_ticket_for(ref.key)
        if ticket is None:
            summary = f"A reply could not be delivered: {_head(record)}"
            ticket, _ = await self.store.open_ticket(ref, author, [UNDELIVERABLE], summary)
        else:
            await self.store.annotate_ticket(ticket.id, TicketPatch(reason=UNDELIVERABLE))
        if not await self.store.outbox_dead(record.inbound_key):
            return  # another worker dead-lettered it first and told the desks
        await self.store.incr("messages_dead_lettered")  # rare: its own round trip
        logger.error("gave up delivering %s to %s after %d failed attempts (%s); ticket %s",
                     record.inbound_key, ref.key, failures, err, ticket.id)  # fmt: skip
        if self.hub is not None:
            self.spawn(self.hub.alert(
                f"A reply to a {ref.channel} customer could not be delivered after {failures} "
                f"attempts ({err}). Ticket {ticket.id} says undeliverable: please reach the "
                "customer another way."
            ))  # fmt: skip

    # -- relays to the desks ---------------------------------------------------------------
    async def relay(self, entry: QueueEntry) -> bool:
        """Deliver a queued ``DeskRelay`` to every desk that has not shown it yet. False:
        some desk failed and the relay should be retried later."""
        item = entry.message
        assert isinstance(item, DeskRelay)
        if self.hub is None:
            await self.store.ack(entry.entry_id)
            return True
        key = item.idempotency_key
        async with self.store.lock(lock_name(item), self.owner) as lease:
            done = await self.state.relayed_desks(key)
            done |= self._relayed_unrecorded.pop(key, set())
            reached = done
            try:
                failed = await self.hub.relay(item.ticket_id, item.author, item.text, skip=done)
                reached = done | ({d.name for d in self.hub.desks} - set(failed))
                return await self._settle_relay(entry, item, failed, reached, lease)
            except BaseException:  # the store failed: the retry shows no desk the line twice
                _remember(self._relayed_unrecorded, key, reached)
                raise

    async def _settle_relay(
        self, entry: QueueEntry, item: DeskRelay, failed: Sequence[str], reached: set[str],
        lease: Lease,
    ) -> bool:  # fmt: skip
        """After one try at a relay: the desks it reached recorded and, unless some desk
        failed and may be tried again, the entry finished."""
        key = item.idempotency_key
        lease.check()
        if failed:
            await self.state.mark_relayed(key, reached, RELAY_MEMORY_S)
            self._relay_failures[key] += 1
            if self._relay_failures[key] < self.max_send_failures:
                return False
            logger.error("gave up relaying into %s on %s", item.ticket_id, ", ".join(failed))
            await self.store.incr("relays_dropped")
        self._relay_failures.pop(key, None)
        await self.store.finish(entry.entry_id, lease=lease)
        return True


def _remember(memory: dict[str, T], key: str, value: T) -> None:
    """``memory[key] = value``, the oldest entry dropped past ``UNRECORDED_MAX`` (a key
    another process finished stays until then: its lane never retries it here)."""
    memory.pop(key, None)
    memory[key] = value
    if len(memory) > UNRECORDED_MAX:
        del memory[next(iter(memory))]


def _customer(ref: ConversationRef) -> Author:
    return Author(id=ref.conversation_id)


def _head(record: OutboxRecord) -> str:
    text = " ".join(m.text for m in record.messages)
    return text[:200]
