"""The platforms' sections: ``FRONTDESK_SLACK__*``, ``DISCORD__*``, ``EMAIL__*``, ``TERMINAL__*``.

The web channel, which also serves the API and webhooks, has ``config/sections/web.py``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from config.sections.base import CsvList, PositiveSeconds, Section, require


class SlackSettings(Section):
    enabled: bool = False
    mode: Literal["socket", "http"] = "socket"
    bot_token: SecretStr | None = None
    app_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    http_host: str = "127.0.0.1"
    http_port: int = Field(3000, ge=0, le=65535)  # 0: any free port (tests)
    support_channels: CsvList = []
    answer_direct_messages: bool = True
    escalation_channel: str | None = None
    # Who may use the desk (admins are agents too). With neither agent setting, the members of
    # the escalation channel are the agents, which is accepted only for a private channel.
    agent_user_ids: CsvList = []
    agent_group: str | None = None
    admin_user_ids: CsvList = []
    admin_group: str | None = None
    oncall_group: str | None = None
    command: str = "/frontdesk"
    max_messages_per_second: float = Field(1.0, gt=0)
    api_base_url: str = "https://slack.com/api/"

    @field_validator("agent_user_ids", "admin_user_ids")
    @classmethod
    def _user_ids(cls, value: list[str]) -> list[str]:
        for user_id in value:
            if not re.fullmatch(r"[UW][A-Z0-9]{2,}", user_id):
                raise ValueError(f"{user_id!r} is not a Slack user id (U... or W..., from the "
                                 "member's profile: More, Copy member ID)")  # fmt: skip
        return value

    @field_validator("agent_group", "admin_group", "oncall_group")
    @classmethod
    def _group_id(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"S[A-Z0-9]{2,}", value):
            raise ValueError(f"{value!r} is not a Slack user group id (S...)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SlackSettings:
        if not self.enabled:
            return self
        require(self.bot_token, "SLACK__BOT_TOKEN", "when FRONTDESK_SLACK__ENABLED=true")
        assert self.bot_token is not None
        if not self.bot_token.get_secret_value().startswith("xoxb-"):
            raise ValueError("FRONTDESK_SLACK__BOT_TOKEN: must be a bot token starting with xoxb-")
        if self.mode == "socket":
            require(self.app_token, "SLACK__APP_TOKEN", "in Socket Mode (FRONTDESK_SLACK__MODE)")
            assert self.app_token is not None
            if not self.app_token.get_secret_value().startswith("xapp-"):
                raise ValueError(
                    "FRONTDESK_SLACK__APP_TOKEN: must be an app-level token starting with xapp-"
                )
        else:
            require(self.signing_secret, "SLACK__SIGNING_SECRET", "in HTTP mode")
        # Events carry channel ids, never names: a name here would silently match nothing.
        named = [("ESCALATION_CHANNEL", self.escalation_channel)]
        named += [("SUPPORT_CHANNELS", c) for c in self.support_channels]
        for setting, value in named:
            if value is not None and not re.fullmatch(r"[CG][A-Z0-9]{2,}", value):
                raise ValueError(
                    f"FRONTDESK_SLACK__{setting}: {value!r} is not a channel id "
                    "(C... or G...: channel details, bottom of the About tab)"
                )
        if not self.command.startswith("/"):
            raise ValueError("FRONTDESK_SLACK__COMMAND: must start with /")
        if not self.api_base_url.endswith("/"):
            raise ValueError("FRONTDESK_SLACK__API_BASE_URL: must end with /")
        return self


_SNOWFLAKE = re.compile(r"[0-9]{15,21}")


class DiscordSettings(Section):
    """Discord: customers in DMs, support channels, their threads and forum posts; optionally
    a staff channel as the desk. Ids are Discord's numeric snowflakes (Developer Mode on, then
    right-click -> Copy ID)."""

    enabled: bool = False
    bot_token: SecretStr | None = None
    support_channel_ids: CsvList = []
    forum_channel_ids: CsvList = []
    answer_direct_messages: bool = True
    thread_per_conversation: bool = False
    desk_channel_id: str | None = None
    staff_role_ids: CsvList = []
    admin_role_ids: CsvList = []
    api_base_url: str = "https://discord.com/api/v10"
    gateway_url: str = "wss://gateway.discord.gg/"
    # Gateway shards (Discord requires sharding from 2,500 servers). Each shard is read by one
    # replica at a time, the holder of its store lease; every replica sends.
    shard_count: int = Field(1, ge=1, le=64)
    # Customer messages held in memory while the store cannot queue them (the gateway never
    # delivers an event again); past this many, a new one is refused with a polite reply.
    max_held_messages: int = Field(5000, ge=1, le=1_000_000)
    # A shard's gap (failover, hand-over, a full outage) is read back over REST when a new
    # session starts: at most this far back (0: never), and in DMs only those of the most
    # recent this many DM customers (a bot cannot list its DM channels).
    catch_up_seconds: float = Field(3600.0, ge=0, le=86_400)
    catch_up_dm_channels: int = Field(500, ge=0, le=100_000)

    @model_validator(mode="after")
    def _consistent(self) -> DiscordSettings:
        if self.enabled:
            require(self.bot_token, "DISCORD__BOT_TOKEN", "when FRONTDESK_DISCORD__ENABLED=true")
        # Events carry ids, never names: a channel or role name here would match nothing.
        named = [("DESK_CHANNEL_ID", self.desk_channel_id)]
        for setting in ("support_channel_ids", "forum_channel_ids", "staff_role_ids",
                        "admin_role_ids"):  # fmt: skip
            named += [(setting.upper(), value) for value in getattr(self, setting)]
        for setting, value in named:
            if value is not None and not _SNOWFLAKE.fullmatch(value):
                raise ValueError(
                    f"FRONTDESK_DISCORD__{setting}: {value!r} is not a numeric Discord id "
                    "(Developer Mode on, then right-click -> Copy ID)"
                )
        if self.desk_channel_id is not None and not self.staff_role_ids:
            raise ValueError(
                "FRONTDESK_DISCORD__STAFF_ROLE_IDS: required when "
                "FRONTDESK_DISCORD__DESK_CHANNEL_ID is set (who may act on tickets; seeing the "
                "channel is not enough)"
            )
        customers = {*self.support_channel_ids, *self.forum_channel_ids}
        if self.desk_channel_id in customers:
            raise ValueError(
                "FRONTDESK_DISCORD__DESK_CHANNEL_ID: also a support or forum channel; staff and "
                "customers need separate channels"
            )
        if not self.api_base_url.startswith(("http://", "https://")):
            raise ValueError("FRONTDESK_DISCORD__API_BASE_URL: must be an http:// or https:// URL")
        if self.api_base_url.endswith("/"):
            raise ValueError("FRONTDESK_DISCORD__API_BASE_URL: no trailing / (.../api/v10)")
        if not self.gateway_url.startswith(("ws://", "wss://")):
            raise ValueError("FRONTDESK_DISCORD__GATEWAY_URL: must be a ws:// or wss:// URL")
        return self


class EmailSettings(Section):
    """The email channel: IMAP in (IDLE, polling fallback), SMTP out."""

    enabled: bool = False
    imap_host: str | None = None
    imap_port: int = Field(993, ge=1, le=65535)
    imap_tls: bool = True
    imap_username: str | None = None
    imap_password: SecretStr | None = None
    imap_folder: str = Field("INBOX", min_length=1)
    imap_idle: bool = True  # false: poll even when the server offers IDLE
    # RFC 2177: servers may drop an IDLE after 30 minutes, so it is re-issued before that.
    idle_reissue_seconds: float = Field(1740.0, gt=0, le=1740)
    poll_seconds: PositiveSeconds = 60.0
    imap_timeout_seconds: PositiveSeconds = 30.0
    reconnect_max_seconds: PositiveSeconds = 300.0
    tls_ca_file: Path | None = None  # trust this CA (a private or self-signed server)
    smtp_host: str | None = None
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: PositiveSeconds = 30.0
    from_address: str | None = None
    from_name: str | None = None
    message_id_domain: str | None = None  # default: the domain of FROM_ADDRESS
    max_message_bytes: int = Field(2_000_000, ge=1024)
    thread_window_days: float = Field(14.0, ge=0)
    max_messages_per_sender_per_hour: int = Field(20, ge=1)

    @model_validator(mode="after")
    def _consistent(self) -> EmailSettings:
        if self.enabled:
            why = "when FRONTDESK_EMAIL__ENABLED=true"
            for name in (
                "imap_host",
                "imap_username",
                "imap_password",
                "smtp_host",
                "from_address",
            ):
                require(getattr(self, name), f"EMAIL__{name.upper()}", why)
        if self.from_address is not None and not re.fullmatch(
            r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", self.from_address
        ):
            raise ValueError("FRONTDESK_EMAIL__FROM_ADDRESS: not an email address")
        if self.smtp_username is not None and self.smtp_password is None:
            raise ValueError(
                "FRONTDESK_EMAIL__SMTP_PASSWORD: required when FRONTDESK_EMAIL__SMTP_USERNAME "
                "is set"
            )
        if self.tls_ca_file is not None and not self.tls_ca_file.is_file():
            raise ValueError(f"FRONTDESK_EMAIL__TLS_CA_FILE: no such file {self.tls_ca_file}")
        return self

    @property
    def domain(self) -> str:
        """The domain our Message-IDs are on."""
        if self.message_id_domain:
            return self.message_id_domain
        return (self.from_address or "frontdesk.invalid").rpartition("@")[2].lower()


class TerminalSettings(Section):
    """The laptop channel. ``enabled`` unset means: on when no other channel is enabled."""

    enabled: bool | None = None
    customer_name: str = "you"
