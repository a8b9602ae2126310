"""The Discord customer channel: the real discord.py against the fake gateway + REST.

Guild message -> reply referencing it; DM -> reply in the DM; forum post -> answer in the post
(and its tag); own and bot messages ignored; a MESSAGE_CREATE replayed after a RESUME has the
same idempotency key (the queue drops it); a 3,500-character answer -> two messages; a 429 is
waited out; 403 / 404 / 50007 are refused once, with a hint; nobody is pinged through the bot.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import pytest

from channels.base import InboundMessage, OutboundMessage
from channels.discord.connection import DiscordConnection
from channels.discord.customers import DiscordChannel
from channels.discord.desk import DiscordDesk
from config.errors import ChannelError, ConfigError, DeliveryRefused
from config.settings import DeskSettings, DiscordSettings
from tests.fakes.fake_discord import (
    BOT,
    FORUM,
    OTHER_BOT,
    ROBIN,
    STAFF_ROLE,
    SUPPORT,
    TAGS,
    TOKEN,
    FakeDiscord,
)

MESSAGE_CONTENT_INTENT = 1 << 15


class Inbox:
    """An inbound handler that drops duplicates like the dispatcher (False for a repeat)."""

    def __init__(self) -> None:
        self.messages: list[InboundMessage] = []
        self.seen: set[str] = set()

    async def __call__(self, message: InboundMessage) -> bool:
        self.messages.append(message)
        if message.idempotency_key in self.seen:
            return False
        self.seen.add(message.idempotency_key)
        return True


def discord_settings(fake: FakeDiscord, **changes: Any) -> DiscordSettings:
    values: dict[str, Any] = {
        "enabled": True,
        "bot_token": TOKEN,
        "support_channel_ids": [SUPPORT],
        "forum_channel_ids": [FORUM],
        "api_base_url": fake.api_base_url,
        "gateway_url": fake.gateway_url,
    }
    return DiscordSettings(**(values | changes))


@dataclass
class Env:
    fake: FakeDiscord
    connection: DiscordConnection
    channel: DiscordChannel
    inbox: Inbox

    async def receive(self, payload: dict[str, Any], count: int = 1) -> InboundMessage:
        await self.fake.dispatch("MESSAGE_CREATE", payload)
        await self.fake.wait_for(lambda: len(self.inbox.messages) >= count)
        return self.inbox.messages[count - 1]


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


async def running(fake: FakeDiscord, **changes: Any) -> AsyncIterator[Env]:
    settings = discord_settings(fake, **changes)
    connection = DiscordConnection(settings, ready_timeout_s=0.05)
    channel, inbox = DiscordChannel(connection, settings), Inbox()
    await channel.start(inbox)
    async with connection.connected():
        yield Env(fake, connection, channel, inbox)
    await channel.stop()


@pytest.fixture
async def env(fake: FakeDiscord) -> AsyncIterator[Env]:
    async for value in running(fake):
        yield value


def reply_to(message: InboundMessage, text: str, **fields: Any) -> OutboundMessage:
    return OutboundMessage(ref=message.ref, text=text, in_reply_to=message.message_id, **fields)


async def test_identifies_with_the_message_content_intent(env: Env) -> None:
    assert env.connection.is_connected()
    identify = next(f for f in env.fake.gateway_in if f["op"] == 2)
    assert identify["d"]["intents"] & MESSAGE_CONTENT_INTENT
    assert identify["d"]["token"] == TOKEN


async def test_guild_message_gets_a_reply_referencing_it(env: Env) -> None:
    payload = env.fake.guild_message("How do I return an item?")
    message = await env.receive(payload)
    assert message.text == "How do I return an item?"
    assert message.ref.conversation_id == f"{SUPPORT}:{ROBIN['id']}"  # per user per channel
    assert message.ref.workspace_id is not None and message.author.display_name == "Robin"
    await env.channel.send(reply_to(message, "Within 30 days."))
    sent = env.fake.sent_to(SUPPORT)[-1]
    assert sent["content"] == "Within 30 days."
    assert sent["message_reference"]["message_id"] == int(payload["id"])
    assert sent["allowed_mentions"] == {"parse": [], "replied_user": True}


async def test_typing_while_the_brain_works(env: Env) -> None:
    await env.receive(env.fake.guild_message("Where is my parcel?"))
    await env.fake.wait_for(lambda: env.fake.posts("POST", rf"/channels/{SUPPORT}/typing$"))


async def test_dm_is_answered_in_the_dm(env: Env) -> None:
    payload = env.fake.dm_message("Hi, privately")
    message = await env.receive(payload)
    assert message.ref.conversation_id == payload["channel_id"] and message.ref.thread_id is None
    await env.channel.send(reply_to(message, "Hello!"))
    assert env.fake.sent_to(payload["channel_id"])[-1]["content"] == "Hello!"


async def test_dms_can_be_turned_off(fake: FakeDiscord) -> None:
    async for env in running(fake, answer_direct_messages=False):
        await fake.dispatch("MESSAGE_CREATE", fake.dm_message("anyone?"))
        await env.receive(fake.guild_message("in the channel"))
        assert [m.text for m in env.inbox.messages] == ["in the channel"]


async def test_forum_post_is_answered_in_the_post_and_tagged(env: Env) -> None:
    await env.fake.forum_post("Charged twice", "I was charged twice for order 1234")
    message = env.inbox.messages[0] if env.inbox.messages else None
    await env.fake.wait_for(lambda: env.inbox.messages)
    message = env.inbox.messages[0]
    thread = message.ref.thread_id
    assert message.ref.conversation_id == FORUM and thread is not None
    assert message.message_id == thread  # the starter message has the post's id
    answer = replace(reply_to(message, "Sorry about that, checking."), category="billing")
    await env.channel.send(answer)  # the classifier's category travels with the answer
    sent = env.fake.sent_to(thread)[-1]
    assert sent["message_reference"]["message_id"] == int(thread)
    assert env.fake.threads[thread]["applied_tags"] == [TAGS["billing"]]
    await env.channel.apply_tags(message.ref, "no such tag")  # nothing to apply: no call
    assert len(env.fake.posts("PATCH", rf"/channels/{thread}$")) == 1


async def test_a_follow_up_in_the_post_is_the_same_conversation(env: Env) -> None:
    starter = await env.fake.forum_post("Late parcel", "Where is my parcel?")
    first = await env.receive(env.fake.guild_message("order 55", starter["id"]), count=2)
    assert first.ref.key == env.inbox.messages[0].ref.key


async def test_own_and_other_bots_messages_are_ignored(env: Env) -> None:
    for author in (BOT, OTHER_BOT):
        await env.fake.dispatch("MESSAGE_CREATE", env.fake.guild_message("help", author=author))
    await env.fake.dispatch("MESSAGE_CREATE", env.fake.guild_message("pinned", type=6))
    message = await env.receive(env.fake.guild_message("a person"))
    assert [m.text for m in env.inbox.messages] == ["a person"] and message


async def test_replayed_message_after_resume_is_the_same_message(env: Env) -> None:
    payload = env.fake.guild_message("Do you ship to Norway?")
    first = await env.receive(payload)
    env.fake.replay = [("MESSAGE_CREATE", payload)]
    await env.fake.drop()
    await env.fake.wait_for(lambda: len(env.inbox.messages) >= 2, within=10)
    again = env.inbox.messages[1]
    assert again.idempotency_key == first.idempotency_key
    assert env.connection.disconnects == 1 and env.connection.resumes == 1
    assert any(f["op"] == 6 for f in env.fake.gateway_in)  # RESUME, not a new IDENTIFY
    assert env.inbox.seen == {first.idempotency_key}  # the queue took it once
    await env.fake.wait_for(env.connection.is_connected)
    await env.connection.stop()
    assert not env.connection.is_connected()


async def test_long_answer_is_split_under_2000(env: Env) -> None:
    message = await env.receive(env.fake.guild_message("Tell me everything"))
    paragraph = ("Our returns policy covers most items for thirty days. " * 8).strip()
    text = "\n\n".join([paragraph] * 8)
    assert 3400 < len(text) < 3700
    await env.channel.send(reply_to(message, text))
    parts = env.fake.sent_to(SUPPORT)
    assert len(parts) == 2 and all(len(p["content"]) <= 2000 for p in parts)
    assert "message_reference" in parts[0] and "message_reference" not in parts[1]


async def test_429_is_waited_out_and_delivered(env: Env) -> None:
    message = await env.receive(env.fake.guild_message("hello"))
    env.fake.fail(
        "POST",
        rf"/channels/{SUPPORT}/messages$",
        429,
        retry_after=0.3,
        headers={"Retry-After": "0.3", "X-RateLimit-Scope": "user", "Via": "1.1 google"},
        **{"global": False},
    )
    await env.channel.send(reply_to(message, "after the limit"))
    assert len(env.fake.posts("POST", rf"/channels/{SUPPORT}/messages$")) == 2
    assert env.fake.sent_to(SUPPORT)[-1]["content"] == "after the limit"


@pytest.mark.parametrize(
    ("status", "code", "hint"),
    [(403, 50013, "Send Messages"), (404, 10003, "deleted"), (403, 50007, "cannot DM")],
)
async def test_permanent_errors_are_refused_once_with_a_hint(
    env: Env, caplog: pytest.LogCaptureFixture, status: int, code: int, hint: str
) -> None:
    message = await env.receive(env.fake.guild_message("hello"))
    env.fake.fail("POST", r"/messages$", status, code=code)
    with caplog.at_level(logging.ERROR), pytest.raises(DeliveryRefused, match=hint):
        await env.channel.send(reply_to(message, "never arrives"))
    assert len(env.fake.posts("POST", r"/messages$")) == 1, "not retried"
    assert any(hint in r.getMessage() for r in caplog.records)


async def test_nobody_is_pinged_through_the_bot(env: Env) -> None:
    message = await env.receive(env.fake.guild_message("hello"))
    relayed = replace(
        reply_to(message, "@everyone look <@&1250000000000000001>"),
        in_reply_to=None,
        sender_name="Alice *staff*",
    )
    await env.channel.send(relayed)
    sent = env.fake.sent_to(SUPPORT)[-1]
    assert sent["allowed_mentions"]["parse"] == [] and not sent["allowed_mentions"].get(
        "replied_user"
    )
    assert sent["content"].startswith("**Alice \\*staff\\***: @everyone")


async def test_thread_per_conversation_answers_in_a_new_thread(fake: FakeDiscord) -> None:
    async for env in running(fake, thread_per_conversation=True):
        payload = fake.guild_message("My table arrived scratched")
        message = await env.receive(payload)
        assert message.ref.thread_id == payload["id"]
        await env.channel.send(reply_to(message, "Sorry! Send a photo here."))
        await env.channel.send(reply_to(message, "Still there?"))
        assert fake.threads[payload["id"]]["parent_id"] == SUPPORT
        assert fake.threads[payload["id"]]["name"] == "My table arrived scratched"
        assert len(fake.posts("POST", r"/threads$")) == 1
        assert fake.sent_to(payload["id"])[0]["content"].startswith("Sorry!")
        assert "message_reference" not in fake.sent_to(payload["id"])[0]
        # The customer answers in the thread: the same conversation.
        follow_up = await env.receive(fake.guild_message("here", payload["id"]), count=2)
        assert follow_up.ref.key == message.ref.key

        # Without Create Public Threads the answer goes beside the question instead.
        other = await env.receive(fake.guild_message("And my lamp?"), count=3)
        fake.fail("POST", r"/threads$", 403, code=50013)
        await env.channel.send(reply_to(other, "Checking the lamp."))
        beside = fake.sent_to(SUPPORT)[-1]
        assert beside["content"] == "Checking the lamp."
        assert beside["message_reference"]["message_id"] == int(other.message_id)


async def test_messages_outside_support_channels_are_not_for_us(env: Env) -> None:
    from tests.fakes.fake_discord import ELSEWHERE

    await env.fake.dispatch("MESSAGE_CREATE", env.fake.guild_message("hi", ELSEWHERE))
    await env.receive(env.fake.guild_message("in support"))
    assert len(env.inbox.messages) == 1
    await asyncio.sleep(0)


async def test_a_queue_hiccup_does_not_lose_the_message(env: Env) -> None:
    failures = iter([RuntimeError("queue unavailable")])
    queue = env.inbox

    async def flaky(message: InboundMessage) -> bool:
        for error in failures:
            raise error
        return await queue(message)

    await env.channel.start(flaky)
    await env.fake.dispatch("MESSAGE_CREATE", env.fake.guild_message("still there?"))
    await env.fake.wait_for(lambda: queue.messages, within=5)
    assert [m.text for m in queue.messages] == ["still there?"]


async def test_a_long_rate_limit_is_left_to_the_outbox(env: Env) -> None:
    message = await env.receive(env.fake.guild_message("hello"))
    env.fake.fail(
        "POST",
        rf"/channels/{SUPPORT}/messages$",
        429,
        retry_after=120.0,
        headers={"Retry-After": "120", "Via": "1.1 google"},
        **{"global": False},
    )
    started = asyncio.get_running_loop().time()
    with pytest.raises(ChannelError, match="rate limited") as raised:
        await env.channel.send(reply_to(message, "later"))
    assert not isinstance(raised.value, DeliveryRefused)  # transient: the outbox retries
    assert asyncio.get_running_loop().time() - started < 5


async def test_start_up_fails_with_the_fix_named(fake: FakeDiscord) -> None:
    wrong_token = DiscordConnection(discord_settings(fake, bot_token="not-the-token"))
    with pytest.raises(ConfigError, match="FRONTDESK_DISCORD__BOT_TOKEN: Discord rejected"):
        await wrong_token.start()
    fake.refuse_intents = True
    no_intent = DiscordConnection(discord_settings(fake), ready_timeout_s=0.05)
    with pytest.raises(ConfigError, match="Privileged Gateway Intents -> Message Content"):
        await no_intent.start()
    fake.refuse_intents = False

    settings = discord_settings(
        fake, desk_channel_id="1399999999999999999", staff_role_ids=[STAFF_ROLE]
    )
    connection = DiscordConnection(settings, ready_timeout_s=0.05)
    DiscordDesk(connection, settings, DeskSettings())
    with pytest.raises(
        ConfigError, match="FRONTDESK_DISCORD__DESK_CHANNEL_ID: 1399999999999999999"
    ):
        await connection.start()
    assert connection.client.is_closed()
