"""Reading back a gateway shard's gap: the customer messages nobody read while it changed hands.

Discord delivers a gateway event only to the sessions open for its shard right then, and a new
session (IDENTIFY) gets nothing sent before its READY (docs/operations.md, "Discord: the
failover gap"). So whenever a shard's session starts afresh (a replica takes the shard over
from one that was killed or handed it over, a restart after an outage, discord.py identifying
again after a failed RESUME), its gap is read back over REST, and each message read goes the
way a live one does:

- **Since when.** While a shard is open and caught up, its holder writes a watermark every
  second (``discord-seen:<bot id>:<shard>/<count>`` = the time, ms, kept a week). A new session
  reads the messages written after the watermark less ``MARGIN_S`` (clocks, events in flight),
  at most ``catch_up_seconds`` back. No watermark (the shard's first session ever): nothing.
- **Where.** The support channels on this shard and the active threads of support and forum
  channels (a forum post made in the gap included: GUILD_CREATE lists the active threads),
  those whose last message is newer than that; on shard 0 also the DM channels of the
  ``catch_up_dm_channels`` most recent DM customers (``discord-dm:<bot id>:<channel id>``,
  written by shard 0's holder when it first sees a DM channel, refreshed hourly, kept a week).
  A bot cannot list its DM channels, so a customer's very first DM, sent in a gap, is not
  found. Desk threads are not read back: messages read over REST carry no member roles, and
  every desk action checks one (a staff reply in the gap is sent again by its author).
- **Exactly once.** The message id is the inbound queue's idempotency key: what the last
  holder had queued already is dropped as a duplicate.
- **In order.** Until a channel has been read back, live messages in it wait behind its gap
  (and move the channel to the front of the reading); live messages elsewhere go on at once.
  Between READY and the guilds' arrival (``on_ready``) the plan is not known yet, so every
  live customer message waits.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

import discord

from config.settings import DiscordSettings

log = logging.getLogger(__name__)

MARGIN_S = 5.0  # read back from this long before the watermark
BEAT_S = 1.0  # how often a holder writes its shards' watermarks
KEEP_S = 7 * 86_400.0  # how long watermarks and DM channels are remembered
DM_REFRESH_S = 3600.0  # a known DM channel's record is written again after this long
PER_CHANNEL = 5000  # messages read back per channel at most (as many as may be held)
READERS = 4  # channels read at once (discord.py waits out Discord's rate limits)

Deliver = Callable[[discord.Message], Awaitable[None]]
Place = discord.TextChannel | discord.Thread | discord.PartialMessageable


@runtime_checkable
class CatchUpStore(Protocol):
    """What reading back needs of the bot's store."""

    async def kv_get(self, key: str) -> str | None: ...

    async def kv_set(self, key: str, value: str, ttl_s: float | None = None) -> None: ...

    async def kv_scan(self, prefix: str) -> dict[str, str]: ...


class Watermarks:
    """The store's record of when each shard was last read, and of the recent DM channels."""

    def __init__(
        self, store: CatchUpStore, bot_id: int, count: int, clock: Callable[[], float] = time.time
    ) -> None:
        self.store, self.count, self.clock = store, count, clock
        self.dm_prefix = f"discord-dm:{bot_id}:"
        self._seen_prefix = f"discord-seen:{bot_id}:"
        self._dms: dict[int, float] = {}  # DM channel -> when its record was last written
        self._new_dms: set[int] = set()

    def _seen_key(self, index: int) -> str:
        return f"{self._seen_prefix}{index}/{self.count}"

    async def seen(self, index: int) -> float | None:
        """When shard ``index`` was last known read (Unix seconds), or None."""
        value = await self.store.kv_get(self._seen_key(index))
        return int(value) / 1000 if value is not None and value.isdigit() else None

    async def mark(self, indexes: Iterable[int]) -> None:
        """Shards ``indexes`` are read up to now."""
        now = str(int(self.clock() * 1000))
        for index in indexes:
            await self.store.kv_set(self._seen_key(index), now, ttl_s=KEEP_S)

    def saw_dm(self, channel_id: int) -> None:
        written = self._dms.get(channel_id)
        if written is None or self.clock() - written >= DM_REFRESH_S:
            self._new_dms.add(channel_id)

    async def flush_dms(self) -> None:
        """Write the DM channels seen since the last flush (those not written failed: kept)."""
        now = self.clock()
        while self._new_dms:
            channel_id = next(iter(self._new_dms))
            await self.store.kv_set(f"{self.dm_prefix}{channel_id}", str(int(now * 1000)),
                                    ttl_s=KEEP_S)  # fmt: skip
            self._new_dms.discard(channel_id)
            if len(self._dms) >= 100_000:
                self._dms.clear()  # a forgotten channel costs one more write
            self._dms[channel_id] = now

    async def recent_dms(self, limit: int) -> list[int]:
        """The ``limit`` DM channels seen most recently, newest first."""
        if limit <= 0:
            return []
        found = []
        for key, value in (await self.store.kv_scan(self.dm_prefix)).items():
            channel = key.removeprefix(self.dm_prefix)
            if channel.isdigit() and value.isdigit():
                found.append((int(value), int(channel)))
        return [channel for _, channel in sorted(found, reverse=True)[:limit]]


