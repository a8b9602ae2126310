"""One Discord gateway connection (a ``discord.Client``) shared by the customer channel and the
staff desk.

The adapter owns the client; it does not subclass it. Discord delivers every event of a bot to
one gateway session, so the channel and the desk cannot each own a client: they attach their
callbacks here (``on_customer_message``, ``on_desk_message``, ``on_setup``) before the owner
enters ``connected()``, which logs in, connects and waits for READY.

Discord quirks handled here (why the code looks like this):

- ``on_ready`` fires again after every failed RESUME (a fresh session), so one-time set-up
  (persistent buttons, the slash command sync) runs in ``setup_hook``, which discord.py calls
  exactly once, after login and before the gateway connects.
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
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import aiohttp
import discord
import yarl

from config.errors import ChannelError, ConfigError, DeliveryRefused
from config.settings import DiscordSettings

log = logging.getLogger(__name__)

T = TypeVar("T")
MessageCallback = Callable[[discord.Message], Awaitable[None]]
SetupCallback = Callable[["DiscordConnection"], Awaitable[None]]

NO_PINGS = discord.AllowedMentions.none()
RATE_LIMIT_WAIT_S = 30.0  # discord.py's minimum for max_ratelimit_timeout
_READY_TIMEOUT_S = 60.0
_STOP_TIMEOUT_S = 10.0
# Discord JSON error codes worth a hint: what is missing, and where to fix it.
HINTS = {
    50001: "missing access: give the bot View Channel (and Send Messages in Threads) there",
    50013: "missing permission: the bot needs Send Messages, Send Messages in Threads, "
    "Create Public Threads, Embed Links, Add Reactions and Read Message History there",
    50007: "cannot DM this user: they turned off DMs from server members or blocked the bot",
    10003: "unknown channel: the channel or thread was deleted",
    10008: "unknown message: the message was deleted",
    50083: "the thread is archived and locked",
    160002: "cannot reply without Read Message History",
}


class _Client(discord.Client):
    """discord.Client whose ``setup_hook`` calls back into the connection (once per login)."""

    def __init__(self, on_setup: Callable[[], Awaitable[None]], **options: Any) -> None:
        super().__init__(**options)
        self._frontdesk_setup = on_setup

    async def setup_hook(self) -> None:
        await self._frontdesk_setup()


class DiscordConnection:
    """The client, its lifecycle, message routing and REST error mapping."""

    def __init__(self, settings: DiscordSettings, *, ready_timeout_s: float = 1.0) -> None:
        if settings.bot_token is None or not settings.bot_token.get_secret_value():
            raise ConfigError("FRONTDESK_DISCORD__BOT_TOKEN: required for Discord")
        self.settings = settings
        # Frontdesk never joins voice: no "PyNaCl is not installed" warning at every start.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        intents = discord.Intents.none()
        intents.guilds = intents.guild_messages = intents.dm_messages = True
        intents.message_content = True
        self.client = _Client(
            self._setup,
            intents=intents,
            allowed_mentions=NO_PINGS,
            max_ratelimit_timeout=RATE_LIMIT_WAIT_S,
            chunk_guilds_at_startup=False,
            # READY is followed by one GUILD_CREATE per server; discord.py waits this long
            # after the last one before on_ready (default 2 s).
            guild_ready_timeout=ready_timeout_s,
        )
        self.disconnects = 0
        self.resumes = 0
        self._customer: MessageCallback | None = None
        self._desk: MessageCallback | None = None
        self._setups: list[SetupCallback] = []
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._stopping = False
        for handler in (self.on_message, self.on_ready, self.on_disconnect, self.on_resumed):
            self.client.event(handler)

    # -- wiring ----------------------------------------------------------------------------

    def on_customer_message(self, callback: MessageCallback | None) -> None:
        self._customer = callback

    def on_desk_message(self, callback: MessageCallback | None) -> None:
        self._desk = callback

    def on_setup(self, callback: SetupCallback) -> None:
        """Run ``callback`` in ``setup_hook`` (once, before the gateway connects)."""
        self._setups.append(callback)

    @property
    def bot_user_id(self) -> int | None:
        return self.client.user.id if self.client.user is not None else None

    def is_connected(self) -> bool:
        """READY was seen and the gateway socket is open now (false while reconnecting)."""
        ws = self.client.ws if self._ready.is_set() else None
        return ws is not None and ws.open and not self.client.is_closed()

    def is_desk_channel(self, channel_id: int | None) -> bool:
        desk = self.settings.desk_channel_id
        return desk is not None and channel_id is not None and str(channel_id) == desk

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
        token = self.settings.bot_token
        assert token is not None
        try:
            await self.client.login(token.get_secret_value())  # runs setup_hook too
        except discord.LoginFailure as err:
            await self.client.close()
            raise ConfigError("FRONTDESK_DISCORD__BOT_TOKEN: Discord rejected the token") from err
        except (discord.HTTPException, aiohttp.ClientError, OSError) as err:
            await self.client.close()
            raise ChannelError(f"Discord: cannot log in ({err})") from err
        except BaseException:
            await self.client.close()  # e.g. a set-up step that found the settings wrong
            raise
        task = self._task = asyncio.create_task(self._run(), name="discord-gateway")
        ready = asyncio.create_task(self._ready.wait())
        done, _ = await asyncio.wait(
            {ready, task}, timeout=_READY_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED
        )
        ready.cancel()
        if task in done:
            await self.stop()
            task.result()  # raises what ended the gateway (e.g. the intent refused)
        if not self._ready.is_set():
            await self.stop()
            raise ChannelError(f"Discord: not READY after {_READY_TIMEOUT_S:.0f} s")

    async def _run(self) -> None:
        try:
            await self.client.connect(reconnect=True)
        except discord.PrivilegedIntentsRequired as err:
            raise ConfigError(
                "FRONTDESK_DISCORD__ENABLED: Discord refused the message content intent; switch "
                "on Developer Portal -> Bot -> Privileged Gateway Intents -> Message Content"
            ) from err

    async def stop(self) -> None:
        """Close the gateway and the HTTP session. Idempotent."""
        self._stopping = True
        if not self.client.is_closed():
            await self.client.close()
        task, self._task = self._task, None
        if task is not None and not task.done():
            try:
                await asyncio.wait_for(task, _STOP_TIMEOUT_S)
            except (TimeoutError, Exception):
                log.warning("discord: the gateway did not close cleanly", exc_info=True)

    async def _setup(self) -> None:
        for callback in self._setups:
            try:
                await callback(self)
            except (discord.HTTPException, ChannelError) as err:
                # A missing applications.commands scope must not keep customers unanswered.
                log.error("discord: set-up step failed: %s", describe(err))

    # -- events ----------------------------------------------------------------------------

    async def on_ready(self) -> None:
        log.info("discord: READY as %s in %d servers", self.client.user, len(self.client.guilds))
        self._ready.set()

    async def on_disconnect(self) -> None:
        if self._stopping:
            return
        self.disconnects += 1
        log.warning("discord: gateway disconnected (%d so far); reconnecting", self.disconnects)

    async def on_resumed(self) -> None:
        self.resumes += 1
        log.info("discord: gateway session resumed")

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.webhook_id is not None:
            return  # ourselves, other bots, webhooks
        channel = message.channel
        parent = getattr(channel, "parent_id", None)
        desk = self.is_desk_channel(channel.id) or self.is_desk_channel(parent)
        callback = self._desk if desk else self._customer
        if callback is None:
            return
        try:
            await callback(message)
        except Exception:
            # Discord has no redelivery of gateway events: this is loud on purpose.
            log.exception(
                "discord: could not take in message %s in channel %s", message.id, channel.id
            )

    # -- REST ------------------------------------------------------------------------------

    async def rest(self, what: str, request: Awaitable[T]) -> T:
        """Await a REST call, mapping failures with ``error``."""
        try:
            return await request
        except (discord.HTTPException, discord.RateLimited, aiohttp.ClientError, OSError,
                TimeoutError) as err:  # fmt: skip
            raise self.error(what, err) from err

    def error(self, what: str, err: BaseException) -> ChannelError:
        """Permanent failures (403, 404, other 4xx) -> ``DeliveryRefused``, logged with a hint
        naming the missing permission or cause; transient ones -> ``ChannelError``."""
        if isinstance(err, discord.RateLimited):
            return ChannelError(f"Discord {what}: rate limited for {err.retry_after:.0f} s")
        if isinstance(err, discord.DiscordServerError) or (
            isinstance(err, discord.HTTPException) and err.status == 429
        ):
            return ChannelError(f"Discord {what}: {describe(err)}")
        if isinstance(err, discord.HTTPException):
            hint = describe(err)
            log.error(
                "discord: %s refused (HTTP %s, code %s): %s", what, err.status, err.code, hint
            )
            return DeliveryRefused(f"Discord {what}: {hint}")
        return ChannelError(f"Discord {what}: {type(err).__name__}: {err}")


def describe(err: BaseException) -> str:
    if isinstance(err, discord.HTTPException):
        return HINTS.get(err.code) or f"HTTP {err.status} code {err.code}: {err.text}"
    return str(err) or type(err).__name__
