"""Rating buttons on Slack (Block Kit): rendering the question, reading a press. Pure.

Slack quirks (why the code looks like this):

- A message with ``blocks`` shows the blocks, not ``text`` (which is only for notifications),
  so the question's text goes in section blocks (3,000 characters each) above the buttons.
- A click comes back as a ``block_actions`` payload carrying the message it was on (``ts``,
  ``thread_ts``, its text and blocks) and the button's ``value``: our own, from the message we
  posted (the request is signed), so the value names the customer who may answer:
  ``<rating>:<customer user id>``. Anyone who sees the message can click it, so the channel
  compares the clicker with that customer.
- A press gets the message id ``rating:<channel>:<message ts>``: one answer per question, so
  a second (racing) click on the same buttons is a duplicate for the dispatcher, and the
  clicker is told privately instead.
- Payload fields are checked (``channels.slack.ids``) before use; a malformed one is logged and
  the click ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from channels.base import RATING_SCALE, Author, ConversationRef, InboundMessage, RatingRequest
from channels.slack.ids import USER, malformed, shown
from channels.text import split_text

log = logging.getLogger(__name__)

ACTION_PREFIX = "frontdesk_csat_"
BLOCK_ID = "frontdesk_csat"
SECTION_CHARS = 3000


@dataclass(frozen=True, slots=True)
class Press:
    """A rating button click: the answer it carries, and what the channel needs to reply."""

    message: InboundMessage
    customer_id: str  # the only person whose press counts
    channel: str
    message_ts: str
    thread_ts: str | None
    shown: tuple[dict[str, Any], ...]  # the message's blocks without its buttons
    text: str  # the message's notification text, as it was posted


def rating_blocks(text: str, request: RatingRequest) -> list[dict[str, Any]]:
    """``text`` (already escaped) in sections, then one button per rating."""
    sections = [
        {"type": "section", "text": {"type": "mrkdwn", "text": part}}
        for part in split_text(text, SECTION_CHARS)
    ]
    buttons = [
        {
            "type": "button",
            "action_id": f"{ACTION_PREFIX}{n}",
            "text": {"type": "plain_text", "text": str(n)},
            "value": f"{n}:{request.customer_id}",
        }
        for n in range(1, RATING_SCALE + 1)
    ]
    return [*sections, {"type": "actions", "block_id": BLOCK_ID, "elements": buttons}]


def answered_blocks(press: Press) -> list[dict[str, Any]]:
    """The question without its buttons, and a line saying what was chosen."""
    chosen = f"You chose {press.message.text} of {RATING_SCALE}."
    note = {"type": "context", "elements": [{"type": "mrkdwn", "text": chosen}]}
    return [*press.shown, note]


def read_press(
    body: Mapping[str, Any], action: Mapping[str, Any], team_id: str | None
) -> Press | None:
    """The press in a ``block_actions`` payload, or None (logged) when it is malformed."""
    user, container, message = (
        _obj(body.get("user")),
        _obj(body.get("container")),
        _obj(body.get("message")),
    )
    channel = _obj(body.get("channel")).get("id") or container.get("channel_id")
    ids = {
        "user": user.get("id"),
        "channel": channel,
        "message_ts": message.get("ts") or container.get("message_ts"),
        "thread_ts": message.get("thread_ts") or container.get("thread_ts"),
        "ts": action.get("action_ts"),
    }
    if (bad := malformed(ids, ("user", "channel", "message_ts"))) is not None:
        log.warning("slack: rating click with a malformed %s (%s) ignored", bad, shown(ids[bad]))
        return None
    parsed = _value(action)
    if parsed is None:
        log.warning("slack: rating click with a malformed value (%s) ignored",
                    shown(action.get("value")))  # fmt: skip
        return None
    rating, customer = parsed
    channel, ts, thread = str(channel), str(ids["message_ts"]), ids["thread_ts"]
    when = datetime.fromtimestamp(float(ids["ts"]), UTC) if ids["ts"] else datetime.now(UTC)
    ref = ConversationRef(
        channel="slack",
        conversation_id=channel,
        thread_id=str(thread) if thread else None,  # a DM is one chat; a channel, threads
        workspace_id=team_id or _obj(body.get("team")).get("id"),
    )
    name = user.get("name") or user.get("username")
    inbound = InboundMessage(
        ref=ref,
        message_id=f"rating:{channel}:{ts}",
        author=Author(id=str(user["id"]), display_name=str(name) if name else None),
        text=str(rating),
        received_at=when,
        rating=rating,
    )
    return Press(inbound, customer, channel, ts, str(thread) if thread else None,
                 _without_buttons(message), str(message.get("text") or ""))  # fmt: skip


def _value(action: Mapping[str, Any]) -> tuple[int, str] | None:
    action_id, value = action.get("action_id"), action.get("value")
    if not isinstance(action_id, str) or not isinstance(value, str):
        return None
    rating, _, customer = value.partition(":")
    if not rating.isdigit() or not 1 <= int(rating) <= RATING_SCALE or not USER.fullmatch(customer):
        return None
    if action_id != f"{ACTION_PREFIX}{rating}":
        return None
    return int(rating), customer


def _without_buttons(message: Mapping[str, Any]) -> tuple[dict[str, Any], ...]:
    blocks: Sequence[Any] = message.get("blocks") or ()
    kept = [b for b in blocks if isinstance(b, dict) and b.get("type") != "actions"]
    if kept:
        return tuple(kept)
    text = str(message.get("text") or "")
    return tuple(
        {"type": "section", "text": {"type": "mrkdwn", "text": part}}
        for part in split_text(text, SECTION_CHARS)
    )


def _obj(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
