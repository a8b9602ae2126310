"""Email: customers write to a mailbox (IMAP IDLE in), Frontdesk answers by SMTP.

Kept light: importing the package loads no IMAP or SMTP library (``frontdesk check`` and the
CLI import it); ``build`` wires the parts, ``connection()`` connects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from channels.base import Part, Streams
from config.settings import Settings

if TYPE_CHECKING:
    from channels.email.adapter import EmailAdapter, MailboxStore


def build(
    settings: Settings, streams: Streams | None = None, *, store: MailboxStore | None = None
) -> EmailAdapter:
    """The email adapter. ``store`` (anything with ``kv_get``, ``kv_set`` and ``lock``: the
    Frontdesk store fits) keeps the mailbox position, threads and sent mail across restarts
    and lets only one replica read the mailbox; without it all of that lives in memory."""
    from channels.email.adapter import EmailAdapter  # noqa: PLC0415

    return EmailAdapter(settings, store=store)


def describe(settings: Settings) -> list[Part]:
    from channels.email.adapter import describe as describe_email  # noqa: PLC0415

    return describe_email(settings.email)


def add_commands(commands: Any) -> None:
    """``frontdesk email parse FILE...``: one JSON line per file, never stops on a bad one."""
    from channels.email.cli import parse_command  # noqa: PLC0415

    email = commands.add_parser("email", help="email channel tools")
    sub = email.add_subparsers(dest="email_command", required=True)
    parse = sub.add_parser("parse", help="parse .eml files and print one JSON line per file")
    parse.add_argument("files", nargs="+", metavar="FILE")
    parse.set_defaults(platform_command=parse_command)


__all__ = ["add_commands", "build", "describe"]
