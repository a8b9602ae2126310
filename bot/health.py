"""What ``/metrics`` reads at scrape time and what ``/readyz`` checks, from the running parts.

Gauges describing shared state (queue depth, open tickets) come from the store, so every
replica reports the same value; breaker states and channel connections are this process's own.
Readiness: the store answers, every platform this process started is connected, and at least
one answer path exists (an LLM provider that is neither disabled nor behind an open breaker,
or a knowledge base with entries for the offline answerer).
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Mapping, Sequence

from bot.metrics import Snapshot
from bot.ops_server import CHECK_TIMEOUT_S, Readiness
from brain.breaker import State
from brain.conversation import age_s
from brain.handler import Brain
from brain.router import Router
from brain.slots import SlotUsage
from brain.store.base import OPEN_STATUSES, Store, TicketStatus
from channels.base import Adapter, Connected, Suppressing

logger = logging.getLogger(__name__)

STORE_CHECK_S = 0.75 * CHECK_TIMEOUT_S


def split_name(name: str) -> tuple[str, str]:
    """``openai:gpt-4o-mini`` -> (``openai``, ``gpt-4o-mini``): the metric labels."""
    provider, _, model = name.partition(":")
    return provider, model or provider


class Health:
    def __init__(
        self,
        store: Store,
        adapters: Sequence[Adapter],
        brain: Brain,
        router: Router | None,
        sla_minutes: Mapping[str, float] | None = None,
        budget_usd: float = 0.0,
    ) -> None:
        self.store = store
        self.sla_minutes = dict(sla_minutes or {})
        self.budget_usd = budget_usd
        self.adapters = tuple(adapters)
        self.brain = brain
        self.router = router
        self._started: set[str] = set()

    def started(self, adapter: Adapter) -> None:
        """The app entered ``adapter``'s connection."""
        self._started.add(adapter.name)

    def stopped(self, adapter: Adapter) -> None:
        self._started.discard(adapter.name)

    def is_connected(self, adapter: Adapter) -> bool:
        if adapter.name not in self._started:
            return False
        return adapter.connected if isinstance(adapter, Connected) else True

    def channels_connected(self) -> dict[str, bool]:
        return {c.name: self.is_connected(a) for a in self.adapters for c in a.channels}

    def breakers_open(self) -> dict[tuple[str, str], bool]:
        if self.router is None:
            return {}
        states = self.router.breaker_states()
        return {split_name(name): state is State.OPEN for name, state in states.items()}

    def llm_slots(self) -> dict[tuple[str, str], SlotUsage]:
        if self.router is None:
            return {}
        return {split_name(name): use for name, use in self.router.slot_usage().items()}

    async def snapshot(self) -> Snapshot:
        depth = await self.store.queue_depth()
        tickets = await self.store.list_tickets(OPEN_STATUSES)
        late = sum(
            1 for t in tickets
            if t.status is TicketStatus.ESCALATED
            and age_s(t) > self.sla_minutes.get(t.urgency or "normal", 60.0) * 60
        )  # fmt: skip
        spent = (await self.store.counters()).get("llm_cost_usd", 0.0)
        return Snapshot(
            depth, len(tickets), self.breakers_open(), self.channels_connected(), late, spent,
            self.budget_usd, self.suppressed(), self.llm_slots(),
        )  # fmt: skip

    def suppressed(self) -> dict[str, int]:
        totals: collections.Counter[str] = collections.Counter()
        for adapter in self.adapters:
            for channel in adapter.channels:
                if isinstance(channel, Suppressing):
                    totals.update(channel.suppressed)
        return dict(totals)

    async def readiness(self) -> Readiness:
        checks: dict[str, str] = {}
        try:
            # Bounded below the ops server's own limit, so a store that accepts connections
            # and never answers (a hung or partitioned Redis node) is named as the failing
            # check instead of the whole check timing out.
            await asyncio.wait_for(self.store.queue_depth(), STORE_CHECK_S)
            checks["store"] = "ok"
        except TimeoutError:
            checks["store"] = f"unreachable: no answer within {STORE_CHECK_S:g} s"
        except Exception as err:
            checks["store"] = f"unreachable: {str(err) or type(err).__name__}"
        down = sorted(name for name, up in self.channels_connected().items() if not up)
        checks["channels"] = f"not connected: {', '.join(down)}" if down else "ok"
        checks["answer_path"] = self._answer_path()
        return Readiness(checks)

    def _answer_path(self) -> str:
        router = self.router
        if router is not None:
            states = router.breaker_states()
            usable = [n for n, s in states.items() if s is not State.OPEN]
            if set(usable) - router.disabled:
                return "ok"
        if self.brain.knowledge.entries:
            return "ok"  # the offline answerer still answers from the knowledge base
        return "no usable LLM provider and an empty knowledge base"
