"""The web channel's shared state, on the bot's own store (SQLite or Redis), so every replica
behind a load balancer serves the same conversations:

- ``web:conv:<id>`` (kv): a conversation's customer, written once when it is opened;
- the log ``web:<id>``: its visible history (what ``GET .../messages`` and the widget show),
  numbered 1, 2, ... for ``?after=``, one entry per id (the client's ``Idempotency-Key``);
  every append is published on the topic ``web``, which each replica follows to push live
  frames to the WebSockets it holds, wherever the message was written;
- the log ``webstate:<id>``: ``released`` marks (the bot answers again after a ticket closed);
- ``web:apikey:<digest>`` (kv): keys made with ``frontdesk api-key create`` (digests only);
- ``web:token_secret`` (kv): the customer-token key when the settings give none.

Every call is a coroutine of the store: nothing here blocks the event loop."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from channels.base import LogEntry
from config.errors import ChannelError

TOPIC = "web"
HISTORY = "web:"
STATE = "webstate:"
# The store cuts any TTL to its retention period: "keep as long as retention allows".
KEPT = float("inf")


class WebStorage(Protocol):
    """The part of the bot's store the web channel uses (``brain.store.base.Store``)."""

    async def kv_get(self, key: str) -> str | None: ...

    async def kv_set(self, key: str, value: str, ttl_s: float | None = None) -> None: ...

    async def kv_delete(self, key: str) -> None: ...

    async def kv_scan(self, prefix: str) -> dict[str, str]: ...

    def lock(self, name: str, *, wait: bool = True) -> AbstractAsyncContextManager[object]: ...

    async def log_append(
        self, log: str, entry_id: str, value: str, topic: str | None = None
    ) -> tuple[LogEntry, bool]: ...

    async def log_read(self, log: str, after: int = 0, limit: int = 100) -> list[LogEntry]: ...

    def log_follow(self, topic: str) -> AsyncIterator[LogEntry]: ...

    async def take_token(self, bucket: str, rate_per_s: float, burst: int) -> float: ...


@dataclass(frozen=True, slots=True)
class WebConversation:
    id: str
    customer_id: str
    display_name: str | None
    email: str | None
    metadata: dict[str, Any]
    created_at: float


