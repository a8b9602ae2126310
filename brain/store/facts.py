"""What support analytics need to know about each conversation, behind one typed facade.

The store keeps conversations and tickets for running the bot, not for measuring it: a ticket
knows when it was opened and last moved, not when it was claimed, and a conversation without a
ticket leaves no trace of when the bot first answered. So the places where things happen (the
dispatcher after a decision, the desk hub after a claim, reply, resolve or hand back, the CSAT
step) record one *fact* each here: a small key-value entry ``fact:<field>:<conversation key>``
that lives as long as the store's retention. Each field is written by one path only, so writers
need no lock; ``first`` keeps the earliest value (a redelivered message cannot move it).

Knowledge gaps (questions escalated because the bot could not answer, with the agent's reply)
and the digest's "posted" marker live here too: all are analytics state, none is needed to
answer a customer.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, datetime

from brain.store.base import Store

_FACT = "fact:"
_GAP = "gap:"
_DIGEST = "digest_posted:"
_COST = "conversation_cost_usd:"  # written by brain/router.py per conversation

TIMES = (
    "started", "first_bot_reply", "escalated", "claimed", "first_agent_reply", "resolved",
    "handed_back", "reopened", "csat_asked", "csat_rated",
)  # fmt: skip
TEXTS = (
    "channel", "intent", "ticket", "urgency", "resolved_by", "agent_reply", "csat_answer",
    "csat_comment", "csat_follow_up",
)  # fmt: skip
LISTS = ("reasons",)
NUMBERS = ("csat_rating",)
FIELDS = frozenset((*TIMES, *TEXTS, *LISTS, *NUMBERS))
# Written once and never changed: a value read or written may be remembered in the process.
SETTLED = frozenset((*TIMES, "channel", "intent", "csat_answer"))
CACHE_ENTRIES = 50_000


@dataclass(frozen=True, slots=True)
class ConversationFacts:
    """Everything recorded about one conversation (its first escalation's times, when it had
    several). Every field is optional: a conversation has only what happened to it."""

    key: str
    started: datetime | None = None
    first_bot_reply: datetime | None = None
    escalated: datetime | None = None
    claimed: datetime | None = None
    first_agent_reply: datetime | None = None
    resolved: datetime | None = None
    handed_back: datetime | None = None
    reopened: datetime | None = None
    csat_asked: datetime | None = None
    csat_rated: datetime | None = None
    channel: str | None = None
    intent: str | None = None
    ticket: str | None = None
    urgency: str | None = None
    resolved_by: str | None = None  # "agent" or "bot"
    agent_reply: str | None = None  # the agent's latest reply to the customer (masked)
    csat_answer: str | None = None  # idempotency key of the message that carried the rating
    csat_comment: str | None = None
    csat_follow_up: str | None = None  # after a rating button: "open", the comment's key, or "-"
    reasons: tuple[str, ...] = ()
    csat_rating: int | None = None
    cost_usd: float = 0.0


@dataclass(frozen=True, slots=True)
class Gap:
    """A question the bot could not answer, with how an agent answered it."""

    id: str  # the ticket id
    question: str  # masked, as desks show it
    answer: str
    intent: str | None
    reasons: tuple[str, ...]
    at: datetime
    channel: str = ""
    agent: str = ""

    def to_json(self) -> str:
        data = {**asdict(self), "at": self.at.isoformat(), "reasons": list(self.reasons)}
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Gap:
        data = json.loads(text)
        data["at"] = datetime.fromisoformat(data["at"])
        data["reasons"] = tuple(data.get("reasons") or ())
        return cls(**data)


def _encode(name: str, value: object) -> str:
    if name in TIMES:
        assert isinstance(value, datetime)
        return value.isoformat()
    if name in LISTS:
        return json.dumps(list(value))  # type: ignore[call-overload]
    return str(value)


def _decode(name: str, text: str) -> object:
    if name in TIMES:
        return datetime.fromisoformat(text)
    if name in LISTS:
        return tuple(json.loads(text))
    if name in NUMBERS:
        return int(text)
    return text


class Facts:
    def __init__(self, store: Store, ttl_s: float) -> None:
        self.store = store
        self.ttl_s = ttl_s
        # Settled facts seen by this process: the message path asks "is it there yet?" for
        # every message, and the answer, once yes, stays yes. Bounded, oldest dropped first.
        self._settled: dict[str, str] = {}

    def _remember(self, entry: str, text: str) -> None:
        self._settled[entry] = text
        if len(self._settled) > CACHE_ENTRIES:
            del self._settled[next(iter(self._settled))]

    async def _read(self, name: str, key: str) -> str | None:
        entry = f"{_FACT}{name}:{key}"
        text = self._settled.get(entry)
        if text is None:
            text = await self.store.kv_get(entry)
            if text is not None and name in SETTLED:
                self._remember(entry, text)
        return text

    # -- conversation facts ------------------------------------------------------------------
    async def put(self, key: str, name: str, value: object) -> None:
        if name not in FIELDS:
            raise ValueError(f"unknown fact {name!r}")
        entry, text = f"{_FACT}{name}:{key}", _encode(name, value)
        await self.store.kv_set(entry, text, ttl_s=self.ttl_s)
        if name in SETTLED:
            self._remember(entry, text)

    async def first(self, key: str, name: str, value: object) -> bool:
        """Record ``value`` unless the fact is already there; True if it was recorded."""
        if await self._read(name, key) is not None:
            return False
        await self.put(key, name, value)
        return True

    async def get(self, key: str, *names: str) -> ConversationFacts:
        """The conversation's facts; only ``names`` (one read each) when given, else all."""
        values: dict[str, object] = {}
        for name in names or sorted(FIELDS):
            if name not in FIELDS:
                raise ValueError(f"unknown fact {name!r}")
            text = await self._read(name, key)
            if text is not None:
                values[name] = _decode(name, text)
        cost = 0.0 if names else float(await self.store.kv_get(_COST + key) or 0.0)
        return ConversationFacts(key=key, cost_usd=cost, **values)  # type: ignore[arg-type]

    async def all(self) -> list[ConversationFacts]:
        """Every conversation with a recorded fact (one scan per field family)."""
        by_key: dict[str, dict[str, object]] = {}
        for entry, text in (await self.store.kv_scan(_FACT)).items():
            name, _, key = entry.removeprefix(_FACT).partition(":")
            if name in FIELDS and key:
                by_key.setdefault(key, {})[name] = _decode(name, text)
        spent = await self.store.kv_scan(_COST)
        costs = {k.removeprefix(_COST): float(v) for k, v in spent.items()}
        return [
            ConversationFacts(key=key, cost_usd=costs.get(key, 0.0), **values)  # type: ignore[arg-type]
            for key, values in sorted(by_key.items())
        ]

    # -- knowledge gaps ----------------------------------------------------------------------
    async def add_gap(self, gap: Gap) -> None:
        await self.store.kv_set(_GAP + gap.id, gap.to_json(), ttl_s=self.ttl_s)

    async def gap(self, gap_id: str) -> Gap | None:
        text = await self.store.kv_get(_GAP + gap_id)
        return Gap.from_json(text) if text is not None else None

    async def gaps(self) -> list[Gap]:
        found = [Gap.from_json(v) for v in (await self.store.kv_scan(_GAP)).values()]
        return sorted(found, key=lambda g: g.at)

    async def remove_gap(self, gap_id: str) -> None:
        await self.store.kv_delete(_GAP + gap_id)

    # -- the daily digest, posted once by whichever replica gets there first -----------------
    async def digest_posted(self, day: date) -> bool:
        return await self.store.kv_get(_DIGEST + day.isoformat()) is not None

    async def mark_digest_posted(self, day: date, by: str) -> None:
        await self.store.kv_set(_DIGEST + day.isoformat(), by, ttl_s=7 * 86400)
