"""The Discord connection shared by the customer channel and the staff desk: a REST client
that every replica keeps logged in (every send, edit, thread and typing goes through it), and
the gateway, one connection per shard, read only by the replica holding that shard's store
lease (``gateway.py``).

The adapter owns the clients; it does not subclass them. Discord delivers every event of a
bot to the gateway session of its shard, so the channel and the desk cannot each own a
client: they attach their callbacks here (``on_customer_message``, ``on_desk_message``;
``on_setup`` once per process after login, ``on_gateway`` for every gateway client) before
the owner enters ``connected()``, which logs in, checks the set-up and starts the shards: a
shard whose lease this replica takes at once is awaited until READY (start-up errors such as
a refused intent stop the bot); the others stand by.

Discord quirks handled here (why the code looks like this):

- ``on_ready`` fires again after every failed RESUME (a fresh session), so one-time set-up
  (persistent buttons, the slash command tree) runs in ``setup_hook``, which discord.py calls
  exactly once per client, after login and before the gateway connects.
- Reading message text needs the privileged **message content** intent. Without it switched on
  in the Developer Portal the gateway closes with 4014; that is a start-up error with the fix.
- discord.py keeps the REST base and the gateway URL as class attributes (one per process), so
  the settings' ``API_BASE_URL`` / ``GATEWAY_URL`` (proxies, tests) are set there on start.
- Rate limits (429) are discord.py's: it sleeps per bucket and retries. The wait is bounded
  (``max_ratelimit_timeout``): past it the send fails as a ``ChannelError`` and our outbox
  retries later, instead of a worker sleeping for minutes.
- Gateway disconnects reconnect (and RESUME) by themselves; each one is logged and counted.
- ``allowed_mentions`` is "nobody" on the client: no text the bot sends, an agent's included,
  can ping ``@everyone``, a role or a user. Customer replies ping only the replied-to author.
- A new session gets nothing sent before its READY: each one reads its shard's gap back over
  REST first (``catchup.py``), while the live messages of the channels still being read (a
  customer's, or staff in a ticket's thread) wait behind them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import aiohttp
import discord
import yarl

from channels.discord.catchup import (
    BEAT_S,
    CatchUpStore,
    ShardCatchUp,
    Watermarks,
    last_heard,
)
from channels.discord.errors import describe, rest_error
from channels.discord.gateway import ClientSetup, GatewayClient, Shard
from channels.discord.spread import ShardSpread, ShardStore
from channels.singleton import LocalLocks, Locks
from channels.tasks import cancel_and_wait
from config.errors import ChannelError, ConfigError
from config.settings import DiscordSettings

log = logging.getLogger(__name__)

T = TypeVar("T")
MessageCallback = Callable[[discord.Message], Awaitable[None]]
SetupCallback = Callable[["DiscordConnection"], Awaitable[None]]
StopCallback = Callable[[], Awaitable[None]]

NO_PINGS = discord.AllowedMentions.none()
RATE_LIMIT_WAIT_S = 30.0  # discord.py's minimum for max_ratelimit_timeout
# A free lease is taken in one store round trip: a shard not ours by then is another
# replica's (or its lease has yet to run out), and this replica stands by for it.
CLAIM_GRACE_S = 1.0


class DiscordConnection:
    """The clients, their lifecycle, message routing and REST error mapping."""

    def __init__(
        self,
        settings: DiscordSettings,
        *,
        ready_timeout_s: float = 1.0,
        locks: Locks | None = None,
        claim_grace_s: float = CLAIM_GRACE_S,
        presence_ttl_s: float = 30.0,
    ) -> None:
        if settings.bot_token is None or not settings.bot_token.get_secret_value():
            raise ConfigError("FRONTDESK_DISCORD__BOT_TOKEN: required for Discord")
        self.settings = settings
        self.locks: Locks = locks if locks is not None else LocalLocks()
        self.claim_grace_s = claim_grace_s
        self.presence_ttl_s = presence_ttl_s  # the store's lock TTL
        self.spread: ShardSpread | None = None  # with a store and several shards
        # Frontdesk never joins voice: no "PyNaCl is not installed" warning at every start.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        intents = discord.Intents.none()
        intents.guilds = intents.guild_messages = intents.dm_messages = True
        intents.message_content = True
        self._options: dict[str, Any] = {
            "intents": intents,
            "allowed_mentions": NO_PINGS,
            "max_ratelimit_timeout": RATE_LIMIT_WAIT_S,
            "chunk_guilds_at_startup": False,
            # READY is followed by one GUILD_CREATE per server; discord.py waits this long
            # after the last one before on_ready (default 2 s).
            "guild_ready_timeout": ready_timeout_s,
        }
        self.client = discord.Client(**self._options)  # REST only: logged in, never connected
        self.shards: list[Shard] = []
        self.disconnects = 0
        self.resumes = 0
        self._customer: MessageCallback | None = None
        self._desk: MessageCallback | None = None
        self._setups: list[SetupCallback] = []
        self._gateway_setups: list[ClientSetup] = []
        self._stops: list[StopCallback] = []
        self._stopping = False
        # Reading back each new session's gap (``catchup.py``): needs the store's kv.
        self.marks: Watermarks | None = None
        self._catch_ups: dict[int, ShardCatchUp] = {}  # shard -> its current session's
        # Read-back tasks in the order they began (a dict as an ordered set): stop cancels the
        # oldest first, so that a later session never hands on its messages before them.
        self._reading_back: dict[asyncio.Task[None], None] = {}
        self._events: dict[int, _SessionEvents] = {}  # each shard's current client's
        self._marking: asyncio.Task[None] | None = None

    # -- wiring ----------------------------------------------------------------------------

    def on_customer_message(self, callback: MessageCallback | None) -> None:
        self._customer = callback

    def on_desk_message(self, callback: MessageCallback | None) -> None:
        self._desk = callback

    def on_setup(self, callback: SetupCallback) -> None:
        """Run ``callback`` once per process, after login, before any shard connects."""
        self._setups.append(callback)

    def on_stop(self, callback: StopCallback) -> None:
        """Run ``callback`` on ``stop``, once the gateway is closed and before REST is: the
        customer channel's held messages get their last chance then."""
        self._stops.append(callback)

    def on_gateway(self, callback: ClientSetup) -> None:
        """Run ``callback`` on every gateway client (``setup_hook``: before it connects):
        what must be registered on the client that receives interactions."""
        self._gateway_setups.append(callback)

    @property
    def bot_user_id(self) -> int | None:
        return self.client.user.id if self.client.user is not None else None

    def is_connected(self) -> bool:
        """Logged in, and every shard this replica holds is READY and open now (false while
        reconnecting, or when the last term of a shard failed). A shard another replica
        holds does not count: this replica sends all the same."""
        if self.client.is_closed() or self.client.user is None or not self.shards:
            return False
        for shard in self.shards:
            if shard.holding and not shard.is_open():
                return False
            if not shard.holding and shard.failed is not None:
                return False
        return True

    def held_shards(self) -> list[int]:
        """The shards whose gateway this replica reads now."""
        return [s.index for s in self.shards if s.holding]

    def is_desk_channel(self, channel_id: int | None) -> bool:
        desk = self.settings.desk_channel_id
        return desk is not None and channel_id is not None and str(channel_id) == desk

    def cached_channel(self, channel_id: int) -> Any:
        """A channel or thread as a gateway client of this replica has it cached, or None
        (the REST client caches nothing)."""
        for shard in self.shards:
            client = shard.client
            found = client.get_channel(channel_id) if client is not None else None
            if found is not None:
                return found
        return None

    # -- lifecycle -------------------------------------------------------------------------

    @asynccontextmanager
    async def connected(self) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    async def start(self) -> None:
        discord.http.Route.BASE = self.settings.api_base_url
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.settings.gateway_url)
        self._stopping = False
        token = self._token()
        try:
            await self.client.login(token)
            await self._setup()
        except discord.LoginFailure as err:
            await self.client.close()
            raise ConfigError("FRONTDESK_DISCORD__BOT_TOKEN: Discord rejected the token") from err
        except (discord.HTTPException, aiohttp.ClientError, OSError) as err:
            await self.client.close()
            raise ChannelError(f"Discord: cannot log in ({err})") from err
        except BaseException:
            await self.client.close()  # e.g. a set-up step that found the settings wrong
            raise
        bot_id = self.bot_user_id
        assert bot_id is not None
        count, store = self.settings.shard_count, self.locks
        if count > 1 and isinstance(store, ShardStore):
            self.spread = ShardSpread(store, bot_id, count, self.presence_ttl_s)
        self.shards = [Shard(i, count, self.locks, bot_id, self._gateway_client, token,
                             spread=self.spread, on_end=self._client_closed)
                       for i in range(count)]  # fmt: skip
        if self.spread is not None:
            await self.spread.start(self.shards)
        if isinstance(store, CatchUpStore) and self.settings.catch_up_seconds > 0:
            self.marks = Watermarks(store, bot_id, count)
            self._marking = asyncio.create_task(self._keep_marks(self.marks),
                                                name="discord-watermarks")  # fmt: skip
        for shard in self.shards:
            shard.start()
        try:
            for shard in self.shards:
                await shard.first_term(self.claim_grace_s)
        except BaseException:
            await self.stop()
            raise

    def _token(self) -> str:
        token = self.settings.bot_token
        assert token is not None
        return token.get_secret_value()

    def _gateway_client(self, shard: Shard) -> GatewayClient:
        options = dict(self._options)
        if shard.count > 1:
            options |= {"shard_id": shard.index, "shard_count": shard.count}
        client = GatewayClient(self._gateway_setup, shard.before_identify, **options)
        self._new_catch_up(shard.index, client)
        events = self._events[shard.index] = _SessionEvents(self, shard, client)
        for handler in (events.on_message, events.on_connect, events.on_ready,
                        events.on_disconnect, events.on_resumed, events.on_guild_available,
                        events.on_guild_join, events.on_guild_unavailable):  # fmt: skip
            client.event(handler)
        return client

    def _read_back(self, shard: Shard, reading: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(reading, name=f"{shard.name}:read-back")
        self._reading_back[task] = None
        task.add_done_callback(self._read_back_done)

    def _read_back_done(self, task: asyncio.Task[None]) -> None:
        self._reading_back.pop(task, None)

    def _new_catch_up(
        self, index: int, client: discord.Client, previous: ShardCatchUp | None = None
    ) -> ShardCatchUp | None:
        if self.marks is None:  # no store to keep watermarks in, or reading back is off
            return None
        catch_up = ShardCatchUp(index, client, self.settings, self.marks, self._take_in,
                                previous)  # fmt: skip
        self._catch_ups[index] = catch_up
        return catch_up

    async def _client_closed(self, client: GatewayClient) -> None:
        """A term's client has closed: if its session never reached ``on_ready`` (the lease
        lost, a stop just after READY, a disconnect), the messages that waited for
        its plan are handed on."""
        for catch_up in list(self._catch_ups.values()):
            if catch_up.client is client:
                await catch_up.release()

    async def read_back(self, client: discord.Client, channel_id: int) -> None:
        """Until ``client``'s session (the one an interaction came in on, so the shard of its
        server) is no longer reading ``channel_id``'s gap back."""
        for catch_up in list(self._catch_ups.values()):
            if catch_up.client is client:
                await catch_up.read_back(channel_id)

    def caught_up(self, index: int) -> bool:
        """Shard ``index``'s current session is past its gap: its live messages go
        on at once (channels that failed to be read may still be tried again)."""
        catch_up = self._catch_ups.get(index)
        return catch_up is not None and catch_up.done.is_set()

    def fully_read(self, index: int) -> bool:
        """Shard ``index``'s current session has read its whole gap back (or had none to
        read): its watermark may move."""
        catch_up = self._catch_ups.get(index)
        return catch_up is not None and catch_up.fully_read()

    async def _keep_marks(self, marks: Watermarks) -> None:
        """Every ``BEAT_S``: the watermark of each shard read here and caught up, and the DM
        channels seen. A store down costs only the reading back's precision: logged once."""
        down = False
        while True:
            await asyncio.sleep(BEAT_S)
            if self._stopping:
                return  # a session that began meanwhile is not read back: no mark past it
            now, read = marks.clock(), {}
            for shard in self.shards:
                client = shard.client
                if client is None or not shard.is_open() or not self.fully_read(shard.index):
                    continue
                events = self._events.get(shard.index)
                if events is not None and events.client is client \
                        and events.holds_watermark(self.settings.catch_up_seconds):  # fmt: skip
                    continue  # a server's events are missing until it is back: read later
                heard = last_heard(client, now)
                if heard is not None:
                    read[shard.index] = heard
            try:
                await marks.mark(read)
                await marks.flush_dms()
            except Exception as err:
                if not down:
                    log.warning("discord: cannot record which shards are read (%s)", err)
                down = True
                continue
            if down:
                log.info("discord: recording which shards are read again")
            down = False

    async def stop(self) -> None:
        """Close the gateway (giving up the shards' leases) and the HTTP session. Idempotent."""
        self._stopping = True
        spread, self.spread = self.spread, None
        if spread is not None:
            await spread.stop()
        # No watermark moves from here on: a session that began meanwhile is not read back.
        marking, self._marking = self._marking, None
        await cancel_and_wait(marking)
        # What waited behind a gap is handed on (held, or refused politely) like the rest;
        # first, so that no session's end waits for an earlier one still reading.
        while self._reading_back:  # also those a RESUMED started meanwhile
            task = next(iter(self._reading_back))
            self._reading_back.pop(task)
            await cancel_and_wait(task)
        shards, self.shards = self.shards, []
        await asyncio.gather(*(shard.stop() for shard in shards))
        self._catch_ups.clear()
        self._events.clear()
        for callback in self._stops:
            await callback()
        if not self.client.is_closed():
            await self.client.close()

    async def _setup(self) -> None:
        for callback in self._setups:
            try:
                await callback(self)
            except (discord.HTTPException, ChannelError) as err:
                # A missing applications.commands scope must not keep customers unanswered.
                log.error("discord: set-up step failed: %s", describe(err))

    async def _gateway_setup(self, client: discord.Client) -> None:
        for callback in self._gateway_setups:
            await callback(client)

    # -- events ----------------------------------------------------------------------------

    async def on_disconnect(self) -> None:
        if self._stopping:
            return
        self.disconnects += 1
        log.warning("discord: gateway disconnected (%d so far); reconnecting", self.disconnects)

    async def on_resumed(self) -> None:
        self.resumes += 1
        log.info("discord: gateway session resumed")

    async def _on_message(
        self, index: int, client: discord.Client, message: discord.Message
    ) -> None:
        """A gateway message of shard ``index``: it waits while its channel's gap is read
        back (a customer's channel, or a ticket's thread in the desk), else goes on at once."""
        if message.author.bot or message.webhook_id is not None:
            return  # ourselves, other bots, webhooks
        catch_up = self._catch_ups.get(index)
        if catch_up is not None and catch_up.client is client:
            await catch_up.live(message)
        else:
            await self._take_in(message)

    async def _take_in(self, message: discord.Message) -> None:
        """A message live or read back: staff in the desk to the desk, the rest to the
        customer channel."""
        if message.author.bot or message.webhook_id is not None:
            return  # read back: the bot's own posts are in the history too
        channel = message.channel
        parent = getattr(channel, "parent_id", None)
        if self.is_desk_channel(channel.id) or self.is_desk_channel(parent):
            await self._take(self._desk, message)
            return
        if self.marks is not None and message.guild is None:
            self.marks.saw_dm(message.channel.id)
        await self._take(self._customer, message)

    async def _take(self, callback: MessageCallback | None, message: discord.Message) -> None:
        if callback is None:
            return
        try:
            await callback(message)
        except Exception:
            # Discord has no redelivery of gateway events: this is loud on purpose.
            log.exception("discord: could not take in message %s in channel %s", message.id,
                          message.channel.id)  # fmt: skip

    # -- REST ----------------------------------------------------------------------------

    async def rest(self, what: str, request: Awaitable[T]) -> T:
        """Await a REST call, mapping failures with ``error``."""
        try:
            return await request
        except (discord.HTTPException, discord.RateLimited, aiohttp.ClientError, OSError,
                TimeoutError) as err:  # fmt: skip
            raise self.error(what, err) from err

    def error(self, what: str, err: BaseException) -> ChannelError:
        """Permanent failures -> ``DeliveryRefused`` (logged with a hint), transient ones ->
        ``ChannelError`` (``errors.py``)."""
        return rest_error(what, err)


class _SessionEvents:
    """The gateway events of one shard's client that decide when its gap is read back
    (``channels/discord/catchup.py``): a disconnect holds live messages and stops
    the watermark; RESUMED lets them go (Discord replays what the session missed); a new
    session's ``on_ready`` reads its gap back."""

    def __init__(self, connection: DiscordConnection, shard: Shard, client: GatewayClient):
        self.connection, self.shard, self.client = connection, shard, client
        # READY came and its on_ready (discord.py's, after the guilds) has not run yet: a
        # RESUMED meanwhile (a disconnect in that second) leaves the reading to on_ready.
        self.awaiting_ready = False
        # The session was lost since its READY or RESUMED: if its on_ready still comes, the
        # next session waits for the reading it starts.
        self.lost = False
        # Servers whose events Discord has not sent for a while, until their gap is taken on
        # by a reading: server -> (when its outage began, None: since the session's plan;
        # when it was noted). The shard's watermark stands still while any is here.
        self.away: dict[int, tuple[float | None, float]] = {}
        self.given_up: set[int] = set()  # away longer than the window: read back as far as it

    def _current(self) -> ShardCatchUp | None:
        catch_up = self.connection._catch_ups.get(self.shard.index)
        return catch_up if catch_up is not None and catch_up.client is self.client else None

    async def on_connect(self) -> None:  # discord.py: READY received
        self.awaiting_ready, self.lost = True, False

    async def on_ready(self) -> None:
        connection, shard, client = self.connection, self.shard, self.client
        self.awaiting_ready = False
        log.info("discord: READY as %s in %d servers (shard %d/%d)", client.user,
                 len(client.guilds), shard.index, shard.count)  # fmt: skip
        shard.on_ready()
        catch_up = self._current()
        if catch_up is None or connection._stopping:
            return  # nothing to read back with, or this client's term is ending
        if catch_up.started:  # no disconnect seen before this session: a new one now
            catch_up = connection._new_catch_up(shard.index, client, catch_up) or catch_up
        # The plan reads the servers available now from the watermark, which stood still
        # while they were away; those still unavailable are read when they are back.
        now = time.time()
        self.away = {guild.id: self.away.get(guild.id, (None, now)) for guild in client.guilds
                     if guild.unavailable and guild.id not in self.given_up}  # fmt: skip
        self.given_up &= {guild.id for guild in client.guilds if guild.unavailable}
        connection._read_back(shard, catch_up.run())
        if self.lost:
            connection._new_catch_up(shard.index, client, catch_up)

    async def on_disconnect(self) -> None:
        connection, client = self.connection, self.client
        await connection.on_disconnect()
        self.lost = True
        # Until the session resumes or a new one is READY, this shard is not read: its
        # watermark stands still and live messages wait (a failed RESUME ends in
        # a new session, and that one's gap starts here).
        catch_up = self._current()
        if catch_up is not None and catch_up.started and not client.is_closed() \
                and not connection._stopping:  # fmt: skip
            connection._new_catch_up(self.shard.index, client, catch_up)

    async def on_resumed(self) -> None:
        await self.connection.on_resumed()
        self.lost = False
        catch_up = self._current()
        if catch_up is not None and not self.awaiting_ready:
            # Discord replayed what the session missed; servers back meanwhile are read.
            for reading in await catch_up.release(self._servers_back):
                self.connection._read_back(self.shard, reading)

    def _servers_back(self) -> list[tuple[discord.Guild, float | None]]:
        """The servers away that are available again, taken out of ``away``."""
        if self.connection._stopping:
            return []  # their gap stays behind the watermark, which never moved past it
        back = [g for g in self.client.guilds if not g.unavailable and self._is_away(g.id)]
        return [(guild, self._since(guild.id)) for guild in back]

    def _is_away(self, guild_id: int) -> bool:
        return guild_id in self.away or guild_id in self.given_up

    def _since(self, guild_id: int) -> float | None:
        if guild_id in self.given_up:
            self.given_up.discard(guild_id)
            return 0.0  # as far back as the window goes
        return self.away.pop(guild_id)[0]

    async def on_guild_available(self, guild: discord.Guild) -> None:
        """A server's GUILD_CREATE after on_ready: unavailable at the session's start, or
        back from an outage; its gap is read back (``ShardCatchUp.arrived``). While the
        session is not planned (a disconnect is being resolved) it waits in ``away``: the
        plan reads it, or RESUMED takes it on."""
        catch_up = self._current()
        if catch_up is None or not self._is_away(guild.id):
            return
        if catch_up.planned:
            self._take_on(catch_up, guild)
        elif catch_up.planning:
            self._since(guild.id)  # the plan under way finds it in the cache: forgotten

    def _take_on(self, catch_up: ShardCatchUp, guild: discord.Guild) -> None:
        if self.connection._stopping:
            return  # its gap stays behind the watermark, which never moved past it
        reading = catch_up.arrived(guild, self._since(guild.id))  # registers its places now
        if reading is not None:
            self.connection._read_back(self.shard, reading)

    async def on_guild_join(self, guild: discord.Guild) -> None:
        # discord.py's name for a GUILD_CREATE without ``unavailable``: a server added, or
        # (as Discord may send it) one back from an outage. Nothing new is read of the first.
        await self.on_guild_available(guild)

    async def on_guild_unavailable(self, guild: discord.Guild) -> None:
        """A server's outage began: Discord sends nothing of it until it is back."""
        now = time.time()
        self.away.setdefault(guild.id, (last_heard(self.client, now) or now, now))

    def holds_watermark(self, window_s: float) -> bool:
        """A server is away (its gap not taken on yet); one away longer than the catch-up
        window is given up (its gap could not be read back any more)."""
        now = time.time()
        for guild_id, (_, noted) in list(self.away.items()):
            if now - noted > window_s:
                log.warning("discord: server %s has been unavailable for over %.0f s; the "
                            "shard's watermark moves on without it (when it is back, the "
                            "window's worth is read)", guild_id, window_s)  # fmt: skip
                del self.away[guild_id]
                self.given_up.add(guild_id)
        return bool(self.away)

    async def on_message(self, message: discord.Message) -> None:
        await self.connection._on_message(self.shard.index, self.client, message)
