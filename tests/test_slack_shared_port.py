"""Slack in HTTP mode on the metrics server's port: one aiohttp server answers Slack's signed
requests at ``/slack/events`` and serves ``/metrics``, ``/healthz`` and ``/readyz``; before
the Slack listeners are attached, a request gets a 503 (Slack retries) instead of being acked
and dropped."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest

from bot.app import App
from bot.metrics import Metrics, Snapshot
from bot.ops_server import OpsServer, Readiness, share_port
from bot.preflight import preflight
from channels.slack import build
from config.errors import ConfigError
from config.settings import Settings, load_settings
from tests.fakes.fake_slack import SECRET, FakeChannel, FakeSlack, post, sign
from tests.servers import free_port, wait_for_port
from tests.test_slack_e2e import DM, ESC, Bot, configure


async def test_slack_events_and_metrics_on_one_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with FakeSlack() as fake:
        port = free_port()
        configure(monkeypatch, fake, port, tmp_path / "data")
        monkeypatch.setenv("FRONTDESK_OBSERVABILITY__METRICS_PORT", str(port))
        fake.channels[ESC] = FakeChannel(private=True, members=("U0BOT", "U0ALICE"))
        app = App(load_settings(env_file=None))
        task = asyncio.create_task(app.run())
        try:
            await asyncio.to_thread(wait_for_port, port, 30.0)
            bot = Bot(fake, f"http://127.0.0.1:{port}/slack/events")
            await fake.wait_for(lambda: bool(fake.calls_to("auth.test")), within=30)
            await wait_ready(f"http://127.0.0.1:{port}/readyz")
            await bot.customer("How do I return an item?")
            await bot.until(lambda: bot.posts_to(DM))
            assert "30 days" in bot.posts_to(DM)[0]["text"]
            async with aiohttp.ClientSession() as http:
                async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
                    assert response.status == 200
                    metrics = await response.text()
                async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                    ready = await response.json()
            assert 'frontdesk_messages_received_total{channel="slack"} 1.0' in metrics
            assert ready["checks"]["channels"] == "ok"
            unsigned = json.dumps({"type": "url_verification", "challenge": "x"})
            assert (await post(bot.url, unsigned, {}))[0] == 401  # still checked by Slack's rules
        finally:
            app.request_stop()
            await asyncio.wait_for(task, 30)


async def wait_ready(url: str) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            async with http.get(url) as response:
                if response.status == 200:
                    return
            await asyncio.sleep(0.05)
    raise AssertionError(f"{url} never became ready")


async def test_a_request_before_the_listeners_are_ready_is_refused_for_a_retry() -> None:
    port = free_port()
    settings = Settings(
        slack={"enabled": True, "mode": "http", "bot_token": "xoxb-x", "signing_secret": SECRET,
               "http_port": port},  # type: ignore[arg-type]
        observability={"metrics_port": port},  # type: ignore[arg-type]
    )  # fmt: skip
    adapter = build(settings)
    ops = OpsServer("127.0.0.1", port, Metrics(), snapshot, readiness)
    share_port(ops, [adapter])
    await ops.start()
    try:
        body = json.dumps({"type": "url_verification", "challenge": "abc"})
        url = f"http://127.0.0.1:{port}/slack/events"
        assert (await post(url, body, sign(body, SECRET)))[0] == 503
        assert adapter.http_endpoint() is not None and adapter.conn.port is None
    finally:
        await ops.stop()


async def snapshot() -> Snapshot:
    return Snapshot(queue_depth=0, tickets_open=0)


async def readiness() -> Readiness:
    return Readiness({})


def test_the_same_port_on_another_host_is_refused_at_start(tmp_path: Path) -> None:
    settings = Settings(
        slack={"enabled": True, "mode": "http", "bot_token": "xoxb-x", "signing_secret": SECRET,
               "http_host": "0.0.0.0", "http_port": 9108},  # type: ignore[arg-type]
        observability={"metrics_port": 9108},  # type: ignore[arg-type]
        store={"data_dir": str(tmp_path)},  # type: ignore[arg-type]
    )  # fmt: skip
    with pytest.raises(ConfigError, match=r"^FRONTDESK_SLACK__HTTP_HOST: 0\.0\.0\.0 with"):
        preflight(settings)
    preflight(settings.model_copy(update={"observability": settings.observability.model_copy(
        update={"metrics_host": "0.0.0.0"})}))  # fmt: skip