class ShardCatchUp:
    """One gateway session's reading back of its shard's gap, and the live customer messages
    that wait for it (``live``). Made with the session's client, run at ``on_ready``."""

    def __init__(
        self,
        index: int,
        client: discord.Client,
        settings: DiscordSettings,
        marks: Watermarks,
        deliver: Deliver,
    ) -> None:
        self.index, self.client, self.settings = index, client, settings
        self.marks, self._deliver = marks, deliver
        self.started = False
        self.done = asyncio.Event()
        self.read = 0  # messages read back (duplicates of what was queued included)
        self._planned = False
        self._early: list[discord.Message] = []  # live before the plan was known
        self._pending: dict[int, list[discord.Message]] = {}  # channel -> live, waiting
        self._order: deque[int] = deque()  # channels left to read, front first
        self._places: dict[int, Place] = {}

    # -- live messages ---------------------------------------------------------------------

    async def live(self, message: discord.Message) -> None:
        """A live customer message of this session: delivered now, or after its channel's gap."""
        if self.done.is_set():
            await self._deliver(message)
            return
        if not self._planned:
            self._early.append(message)
            return
        channel = message.channel.id
        waiting = self._pending.get(channel)
        if waiting is None:
            await self._deliver(message)
            return
        waiting.append(message)
        if channel in self._order and self._order[0] != channel:
            self._order.remove(channel)
            self._order.appendleft(channel)  # a customer is writing there now: read it first

    async def abandon(self) -> None:
        """The session ended before ``run``: hand on what waited for the plan. Its gap stays
        behind the shard's watermark (never moved past it), for the next session to read."""
        if self.started:
            return  # ``run`` hands everything on when it ends
        self.started = self._planned = True
        early, self._early = self._early, []
        for message in early:
            await self._deliver(message)
        self.done.set()

    # -- the reading -----------------------------------------------------------------------

    async def run(self) -> None:
        """Read the gap back, then let every waiting message go (also when cancelled)."""
        self.started = True
        began = time.monotonic()
        try:
            after = await self._plan()
            if after is not None and self._order:
                await asyncio.gather(*(self._reader(after) for _ in range(READERS)))
                took = time.monotonic() - began
                log.info("discord: shard %d read back: %d messages in %d channels since %s in "
                         "%.1f s (those already queued are dropped as duplicates)", self.index,
                         self.read, len(self._places), _when(after), took)  # fmt: skip
        finally:
            self._planned = True
            self._order.clear()
            for channel in list(self._pending):
                await self._drain(channel)
            self.done.set()

    async def _plan(self) -> int | None:
        """Work out the channels to read and the snowflake to read after; None: nothing."""
        after: int | None = None
        try:
            after = await self._after()
            if after is not None:
                for place in await self._places_since(after):
                    self._places[place.id] = place
                    self._order.append(place.id)
                    self._pending[place.id] = []
        except Exception as err:  # the store or Discord unreachable: live messages go on
            log.error("discord: shard %d: cannot read back its gap (%s); messages sent while "
                      "it was unread are not answered", self.index, err)  # fmt: skip
            after = None
            self._order.clear()
            self._pending.clear()
        self._planned = True
        early, self._early = self._early, []
        for message in early:  # in arrival order, behind their channel's gap if it has one
            self._pending.setdefault(message.channel.id, []).append(message)
        for channel in {m.channel.id for m in early} - set(self._order):
            await self._drain(channel)
        return after

    async def _after(self) -> int | None:
        window = self.settings.catch_up_seconds
        if window <= 0:
            return None
        seen = await self.marks.seen(self.index)
        if seen is None:
            log.info("discord: shard %d has no record of being read before; nothing to read "
                     "back", self.index)  # fmt: skip
            return None
        since = max(seen - MARGIN_S, self.marks.clock() - window)
        return discord.utils.time_snowflake(datetime.fromtimestamp(since, UTC))

    async def _places_since(self, after: int) -> list[Place]:
        settings, client = self.settings, self.client
        found: list[Place] = []
        for channel_id in settings.support_channel_ids:
            channel = client.get_channel(int(channel_id))  # cached only when on this shard
            if isinstance(channel, discord.TextChannel) and _newer(channel.last_message_id, after):
                found.append(channel)
        parents = {*settings.support_channel_ids, *settings.forum_channel_ids}
        for guild in client.guilds:
            for thread in guild.threads:
                if str(thread.parent_id) in parents and _newer(thread.last_message_id, after):
                    found.append(thread)
        if self.index == 0 and settings.answer_direct_messages:
            for dm in await self.marks.recent_dms(settings.catch_up_dm_channels):
                found.append(client.get_partial_messageable(dm))
        return found

    async def _reader(self, after: int) -> None:
        while self._order:
            channel = self._order.popleft()
            await self._read(self._places[channel], after)
            await self._drain(channel)

    async def _read(self, place: Place, after: int) -> None:
        """Deliver ``place``'s messages after ``after``, oldest first, page by page."""
        since, count = discord.Object(id=after), 0
        try:
            async for message in place.history(limit=PER_CHANNEL, after=since, oldest_first=True):
                count += 1
                await self._deliver(message)
        except Exception as err:  # no access there, a lost connection: the rest go on
            log.warning("discord: shard %d: could not read back channel %s (%s)", self.index,
                        place.id, err)  # fmt: skip
        self.read += count
        if count >= PER_CHANNEL:
            log.warning("discord: shard %d: channel %s had over %d messages in its gap; "
                        "the rest is not read back", self.index, place.id, PER_CHANNEL)  # fmt: skip

    async def _drain(self, channel: int) -> None:
        """Deliver ``channel``'s live messages that waited for its gap, in order; live ones
        arriving meanwhile join the wait until it is empty."""
        waiting = self._pending.get(channel, [])
        while waiting:
            await self._deliver(waiting.pop(0))
        self._pending.pop(channel, None)


def _newer(last: int | None, after: int) -> bool:
    return last is not None and last > after


def _when(snowflake: int) -> str:
    return discord.utils.snowflake_time(snowflake).strftime("%H:%M:%S")
