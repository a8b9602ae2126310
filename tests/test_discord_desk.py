"""The Discord desk against the fake gateway + REST: cards with persistent buttons and a
thread, clicks and thread messages turned into desk events with the actor's role, refusals
shown only to the actor, the ``/frontdesk`` command, re-pages, and buttons after a restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from channels.base import (
    Author,
    ConversationRef,
    DeskAction,
    DeskEvent,
    DeskFeedback,
    EscalationCard,
    Role,
)
from channels.discord.connection import DiscordConnection
from channels.discord.customers import DiscordChannel
from channels.discord.desk import DiscordDesk
from config.settings import DeskSettings, DiscordSettings
from tests.fakes.fake_discord import (
    ADMIN_ROLE,
    ALICE,
    BOB,
    CAROL,
    DESK,
    MALLORY,
    STAFF_ROLE,
    FakeDiscord,
)
from tests.test_discord import Inbox, discord_settings

EPHEMERAL = 64


class Agents:
    """A desk handler that records events and answers with ``feedback`` (refusing role NONE
    the way the hub does)."""

    def __init__(self) -> None:
        self.events: list[DeskEvent] = []
        self.feedback = DeskFeedback("Done.")

    async def __call__(self, event: DeskEvent) -> DeskFeedback:
        self.events.append(event)
        if event.role is Role.NONE:
            return DeskFeedback("Sorry, only Frontdesk agents can do that.", ok=False)
        return self.feedback


def desk_settings(fake: FakeDiscord, **changes: Any) -> DiscordSettings:
    return discord_settings(
        fake,
        desk_channel_id=DESK,
        staff_role_ids=[STAFF_ROLE],
        admin_role_ids=[ADMIN_ROLE],
        **changes,
    )


def card(status: str = "escalated", **changes: Any) -> EscalationCard:
    values: dict[str, Any] = {
        "ticket_id": "T-00042",
        "origin": ConversationRef("discord", "1500000000000000001"),
        "customer": Author("1400000000000000001", "Robin"),
        "status": status,
        "reasons": ("human_requested",),
        "summary": "Wants a person about a @everyone refund",
        "transcript": ("customer: I want a person",),
        "urgency": "normal",
    }
    return EscalationCard(**(values | changes))


@dataclass
class Env:
    fake: FakeDiscord
    connection: DiscordConnection
    desk: DiscordDesk
    agents: Agents

    async def thread_message(self, text: str, thread: str, who: dict[str, Any]) -> None:
        await self.fake.dispatch("MESSAGE_CREATE", self.fake.guild_message(text, thread, who))

    async def click(self, action: str, message_id: str, who: dict[str, Any]) -> None:
        custom_id = f"frontdesk:{action}:T-00042"
        await self.fake.dispatch("INTERACTION_CREATE", self.fake.click(custom_id, message_id, who))


async def running(fake: FakeDiscord) -> AsyncIterator[Env]:
    settings = desk_settings(fake)
    connection = DiscordConnection(settings, ready_timeout_s=0.05)
    desk, agents = DiscordDesk(connection, settings, DeskSettings()), Agents()
    channel = DiscordChannel(connection, settings)
    await desk.start(agents)
    await channel.start(Inbox())
    async with connection.connected():
        yield Env(fake, connection, desk, agents)
    await desk.stop()


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


@pytest.fixture
async def env(fake: FakeDiscord) -> AsyncIterator[Env]:
    async for value in running(fake):
        yield value


def custom_ids(message: dict[str, Any]) -> list[str]:
    return [b["custom_id"] for row in message.get("components") or [] for b in row["components"]]


async def test_command_is_synced_to_the_desk_server(env: Env) -> None:
    [command] = env.fake.commands
    assert command["name"] == "frontdesk"
    names = {o["name"] for o in command["options"]}
    assert {
        "status",
        "stats",
        "escalations",
        "faq",
        "provider",
        "pause",
        "resume",
        "digest",
        "help",
    } <= names


async def test_page_posts_a_card_with_buttons_and_a_thread(env: Env) -> None:
    ref = await env.desk.page(card())
    [posted] = env.fake.sent_to(DESK)
    assert ref == f"{DESK}:{posted['id']}"
    assert custom_ids(posted) == [
        "frontdesk:claim:T-00042",
        "frontdesk:resolve:T-00042",
        "frontdesk:handback:T-00042",
    ]
    embed = posted["embeds"][0]
    assert "T-00042" in embed["title"] and "@\u200beveryone" in embed["description"]
    assert posted["allowed_mentions"]["parse"] == []
    await env.fake.wait_for(lambda: posted["id"] in env.fake.threads)  # the ticket's thread
    assert env.fake.threads[posted["id"]]["parent_id"] == DESK

    await env.desk.relay(ref, Author("1", "Robin"), "my order is 55555 @here")
    relayed = env.fake.sent_to(posted["id"])[-1]
    assert "55555" in relayed["content"] and relayed["allowed_mentions"] == {"parse": []}

    await env.desk.update(ref, card("claimed", agent="Alice"))
    edit = env.fake.edits[-1]
    assert edit["message_id"] == posted["id"] and "Claimed by Alice" in str(edit["embeds"])
    assert custom_ids(edit) == ["frontdesk:resolve:T-00042", "frontdesk:handback:T-00042"]
    await env.desk.update(ref, card("resolved", agent="Alice", handle_time_s=90))
    assert env.fake.edits[-1]["components"] == []


async def test_urgent_card_and_repage_name_the_staff_role(env: Env) -> None:
    ref = await env.desk.page(card(urgency="urgent"))
    first = env.fake.sent_to(DESK)[-1]
    assert f"<@&{STAFF_ROLE}>" in first["content"]
    assert first["allowed_mentions"]["roles"] == [int(STAFF_ROLE)]
    assert await env.desk.page(card(repage=1), thread_of=ref) == ref
    reminder = env.fake.sent_to(ref.split(":")[1])[-1]
    assert "re-page 1" in reminder["content"] and reminder["allowed_mentions"]["parse"] == []


async def test_click_becomes_a_desk_event_with_role_and_card(env: Env) -> None:
    ref = await env.desk.page(card())
    message_id = ref.split(":")[1]
    await env.click("claim", message_id, ALICE)
    await env.fake.wait_for(lambda: env.agents.events and env.fake.callbacks)
    event = env.agents.events[0]
    assert (event.action, event.ticket_id, event.desk_ref) == (DeskAction.CLAIM, "T-00042", ref)
    assert (event.role, event.desk, event.agent.id) == (Role.AGENT, "discord", ALICE["id"])
    assert env.fake.callbacks[0]["type"] == 6  # deferred: the card is redrawn, nothing else
    await env.click("handback", message_id, CAROL)
    await env.fake.wait_for(lambda: len(env.agents.events) == 2)
    assert env.agents.events[1].role is Role.ADMIN
    assert env.agents.events[1].action is DeskAction.HAND_BACK


async def test_non_staff_click_is_sent_with_no_role_and_refused_privately(env: Env) -> None:
    ref = await env.desk.page(card())
    await env.click("claim", ref.split(":")[1], MALLORY)
    await env.fake.wait_for(lambda: len(env.fake.callbacks) >= 2)
    assert env.agents.events[0].role is Role.NONE
    follow_up = env.fake.callbacks[1]
    assert follow_up["path"].startswith("/webhooks/") and follow_up["flags"] & EPHEMERAL
    assert "only Frontdesk agents" in follow_up["content"]


async def test_thread_messages_become_replies_and_notes_get_a_lock(env: Env) -> None:
    ref = await env.desk.page(card())
    thread = ref.split(":")[1]
    await env.fake.wait_for(lambda: thread in env.fake.threads)
    env.agents.feedback = DeskFeedback("Kept internal.", internal=True)
    await env.thread_message("note: check the warehouse", thread, BOB)
    await env.fake.wait_for(lambda: env.fake.posts("PUT", r"/reactions/"))
    event = env.agents.events[0]
    assert (event.action, event.desk_ref, event.role) == (DeskAction.REPLY, ref, Role.AGENT)
    assert event.text == "note: check the warehouse" and event.event_id
    # Top-level chatter in the desk channel, and threads staff open, are not ticket events.
    await env.thread_message("coffee anyone?", DESK, ALICE)
    own = env.fake.thread("1312009999999999999", DESK, "lunch", owner=ALICE["id"])
    env.fake.threads[own["id"]] = own
    await env.fake.dispatch("THREAD_CREATE", {**own, "newly_created": True})
    await env.thread_message("pizza?", own["id"], ALICE)
    await env.thread_message("refused", thread, MALLORY)
    await env.fake.wait_for(lambda: len(env.agents.events) == 2 and env.fake.sent_to(thread))
    assert env.agents.events[1].role is Role.NONE
    assert "only Frontdesk agents" in env.fake.sent_to(thread)[-1]["content"]


async def test_frontdesk_command_is_answered_ephemerally(env: Env) -> None:
    env.agents.feedback = DeskFeedback("Added faq:1.")
    payload = env.fake.slash(CAROL, "faq", "add", question="Do you sell gnomes?", answer="Yes.")
    await env.fake.dispatch("INTERACTION_CREATE", payload)
    await env.fake.wait_for(lambda: len(env.fake.callbacks) >= 2)
    event = env.agents.events[0]
    assert (event.action, event.role) == (DeskAction.COMMAND, Role.ADMIN)
    assert event.text == "faq add 'Do you sell gnomes?' Yes."
    assert env.fake.callbacks[0]["type"] == 5 and env.fake.callbacks[0]["data"]["flags"] & 64
    assert env.fake.callbacks[1]["content"] == "Added faq:1."
    assert env.fake.callbacks[1]["flags"] & EPHEMERAL


async def test_stats_option_becomes_text(env: Env) -> None:
    await env.fake.dispatch("INTERACTION_CREATE", env.fake.slash(ALICE, "stats", period="7d"))
    await env.fake.wait_for(lambda: env.agents.events)
    assert env.agents.events[0].text == "stats 7d"


async def test_buttons_work_after_a_restart(fake: FakeDiscord) -> None:
    async for first in running(fake):
        ref = await first.desk.page(card())
    async for second in running(fake):  # a new process: new client, same cards
        await second.click("resolve", ref.split(":")[1], BOB)
        await fake.wait_for(lambda env=second: env.agents.events)
        event = second.agents.events[0]
        assert (event.action, event.desk_ref) == (DeskAction.RESOLVE, ref)
        await second.thread_message("still here", ref.split(":")[1], BOB)
        await fake.wait_for(lambda env=second: len(env.agents.events) == 2)
        assert second.agents.events[1].desk_ref == ref
    await asyncio.sleep(0)
