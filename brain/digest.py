"""The daily digest and the stats admins ask for: numbers from the store's day counters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from brain.store.base import Ticket


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
