"""The daily digest and the stats admins ask for: numbers from the store's day counters, the
support analytics (``brain/analytics.py``), what is waiting, the providers, and the knowledge
gaps clustered with the answers agents gave."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from brain.analytics import Analytics, duration_text, report_lines
from brain.store.base import Ticket
from brain.store.facts import Gap


def summarize(days: Sequence[tuple[date, Mapping[str, float]]]) -> list[tuple[str, str]]:
    """(label, value) lines for one or more days of counters."""
    total: dict[str, float] = {}
    for _, counters in days:
        for name, value in counters.items():
            total[name] = total.get(name, 0.0) + value

    def n(name: str) -> float:
        return total.get(name, 0.0)

    handled = sum(v for k, v in total.items() if k.startswith("decisions_"))
    answered = n("decisions_reply")
    escalated = n("decisions_escalate")
    reasons = sorted(
        ((k.removeprefix("escalations_"), v) for k, v in total.items()
         if k.startswith("escalations_")),
        key=lambda kv: -kv[1],
    )  # fmt: skip
    share = f" ({answered / handled:.0%})" if handled else ""
    lines = [
        ("messages handled", f"{handled:g}"),
        ("answered by the bot", f"{answered:g}{share}"),
        ("escalated", f"{escalated:g}"),
        ("tickets claimed / resolved / handed back",
         f"{n('tickets_claimed'):g} / {n('tickets_resolved'):g} / {n('tickets_handed_back'):g}"),
        ("SLA re-pages", f"{n('sla_repages'):g}"),
        ("duplicates dropped", f"{n('duplicates_dropped'):g}"),
        ("errors answered with the fallback", f"{n('brain_errors'):g}"),
        ("LLM calls / cost", f"{n('llm_calls'):g} / ${n('llm_cost_usd'):.2f}"),
    ]  # fmt: skip
    if reasons:
        lines.append(("top escalation reasons", ", ".join(f"{r} {v:g}" for r, v in reasons[:4])))
    return lines


def digest_text(
    days: Sequence[tuple[date, Mapping[str, float]]], open_tickets: Sequence[Ticket]
) -> str:
    first, last = days[0][0], days[-1][0]
    span = first.isoformat() if first == last else f"{first.isoformat()} to {last.isoformat()}"
    lines = [f"Frontdesk digest for {span}"]
    lines += [f"• {label}: {value}" for label, value in summarize(days)]
    unclaimed = [t for t in open_tickets if t.agent is None]
    lines.append(f"• open tickets: {len(open_tickets)} ({len(unclaimed)} unclaimed)")
    return "\n".join(lines)


# -- the daily digest: yesterday's support, what is waiting, providers, knowledge gaps --------
_STOP = frozenset(
    re.split(
        r"\s+",
        "the and for you your with that this have has can how what when where why who does did "
        "are was were will would could should not but from into about there their them they our "
        "hello please thanks thank any all just get got want need",
    )
)


def _words(text: str) -> frozenset[str]:
    return frozenset(w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 2) - _STOP


def _similar(a: Gap, b: Gap) -> bool:
    wa, wb = _words(a.question), _words(b.question)
    if not wa or not wb:
        return False
    jaccard = len(wa & wb) / len(wa | wb)
    same_intent = a.intent is not None and a.intent == b.intent
    return jaccard >= 0.4 or (same_intent and jaccard >= 0.2)


@dataclass(frozen=True, slots=True)
class GapCluster:
    """Questions that look alike; the newest one (with its agent's answer) stands for them."""

    gaps: tuple[Gap, ...]

    @property
    def lead(self) -> Gap:
        return self.gaps[-1]


def cluster_gaps(gaps: Sequence[Gap]) -> list[GapCluster]:
    """Greedy clustering by shared words (and intent), biggest cluster first."""
    groups: list[list[Gap]] = []
    for gap in sorted(gaps, key=lambda g: g.at):
        for group in groups:
            if any(_similar(gap, other) for other in group):
                group.append(gap)
                break
        else:
            groups.append([gap])
    groups.sort(key=lambda g: (-len(g), -g[-1].at.timestamp()))
    return [GapCluster(tuple(g)) for g in groups]


@dataclass(frozen=True, slots=True)
class ProviderDay:
    name: str
    state: str  # closed, open, half_open, or disabled
    calls: float
    failures: float
    cost_usd: float


@dataclass(frozen=True, slots=True)
class DigestInputs:
    day: date
    analytics: Analytics
    open_tickets: Sequence[Ticket]
    providers: Sequence[ProviderDay]
    spent_usd: float
    budget_usd: float
    gaps: Sequence[GapCluster]
    now: datetime
    sla_minutes: Mapping[str, float] = field(default_factory=dict)


def _age(ticket: Ticket, now: datetime) -> str:
    return duration_text((now - ticket.created_at).total_seconds())


def daily_digest(d: DigestInputs) -> str:
    lines = [f"Frontdesk daily digest for {d.day.isoformat()}", "", "Support that day:"]
    lines += [f"• {label}: {value}" for label, value in report_lines(d.analytics)]
    unclaimed = [t for t in d.open_tickets if t.agent is None]
    lines += ["", f"Open tickets: {len(d.open_tickets)} ({len(unclaimed)} unclaimed)"]
    for t in d.open_tickets[:15]:
        sla_s = d.sla_minutes.get(t.urgency or "normal", 60.0) * 60
        late = (
            " PAST SLA"
            if t.agent is None and (d.now - t.created_at).total_seconds() > sla_s
            else ""
        )
        owner = f"claimed by {t.owner_name}" if t.agent else "unclaimed"
        lines.append(f"• {t.id} · {owner} · {_age(t, d.now)} old · {t.ref.channel} · "
                     f"{t.urgency or 'normal'}{late}")  # fmt: skip
    breaches = d.analytics.sla_breaches
    if breaches:
        shown = ", ".join(f"{b.ticket} ({duration_text(b.waited_s)})" for b in breaches[:10])
        lines += ["", f"SLA breaches that day: {len(breaches)}: {shown}"]
    lines += ["", "Providers:"]
    if not d.providers:
        lines.append("• offline answers only (no LLM configured)")
    for p in d.providers:
        lines.append(f"• {p.name}: {p.state}, {p.calls:g} calls, {p.failures:g} failures, "
                     f"${p.cost_usd:.2f}")  # fmt: skip
    budget = f" of the ${d.budget_usd:.2f} daily budget" if d.budget_usd > 0 else " (no budget)"
    share = f" ({d.spent_usd / d.budget_usd:.0%})" if d.budget_usd > 0 else ""
    lines.append(f"• spend that day: ${d.spent_usd:.2f}{budget}{share}")
    lines += ["", "Knowledge gaps (questions the bot could not answer):"]
    if not d.gaps:
        lines.append("• none waiting")
    for cluster in d.gaps[:5]:
        lead = cluster.lead
        times = f" ({len(cluster.gaps)}×)" if len(cluster.gaps) > 1 else ""
        lines.append(f"• {lead.question[:160]}{times}")
        lines.append(f"  answered by {lead.agent or 'an agent'}: {lead.answer[:300]}")
        lines.append(f'  Add to FAQ: /frontdesk gap approve {lead.id}   (or: gap approve '
                     f'{lead.id} "edited answer")')  # fmt: skip
    return "\n".join(lines)
