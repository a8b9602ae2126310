"""Block Kit rendering for the Slack desk: escalation cards and the App Home tab.

Pure functions of a card or a home view; ``channels/slack/desk.py`` posts what they return.
Notifications show a message's ``text``, not its blocks, so ``card_text`` is always sent too.
Text that came from a customer (or any text not ours) goes through ``shown``: control and escape
characters neutralised (``channels.text.printable``), then Slack-escaped, so it can neither
mention anyone, form a link, nor change how the agent's client shows the rest.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from channels.base import DeskAction, EscalationCard, HomeView
from channels.slack.customers import escape
from channels.text import card_status, duration, printable, readable_reason
from config.errors import ChannelError
from config.settings import DeskSettings

ACTIONS = {
    "frontdesk_claim": DeskAction.CLAIM,
    "frontdesk_resolve": DeskAction.RESOLVE,
    "frontdesk_handback": DeskAction.HAND_BACK,
}
_LABELS = {"frontdesk_claim": "Claim", "frontdesk_resolve": "Resolve",
           "frontdesk_handback": "Hand back to bot"}  # fmt: skip
_BUTTONS = {"escalated": tuple(ACTIONS), "claimed": ("frontdesk_resolve", "frontdesk_handback")}
_TRANSCRIPT_LINES = 6
_LINE_CHARS = 200
_HOME_TICKETS = 40  # a home tab holds at most 100 blocks
_SLACK_USER = re.compile(r"[UW][A-Z0-9]{6,}")


def shown(text: str) -> str:
    return escape(printable(text))


def desk_ref(channel: str, ts: str) -> str:
    return f"{channel}:{ts}"


def split_ref(ref: str) -> tuple[str, str]:
    channel, _, ts = ref.partition(":")
    if not channel or not ts:
        raise ChannelError(f"not a Slack desk reference: {ref!r}")
    return channel, ts


# -- rendering (pure) -------------------------------------------------------------------------


def card_blocks(card: EscalationCard, desk: DeskSettings) -> list[dict[str, Any]]:
    urgency = card.urgency or "normal"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(f"🆘 {card.ticket_id} · {urgency}")}
    ]
    if (status := status_line(card)) is not None:
        blocks.append(_section(f"*{status}*"))
    blocks.append({"type": "section", "fields": [_md(f"*{k}*\n{v}") for k, v in _facts(card)]})
    reasons = "\n".join(f"• {shown(readable_reason(r))}" for r in card.reasons) or "–"
    blocks += [_section(f"*Why*\n{reasons}"), _section(f"*Summary*\n{shown(card.summary)}")]
    if card.transcript:
        lines = [_md(shown(_short(line))) for line in card.transcript[-_TRANSCRIPT_LINES:]]
        blocks.append({"type": "context", "elements": lines})
    if card.status in _BUTTONS:
        hint = f"Claim, then reply in this thread; `{desk.internal_prefix}` keeps a reply internal."
        buttons = [_button(action_id, card.ticket_id) for action_id in _BUTTONS[card.status]]
        blocks.append({"type": "context", "elements": [_md(escape(hint))]})
        blocks.append({"type": "actions", "block_id": "frontdesk", "elements": buttons})
    return blocks


def status_line(card: EscalationCard) -> str | None:
    return card_status(card, _who)


def card_text(card: EscalationCard, mentions: str = "") -> str:
    """The notification text (blocks are not shown in notifications)."""
    summary = f"{card.urgency or 'normal'}: {shown(_short(card.summary, 150))}"
    return f"{mentions}🆘 {card.ticket_id} · {status_line(card) or summary}"


def home_blocks(view: HomeView, desk: DeskSettings, now: datetime) -> list[dict[str, Any]]:
    tickets = view.open_tickets
    sla = {str(urgency): minutes * 60 for urgency, minutes in desk.sla_minutes.items()}
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(f"Open tickets ({len(tickets)})")}
    ]
    for card, created in list(zip(tickets, view.created_at, strict=False))[:_HOME_TICKETS]:
        age = (now - created).total_seconds()
        urgency = card.urgency or "normal"
        late = " · ⚠ over SLA" if age > sla.get(urgency, float("inf")) else ""
        line = f"*{card.ticket_id}* · {card.status} · {urgency} · {duration(age)}{late}"
        blocks.append(_section(f"{line}\n{shown(_short(card.summary, 300))}"))
    if len(tickets) > _HOME_TICKETS:
        blocks.append(
            {"type": "context", "elements": [_md(f"…and {len(tickets) - _HOME_TICKETS} more")]}
        )
    if not tickets:
        blocks.append(_section("No open tickets."))
    blocks += [{"type": "divider"}, {"type": "header", "text": _plain("Today")}]
    stats = [_md(f"*{shown(label)}*\n{shown(value)}") for label, value in view.stats]
    blocks += [{"type": "section", "fields": stats[i : i + 10]} for i in range(0, len(stats), 10)]
    return blocks


def neutral_home() -> list[dict[str, Any]]:
    """What everyone who is not an agent sees on the Home tab."""
    text = "Hi! Send me a message here and I will help, or bring in a teammate when needed."
    return [{"type": "header", "text": _plain("Frontdesk")}, _section(text)]


def _facts(card: EscalationCard) -> list[tuple[str, str]]:
    origin = card.origin.channel
    sentiment = f"{card.sentiment:+.2f}" if card.sentiment is not None else "–"
    return [
        ("Customer", shown(card.customer.display_name or card.customer.id)),
        ("From", f"<{card.origin_link}|{shown(origin)}>" if card.origin_link else shown(origin)),
        ("Category", shown(card.category or "–")),
        ("Urgency", card.urgency or "normal"),
        ("Sentiment", sentiment),
    ]


def _button(action_id: str, ticket_id: str) -> dict[str, Any]:
    button = {"type": "button", "action_id": action_id, "value": ticket_id,
              "text": _plain(_LABELS[action_id])}  # fmt: skip
    if action_id == "frontdesk_claim":
        button["style"] = "primary"
    return button


def _who(agent: str | None) -> str:
    if agent is None:
        return "someone"
    return f"<@{agent}>" if _SLACK_USER.fullmatch(agent) else shown(agent)


def _short(text: str, limit: int = _LINE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": _short(text, 150), "emoji": True}


def _md(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": _short(text, 2000)}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _md(text)}
