"""The web server's lifecycle: one aiohttp app (the API, the widget's WebSocket and its two
static files) on ``FRONTDESK_WEB__HOST:PORT``, plus the webhook sender."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from channels.web.api import WebContext, routes
from channels.web.sockets import socket_route
from channels.web.webhooks import Webhooks
from config.errors import ChannelError

logger = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
# The widget runs inside the customer's page, so other origins must be able to load it.
_STATIC_HEADERS = {
    "Cross-Origin-Resource-Policy": "cross-origin",
    "Cache-Control": "public, max-age=300",
}


def build_app(ctx: WebContext) -> web.Application:
    app = web.Application(middlewares=[ctx.guard.middleware],
                          client_max_size=ctx.settings.max_body_bytes)  # fmt: skip
    app.add_routes(routes(ctx))
    app.add_routes([socket_route(ctx)])
    for name, content_type in (("widget.js", "text/javascript"), ("widget.css", "text/css")):
        app.router.add_get(f"/{name}", _static(STATIC / name, content_type))
    return app


def _static(path: Path, content_type: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    body = path.read_bytes()  # small, read once: no file access per request

    async def serve(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type=content_type, charset="utf-8",
                            headers=_STATIC_HEADERS)  # fmt: skip

    return serve


class WebServer:
    def __init__(self, ctx: WebContext, webhooks: Webhooks) -> None:
        self.ctx = ctx
        self.webhooks = webhooks
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        await self.ctx.open()
        await self.ctx.channel.follow()
        # access_log=None: widget WebSocket URLs carry the customer token.
        runner = web.AppRunner(build_app(self.ctx), access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, self.ctx.settings.host, self.ctx.settings.port)
        try:
            await site.start()
        except OSError as err:
            await runner.cleanup()
            where = f"{self.ctx.settings.host}:{self.ctx.settings.port}"
            raise ChannelError(f"web channel: cannot listen on {where} ({err.strerror}); "
                               "set FRONTDESK_WEB__PORT") from err  # fmt: skip
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        await self.webhooks.start()
        logger.info("web channel on http://%s:%d", self.ctx.settings.host, self.port)

    async def stop(self) -> None:
        await self.webhooks.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.ctx.channel.unfollow()
