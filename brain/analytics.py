"""Support analytics from the facts recorded per conversation (``brain.store.facts``).

A pure function of the facts, a window and the SLA table, so it can be checked against values
computed by hand. ``docs/analytics.md`` defines every number; the short version:

- the window holds the conversations whose first customer message falls in ``[since, until)``;
- first response (bot): first bot message - first customer message;
- first response (human), time to claim, time to resolve: from the escalation to the first
  agent reply, the claim, the resolve by an agent;
- bot resolutions: conversations the bot answered and never escalated (``confirmed``: the
  customer said it helped); rates are shares of the window's conversations;
- reopen rate: resolved conversations in which the customer wrote again within N days;
- SLA breach: an escalation whose first human action (claim, resolve or hand back) came later
  than the SLA for its urgency, or has not come and the SLA is already past;
- CSAT: ratings 1-5; the score is the share of 4 and 5;
- cost per conversation and per bot resolution: LLM spend of the window's conversations.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from brain.store.base import utcnow
from brain.store.facts import ConversationFacts, Facts

DEFAULT_SLA_MINUTES = 60.0


@dataclass(frozen=True, slots=True)
class Durations:
    """Seconds: how many, the median and the mean (None when there are none)."""

    count: int = 0
    median_s: float | None = None
    mean_s: float | None = None

    @classmethod
    def of(cls, values: Sequence[float]) -> Durations:
        if not values:
            return cls()
        return cls(len(values), float(statistics.median(values)), statistics.fmean(values))


@dataclass(frozen=True, slots=True)
class SlaBreach:
    ticket: str
    urgency: str
    waited_s: float
    sla_s: float
    open: bool  # still waiting for a human


@dataclass(frozen=True, slots=True)
class Analytics:
    since: datetime
    until: datetime
    conversations: int
    first_response_bot: Durations
    first_response_human: Durations
    time_to_claim: Durations
    time_to_resolve: Durations
    bot_resolutions: int
    bot_resolutions_confirmed: int
    bot_resolution_rate: float | None
    escalations: int
    escalation_rate: float | None
    escalations_by_reason: dict[str, int]
    escalation_rate_by_channel: dict[str, float]
    resolved: int
    reopened: int
    reopen_rate: float | None
    sla_breaches: tuple[SlaBreach, ...]
    csat_asked: int
    csat_responses: int
    csat_average: float | None
    csat_score: float | None
    cost_usd: float
    cost_per_conversation: float | None
    cost_per_bot_resolution: float | None
    top_intents: tuple[tuple[str, int], ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["since"], data["until"] = self.since.isoformat(), self.until.isoformat()
        data["sla_breaches"] = [asdict(b) for b in self.sla_breaches]
        data["sla_breach_count"] = len(self.sla_breaches)
        data["top_intents"] = [{"intent": i, "conversations": n} for i, n in self.top_intents]
        return data


def _seconds(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    return (later - earlier).total_seconds()


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _all(values: Sequence[float | None]) -> list[float]:
    return [v for v in values if v is not None and v >= 0]


def compute(
    facts: Sequence[ConversationFacts],
    since: datetime,
    until: datetime,
    now: datetime,
    sla_minutes: Mapping[str, float] | None = None,
    top: int = 5,
) -> Analytics:
    window = [f for f in facts if f.started is not None and since <= f.started < until]
    total = len(window)
    escalated = [f for f in window if f.escalated is not None]
    bot_resolved = [f for f in window if f.escalated is None and f.first_bot_reply is not None]
    resolved = [f for f in window if f.resolved is not None]
    by_agent = [f for f in escalated if f.resolved_by == "agent"]
    reopened = [f for f in resolved if f.reopened is not None]
    by_reason: Counter[str] = Counter(r for f in escalated for r in set(f.reasons))
    channels = Counter(f.channel or "?" for f in window)
    escalated_in = Counter(f.channel or "?" for f in escalated)
    ratings = [f.csat_rating for f in window if f.csat_rating is not None]
    cost = sum(f.cost_usd for f in window)
    intents = Counter(f.intent for f in window if f.intent)
    return Analytics(
        since=since,
        until=until,
        conversations=total,
        first_response_bot=Durations.of(
            _all([_seconds(f.first_bot_reply, f.started) for f in window])
        ),
        first_response_human=Durations.of(
            _all([_seconds(f.first_agent_reply, f.escalated) for f in escalated])
        ),
        time_to_claim=Durations.of(_all([_seconds(f.claimed, f.escalated) for f in escalated])),
        time_to_resolve=Durations.of(_all([_seconds(f.resolved, f.escalated) for f in by_agent])),
        bot_resolutions=len(bot_resolved),
        bot_resolutions_confirmed=sum(1 for f in bot_resolved if f.resolved_by == "bot"),
        bot_resolution_rate=_rate(len(bot_resolved), total),
        escalations=len(escalated),
        escalation_rate=_rate(len(escalated), total),
        escalations_by_reason=dict(by_reason.most_common()),
        escalation_rate_by_channel={c: escalated_in[c] / n for c, n in sorted(channels.items())},
        resolved=len(resolved),
        reopened=len(reopened),
        reopen_rate=_rate(len(reopened), len(resolved)),
        sla_breaches=tuple(_breaches(escalated, now, sla_minutes or {})),
        csat_asked=sum(1 for f in window if f.csat_asked is not None),
        csat_responses=len(ratings),
        csat_average=statistics.fmean(ratings) if ratings else None,
        csat_score=_rate(sum(1 for r in ratings if r >= 4), len(ratings)),
        cost_usd=cost,
        cost_per_conversation=cost / total if total else None,
        cost_per_bot_resolution=cost / len(bot_resolved) if bot_resolved else None,
        top_intents=tuple(intents.most_common(top)),
    )


def _breaches(
    escalated: Sequence[ConversationFacts], now: datetime, sla_minutes: Mapping[str, float]
) -> list[SlaBreach]:
    found = []
    for f in escalated:
        assert f.escalated is not None
        urgency = f.urgency or "normal"
        sla_s = sla_minutes.get(urgency, DEFAULT_SLA_MINUTES) * 60
        acted = [t for t in (f.claimed, f.resolved, f.handed_back) if t is not None]
        until = min(acted) if acted else now
        waited = (until - f.escalated).total_seconds()
        if waited > sla_s:
            found.append(SlaBreach(f.ticket or f.key, urgency, waited, sla_s, open=not acted))
    return found


# -- for people ---------------------------------------------------------------------------------
def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _usd(value: float | None) -> str:
    return "-" if value is None else f"${value:.4f}"


def _durations(d: Durations) -> str:
    if not d.count:
        return "-"
    return f"median {duration_text(d.median_s)}, mean {duration_text(d.mean_s)} (n={d.count})"


def report_lines(a: Analytics) -> list[tuple[str, str]]:
    reasons = ", ".join(f"{r} {n}" for r, n in a.escalations_by_reason.items()) or "-"
    channels = ", ".join(f"{c} {_pct(r)}" for c, r in a.escalation_rate_by_channel.items()) or "-"
    csat = "-"
    if a.csat_responses:
        csat = (f"{_pct(a.csat_score)} satisfied, average {a.csat_average:.1f}/5 "
                f"({a.csat_responses} of {a.csat_asked} asked)")  # fmt: skip
    elif a.csat_asked:
        csat = f"no ratings yet ({a.csat_asked} asked)"
    open_breaches = sum(1 for b in a.sla_breaches if b.open)
    intents = ", ".join(f"{i} {n}" for i, n in a.top_intents) or "-"
    return [
        ("conversations", str(a.conversations)),
        ("first response (bot)", _durations(a.first_response_bot)),
        ("first response (human)", _durations(a.first_response_human)),
        ("time to claim", _durations(a.time_to_claim)),
        ("time to resolve", _durations(a.time_to_resolve)),
        ("bot resolution rate",
         f"{_pct(a.bot_resolution_rate)} ({a.bot_resolutions}, "
         f"{a.bot_resolutions_confirmed} confirmed by the customer)"),
        ("escalation rate", f"{_pct(a.escalation_rate)} ({a.escalations})"),
        ("escalations by reason", reasons),
        ("escalation rate by channel", channels),
        ("reopen rate", f"{_pct(a.reopen_rate)} ({a.reopened} of {a.resolved} resolved)"),
        ("SLA breaches", f"{len(a.sla_breaches)} ({open_breaches} still waiting)"),
        ("CSAT", csat),
        ("LLM cost", f"${a.cost_usd:.4f}; per conversation {_usd(a.cost_per_conversation)}, "
                     f"per bot resolution {_usd(a.cost_per_bot_resolution)}"),
        ("top intents", intents),
    ]  # fmt: skip


async def load(
    facts: Facts,
    since: datetime,
    until: datetime,
    sla_minutes: Mapping[str, float] | None = None,
    now: datetime | None = None,
) -> Analytics:
    """``compute`` over every conversation the store has facts for."""
    return compute(await facts.all(), since, until, now or utcnow(), sla_minutes)


async def last_days(
    facts: Facts, days: float, sla_minutes: Mapping[str, float] | None = None
) -> Analytics:
    now = utcnow()
    return await load(facts, now - timedelta(days=days), now, sla_minutes, now)
