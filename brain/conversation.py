"""Conversation ownership: who may speak to the customer, changed only by compare-and-set.

    bot --escalate--> escalated --claim--> claimed(agent) --resolve|hand back--> bot
                          \\--resolve|hand back------------------------------^

The owner is derived from the conversation's open ticket (none: the bot). Every transition is a
compare-and-set on the ticket's epoch, so two agents clicking "claim" at once get one winner.
Closing a ticket appends a reset marker to the history: from then on the bot reasons only over
what came after it, so stale history cannot trigger the same escalation again.

``Ownership`` is the service behind every desk (terminal, Slack, Discord): each action applies
these rules and returns feedback for the agent and the messages to queue for the customer. Who
may act at all (the agent and admin roles) is checked before, in ``bot/desk_hub.py``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field

from brain.store.base import Store, Ticket, TicketPatch, TicketStatus, Turn, utcnow
from channels.base import EscalationCard, OutboundMessage

RESET_ROLE = "system"
_ALLOWED = {
    TicketStatus.ESCALATED: {TicketStatus.CLAIMED, TicketStatus.RESOLVED, TicketStatus.HANDED_BACK},
    TicketStatus.CLAIMED: {TicketStatus.RESOLVED, TicketStatus.HANDED_BACK},
}
_CAS_ATTEMPTS = 5

CLAIMED_TEXT = "{agent} from our team has joined the conversation and will reply here."
RESOLVED_TEXT = (
    "{agent} has marked this conversation as resolved. If you need anything else, just write here."
)
HANDED_BACK_TEXT = (
    "{agent} has handed the conversation back to me, the assistant. How else can I help?"
)


class Outcome(enum.StrEnum):
    OK = "ok"
    NOT_FOUND = "not_found"
    CLOSED = "closed"  # the ticket is already resolved or handed back
    ALREADY_CLAIMED = "already_claimed"
    NOT_CLAIMANT = "not_claimant"
    NOT_CLAIMED = "not_claimed"
    EMPTY = "empty"


@dataclass(frozen=True, slots=True)
class DeskResult:
    outcome: Outcome
    feedback: str  # for the agent who acted
    ticket: Ticket | None = None
    outbound: tuple[OutboundMessage, ...] = field(default=())  # queue these for the customer
    # The same desk message was recorded meanwhile (another replica took it in at the same
    # time): it keeps what it got there (relayed or internal), and counts once.
    repeat: bool = False

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


def since_reset(turns: Sequence[Turn]) -> list[Turn]:
    """The turns after the last time a human gave the conversation back to the bot."""
    for index in range(len(turns) - 1, -1, -1):
        if turns[index].role == RESET_ROLE:
            return list(turns[index + 1 :])
    return list(turns)


class Ownership:
    def __init__(self, store: Store, internal_prefix: str = "note:") -> None:
        self.store = store
        self.internal_prefix = internal_prefix.lower()

    # ``agent`` is the agent's stable identity (a Slack user id, a login); ``name`` is what the
    # customer sees (display name), defaulting to the identity.

    async def claim(self, ticket_id: str, agent: str, name: str | None = None) -> DeskResult:
        return await self._move(ticket_id, agent, name, TicketStatus.CLAIMED, CLAIMED_TEXT)

    async def resolve(self, ticket_id: str, agent: str, name: str | None = None) -> DeskResult:
        return await self._move(ticket_id, agent, name, TicketStatus.RESOLVED, RESOLVED_TEXT)

    async def hand_back(self, ticket_id: str, agent: str, name: str | None = None) -> DeskResult:
        return await self._move(ticket_id, agent, name, TicketStatus.HANDED_BACK, HANDED_BACK_TEXT)

    async def reply(
        self, ticket_id: str, agent: str, text: str, event_id: str, name: str | None = None
    ) -> DeskResult:
        """Relay ``text`` to the customer if ``agent`` owns the ticket and it is not internal.
        A message recorded meanwhile (``event_id``: another replica took the same one in)
        keeps what it got there."""
        body = text.strip()
        if not body:
            return DeskResult(Outcome.EMPTY, "Nothing to send.")
        if body.lower().startswith(self.internal_prefix):
            return await self.note(ticket_id, agent, body, event_id)
        ticket = await self.store.get_ticket(ticket_id)
        if ticket is None:
            return DeskResult(Outcome.NOT_FOUND, f"No ticket {ticket_id}.")
        who = name or (ticket.agent_name if ticket.agent == agent else None) or agent
        earlier = await self._take_in(ticket, agent, who, body, event_id)
        if isinstance(earlier, DeskResult):
            return earlier
        if earlier == "agent":  # queued again: the queue drops it if it was queued then
            outbound = (_relayed(ticket, who, body, event_id),)
            return DeskResult(Outcome.OK, "Sent to the customer once.", ticket, outbound, True)
        return DeskResult(Outcome.OK, "Taken in before; it stayed internal.", ticket, repeat=True)

    async def _take_in(
        self, ticket: Ticket, agent: str, who: str, body: str, event_id: str
    ) -> DeskResult | str:
        """A reply the first time: refused (the ticket is closed), kept as a note (not claimed,
        or not by ``agent``) or relayed. A str: the event was recorded meanwhile, as that."""
        if not ticket.is_open:
            earlier = await self._recorded(ticket, event_id)  # taken in while it was open?
            if earlier is not None:
                return earlier
            feedback = f"{ticket.id} is {ticket.status.label}; not sent."
            return DeskResult(Outcome.CLOSED, feedback, ticket)
        if ticket.status is not TicketStatus.CLAIMED:
            outcome, role = Outcome.NOT_CLAIMED, "note"
            feedback = f"Claim {ticket.id} first; your message stayed internal."
        elif ticket.agent != agent:
            outcome, role = Outcome.NOT_CLAIMANT, "note"
            feedback = (
                f"{ticket.id} is claimed by {ticket.owner_name}; your message stayed internal."
            )
        else:
            outcome, role = Outcome.OK, "agent"
            feedback = f"Sent to the customer on {ticket.ref.channel}."
        text = body if role == "agent" else f"{who}: {body}"
        earlier = await self._record(ticket, role, text, event_id)
        if earlier is not None:
            return earlier
        outbound = (_relayed(ticket, who, body, event_id),) if role == "agent" else ()
        return DeskResult(outcome, feedback, ticket, outbound)

    async def note(self, ticket_id: str, agent: str, text: str, event_id: str) -> DeskResult:
        body = text.strip()
        if body.lower().startswith(self.internal_prefix):  # "note: ..." is a note already
            body = body[len(self.internal_prefix) :].strip()
        if not body:
            return DeskResult(Outcome.EMPTY, "An empty note was not saved.")
        ticket = await self.store.get_ticket(ticket_id)
        if ticket is None:
            return DeskResult(Outcome.NOT_FOUND, f"No ticket {ticket_id}.")
        earlier = await self._record(ticket, "note", f"{agent}: {body}", event_id)
        feedback = "Internal note saved; the customer does not see it."
        return DeskResult(Outcome.OK, feedback, ticket, repeat=earlier is not None)

    async def _move(
        self,
        ticket_id: str,
        agent: str,
        name: str | None,
        target: TicketStatus,
        announcement: str,
    ) -> DeskResult:
        for _ in range(_CAS_ATTEMPTS):
            ticket = await self.store.get_ticket(ticket_id)
            refusal = _refusal(ticket, ticket_id, agent, target)
            if refusal is not None:
                return refusal
            assert ticket is not None
            moved = await self.store.transition_ticket(ticket.id, ticket.epoch, target, agent)
            if moved is None:
                continue  # someone else moved it first: re-read and decide again
            if target is TicketStatus.CLAIMED:
                moved = await self.store.annotate_ticket(
                    moved.id, TicketPatch(agent_name=name or agent)
                )
                assert moved is not None
            if not moved.is_open:
                marker = Turn(f"{moved.id}:{moved.epoch}:reset", RESET_ROLE, f"{target} by {agent}")
                await self.store.append_turn(moved.ref, marker)
            await self.store.incr(f"tickets_{target.value}")
            message = OutboundMessage(
                ref=moved.ref,
                text=announcement.format(agent=name or agent),
                message_id=f"{moved.id}:{moved.epoch}:{target.value}",
            )
            return DeskResult(Outcome.OK, f"{moved.id} {target.label}.", moved, (message,))
        return DeskResult(Outcome.ALREADY_CLAIMED, f"{ticket_id} keeps changing; try again.")

    async def _record(self, ticket: Ticket, role: str, text: str, event_id: str) -> str | None:
        """Record a desk message in the conversation, once per event: None, or the role it
        was recorded under before (another replica took the same event in meanwhile; the
        desk hub remembers the messages it took in, ``DeskHub.handle``)."""
        if await self.store.append_turn(ticket.ref, Turn(_desk_id(event_id), role, text)):
            return None
        return await self._recorded(ticket, event_id) or role

    async def recorded(self, ticket_id: str, event_id: str) -> bool:
        """Whether desk event ``event_id`` is recorded in the ticket's conversation: taken in
        before, here or by another replica (then ``reply`` and ``note`` give what it got)."""
        ticket = await self.store.get_ticket(ticket_id)
        return ticket is not None and await self._recorded(ticket, event_id) is not None

    async def _recorded(self, ticket: Ticket, event_id: str) -> str | None:
        """The role desk event ``event_id`` is recorded under in the ticket's conversation,
        or None (not there, or gone from the bounded history)."""
        conversation = await self.store.get_conversation(ticket.ref.key)
        turns = conversation.turns if conversation is not None else ()
        return next((t.role for t in turns if t.turn_id == _desk_id(event_id)), None)


def _desk_id(event_id: str) -> str:
    """What desk event ``event_id`` is recorded under: its turn in the history, and the
    message id of its relay in the queue."""
    return f"desk:{event_id}"


def _relayed(ticket: Ticket, who: str, body: str, event_id: str) -> OutboundMessage:
    """An agent's reply as the customer gets it (queued once per event: its message id)."""
    return OutboundMessage(
        ref=ticket.ref, text=body, sender_name=who, message_id=_desk_id(event_id)
    )


