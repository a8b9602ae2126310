"""The operator's HTTP endpoints on one aiohttp server: ``/metrics`` (Prometheus),
``/healthz`` (liveness: the process and its event loop answer) and ``/readyz`` (readiness: the
store answers, every channel is connected, an answer path exists). Off unless
``FRONTDESK_OBSERVABILITY__METRICS_PORT`` is set. A platform endpoint on the same host and port
(Slack's request URL in HTTP mode) is mounted here too (``mount``), so both share one port.

``/readyz`` answers 503 with the failing checks as JSON while the bot cannot serve, so a load
balancer or Kubernetes takes the replica out of rotation, and 200 again once it can.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.metrics import Metrics, Snapshot
from channels.base import HttpEndpoint, ServesHttp
from config.errors import ChannelError, ConfigError

log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class Readiness:
    """Each check's name with ``"ok"`` or what is wrong."""

    checks: Mapping[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return all(state == "ok" for state in self.checks.values())


SnapshotSource = Callable[[], Awaitable[Snapshot]]
ReadinessSource = Callable[[], Awaitable[Readiness]]


class OpsServer:
    def __init__(
        self,
        host: str,
        port: int,
        metrics: Metrics,
        snapshot: SnapshotSource,
        readiness: ReadinessSource,
    ) -> None:
        self.host, self.port = host, port
        self.metrics = metrics
        self._snapshot = snapshot
        self._readiness = readiness
        self._runner: web.AppRunner | None = None
        self._mounted: list[HttpEndpoint] = []
        self.bound_port: int | None = None

    def mount(self, endpoint: HttpEndpoint) -> None:
        """Serve a platform's endpoint here too (Slack's request URL on the metrics port);
        call before ``start``."""
        if endpoint.path in ("/metrics", "/healthz", "/readyz"):
            raise ConfigError(f"{endpoint.path}: taken by the metrics server")
        self._mounted.append(endpoint)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        for endpoint in self._mounted:
            app.router.add_route(endpoint.method, endpoint.path, endpoint.handler)
        return app

    async def start(self) -> None:
        runner = web.AppRunner(self.app(), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except OSError as err:
            await runner.cleanup()
            raise ChannelError(
                f"metrics server cannot listen on {self.host}:{self.port}: {err}"
            ) from err
        self._runner = runner
        self.bound_port = int(runner.addresses[0][1])
        log.info("metrics and health on http://%s:%s/metrics", self.host, self.bound_port)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _metrics(self, request: web.Request) -> web.Response:
        try:
            snapshot = await asyncio.wait_for(self._snapshot(), CHECK_TIMEOUT_S)
        except Exception as err:  # the store is down: the process's own counters still count
            log.warning("metrics: shared gauges unavailable (%s)", err)
            snapshot = Snapshot(queue_depth=-1, tickets_open=-1)
        body = self.metrics.render(snapshot)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, request: web.Request) -> web.Response:
        """Liveness: 200 while the process answers. The body says ``degraded`` (with the
        failing checks) while it cannot serve, e.g. during a store outage: restarting it would
        not help, so liveness stays 200 and readiness says 503."""
        readiness = await self._check()
        if readiness.ready:
            return web.json_response({"status": "ok"})
        failing = {k: v for k, v in readiness.checks.items() if v != "ok"}
        return web.json_response({"status": "degraded", "checks": failing})

    async def _readyz(self, request: web.Request) -> web.Response:
        readiness = await self._check()
        status = 200 if readiness.ready else 503
        body = {"status": "ready" if readiness.ready else "not ready", "checks": readiness.checks}
        return web.json_response(body, status=status)

    async def _check(self) -> Readiness:
        try:
            return await asyncio.wait_for(self._readiness(), CHECK_TIMEOUT_S)
        except Exception as err:
            return Readiness({"readiness": f"check failed: {str(err) or type(err).__name__}"})


def share_port(ops: OpsServer, adapters: Iterable[object]) -> None:
    """Mount on ``ops`` every adapter endpoint configured on its very host and port (0 means
    "any free port", never the same one), and tell the adapter it opens no server itself."""
    for adapter in adapters:
        if not isinstance(adapter, ServesHttp):
            continue
        endpoint = adapter.http_endpoint()
        if endpoint is None or endpoint.port == 0:
            continue
        if (endpoint.host, endpoint.port) == (ops.host, ops.port):
            ops.mount(endpoint)
            adapter.serve_shared()
            log.info("%s %s shares the metrics server's port %s", endpoint.method,
                     endpoint.path, ops.port)  # fmt: skip
