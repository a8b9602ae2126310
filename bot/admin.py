"""Admin commands (``/frontdesk ...`` in Slack): status, stats, escalations, FAQ, providers,
pausing channels, the digest. Mutating commands are for admins only; a refused attempt is
logged with the user id. State they change lives in the store, so every replica sees it."""

from __future__ import annotations

import logging
import re
import shlex
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from brain.analytics import last_days, report_lines
from brain.conversation import age_s
from brain.digest import cluster_gaps, digest_text, summarize
from brain.entries import KnowledgeEntry
from brain.router import Router
from brain.store.base import OPEN_STATUSES, Store, today, utcnow
from brain.store.facts import Facts
from brain.store.state import FaqRecord, SharedState
from channels.base import DeskEvent, DeskFeedback, Role

logger = logging.getLogger(__name__)

HELP = """Frontdesk commands:
• status: channels, providers (circuit breakers), queue depth, store
• stats [today|7d|Nd]: what the bot did, and the support analytics (response times, resolution
  and escalation rates, reopen rate, SLA breaches, CSAT, cost, intents)
• escalations: open tickets, oldest first
• faq list | faq add "question" "answer" | faq remove ID   (admins)
• provider disable NAME | provider enable NAME   (admins)
• pause CHANNEL | resume CHANNEL: while paused, every message there goes to a person (admins)
• digest: post the daily digest now
• gap list | gap approve ID ["edited answer"] | gap dismiss ID: questions the bot could not
  answer, with the agent's reply; approving makes it a FAQ entry at once (admins)"""

MUTATING = {
    "faq add", "faq remove", "provider disable", "provider enable", "pause", "resume",
    "gap approve", "gap dismiss",
}  # fmt: skip
_GROUPS = ("faq", "provider", "gap")


@dataclass
class AdminContext:
    store: Store
    channels: tuple[str, ...]
    router: Router | None = None
    reload_knowledge: Callable[[str], Awaitable[bool]] | None = None
    post_digest: Callable[[str], Awaitable[None]] | None = None
    facts: Facts | None = None  # support analytics (None: counters only)
    sla_minutes: Mapping[str, float] | None = None
    digest: Any = None  # bot.digest.DigestSource: the full daily digest (None: counters only)


