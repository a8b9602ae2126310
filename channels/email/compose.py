"""Our outgoing mail, built from an ``OutboundMessage`` and its reply hints alone (pure).

An agent's relay days later has nothing but the hints persisted with the ticket, so nothing
here may look anything up. The Message-ID is derived from the outbound message's identity:
a retry after a send that in fact succeeded produces the very same mail, which receiving
servers and clients collapse into one.
"""

from __future__ import annotations

import hashlib
import html
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from channels.base import OutboundMessage
from channels.email.threads import code_for, is_code, reply_references, reply_subject
from config.errors import DeliveryRefused


def conversation_code(message: OutboundMessage) -> str:
    conversation = message.ref.conversation_id
    return conversation if is_code(conversation) else code_for(message.ref.key)


def outbound_message_id(message: OutboundMessage, domain: str) -> str:
    """Fixed before the first attempt: the same outbound message always gets the same id."""
    identity = "\x1f".join(
        [message.ref.key, message.message_id or "", message.in_reply_to or "", message.text]
    )
    digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:24]
    return f"fd.{conversation_code(message)}.{digest}@{domain}"


def compose(
    message: OutboundMessage,
    *,
    from_address: str,
    from_name: str | None,
    domain: str,
    now: datetime,
) -> EmailMessage:
    hints = message.ref.hints
    if not hints.address:
        raise DeliveryRefused(f"no email address is known for {message.ref.key}")
    if hints.address.lower() == from_address.lower():
        raise DeliveryRefused("refusing to send mail to our own address")
    code = conversation_code(message)
    mail = EmailMessage()
    display = from_name
    if message.sender_name:
        display = f"{message.sender_name} ({from_name})" if from_name else message.sender_name
    mail["From"] = formataddr((display or "", from_address))
    mail["To"] = hints.address
    mail["Subject"] = reply_subject(hints.subject, code)
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = f"<{outbound_message_id(message, domain)}>"
    if hints.reply_to:
        mail["In-Reply-To"] = f"<{hints.reply_to}>"
    references = reply_references(hints.references, hints.reply_to)
    if references:
        mail["References"] = " ".join(f"<{r}>" for r in references)
    # RFC 3834: mark us as a responder so well-behaved autoresponders stay quiet; Exchange
    # honours only its own header.
    mail["Auto-Submitted"] = "auto-replied"
    mail["X-Auto-Response-Suppress"] = "All"
    mail.set_content(message.text)
    mail.add_alternative(_html(message.text), subtype="html")
    return mail


def _html(text: str) -> str:
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    body = "".join("<p>" + html.escape(p).replace("\n", "<br>\n") + "</p>\n" for p in paragraphs)
    return f'<!DOCTYPE html>\n<html><body style="font-family:sans-serif">\n{body}</body></html>\n'
