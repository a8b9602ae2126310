"""The one path every desk action takes, and the one way tickets reach the desks.

From the agents (``handle``): access check by role -> the ownership rules
(``brain.conversation.Ownership``) -> what the customer must see goes to the durable queue, in
order with the conversation -> the ticket's card is redrawn on every desk. The Slack desk, the
Discord desk and the terminal desk (``frontdesk desk ...``, through ``DeskBackend``) all call
``handle``; none of them decides who may do what beyond telling the hub the actor's role.

Towards the agents: page a new ticket on every desk and remember where its card is, show a
customer's follow-ups in the card's thread, redraw cards when ownership changes, re-page
unclaimed tickets past their SLA, forward operational alerts. Card text is minimised (personal
data masked) before any desk sees it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import timedelta

from bot.events import Events
from bot.observer import Observer
from brain.conversation import DeskResult, Outcome, Ownership, age_s, card_for
from brain.redact import Redactor
from brain.store.base import (
    OPEN_STATUSES,
    RETAINED,
    Repage,
    Store,
    Ticket,
    TicketPatch,
    TicketStatus,
    utcnow,
)
from brain.store.state import SharedState
from channels.base import (
    Author,
    CardRefresh,
    Desk,
    DeskAction,
    DeskEvent,
    DeskFeedback,
    EscalationCard,
    HomeDesk,
    HomeView,
    Role,
)
from channels.singleton import NotHeld
from config.errors import FrontdeskError

logger = logging.getLogger(__name__)

CommandRunner = Callable[[DeskEvent], Awaitable[DeskFeedback]]
HomeSource = Callable[[], Awaitable[HomeView]]

PAGING_GRACE_S = 300.0
REFUSED = "Sorry, only Frontdesk agents can do that. Ask an admin to add you as an agent."
ROLE_UNKNOWN = (
    "I could not check your role just now, so I did nothing with this message: it has not "
    "reached the customer and is not kept as a note. Please send it again in a moment."
)
_RELAYED, _KEPT = "relayed", "kept"  # what a thread message got: sent on, or not
NEEDS: dict[DeskAction, Role] = {
    DeskAction.CLAIM: Role.AGENT,
    DeskAction.REPLY: Role.AGENT,
    DeskAction.NOTE: Role.AGENT,
    DeskAction.RESOLVE: Role.AGENT,
    DeskAction.HAND_BACK: Role.AGENT,
    DeskAction.COMMAND: Role.AGENT,  # changing commands need admin: checked in bot/admin.py
    DeskAction.HOME: Role.NONE,  # everyone gets a home view; only agents see tickets in it
}
_REDRAWN_ON = (DeskAction.CLAIM, DeskAction.RESOLVE, DeskAction.HAND_BACK)


class DeskAlerts:
    """Operational alerts (budget spent, provider down, the digest), shown on every desk."""

    def __init__(self, desks: Sequence[Desk]) -> None:
        self.desks = tuple(desks)

    async def send(self, text: str) -> None:
        for desk in self.desks:
            try:
                await desk.alert(text)
            except Exception:
                logger.exception("desk %s could not show an alert", desk.name)


class DeskHub:
    """``live=False`` is the hub of a process without desk connections (``frontdesk desk``):
    instead of redrawing cards itself it queues a ``CardRefresh`` for the running bot."""

    def __init__(
        self,
        store: Store,
        desks: Sequence[Desk],
        ownership: Ownership,
        sla_minutes: dict[str, float],
        *,
        commands: CommandRunner | None = None,
        home: HomeSource | None = None,
        redactor: Redactor | None = None,
        live: bool = True,
        alerts: DeskAlerts | None = None,
        events: Events | None = None,
        observer: Observer | None = None,
    ) -> None:
        self.store = store
        self.events = events or Events()
        self.observer = observer or Observer()
        self.state = SharedState(store)
        self.desks = tuple(desks)
        self.ownership = ownership
        self.sla_minutes = sla_minutes
        self.commands = commands
        self.home = home
        self.redactor = redactor or Redactor()
        self.live = live
        self.alerts = alerts or DeskAlerts(desks)

    # -- towards the agents --------------------------------------------------------------
    async def page(self, card: EscalationCard) -> None:
        """Show a new ticket on every desk; a desk that fails is retried by ``repage_due``."""
        for desk in self.desks:
            await self._page_on(desk, card)
        await self.events.escalated(card)

    async def _page_on(self, desk: Desk, card: EscalationCard) -> None:
        # Marks the card as on its way (a busy channel paces posts), so that the re-page job
        # does not post a second card for the same ticket meanwhile.
        await self.state.mark_paging(desk.name, card.ticket_id, PAGING_GRACE_S)
        try:
            ref = await desk.page(self.minimised(card))
        except Exception:
            logger.exception("desk %s could not page %s; retrying later", desk.name, card.ticket_id)
            await self.state.clear_paging(desk.name, card.ticket_id)
            return
        await self.store.annotate_ticket(card.ticket_id, TicketPatch(desk_ref=(desk.name, ref)))
        await self.state.map_card(desk.name, ref, card.ticket_id)

    async def relay(
        self, ticket_id: str, author: Author, text: str, skip: Collection[str] = ()
    ) -> list[str]:
        """Show a customer's follow-up in the ticket's thread on every desk that shows its
        card, except the desks in ``skip``; returns the desks that failed (the dispatcher
        retries those: relays are queued, see ``channels.base.DeskRelay``). Masked."""
        text = self.redactor.redact(text).text
        ticket = await self.store.get_ticket(ticket_id)
        failed: list[str] = []
        for desk in self.desks:
            ref = ticket.desk_refs.get(desk.name) if ticket else None
            if ref is None or desk.name in skip:
                continue
            try:
                await desk.relay(ref, author, text)
            except Exception as err:
                logger.warning("desk %s could not relay into %s: %s", desk.name, ticket_id, err)
                failed.append(desk.name)
        return failed

    async def redraw(self, ticket: Ticket) -> None:
        if not self.live:
            await self.store.enqueue(CardRefresh(ticket.ref, ticket.id, ticket.epoch))
            return
        card = self.minimised(await self._card(ticket))
        for desk in self.desks:
            ref = ticket.desk_refs.get(desk.name)
            if ref is None:
                continue
            try:
                await desk.update(ref, card)
            except Exception:
                logger.exception("desk %s could not redraw %s", desk.name, ticket.id)

    async def refresh(self, request: CardRefresh) -> None:
        """Redraw a ticket's card for a desk action taken outside this process."""
        ticket = await self.store.get_ticket(request.ticket_id)
        if ticket is not None and self.live:
            await self.redraw(ticket)
            await self.events.ticket_moved(ticket)  # the same event id as a live desk's

    async def alert(self, text: str) -> None:
        await self.alerts.send(text)

    async def repage_due(self, fence: Callable[[], None] | None = None) -> int:
        """Re-page unclaimed tickets past their SLA step; page tickets no desk has shown yet.
        One broken ticket or card never stops the others. ``fence`` (the scheduler lease's
        check) is called right before each page and stops the run once it raises."""
        count = 0
        for ticket in await self.store.list_tickets([TicketStatus.ESCALATED]):
            for desk in self.desks:
                try:
                    count += await self._repage_on(desk, ticket, fence)
                except NotHeld:
                    logger.warning("SLA re-paging stopped: the scheduler lease was lost")
                    return count
                except Exception:
                    logger.exception("desk %s: re-paging %s failed", desk.name, ticket.id)
        return count

    async def _repage_on(
        self, desk: Desk, ticket: Ticket, fence: Callable[[], None] | None = None
    ) -> int:
        ref = ticket.desk_refs.get(desk.name)
        if ref is None:
            if not await self.state.is_paging(desk.name, ticket.id):
                if fence is not None:
                    fence()
                await self._page_on(desk, card_for(ticket))
            return 0
        minutes = self.sla_minutes.get(ticket.urgency or "normal", 60.0)
        done = sum(1 for step in ticket.repages if step.desk == desk.name)
        if age_s(ticket) < minutes * 60 * (done + 1):
            return 0
        level = done + 1
        card = dataclasses.replace(await self._card(ticket), repage=level)
        if fence is not None:
            fence()
        await desk.page(self.minimised(card), thread_of=ref)
        step = Repage(level=level, at=utcnow(), desk=desk.name)
        await self.store.annotate_ticket(ticket.id, TicketPatch(repage=step))
        await self.store.incr("sla_repages")
        age = timedelta(seconds=int(age_s(ticket)))
        logger.warning("%s unclaimed for %s: re-page %d on %s", ticket.id, age, level, desk.name)
        return 1

    def minimised(self, card: EscalationCard) -> EscalationCard:
        """The card with personal data masked: desks are seen by more people than the thread."""
        mask = self.redactor.redact
        return dataclasses.replace(
            card,
            summary=mask(card.summary).text,
            transcript=tuple(mask(line).text for line in card.transcript),
        )

    async def _card(self, ticket: Ticket, last: int | None = 8) -> EscalationCard:
        conversation = await self.store.get_conversation(ticket.ref.key)
        return card_for(ticket, conversation.turns if conversation else (), last=last)

    # -- the desk path as ``frontdesk desk`` sees it (DeskBackend) -------------------------
    async def open_cards(self) -> list[EscalationCard]:
        return [self.minimised(card_for(t)) for t in await self.store.list_tickets(OPEN_STATUSES)]

    async def ticket_card(self, ticket_id: str) -> EscalationCard | None:
        ticket = await self.store.get_ticket(ticket_id)
        return await self._card(ticket, last=None) if ticket is not None else None

    # -- from the agents -------------------------------------------------------------------
    async def handle(self, event: DeskEvent) -> DeskFeedback:
        if not event.agent.id.strip():
            return DeskFeedback("Say who you are: an agent needs a name.", ok=False)
        key = _taken_key(event)
        try:
            taken = await self._taken_before(event, key) if key is not None else None
            if taken is not None:
                return taken
            recorded = event.role is Role.UNKNOWN and await self._recorded(event)
        except FrontdeskError as err:  # not remembered: the same message may come again
            return DeskFeedback(f"That did not work: {err}", ok=False)
        if event.role < NEEDS[event.action] and not recorded:
            logger.warning(
                "desk %s: refused %s by %s (role %s)",
                event.desk,
                event.action,
                event.agent.id,
                event.role.name.lower(),
            )
            # A refused thread message is internal too: the desk marks it as not relayed.
            # Remembered like the rest (below): one refused for a role the platform could not
            # tell is not relayed later either, when its author has sent it again.
            internal = event.action in (DeskAction.REPLY, DeskAction.NOTE)
            told = ROLE_UNKNOWN if internal and event.role is Role.UNKNOWN else REFUSED
            feedback = DeskFeedback(told, ok=False, internal=internal)
        else:
            try:
                feedback = await self._handle(event)
            except FrontdeskError as err:  # not remembered: the same message may come again
                logger.exception("desk event %s failed", event.action)
                return DeskFeedback(f"That did not work: {err}", ok=False)
        if key is not None:
            await self._remember_taken(event, key, feedback)
        return feedback

    # A thread message (reply, note) is taken in once: the same one again (read back after a
    # Discord failover, a platform's retry) gets only its mark, with nothing done, counted or
    # answered again. What it got is remembered by desk and message id; the conversation's
    # record of it (``Ownership``) covers two replicas taking it in at once.

    async def _taken_before(self, event: DeskEvent, key: str) -> DeskFeedback | None:
        try:
            earlier = await self.store.kv_get(key)
        except FrontdeskError as err:
            logger.warning("desk %s: could not check message %s: %s", event.desk,
                           event.event_id, err)  # fmt: skip
            if event.role is Role.UNKNOWN:
                # Neither its record nor its author's role: nothing to decide by. Asked to
                # send it again, its author might make a relayed one twice.
                raise
            return None  # the conversation's record still catches a repeat
        if earlier is None:
            return None
        logger.info("desk %s: message %s was taken in before (%s); not again", event.desk,
                    event.event_id, earlier)  # fmt: skip
        return DeskFeedback("", internal=earlier != _RELAYED)

    async def _recorded(self, event: DeskEvent) -> bool:
        """Whether a thread message is in its ticket's conversation already: taken in before,
        its ``desk-taken`` record not written (the holder stopped in between, or the write
        failed). Its author's role unknown, it then gets what it got, not a refusal."""
        if event.action not in (DeskAction.REPLY, DeskAction.NOTE) or not event.event_id:
            return False
        ticket_id = await self._ticket_of(event)
        return ticket_id is not None and await self.ownership.recorded(ticket_id, event.event_id)

    async def _remember_taken(self, event: DeskEvent, key: str, feedback: DeskFeedback) -> None:
        relayed = feedback.ok and not (feedback.internal or feedback.withheld)
        try:
            await self.store.kv_set(key, _RELAYED if relayed else _KEPT, ttl_s=RETAINED)
        except FrontdeskError as err:
            logger.warning("desk %s: could not remember message %s: %s", event.desk,
                           event.event_id, err)  # fmt: skip

    async def _handle(self, event: DeskEvent) -> DeskFeedback:
        if event.action is DeskAction.COMMAND:
            if self.commands is None:
                return DeskFeedback("Commands are not available.", ok=False)
            return await self.commands(event)
        if event.action is DeskAction.HOME:
            await self._show_home(event)
            return DeskFeedback("")
        ticket_id = await self._ticket_of(event)
        if ticket_id is None:
            return DeskFeedback(
                "This is not a current Frontdesk ticket card.", ok=False, internal=True
            )
        result = await self._act(event, ticket_id)
        return await self._apply(event, result)

    async def _act(self, event: DeskEvent, ticket_id: str) -> DeskResult:
        agent, name, event_id = event.agent.id, event.agent.display_name, event.event_id or ""
        own = self.ownership
        if event.action is DeskAction.CLAIM:
            return await own.claim(ticket_id, agent, name)
        if event.action is DeskAction.RESOLVE:
            return await own.resolve(ticket_id, agent, name)
        if event.action is DeskAction.HAND_BACK:
            return await own.hand_back(ticket_id, agent, name)
        if event.action is DeskAction.NOTE:
            return await own.note(ticket_id, name or agent, event.text, event_id)
        return await own.reply(ticket_id, agent, event.text, event_id, name)

    async def _apply(self, event: DeskEvent, result: DeskResult) -> DeskFeedback:
        for message in result.outbound:
            await self.store.enqueue(message)  # delivered in order by the dispatcher
        if result.repeat:  # a reply or note taken in before: counted and answered then
            return DeskFeedback(result.feedback, internal=not result.outbound)
        await self.observer.desk_done(event, result)
        if result.ok and result.ticket is not None and event.action in _REDRAWN_ON:
            await self.redraw(result.ticket)
            if self.live:
                await self.events.ticket_moved(result.ticket)
        internal = event.action in (DeskAction.REPLY, DeskAction.NOTE) and not result.outbound
        withheld = result.outcome in (Outcome.NOT_CLAIMANT, Outcome.NOT_CLAIMED)
        refused = not result.ok and not withheld
        return DeskFeedback(result.feedback, ok=not refused, internal=internal, withheld=withheld)

    async def _ticket_of(self, event: DeskEvent) -> str | None:
        """The ticket an event acts on. A click names its ticket and carries its card's ref:
        the ref must be the ticket's card on that desk (an old card after data loss, or a
        forged payload, is refused). A thread reply carries only the ref."""
        if event.ticket_id is not None:
            ticket = await self.store.get_ticket(event.ticket_id)
            if ticket is None:
                return event.ticket_id  # the ownership rules answer "no such ticket"
            card = ticket.desk_refs.get(event.desk)
            if (event.desk_ref is not None or card is not None) and card != event.desk_ref:
                logger.warning(
                    "desk %s: %s by %s on a card that is not %s's card",
                    event.desk,
                    event.action,
                    event.agent.id,
                    ticket.id,
                )
                return None
            return ticket.id
        if event.desk_ref is None:
            return None
        return await self.state.ticket_of_card(event.desk, event.desk_ref)

    async def _show_home(self, event: DeskEvent) -> None:
        view = await self.home() if self.home is not None and event.role >= Role.AGENT else None
        if view is not None:
            view = dataclasses.replace(
                view, open_tickets=tuple(self.minimised(c) for c in view.open_tickets)
            )
        for desk in self.desks:
            if desk.name == event.desk and isinstance(desk, HomeDesk):
                await desk.show_home(event.agent.id, view)


def _taken_key(event: DeskEvent) -> str | None:
    """The store key that remembers a thread message was taken in (None: not one)."""
    if event.action not in (DeskAction.REPLY, DeskAction.NOTE) or not event.event_id:
        return None
    return f"desk-taken:{event.desk}:{event.event_id}"
