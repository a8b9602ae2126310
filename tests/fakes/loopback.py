"""The part every fake server shares: an aiohttp app on an ephemeral 127.0.0.1 port, usable as
``async with``."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from aiohttp import web


class LoopbackServer:
    backlog = 128  # aiohttp's default; a bench opening 1,000 connections at once needs more
    # (connections past the backlog are dropped and the client's SYN retried a second later)

    def __init__(self, app: web.Application, shutdown_timeout: float = 0.5, **runner: bool) -> None:
        self.port = 0
        self._runner = web.AppRunner(app, shutdown_timeout=shutdown_timeout, **runner)

    async def start(self) -> Self:
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0, backlog=self.backlog).start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
