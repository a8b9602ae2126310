"""Asking the brain about one customer message: the per-customer rate, the oversize cut, the
brain's answer within its time limit, and the polite fallback (with a ticket) when it fails."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from bot.delivery import Delivery
from bot.dispatch.base import DispatchConfig, Drafter, Responder
from bot.flow import SLOW_DOWN_QUIET_S, SLOW_DOWN_TEXT, Throttled
from brain.decision import Decision, DecisionKind
from brain.store.base import QueueEntry, Store, TurnContext, TurnStart
from brain.store.state import SharedState
from channels.base import InboundMessage, OutboundMessage
from channels.deadline import Deadlines
from config.errors import FrontdeskError

logger = logging.getLogger(__name__)


class Decider:
    def __init__(
        self,
        store: Store,
        brain: Responder,
        config: DispatchConfig,
        delivery: Delivery,
        state: SharedState,
    ) -> None:
        self.store = store
        self.brain = brain
        self.config = config
        self.delivery = delivery
        self.state = state
        # A protocol ``isinstance`` costs microseconds in Python 3.11: asked once, not per turn.
        self.drafter = brain if isinstance(brain, Drafter) else None
        self._time_limit = Deadlines(config.handler_timeout_s)  # one timer for every turn

    def turn_start(
        self, entry: QueueEntry, tries: int, companions: Sequence[QueueEntry]
    ) -> TurnStart | None:
        """The brain's first store step, to be done with the lock: only for a message the
        brain will surely see as it is (a first try, no burst joined to it)."""
        item = entry.message
        first = isinstance(item, InboundMessage) and entry.deliveries == 1 and tries == 0
        if not first or companions or self.drafter is None:
            return None
        assert isinstance(item, InboundMessage)
        return self.drafter.turn_start(self.cut(item), entry.entry_id)

    def cut(self, message: InboundMessage) -> InboundMessage:
        """What the brain sees of an oversize message: its first ``max_message_chars``."""
        if len(message.text) <= self.config.max_message_chars:
            return message
        return replace(message, text=message.text[: self.config.max_message_chars])

    async def within_rate(self, message: InboundMessage) -> None:
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

    async def decide(
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
            message = self.cut(message)
        try:
            if self.drafter is not None:
                work = self.drafter.decide(message, context)
            else:
                work = self.brain.handle(message)
            # In this task, not one of its own (what ``wait_for`` makes for every message), and
            # on one timer for all turns (``asyncio.timeout`` makes one each): channels/deadline.py.
            with self._time_limit.within():
                return await work
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
