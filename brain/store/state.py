"""Small shared settings and mappings every replica sees, behind one typed facade.

The store's key-value space is shared by admin commands, the router, the handler and the desk
hub; this module is the only one that knows its key layout, so no other module spells a key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from brain.store.base import RETAINED, Store

_PAUSED = "paused:"
_FAQ = "faq:"
_DISABLED = "provider_disabled:"
_DESK_REF = "desk_ref:"
_PAGING = "paging:"
_RELAYED = "relayed:"
_SLOW_DOWN = "slow_down:"


@dataclass(frozen=True, slots=True)
class FaqRecord:
    """A knowledge-base entry an admin added in chat (``faq add``)."""

    question: str
    answer: str
    by: str
    at: str

    def to_json(self) -> str:
        data = {"question": self.question, "answer": self.answer, "by": self.by, "at": self.at}
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> FaqRecord:
        data = json.loads(text)
        return cls(data["question"], data["answer"], str(data.get("by")), str(data.get("at")))


class SharedState:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- paused channels: every message there goes to a person ---------------------------
    async def pause(self, channel: str) -> None:
        await self.store.kv_set(_PAUSED + channel, "1")

    async def resume(self, channel: str) -> None:
        await self.store.kv_delete(_PAUSED + channel)

    async def is_paused(self, channel: str) -> bool:
        return await self.store.kv_get(self.paused_flag(channel)) is not None

    @staticmethod
    def paused_flag(channel: str) -> str:
        """The key whose value (any) pauses ``channel``, for reads batched with others
        (``Store.begin_turn``)."""
        return _PAUSED + channel

    async def paused_channels(self) -> set[str]:
        return {k.removeprefix(_PAUSED) for k in await self.store.kv_scan(_PAUSED)}

    # -- FAQ entries added in chat -----------------------------------------------------------
    async def add_faq(self, entry_id: str, record: FaqRecord) -> None:
        await self.store.kv_set(_FAQ + entry_id, record.to_json())

    async def remove_faq(self, entry_id: str) -> bool:
        if await self.store.kv_get(_FAQ + entry_id) is None:
            return False
        await self.store.kv_delete(_FAQ + entry_id)
        return True

    async def faq_entries(self) -> dict[str, FaqRecord]:
        entries = await self.store.kv_scan(_FAQ)
        return {k.removeprefix(_FAQ): FaqRecord.from_json(v) for k, v in sorted(entries.items())}

    # -- providers admins switched off -----------------------------------------------------
    async def set_provider_enabled(self, name: str, enabled: bool) -> None:
        if enabled:
            await self.store.kv_delete(_DISABLED + name)
        else:
            await self.store.kv_set(_DISABLED + name, "1")

    async def disabled_providers(self) -> set[str]:
        return {k.removeprefix(_DISABLED) for k in await self.store.kv_scan(_DISABLED)}

    # -- where desks show tickets ---------------------------------------------------------
    async def map_card(self, desk: str, desk_ref: str, ticket_id: str) -> None:
        # Kept as long as retention allows: a ticket's card outlives no ticket.
        await self.store.kv_set(f"{_DESK_REF}{desk}:{desk_ref}", ticket_id, ttl_s=RETAINED)

    async def ticket_of_card(self, desk: str, desk_ref: str) -> str | None:
        return await self.store.kv_get(f"{_DESK_REF}{desk}:{desk_ref}")

    async def mark_paging(self, desk: str, ticket_id: str, ttl_s: float) -> None:
        """A card is on its way to ``desk`` (a busy channel paces posts): do not post another."""
        await self.store.kv_set(f"{_PAGING}{desk}:{ticket_id}", "1", ttl_s=ttl_s)

    async def clear_paging(self, desk: str, ticket_id: str) -> None:
        await self.store.kv_delete(f"{_PAGING}{desk}:{ticket_id}")

    async def is_paging(self, desk: str, ticket_id: str) -> bool:
        return await self.store.kv_get(f"{_PAGING}{desk}:{ticket_id}") is not None

    # -- which desks already show a queued relay (a retry skips them) -----------------------
    async def relayed_desks(self, relay_key: str) -> set[str]:
        raw = await self.store.kv_get(_RELAYED + relay_key)
        return set(json.loads(raw)) if raw else set()

    async def mark_relayed(self, relay_key: str, desks: set[str], ttl_s: float) -> None:
        await self.store.kv_set(_RELAYED + relay_key, json.dumps(sorted(desks)), ttl_s=ttl_s)

    # -- customers asked to slow down (one notice per quiet period) --------------------------
    async def first_slow_down(self, bucket: str, quiet_s: float) -> bool:
        """True if ``bucket``'s customer was not asked to slow down in the last ``quiet_s``
        (and remembers that they are now). Two replicas may both say True at once: rare."""
        key = _SLOW_DOWN + bucket
        if await self.store.kv_get(key) is not None:
            return False
        await self.store.kv_set(key, "1", ttl_s=quiet_s)
        return True
