"""The webhook queue, on the bot's store (shared by every replica):

- the log ``webhooks:<subscriber>:<conversation>``: that conversation's events for one
  subscriber, in the order they were raised on whichever replica, one entry per event id;
- ``webhooks:pending:<...>`` (kv): the logs that may hold undelivered events;
- ``webhooks:cursor:<...>`` (kv): how far a log is delivered, the head's attempts and when it
  is due again, and how many events were delivered, failed or dropped.

One replica at a time sends (``Webhooks`` holds the store lock ``web:webhooks``); another
takes over when it stops or dies, from the cursors, so an event is delivered at least once and
a conversation's events in order, whichever replica raised them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from channels.web.store import KEPT, WebStorage
from config.errors import ChannelError

LOG = "webhooks:"
PENDING = "webhooks:pending:"
CURSOR = "webhooks:cursor:"
STATES = ("delivered", "failed", "dropped")


@dataclass(frozen=True, slots=True)
class Hook:
    name: str  # <subscriber>:<conversation>
    seq: int
    subscriber: str
    event_id: str
    conversation: str
    body: str
    attempts: int


def _name(subscriber: str, conversation: str) -> str:
    return f"{hashlib.sha256(subscriber.encode()).hexdigest()[:16]}:{conversation}"


class HookQueue:
    def __init__(self) -> None:
        self._storage: WebStorage | None = None
        self._soonest: float | None = None

    def use(self, storage: WebStorage) -> None:
        self._storage = storage

    @property
    def storage(self) -> WebStorage:
        if self._storage is None:
            raise ChannelError("the webhook queue has no store yet (use_store was not called)")
        return self._storage

    async def queue(self, subscribers: list[str], event_id: str, conversation: str,
                    body: str) -> None:  # fmt: skip
        for url in subscribers:
            name = _name(url, conversation)
            _, added = await self.storage.log_append(LOG + name, event_id, body)
            if added:  # after the append: a sender that sees the mark finds the event
                await self.storage.kv_set(PENDING + name, json.dumps([url, conversation]), KEPT)

    async def due(self, now: float, limit: int = 64) -> list[Hook]:
        """The oldest undelivered event of each (subscriber, conversation), if it is due:
        one conversation's events go out in order, one at a time."""
        hooks: list[Hook] = []
        self._soonest = None
        for key, raw in (await self.storage.kv_scan(PENDING)).items():
            name = key.removeprefix(PENDING)
            url, conversation = json.loads(raw)
            cursor = await self._cursor(name)
            if cursor["next_at"] > now:
                self._soonest = min(self._soonest or cursor["next_at"], cursor["next_at"])
                continue
            head = await self.storage.log_read(LOG + name, cursor["done"], 1)
            if not head:
                await self.storage.kv_delete(key)
                if await self.storage.log_read(LOG + name, cursor["done"], 1):
                    await self.storage.kv_set(key, raw, KEPT)  # queued meanwhile
                continue
            entry = head[0]
            hooks.append(Hook(name, entry.seq, url, entry.entry_id, conversation, entry.value,
                              cursor["attempts"]))  # fmt: skip
            if len(hooks) >= limit:
                break
        return hooks

    async def next_at(self) -> float | None:
        """When the soonest event held back by ``due`` (backing off) is due again."""
        return self._soonest

    async def done(self, hook: Hook, state: str = "delivered", error: str | None = None) -> None:
        cursor = await self._cursor(hook.name)
        cursor.update(done=hook.seq, attempts=0, next_at=0.0, error=error)
        cursor[state] = cursor.get(state, 0) + 1
        await self.storage.kv_set(CURSOR + hook.name, json.dumps(cursor), KEPT)

    async def retry(self, hook: Hook, attempts: int, next_at: float, error: str) -> None:
        cursor = await self._cursor(hook.name)
        cursor.update(attempts=attempts, next_at=next_at, error=error)
        await self.storage.kv_set(CURSOR + hook.name, json.dumps(cursor), KEPT)

    async def states(self) -> dict[str, int]:
        """Events per state (``pending``: not delivered yet), over every subscriber."""
        counts: dict[str, int] = {}
        for raw in (await self.storage.kv_scan(CURSOR)).values():
            for state in STATES:
                counts[state] = counts.get(state, 0) + json.loads(raw).get(state, 0)
        for key in await self.storage.kv_scan(PENDING):
            name = key.removeprefix(PENDING)
            cursor = await self._cursor(name)
            left = await self.storage.log_read(LOG + name, cursor["done"], 10_000)
            counts["pending"] = counts.get("pending", 0) + len(left)
        return {state: n for state, n in counts.items() if n}

    async def _cursor(self, name: str) -> dict[str, Any]:
        raw = await self.storage.kv_get(CURSOR + name)
        cursor: dict[str, Any] = {"done": 0, "attempts": 0, "next_at": 0.0}
        if raw is not None:
            cursor.update(json.loads(raw))
        return cursor
