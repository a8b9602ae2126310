"""What the fake Discord sends and serves: ids, users, the guild, channels and threads, and
the gateway payloads tests dispatch (messages, clicks, slash commands), in Discord's shapes."""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

TOKEN = "fake-discord-token"
EPOCH_MS = 1420070400000
BOT = {
    "id": "1100000000000000001",
    "username": "frontdesk",
    "discriminator": "0",
    "global_name": "Frontdesk",
    "avatar": None,
    "bot": True,
}
APP_ID = BOT["id"]
GUILD = "1200000000000000001"
SUPPORT = "1300000000000000001"
FORUM = "1300000000000000002"
DESK = "1300000000000000003"
ELSEWHERE = "1300000000000000004"  # a text channel the bot does not serve
STAFF_ROLE = "1250000000000000001"
ADMIN_ROLE = "1250000000000000002"
TAGS = {"billing": "1260000000000000001", "shipping": "1260000000000000002"}


def user(n: int, name: str, bot: bool = False) -> dict[str, Any]:
    return {
        "id": f"14000000000000000{n:02d}",
        "username": name.lower(),
        "discriminator": "0",
        "global_name": name,
        "avatar": None,
        "bot": bot,
    }


ROBIN = user(1, "Robin")  # a customer
ALICE = user(2, "Alice")  # staff
BOB = user(3, "Bob")  # staff
CAROL = user(4, "Carol")  # admin
MALLORY = user(5, "Mallory")  # a member without a staff role
OTHER_BOT = user(6, "Otherbot", bot=True)
ROLES = {ALICE["id"]: [STAFF_ROLE], BOB["id"]: [STAFF_ROLE], CAROL["id"]: [ADMIN_ROLE]}
MEMBERS = (BOT, ROBIN, ALICE, BOB, CAROL, MALLORY)  # the server's members


def iso(ts: float | None = None) -> str:
    return datetime.fromtimestamp(time.time() if ts is None else ts, UTC).isoformat()


_counter = itertools.count(1)


def snowflake() -> str:
    return str(((int(time.time() * 1000) - EPOCH_MS) << 22) | (next(_counter) % 4096))


