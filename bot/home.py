"""What a desk's home view shows agents (Slack App Home): open escalations, today's numbers.

The desk hub renders it only for agents; everyone else gets the desk's neutral page."""

from __future__ import annotations

from brain.conversation import card_for
from brain.digest import summarize
from brain.store.base import OPEN_STATUSES, Store, today
from channels.base import HomeView


async def home_view(store: Store) -> HomeView:
    tickets = await store.list_tickets(OPEN_STATUSES)
    return HomeView(
        open_tickets=tuple(card_for(t) for t in tickets),
        created_at=tuple(t.created_at for t in tickets),
        stats=tuple(summarize([(today(), await store.counters())])),
    )
