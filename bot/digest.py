"""Composing the daily digest from the running bot's parts (or, for ``frontdesk digest
--print``, from the store alone), and the job that posts it once a day from one replica.

The job is a due-check the scheduler runs every ``DIGEST_CHECK_S``: once the configured time
has passed in the configured timezone and today's digest is not marked posted, the replica
that takes the store lease ``digest`` composes and posts it, then marks it. Several replicas
on one store post it once; a bot that was down at the time posts it when it comes back the
same day. A crash between posting and marking may post it twice, never zero times.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from brain.analytics import load
from brain.digest import DigestInputs, ProviderDay, cluster_gaps, daily_digest
from brain.router import Router
from brain.store.base import OPEN_STATUSES, Store, utcnow
from brain.store.facts import Facts

logger = logging.getLogger(__name__)

DIGEST_CHECK_S = 30.0
Clock = Callable[[], dt.datetime]


@dataclass(frozen=True, slots=True)
class DigestSource:
    store: Store
    facts: Facts
    timezone: str = "UTC"
    sla_minutes: Mapping[str, float] = field(default_factory=dict)
    budget_usd: float = 0.0
    router: Router | None = None

    def yesterday(self, now: dt.datetime | None = None) -> dt.date:
        local = (now or utcnow()).astimezone(ZoneInfo(self.timezone))
        return local.date() - dt.timedelta(days=1)

    async def text(self, day: dt.date | None = None, now: dt.datetime | None = None) -> str:
        now = now or utcnow()
        day = day or self.yesterday(now)
        zone = ZoneInfo(self.timezone)
        since = dt.datetime.combine(day, dt.time(0), zone)
        until = since + dt.timedelta(days=1)
        analytics = await load(self.facts, since, until, self.sla_minutes, now)
        counters = await self.store.counters(day)  # counters are kept per UTC day
        inputs = DigestInputs(
            day=day,
            analytics=analytics,
            open_tickets=await self.store.list_tickets(OPEN_STATUSES),
            providers=self._providers(counters),
            spent_usd=counters.get("llm_cost_usd", 0.0),
            budget_usd=self.budget_usd,
            gaps=cluster_gaps(await self.facts.gaps()),
            now=now,
            sla_minutes=self.sla_minutes,
        )
        return daily_digest(inputs)

    def _providers(self, counters: Mapping[str, float]) -> list[ProviderDay]:
        if self.router is not None:
            states = {n: str(s) for n, s in self.router.breaker_states().items()}
            states |= {n: "disabled" for n in self.router.disabled if n in states}
        else:  # `frontdesk digest --print`: no live breakers, the providers that were used
            states = {k.partition(":")[2]: "-" for k in counters if k.startswith("llm_calls:")}
        return [
            ProviderDay(
                name,
                state,
                counters.get(f"llm_calls:{name}", 0.0),
                counters.get(f"provider_failures:{name}", 0.0),
                counters.get(f"llm_cost_usd:{name}", 0.0),
            )
            for name, state in sorted(states.items())
        ]


class DigestJob:
    def __init__(
        self,
        source: DigestSource,
        post: Callable[[str], Awaitable[None]],
        at: dt.time,
        name: str,
        clock: Clock = utcnow,
    ) -> None:
        self.source = source
        self.post = post
        self.at = at
        self.name = name
        self.clock = clock

    async def tick(self) -> bool:
        """Post today's digest if it is due and no replica has; True if this one posted it."""
        now = self.clock()
        local = now.astimezone(ZoneInfo(self.source.timezone))
        if local.time() < self.at:
            return False
        facts, today = self.source.facts, local.date()
        if await facts.digest_posted(today):
            return False
        async with self.source.store.lock("digest"):
            if await facts.digest_posted(today):
                return False
            text = await self.source.text(today - dt.timedelta(days=1), now)
            await self.post(text)
            await facts.mark_digest_posted(today, self.name)
        logger.info("posted the daily digest for %s", today - dt.timedelta(days=1))
        return True
