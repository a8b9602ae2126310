"""Who is an agent on Slack: the settings, guests, the escalation channel's members, refusals.

Roles are decided by ``channels.slack.access.SlackAccess`` against the fake Slack Web API through
the real SDK; the desk hands them to the hub with every event.
"""

from __future__ import annotations

import pytest

from config.errors import ConfigError
from config.settings import load_settings


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
