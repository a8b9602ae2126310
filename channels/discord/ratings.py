"""Rating buttons on Discord: the CSAT question's view, and reading a press. Pure.

Discord quirks (why the code looks like this):

- A button's ``custom_id`` (at most 100 characters) comes back with the click, even to a
  process started long after the question was posted, so it carries everything:
  ``frontdesk:csat:<rating>:<customer user id>``. One dynamic item matching every
  ``frontdesk:csat:`` id is registered in ``setup_hook``; it matches loosely on purpose, so a
  malformed id reaches our code (and is logged) instead of vanishing inside discord.py.
- Anyone who can see the message can click (a support channel is shared), so the clicker is
  compared with the customer named in the id.
- The views sent are stopped first, as the desk's are: discord.py would otherwise keep every
  question's view in memory and run it beside the dynamic item.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from channels.base import RATING_SCALE, RatingRequest

PREFIX = "frontdesk:csat:"
TEMPLATE = r"frontdesk:csat:(?P<rest>.{0,85})"
_REST = re.compile(r"(?P<rating>[1-9]):(?P<customer>[0-9]{1,20})")

Pressed = Callable[["discord.Interaction[Any]", "tuple[int, str] | None"], Awaitable[None]]


def custom_id(rating: int, customer_id: str) -> str:
    return f"{PREFIX}{rating}:{customer_id}"


def parse(rest: str) -> tuple[int, str] | None:
    """(rating, customer id) from what follows ``frontdesk:csat:``; None when malformed."""
    match = _REST.fullmatch(rest)
    if match is None or not 1 <= int(match["rating"]) <= RATING_SCALE:
        return None
    return int(match["rating"]), match["customer"]


def rating_view(request: RatingRequest, chosen: int | None = None) -> discord.ui.View:
    """One button per rating, stopped; with ``chosen`` all disabled, the chosen one green."""
    view = discord.ui.View(timeout=None)
    for n in range(1, RATING_SCALE + 1):
        style = discord.ButtonStyle.success if n == chosen else discord.ButtonStyle.secondary
        view.add_item(
            discord.ui.Button(
                label=str(n),
                style=style,
                custom_id=custom_id(n, request.customer_id),
                disabled=chosen is not None,
            )
        )
    view.stop()
    return view


def rating_button_type(on_press: Pressed) -> type[discord.ui.DynamicItem[Any]]:
    """The persistent item matching every rating button (``add_dynamic_items`` once per
    process); calls ``on_press(interaction, (rating, customer) or None when malformed)``."""

    class RatingButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=TEMPLATE):
        def __init__(self, rest: str) -> None:
            super().__init__(discord.ui.Button(label="?", custom_id=f"{PREFIX}{rest}"))
            self.parsed = parse(rest)

        @classmethod
        async def from_custom_id(
            cls,
            interaction: discord.Interaction[Any],
            item: discord.ui.Item[Any],
            match: re.Match[str],
        ) -> RatingButton:
            return cls(match["rest"])

        async def callback(self, interaction: discord.Interaction[Any]) -> None:
            await on_press(interaction, self.parsed)

    return RatingButton