class Admin:
    def __init__(self, context: AdminContext) -> None:
        self.ctx = context
        self.state = SharedState(context.store)

    async def run(self, event: DeskEvent) -> DeskFeedback:
        try:
            words = shlex.split(event.text)
        except ValueError:
            return DeskFeedback('Unbalanced quotes. Example: faq add "question" "answer"', ok=False)
        if not words or words[0] == "help":
            return DeskFeedback(HELP)
        verb = " ".join(words[:2]) if words[0] in _GROUPS else words[0]
        if verb in MUTATING and event.role < Role.ADMIN:
            logger.warning("refused %r from non-admin %s", event.text, event.agent.id)
            return DeskFeedback("Only Frontdesk admins can do that.", ok=False)
        handler = self._handlers().get(verb)
        if handler is None:
            return DeskFeedback(f"Unknown command {words[0]!r}.\n{HELP}", ok=False)
        args = words[2:] if words[0] in _GROUPS else words[1:]
        return await handler(args, event)

    def _handlers(self) -> Mapping[str, Callable[[list[str], DeskEvent], Awaitable[DeskFeedback]]]:
        return {
            "status": self._status,
            "stats": self._stats,
            "escalations": self._escalations,
            "faq list": self._faq_list,
            "faq add": self._faq_add,
            "faq remove": self._faq_remove,
            "provider disable": self._disable,
            "provider enable": self._enable,
            "pause": self._pause,
            "resume": self._resume,
            "digest": self._digest,
            "gap list": self._gap_list,
            "gap approve": self._gap_approve,
            "gap dismiss": self._gap_dismiss,
        }

    async def _status(self, args: list[str], event: DeskEvent) -> DeskFeedback:
        paused = await self.state.paused_channels()
        channels = ", ".join(f"{c} (paused)" if c in paused else c for c in self.ctx.channels)
        lines = [f"channels: {channels or 'none'}"]
        router = self.ctx.router
        if router is None:
            lines.append("providers: offline answers only (no LLM configured)")
        else:
            for name, state in router.breaker_states().items():
                note = "disabled by an admin" if name in router.disabled else f"circuit {state}"
                lines.append(f"provider {name}: {note}")
        lines.append(f"queue depth: {await self.ctx.store.queue_depth()}")
        lines.append(f"store: {self.ctx.store.backend}")
        return DeskFeedback("\n".join(lines))

    async def _stats(self, args: list[str], event: DeskEvent) -> DeskFeedback:
        span = args[0] if args else "today"
        count = 1 if span == "today" else _days(span)
        if count is None:
            return DeskFeedback("Use: stats today | stats 7d | stats 30d", ok=False)
        days = [today() - timedelta(days=i) for i in range(count)][::-1]
        counters = [(day, await self.ctx.store.counters(day)) for day in days]
        lines = [f"{label}: {value}" for label, value in summarize(counters)]
        if self.ctx.facts is not None:
            analytics = await last_days(self.ctx.facts, count, self.ctx.sla_minutes)
            lines.append(f"Support analytics (conversations started in the last {count} d):")
            lines += [f"{label}: {value}" for label, value in report_lines(analytics)]
        return DeskFeedback(f"Stats ({span}):\n" + "\n".join(lines))

    async def _escalations(self, args: list[str], event: DeskEvent) -> DeskFeedback:
        tickets = await self.ctx.store.list_tickets(OPEN_STATUSES)
        if not tickets:
            return DeskFeedback("No open escalations.")
        lines = []
        for t in tickets:
            owner = t.owner_name or "UNCLAIMED"
            minutes = int(age_s(t) // 60)
            lines.append(f"{t.id} · {owner} · {minutes} min · {t.ref.channel} · {t.summary[:80]}")
        return DeskFeedback("\n".join(lines))

    async def _faq_list(self, args: list[str], event: DeskEvent) -> DeskFeedback:
        entries = await self.state.faq_entries()
        if not entries:
            return DeskFeedback("No FAQ entries added here (the knowledge base files still apply).")
        lines = [f"{entry_id}: {record.question}" for entry_id, record in entries.items()]
        return DeskFeedback("\n".join(lines))

    async def _faq_add(self, args: list[str], event: DeskEvent) -> DeskFeedback:
        if len(args) != 2 or not all(a.strip() for a in args):
            return DeskFeedback('Use: faq add "question" "answer"', ok=False)
        question, answer = (a.strip() for a in args)
        slug = re.sub(r"[^a-z0-9]+", "-", question.lower()).strip("-")[:40] or "entry"
        entry_id = f"admin-{slug}"
        record = FaqRecord(question, answer, by=event.agent.id, at=utcnow().isoformat())
        await self.state.add_faq(entry_id, record)
        await self._reload(f"faq add {entry_id}")
        return DeskFeedback(f"Added FAQ {entry_id}; the bot answers with it from now on.")

    async def _faq_remove(self, args: list[str], event: DeskEvent) -> DeskFeedback:
        if len(args) != 1:
            return DeskFeedback("Use: faq remove ID (see faq list)", ok=False)
        if not await self.state.remove_faq(args[0]):
            return DeskFeedback(f"No FAQ entry {args[0]} (see faq list).", ok=False)
        await self._reload(f"faq remove {args[0]}")
        return DeskFeedback(f"Removed FAQ {args[0]}.")

    async def _disable(self, args: list[str], event: DeskEvent) -> DeskFeedback:
        return await self._set_provider(args, enabled=False)

    async def _enable(self, args: list[str], event: DeskEvent) -> DeskFeedback:
        return await self._set_provider(args, enabled=True)

    async def _set_provider(self, args: list[str], enabled: bool) -> DeskFeedback:
        router = self.ctx.router
        names = sorted(router.routes) if router else []
        if len(args) != 1 or args[0] not in names:
            return DeskFeedback(f"Name one of: {', '.join(names) or 'no providers'}", ok=False)
        await self.state.set_provider_enabled(args[0], enabled)
        await sync_disabled(self.ctx.store, router)
        return DeskFeedback(f"{args[0]} {'enabled' if enabled else 'disabled'}.")

    async def _pause(self, args: list[str], event: DeskEvent) -> DeskFeedback:
        return await self._set_paused(args, paused=True)

    async def _resume(self, args: list[str], event: DeskEvent) -> DeskFeedback:
        return await self._set_paused(args, paused=False)

    async def _set_paused(self, args: list[str], paused: bool) -> DeskFeedback:
        if len(args) != 1 or args[0] not in self.ctx.channels:
            return DeskFeedback(f"Name one of: {', '.join(self.ctx.channels)}", ok=False)
        if paused:
            await self.state.pause(args[0])
            return DeskFeedback(f"Paused {args[0]}: every message there goes to a person.")
        await self.state.resume(args[0])
        return DeskFeedback(f"Resumed {args[0]}: the bot answers again.")

    async def _digest(self, args: list[str], event: DeskEvent) -> DeskFeedback:
        if self.ctx.digest is not None:
            text = await self.ctx.digest.text()
        else:
            text = await build_digest(self.ctx.store, days=1)
        if self.ctx.post_digest is not None:
            await self.ctx.post_digest(text)
            return DeskFeedback("Digest posted.")
        return DeskFeedback(text)

    async def _gap_list(self, args: list[str], event: DeskEvent) -> DeskFeedback:
        if self.ctx.facts is None:
            return DeskFeedback("Knowledge gaps are not recorded here.", ok=False)
        clusters = cluster_gaps(await self.ctx.facts.gaps())
        if not clusters:
            return DeskFeedback("No knowledge gaps waiting.")
        lines = []
        for cluster in clusters:
            lead, more = cluster.lead, len(cluster.gaps) - 1
            also = f" (+{more} alike: {', '.join(g.id for g in cluster.gaps[:-1])})" if more else ""
            lines.append(f"{lead.id}{also}: {lead.question[:120]}\n  agent: {lead.answer[:200]}")
        return DeskFeedback("\n".join(lines))

    async def _gap_approve(self, args: list[str], event: DeskEvent) -> DeskFeedback:
        if self.ctx.facts is None or len(args) not in (1, 2) or not all(a.strip() for a in args):
            return DeskFeedback('Use: gap approve ID ["edited answer"] (see gap list)', ok=False)
        clusters = cluster_gaps(await self.ctx.facts.gaps())
        cluster = next((c for c in clusters if args[0] in {g.id for g in c.gaps}), None)
        if cluster is None:
            return DeskFeedback(f"No knowledge gap {args[0]} (see gap list).", ok=False)
        gap = next(g for g in cluster.gaps if g.id == args[0])
        answer = args[1].strip() if len(args) == 2 else gap.answer
        entry_id = f"gap-{gap.id.lower()}"
        record = FaqRecord(gap.question, answer, by=event.agent.id, at=utcnow().isoformat())
        await self.state.add_faq(entry_id, record)
        for member in cluster.gaps:  # the alike questions are answered by the same entry
            await self.ctx.facts.remove_gap(member.id)
        await self._reload(f"gap approve {gap.id}")
        logger.info("knowledge gap %s approved by %s as FAQ %s", gap.id, event.agent.id, entry_id)
        return DeskFeedback(f"Added FAQ {entry_id}; the bot answers with it from now on.")

    async def _gap_dismiss(self, args: list[str], event: DeskEvent) -> DeskFeedback:
        if self.ctx.facts is None or len(args) != 1:
            return DeskFeedback("Use: gap dismiss ID (see gap list)", ok=False)
        if await self.ctx.facts.gap(args[0]) is None:
            return DeskFeedback(f"No knowledge gap {args[0]} (see gap list).", ok=False)
        await self.ctx.facts.remove_gap(args[0])
        return DeskFeedback(f"Dismissed knowledge gap {args[0]}.")

    async def _reload(self, why: str) -> None:
        if self.ctx.reload_knowledge is not None:
            await self.ctx.reload_knowledge(why)


def _days(span: str) -> int | None:
    match = re.fullmatch(r"([1-9][0-9]{0,2})d", span)
    return int(match.group(1)) if match else None


async def admin_entries(store: Store) -> list[KnowledgeEntry]:
    """FAQ entries added with ``faq add``, as knowledge-base entries."""
    return [
        KnowledgeEntry(
            id=entry_id,
            title=record.question,
            answer=record.answer,
            questions=(record.question,),
            source=f"added in chat by {record.by}",
        )
        for entry_id, record in (await SharedState(store).faq_entries()).items()
    ]


async def build_digest(store: Store, days: int) -> str:
    dates = [today() - timedelta(days=i) for i in range(days)][::-1]
    counters = [(day, await store.counters(day)) for day in dates]
    return digest_text(counters, await store.list_tickets(OPEN_STATUSES))


async def sync_disabled(store: Store, router: Router | None) -> None:
    """Make this process's router skip exactly the providers admins disabled (any replica)."""
    if router is not None:
        router.set_disabled(await SharedState(store).disabled_providers())
