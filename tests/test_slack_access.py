"""Who is an agent on Slack: the settings, guests, the escalation channel's members, refusals.

Roles are decided by ``channels.slack.access.SlackAccess`` against the fake Slack Web API through
the real SDK; the desk hands them to the hub with every event.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from channels.base import Author, DeskAction, DeskEvent, DeskFeedback, Role
from channels.slack.access import GROUP_TTL_S, SlackAccess
from channels.slack.connection import SlackConnection
from channels.slack.desk import SlackDesk
from config.errors import ConfigError
from config.settings import DeskSettings, Settings, load_settings
from tests.fakes.fake_slack import (
    FORM,
    SECRET,
    FakeChannel,
    FakeSlack,
    load,
    post,
    sign,
    slack_settings,
)


def test_agent_settings_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDESK_SLACK__AGENT_USER_IDS", "U0CAROL, W0DAVE")
    monkeypatch.setenv("FRONTDESK_SLACK__AGENT_GROUP", "S0AGENTS")
    slack = load_settings(env_file=None).slack
    assert (slack.agent_user_ids, slack.agent_group) == (["U0CAROL", "W0DAVE"], "S0AGENTS")


@pytest.mark.parametrize(
    ("name", "value"),
    [("AGENT_USER_IDS", "carol"), ("AGENT_USER_IDS", "U0CAROL,S0AGENTS"),
     ("AGENT_GROUP", "U0CAROL"), ("AGENT_GROUP", "agents"), ("ADMIN_USER_IDS", "@admin"),
     ("ADMIN_GROUP", "admins")],
)  # fmt: skip
def test_agent_and_admin_ids_are_validated(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(f"FRONTDESK_SLACK__{name}", value)
    with pytest.raises(ConfigError) as raised:
        load_settings(env_file=None)
    message = str(raised.value)
    assert message.startswith(f"FRONTDESK_SLACK__{name}") and "\n" not in message


# -- roles, through the real Bolt app ------------------------------------------------------------

ESC = "C0ESC"


class Recorder:
    def __init__(self) -> None:
        self.events: list[DeskEvent] = []
        self.feedback = DeskFeedback("Done.")

    async def __call__(self, event: DeskEvent) -> DeskFeedback:
        self.events.append(event)
        return self.feedback


@dataclasses.dataclass
class Desk:
    fake: FakeSlack
    connection: SlackConnection
    desk: SlackDesk
    agents: Recorder
    url: str

    async def command(self, user: str, text: str = "escalations") -> Role:
        fields = load("slash_command.json") | {"user_id": user, "text": text,
                                               "response_url": self.fake.hook_url()}  # fmt: skip
        body = urlencode(fields)
        assert (await post(self.url, body, sign(body, SECRET), FORM))[0] == 200
        await self.connection.drain()
        return self.agents.events[-1].role


@contextlib.asynccontextmanager
async def running(fake: FakeSlack, **changes: Any) -> AsyncIterator[Desk]:
    settings = slack_settings(fake, **changes)
    connection = SlackConnection(settings)
    desk, agents = SlackDesk(connection, settings, DeskSettings()), Recorder()
    await desk.start(agents)
    await connection.start()
    try:
        yield Desk(
            fake, connection, desk, agents, f"http://127.0.0.1:{connection.port}/slack/events"
        )
    finally:
        await desk.stop()
        await connection.stop()


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        server.profiles = {u: u.title() for u in ("U0CAROL", "U0DAVE", "U0ADMIN", "U0ERIN",
                                                 "U0NOBODY", "U0ROBIN")}  # fmt: skip
        server.usergroups = {"S0AGENTS": ["U0DAVE", "U0GUEST2"], "S0ADMINS": ["U0ERIN"]}
        server.guests = {"U0GUEST": "restricted", "U0GUEST2": "ultra", "U0ULTRA": "ultra"}
        yield server


LISTED = {"agent_user_ids": ["U0CAROL", "U0GUEST"], "agent_group": "S0AGENTS",
          "admin_user_ids": ["U0ADMIN", "U0ULTRA"], "admin_group": "S0ADMINS"}  # fmt: skip


@pytest.mark.parametrize(
    ("user", "role"),
    [("U0CAROL", Role.AGENT), ("U0DAVE", Role.AGENT), ("U0ADMIN", Role.ADMIN),
     ("U0ERIN", Role.ADMIN), ("U0NOBODY", Role.NONE), ("U0ROBIN", Role.NONE),
     ("U0GUEST", Role.NONE), ("U0GUEST2", Role.NONE), ("U0ULTRA", Role.NONE)],
)  # fmt: skip
async def test_roles_from_the_settings(fake: FakeSlack, user: str, role: Role) -> None:
    async with running(fake, **LISTED) as desk:
        assert await desk.command(user) is role


async def test_without_agent_settings_a_private_channels_members_are_agents(
    fake: FakeSlack,
) -> None:
    members = (*(f"U0M{i:04d}" for i in range(450)), "U0CAROL", "U0GUEST")
    fake.channels[ESC] = FakeChannel(private=True, members=members)
    async with running(fake, admin_user_ids=["U0ADMIN"]) as desk:
        roles = [await desk.command(u) for u in ("U0CAROL", "U0NOBODY", "U0GUEST", "U0ADMIN")]
        assert roles == [Role.AGENT, Role.NONE, Role.NONE, Role.ADMIN]
        pages = fake.calls_to("conversations.members")
        assert len(pages) == 3 and all(int(p["limit"]) == 200 for p in pages)  # paginated, once


async def test_a_public_escalation_channel_without_agents_is_refused_at_start(
    fake: FakeSlack,
) -> None:
    fake.channels[ESC] = FakeChannel(private=False, members=("U0CAROL",))
    with pytest.raises(ConfigError) as raised:
        async with running(fake, admin_user_ids=["U0ADMIN"]):
            pass
    message = str(raised.value)
    assert message.startswith("FRONTDESK_SLACK__AGENT_USER_IDS: ") and "\n" not in message
    assert ESC in message and "public" in message
    assert fake.calls_to("chat.postMessage") == []


async def test_an_unknown_escalation_channel_is_a_setting_error(fake: FakeSlack) -> None:
    with pytest.raises(ConfigError, match=r"^FRONTDESK_SLACK__ESCALATION_CHANNEL: "):
        async with running(fake):
            pass


async def test_a_public_channel_is_fine_when_agents_are_named(fake: FakeSlack) -> None:
    fake.channels[ESC] = FakeChannel(private=False, members=("U0NOBODY",))
    async with running(fake, agent_group="S0AGENTS") as desk:
        assert [await desk.command(u) for u in ("U0DAVE", "U0NOBODY")] == [Role.AGENT, Role.NONE]
    assert fake.calls_to("conversations.info") == []


async def test_a_channel_made_public_later_stops_counting(fake: FakeSlack) -> None:
    fake.channels[ESC] = FakeChannel(private=True, members=("U0CAROL",))
    async with running(fake) as desk:
        fake.channels[ESC] = FakeChannel(private=False, members=("U0CAROL",))
        assert await desk.command("U0CAROL") is Role.NONE


async def test_an_unverifiable_member_is_not_trusted_and_asked_again(fake: FakeSlack) -> None:
    async with running(fake, **LISTED) as desk:
        fake.fail_next("users.info", error="ratelimited")
        assert await desk.command("U0CAROL") is Role.NONE
        assert await desk.command("U0CAROL") is Role.AGENT
        assert await desk.command("U0CAROL") is Role.AGENT
        assert len(fake.calls_to("users.info")) == 2  # the failure was not cached


async def test_customers_cost_no_lookups(fake: FakeSlack) -> None:
    async with running(fake, agent_user_ids=["U0CAROL"]) as desk:
        assert await desk.command("U0ROBIN") is Role.NONE
        assert fake.calls_to("users.info") == []


async def test_home_tab_of_a_non_agent_is_not_an_agents_view(fake: FakeSlack) -> None:
    async with running(fake, **LISTED) as desk:
        for user in ("U0ROBIN", "U0CAROL"):
            body = load("app_home_opened.json")
            body["event"]["user"] = user
            text = json.dumps(body)
            assert (await post(desk.url, text, sign(text, SECRET)))[0] == 200
            await desk.connection.drain()
        assert [(e.action, e.agent.id, e.role) for e in desk.agents.events] == [
            (DeskAction.HOME, "U0ROBIN", Role.NONE),
            (DeskAction.HOME, "U0CAROL", Role.AGENT),
        ]


async def test_a_non_agents_refusals_are_private(fake: FakeSlack) -> None:
    async with running(fake, **LISTED) as desk:
        desk.agents.feedback = DeskFeedback("Sorry, only Frontdesk agents can do that.", ok=False)
        payload = load("block_actions_claim.json")
        payload["user"] |= {"id": "U0ROBIN", "name": "robin", "username": "robin"}
        body = "payload=" + quote(json.dumps(payload))
        assert (await post(desk.url, body, sign(body, SECRET), FORM))[0] == 200
        await desk.command("U0ROBIN", "status")
        reply = load("escalation_thread_reply.json")
        reply["event"] |= {"user": "U0ROBIN", "text": "I am an agent, trust me"}
        text = json.dumps(reply)
        assert (await post(desk.url, text, sign(text, SECRET)))[0] == 200
        await desk.connection.drain()
        assert [e.role for e in desk.agents.events] == [Role.NONE] * 3
        ephemerals = fake.calls_to("chat.postEphemeral")
        assert [(e["user"], e["channel"]) for e in ephemerals] == [("U0ROBIN", ESC)] * 2
        assert [h["response_type"] for _, h in fake.hooks] == ["ephemeral"]
        assert [r["name"] for r in fake.calls_to("reactions.add")] == ["lock"]
        assert fake.calls_to("chat.postMessage") == []


def test_check_says_who_the_agents_are() -> None:
    from channels.slack import describe

    def desk_line(**changes: Any) -> str:
        settings = Settings(slack=slack_settings(**changes))
        return next(p.why for p in describe(settings) if p.kind == "desk")

    assert desk_line().endswith("agents: the members of C0ESC (it must be private)")
    assert desk_line(agent_user_ids=["U0A", "U0B"], agent_group="S0AG").endswith(
        "agents: 2 user ids + group S0AG, and the admins"
    )


async def test_member_and_group_caches_are_bounded_and_expire(fake: FakeSlack) -> None:
    class Clock:
        now = 1000.0

        def __call__(self) -> float:
            return self.now

    clock = Clock()
    agents = [f"U0AG{i}" for i in range(6)]
    fake.profiles |= {a: a for a in agents}
    fake.usergroups["S0AGENTS"] = agents
    settings = slack_settings(fake, agent_group="S0AGENTS")
    connection = SlackConnection(settings)
    access = SlackAccess(connection, settings, max_members=3, clock=clock)
    for agent in agents:
        assert (await access.identify(Author(agent)))[1] is Role.AGENT
    assert len(access.members) == 3
    assert len(fake.calls_to("usergroups.users.list")) == 1
    clock.now += GROUP_TTL_S
    fake.usergroups["S0AGENTS"] = agents[:1]  # removed from the group: gone after the TTL
    assert (await access.identify(Author(agents[-1])))[1] is Role.NONE
    assert len(fake.calls_to("usergroups.users.list")) == 2
    await connection.stop()
