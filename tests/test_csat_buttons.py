"""Rating buttons, the pure parts: rendering them, and reading a press from recorded Slack and
Discord payloads (a malformed one is logged and ignored)."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from channels.base import ConversationRef, RatingRequest, ReplyHints
from channels.discord.places import FORUM, Place, press_ref
from channels.discord.ratings import custom_id, parse, rating_view
from channels.slack.ratings import answered_blocks, rating_blocks, read_press
from config.settings import DiscordSettings

FIXTURES = Path(__file__).parent / "fixtures"
SLACK_PRESS = json.loads((FIXTURES / "slack" / "block_actions_rating.json").read_text())


def slack_press(**changes: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    body = copy.deepcopy(SLACK_PRESS)
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = body
        for name in parents:
            node = node[name] if not name.isdigit() else node[int(name)]
        node[leaf] = value
    return body, body["actions"][0]


def test_a_slack_press_in_a_dm() -> None:
    body, action = slack_press()
    press = read_press(body, action, "T0TEAM")
    assert press is not None and press.customer_id == "U0ROBIN"
    message = press.message
    assert message.ref == ConversationRef("slack", "D0ROBIN", None, "T0TEAM")
    assert (message.message_id, message.text, message.rating) == (
        "rating:D0ROBIN:1700000000.000009", "4", 4)  # fmt: skip
    assert message.author.id == "U0ROBIN" and message.received_at.year == 2024
    shown = answered_blocks(press)
    assert [b["type"] for b in shown] == ["section", "context"]
    assert shown[-1]["elements"][0]["text"] == "You chose 4 of 5."


def test_a_slack_press_in_a_support_thread() -> None:
    body, action = slack_press(channel__id="C0HELP", container__channel_id="C0HELP",
                               message__thread_ts="1700000000.000001")  # fmt: skip
    del body["message"]["blocks"]  # an old client's payload: the text is all there is
    press = read_press(body, action, None)
    assert press is not None
    assert press.message.ref == ConversationRef("slack", "C0HELP", "1700000000.000001", "T0TEAM")
    assert press.thread_ts == "1700000000.000001"
    assert answered_blocks(press)[0]["text"]["text"].startswith("How did we do?")


@pytest.mark.parametrize(
    "changes",
    [{"user__id": "robin"}, {"message__ts": "yesterday"}, {"container__message_ts": None,
     "message__ts": None}, {"actions__0__value": "4:robin"}, {"actions__0__value": "7:U0ROBIN"},
     {"actions__0__value": 4}, {"actions__0__action_id": "frontdesk_csat_5"},
     {"actions__0__action_ts": "soon"}, {"channel__id": "#general", "container__channel_id": None}],
)  # fmt: skip
def test_a_malformed_slack_press_is_logged_and_ignored(
    changes: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    body, action = slack_press(**changes)
    assert read_press(body, action, "T0TEAM") is None
    assert any(r.levelno == logging.WARNING and "rating click" in r.getMessage()
               for r in caplog.records)  # fmt: skip


def test_slack_buttons_under_the_text() -> None:
    blocks = rating_blocks("word " * 1000, RatingRequest("U0ROBIN"))
    sections, actions = blocks[:-1], blocks[-1]
    assert len(sections) == 2 and all(len(b["text"]["text"]) <= 3000 for b in sections)
    assert [b["action_id"] for b in actions["elements"]] == [
        f"frontdesk_csat_{n}" for n in range(1, 6)
    ]


@pytest.mark.parametrize(
    ("rest", "parsed"),
    [("4:1400000000000000001", (4, "1400000000000000001")), ("0:14", None), ("6:14", None),
     ("4:robin", None), ("4", None), ("", None), ("4:14:extra", None)],
)  # fmt: skip
def test_discord_custom_ids_are_read_strictly(rest: str, parsed: tuple[int, str] | None) -> None:
    assert parse(rest) == parsed


def test_discord_buttons_and_their_answered_look() -> None:
    asking = rating_view(RatingRequest("14"))
    ids = [item.custom_id for item in asking.children]  # type: ignore[attr-defined]
    assert ids == [custom_id(n, "14") for n in range(1, 6)]
    answered = rating_view(RatingRequest("14"), chosen=2)
    looks = [(i.disabled, i.style.name) for i in answered.children]  # type: ignore[attr-defined]
    assert looks == [(True, "secondary"), (True, "success")] + [(True, "secondary")] * 3


def test_where_a_discord_press_belongs() -> None:
    support, forum, other = "1300000000000000001", "1300000000000000002", "1300000000000000004"
    settings = DiscordSettings.model_validate(
        {"enabled": True, "bot_token": "t", "support_channel_ids": support,
         "forum_channel_ids": forum}
    )  # fmt: skip
    guild, robin = "1200000000000000001", "1400000000000000001"

    def ref(place: Place, where: DiscordSettings = settings) -> ConversationRef | None:
        return press_ref(place, guild if place.kind != "dm" else None, robin, where)

    assert ref(Place("dm", 150)) == ConversationRef("discord", "150")
    assert ref(Place("channel", int(support))) == ConversationRef(
        "discord", f"{support}:{robin}", None, guild)  # fmt: skip
    post = ref(Place("thread", 160, int(forum)))
    assert post == ConversationRef("discord", forum, "160", guild)
    assert post is not None and post.hints == ReplyHints(extra=((FORUM, "1"),))
    assert ref(Place("thread", 161, int(other))) is None  # not a channel the bot serves
    assert ref(Place("channel", int(other))) is None
    per_thread = settings.model_copy(update={"thread_per_conversation": True})
    assert ref(Place("channel", int(support)), per_thread) is None
