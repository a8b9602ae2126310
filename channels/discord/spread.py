"""Discord gateway shards spread over the replicas: with N live replicas and S shards, each
reads about S/N of them, and the survivors take every shard when others die.

Who is alive: every replica writes its presence, ``discord-replicas:<bot id>:<replica>`` =
the shards it reads now, every ``beat_s`` (1 s, or a third of a shorter lock TTL) with a TTL
of three beats, and reads everyone's back (``kv_scan``). A replica that dies stops writing:
its presence runs out within 3 s, long before its shard leases (the store's lock TTL, 30 s
by default), so the survivors are trying those leases by the time they run out. A replica
that stops deletes its presence first.

Taking: a shard's standby (``gateway.Shard``) tries its lease (one try, ``wait=False``) only
when this replica's ``may_take`` says so: the shard is not one a live replica reads, this
replica reads fewer than its fair share ``ceil(S / N)``, and no other live replica reads fewer
(that one takes it). A shard left free for ``patience_s`` (say the replica that should take it
keeps failing to connect) is taken by anyone: a shard must never stay unread.

Handing over: a replica that joins late finds every shard read. The replica reading the most
(ties: the highest replica id) releases one shard per beat while it reads two or more than
the replica reading the fewest, and never while a shard is free (the needy replica is taking
it). Each handover is a failover gap on that shard (``docs/operations.md``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import secrets
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol, runtime_checkable

from channels.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class Shard(Protocol):
    """What spreading needs of a shard's gateway (``gateway.Shard``), without importing it
    (the gateway asks the spread before it takes a lease)."""

    index: int
    count: int

    @property
    def holding(self) -> bool: ...

    async def release(self) -> None: ...


@runtime_checkable
class ShardStore(Protocol):
    """What spreading needs of the bot's store."""

    def lock(
        self, name: str, owner: str | None = None, *, wait: bool = True
    ) -> AbstractAsyncContextManager[object]: ...

    async def kv_set(self, key: str, value: str, ttl_s: float | None = None) -> None: ...

    async def kv_scan(self, prefix: str) -> dict[str, str]: ...

    async def kv_delete(self, key: str) -> None: ...


class ShardSpread:
    def __init__(
        self,
        store: ShardStore,
        bot_id: int,
        count: int,
        ttl_s: float,
        replica: str | None = None,
    ) -> None:
        self.store, self.count, self.ttl_s = store, count, ttl_s
        self.replica = replica or secrets.token_hex(6)
        self.prefix = f"discord-replicas:{bot_id}:"
        self.key = self.prefix + self.replica
        self.beat_s = min(1.0, ttl_s / 3)
        self.presence_ttl_s = min(ttl_s, 3 * self.beat_s)
        self.poll_s = min(0.25, self.beat_s / 2)
        self.patience_s = max(3.0, ttl_s)
        self.peers: dict[str, frozenset[int]] = {}  # other live replicas -> their shards
        self.releases = 0  # shards handed over to a replica with fewer
        self._shards: Sequence[Shard] = ()
        self._free_since: dict[int, float] = {}
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_release = -math.inf
        self._store_down = False

    # -- the shards' side ------------------------------------------------------------------

    def mine(self) -> list[int]:
        return [s.index for s in self._shards if s.holding]

    def try_lock(self, name: str) -> AbstractAsyncContextManager[object]:
        return self.store.lock(name, wait=False)

    async def wait_turn(self, index: int) -> None:
        """Return once this replica may try shard ``index``'s lease."""
        while not self.may_take(index):
            changed = self._changed
            # ``asyncio.timeout``, not ``wait_for``: in Python 3.11 ``wait_for`` drops a
            # cancellation that comes in the loop turn the event is set in (a beat), and the
            # shard's stop would then wait for a standby that went on waiting its turn.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_s):
                    await changed.wait()

    def may_take(self, index: int) -> bool:
        if any(index in shards for shards in self.peers.values()):
            return False
        held = len(self.mine())
        quota = math.ceil(self.count / (1 + len(self.peers)))
        if held < quota and all(len(shards) >= held for shards in self.peers.values()):
            return True
        since = self._free_since.get(index)
        loop = asyncio.get_running_loop()
        return since is not None and loop.time() - since >= self.patience_s

    # -- presence --------------------------------------------------------------------------

    async def start(self, shards: Sequence[Shard]) -> None:
        """Write this replica's presence and read the others' (before the shards start),
        then keep doing so every ``beat_s``."""
        self._shards = shards
        await self._beat_safely()
        self._task = asyncio.create_task(self._run(), name="discord-shard-spread")

    async def stop(self) -> None:
        # Not ``suppress(CancelledError): await task``: this task may be mid hand-over, and
        # ``channels/tasks.py`` says how that swallowed its cancellation (``stop`` hung). A
        # stop cancelled meanwhile leaves ``_task`` set: the next stop waits for it again.
        await cancel_and_wait(self._task)
        self._task = None
        try:
            await self.store.kv_delete(self.key)  # the others take over without waiting
        except Exception as err:
            log.warning("discord: could not withdraw this replica's presence (%s); it runs "
                        "out in %.0f s", err, self.presence_ttl_s)  # fmt: skip

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.beat_s)
            if await self._beat_safely():
                await self._hand_over()

    async def _beat_safely(self) -> bool:
        try:
            await self.beat()
        except Exception as err:
            if not self._store_down:
                log.warning("discord: shard spread: the store is unavailable (%s); keeping "
                            "the shards read now", err)  # fmt: skip
            self._store_down = True
            return False
        if self._store_down:
            log.info("discord: shard spread: the store is back")
        self._store_down = False
        return True

    async def beat(self) -> None:
        mine = self.mine()
        presence = json.dumps({"shards": mine})
        await self.store.kv_set(self.key, presence, ttl_s=self.presence_ttl_s)
        peers: dict[str, frozenset[int]] = {}
        for key, value in (await self.store.kv_scan(self.prefix)).items():
            if key == self.key:
                continue
            try:
                peers[key.removeprefix(self.prefix)] = frozenset(
                    int(i) for i in json.loads(value)["shards"]
                )
            except (ValueError, KeyError, TypeError):
                log.warning("discord: shard spread: unreadable presence %s=%r", key, value)
        self.peers = peers
        read = set(mine).union(*peers.values())
        now = asyncio.get_running_loop().time()
        for index in range(self.count):
            if index in read:
                self._free_since.pop(index, None)
            else:
                self._free_since.setdefault(index, now)
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _hand_over(self) -> None:
        """Release one shard to the replica reading the fewest, if this one reads too many."""
        mine = self.mine()
        if not self.peers or self._free_since or len(mine) < 2:
            return
        fewest = min(len(shards) for shards in self.peers.values())
        most = max([(len(s), r) for r, s in self.peers.items()] + [(len(mine), self.replica)])
        loop = asyncio.get_running_loop()
        if len(mine) - fewest < 2 or most[1] != self.replica:
            return
        if loop.time() - self._last_release < 2 * self.beat_s:
            return
        shard = next(s for s in reversed(self._shards) if s.holding)
        log.info("discord: handing gateway shard %d/%d to a replica that reads fewer (%d here, "
                 "%d there)", shard.index, shard.count, len(mine), fewest)  # fmt: skip
        self._last_release = loop.time()
        self.releases += 1
        await shard.release()
        await self._beat_safely()  # the others see it free at their next beat