class Payloads:
    """Payload builders; mixed into ``FakeDiscord``, which owns the state they read."""

    threads: dict[str, dict[str, Any]]
    last_ids: dict[str, str]
    commands: list[dict[str, Any]]
    sent: list[dict[str, Any]]
    edits: list[dict[str, Any]]

    def guild(self) -> dict[str, Any]:
        def role(rid: str, name: str, position: int) -> dict[str, Any]:
            return {
                "id": rid,
                "name": name,
                "permissions": "1071698660929",
                "position": position,
                "color": 0,
                "hoist": False,
                "managed": False,
                "mentionable": False,
                "flags": 0,
            }

        members = [self.member(u) for u in MEMBERS]
        return {
            "id": GUILD,
            "name": "Larkspur",
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": CAROL["id"],
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "features": [],
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "public_updates_channel_id": None,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "roles": [
                role(GUILD, "@everyone", 0),
                role(STAFF_ROLE, "staff", 1),
                role(ADMIN_ROLE, "admin", 2),
            ],
            "emojis": [],
            "stickers": [],
            "large": False,
            "member_count": len(members),
            "unavailable": False,
            "joined_at": iso(),
            "voice_states": [],
            "presences": [],
            "threads": list(self.threads.values()),
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "members": members,
            "channels": [self.channel(c) for c in (SUPPORT, FORUM, DESK, ELSEWHERE)],
        }

    def channel(self, channel_id: str) -> dict[str, Any] | None:
        if channel_id in self.threads:
            return self.threads[channel_id]
        names = {
            SUPPORT: "support",
            FORUM: "help-forum",
            DESK: "frontdesk-staff",
            ELSEWHERE: "general",
        }
        if channel_id not in names:
            return None
        base = {
            "id": channel_id,
            "type": 0,
            "guild_id": GUILD,
            "name": names[channel_id],
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "topic": None,
            "last_message_id": self.last_ids.get(channel_id),
            "parent_id": None,
            "rate_limit_per_user": 0,
        }
        if channel_id == FORUM:
            tags = [
                {"id": tid, "name": name, "moderated": False, "emoji_id": None, "emoji_name": None}
                for name, tid in TAGS.items()
            ]
            base |= {
                "type": 15,
                "available_tags": tags,
                "default_reaction_emoji": None,
                "default_thread_rate_limit_per_user": 0,
                "flags": 0,
                "default_sort_order": None,
                "default_forum_layout": 0,
            }
        return base

    def thread(
        self,
        thread_id: str,
        parent: str,
        name: str,
        owner: str = BOT["id"],
        tags: list[str] | None = None,
    ) -> dict[str, Any]:
        return {
            "id": thread_id,
            "type": 11,
            "guild_id": GUILD,
            "parent_id": parent,
            "owner_id": owner,
            "name": name,
            "message_count": 0,
            "member_count": 1,
            "rate_limit_per_user": 0,
            "flags": 0,
            "last_message_id": None,
            "applied_tags": tags or [],
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": iso(),
                "locked": False,
            },
        }

    @staticmethod
    def member(who: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "user": dict(who),
            "roles": ROLES.get(str(who["id"]), []),
            "joined_at": iso(),
            "deaf": False,
            "mute": False,
            "flags": 0,
            "nick": None,
        }

    @staticmethod
    def message(
        channel_id: str, author: Mapping[str, Any], content: str, message_id: str | None = None
    ) -> dict[str, Any]:
        return {
            "id": message_id or snowflake(),
            "channel_id": channel_id,
            "author": dict(author),
            "content": content,
            "timestamp": iso(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": False,
            "type": 0,
            "flags": 0,
            "components": [],
        }

    def guild_message(
        self,
        content: str,
        channel_id: str = SUPPORT,
        author: Mapping[str, Any] = ROBIN,
        **extra: Any,
    ) -> dict[str, Any]:
        message = self.message(channel_id, author, content)
        member = {k: v for k, v in self.member(author).items() if k != "user"}
        return {**message, "guild_id": GUILD, "member": member, **extra}

    def dm_message(
        self,
        content: str,
        channel_id: str = "1500000000000000001",
        author: Mapping[str, Any] = ROBIN,
    ) -> dict[str, Any]:
        return self.message(channel_id, author, content)  # no guild_id: a DM

    def click(
        self, custom_id: str, message_id: str, who: Mapping[str, Any], channel_id: str = DESK
    ) -> dict[str, Any]:
        """A button click on a message the bot posted: the payload carries that message with
        its current components, as Discord's does (discord.py looks the button up there)."""
        message = {**self.message(channel_id, BOT, ""), "id": message_id,
                   "components": self.components_of(message_id)}  # fmt: skip
        data = {"custom_id": custom_id, "component_type": 2}
        return self._interaction_payload(3, who, channel_id, data, message=message)

    def components_of(self, message_id: str) -> list[dict[str, Any]]:
        for record in [*reversed(self.edits), *reversed(self.sent)]:
            if message_id in (record.get("message_id"), record.get("id")):
                return list(record.get("components") or [])
        return []

    def slash(self, who: Mapping[str, Any], *path: str, **options: str) -> dict[str, Any]:
        """``/frontdesk <path...> option=value``: an APPLICATION_COMMAND interaction."""
        leaf: list[dict[str, Any]] = [
            {"name": k, "type": 3, "value": v} for k, v in options.items()
        ]
        for depth, name in reversed(list(enumerate(path))):
            kind = 1 if depth == len(path) - 1 else 2  # sub-command, sub-command group
            leaf = [{"name": name, "type": kind, "options": leaf}]
        command_id = self.commands[0]["id"] if self.commands else snowflake()
        data = {
            "id": command_id,
            "name": "frontdesk",
            "type": 1,
            "options": leaf,
            "guild_id": GUILD,
        }
        return self._interaction_payload(2, who, DESK, data)

    def _interaction_payload(
        self, kind: int, who: Mapping[str, Any], channel_id: str, data: dict[str, Any], **extra: Any
    ) -> dict[str, Any]:
        return {
            "id": snowflake(),
            "application_id": APP_ID,
            "type": kind,
            "token": f"token-{snowflake()}",
            "version": 1,
            "guild_id": GUILD,
            "channel_id": channel_id,
            "channel": self.channel(channel_id),
            "member": {**self.member(who), "permissions": "1071698660929"},
            "data": data,
            "app_permissions": "1071698660929",
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": GUILD},
            "context": 0,
            "attachment_size_limit": 8388608,
            **extra,
        }
