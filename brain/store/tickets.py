"""Tickets: ``TicketStatus`` (``OPEN_STATUSES``), the ``Ticket`` a store keeps with its typed
fields, the ``TicketPatch`` bookkeeping merged into it and the SLA ``Repage`` steps; the
store's clock (``utcnow``, ``today``)."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from channels.base import Author, ConversationRef


def utcnow() -> datetime:
    return datetime.now(UTC)


class TicketStatus(enum.StrEnum):
    ESCALATED = "escalated"
    CLAIMED = "claimed"
    RESOLVED = "resolved"
    HANDED_BACK = "handed_back"

    @property
    def label(self) -> str:
        """The state in words, for people ("handed back")."""
        return self.value.replace("_", " ")


OPEN_STATUSES = frozenset({TicketStatus.ESCALATED, TicketStatus.CLAIMED})


@dataclass(frozen=True, slots=True)
class Repage:
    """One step of a ticket's SLA ladder: the ``level``-th louder re-page, on ``desk``."""

    level: int
    at: datetime
    desk: str


@dataclass(frozen=True, slots=True)
class TicketPatch:
    """Bookkeeping a store merges into a ticket without an ownership change (the epoch stays):
    the claimant's shown name, where a desk shows the ticket's card, one more SLA re-page,
    one more reason (kept once: "undeliverable" when a reply could not be delivered)."""

    agent_name: str | None = None
    desk_ref: tuple[str, str] | None = None  # (desk name, ref)
    repage: Repage | None = None
    reason: str | None = None

    def apply(self, ticket: Ticket) -> Ticket:
        changes: dict[str, Any] = {}
        if self.agent_name is not None:
            changes["agent_name"] = self.agent_name
        if self.desk_ref is not None:
            desk, ref = self.desk_ref
            changes["desk_refs"] = {**ticket.desk_refs, desk: ref}
        if self.repage is not None:
            changes["repages"] = (*ticket.repages, self.repage)
        if self.reason is not None and self.reason not in ticket.reasons:
            changes["reasons"] = (*ticket.reasons, self.reason)
        return replace(ticket, **changes)


@dataclass(frozen=True, slots=True)
class Ticket:
    """An escalation. ``epoch`` grows by one on every transition (compare-and-set token).

    ``agent_name`` is the claimant's name as customers see it; ``desk_refs`` where each desk
    shows the card; ``repages`` the SLA ladder; ``details`` the classification at escalation
    time (intent, category, sentiment, language), shown on cards."""

    id: str
    ref: ConversationRef
    customer: Author
    status: TicketStatus
    epoch: int
    reasons: tuple[str, ...]
    summary: str
    agent: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    details: dict[str, Any] = field(default_factory=dict)
    urgency: str | None = None
    agent_name: str | None = None
    desk_refs: dict[str, str] = field(default_factory=dict)
    repages: tuple[Repage, ...] = ()

    @classmethod
    def opened(
        cls,
        ticket_id: str,
        ref: ConversationRef,
        customer: Author,
        reasons: Sequence[str],
        summary: str,
        details: Mapping[str, Any] | None,
        now: datetime,
    ) -> Ticket:
        """A new escalation; the urgency (which sets the SLA) is lifted out of ``details``."""
        facts = dict(details or {})
        urgency = facts.pop("urgency", None)
        return cls(
            id=ticket_id, ref=ref, customer=customer, status=TicketStatus.ESCALATED, epoch=0,
            reasons=tuple(reasons), summary=summary, created_at=now, updated_at=now,
            details=facts, urgency=str(urgency) if urgency is not None else None,
        )  # fmt: skip

    @property
    def owner_name(self) -> str | None:
        """Who owns it, as people see it."""
        return self.agent_name or self.agent

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def to_json(self) -> str:
        return json.dumps(
            {
                "id": self.id,
                "ref": self.ref.to_dict(),
                "customer": asdict(self.customer),
                "status": self.status.value,
                "epoch": self.epoch,
                "reasons": list(self.reasons),
                "summary": self.summary,
                "agent": self.agent,
                "created_at": self.created_at.isoformat(),
                "updated_at": self.updated_at.isoformat(),
                "details": self.details,
                "urgency": self.urgency,
                "agent_name": self.agent_name,
                "desk_refs": self.desk_refs,
                "repages": [
                    {"level": r.level, "at": r.at.isoformat(), "desk": r.desk} for r in self.repages
                ],
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Ticket:
        data = json.loads(text)
        return cls(
            id=data["id"],
            ref=ConversationRef.from_dict(data["ref"]),
            customer=Author(**data["customer"]),
            status=TicketStatus(data["status"]),
            epoch=int(data["epoch"]),
            reasons=tuple(data["reasons"]),
            summary=data["summary"],
            agent=data.get("agent"),
            created_at=datetime.fromisoformat(data["created_at"]),
            updated_at=datetime.fromisoformat(data["updated_at"]),
            details=dict(data.get("details") or {}),
            urgency=data.get("urgency"),
            agent_name=data.get("agent_name"),
            desk_refs=dict(data.get("desk_refs") or {}),
            repages=tuple(
                Repage(int(r["level"]), datetime.fromisoformat(r["at"]), r["desk"])
                for r in data.get("repages") or ()
            ),
        )

    def moved(self, status: TicketStatus, agent: str | None, now: datetime) -> Ticket:
        return replace(self, status=status, agent=agent, epoch=self.epoch + 1, updated_at=now)


def today(now: datetime | None = None) -> date:
    return (now or utcnow()).date()
