"""Support analytics from a seeded store match values computed by hand, one per definition
(docs/analytics.md), on SQLite and a real redis-server."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from brain.analytics import Analytics, load
from brain.store.base import Store, StoreLimits
from brain.store.facts import Facts
from brain.store.sqlite import SqliteStore

T0 = datetime(2026, 11, 30, tzinfo=UTC)
NOW = T0 + timedelta(days=1)
SLA = {"urgent": 5.0, "high": 15.0, "normal": 60.0, "low": 240.0}
H, M = timedelta(hours=1), timedelta(minutes=1)


def s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


async def seed(store: Store) -> None:
    """Five conversations in the window [T0, T0 + 1 day), one before it."""
    facts = Facts(store, ttl_s=86400 * 30)

    async def conversation(key: str, channel: str, started: datetime, cost: float = 0.0,
                           **fields: object) -> None:  # fmt: skip
        await facts.put(key, "started", started)
        await facts.put(key, "channel", channel)
        for name, value in fields.items():
            await facts.put(key, name, value)
        if cost:
            await store.kv_set(f"conversation_cost_usd:{key}", f"{cost:.6f}")

    a = T0 + 1 * H  # answered, customer said it helped, rated 5
    await conversation("slack:-:a", "slack", a, 0.01, first_bot_reply=a + s(2),
                       intent="track_order", resolved=a + 5 * M, resolved_by="bot",
                       csat_asked=a + 5 * M, csat_rating=5, csat_rated=a + 6 * M)  # fmt: skip
    b = T0 + 2 * H  # answered, customer went away
    await conversation("slack:-:b", "slack", b, 0.02, first_bot_reply=b + s(4),
                       intent="track_order")  # fmt: skip
    c = T0 + 3 * H  # low confidence -> claimed after 30 min -> resolved -> reopened, rated 2
    ce = c + s(6)
    await conversation("email:-:c", "email", c, 0.03, first_bot_reply=c + s(6), escalated=ce,
                       reasons=("low_confidence",), urgency="normal", ticket="T-1",
                       claimed=ce + 30 * M, first_agent_reply=ce + 40 * M,
                       resolved=ce + 2 * H, resolved_by="agent", reopened=ce + 26 * H,
                       csat_asked=ce + 2 * H, csat_rating=2, intent="returns")  # fmt: skip
    d = T0 + 4 * H  # urgent, claimed after 10 min: past its 5 min SLA
    de = d + s(8)
    await conversation("email:-:d", "email", d, first_bot_reply=d + s(8), escalated=de,
                       reasons=("human_requested", "negative_sentiment"), urgency="urgent",
                       ticket="T-2", claimed=de + 10 * M, first_agent_reply=de + 12 * M,
                       resolved=de + 20 * M, resolved_by="agent", csat_asked=de + 20 * M,
                       intent="returns")  # fmt: skip
    e = T0 + 5 * H  # high urgency, still unclaimed at NOW
    await conversation("slack:-:e", "slack", e, first_bot_reply=e + s(10), escalated=e + s(10),
                       reasons=("human_requested",), urgency="high", ticket="T-3")  # fmt: skip
    f = T0 - 1 * H  # before the window
    await conversation("slack:-:f", "slack", f, 1.0, first_bot_reply=f + s(1), intent="other")


async def test_each_definition_matches_the_hand_computed_value(store: Store) -> None:
    await seed(store)
    a = await load(Facts(store, 86400), T0, NOW, SLA, NOW)
    check(a)


def check(a: Analytics) -> None:
    assert a.conversations == 5
    # first response (bot): 2, 4, 6, 8, 10 s
    assert (a.first_response_bot.count, a.first_response_bot.median_s) == (5, 6.0)
    assert a.first_response_bot.mean_s == pytest.approx(6.0)
    # first response (human): 40 min and 12 min after the escalation
    assert (a.first_response_human.count, a.first_response_human.median_s) == (2, 1560.0)
    assert (a.time_to_claim.median_s, a.time_to_claim.mean_s) == (1200.0, 1200.0)  # 30, 10 min
    assert (a.time_to_resolve.median_s, a.time_to_resolve.mean_s) == (4200.0, 4200.0)  # 2 h, 20m
    # bot resolutions: a and b (a confirmed) of 5
    assert (a.bot_resolutions, a.bot_resolutions_confirmed, a.bot_resolution_rate) == (2, 1, 0.4)
    assert (a.escalations, a.escalation_rate) == (3, 0.6)
    assert a.escalations_by_reason == {"human_requested": 2, "low_confidence": 1,
                                       "negative_sentiment": 1}  # fmt: skip
    assert a.escalation_rate_by_channel == {"email": 1.0, "slack": pytest.approx(1 / 3)}
    # resolved: a (bot), c, d; c reopened
    assert (a.resolved, a.reopened, a.reopen_rate) == (3, 1, pytest.approx(1 / 3))
    # SLA: d claimed after 10 min (urgent: 5 min); e unclaimed for 18h59m50s (high: 15 min)
    breaches = {b.ticket: b for b in a.sla_breaches}
    assert set(breaches) == {"T-2", "T-3"}
    assert (breaches["T-2"].waited_s, breaches["T-2"].sla_s, breaches["T-2"].open) == (
        600.0, 300.0, False)  # fmt: skip
    assert (breaches["T-3"].waited_s, breaches["T-3"].open) == (68390.0, True)
    # CSAT: asked a, c, d; rated 5 and 2
    assert (a.csat_asked, a.csat_responses, a.csat_average, a.csat_score) == (3, 2, 3.5, 0.5)
    assert a.cost_usd == pytest.approx(0.06)
    assert a.cost_per_conversation == pytest.approx(0.012)
    assert a.cost_per_bot_resolution == pytest.approx(0.03)
    assert dict(a.top_intents) == {"track_order": 2, "returns": 2}


def test_frontdesk_stats_prints_them_as_json_and_text(tmp_path: Path) -> None:
    import asyncio

    async def prepare() -> None:
        store = SqliteStore(tmp_path / ".frontdesk" / "frontdesk.db", limits=StoreLimits())
        await store.open()
        await seed(store)
        await store.close()

    asyncio.run(prepare())
    run = [sys.executable, "-m", "bot.cli", "stats", "--days", "3650", "--json"]
    done = subprocess.run(
        run, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    # The window runs to now: every seeded conversation (the one before T0 included) is in it.
    assert data["conversations"] == 6 and data["escalations"] == 3
    assert data["csat_score"] == 0.5 and data["sla_breach_count"] == 2
    assert {"intent": "track_order", "conversations": 2} in data["top_intents"]
    text = subprocess.run(run[:-1], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert text.returncode == 0, text.stderr
    assert "escalation rate             50% (3)" in text.stdout
    assert "CSAT                        50% satisfied, average 3.5/5 (2 of 3 asked)" in text.stdout
