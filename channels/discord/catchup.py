"""Reading back a gateway shard's gap: the messages nobody read while it changed hands.

Discord delivers a gateway event only to the sessions open for its shard right then, and a new
session (IDENTIFY) gets nothing sent before its READY (docs/operations.md, "Discord: the
failover gap"). So whenever a shard's session starts afresh (a replica takes the shard over
from one that was killed or handed it over, a restart after an outage, discord.py identifying
again after a failed RESUME), its gap is read back over REST, and each message read goes the
way a live one does:

- **Since when.** While a shard is open and caught up, its holder writes a watermark every
  second (``discord-seen:<bot id>:<shard>/<count>`` = when its socket last received a frame,
  ms, kept a week: up to a heartbeat, ~41 s, behind on a quiet shard). A new session
  reads the messages written after the watermark less ``MARGIN_S`` (clocks, events in flight),
  at most ``catch_up_seconds`` back. A shard with no recent watermark under this shard count
  (it changed over a restart) reads from the earliest of the old shards its servers were on
  (``Watermarks.seen``); none at all (the bot's first session ever): nothing.
- **Where.** The support channels on this shard, the active threads of support and forum
  channels (a forum post made in the gap included: GUILD_CREATE lists the active threads) and
  the tickets' threads in the desk channel (staff replies: the desk asks Discord for the
  roles of their authors, which a message read over REST does not carry), those whose last
  message is newer than that; on shard 0 also the DM channels of the
  ``catch_up_dm_channels`` most recent DM customers (``discord-dm:<bot id>:<channel id>``,
  written by shard 0's holder when it first sees a DM channel, refreshed every 5 minutes,
  kept a week).
  A bot cannot list its DM channels, so a customer's very first DM, sent in a gap, is not
  found. A server that is unavailable (at the session's start, or an outage of its own:
  Discord sends nothing of it meanwhile) holds the watermark, and is read the same way when
  it is back (``arrived``).
- **Exactly once.** The message id is the inbound queue's idempotency key: what the last
  holder had queued already is dropped as a duplicate. A staff message is recorded in the
  ticket's conversation by its id, and one taken in before keeps what it got then (relayed
  once, or internal), with no second notice (``brain/conversation.py``).
- **In order.** Until a channel has been read back, live messages in it wait behind its gap
  (and move the channel to the front of the reading), and so do clicks on a ticket's card
  whose thread it is (``read_back``); live messages elsewhere go on at once.
  From a disconnect to the new session's ``on_ready`` (or its RESUMED, which needs nothing
  read back: Discord replays what the session missed) the plan is not known, so every live
  message waits, and the watermark stands still.
- **Nothing skipped for good.** Each store call of the plan and each page of a channel's
  history has ``STEP_TIMEOUT_S``; a failed one is tried again (``TRIES``), a channel from its
  last message read. A plan or a channel that still fails lets the live messages go on and is
  tried again every ``LATE_RETRY_S`` while within ``catch_up_seconds``; until then the shard's
  watermark stays where it was (also after a RESUMED that follows), so a later session reads
  that gap too. A channel the bot may not read (403, 404) is logged and skipped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

import discord

from config.settings import DiscordSettings

log = logging.getLogger(__name__)

MARGIN_S = 5.0  # read back from this long before the watermark
BEAT_S = 1.0  # how often a holder writes its shards' watermarks
KEEP_S = 7 * 86_400.0  # how long watermarks and DM channels are remembered
# A known DM channel's record is written again after this long: the recent DM customers are
# ranked by it, so the ranking is this coarse.
DM_REFRESH_S = 300.0
PER_CHANNEL = 5000  # messages read back per channel at most (the oldest of the gap)
READERS = 4  # channels read at once (discord.py waits out Discord's rate limits)
STEP_TIMEOUT_S = 30.0  # one store call of the plan, or one page of a channel's history
TRIES = 3  # tries at the plan and at each channel before the session goes on without it
LATE_RETRY_S = 30.0  # how often channels that could not be read are tried again later
READ_BACK_POLL_S = 0.1  # how often a click waiting for its ticket thread's gap looks again

Deliver = Callable[[discord.Message], Awaitable[None]]
Reading = Coroutine[Any, Any, None]
# The servers back (GUILD_CREATE) while a session waited to be released, each with when its
# outage began (None: since the session's plan).
ServersBack = Callable[[], list[tuple[discord.Guild, float | None]]]
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

    async def seen(self, index: int, stale_before: float = 0.0) -> float | None:
        """When shard ``index`` was last known read (Unix seconds), or None. A shard with no
        record under this shard count, or only one older than ``stale_before`` (``SHARD_COUNT``
        changed over a restart), takes the earliest record of the shards its servers were on
        under the count in use since, if that is later (reading more back costs only
        duplicates, which the queue drops)."""
        value = await self.store.kv_get(self._seen_key(index))
        own = int(value) / 1000 if value is not None and value.isdecimal() else None
        if own is not None and own >= stale_before:
            return own
        found = await self._seen_before_resharding(index)
        if found is None or (own is not None and found[1] <= own):
            return own
        log.info("discord: shard %d/%d has no recent record of being read; reading back from "
                 "the records of the %d shards before (SHARD_COUNT changed)", index,
                 self.count, found[0])  # fmt: skip
        return found[1]

    async def _seen_before_resharding(self, index: int) -> tuple[int, float] | None:
        """(the shard count in use last before this one, the earliest record of the shards
        this shard's servers were on under it), or None: no other count has records."""
        counts: dict[int, dict[int, int]] = {}  # another shard count -> shard -> its record
        for key, value in (await self.store.kv_scan(self._seen_prefix)).items():
            shard, _, count = key.removeprefix(self._seen_prefix).partition("/")
            if not (shard.isdecimal() and count.isdecimal() and value.isdecimal()):
                continue  # not a record this code wrote
            if int(count) != self.count:
                counts.setdefault(int(count), {})[int(shard)] = int(value)
        if not counts:
            return None
        before, marks = max(counts.items(), key=lambda item: max(item[1].values()))  # last used
        # A server is on shard (id >> 22) % count: under a multiple of the count before, this
        # shard's servers were all on one shard then; under a divisor, on those it folds.
        if self.count % before == 0:
            sources = [index % before]
        elif before % self.count == 0:
            sources = [shard for shard in range(before) if shard % self.count == index]
        else:
            sources = list(range(before))
        if not all(shard in marks for shard in sources):
            sources = list(marks)  # one of them never recorded: the earliest of them all
        return before, min(marks[shard] for shard in sources) / 1000

    async def mark(self, read: Mapping[int, float]) -> None:
        """Shard ``index`` is read up to ``read[index]`` (Unix seconds)."""
        for index, when in read.items():
            await self.store.kv_set(self._seen_key(index), str(int(when * 1000)), ttl_s=KEEP_S)

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
            if channel.isdecimal() and value.isdecimal():
                found.append((int(value), int(channel)))
        return [channel for _, channel in sorted(found, reverse=True)[:limit]]


class ShardCatchUp:
    """One gateway session's reading back of its shard's gap, and the live messages
    that wait for it (``live``). Made at the session's start (a new client, or a disconnect
    of the client's session), run at its ``on_ready``, released at RESUMED (``release``).
    ``previous``: the client's earlier session, still reading maybe: this one's messages wait
    for it, so that nothing overtakes what it still holds."""

    def __init__(
        self,
        index: int,
        client: discord.Client,
        settings: DiscordSettings,
        marks: Watermarks,
        deliver: Deliver,
        previous: ShardCatchUp | None = None,
    ) -> None:
        self.index, self.client, self.settings = index, client, settings
        self.marks, self._deliver = marks, deliver
        self.previous = previous
        self._inherits: ShardCatchUp | None = None  # a resumed session's unread channels
        self._holder = previous  # may still hold channels (a server's reading there)
        self.started = False
        self.done = asyncio.Event()  # live messages go on at once
        self.complete = asyncio.Event()  # every channel read back: the watermark may move
        self.read = 0  # messages read back (duplicates of what was queued included)
        self._planned = False
        self._early: list[discord.Message] = []  # live before the plan was known
        self._pending: dict[int, list[discord.Message]] = {}  # channel -> live, waiting
        self._order: deque[int] = deque()  # channels left to read, front first
        self._places: dict[int, Place] = {}
        self._failed: dict[int, int] = {}  # channel -> the snowflake to read on after
        self._unplanned = False  # the plan failed: the watermark stays for a later session
        self._after_id: int | None = None  # the snowflake the plan reads after
        self._arrived_ids: set[int] = set()  # channels of servers available since the plan
        self._arriving = 0  # readings of such servers under way
        self._planning = False  # ``run`` began: its plan will read the servers' cache
        self._late_running = False  # ``_read_late`` is trying failed channels again
        self._began = 0.0  # when ``run`` began (the clock's): the window is counted from it

    # -- live messages ---------------------------------------------------------------------

    async def live(self, message: discord.Message) -> None:
        """A live message of this session (a customer's, or staff in a ticket's thread):
        delivered now, or after its channel's gap."""
        if not self._planned:
            self._early.append(message)
            return
        channel = message.channel.id
        waiting = self._waiting(channel)
        if waiting is None:
            await self._deliver(message)
            return
        waiting.append(message)
        self._read_next(channel)  # someone is writing there now

    async def read_back(self, channel: int, within: float = STEP_TIMEOUT_S) -> None:
        """Until ``channel``'s gap is read back here (at once if it has none; ``within`` at
        most). A click on a ticket's card waits so for the staff messages written in its
        thread in the gap, which are judged before it, as they were written before it."""
        deadline = time.monotonic() + within
        while not self._planned or self._waiting(channel) is not None:
            if time.monotonic() >= deadline or self.client.is_closed():
                return
            self._read_next(channel)  # someone waits for it
            await asyncio.sleep(READ_BACK_POLL_S)

    def _read_next(self, channel: int) -> None:
        """``channel``, if still to be read, is the next one read."""
        if channel in self._order and self._order[0] != channel:
            self._order.remove(channel)
            self._order.appendleft(channel)

    async def release(self, servers_back: ServersBack | None = None) -> list[Reading]:
        """Nothing to read back: the session resumed (Discord replayed what it missed), or it
        ended before ``run`` (its gap stays behind the shard's watermark, which never moved
        past it, for the next session to read). What waited for the plan is handed on,
        behind the gaps of the servers ``servers_back`` names once the session before is
        done (back in the replay): their readings are returned, for the caller to run."""
        if self.started:
            return []  # ``run`` hands everything on when it ends
        self.started = True
        previous = self._inherits = self.previous  # its unread gap is this session's too
        readings: list[Reading] = []
        try:
            await self._after_previous()
            if previous is not None:
                self._after_id = previous._after_id  # a server back later reads from there
            for guild, since in servers_back() if servers_back is not None else []:
                reading = self._register(guild, since)
                if reading is not None:
                    readings.append(reading)
        finally:
            await self._hand_on_early()
            self._planned = True
            self.done.set()
            self._settle()
        return readings

    def _waiting(self, channel: int) -> list[discord.Message] | None:
        """The live messages of ``channel`` waiting for its gap here, or in the session
        before (a server's reading under way there), or None: it is not waited for."""
        waiting = self._pending.get(channel)
        holder = self._holder
        if waiting is None and holder is not None:
            if holder._arriving or holder._holder is not None:
                return holder._waiting(channel)  # the sessions before, in turn
            self._holder = None  # nothing held there any more
        return waiting

    def fully_read(self) -> bool:
        """This session has read its whole gap back, and so have the sessions it resumed
        (``release``): the shard's watermark may move."""
        chain: list[ShardCatchUp] = []
        link: ShardCatchUp | None = self
        while link is not None:
            chain.append(link)
            link = link._inherits
        for link in reversed(chain):  # oldest first: one fully read is let go
            if not link.complete.is_set():
                return False
            link._inherits = None
        return True

    # -- the reading -----------------------------------------------------------------------

    async def run(self) -> None:
        """Read the gap back, then let every waiting message go (also when cancelled); then
        try what failed (the plan, channels) again now and then, while in the window."""
        self.started = self._planning = True
        began = time.monotonic()
        self._began = self.marks.clock()
        after: int | None = None
        ended = False  # not cancelled on the way (a stop, the client closed)
        try:
            await self._after_previous()
            after = await self._plan()
            if after is not None and self._order:
                await asyncio.gather(*(self._reader(after) for _ in range(READERS)))
                took = time.monotonic() - began
                log.info("discord: shard %d read back: %d messages in %d channels since %s in "
                         "%.1f s (those already queued are dropped as duplicates)", self.index,
                         self.read, len(self._places), _when(after), took)  # fmt: skip
            ended = not self.client.is_closed()
        finally:
            await self._hand_on_early()  # cancelled while planning: they waited for nothing
            self._planned = True
            self._order.clear()
            for channel in [c for c in self._pending if c not in self._arrived_ids]:
                await self._drain(channel)
            self.done.set()
            if ended:
                self._settle()
        if self._unplanned:
            await self._plan_late()
        elif after is not None and self._failed and not self._late_running:
            await self._read_late(after)

    async def _after_previous(self) -> None:
        previous = self.previous
        if previous is not None:
            await previous.done.wait()  # its servers' readings hold their own channels
        self.previous = None

    @property
    def planned(self) -> bool:
        """Live messages no longer wait for the plan (it was made, or the session released)."""
        return self._planned

    @property
    def planning(self) -> bool:
        """``run`` has begun and its plan is not laid yet: it will find the servers cached."""
        return self._planning and not self._planned

    async def _hand_on_early(self) -> None:
        """Deliver what waited for the plan, in order (still unplanned: what comes meanwhile
        joins the end of the wait)."""
        while self._early:
            message = self._early.pop(0)
            waiting = self._waiting(message.channel.id)
            if waiting is not None:
                waiting.append(message)
            else:
                await self._deliver(message)

    async def _plan(self) -> int | None:
        """Work out the channels to read and the snowflake to read after; None: nothing."""
        found = await self._find(TRIES)
        if found is None:
            log.error("discord: shard %d: cannot read back its gap yet; live messages go on, "
                      "and the read-back is tried again every %g s", self.index,
                      LATE_RETRY_S)  # fmt: skip
            self._unplanned = True
        after, places = found or (None, [])
        self._after_id = after
        for place in places:
            self._places[place.id] = place
            self._order.append(place.id)
            self._pending[place.id] = []
        self._planned = True
        early, self._early = self._early, []
        for message in early:  # in arrival order, behind their channel's gap if it has one
            waiting = self._waiting(message.channel.id)
            if waiting is None:
                waiting = self._pending.setdefault(message.channel.id, [])
            waiting.append(message)
        for channel in {m.channel.id for m in early} - set(self._order):
            await self._drain(channel)
        return after

    async def _find(self, tries: int, quiet: bool = False) -> tuple[int | None, list[Place]] | None:
        """The snowflake to read after (None: nothing to read) and the places to read; None
        when all ``tries`` failed (the store or Discord unreachable) or the client closed."""
        for attempt in range(1, tries + 1):
            if self.client.is_closed():
                return None
            try:
                async with asyncio.timeout(STEP_TIMEOUT_S):
                    after = await self._after()
                    return after, (await self._places_since(after) if after is not None else [])
            except Exception as err:
                (log.debug if quiet else log.warning)(
                    "discord: shard %d: planning the read-back failed (%s)", self.index,
                    _error(err))  # fmt: skip
                if attempt < tries:
                    await asyncio.sleep(attempt)
        return None

    async def _plan_late(self) -> None:
        """The plan failed: it is tried again every ``LATE_RETRY_S`` (live messages go on
        meanwhile) and its channels read as late ones, for ``catch_up_seconds`` at most."""
        gives_up = self.marks.clock() + self.settings.catch_up_seconds
        while True:
            await asyncio.sleep(LATE_RETRY_S)
            if (found := await self._find(1, quiet=True)) is not None:
                break
            if self.client.is_closed():
                return  # the session is over: its watermark stays for the next one
            if self.marks.clock() > gives_up:
                log.error("discord: shard %d: the read-back could not be planned within the "
                          "catch-up window; its gap is not read back", self.index)  # fmt: skip
                self._unplanned = False
                self._settle()
                return
        after, places = found
        self._after_id, self._unplanned = after, False
        if after is not None and places:
            log.info("discord: shard %d: read-back planned late: %d channels (what they held "
                     "comes after the live messages taken in since)", self.index,
                     len(places))  # fmt: skip
            for place in places:
                self._places[place.id] = place
                self._failed[place.id] = after
            if self._late_running:
                return  # the loop under way takes these channels too
            if not await self._read_late(after, wait=False):
                return
        self._settle()

    async def _after(self) -> int | None:
        window = self.settings.catch_up_seconds
        if window <= 0:
            return None
        seen = await self.marks.seen(self.index, stale_before=self._began - window)
        if seen is None:
            log.info("discord: shard %d has no record of being read before; nothing to read "
                     "back", self.index)  # fmt: skip
            return None
        return self._read_from(seen, self._began)

    def _read_from(self, since: float, now: float) -> int:
        """The snowflake to read after, for a gap that began at ``since``: ``MARGIN_S``
        before it, and ``catch_up_seconds`` before ``now`` at most."""
        return _snowflake(max(since - MARGIN_S, now - self.settings.catch_up_seconds))

    async def _places_since(self, after: int) -> list[Place]:
        """The places with something newer than ``after``: recent DM channels first (the only
        wait), then the servers as cached right now, with nothing awaited before the plan is
        laid (a server that arrives later goes through ``arrived``)."""
        settings, client = self.settings, self.client
        found: list[Place] = []
        if self.index == 0 and settings.answer_direct_messages:
            for dm in await self.marks.recent_dms(settings.catch_up_dm_channels):
                found.append(client.get_partial_messageable(dm))
        for guild in client.guilds:
            found += self._guild_places(guild, after)
        return found

    def _guild_places(self, guild: discord.Guild, after: int) -> list[Place]:
        """``guild``'s support channels, the active threads of its support and forum channels,
        and the tickets' threads in its desk channel (the bot's), whose last message is newer
        than ``after``."""
        settings = self.settings
        found: list[Place] = []
        for channel_id in settings.support_channel_ids:
            channel = guild.get_channel(int(channel_id))
            if isinstance(channel, discord.TextChannel) and _newer(channel.last_message_id, after):
                found.append(channel)
        parents = {*settings.support_channel_ids, *settings.forum_channel_ids}
        desk, bot = settings.desk_channel_id, self.client.user
        for thread in guild.threads:
            parent = str(thread.parent_id)
            card = parent == desk and bot is not None and thread.owner_id == bot.id
            if (parent in parents or card) and _newer(thread.last_message_id, after):
                found.append(thread)
        return found

    # -- servers that become available during the session ----------------------------------

    def arrived(self, guild: discord.Guild, since: float | None = None) -> Reading | None:
        """A server became available during this session: it was unavailable at the start
        (its GUILD_CREATE came after ``on_ready``: not in the plan), or since ``since`` (an
        outage of the server: Discord sent nothing of it meanwhile). Its places with
        something new wait from now on, as planned ones do, and the watermark stands still
        until they are read; returns that reading, for the caller to run (None: nothing)."""
        if not self._planned:
            return None  # not planned yet: the plan finds the server in the cache
        return self._register(guild, since)

    def _register(self, guild: discord.Guild, since: float | None) -> Reading | None:
        window = self.settings.catch_up_seconds
        if window <= 0 or self.client.is_closed():
            return None
        if since is not None:
            after: int | None = self._read_from(since, self.marks.clock())
        else:
            after = self._after_id
        if after is None:
            return None
        # A channel that failed before is read from where it failed, if that is earlier.
        failed, pending = self._failed, self._pending
        places = [(p, min(after, failed.get(p.id, after)))
                  for p in self._guild_places(guild, after) if p.id not in pending]  # fmt: skip
        if not places:
            return None
        for place, _ in places:
            self._places[place.id] = place
            self._pending[place.id] = []
            self._arrived_ids.add(place.id)
        self._arriving += 1
        self.complete.clear()
        return self._read_arrived(guild, places, after)

    async def _read_arrived(
        self, guild: discord.Guild, places: list[tuple[Place, int]], after: int
    ) -> None:
        began, read = time.monotonic(), self.read
        left = [place.id for place, _ in places]
        try:
            for place, since in places:
                await self._read(place, since, TRIES)
                await self._drain(place.id)
                self._arrived_ids.discard(place.id)
                left.remove(place.id)
        finally:
            try:
                for channel in left:  # cancelled (a stop): what waited goes on
                    await self._drain(channel)
                    self._arrived_ids.discard(channel)
            finally:
                self._arriving -= 1
        log.info("discord: shard %d: server %s became available: %d messages read back in %d "
                 "channels since %s in %.1f s", self.index, guild.id, self.read - read,
                 len(places), _when(after), time.monotonic() - began)  # fmt: skip
        if self._failed and not self._late_running and self.done.is_set():
            await self._read_late(after)
        self._settle()

    def _settle(self) -> None:
        """The watermark may move once nothing is left to read: the plan made and read, no
        channel failed, no server's reading under way."""
        if self.done.is_set() and not (self._failed or self._unplanned or self._arriving
                                       or self._late_running):  # fmt: skip
            self.complete.set()

    async def _reader(self, after: int) -> None:
        while self._order and not self.client.is_closed():  # closed: the session is over
            channel = self._order.popleft()
            await self._read(self._places[channel], after, TRIES)
            await self._drain(channel)

    async def _read(self, place: Place, after: int, tries: int) -> None:
        """Deliver ``place``'s messages after ``after``, oldest first, page by page; a failed
        page is tried again from the last message delivered, ``tries`` times in all, and then
        left in ``_failed`` (from there)."""
        since, count = after, 0
        for attempt in range(1, tries + 1):
            try:
                pages = place.history(limit=None, after=discord.Object(id=since),
                                      oldest_first=True)  # fmt: skip
                while (message := await _next(pages)) is not None:
                    if count == PER_CHANNEL:
                        log.warning("discord: shard %d: channel %s had over %d messages in its "
                                    "gap; the rest is not read back", self.index, place.id,
                                    PER_CHANNEL)  # fmt: skip
                        break
                    count, since = count + 1, message.id
                    await self._deliver(message)
                self._failed.pop(place.id, None)
                break
            except (discord.Forbidden, discord.NotFound) as err:  # trying again cannot help
                log.warning("discord: shard %d: cannot read back channel %s (%s)", self.index,
                            place.id, _error(err))  # fmt: skip
                self._failed.pop(place.id, None)
                break
            except Exception as err:  # a lost connection, a timeout, Discord failing
                self._failed[place.id] = since
                if attempt == tries or self.client.is_closed():
                    log.warning("discord: shard %d: could not read back channel %s (%s); "
                                "tried again later", self.index, place.id, _error(err))  # fmt: skip
                    break
                await asyncio.sleep(attempt)
        self.read += count

    async def _read_late(self, after: int, wait: bool = True) -> bool:
        """Try the channels that failed again every ``LATE_RETRY_S`` (their live messages
        already go on) until all are read or the window has passed them; only then may the
        shard's watermark move. False: the session ended first (the client closed)."""
        window_ends = _time(after) + self.settings.catch_up_seconds
        self._late_running = True
        try:
            while self._failed:
                if wait:
                    await asyncio.sleep(LATE_RETRY_S)
                wait = True
                if self.client.is_closed():
                    return False  # the session is over: its watermark stays for the next one
                if self.marks.clock() > window_ends:
                    log.error("discord: shard %d: channels %s could not be read back within "
                              "the catch-up window", self.index, sorted(self._failed))  # fmt: skip
                    self._failed.clear()
                    break
                for channel, since in list(self._failed.items()):
                    await self._read(self._places[channel], since, 1)
        finally:
            self._late_running = False
        self._settle()
        return True

    async def _drain(self, channel: int) -> None:
        """Deliver ``channel``'s live messages that waited for its gap, in order; live ones
        arriving meanwhile join the wait until it is empty."""
        waiting = self._pending.get(channel, [])
        while waiting:
            await self._deliver(waiting.pop(0))
        self._pending.pop(channel, None)


async def _next(pages: AsyncIterator[discord.Message]) -> discord.Message | None:
    """The next message of a history, None at its end; ``STEP_TIMEOUT_S`` per page."""
    try:
        async with asyncio.timeout(STEP_TIMEOUT_S):
            return await anext(pages)
    except StopAsyncIteration:
        return None


def _error(err: BaseException) -> str:
    return str(err) or type(err).__name__


def _snowflake(when: float) -> int:
    return discord.utils.time_snowflake(datetime.fromtimestamp(when, UTC))


def _time(snowflake: int) -> float:
    return discord.utils.snowflake_time(snowflake).timestamp()


def last_heard(client: discord.Client, now: float) -> float | None:
    """When (Unix seconds, ``now`` the clock's) the client's gateway socket last received
    anything. Discord acknowledges a heartbeat every ~41 s on a quiet shard, so a connection
    that died without closing stops moving the shard's watermark at once, not when discord.py
    gives it up (60 s without a frame). None while discord.py does not say (no heartbeat yet,
    or a socket being closed): then nothing is written."""
    keep_alive = getattr(client.ws, "_keep_alive", None)  # discord.py's heartbeat handler
    received = getattr(keep_alive, "_last_recv", None)  # its perf_counter() of the last frame
    if not isinstance(received, float):
        return None
    return now - max(0.0, time.perf_counter() - received)


def _newer(last: int | None, after: int) -> bool:
    return last is not None and last > after


def _when(snowflake: int) -> str:
    return discord.utils.snowflake_time(snowflake).strftime("%H:%M:%S")
