"""Pure Discord translation on recorded MESSAGE_CREATE payloads (``tests/fixtures/discord``):
``to_inbound`` and ``desk_reply``, parsed by discord.py's own ``Message`` with no connection;
message splitting; the settings' validation; what ``frontdesk check`` says.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import discord
import pytest

from channels.base import Role
from channels.discord import describe
from channels.discord.customers import FORUM, OPEN_THREAD, Place, to_inbound
from channels.discord.desk import role_of
from channels.discord.embeds import parse_custom_id
from channels.discord.text import MAX_CHARS, split_message
from config.errors import ConfigError
from config.settings import DiscordSettings, load_settings

FIXTURES = Path(__file__).parent / "fixtures" / "discord"
BOT_ID = 1100000000000000001
SUPPORT, FORUM_ID, GUILD = "1300000000000000001", "1300000000000000002", "1200000000000000001"
SETTINGS = DiscordSettings(support_channel_ids=[SUPPORT], forum_channel_ids=[FORUM_ID])
IN_SUPPORT = Place("channel", int(SUPPORT), guild_id=int(GUILD))
DM = Place("dm", 1500000000000000001)


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def parse(name: str) -> discord.Message:
    """The payload as discord.py parses it off the gateway (a client that never connects)."""
    data = load(name)
    client = discord.Client(intents=discord.Intents.none())
    kind = discord.ChannelType.text if data.get("guild_id") else discord.ChannelType.private
    channel = client.get_partial_messageable(
        int(data["channel_id"]), type=kind, guild_id=int(data.get("guild_id") or 0) or None
    )
    state = client._connection
    return discord.Message(state=state, channel=channel, data=data)  # type: ignore[arg-type]


def test_guild_message_is_one_conversation_per_customer_per_channel() -> None:
    message = to_inbound(parse("guild_message.json"), IN_SUPPORT, BOT_ID, SETTINGS)
    assert message is not None
    assert message.ref.conversation_id == f"{SUPPORT}:1400000000000000001"
    assert message.ref.thread_id is None and message.ref.workspace_id == GUILD
    assert message.message_id == "1312001000000000001" == message.ref.hints.reply_to
    assert message.idempotency_key == f"discord:{GUILD}:1312001000000000001"
    assert message.text == "Hi! How long do refunds take?"
    assert message.author.id == "1400000000000000001" and message.author.display_name == "Robin"
    assert message.received_at == discord.utils.snowflake_time(1312001000000000001)


def test_the_bots_mention_is_removed_and_replies_count() -> None:
    mention = to_inbound(parse("guild_mention.json"), IN_SUPPORT, BOT_ID, SETTINGS)
    assert mention is not None and mention.text == "where is my order 4411?"
    reply = to_inbound(parse("guild_reply.json"), IN_SUPPORT, BOT_ID, SETTINGS)
    assert reply is not None and reply.text == "still nothing arrived"


def test_only_support_channels_are_answered() -> None:
    elsewhere = Place("channel", 1300000000000000004)
    assert to_inbound(parse("guild_message.json"), elsewhere, BOT_ID, SETTINGS) is None
    unknown = Place("unknown", int(SUPPORT))
    assert to_inbound(parse("guild_message.json"), unknown, BOT_ID, SETTINGS) is None


def test_dm_is_the_conversation_unless_dms_are_off() -> None:
    message = to_inbound(parse("dm_message.json"), DM, BOT_ID, SETTINGS)
    assert message is not None and message.ref.conversation_id == "1500000000000000001"
    assert message.ref.workspace_id is None and message.ref.thread_id is None
    off = SETTINGS.model_copy(update={"answer_direct_messages": False})
    assert to_inbound(parse("dm_message.json"), DM, BOT_ID, off) is None


def test_forum_post_is_its_own_conversation_with_attachments_in_words() -> None:
    post = Place("thread", 1312001000000000005, int(FORUM_ID))
    message = to_inbound(parse("forum_starter.json"), post, BOT_ID, SETTINGS)
    assert message is not None
    assert (message.ref.conversation_id, message.ref.thread_id) == (FORUM_ID, "1312001000000000005")
    assert message.ref.hints.get(FORUM) == "1"
    assert message.text.endswith("[attachment: charge.png (47 KB, image/png)]")
    [attachment] = message.attachments
    assert (attachment.name, attachment.size, attachment.content_type) == (
        "charge.png",
        48213,
        "image/png",
    )
    assert attachment.url is None  # CDN links expire: never kept
    assert "cdn.discordapp.com" not in message.to_json()


def test_threads_of_support_channels_only() -> None:
    thread = Place("thread", 1312001000000000050, int(SUPPORT))
    message = to_inbound(parse("thread_message.json"), thread, BOT_ID, SETTINGS)
    assert message is not None and message.ref.thread_id == "1312001000000000050"
    assert message.ref.conversation_id == SUPPORT and message.ref.hints.get(FORUM) is None
    foreign = Place("thread", 1312001000000000050, 1300000000000000004)
    assert to_inbound(parse("thread_message.json"), foreign, BOT_ID, SETTINGS) is None


def test_thread_per_conversation_names_the_thread_to_open() -> None:
    settings = SETTINGS.model_copy(update={"thread_per_conversation": True})
    message = to_inbound(parse("guild_message.json"), IN_SUPPORT, BOT_ID, settings)
    assert message is not None and message.ref.thread_id == "1312001000000000001"
    assert message.ref.conversation_id == SUPPORT and message.ref.hints.get(OPEN_THREAD) == "1"


def test_a_file_without_words_still_reaches_someone() -> None:
    message = to_inbound(parse("attachment_only.json"), DM, BOT_ID, SETTINGS)
    assert message is not None
    assert message.text == "[attachment: broken-lamp.jpg (2.1 MB, image/jpeg)]"


@pytest.mark.parametrize(
    "name", ["other_bot.json", "webhook_message.json", "member_join.json", "pin_notice.json"]
)
def test_bots_webhooks_and_system_messages_are_ignored(name: str) -> None:
    assert to_inbound(parse(name), IN_SUPPORT, BOT_ID, SETTINGS) is None


def test_our_own_message_is_ignored() -> None:
    own = parse("guild_message.json")
    assert to_inbound(own, IN_SUPPORT, own.author.id, SETTINGS) is None


def test_roles_decide_the_desk_role() -> None:
    settings = DiscordSettings(
        staff_role_ids=["1250000000000000001"], admin_role_ids=["1250000000000000002"]
    )
    assert role_of([1250000000000000001], settings) is Role.AGENT
    assert role_of([1250000000000000001, 1250000000000000002], settings) is Role.ADMIN
    assert role_of([1250000000000000009], settings) is Role.NONE
    assert role_of([], settings) is Role.NONE


def test_custom_ids_round_trip() -> None:
    assert parse_custom_id("frontdesk:claim:T-00042") == ("claim", "T-00042")
    assert parse_custom_id("frontdesk:handback:T-1") == ("hand_back", "T-1")
    assert parse_custom_id("frontdesk:delete:T-1") is None
    assert parse_custom_id("someone-else:claim:T-1") is None


# -- splitting --------------------------------------------------------------------------------


def test_3500_characters_become_two_messages_at_a_paragraph() -> None:
    paragraph = "Refunds go back to the card you paid with. " * 10
    text = "\n\n".join([paragraph.strip()] * 8)
    parts = split_message(text)
    assert len(parts) == 2 and all(len(p) <= MAX_CHARS for p in parts)
    assert all(p.endswith(".") for p in parts)  # whole sentences
    assert " ".join(parts).replace("\n", " ").split() == text.replace("\n", " ").split()


def test_never_inside_a_code_block_or_a_link() -> None:
    code = "```python\n" + "print('hello')\n" * 40 + "```"
    link = "[the returns form](https://example.com/returns/" + "x" * 80 + ")"
    text = "Intro. " * 200 + "\n" + code + "\nSee " + link + " for more. " + "Outro. " * 100
    parts = split_message(text)
    assert all(len(p) <= MAX_CHARS for p in parts)
    assert all(p.count("```") % 2 == 0 for p in parts)
    assert any(code in p for p in parts) and any(link in p for p in parts)


def test_a_code_block_longer_than_a_message_is_closed_and_reopened() -> None:
    code = "```json\n" + '{"line": 1234567890}\n' * 200 + "```"
    parts = split_message(code)
    assert len(parts) >= 3 and all(len(p) <= MAX_CHARS for p in parts)
    assert all(p.startswith("```json\n") and p.endswith("```") for p in parts)


def test_text_without_any_boundary_is_cut_hard() -> None:
    parts = split_message("x" * 4500)
    assert [len(p) for p in parts] == [2000, 2000, 500]


# -- settings and check ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"SUPPORT_CHANNEL_IDS": "1300000000000000001,#support"},
            "SUPPORT_CHANNEL_IDS: '#support'",
        ),
        ({"FORUM_CHANNEL_IDS": "help-forum"}, "FORUM_CHANNEL_IDS: 'help-forum' is not a numeric"),
        ({"STAFF_ROLE_IDS": "@staff"}, "STAFF_ROLE_IDS: '@staff'"),
        ({"ADMIN_ROLE_IDS": "12"}, "ADMIN_ROLE_IDS: '12'"),
        ({"DESK_CHANNEL_ID": "1300000000000000003"}, "STAFF_ROLE_IDS: required when"),
        (
            {
                "DESK_CHANNEL_ID": "1300000000000000001",
                "STAFF_ROLE_IDS": "1250000000000000001",
                "SUPPORT_CHANNEL_IDS": "1300000000000000001",
            },
            "DESK_CHANNEL_ID: also a support",
        ),
        ({"ENABLED": "true"}, "BOT_TOKEN: required"),
        ({"GATEWAY_URL": "http://127.0.0.1/"}, "GATEWAY_URL: must be a ws://"),
        ({"API_BASE_URL": "discord.com/api/v10"}, "API_BASE_URL: must be an http"),
    ],
)
def test_invalid_settings_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(f"FRONTDESK_DISCORD__{key}", value)
    with pytest.raises(ConfigError, match=re.escape(f"FRONTDESK_DISCORD__{message}")):
        load_settings(env_file=None)


def test_valid_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "ENABLED": "true",
        "BOT_TOKEN": "secret-token",
        "SUPPORT_CHANNEL_IDS": "1300000000000000001, 1300000000000000005",
        "DESK_CHANNEL_ID": "1300000000000000003",
        "STAFF_ROLE_IDS": "1250000000000000001",
    }.items():
        monkeypatch.setenv(f"FRONTDESK_DISCORD__{key}", value)
    settings = load_settings(env_file=None)
    assert settings.discord.support_channel_ids == ["1300000000000000001", "1300000000000000005"]
    assert settings.discord.desk_channel_id == "1300000000000000003"
    assert "secret-token" not in repr(settings)
    parts = {(p.kind, p.name): p for p in describe(settings.discord)}
    channel = parts["channel", "discord"]
    assert channel.enabled
    assert channel.why == "support channels 1300000000000000001, 1300000000000000005; DMs"
    assert parts["desk", "discord"].enabled
    assert "staff roles 1250000000000000001; admin roles none" in parts["desk", "discord"].why


def test_check_says_why_discord_is_off() -> None:
    [part] = describe(DiscordSettings())
    assert not part.enabled and part.why == "FRONTDESK_DISCORD__ENABLED is not true"
