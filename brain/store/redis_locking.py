"""``RedisTurns.lock_conversation``: the conversation's lock, its head entry and (when the head
is the entry about to be handled) the first step of its turn, in one script (``lock_head``).
It stands on the conversations layer (``RedisConversations``: keys, histories, scripts), not
on ``RedisTurns``, which hands it out.

Written out as a class rather than with ``contextlib.asynccontextmanager``: every message goes
through it, and two generator-based managers, this one around the lock's, were a visible share
of the pipeline's CPU.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

from brain.store.base import HeldConversation, QueueEntry, TurnContext, TurnStart
from brain.store.lease import Hold
from brain.store.records import new_entry, new_held
from brain.store.redis_wire import _failures, _ms, _text

if TYPE_CHECKING:
    from brain.store.redis_conversations import Beginning, ConversationKeys, RedisConversations
    from brain.store.redis_history import History
    from channels.base import QueueItem


class LockedConversation:
    """``async with`` it for the ``HeldConversation``."""

    __slots__ = ("_begun", "_beside", "_entry_id", "_found", "_held", "_hold", "_keys", "_known",
                 "_reads", "_script_keys", "_start", "_store")  # fmt: skip

    def __init__(
        self, store: RedisConversations, conversation_key: str, owner: str, start: TurnStart | None
    ) -> None:
        self._store = store
        keys: ConversationKeys = store._keys(conversation_key)
        self._keys = keys
        self._start = start
        self._script_keys = [keys.lock, keys.convq, keys.stream]
        self._reads: list[str] = []
        self._beside = False
        self._entry_id = ""
        self._begun: Beginning | None = None
        self._held: History | None = None
        # The message of the entry about to be handled, if a read here decoded it: the head
        # (that very entry, usually) then comes back without its fields.
        self._known: QueueItem | None = None
        self._found: tuple[QueueEntry | None, Any, list[Any]] = (None, None, [])
        self._hold: Hold = store._locks.hold(keys.name, owner, self._acquire)

    async def __aenter__(self) -> HeldConversation:
        store, start = self._store, self._start
        if start is not None:
            key = start.ref.key
            context_keys = self._keys if key == self._keys.key else store._keys(key)
            self._script_keys += context_keys.context
            _, self._entry_id = store.layout.locate(start.entry_id)
            self._begun = store._beginning(start.ref, start.turn, key)
            self._known = store._read_lately.get(start.entry_id)
            self._beside = bool(context_keys.beside)
            self._reads = [*context_keys.beside, *(store._key("kv", flag) for flag in start.flags)]
        lease = await self._hold.__aenter__()
        try:
            head, context_row, values = self._found
            context: TurnContext | None = None
            if start is not None and context_row is not None:
                assert self._begun is not None
                context = await store._context(self._begun, self._held, context_row, start.flags,
                                               values)  # fmt: skip
        except BaseException as err:
            await self._hold.__aexit__(type(err), err, err.__traceback__)
            raise
        return new_held(lease, head, context)

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        err: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._hold.__aexit__(kind, err, tb)

    async def _acquire(self, _: str, token: str, ttl_s: float, owner: str, mine: str) -> bool:
        store, keys, begun = self._store, self._keys, self._begun
        args: tuple[str | int, ...] = (token, _ms(ttl_s), owner, mine)
        if begun is not None:
            # What is held of the history is read at each try: while this waited for the
            # lock, the holder before may have added to it.
            held = self._held = store._histories.get(begun.key)
            limit, retention = max(1, store.limits.history_limit), _ms(store.limits.retention_s)
            args += (self._entry_id, "1" if self._known is not None else "0",
                     *begun.args(limit, retention, held))  # fmt: skip
        values: list[Any] = []
        with _failures(f"lock {keys.name!r}"):
            if not store.layout.cluster:  # one Redis: the flags in the script, as KEYS[8..]
                row = await store._script("lock_head", self._script_keys + self._reads, *args)
            elif self._reads:  # the flags (and maybe the pointer) live in other slots
                row, values = await store._pipelined("lock_head", self._script_keys, args,
                                                     self._reads)  # fmt: skip
            else:
                row = await store._script("lock_head", self._script_keys, *args)
        if not row[0]:
            return False
        head = None
        if len(row) > 1:
            if len(row[1]) == 1 and self._known is not None:  # {id}: the entry we hold
                entry_id = store.layout.entry_id(keys.partition, _text(row[1][0]))
                head = new_entry(entry_id, self._known, 2)
            else:
                head = store._head(keys.partition, row[1])
        context_row = row[2] if len(row) > 2 else None
        if context_row is not None:
            if not store.layout.cluster and context_row[5] is not None:
                values = list(context_row[5])
            if self._beside:  # the pointer read beside the script replaces the placeholder's
                context_row = [*context_row[:4], values[0], *context_row[5:]]
                values = values[1:]
        self._found = (head, context_row, values)
        return True
