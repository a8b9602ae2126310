"""Slack customer channel: pure translation on recorded payloads, then the real Bolt app.

HTTP mode is driven with signed requests into our aiohttp server; Socket Mode through the fake's
WebSocket; every Web API call goes to ``FakeSlack`` through the real ``AsyncWebClient``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import pytest

from channels.base import ConversationRef, InboundMessage, OutboundMessage
from channels.slack.connection import SlackConnection
from channels.slack.customers import SlackChannel, split_text, to_inbound
from channels.slack.pacing import Pacer
from config.errors import ChannelError, DeliveryRefused
from config.settings import SlackSettings
from tests.fakes.fake_slack import (
    BOT_USER_ID,
    SECRET,
    TEAM_ID,
    FakeSlack,
    Inbox,
    load,
    post,
    sign,
    slack_settings,
)


def inbound(name: str, settings: SlackSettings | None = None) -> InboundMessage | None:
    body = load(name)
    return to_inbound(body["event"], body["team_id"], BOT_USER_ID, settings or slack_settings())


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        yield server


@pytest.fixture
async def http(fake: FakeSlack) -> AsyncIterator[tuple[SlackChannel, Inbox, str]]:
    settings = slack_settings(fake)
    connection = SlackConnection(settings)
    channel, inbox = SlackChannel(connection, settings), Inbox()
    await channel.start(inbox)
    await connection.start()
    yield channel, inbox, f"http://127.0.0.1:{connection.port}/slack/events"
    await channel.stop()
    await connection.stop()


# -- pure translation ------------------------------------------------------------------------

ANSWERED = {
    "dm.json": ("D0ALICE:1718000001.000100", "D0ALICE", None, None,
                "Hi, my parcel never arrived & the tracking says <delivered>"),
    "channel_message.json": ("C0SUPPORT:1718000002.000200", "C0SUPPORT", "1718000002.000200",
                             "alice", "How do I reset my password?"),
    "thread_reply.json": ("C0SUPPORT:1718000010.000400", "C0SUPPORT", "1718000002.000200", None,
                          "It still doesn't work"),
    "app_mention.json": ("C0SUPPORT:1718000020.000500", "C0SUPPORT", "1718000020.000500", None,
                         "where is my order #1234?"),
}  # fmt: skip
IGNORED = ["bot_message.json", "own_message.json", "message_changed.json", "channel_join.json",
           "other_channel.json", "escalation_channel.json"]  # fmt: skip


@pytest.mark.parametrize("name", sorted(ANSWERED))
def test_to_inbound_answers(name: str) -> None:
    message_id, conversation, thread, display_name, text = ANSWERED[name]
    message = inbound(name)
    assert message is not None
    event = load(name)["event"]
    assert message.ref == ConversationRef("slack", conversation, thread, TEAM_ID)
    assert (message.message_id, message.text) == (message_id, text)
    assert (message.author.id, message.author.display_name) == (event["user"], display_name)
    assert message.raw == event
    assert message.received_at.timestamp() == pytest.approx(float(event["ts"]))


@pytest.mark.parametrize("name", IGNORED)
def test_to_inbound_ignores(name: str) -> None:
    assert inbound(name) is None


def test_mention_and_message_of_one_post_share_the_id() -> None:
    mention, message = inbound("app_mention.json"), inbound("mention_message.json")
    assert mention is not None and message is not None
    assert load("app_mention.json")["event_id"] != load("mention_message.json")["event_id"]
    assert mention.idempotency_key == message.idempotency_key
    assert mention == message  # deterministic: a retry of either yields the same value


def test_direct_messages_can_be_switched_off() -> None:
    assert inbound("dm.json", slack_settings(answer_direct_messages=False)) is None


def test_empty_text_is_ignored() -> None:
    body = load("channel_message.json")
    body["event"]["text"] = f"<@{BOT_USER_ID}>  "
    assert to_inbound(body["event"], TEAM_ID, BOT_USER_ID, slack_settings()) is None


def test_file_share_keeps_the_files() -> None:
    message = inbound("file_share.json")
    assert message is not None and message.text == "The box arrived like this"
    (photo,) = message.attachments
    assert (photo.name, photo.content_type, photo.size) == ("box.jpg", "image/jpeg", 48213)


def test_a_file_without_words_is_still_a_message() -> None:
    body = load("file_share.json")
    body["event"]["text"] = ""
    message = to_inbound(body["event"], TEAM_ID, BOT_USER_ID, slack_settings())
    assert message is not None and message.text == "(sent box.jpg)"
    assert [a.name for a in message.attachments] == ["box.jpg"]


def test_split_text_prefers_paragraphs_then_sentences_then_words() -> None:
    paragraphs = "\n\n".join(["a" * 3000, "b" * 3000, "c" * 100])
    assert split_text(paragraphs) == ["a" * 3000, "b" * 3000 + "\n\n" + "c" * 100]
    sentences = ("One sentence here. " * 300).strip()
    parts = split_text(sentences)
    assert all(len(p) <= 3900 and p.endswith(".") for p in parts)
    assert " ".join(parts) == sentences
    words = split_text("word " * 2000)
    assert all(len(p) <= 3900 and not p.endswith("wor") for p in words)
    assert split_text("x" * 8000) == ["x" * 3900, "x" * 3900, "x" * 200]


# -- HTTP mode through the real Bolt app -------------------------------------------------------


async def test_url_verification(http: tuple[SlackChannel, Inbox, str]) -> None:
    _, _, url = http
    body = json.dumps({"token": "x", "challenge": "abc123", "type": "url_verification"})
    status, text = await post(url, body, sign(body, SECRET))
    assert (status, json.loads(text)) == (200, {"challenge": "abc123"})


async def test_signed_event_reaches_the_handler_before_the_ack(
    http: tuple[SlackChannel, Inbox, str], fake: FakeSlack
) -> None:
    _, inbox, url = http
    body = json.dumps(load("channel_message.json"))
    status, _ = await post(url, body, sign(body, SECRET))
    assert status == 200
    assert [m.message_id for m in inbox.messages] == ["C0SUPPORT:1718000002.000200"]
    assert len(fake.calls_to("auth.test")) >= 1


@pytest.mark.parametrize("case", ["bad signature", "missing headers", "ten minutes old"])
async def test_unsigned_or_stale_requests_are_refused(
    http: tuple[SlackChannel, Inbox, str], case: str
) -> None:
    _, inbox, url = http
    body = json.dumps(load("channel_message.json"))
    headers = {
        "bad signature": sign(body, "not-the-secret"),
        "missing headers": {},
        "ten minutes old": sign(body, SECRET, timestamp=int(time.time()) - 600),
    }[case]
    status, _ = await post(url, body, headers)
    assert status == 401
    assert inbox.messages == []


async def test_redelivered_event_keeps_its_message_id(
    http: tuple[SlackChannel, Inbox, str], fake: FakeSlack
) -> None:
    channel, inbox, url = http
    body = json.dumps(load("channel_message.json"))
    for retry in ("", "1", "2"):
        extra = {"X-Slack-Retry-Num": retry, "X-Slack-Retry-Reason": "http_timeout"}
        status, _ = await post(url, body, sign(body, SECRET) | (extra if retry else {}))
        assert status == 200
    assert len({m.message_id for m in inbox.messages}) == 1 and len(inbox.messages) == 3
    assert len(inbox.seen) == 1  # the handler said "duplicate" twice, without an error
    await channel.send(OutboundMessage(inbox.messages[0].ref, "Use the reset link."))
    assert len(fake.calls_to("chat.postMessage")) == 1


async def test_handler_failure_asks_slack_to_redeliver(
    http: tuple[SlackChannel, Inbox, str],
) -> None:
    _, inbox, url = http
    inbox.fail = True
    body = json.dumps(load("dm.json"))
    status, _ = await post(url, body, sign(body, SECRET))
    assert status == 503  # not acknowledged: Slack sends it again


async def test_events_while_the_channel_stops_are_redelivered(
    http: tuple[SlackChannel, Inbox, str],
) -> None:
    channel, inbox, url = http
    await channel.stop()  # the connection still receives (the desk may be attached)
    body = json.dumps(load("dm.json"))
    assert (await post(url, body, sign(body, SECRET)))[0] == 503
    assert inbox.messages == []


async def test_ignored_events_are_acknowledged(http: tuple[SlackChannel, Inbox, str]) -> None:
    _, inbox, url = http
    for name in IGNORED:
        body = json.dumps(load(name))
        assert (await post(url, body, sign(body, SECRET)))[0] == 200
    assert inbox.messages == []


# -- Socket Mode ---------------------------------------------------------------------------------


async def test_socket_mode_envelope_is_acked_after_the_handler(fake: FakeSlack) -> None:
    settings = slack_settings(fake, mode="socket")
    connection = SlackConnection(settings)
    channel, inbox = SlackChannel(connection, settings), Inbox()
    await channel.start(inbox)
    await connection.start()
    try:
        envelope = await fake.send_envelope("events_api", load("dm.json"))
        await fake.wait_for(lambda: fake.ack_for(envelope) is not None)
        assert [m.message_id for m in inbox.messages] == ["D0ALICE:1718000001.000100"]
        opened = [c for c in fake.calls if c.method == "apps.connections.open"]
        assert opened[0].headers["authorization"].startswith("Bearer xapp-")
    finally:
        await connection.stop()


async def test_socket_mode_with_a_bad_app_token_fails_fast(fake: FakeSlack) -> None:
    settings = slack_settings(fake, mode="socket", app_token="xapp-1-A0APP-1-revoked")
    fake.fail_next("apps.connections.open", error="invalid_auth")
    connection = SlackConnection(settings)
    with pytest.raises(ChannelError, match="invalid_auth"):
        await connection.start()
    await connection.stop()


# -- sending -------------------------------------------------------------------------------------

REF = ConversationRef("slack", "C0SUPPORT", "1718000002.000200", TEAM_ID)


async def test_send_posts_in_the_thread(
    http: tuple[SlackChannel, Inbox, str], fake: FakeSlack
) -> None:
    channel, _, _ = http
    await channel.send(OutboundMessage(REF, "Tap <Forgot password> & follow the link."))
    (call,) = fake.calls_to("chat.postMessage")
    assert (call["channel"], call["thread_ts"]) == ("C0SUPPORT", "1718000002.000200")
    assert call["text"] == "Tap &lt;Forgot password&gt; &amp; follow the link."


async def test_long_reply_is_split_in_order(
    http: tuple[SlackChannel, Inbox, str], fake: FakeSlack
) -> None:
    channel, _, _ = http
    text = " ".join(f"w{i:04d}" for i in range(1500))  # 8,999 characters
    await channel.send(OutboundMessage(REF, text))
    posts = fake.calls_to("chat.postMessage")
    assert len(posts) == 3 and all(len(p["text"]) <= 3900 for p in posts)
    assert " ".join(p["text"] for p in posts) == text
    assert {p["thread_ts"] for p in posts} == {REF.thread_id}


async def test_agent_reply_is_prefixed(
    http: tuple[SlackChannel, Inbox, str], fake: FakeSlack
) -> None:
    channel, _, _ = http
    await channel.send(OutboundMessage(REF, "I'm on it.", sender_name="Carol"))
    assert fake.calls_to("chat.postMessage")[0]["text"] == "*Carol*: I'm on it."


async def test_rate_limited_post_is_delivered_after_retry_after(
    http: tuple[SlackChannel, Inbox, str], fake: FakeSlack
) -> None:
    channel, _, _ = http
    fake.fail_next("chat.postMessage", status=429, headers={"Retry-After": "0"})
    await channel.send(OutboundMessage(REF, "Here you go."))
    posts = fake.calls_to("chat.postMessage")
    assert [p["text"] for p in posts] == ["Here you go.", "Here you go."]  # 429 then delivered


async def test_refused_and_failed_deliveries(
    http: tuple[SlackChannel, Inbox, str], fake: FakeSlack
) -> None:
    channel, _, _ = http
    fake.fail_next("chat.postMessage", error="channel_not_found")
    with pytest.raises(DeliveryRefused, match="channel_not_found"):
        await channel.send(OutboundMessage(REF, "hello"))
    fake.fail_next("chat.postMessage", error="internal_error")
    with pytest.raises(ChannelError, match="internal_error") as failed:
        await channel.send(OutboundMessage(REF, "hello"))
    assert not isinstance(failed.value, DeliveryRefused)
    with pytest.raises(DeliveryRefused):
        await channel.send(OutboundMessage(ConversationRef("discord", "1"), "hello"))


async def test_pacer_spaces_posts_per_channel_only() -> None:
    pacer = Pacer(rate=20.0)
    started = time.monotonic()
    await asyncio.gather(pacer.wait("C1"), pacer.wait("C1"), pacer.wait("C2"))
    assert time.monotonic() - started >= 0.045  # C1's second post waited one interval
