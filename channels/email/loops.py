"""Mail Frontdesk must never answer: robots, bounces, lists, spam, ourselves (pure).

Answering an out-of-office with an auto-reply starts a loop that only ends when a mailbox is
full. RFC 3834 asks responders to skip ``Auto-Submitted`` mail; the vendor headers cover the
clients that ignore it (Exchange, older Outlook rules, vacation scripts).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_BOUNCE_SENDERS = ("mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon")
_NO_REPLY = re.compile(r"^(no-?reply|do-?not-?reply|no_reply|noreply[.+-].*)$")
_AUTOREPLY_HEADERS = ("x-autoreply", "x-autorespond", "x-autoresponder", "x-auto-response")


def auto_reason(
    headers: Mapping[str, str],
    content_type: str,
    from_address: str | None,
    own_addresses: tuple[str, ...],
) -> str | None:
    """Why this mail must not be answered (a short reason for logs and counters), or None.

    ``headers`` maps lower-case header names to decoded values."""
    if from_address is None:
        return "no_sender"
    if from_address in {a.lower() for a in own_addresses}:
        return "own_address"
    local = from_address.partition("@")[0]
    return_path = headers.get("return-path")
    if (
        local in _BOUNCE_SENDERS
        or (return_path is not None and return_path.strip() in ("<>", ""))
        or content_type == "multipart/report"
    ):
        return "bounce"
    if _NO_REPLY.match(local):
        return "no_reply_address"  # notifications: nobody reads the answer
    if headers.get("x-spam-flag", "").strip().lower() == "yes":
        return "spam"
    auto = headers.get("auto-submitted")
    if auto is not None and auto.strip().lower() != "no":
        return "auto_submitted"
    if any(name in headers for name in _AUTOREPLY_HEADERS):
        return "autoreply_header"
    if "x-ms-exchange-inbox-rules-loop" in headers:
        return "exchange_rules_loop"
    if headers.get("precedence", "").strip().lower() in ("bulk", "junk", "list", "auto_reply"):
        return "precedence"
    if "list-id" in headers:
        return "mailing_list"
    return None
