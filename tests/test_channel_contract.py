"""The channel contract: one suite, run unchanged against every customer channel adapter (like
``tests/test_store_conformance.py`` for stores).

Every adapter must: give the same platform event the same message id every time it arrives
(a platform retry, a replay after reconnecting), so the dispatcher can drop the duplicate;
refuse to send to a conversation it cannot reach with ``DeliveryRefused`` (never retried);
split long text into parts within the platform's limit, losing nothing; and stop idempotently.

A new platform joins by adding a ``Harness`` below: how to start it against its fake peer,
deliver one platform event twice, read what reached the platform, and name a foreign ref.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from channels.base import (
    Channel,
    ConversationRef,
    InboundMessage,
    OutboundMessage,
    SplitsMessages,
)
from channels.fake import FakeChannel
from config.errors import DeliveryRefused
from tests.fakes.fake_slack import SECRET, TEAM_ID, FakeSlack, Inbox, post, sign, slack_settings


@dataclass
class Harness:
    channel: Channel
    inbox: Inbox
    limit: int  # the platform's message size limit, in characters
    deliver_twice: Callable[[], Awaitable[None]]  # one platform event, delivered two times
    received: Callable[[], Awaitable[list[str]]]  # texts that reached the platform, in order
    reachable: ConversationRef  # a conversation the adapter can deliver to
    foreign: ConversationRef  # one it can never deliver to


# -- harnesses, one per adapter -----------------------------------------------------------------
async def fake_harness() -> AsyncIterator[Harness]:
    channel, inbox = FakeChannel("fake", max_chars=500), Inbox()
    await channel.start(inbox)
    message = channel.message("where is my order?", message_id="m-1")

    async def twice() -> None:
        await channel.inject(message)
        await channel.inject(message)

    async def received() -> list[str]:
        return [m.text for m in channel.sent]

    yield Harness(channel, inbox, 500, twice, received, message.ref,
                  ConversationRef("slack", "C1"))  # fmt: skip
    await channel.stop()


async def terminal_harness() -> AsyncIterator[Harness]:
    from channels.terminal.customers import TerminalChannel

    # The terminal is one session: a line typed is one message; the contract's "same event
    # twice" is the same line object handed to the channel twice (as a replay would).
    stdin, stdout = io.StringIO(""), io.StringIO()
    channel, inbox = TerminalChannel("robin", stdin, stdout), Inbox()
    await channel.start(inbox)

    async def twice() -> None:
        for _ in range(2):
            await inbox(channel.to_inbound("where is my order?", number=1))

    async def received() -> list[str]:
        messages: list[str] = []
        for line in stdout.getvalue().splitlines():
            if line.startswith("frontdesk> "):
                messages.append(line.removeprefix("frontdesk> "))
            elif line.startswith("  ") and messages:  # a wrapped line of the same message
                messages[-1] += " " + line.strip()
        return messages

    yield Harness(channel, inbox, channel.width_limit, twice, received, channel.ref,
                  ConversationRef("terminal", "someone-else-session"))  # fmt: skip
    await channel.stop()


async def slack_harness() -> AsyncIterator[Harness]:
    from channels.slack.connection import SlackConnection
    from channels.slack.customers import MAX_CHUNK, SlackChannel

    async with FakeSlack() as fake:
        settings = slack_settings(fake)
        connection = SlackConnection(settings)
        channel, inbox = SlackChannel(connection, settings), Inbox()
        await channel.start(inbox)
        await connection.start()
        url = f"http://127.0.0.1:{connection.port}/slack/events"
        event = {
            "type": "message",
            "channel": "D0ROBIN",
            "channel_type": "im",
            "user": "U0ROBIN",
            "text": "where is my order?",
            "ts": "1800000000.000100",
        }
        body = json.dumps({"type": "event_callback", "team_id": TEAM_ID, "event": event,
                           "event_id": "Ev1", "event_time": 1})  # fmt: skip

        async def twice() -> None:
            for retry in (0, 1):  # Slack's own retry carries X-Slack-Retry-Num
                headers = sign(body, SECRET) | ({"X-Slack-Retry-Num": "1"} if retry else {})
                status, _ = await post(url, body, headers)
                assert status == 200

        async def received() -> list[str]:
            return [str(params.get("text")) for _, _, params in fake.posted]

        yield Harness(channel, inbox, MAX_CHUNK + 100, twice, received,
                      ConversationRef("slack", "D0ROBIN", None, TEAM_ID),
                      ConversationRef("discord", "123"))  # fmt: skip
        await channel.stop()
        await connection.stop()


async def discord_harness() -> AsyncIterator[Harness]:
    from channels.discord.connection import DiscordConnection
    from channels.discord.customers import DiscordChannel
    from channels.discord.text import MAX_CHARS
    from tests.fakes.fake_discord import FakeDiscord
    from tests.test_discord import discord_settings

    async with FakeDiscord() as fake:
        settings = discord_settings(fake)
        connection = DiscordConnection(settings, ready_timeout_s=0.05)
        channel, inbox = DiscordChannel(connection, settings), Inbox()
        await channel.start(inbox)
        await connection.start()
        payload = fake.dm_message("where is my order?")

        async def twice() -> None:
            for count in (1, 2):  # the second as the gateway replays it after a RESUME
                await fake.dispatch("MESSAGE_CREATE", payload)
                await fake.wait_for(lambda n=count: len(inbox.messages) >= n)

        async def received() -> list[str]:
            return [str(m.get("content")) for m in fake.sent]

        yield Harness(channel, inbox, MAX_CHARS, twice, received,
                      ConversationRef("discord", payload["channel_id"]),
                      ConversationRef("slack", "C1"))  # fmt: skip
        await channel.stop()
        await connection.stop()


async def web_harness() -> AsyncIterator[Harness]:
    import tempfile
    from pathlib import Path

    from aiohttp.test_utils import TestClient, TestServer

    from brain.store.base import StoreLimits
    from brain.store.sqlite import SqliteStore
    from channels.web import build
    from channels.web.connection import build_app
    from config.settings import Settings, WebSettings

    # The web has no message size limit of its own: a reply is one history entry, whole.
    with tempfile.TemporaryDirectory() as data:
        settings = Settings(web=WebSettings(enabled=True), store={"data_dir": Path(data)})
        store = SqliteStore(Path(data) / "state.db", limits=StoreLimits())
        await store.open()
        adapter = build(settings)
        adapter.use_store(store)
        ctx = adapter.server.ctx
        channel, inbox = ctx.channel, Inbox()
        await ctx.open()
        await channel.start(inbox)
        client = TestClient(TestServer(build_app(ctx)))
        await client.start_server()
        opened = await (await client.post("/api/v1/conversations", json={})).json()
        path = f"/api/v1/conversations/{opened['id']}/messages"
        headers = {"Authorization": f"Bearer {opened['token']}", "Idempotency-Key": "m-1"}

        async def twice() -> None:  # a client retrying with the same Idempotency-Key
            for _ in range(2):
                body = {"text": "where is my order?"}
                resp = await client.post(path, json=body, headers=headers)
                assert resp.status == 202

        async def received() -> list[str]:
            found = await ctx.store.messages(opened["id"])
            return [m["text"] for m in found if m["role"] != "customer"]

        reachable, foreign = ConversationRef("web", opened["id"]), ConversationRef("web", "wc_x")
        yield Harness(channel, inbox, 1_000_000, twice, received, reachable, foreign)
        await channel.stop()
        await client.close()
        await store.close()


async def email_harness() -> AsyncIterator[Harness]:
    from channels.base import ReplyHints
    from channels.email import build
    from config.settings import EmailSettings, Settings
    from tests.fakes.smtp_sink import SmtpServer

    smtp = SmtpServer()
    smtp.start()
    settings = Settings(email=EmailSettings(smtp_host="127.0.0.1", smtp_port=smtp.port,
                                            smtp_security="none",
                                            from_address="support@larkspur.example"))  # fmt: skip
    channel, inbox = build(settings).channel, Inbox()
    await channel.start(inbox)
    raw = (
        b"From: Robin <robin@customer.example>\r\nTo: support@larkspur.example\r\n"
        b"Subject: Order\r\nMessage-ID: <m-1@customer.example>\r\n\r\nwhere is my order?\r\n"
    )

    async def twice() -> None:  # the same mail fetched again after a crash before \Seen
        await channel.accept(raw, "uid:1:1")
        await channel.accept(raw, "uid:1:1")

    async def received() -> list[str]:
        return [str(m.get_body(("plain",)).get_content()).strip()  # type: ignore[union-attr]
                for m in smtp.sink.messages]  # fmt: skip

    reachable = ConversationRef(
        "email",
        "ABCDEFGH",
        hints=ReplyHints(
            reply_to="m-1@customer.example", address="robin@customer.example", subject="Order"
        ),
    )
    try:
        yield Harness(channel, inbox, 100_000, twice, received, reachable,
                      ConversationRef("slack", "C1"))  # fmt: skip
    finally:
        await channel.stop()
        smtp.stop()


HARNESSES: dict[str, Callable[[], AsyncIterator[Harness]]] = {
    "email": email_harness,
    "fake": fake_harness,
    "terminal": terminal_harness,
    "slack": slack_harness,
    "discord": discord_harness,
    "web": web_harness,
}


@pytest.fixture(params=sorted(HARNESSES))
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    async for built in HARNESSES[request.param]():
        yield built


# -- the contract -------------------------------------------------------------------------------
async def test_the_same_event_twice_has_one_stable_id(harness: Harness) -> None:
    await harness.deliver_twice()
    messages: list[InboundMessage] = harness.inbox.messages
    assert len(messages) == 2
    first, second = messages
    assert first.idempotency_key == second.idempotency_key
    assert first.ref == second.ref and first.text == second.text


async def test_sending_to_a_foreign_conversation_is_refused(harness: Harness) -> None:
    with pytest.raises(DeliveryRefused):
        await harness.channel.send(OutboundMessage(ref=harness.foreign, text="hello"))
    assert (await harness.received()) == []


async def test_long_text_is_split_within_the_limit_and_nothing_is_lost(harness: Harness) -> None:
    paragraphs = [f"Paragraph {i}: " + "word " * 120 for i in range(12)]
    text = "\n\n".join(p.strip() for p in paragraphs)
    await harness.channel.send(OutboundMessage(ref=harness.reachable, text=text))
    parts = await harness.received()
    assert len(parts) >= (2 if len(text) > harness.limit else 1)
    assert all(len(part) <= harness.limit for part in parts)
    assert _words(" ".join(parts)) == _words(text)


async def test_stop_is_idempotent(harness: Harness) -> None:
    await harness.channel.stop()
    await harness.channel.stop()


def _words(text: str) -> list[Any]:
    return text.split()


async def test_a_splitting_channel_posts_each_recorded_part_once(harness: Harness) -> None:
    channel = harness.channel
    if not isinstance(channel, SplitsMessages):
        assert harness.limit >= 100_000, "a channel with a size limit must offer split()"
        return
    text = "\n\n".join(f"Paragraph {i}: " + "word " * 120 for i in range(12))
    message = OutboundMessage(ref=harness.reachable, text=text, sender_name="Alice",
                              message_id="m1")  # fmt: skip
    parts = channel.split(message)
    assert len(parts) >= 2 and parts[0].sender_name == "Alice"
    assert all(p.sender_name is None for p in parts[1:])
    assert len({p.message_id for p in parts}) == len(parts)
    for number, part in enumerate(parts, start=1):
        await channel.send(part)  # what the outbox does, one recorded part at a time
        assert len(await harness.received()) == number
    assert all(len(text) <= harness.limit for text in (await harness.received()))
    assert _words(" ".join(await harness.received())).count("word") == text.count("word")
