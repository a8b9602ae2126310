"""/metrics, /healthz and /readyz over real HTTP."""

from __future__ import annotations

import aiohttp

from bot.metrics import Metrics, Snapshot
from bot.ops_server import OpsServer, Readiness


async def test_metrics_health_and_readiness() -> None:
    metrics = Metrics()
    state = {"store": "ok"}

    async def snapshot() -> Snapshot:
        return Snapshot(queue_depth=3, tickets_open=2, breakers_open={("openai", "gpt-4o"): True},
                        channels_connected={"slack": True})  # fmt: skip

    async def readiness() -> Readiness:
        return Readiness({"store": state["store"], "channels": "ok"})

    server = OpsServer("127.0.0.1", 0, metrics, snapshot, readiness)
    await server.start()
    base = f"http://127.0.0.1:{server.bound_port}"
    metrics.received("slack")
    metrics.decided("escalate", ["human_requested"])
    metrics.replied("slack", 0.2)
    metrics.llm("openai", "gpt-4o", "ok", 0.5, {"input": 10, "output": 5}, 0.001)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/metrics") as response:
                assert response.status == 200
                text = await response.text()
            assert 'frontdesk_messages_received_total{channel="slack"} 1.0' in text
            assert 'frontdesk_escalations_total{reason="human_requested"} 1.0' in text
            assert "frontdesk_queue_depth 3.0" in text and "frontdesk_tickets_open 2.0" in text
            assert 'frontdesk_breaker_open{model="gpt-4o",provider="openai"} 1.0' in text
            assert (
                'frontdesk_llm_tokens_total{model="gpt-4o",provider="openai",type="input"}' in text
            )
            assert "frontdesk_handle_seconds_count 1.0" in text
            async with http.get(f"{base}/healthz") as response:
                assert response.status == 200
            async with http.get(f"{base}/readyz") as response:
                assert response.status == 200
            state["store"] = "unreachable: connection refused"
            async with http.get(f"{base}/readyz") as response:
                assert response.status == 503
                body = await response.json()
            assert body["checks"]["store"].startswith("unreachable")
            state["store"] = "ok"
            async with http.get(f"{base}/readyz") as response:
                assert response.status == 200
    finally:
        await server.stop()


def test_suppressed_counts_follow_the_channels_running_totals() -> None:
    metrics = Metrics()
    metrics.render(Snapshot(0, 0, suppressed={"auto_reply": 2}))
    text = metrics.render(Snapshot(0, 0, suppressed={"auto_reply": 3, "bounce": 1})).decode()
    assert 'frontdesk_suppressed_total{reason="auto_reply"} 3.0' in text
    assert 'frontdesk_suppressed_total{reason="bounce"} 1.0' in text
