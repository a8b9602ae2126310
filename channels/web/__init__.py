"""The web channel: a REST API under ``/api/v1`` (OpenAPI at ``/api/v1/openapi.json``),
webhooks out to the systems around support, and the embeddable chat widget (``/widget.js``,
``/widget.css``) over a WebSocket.

Conversations, their history, stored API keys and the token key live on the bot's store
(``channels.web.store``), so any number of replicas serve the same conversations.

Importing this package is cheap: aiohttp loads only in ``build``. ``frontdesk api-key create
--scope chat|admin`` makes a server key and stores only its digest (on the bot's store)."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, cast

from channels.base import BotEvent, Channel, Desk, Part, SharedStorage, Streams, WebServices
from config.settings import Settings, web_webhooks

if TYPE_CHECKING:
    from channels.web.connection import WebServer
    from channels.web.store import WebStorage


class WebAdapter:
    """Also an ``EventSink`` (webhooks, hand-off in the widget), ``ServiceBound`` and
    ``StoreBound`` (``use_store`` gets the bot's store, which must offer ``WebStorage``)."""

    name = "web"

    def __init__(self, settings: Settings, server: WebServer) -> None:
        self.settings = settings
        self.server = server
        self.channels: Sequence[Channel] = (server.ctx.channel,)
        self.desks: Sequence[Desk] = ()

    def bind(self, services: WebServices) -> None:
        self.server.ctx.services = services

    def use_store(self, store: SharedStorage) -> None:
        storage = cast("WebStorage", store)
        self.server.ctx.store.use(storage)
        self.server.webhooks.store.use(storage)
        self.server.ctx.per_ip.use(storage)  # rate limits shared by every replica
        self.server.ctx.per_key.use(storage)

    async def emit(self, event: BotEvent) -> None:
        await self.server.webhooks.queue(event)
        if event.ref.channel != self.name:
            return
        channel = self.server.ctx.channel
        if event.kind == "ticket.claimed":
            agent = event.data.get("ticket", {}).get("agent_name") or "A person"
            await channel.handoff(event.ref.conversation_id, str(agent), event.event_id)
        elif event.kind == "ticket.resolved":
            await channel.released(event.ref.conversation_id, event.event_id)

    def connection(self) -> AbstractAsyncContextManager[None]:
        return self._serving()

    @asynccontextmanager
    async def _serving(self) -> AsyncIterator[None]:
        await self.server.start()
        try:
            yield
        finally:
            await self.server.stop()

    def describe(self) -> list[Part]:
        return describe(self.settings)


def describe(settings: Settings) -> list[Part]:
    web = settings.web
    hooks = len(web_webhooks(web.webhooks)) if web.webhooks is not None else 0
    origins = ", ".join(web.cors_origins) or "same origin only"
    return [Part("channel", "web", True, f"http://{web.host}:{web.port}/api/v1; widget for "
                 f"{origins}; {hooks} webhook subscriber(s)")]  # fmt: skip


def build(settings: Settings, streams: Streams | None = None) -> WebAdapter:
    from channels.web.api import WebContext  # noqa: PLC0415
    from channels.web.auth import Keys, SharedRateLimiter, Tokens  # noqa: PLC0415
    from channels.web.connection import WebServer  # noqa: PLC0415
    from channels.web.customers import WebChannel  # noqa: PLC0415
    from channels.web.hookqueue import HookQueue  # noqa: PLC0415
    from channels.web.http import Guard  # noqa: PLC0415
    from channels.web.store import WebStore  # noqa: PLC0415
    from channels.web.webhooks import Webhooks  # noqa: PLC0415

    web = settings.web
    store = WebStore()
    configured = web.token_secret

    async def secret() -> str:
        return configured.get_secret_value() if configured else await store.secret("token_secret")

    tokens = Tokens(secret, web.token_ttl_hours * 3600)
    ctx = WebContext(
        settings=web, store=store, channel=WebChannel(store), keys=Keys(web, store.key_scope),
        tokens=tokens, guard=Guard(web), per_ip=SharedRateLimiter("ip", web.rate_limit_per_minute),
        per_key=SharedRateLimiter("key", web.key_rate_limit_per_minute),
    )  # fmt: skip
    subscribers = web_webhooks(web.webhooks) if web.webhooks is not None else []
    hooks = Webhooks(HookQueue(), subscribers,
                     web.webhook_events, web.webhook_max_attempts, web.webhook_retry_seconds,
                     web.webhook_timeout_seconds)  # fmt: skip
    return WebAdapter(settings, WebServer(ctx, hooks))


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = commands.add_parser("api-key", help="server keys for the web API")
    actions = keys.add_subparsers(dest="api_key_command", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="make a key (printed once, stored hashed)")
    create.add_argument("--scope", choices=("chat", "admin"), required=True)
    create.add_argument("--label", default=None, help="what the key is for")
    actions.add_parser("list", help="stored keys (digest prefix, scope, label)")
    revoke = actions.add_parser("revoke", help="delete stored keys by digest prefix")
    revoke.add_argument("digest", help="at least 8 characters of the digest (see list)")
    keys.set_defaults(store_command=api_key_command)


async def api_key_command(args: argparse.Namespace, store: SharedStorage) -> int:
    """Run on the bot's store (``frontdesk`` opens it): a key made here works at once on
    every replica."""
    from channels.web.keys_cli import run  # noqa: PLC0415
    from channels.web.store import WebStore  # noqa: PLC0415

    web_store = WebStore()
    web_store.use(cast("WebStorage", store))
    return await run(args, web_store)
