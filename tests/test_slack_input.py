"""Slack input that must not reach a conversation: someone else's message in a customer's
thread, malformed ids in payloads, and validly signed but malformed HTTP requests (400 and one
log line, never a 500 with a traceback)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from channels.base import DeskEvent, DeskFeedback
from channels.slack.connection import SlackConnection
from channels.slack.customers import SlackChannel, to_inbound
from channels.slack.desk import SlackDesk
from config.settings import DeskSettings
from tests.fakes.fake_slack import (
    BOT_USER_ID,
    FORM,
    SECRET,
    TEAM_ID,
    FakeSlack,
    Inbox,
    load,
    post,
    sign,
    slack_settings,
)

# -- a customer's thread is theirs -----------------------------------------------------------------


def test_someone_elses_message_in_a_customers_thread_is_not_theirs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    event = load("thread_reply_by_someone_else.json")["event"]
    with caplog.at_level(logging.INFO, "channels.slack"):
        assert to_inbound(event, TEAM_ID, BOT_USER_ID, slack_settings()) is None
    (line,) = [r.getMessage() for r in caplog.records if "U0MALLORY" in r.getMessage()]
    assert "U0ALICE" in line and "7781" not in line  # who and where, not what


@pytest.mark.parametrize("channel", ["C0SUPPORT", "C0GENERAL"])
def test_a_mention_in_someone_elses_thread_is_not_theirs_either(channel: str) -> None:
    # app_mention carries no parent_user_id: the message copy (same channel and ts) decides.
    message = load("thread_reply_by_someone_else.json")["event"]
    message |= {"channel": channel, "text": f"<@{BOT_USER_ID}> and me?"}
    mention = {k: v for k, v in message.items() if k not in ("parent_user_id", "channel_type")}
    mention["type"] = "app_mention"
    settings = slack_settings()
    assert to_inbound(mention, TEAM_ID, BOT_USER_ID, settings) is None
    assert to_inbound(message, TEAM_ID, BOT_USER_ID, settings) is None
    own = message | {"parent_user_id": "U0MALLORY"}  # a thread Mallory started herself
    answered = to_inbound(own, TEAM_ID, BOT_USER_ID, settings)
    assert answered is not None and answered.message_id == f"{channel}:1718000011.000450"
    assert answered.ref.thread_id == "1718000002.000200"


def test_the_customers_own_thread_reply_still_counts() -> None:
    event = load("thread_reply.json")["event"]
    message = to_inbound(event, TEAM_ID, BOT_USER_ID, slack_settings())
    assert message is not None and message.ref.thread_id == "1718000002.000200"


# -- malformed ids ---------------------------------------------------------------------------------

MALFORMED = [("ts", "abc"), ("ts", "1718000002"), ("ts", 1718000002.0002), ("thread_ts", "x.y"),
             ("thread_ts", "1718000002.000200; DROP"), ("channel", "c0support"),
             ("channel", ["C0SUPPORT"]), ("user", {"id": "U0ALICE"}), ("user", "alice"),
             ("parent_user_id", 7)]  # fmt: skip


@pytest.mark.parametrize(("field", "value"), MALFORMED)
def test_a_malformed_id_is_ignored_with_a_log_line(
    field: str, value: Any, caplog: pytest.LogCaptureFixture
) -> None:
    event = load("thread_reply.json")["event"] | {field: value}
    settings = slack_settings(support_channels=["C0SUPPORT", "c0support"])
    assert to_inbound(event, TEAM_ID, BOT_USER_ID, settings) is None
    assert any(field in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


# -- through the real Bolt app ---------------------------------------------------------------------


class Agents:
    def __init__(self) -> None:
        self.events: list[DeskEvent] = []

    async def __call__(self, event: DeskEvent) -> DeskFeedback:
        self.events.append(event)
        return DeskFeedback("Done.")


@dataclass
class Running:
    fake: FakeSlack
    connection: SlackConnection
    inbox: Inbox
    agents: Agents
    url: str

    async def send(
        self, body: str, ctype: str = "application/json", headers: dict[str, str] | None = None
    ) -> int:
        headers = sign(body, SECRET) if headers is None else headers
        status, _ = await post(self.url, body, headers, ctype)
        await self.connection.drain()
        return status


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    async with FakeSlack() as fake:
        fake.profiles = {"U0CAROL": "carol"}
        settings = slack_settings(fake, agent_user_ids=["U0CAROL"])
        connection = SlackConnection(settings)
        channel, inbox = SlackChannel(connection, settings), Inbox()
        desk, agents = SlackDesk(connection, settings, DeskSettings()), Agents()
        await channel.start(inbox)
        await desk.start(agents)
        await connection.start()
        try:
            url = f"http://127.0.0.1:{connection.port}/slack/events"
            yield Running(fake, connection, inbox, agents, url)
        finally:
            await connection.stop()


async def test_someone_elses_thread_message_is_acknowledged_and_dropped(running: Running) -> None:
    body = json.dumps(load("thread_reply_by_someone_else.json"))
    assert await running.send(body) == 200
    body = json.dumps(load("thread_reply.json"))
    assert await running.send(body) == 200
    assert [m.author.id for m in running.inbox.messages] == ["U0ALICE"]


def event_body(event: Any, **extra: Any) -> str:
    return json.dumps({"type": "event_callback", "team_id": TEAM_ID, "api_app_id": "A0APP",
                       "event_id": "Ev1", "event_time": 1, "event": event, **extra})  # fmt: skip


def click_body(payload: Any) -> str:
    return "payload=" + quote(payload if isinstance(payload, str) else json.dumps(payload))


def click(**changes: Any) -> dict[str, Any]:
    payload = load("block_actions_claim.json")
    payload.update(changes)
    return payload


def signed_with(timestamp: str, body: str) -> dict[str, str]:
    base = f"v0:{timestamp}:{body}".encode()
    signature = "v0=" + hmac.new(SECRET.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}


BAD_REQUESTS: dict[str, tuple[str, str]] = {
    "truncated JSON": ('{"type": "event_callback", "event": {"type": "mess', "application/json"),
    "a list body": ("[1, 2, 3]", "application/json"),
    "a string body": ('"event_callback"', "application/json"),
    "event is a string": (event_body("hello"), "application/json"),
    "event is a list": (event_body([{"type": "message"}]), "application/json"),
    "event type is not a string": (event_body({"type": 7}), "application/json"),
    "event user is a number": (event_body({"type": "message", "user": 42}), "application/json"),
    "authorizations is not a list": (event_body({"type": "message"}, authorizations="x"),
                                     "application/json"),
    "payload is not JSON": ("payload=%7Bnot-json", FORM),
    "payload is a list": (click_body([1]), FORM),
    "payload actions is a string": (click_body(click(actions="x")), FORM),
    "payload user is a string": (click_body(click(user="U0CAROL")), FORM),
    "payload action is not an object": (click_body(click(actions=["frontdesk_claim"])), FORM),
    "payload channel is a list": (click_body(click(channel=["C0ESC"])), FORM),
    "not UTF-8": ('{"type": "event_callback", "x": "\\udcff"}', "application/json"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
async def test_signed_but_malformed_requests_get_400_and_one_line(
    running: Running, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    body, ctype = BAD_REQUESTS[case]
    if case == "not UTF-8":
        raw = b'{"type": "event_callback", "x": "\xff"}'
        ts = str(int(time.time()))
        mac = hmac.new(SECRET.encode(), f"v0:{ts}:".encode() + raw, hashlib.sha256).hexdigest()
        headers = {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + mac}
        status = await raw_post(running.url, raw, headers, ctype)
    else:
        status = await running.send(body, ctype)
    assert status == 400
    assert_one_line(caplog)
    assert running.inbox.messages == [] and running.agents.events == []


async def test_a_non_numeric_timestamp_header_gets_400(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    body = json.dumps(load("dm.json"))
    assert await running.send(body, headers=signed_with("soon", body)) == 400
    assert_one_line(caplog)
    assert running.inbox.messages == []


async def test_unsigned_malformed_requests_are_still_401(running: Running) -> None:
    assert await running.send("[1, 2", headers=sign("[1, 2", "not-the-secret")) == 401
    assert await running.send("[1, 2", headers={}) == 401
    assert await running.send("[1, 2", headers=signed_with("soon", "other body")) == 401


def assert_one_line(caplog: pytest.LogCaptureFixture) -> None:
    ours = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(ours) == 1, [r.getMessage() for r in ours]
    assert ours[0].name.startswith("channels.slack") and ours[0].exc_info is None
    assert not any(r.exc_info for r in caplog.records)


async def raw_post(url: str, body: bytes, headers: dict[str, str], ctype: str) -> int:
    import aiohttp

    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers={"Content-Type": ctype, **headers}) as response,
    ):
        return response.status


EVENT_IDS = [("channel", "../C0SUPPORT"), ("ts", "now"), ("user", "U0CAROL\n"),
             ("thread_ts", "1.2.3")]  # fmt: skip


@pytest.mark.parametrize(("field", "value"), EVENT_IDS)
async def test_malformed_ids_in_desk_events_are_ignored(
    running: Running, field: str, value: Any, caplog: pytest.LogCaptureFixture
) -> None:
    event = load("escalation_thread_reply.json")["event"] | {field: value}
    if field == "channel":
        event["channel"] = "C0ESC"  # routed to the desk by channel: break the user instead
        event["user"] = "../U0CAROL"
    assert await running.send(event_body(event)) == 200
    assert running.agents.events == [] and running.inbox.messages == []
    assert any(r.levelno == logging.WARNING for r in caplog.records)


@pytest.mark.parametrize(
    "payload",
    [click(user={"id": "U0CAROL;"}), click(container={"message_ts": "x", "channel_id": "C0ESC"},
                                           message={"ts": "x"})],
)  # fmt: skip
async def test_malformed_ids_in_clicks_are_ignored(
    running: Running, payload: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    assert await running.send(click_body(payload), FORM) == 200
    assert running.agents.events == []
    assert running.fake.calls_to("chat.postEphemeral") == []
    assert any(r.levelno == logging.WARNING for r in caplog.records)


async def test_malformed_user_in_a_command_is_ignored(running: Running) -> None:
    fields = load("slash_command.json") | {
        "user_id": "nobody",
        "response_url": running.fake.hook_url(),
    }
    body = urlencode(fields)
    assert await running.send(body, FORM) == 200
    assert running.agents.events == []


@pytest.mark.parametrize(
    ("kind", "payload"),
    [("events_api", {"type": "event_callback", "team_id": TEAM_ID, "event": "hello"}),
     ("interactive", click(actions="x")), ("events_api", {"type": "event_callback",
                                                          "event": {"type": "message",
                                                                    "user": 42}})],
)  # fmt: skip
async def test_a_malformed_socket_mode_envelope_is_acked_and_logged_once(
    kind: str, payload: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeSlack() as fake:
        fake.profiles = {"U0CAROL": "carol"}
        settings = slack_settings(fake, mode="socket", agent_user_ids=["U0CAROL"])
        connection = SlackConnection(settings)
        channel, inbox = SlackChannel(connection, settings), Inbox()
        desk, agents = SlackDesk(connection, settings, DeskSettings()), Agents()
        await channel.start(inbox)
        await desk.start(agents)
        await connection.start()
        try:
            envelope = await fake.send_envelope(kind, payload)
            await fake.wait_for(lambda: fake.ack_for(envelope) is not None)
            await connection.drain()
            good = await fake.send_envelope("events_api", load("dm.json"))
            await fake.wait_for(lambda: fake.ack_for(good) is not None)
        finally:
            await connection.stop()
    assert [m.message_id for m in inbox.messages] == ["D0ALICE:1718000001.000100"]
    assert agents.events == []
    assert_one_line(caplog)
