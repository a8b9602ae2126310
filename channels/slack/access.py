"""Who is an agent or an admin on the Slack desk: the ``Role`` the desk hands to the hub.

Customers are members of the same workspace (they DM the app, they open its Home tab), so being
able to see a channel or click a button never makes anyone an agent. The rules:

- Admins: ``FRONTDESK_SLACK__ADMIN_USER_IDS`` or members of ``FRONTDESK_SLACK__ADMIN_GROUP``;
  admins are agents too. Agents: ``FRONTDESK_SLACK__AGENT_USER_IDS`` or members of
  ``FRONTDESK_SLACK__AGENT_GROUP``.
- With neither agent setting, the members of the escalation channel are the agents, but only
  while it is private: anyone can join a public channel, so ``check`` refuses that at start.
- Restricted and ultra-restricted members (guests, ``users.info``) are never agents nor admins,
  whatever the settings say. When Slack cannot tell us (``users.info`` fails), nobody is trusted:
  the action is refused and logged, and the next action asks again (failures are not cached).

Slack quirks: user groups and channel members each need an API call (``usergroups.users.list``,
``conversations.members``, paginated by cursor); both are cached for five minutes, and members'
records (guest flag, display name) for ten, in bounded caches. So a member removed from a group
or turned into a guest keeps access for at most that long.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError

from channels.base import Author, Role
from channels.slack.cache import TtlCache
from channels.slack.connection import SlackConnection, channel_error, describe
from config.errors import ChannelError, ConfigError
from config.settings import SlackSettings

log = logging.getLogger(__name__)

GROUP_TTL_S = 300.0
MEMBER_TTL_S = 600.0
_PAGE = 200
_MAX_PAGES = 50  # 10,000 members: an escalation channel is a team, not the workspace
_NOT_FOUND = frozenset({"channel_not_found", "missing_scope", "not_in_channel"})


@dataclass(frozen=True, slots=True)
class Member:
    name: str | None
    full: bool  # not a guest (restricted or ultra-restricted), not deactivated


class SlackAccess:
    def __init__(
        self,
        connection: SlackConnection,
        settings: SlackSettings,
        *,
        max_members: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._conn, self._settings = connection, settings
        self.members: TtlCache[str, Member] = TtlCache(max_members, MEMBER_TTL_S, clock)
        self.groups: TtlCache[str, frozenset[str]] = TtlCache(64, GROUP_TTL_S, clock)

    @property
    def by_channel(self) -> bool:
        """True when the escalation channel's members are the agents (no agent setting)."""
        return not self._settings.agent_user_ids and not self._settings.agent_group

    async def check(self) -> None:
        """At start: the escalation channel may stand for the agents only if it is private."""
        channel = self._settings.escalation_channel
        if not self.by_channel or channel is None:
            return
        if not await self._is_private(channel):
            raise ConfigError(
                f"FRONTDESK_SLACK__AGENT_USER_IDS: not set, and the escalation channel {channel} "
                "is public, so anyone in the workspace could join it and act as an agent; set "
                "FRONTDESK_SLACK__AGENT_USER_IDS or FRONTDESK_SLACK__AGENT_GROUP, or make the "
                "channel private"
            )

    async def identify(self, who: Author) -> tuple[Author, Role]:
        """``who`` with their Slack display name, and their role."""
        role = await self._listed(who.id)
        if role is Role.NONE:
            return who, role
        member = await self._member(who.id)
        if member is None:
            return who, Role.NONE
        named = replace(who, display_name=member.name or who.display_name)
        if not member.full:
            log.warning("slack: %s is a guest or deactivated: not an agent", who.id)
            return named, Role.NONE
        return named, role

    async def _listed(self, user_id: str) -> Role:
        s = self._settings
        if user_id in s.admin_user_ids or user_id in await self._group(s.admin_group):
            return Role.ADMIN
        if user_id in s.agent_user_ids or user_id in await self._group(s.agent_group):
            return Role.AGENT
        if self.by_channel and user_id in await self._channel_members():
            return Role.AGENT
        return Role.NONE

    async def _member(self, user_id: str) -> Member | None:
        member = self.members.get(user_id)
        if member is not None:
            return member
        request = self._conn.client.users_info(user=user_id)
        try:
            user = (await self._conn.api("users.info", request)).get("user") or {}
        except ChannelError as err:
            log.warning("slack: cannot check whether %s is a guest (%s): not trusted", user_id, err)
            return None
        profile = user.get("profile") or {}
        name = profile.get("display_name") or profile.get("real_name") or user.get("name")
        guest = bool(user.get("is_restricted") or user.get("is_ultra_restricted"))
        member = Member(str(name) if name else None, not guest and not user.get("deleted"))
        self.members.put(user_id, member)
        return member

    async def _group(self, group: str | None) -> frozenset[str]:
        if group is None:
            return frozenset()
        members = self.groups.get(group)
        if members is None:
            request = self._conn.client.usergroups_users_list(usergroup=group)
            try:
                response = await self._conn.api("usergroups.users.list", request)
            except ChannelError as err:
                log.warning("slack: cannot read user group %s (%s): nobody in it", group, err)
                return frozenset()
            members = frozenset(str(u) for u in response.get("users") or ())
            self.groups.put(group, members)
        return members

    async def _channel_members(self) -> frozenset[str]:
        channel = self._settings.escalation_channel
        if channel is None:
            return frozenset()
        key = f"#{channel}"
        members = self.groups.get(key)
        if members is None:
            try:
                members = await self._read_members(channel)
            except (ChannelError, ConfigError) as err:
                log.warning("slack: cannot read the members of %s (%s): nobody", channel, err)
                return frozenset()
            self.groups.put(key, members)
        return members

    async def _read_members(self, channel: str) -> frozenset[str]:
        if not await self._is_private(channel):  # made public since the start: trust nobody
            log.error("slack: the escalation channel %s is public now: its members are not "
                      "agents (set FRONTDESK_SLACK__AGENT_USER_IDS)", channel)  # fmt: skip
            return frozenset()
        members: set[str] = set()
        cursor = ""
        for _ in range(_MAX_PAGES):
            request = self._conn.client.conversations_members(
                channel=channel, limit=_PAGE, cursor=cursor or None
            )
            response = await self._conn.api("conversations.members", request)
            members.update(str(m) for m in response.get("members") or ())
            cursor = str((response.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                break
        else:
            log.warning("slack: %s has more than %d members; only the first are agents",
                        channel, _PAGE * _MAX_PAGES)  # fmt: skip
        return frozenset(members)

    async def _is_private(self, channel: str) -> bool:
        try:
            response = await self._conn.client.conversations_info(channel=channel)
        except SlackApiError as err:
            reason = describe(err)
            if reason in _NOT_FOUND:
                raise ConfigError(
                    f"FRONTDESK_SLACK__ESCALATION_CHANNEL: Slack cannot show {channel} "
                    f"({reason}): check the id, invite the bot, and give the app the "
                    "channels:read and groups:read scopes"
                ) from err
            raise ChannelError(f"Slack conversations.info failed: {reason}") from err
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as err:
            raise channel_error(err, "conversations.info") from err
        return bool((response.get("channel") or {}).get("is_private"))
