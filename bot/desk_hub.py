"""Connects the desks (Slack escalation channel, ...) with tickets and customers.

Outbound to agents: page a new ticket on every desk and remember where its card is (the desk ref
is stored on the ticket, and the reverse mapping in the store), pass customers' follow-ups into
the card's thread, redraw cards when ownership changes, re-page unclaimed tickets past their
SLA, forward operational alerts. Inbound from agents: every ``DeskEvent`` goes through
``handle``, which applies the ownership rules (``brain.conversation.Desk``), queues what the
customer must see through the dispatcher's durable queue, and answers the agent.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from brain.conversation import Desk as Ownership
from brain.conversation import DeskResult, Outcome, age_s, card_for
from brain.store.base import OPEN_STATUSES, Store, Ticket, TicketStatus, utcnow
from channels.base import Author, Desk, DeskAction, DeskEvent, DeskFeedback, EscalationCard
from config.errors import FrontdeskError

logger = logging.getLogger(__name__)

CommandRunner = Callable[[DeskEvent], Awaitable[DeskFeedback]]
HomeRenderer = Callable[[Desk, str], Awaitable[None]]


PAGING_GRACE_S = 300.0


def ref_key(desk: Desk) -> str:
    return f"desk_ref:{desk.name}"


def _paging_key(desk: Desk, ticket_id: str) -> str:
    return f"paging:{desk.name}:{ticket_id}"


class DeskHub:
    def __init__(
        self,
        store: Store,
        desks: Sequence[Desk],
        internal_prefix: str,
        sla_minutes: dict[str, float],
    ) -> None:
        self.store = store
        self.desks = tuple(desks)
        self.ownership = Ownership(store, internal_prefix)
        self.sla_minutes = sla_minutes
        self.commands: CommandRunner | None = None
        self.home: HomeRenderer | None = None

    # -- towards the agents --------------------------------------------------------------
    async def page(self, card: EscalationCard) -> None:
        """Show a new ticket on every desk; a desk that fails is retried by ``repage_due``."""
        for desk in self.desks:
            await self._page_on(desk, card)

    async def _page_on(self, desk: Desk, card: EscalationCard) -> None:
        # Marks the card as on its way (a busy channel paces posts), so that the re-page job
        # does not post a second card for the same ticket meanwhile.
        await self.store.kv_set(_paging_key(desk, card.ticket_id), "1", ttl_s=PAGING_GRACE_S)
        try:
            ref = await desk.page(card)
        except Exception:
            logger.exception("desk %s could not page %s; retrying later", desk.name,
                             card.ticket_id)  # fmt: skip
            await self.store.kv_delete(_paging_key(desk, card.ticket_id))
            return
        await self.store.annotate_ticket(card.ticket_id, {ref_key(desk): ref})
        await self.store.kv_set(f"{ref_key(desk)}:{ref}", card.ticket_id)

    async def relay(self, ticket_id: str, author: Author, text: str) -> None:
        ticket = await self.store.get_ticket(ticket_id)
        for desk in self.desks:
            ref = ticket.details.get(ref_key(desk)) if ticket else None
            if ref is None:
                continue
            try:
                await desk.relay(ref, author, text)
            except Exception:
                logger.exception("desk %s could not relay into %s", desk.name, ticket_id)

    async def redraw(self, ticket: Ticket) -> None:
        conversation = await self.store.get_conversation(ticket.ref.key)
        card = card_for(ticket, conversation.turns if conversation else ())
        for desk in self.desks:
            ref = ticket.details.get(ref_key(desk))
            if ref is None:
                continue
            try:
                await desk.update(ref, card)
            except Exception:
                logger.exception("desk %s could not redraw %s", desk.name, ticket.id)

    async def alert(self, text: str) -> None:
        for desk in self.desks:
            try:
                await desk.alert(text)
            except Exception:
                logger.exception("desk %s could not show an alert", desk.name)

    async def repage_due(self) -> int:
        """Re-page unclaimed tickets past their SLA step; page tickets no desk has shown yet."""
        count = 0
        for ticket in await self.store.list_tickets([TicketStatus.ESCALATED]):
            for desk in self.desks:
                ref = ticket.details.get(ref_key(desk))
                if ref is None:
                    if await self.store.kv_get(_paging_key(desk, ticket.id)) is None:
                        await self._page_on(desk, card_for(ticket))
                    continue
                if await self._repage(desk, ticket, ref):
                    count += 1
        return count

    async def _repage(self, desk: Desk, ticket: Ticket, ref: str) -> bool:
        minutes = self.sla_minutes.get(str(ticket.details.get("urgency") or "normal"), 60.0)
        ladder = list(ticket.details.get("repages") or [])
        if age_s(ticket) < minutes * 60 * (len(ladder) + 1):
            return False
        level = len(ladder) + 1
        conversation = await self.store.get_conversation(ticket.ref.key)
        card = card_for(ticket, conversation.turns if conversation else (), repage=level)
        await desk.page(card, thread_of=ref)
        ladder.append({"level": level, "at": utcnow().isoformat(), "desk": desk.name})
        await self.store.annotate_ticket(ticket.id, {"repages": ladder})
        await self.store.incr("sla_repages")
        logger.warning("%s unclaimed for %s: re-page %d", ticket.id,
                       timedelta(seconds=int(age_s(ticket))), level)  # fmt: skip
        return True

    # -- from the agents -------------------------------------------------------------------
    async def handle(self, event: DeskEvent) -> DeskFeedback:
        try:
            return await self._handle(event)
        except FrontdeskError as err:
            logger.exception("desk event %s failed", event.action)
            return DeskFeedback(f"That did not work: {err}", ok=False)

    async def _handle(self, event: DeskEvent) -> DeskFeedback:
        if event.action is DeskAction.COMMAND:
            if self.commands is None:
                return DeskFeedback("Commands are not available.", ok=False)
            return await self.commands(event)
        if event.action is DeskAction.HOME:
            if self.home is not None:
                for desk in self.desks:
                    await self.home(desk, event.agent.id)
            return DeskFeedback("")
        ticket_id = event.ticket_id or await self._ticket_of(event)
        if ticket_id is None:
            return DeskFeedback("This thread is not a Frontdesk ticket.", ok=False, internal=True)
        agent, name = event.agent.id, event.agent.display_name
        result: DeskResult
        if event.action is DeskAction.CLAIM:
            result = await self.ownership.claim(ticket_id, agent, name)
        elif event.action is DeskAction.RESOLVE:
            result = await self.ownership.resolve(ticket_id, agent, name)
        elif event.action is DeskAction.HAND_BACK:
            result = await self.ownership.hand_back(ticket_id, agent, name)
        elif event.action is DeskAction.NOTE:
            result = await self.ownership.note(ticket_id, name or agent, event.text,
                                               event.event_id or "")  # fmt: skip
        else:
            result = await self.ownership.reply(ticket_id, agent, event.text,
                                                event.event_id or "", name)  # fmt: skip
        return await self._apply(event, result)

    async def _apply(self, event: DeskEvent, result: DeskResult) -> DeskFeedback:
        for message in result.outbound:
            await self.store.enqueue(message)  # delivered in order by the dispatcher
        if result.ok and result.ticket is not None and event.action in (
            DeskAction.CLAIM, DeskAction.RESOLVE, DeskAction.HAND_BACK,
        ):  # fmt: skip
            await self.redraw(result.ticket)
        internal = event.action in (DeskAction.REPLY, DeskAction.NOTE) and not result.outbound
        refused = result.outcome not in (Outcome.OK, Outcome.NOT_CLAIMANT, Outcome.NOT_CLAIMED)
        return DeskFeedback(result.feedback, ok=not refused, internal=internal)

    async def _ticket_of(self, event: DeskEvent) -> str | None:
        if event.desk_ref is None:
            return None
        for desk in self.desks:
            ticket_id = await self.store.kv_get(f"{ref_key(desk)}:{event.desk_ref}")
            if ticket_id is not None:
                return ticket_id
        return None

    async def open_cards(self) -> list[tuple[Ticket, EscalationCard]]:
        tickets = await self.store.list_tickets(OPEN_STATUSES)
        return [(t, card_for(t)) for t in tickets]
