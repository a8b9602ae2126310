"""Rendering for the Discord desk: an escalation card as an embed with buttons. Pure.

Discord quirks (why the code looks like this):

- Buttons are addressed by ``custom_id`` (at most 100 characters) and the click comes back
  with it, even to a process started long after the card was posted. The id therefore carries
  everything: ``frontdesk:<action>:<ticket id>``. ``desk.py`` registers one dynamic item
  matching that pattern in ``setup_hook``, so every card ever posted stays clickable.
- The view sent with a card is stopped before sending: discord.py would otherwise keep every
  card's view in memory forever (``timeout=None``) and run its no-op buttons beside the
  dynamic item on each click.
- Embed limits: title 256, description 4,096, field value 1,024, 25 fields, 6,000 in all.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from channels.base import DeskAction, EscalationCard
from channels.text import card_status, readable_reason
from config.errors import ChannelError
from config.settings import DeskSettings

Clicked = Callable[["discord.Interaction[Any]", DeskAction, str], Awaitable[None]]

ACTIONS = {
    "claim": DeskAction.CLAIM,
    "resolve": DeskAction.RESOLVE,
    "handback": DeskAction.HAND_BACK,
}
CUSTOM_ID = r"frontdesk:(?P<action>claim|resolve|handback):(?P<ticket>[A-Za-z0-9_.-]{1,80})"
_CUSTOM_ID = re.compile(CUSTOM_ID)
_LABELS = {"claim": "Claim", "resolve": "Resolve", "handback": "Hand back to bot"}
_STYLES = {
    "claim": discord.ButtonStyle.primary,
    "resolve": discord.ButtonStyle.success,
    "handback": discord.ButtonStyle.secondary,
}
_BUTTONS = {"escalated": ("claim", "resolve", "handback"), "claimed": ("resolve", "handback")}
_COLOURS = {
    "escalated": 0xE67E22,
    "claimed": 0x3498DB,
    "resolved": 0x2ECC71,
    "handed_back": 0x95A5A6,
}
_URGENT = 0xE74C3C
_TRANSCRIPT_LINES = 6
_FIELD_CHARS = 1024


def custom_id(action: str, ticket_id: str) -> str:
    return f"frontdesk:{action}:{ticket_id}"


def parse_custom_id(value: str) -> tuple[DeskAction, str] | None:
    match = _CUSTOM_ID.fullmatch(value)
    if match is None:
        return None
    return ACTIONS[match["action"]], match["ticket"]


def desk_ref(channel_id: int | str, message_id: int | str) -> str:
    """A card's address: its channel and message. Its thread has the message's id."""
    return f"{channel_id}:{message_id}"


def split_ref(ref: str) -> tuple[int, int]:
    channel, _, message = ref.partition(":")
    if not channel.isdigit() or not message.isdigit():
        raise ChannelError(f"not a Discord desk reference: {ref!r}")
    return int(channel), int(message)


def card_embed(card: EscalationCard, desk: DeskSettings) -> discord.Embed:
    urgency = card.urgency or "normal"
    colour = _URGENT if card.status == "escalated" and urgency == "urgent" else None
    embed = discord.Embed(
        title=_short(f"🆘 {card.ticket_id} · {urgency}", 256),
        description=_short(_md(card.summary), 4096),
        colour=colour or _COLOURS.get(card.status, 0x95A5A6),
    )
    if (status := status_line(card)) is not None:
        embed.add_field(name="Status", value=status, inline=False)
    origin = card.origin.channel
    embed.add_field(name="Customer", value=_field(card.customer.display_name or card.customer.id))
    embed.add_field(
        name="From", value=f"[{origin}]({card.origin_link})" if card.origin_link else origin
    )
    embed.add_field(name="Category", value=_field(card.category or "–"))
    embed.add_field(name="Urgency", value=urgency)
    sentiment = f"{card.sentiment:+.2f}" if card.sentiment is not None else "–"
    embed.add_field(name="Sentiment", value=sentiment)
    reasons = "\n".join(f"• {readable_reason(r)}" for r in card.reasons) or "–"
    embed.add_field(name="Why", value=_field(reasons), inline=False)
    if card.transcript:
        lines = "\n".join(_short(line, 200) for line in card.transcript[-_TRANSCRIPT_LINES:])
        embed.add_field(name="Conversation", value=_field(lines), inline=False)
    if card.status in _BUTTONS:
        embed.set_footer(
            text=f"Claim, then reply in this card's thread. Start a reply with "
            f"{desk.internal_prefix!r} to keep it internal."
        )
    return embed


def card_view(card: EscalationCard) -> discord.ui.View | None:
    """The buttons for the card's status (None: no buttons any more), already stopped."""
    actions = _BUTTONS.get(card.status)
    if not actions:
        return None
    view = discord.ui.View(timeout=None)
    for action in actions:
        view.add_item(
            discord.ui.Button(
                label=_LABELS[action],
                style=_STYLES[action],
                custom_id=custom_id(action, card.ticket_id),
            )
        )
    view.stop()
    return view


def button(action: str, ticket_id: str) -> discord.ui.Button[discord.ui.View]:
    return discord.ui.Button(
        label=_LABELS[action], style=_STYLES[action], custom_id=custom_id(action, ticket_id)
    )


def status_line(card: EscalationCard) -> str | None:
    return card_status(card, _who)


def card_text(card: EscalationCard) -> str:
    """A one-line summary (notifications show it; embeds are not in push notifications)."""
    return _short(
        f"🆘 {card.ticket_id} · {status_line(card) or card.urgency or 'normal'}: {card.summary}",
        300,
    )


def _who(agent: str | None) -> str:
    if agent is None:
        return "someone"
    return f"<@{agent}>" if agent.isdigit() else _md(agent)


def _md(text: str) -> str:
    return discord.utils.escape_markdown(discord.utils.escape_mentions(text))


def _field(text: str) -> str:
    return _short(_md(text), _FIELD_CHARS)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def card_button_type(on_click: Clicked) -> type[discord.ui.DynamicItem[Any]]:
    """The persistent item that matches every card button's ``custom_id`` (registered once per
    process with ``add_dynamic_items``) and calls ``on_click(interaction, action, ticket)``."""

    class CardButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=CUSTOM_ID):
        def __init__(self, action: str, ticket_id: str) -> None:
            super().__init__(button(action, ticket_id))
            self.action, self.ticket_id = ACTIONS[action], ticket_id

        @classmethod
        async def from_custom_id(
            cls,
            interaction: discord.Interaction[Any],
            item: discord.ui.Item[Any],
            match: re.Match[str],
        ) -> CardButton:
            return cls(match["action"], match["ticket"])

        async def callback(self, interaction: discord.Interaction[Any]) -> None:
            await on_click(interaction, self.action, self.ticket_id)

    return CardButton