def _refusal(
    ticket: Ticket | None, ticket_id: str, agent: str, target: TicketStatus
) -> DeskResult | None:
    if ticket is None:
        return DeskResult(Outcome.NOT_FOUND, f"No ticket {ticket_id}.")
    if not ticket.is_open:
        return DeskResult(Outcome.CLOSED, f"{ticket.id} is already {ticket.status.label}.", ticket)
    owner = ticket.owner_name
    if target is TicketStatus.CLAIMED and ticket.status is TicketStatus.CLAIMED:
        who = "you" if ticket.agent == agent else owner
        return DeskResult(
            Outcome.ALREADY_CLAIMED, f"{ticket.id} is already claimed by {who}.", ticket
        )
    if ticket.status is TicketStatus.CLAIMED and ticket.agent != agent:
        return DeskResult(Outcome.NOT_CLAIMANT, f"{ticket.id} is claimed by {owner}.", ticket)
    if target not in _ALLOWED[ticket.status]:
        return DeskResult(Outcome.CLOSED, f"{ticket.id} cannot be {target.label}.", ticket)
    return None


def card_for(
    ticket: Ticket, turns: Sequence[Turn] = (), repage: int = 0, last: int | None = 8
) -> EscalationCard:
    """What desks show about ``ticket``: its state, why it was escalated, the ``last`` turns
    since the last hand-back (``last=None``: the whole kept history, timestamped)."""
    details = ticket.details
    handle_time = None
    if not ticket.is_open:
        handle_time = (ticket.updated_at - ticket.created_at).total_seconds()
    sentiment = details.get("sentiment")
    return EscalationCard(
        ticket_id=ticket.id,
        origin=ticket.ref,
        customer=ticket.customer,
        status=ticket.status.value,
        reasons=_explained(ticket.reasons, details.get("why")),
        summary=ticket.summary,
        transcript=_transcript(turns, last),
        category=details.get("category"),
        urgency=ticket.urgency,
        sentiment=float(sentiment) if isinstance(sentiment, int | float) else None,
        agent=ticket.owner_name,
        repage=repage,
        handle_time_s=handle_time,
        claimant=ticket.agent if ticket.status is TicketStatus.CLAIMED else None,
        created_at=ticket.created_at,
    )


def _transcript(turns: Sequence[Turn], last: int | None) -> tuple[str, ...]:
    if last is not None:
        return tuple(f"{t.role}: {t.text}" for t in since_reset(turns)[-last:])
    return tuple(f"[{t.at:%H:%M}] {t.role:>8}: {t.text}" for t in turns)


def _explained(reasons: Sequence[str], whys: object) -> tuple[str, ...]:
    """``negative_sentiment (profanity)``: each reason with the signal that fired it."""
    if not isinstance(whys, dict):
        return tuple(reasons)
    return tuple(f"{r} ({whys[r]})" if whys.get(r) else r for r in reasons)


def age_s(ticket: Ticket) -> float:
    return (utcnow() - ticket.created_at).total_seconds()
