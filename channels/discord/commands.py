"""``/frontdesk`` as a Discord application command, with the same subcommands as Slack's.

Slack's command is free text (``/frontdesk faq add "q" "a"``); Discord's are typed
subcommands with options, so each one is turned back into that text (quoted like a shell
would, which is how the admin commands parse it) and handled by the same code.
"""

from __future__ import annotations

import shlex
from collections.abc import Awaitable, Callable
from typing import Literal

import discord
from discord import app_commands

Runner = Callable[["discord.Interaction[discord.Client]", str], Awaitable[None]]


def frontdesk_command(run: Runner) -> app_commands.Group:
    """The ``/frontdesk`` group; every subcommand calls ``run(interaction, text)``."""
    root = app_commands.Group(
        name="frontdesk", description="Frontdesk: tickets, stats, FAQ", guild_only=True
    )
    faq = app_commands.Group(name="faq", description="The bot's FAQ answers", parent=root)
    provider = app_commands.Group(name="provider", description="LLM providers", parent=root)

    @root.command(name="help", description="What the commands do")
    async def help_(interaction: discord.Interaction[discord.Client]) -> None:
        await run(interaction, "help")

    @root.command(name="status", description="Channels, providers, queue depth, store")
    async def status(interaction: discord.Interaction[discord.Client]) -> None:
        await run(interaction, "status")

    @root.command(name="stats", description="What the bot did")
    async def stats(
        interaction: discord.Interaction[discord.Client], period: Literal["today", "7d"] = "today"
    ) -> None:
        await run(interaction, f"stats {period}")

    @root.command(name="escalations", description="Open tickets, oldest first")
    async def escalations(interaction: discord.Interaction[discord.Client]) -> None:
        await run(interaction, "escalations")

    @root.command(name="digest", description="Post the daily digest now")
    async def digest(interaction: discord.Interaction[discord.Client]) -> None:
        await run(interaction, "digest")

    @root.command(name="pause", description="Send every message of a channel to a person (admins)")
    @app_commands.describe(channel="discord, slack, email or terminal")
    async def pause(interaction: discord.Interaction[discord.Client], channel: str) -> None:
        await run(interaction, shlex.join(["pause", channel]))

    @root.command(name="resume", description="Let the bot answer a paused channel again (admins)")
    @app_commands.describe(channel="discord, slack, email or terminal")
    async def resume(interaction: discord.Interaction[discord.Client], channel: str) -> None:
        await run(interaction, shlex.join(["resume", channel]))

    @faq.command(name="list", description="The FAQ entries added here")
    async def faq_list(interaction: discord.Interaction[discord.Client]) -> None:
        await run(interaction, "faq list")

    @faq.command(name="add", description="Add a question and its answer (admins)")
    async def faq_add(
        interaction: discord.Interaction[discord.Client], question: str, answer: str
    ) -> None:
        await run(interaction, shlex.join(["faq", "add", question, answer]))

    @faq.command(name="remove", description="Remove an FAQ entry by id (admins)")
    async def faq_remove(interaction: discord.Interaction[discord.Client], entry: str) -> None:
        await run(interaction, shlex.join(["faq", "remove", entry]))

    @provider.command(name="disable", description="Stop using an LLM provider (admins)")
    async def disable(interaction: discord.Interaction[discord.Client], name: str) -> None:
        await run(interaction, shlex.join(["provider", "disable", name]))

    @provider.command(name="enable", description="Use an LLM provider again (admins)")
    async def enable(interaction: discord.Interaction[discord.Client], name: str) -> None:
        await run(interaction, shlex.join(["provider", "enable", name]))

    return root
