"""The desk's home view (Slack App Home): open escalations with their age, today's numbers."""

from __future__ import annotations

from brain.conversation import card_for
from brain.digest import summarize
from brain.store.base import OPEN_STATUSES, Store, today
from channels.base import Desk, HomeDesk, HomeView


async def home_view(store: Store) -> HomeView:
    tickets = await store.list_tickets(OPEN_STATUSES)
    return HomeView(
        open_tickets=tuple(card_for(t) for t in tickets),
        created_at=tuple(t.created_at for t in tickets),
        stats=tuple(summarize([(today(), await store.counters())])),
    )


async def show_home(store: Store, desk: Desk, agent_id: str) -> None:
    if isinstance(desk, HomeDesk):
        await desk.show_home(agent_id, await home_view(store))
