"""The Slack desk: cards rendered into the fake Slack, and clicks, thread replies, the slash
command and App Home driven as signed requests (and a Socket Mode envelope) into the real Bolt app.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from channels.base import (
    Author,
    Channel,
    ConversationRef,
    Desk,
    DeskAction,
    DeskEvent,
    DeskFeedback,
    EscalationCard,
    HomeView,
    Role,
)
from channels.slack.blocks import card_blocks
from channels.slack.connection import SlackConnection
from channels.slack.customers import SlackChannel
from channels.slack.desk import SlackDesk
from config.settings import DeskSettings, SlackSettings
from tests.fakes.fake_slack import FORM, SECRET, FakeSlack, Inbox, load, post, sign, slack_settings

CARD_TS = "1700000000.000001"  # the fake's first ts: the card the fixtures click on


class Agents:
    """A desk handler that records events and answers with ``feedback``."""

    def __init__(self) -> None:
        self.events: list[DeskEvent] = []
        self.feedback = DeskFeedback("Done.")
        self.release: asyncio.Event | None = None

    async def __call__(self, event: DeskEvent) -> DeskFeedback:
        self.events.append(event)
        if self.release is not None:
            await self.release.wait()
        return self.feedback


@dataclasses.dataclass
class Env:
    connection: SlackConnection
    desk: SlackDesk
    agents: Agents
    fake: FakeSlack
    url: str
    settings: SlackSettings


def settings_for(fake: FakeSlack, **changes: Any) -> SlackSettings:
    values = {"oncall_group": "S0ONCALL", "admin_user_ids": ["U0ADMIN"],
              "admin_group": "S0ADMINS", "agent_user_ids": ["U0CAROL"]} | changes  # fmt: skip
    fake.profiles |= {"U0CAROL": "carol", "U0ADMIN": "Ada"}
    return slack_settings(fake, **values)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        yield server


@pytest.fixture
async def env(fake: FakeSlack) -> AsyncIterator[Env]:
    settings = settings_for(fake)
    connection = SlackConnection(settings)
    desk, agents = SlackDesk(connection, settings, DeskSettings()), Agents()
    await desk.start(agents)
    await connection.start()
    url = f"http://127.0.0.1:{connection.port}/slack/events"
    yield Env(connection, desk, agents, fake, url, settings)
    await desk.stop()
    await connection.stop()


def card(**changes: Any) -> EscalationCard:
    base = EscalationCard(
        ticket_id="T-42",
        origin=ConversationRef("slack", "C0SUPPORT", "1718000002.000200", "T0TEAM"),
        customer=Author("U0ALICE", "Alice"),
        status="escalated",
        reasons=("negative_sentiment", "the customer asked for a person"),
        summary="Parcel missing for 10 days",
        transcript=tuple(f"customer: message {i}" for i in range(1, 9)),
        category="delivery",
        urgency="urgent",
        sentiment=-0.7,
        origin_link="https://fake.slack.test/archives/C0SUPPORT/p1718000002000200",
    )
    return dataclasses.replace(base, **changes)


def buttons(blocks: list[dict[str, Any]]) -> list[tuple[str, str]]:
    actions = [b for b in blocks if b["type"] == "actions"]
    return [(e["action_id"], e["value"]) for a in actions for e in a["elements"]]


def block_text(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_adapters_implement_the_protocols(fake: FakeSlack) -> None:
    settings = settings_for(fake)
    connection = SlackConnection(settings)
    desk: Desk = SlackDesk(connection, settings, DeskSettings())  # page(card, thread_of=None)
    channel: Channel = SlackChannel(connection, settings)
    assert isinstance(desk, Desk) and isinstance(channel, Channel)
    assert (desk.name, channel.name) == ("slack", "slack")


# -- showing -------------------------------------------------------------------------------------


async def test_page_renders_the_card(env: Env) -> None:
    ref = await env.desk.page(card())
    (call,) = env.fake.calls_to("chat.postMessage")
    assert ref == f"C0ESC:{CARD_TS}"
    assert call["channel"] == "C0ESC" and "<!subteam^S0ONCALL>" in call["text"]
    blocks = call["blocks"]
    assert blocks[0]["text"]["text"] == "🆘 T-42 · urgent"
    assert buttons(blocks) == [("frontdesk_claim", "T-42"), ("frontdesk_resolve", "T-42"),
                               ("frontdesk_handback", "T-42")]  # fmt: skip
    text = block_text(blocks)
    for expected in ("• Negative sentiment", "• The customer asked for a person", "Alice",
                     "|slack>", "delivery", "-0.70", "Parcel missing for 10 days"):  # fmt: skip
        assert expected in text
    transcript = next(b for b in blocks if b["type"] == "context")["elements"]
    assert [e["text"] for e in transcript] == [f"customer: message {i}" for i in range(3, 9)]


async def test_page_mentions_on_call_only_when_urgent(env: Env) -> None:
    await env.desk.page(card(urgency="normal"))
    assert "subteam" not in env.fake.calls_to("chat.postMessage")[0]["text"]


async def test_repage_posts_louder_in_the_cards_thread(env: Env) -> None:
    ref = await env.desk.page(card())
    assert await env.desk.page(card(repage=2), thread_of=ref) == ref
    repage = env.fake.calls_to("chat.postMessage")[1]
    assert (repage["thread_ts"], repage["reply_broadcast"]) == (CARD_TS, True)
    assert "<!here>" in repage["text"] and "<!subteam^S0ONCALL>" in repage["text"]
    assert "T-42" in repage["text"] and "re-page 2" in repage["text"]


async def test_update_redraws_the_card(env: Env) -> None:
    ref = await env.desk.page(card())
    await env.desk.update(ref, card(status="claimed", agent="alice"))
    claimed = env.fake.calls_to("chat.update")[0]
    assert (claimed["channel"], claimed["ts"]) == ("C0ESC", CARD_TS)
    assert "Claimed by alice" in block_text(claimed["blocks"]) and "alice" in claimed["text"]
    assert buttons(claimed["blocks"]) == [("frontdesk_resolve", "T-42"),
                                          ("frontdesk_handback", "T-42")]  # fmt: skip
    await env.desk.update(ref, card(status="resolved", agent="U0CAROL1", handle_time_s=725.0))
    resolved = env.fake.calls_to("chat.update")[1]
    assert resolved["text"] == "🆘 T-42 · Resolved by <@U0CAROL1> in 12 min"
    assert "Resolved by <@U0CAROL1> in 12 min" in block_text(resolved["blocks"])
    assert buttons(resolved["blocks"]) == []
    handed_back = card_blocks(card(status="handed_back", agent="bob"), DeskSettings())
    assert "Handed back to the bot by bob" in block_text(handed_back)


async def test_relay_and_alert(env: Env) -> None:
    await env.desk.relay(f"C0ESC:{CARD_TS}", Author("U0ALICE", "Alice"), "Any news?")
    await env.desk.alert("Daily budget spent: answering from the knowledge base only.")
    relay, alert = env.fake.calls_to("chat.postMessage")
    assert (relay["channel"], relay["thread_ts"]) == ("C0ESC", CARD_TS)
    assert relay["text"] == "*Customer (Alice):* Any news?"
    assert alert["channel"] == "C0ESC" and "thread_ts" not in alert


async def test_show_home_publishes_the_tickets(env: Env) -> None:
    now = datetime.now(UTC)
    view = HomeView(
        open_tickets=(card(), card(ticket_id="T-43", status="claimed", urgency="low")),
        created_at=(now - timedelta(minutes=7), now - timedelta(minutes=3)),
        stats=(("Answered by the bot", "57"), ("Escalated", "4")),
    )
    await env.desk.show_home("U0CAROL", view)
    (call,) = env.fake.calls_to("views.publish")
    assert call["user_id"] == "U0CAROL" and call["view"]["type"] == "home"
    text = block_text(call["view"]["blocks"])
    assert "*T-42* · escalated · urgent · 7 min · ⚠ over SLA" in text
    assert "*T-43* · claimed · low · 3 min" in text and "Answered by the bot" in text


# -- listening -------------------------------------------------------------------------------------


def click(action_id: str = "frontdesk_claim") -> str:
    payload = load("block_actions_claim.json")
    payload["actions"][0]["action_id"] = action_id
    return "payload=" + quote(json.dumps(payload))


async def test_claim_click_becomes_a_desk_event_and_refusal_is_private(env: Env) -> None:
    env.agents.feedback = DeskFeedback("T-42 is already claimed by bob.", ok=False)
    body = click()
    assert (await post(env.url, body, sign(body, SECRET), FORM))[0] == 200
    await env.fake.wait_for(lambda: bool(env.fake.calls_to("chat.postEphemeral")))
    (event,) = env.agents.events
    assert (event.action, event.ticket_id, event.desk_ref) == (
        DeskAction.CLAIM, "T-42", f"C0ESC:{CARD_TS}")  # fmt: skip
    assert event.agent == Author("U0CAROL", "carol") and event.event_id == "1718000120.001500"
    assert event.role is not Role.ADMIN
    (ephemeral,) = env.fake.calls_to("chat.postEphemeral")
    assert (ephemeral["channel"], ephemeral["user"]) == ("C0ESC", "U0CAROL")
    assert ephemeral["text"] == "T-42 is already claimed by bob."


async def test_click_over_socket_mode(fake: FakeSlack) -> None:
    settings = settings_for(fake, mode="socket")
    connection = SlackConnection(settings)
    desk, agents = SlackDesk(connection, settings, DeskSettings()), Agents()
    await desk.start(agents)
    await connection.start()
    try:
        payload = load("block_actions_claim.json")
        payload["actions"][0]["action_id"] = "frontdesk_handback"
        envelope = await fake.send_envelope("interactive", payload)
        await fake.wait_for(lambda: fake.ack_for(envelope) is not None)
        await connection.drain()  # the click's work runs after the ack
        assert [e.action for e in agents.events] == [DeskAction.HAND_BACK]
    finally:
        await connection.stop()


async def test_thread_reply_becomes_a_reply_event(env: Env) -> None:
    env.agents.feedback = DeskFeedback("Internal note saved.", internal=True)
    body = json.dumps(load("escalation_thread_reply.json"))
    assert (await post(env.url, body, sign(body, SECRET)))[0] == 200
    (event,) = env.agents.events  # handed over before the ack
    assert (event.action, event.desk_ref) == (DeskAction.REPLY, f"C0ESC:{CARD_TS}")
    assert event.text == "note: customer is a repeat buyer & VIP"
    assert event.event_id == "C0ESC:1718000100.001300"
    assert event.agent == Author("U0CAROL", "carol")
    await env.fake.wait_for(lambda: bool(env.fake.calls_to("reactions.add")))
    reaction = env.fake.calls_to("reactions.add")[0]
    assert (reaction["name"], reaction["timestamp"]) == ("lock", "1718000100.001300")


async def test_refused_thread_reply_is_explained_privately_and_marked(env: Env) -> None:
    env.agents.feedback = DeskFeedback("Sorry, only Frontdesk agents can do that.", ok=False)
    body = json.dumps(load("escalation_thread_reply.json"))
    await post(env.url, body, sign(body, SECRET))
    await env.connection.drain()
    (ephemeral,) = env.fake.calls_to("chat.postEphemeral")
    assert (ephemeral["user"], ephemeral["thread_ts"]) == ("U0CAROL", CARD_TS)
    assert ephemeral["text"] == "Sorry, only Frontdesk agents can do that."
    (reaction,) = env.fake.calls_to("reactions.add")  # not relayed: marked like a note
    assert (reaction["name"], reaction["timestamp"]) == ("lock", "1718000100.001300")
    assert env.fake.calls_to("chat.postMessage") == []


async def test_top_level_messages_in_the_escalation_channel_are_ignored(fake: FakeSlack) -> None:
    settings = settings_for(fake)
    connection = SlackConnection(settings)
    desk, agents, inbox = SlackDesk(connection, settings, DeskSettings()), Agents(), Inbox()
    channel = SlackChannel(connection, settings)
    await desk.start(agents)
    await channel.start(inbox)
    await connection.start()
    try:
        body = json.dumps(load("escalation_channel.json"))
        url = f"http://127.0.0.1:{connection.port}/slack/events"
        assert (await post(url, body, sign(body, SECRET)))[0] == 200
        assert agents.events == [] and inbox.messages == []
    finally:
        await connection.stop()


def command_body(fake: FakeSlack, user_id: str = "U0CAROL") -> str:
    fields = load("slash_command.json") | {"user_id": user_id, "response_url": fake.hook_url()}
    return urlencode(fields)


async def test_slash_command_is_acked_at_once_and_answered_privately(env: Env) -> None:
    env.agents.feedback = DeskFeedback("2 FAQ entries: refunds, shipping")
    env.agents.release = asyncio.Event()  # the bot is still thinking when Slack gets its ack
    body = command_body(env.fake)
    status, text = await post(env.url, body, sign(body, SECRET), FORM)
    assert (status, text) == (200, "")
    assert env.fake.hooks == []
    env.agents.release.set()
    await env.fake.wait_for(lambda: bool(env.fake.hooks))
    (event,) = env.agents.events
    assert (event.action, event.text, event.agent) == (
        DeskAction.COMMAND, "faq list", Author("U0CAROL", "carol"))  # fmt: skip
    path, answer = env.fake.hooks[0]
    assert path.startswith("/hooks/commands/")
    assert (answer["text"], answer["response_type"]) == (
        "2 FAQ entries: refunds, shipping", "ephemeral")  # fmt: skip


async def test_a_command_whose_text_says_payload_is_not_dropped(env: Env) -> None:
    # Bolt's own parser takes any form mentioning "payload" for an interactivity payload.
    fields = load("slash_command.json") | {"text": "note the payload=broken"}
    body = urlencode(fields | {"user_id": "U0CAROL", "response_url": env.fake.hook_url()})
    assert (await post(env.url, body, sign(body, SECRET), FORM))[0] == 200
    await env.connection.drain()
    assert [(e.action, e.text) for e in env.agents.events] == [
        (DeskAction.COMMAND, "note the payload=broken")]  # fmt: skip


@pytest.mark.parametrize(
    ("user_id", "group", "fails", "expected"),
    [("U0CAROL", [], False, False), ("U0ADMIN", [], False, True),
     ("U0CAROL", ["U0CAROL"], False, True), ("U0CAROL", ["U0CAROL"], True, False)],
)  # fmt: skip
async def test_admin_by_user_id_or_group(
    env: Env, user_id: str, group: list[str], fails: bool, expected: bool
) -> None:
    env.fake.usergroups["S0ADMINS"] = group
    if fails:
        env.fake.fail_next("usergroups.users.list", error="missing_scope")
    body = command_body(env.fake, user_id)
    await post(env.url, body, sign(body, SECRET), FORM)
    await env.connection.drain()
    assert [e.role is Role.ADMIN for e in env.agents.events] == [expected]
    lookups = len(env.fake.calls_to("usergroups.users.list"))
    assert lookups == (0 if user_id == "U0ADMIN" else 1)


async def test_admin_group_is_cached(env: Env) -> None:
    env.fake.usergroups["S0ADMINS"] = ["U0CAROL"]
    for _ in range(2):
        body = command_body(env.fake)
        await post(env.url, body, sign(body, SECRET), FORM)
        await env.connection.drain()
    assert [e.role is Role.ADMIN for e in env.agents.events] == [True, True]
    assert len(env.fake.calls_to("usergroups.users.list")) == 1


async def test_app_home_opened_is_a_home_event(env: Env) -> None:
    body = json.dumps(load("app_home_opened.json"))
    assert (await post(env.url, body, sign(body, SECRET)))[0] == 200
    await env.connection.drain()
    (event,) = env.agents.events
    assert (event.action, event.agent.id) == (DeskAction.HOME, "U0CAROL")


# -- customer text is printable on every desk surface ----------------------------------------------

HOSTILE = "Hi\x1b]0;pwned\x07 \x1b[31mred\x1b[0m \u202eevil\u202c\x00 <@U0ADMIN> &"


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    return [s for item in value for s in strings(item)] if isinstance(value, list) else []


def assert_printable(value: Any) -> None:
    for text in strings(value):
        assert not any(c in text for c in ("\x1b", "\x07", "\x00", "\u202e", "\u202c")), text
        assert "<@U0ADMIN>" not in text  # and still Slack-escaped: no mention of anyone


async def test_customer_text_on_cards_relays_and_home_is_printable(env: Env) -> None:
    hostile = card(summary=HOSTILE, transcript=(f"customer: {HOSTILE}",),
                   customer=Author("U0ALICE", f"Alice{HOSTILE}"), category=HOSTILE,
                   reasons=(HOSTILE,))  # fmt: skip
    ref = await env.desk.page(hostile)
    await env.desk.update(ref, dataclasses.replace(hostile, status="claimed", agent=HOSTILE))
    await env.desk.relay(ref, Author("U0ALICE", HOSTILE), HOSTILE)
    now = datetime.now(UTC)
    await env.desk.show_home("U0CAROL", HomeView((hostile,), (now,), ((HOSTILE, HOSTILE),)))
    posted, relayed = env.fake.calls_to("chat.postMessage")
    (updated,) = env.fake.calls_to("chat.update")
    (home,) = env.fake.calls_to("views.publish")
    for shown in (posted["text"], posted["blocks"], updated["text"], updated["blocks"],
                  relayed["text"], home["view"]["blocks"]):  # fmt: skip
        assert_printable(shown)
    assert strings(posted["blocks"])  # the check saw the text
    assert "red" in relayed["text"] and "&amp;" in relayed["text"]