class WebStore:
    def __init__(self, cached_conversations: int = 10_000) -> None:
        self._storage: WebStorage | None = None
        # Conversation records never change: each message would otherwise read one.
        self._conversations: dict[str, WebConversation] = {}
        self._cache_size = cached_conversations

    def use(self, storage: WebStorage) -> None:
        self._storage = storage

    @property
    def storage(self) -> WebStorage:
        if self._storage is None:
            raise ChannelError("the web channel has no store yet (use_store was not called)")
        return self._storage

    # -- the customer-token key -------------------------------------------------------------
    async def secret(self, name: str) -> str:
        """A random secret created on first use and kept; the lock makes replicas starting
        together agree on one."""
        key = f"web:{name}"
        found = await self.storage.kv_get(key)
        if found is not None:
            return found
        async with self.storage.lock(key):
            found = await self.storage.kv_get(key)
            if found is None:
                found = secrets.token_hex(32)
                await self.storage.kv_set(key, found)
        return found

    # -- conversations and history ----------------------------------------------------------
    async def create_conversation(
        self, customer_id: str, display_name: str | None, email: str | None,
        metadata: dict[str, Any],
    ) -> WebConversation:  # fmt: skip
        conv = WebConversation(f"wc_{secrets.token_urlsafe(12)}", customer_id, display_name,
                               email, metadata, time.time())  # fmt: skip
        record = {"customer_id": customer_id, "display_name": display_name, "email": email,
                  "metadata": metadata, "created_at": conv.created_at}  # fmt: skip
        await self.storage.kv_set(f"web:conv:{conv.id}", json.dumps(record), KEPT)
        self._remember(conv)
        return conv

    async def conversation(self, conversation_id: str) -> WebConversation | None:
        cached = self._conversations.get(conversation_id)
        if cached is not None:
            return cached
        raw = await self.storage.kv_get(f"web:conv:{conversation_id}")
        if raw is None:
            return None
        r = json.loads(raw)
        conv = WebConversation(conversation_id, r["customer_id"], r["display_name"], r["email"],
                               r["metadata"], r["created_at"])  # fmt: skip
        self._remember(conv)
        return conv

    def _remember(self, conv: WebConversation) -> None:
        if len(self._conversations) >= self._cache_size:
            self._conversations.pop(next(iter(self._conversations)))  # the oldest entry
        self._conversations[conv.id] = conv

    async def conversation_ids(self) -> list[str]:
        """Every conversation, oldest first."""
        found = await self.storage.kv_scan("web:conv:")
        by_age = sorted(found.items(), key=lambda kv: json.loads(kv[1])["created_at"])
        return [key.removeprefix("web:conv:") for key, _ in by_age]

    async def add_message(
        self, conversation: str, role: str, text: str, client_id: str,
        sender_name: str | None = None, in_reply_to: str | None = None, kind: str = "message",
        origin: str | None = None,
    ) -> tuple[dict[str, Any], bool]:  # fmt: skip
        """Append a message; (the stored message, False) when ``client_id`` is already there.
        ``origin`` names the widget session it came from (which gets no echo of it)."""
        value: dict[str, Any] = {"role": role, "kind": kind, "text": text,
                                 "sender_name": sender_name, "in_reply_to": in_reply_to,
                                 "created_at": datetime.now(UTC).isoformat()}  # fmt: skip
        if origin is not None:
            value["origin"] = origin
        entry, added = await self.storage.log_append(HISTORY + conversation, client_id,
                                                     json.dumps(value), TOPIC)  # fmt: skip
        if not added:
            return message_json(entry), False  # the one stored before, not this value
        value.pop("origin", None)
        return {"id": entry.seq, "message_id": entry.entry_id, **value}, True

    async def messages(self, conversation: str, after: int = 0, limit: int = 200
                       ) -> list[dict[str, Any]]:  # fmt: skip
        entries = await self.storage.log_read(HISTORY + conversation, after, limit)
        return [message_json(e) for e in entries]

    async def reply_to(self, conversation: str, message: dict[str, Any]) -> dict[str, Any] | None:
        """The first reply to a customer's stored ``message``, if there is one yet."""
        after = int(message["id"])
        while True:
            later = await self.messages(conversation, after, 100)
            for m in later:
                if m["in_reply_to"] == message["message_id"]:
                    return m
            if len(later) < 100:
                return None
            after = later[-1]["id"]

    async def release(self, conversation: str, event_id: str) -> None:
        await self.storage.log_append(STATE + conversation, event_id, "released", TOPIC)

    # -- API keys made with `frontdesk api-key create` -------------------------------------
    async def add_key(self, digest: str, scope: str, label: str | None) -> None:
        record = {"scope": scope, "label": label, "created_at": time.time()}
        await self.storage.kv_set(f"web:apikey:{digest}", json.dumps(record))

    async def key_scope(self, digest: str) -> str | None:
        raw = await self.storage.kv_get(f"web:apikey:{digest}")
        return str(json.loads(raw)["scope"]) if raw is not None else None

    async def stored_keys(self) -> list[tuple[str, str, str | None, float]]:
        found = await self.storage.kv_scan("web:apikey:")
        keys = [(k.removeprefix("web:apikey:"), json.loads(v)) for k, v in found.items()]
        return sorted(((d, r["scope"], r["label"], r["created_at"]) for d, r in keys),
                      key=lambda row: row[3])  # fmt: skip

    async def remove_key(self, prefix: str) -> int:
        found = await self.storage.kv_scan(f"web:apikey:{prefix}")
        for key in found:
            await self.storage.kv_delete(key)
        return len(found)


def message_json(entry: LogEntry) -> dict[str, Any]:
    """A history entry as the API shows it (the origin session stays inside)."""
    value = json.loads(entry.value)
    value.pop("origin", None)
    return {"id": entry.seq, "message_id": entry.entry_id, **value}


def origin_of(entry: LogEntry) -> tuple[dict[str, Any], str | None]:
    value = json.loads(entry.value)
    origin = value.pop("origin", None)
    return {"id": entry.seq, "message_id": entry.entry_id, **value}, origin
