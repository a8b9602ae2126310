"""One Slack app (slack_bolt ``AsyncApp``) shared by the customer channel and the agents' desk.

Slack delivers every event of an installation to one place (one Socket Mode connection or one
Request URL), so the customer channel and the desk cannot each own an app. This module owns the
Web API client, the Bolt app and its transport, and routes ``message`` events by channel: the
escalation channel belongs to the desk, every other channel to the customer side. The channel
and the desk attach their listeners; the owner (``bot/app.py``) then calls ``start``, so no event
arrives before the listener meant for it, and ``stop`` at the end.

Slack quirks handled here (why the code looks like this):

- Slack wants an acknowledgement within 3 s and redelivers what was not acknowledged (HTTP: up
  to three retries carrying ``X-Slack-Retry-Num``; Socket Mode: the envelope comes again). The
  app runs with ``process_before_response=True``, so the acknowledgement leaves only after our
  listener returned, and our event listeners do nothing but the durable enqueue: a message is
  queued before it is acked. A listener that cannot queue an event, or whose side (customer
  channel or desk) is stopping, answers 503 (Socket Mode: no ack) so that Slack redelivers it
  rather than us dropping it. Events for a side that was never started are acked and ignored.
- Button clicks and slash commands are acknowledged first and their work runs as a tracked
  background task (``spawn``); ``stop`` waits for those tasks.
- The SDK's default retry handler re-sends a request after a connection reset, which can post
  the same message twice. We install only the 429 handler: Slack did not post a rate-limited
  message, and it honours ``Retry-After``. Every other retry is the outbox's decision.
- ``AsyncApp`` calls ``auth.test`` lazily on its first request (it has no start-up token check);
  ``start`` calls it too, to fail fast on a bad token and to learn the bot's own user id.
- ``SocketModeClient.connect`` retries forever on failure; asking for the WebSocket URL first
  turns a bad app token into a start-up error.
- Bolt trusts the shape of a signed HTTP request and answers a malformed one with a 500 and a
  traceback (which Slack then retries): ``_serve`` checks the signature and the body first
  (``channels.slack.requests``), so those get a 400 and one log line.
- Checks that need the Web API but must pass before any event is taken in (the desk's "is the
  escalation channel private?") run in ``start`` (``check_at_start``), after ``auth.test``.
- In HTTP mode the request URL may be served by the bot's ops server (``serve_shared``, when
  ``HTTP_PORT`` is the metrics port): that server listens before the listeners are attached,
  so until ``start`` has finished (and again once ``stop`` began) requests get a 503, which
  Slack retries, instead of reaching a Bolt app that would ack and drop them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Literal, TypeVar

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from channels.base import HttpEndpoint
from channels.slack.pacing import Pacer
from channels.slack.requests import (
    CheckedSocketModeHandler,
    SlackHttpRequest,
    read_body,
    signature_problem,
)
from config.errors import ChannelError, ConfigError, DeliveryRefused
from config.settings import SlackSettings, secret_value

log = logging.getLogger(__name__)

T = TypeVar("T")
EventCallback = Callable[[dict[str, Any], dict[str, Any]], Awaitable[None]]
"""Called with (event, request body) for a message event routed to the customer side or desk."""
Route = Literal["customer", "desk"]

EVENTS_PATH = "/slack/events"
REFUSED_ERRORS = frozenset(
    {"channel_not_found", "is_archived", "not_in_channel", "account_inactive"}
)
_CONNECT_TIMEOUT_S = 30.0
_STOP_GRACE_S = 5.0


class SlackConnection:
    """The Bolt app, its Web API client and its transport (Socket Mode or HTTP)."""

    def __init__(self, settings: SlackSettings, *, client: AsyncWebClient | None = None) -> None:
        bot_token = secret_value(settings.bot_token)
        if bot_token is None and client is None:
            raise ConfigError("FRONTDESK_SLACK__BOT_TOKEN: required for Slack")
        self.settings = settings
        self.client = client if client is not None else _web_client(bot_token or "", settings)
        self.app = AsyncApp(
            client=self.client,
            name="frontdesk",
            # "" rather than None: None makes Bolt read SLACK_SIGNING_SECRET from the environment
            signing_secret=secret_value(settings.signing_secret) or "",
            request_verification_enabled=settings.mode == "http",
            process_before_response=True,
        )
        self.bot_user_id: str | None = None
        self.team_id: str | None = None
        self.port: int | None = None  # the bound HTTP port once started in HTTP mode
        self._routes: dict[Route, EventCallback | None] = {"customer": None, "desk": None}
        self._attached: set[Route] = set()
        self._pacer = Pacer(settings.max_messages_per_second)
        self._tasks: set[asyncio.Task[None]] = set()
        self._socket: CheckedSocketModeHandler | None = None
        self._runner: web.AppRunner | None = None
        self._started = False
        self._shared = False  # HTTP mode on the bot's ops server (``serve_shared``)
        self._start_lock = asyncio.Lock()
        self._checks: list[Callable[[], Awaitable[None]]] = []
        self.app.event("message")(self._on_message)
        self.app.event("app_mention")(self._on_mention)

    # -- routing -------------------------------------------------------------------------------

    def on_customer_message(self, callback: EventCallback | None) -> None:
        self._attach("customer", callback)

    def on_desk_message(self, callback: EventCallback | None) -> None:
        self._attach("desk", callback)

    def _attach(self, route: Route, callback: EventCallback | None) -> None:
        self._routes[route] = callback
        if callback is not None:
            self._attached.add(route)

    async def _on_message(self, event: dict[str, Any], body: dict[str, Any]) -> BoltResponse | None:
        escalation = self.settings.escalation_channel
        route: Route = "desk" if escalation and event.get("channel") == escalation else "customer"
        return await self._route(route, event, body)

    async def _on_mention(self, event: dict[str, Any], body: dict[str, Any]) -> BoltResponse | None:
        return await self._route("customer", event, body)

    async def _route(
        self, route: Route, event: dict[str, Any], body: dict[str, Any]
    ) -> BoltResponse | None:
        callback = self._routes[route]
        where = f"channel {event.get('channel')} ts {event.get('ts')}"
        if callback is None and route not in self._attached:
            log.debug("Slack event for the %s side (%s), which is not in use", route, where)
            return None
        if callback is None:  # stopping: leave it to Slack to redeliver (to another replica)
            log.warning("Slack event for the %s side (%s) while it stops", route, where)
            return _redeliver()
        try:
            await callback(event, body)
        except Exception:
            log.exception("could not take in a Slack event (%s); Slack will redeliver it", where)
            return _redeliver()
        return None

    # -- lifecycle -----------------------------------------------------------------------------

    def check_at_start(self, check: Callable[[], Awaitable[None]]) -> None:
        """Run ``check`` in ``start`` once the token is known good, before any event arrives
        (it may raise ``ConfigError``: the bot then does not start)."""
        if check not in self._checks:
            self._checks.append(check)

    async def start(self) -> None:
        """Identify the bot and open the transport; call it once every listener is attached."""
        async with self._start_lock:
            if self._started:
                return
            await self._identify()
            for check in self._checks:
                await check()
            if self.settings.mode == "socket":
                await self._start_socket_mode()
            elif self._shared:
                log.info("Slack: receiving events at %s on the metrics server", EVENTS_PATH)
            else:
                await self._start_http()
            self._started = True

    def is_connected(self) -> bool:
        if not self._started:
            return False
        if self._socket is None:
            return self._runner is not None or self._shared
        # slack_sdk reconnects by itself; between sessions ``current_session`` is None or closed.
        session = self._socket.client.current_session
        return session is not None and not session.closed

    async def stop(self) -> None:
        """Stop receiving, then let in-flight work finish (bounded). Idempotent."""
        socket, runner = self._socket, self._runner
        self._socket = self._runner = None
        self._started = False
        if socket is not None:
            await socket.close_async()  # type: ignore[no-untyped-call]
        if runner is not None:
            await runner.cleanup()
        await self.drain()

    async def _identify(self) -> None:
        auth = await self.api("auth.test", self.client.auth_test())
        self.bot_user_id = auth.get("user_id")
        self.team_id = auth.get("team_id")
        log.info("Slack: connected as %s in team %s", self.bot_user_id, self.team_id)

    async def _start_socket_mode(self) -> None:
        app_token = secret_value(self.settings.app_token)
        if app_token is None:
            raise ConfigError("FRONTDESK_SLACK__APP_TOKEN: required in Socket Mode")
        handler = CheckedSocketModeHandler(self.app, app_token=app_token)
        try:
            handler.client.wss_uri = await handler.client.issue_new_wss_url()
            connect = handler.connect_async()  # type: ignore[no-untyped-call]
            await asyncio.wait_for(connect, _CONNECT_TIMEOUT_S)
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as err:
            await handler.close_async()  # type: ignore[no-untyped-call]
            raise ChannelError(f"Slack Socket Mode: cannot connect ({describe(err)})") from err
        self._socket = handler

    def http_endpoint(self) -> HttpEndpoint | None:
        """The Events API request URL in HTTP mode (see ``channels.base.ServesHttp``)."""
        if self.settings.mode != "http":
            return None
        s = self.settings
        return HttpEndpoint(s.http_host, s.http_port, "POST", EVENTS_PATH, self._serve)

    def serve_shared(self) -> None:
        """The bot serves ``http_endpoint`` on its ops server: ``start`` opens no server."""
        self._shared = True

    async def _start_http(self) -> None:
        web_app = web.Application()
        web_app.router.add_post(EVENTS_PATH, self._serve)
        runner = web.AppRunner(web_app, shutdown_timeout=_STOP_GRACE_S)
        await runner.setup()
        host, port = self.settings.http_host, self.settings.http_port
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as err:
            await runner.cleanup()
            raise ChannelError(f"Slack HTTP mode: cannot listen on {host}:{port}: {err}") from err
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        log.info("Slack: receiving events on http://%s:%s%s", host, self.port, EVENTS_PATH)

    async def _serve(self, request: web.Request) -> web.Response:
        """One HTTP request from Slack: checked (``channels.slack.requests``), then Bolt."""
        if self._shared and not self._started:
            log.info("Slack HTTP: a request before the listeners are ready; Slack will retry")
            return web.json_response({"error": "starting"}, status=503)
        raw = await request.read()
        secret = secret_value(self.settings.signing_secret) or ""
        refused = signature_problem(secret, raw, request.headers)
        if refused is None:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                refused = 400, "body is not UTF-8"
            else:
                parsed, problem = read_body(text, request.content_type)
                refused = (400, problem) if problem is not None else None
        if refused is not None:
            status, reason = refused
            level = logging.WARNING if status == 400 else logging.INFO
            log.log(level, "Slack HTTP: refused a request with %d: %s", status, reason)
            return web.json_response({"error": "invalid request"}, status=status)
        bolt_request = SlackHttpRequest(body=text, parsed=parsed, query=request.query_string,
                                        headers=dict(request.headers))  # fmt: skip
        return await to_aiohttp_response(await self.app.async_dispatch(bolt_request))

    # -- background work -------------------------------------------------------------------------

    def spawn(self, work: Coroutine[Any, Any, object], what: str) -> None:
        """Run ``work`` after the acknowledgement; failures are logged, ``stop`` waits for it."""
        task = asyncio.create_task(_logged(work, what))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, grace_s: float = _STOP_GRACE_S) -> None:
        """Wait up to ``grace_s`` seconds for spawned work; cancel what is still running."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    # -- Web API ---------------------------------------------------------------------------------

    async def api(self, what: str, request: Awaitable[T]) -> T:
        """Await a Web API call, turning SDK and network errors into ``ChannelError``."""
        try:
            return await request
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as err:
            raise channel_error(err, what) from err

    async def post(self, channel: str, text: str, **fields: Any) -> AsyncSlackResponse:
        """``chat.postMessage``, paced per channel."""
        await self._pacer.wait(channel)
        request = self.client.chat_postMessage(channel=channel, text=text, **fields)
        return await self.api(f"chat.postMessage to {channel}", request)


def describe(err: BaseException) -> str:
    if isinstance(err, SlackApiError):
        return str(err.response.get("error") or err)
    return str(err) or type(err).__name__


def channel_error(err: BaseException, what: str) -> ChannelError:
    """The Slack errors that will never succeed become ``DeliveryRefused``."""
    reason = describe(err)
    refused = isinstance(err, SlackApiError) and reason in REFUSED_ERRORS
    kind = DeliveryRefused if refused else ChannelError
    return kind(f"Slack {what} failed: {reason}")


def _web_client(token: str, settings: SlackSettings) -> AsyncWebClient:
    client = AsyncWebClient(token=token, base_url=settings.api_base_url)
    client.retry_handlers = [AsyncRateLimitErrorRetryHandler(max_retry_count=3)]
    return client


def _redeliver() -> BoltResponse:
    return BoltResponse(status=503, body="")


async def _logged(work: Coroutine[Any, Any, object], what: str) -> None:
    try:
        await work
    except Exception:
        log.exception("Slack: %s failed", what)
