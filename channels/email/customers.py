"""The email customer channel: one new mail in -> an ``InboundMessage``; a reply out by SMTP.

``accept`` is what the mailbox connection calls for each new mail; it returns once the mail
may be flagged ``\\Seen``: durably queued, a duplicate, or deliberately not answered (robots,
bounces, lists, spam, ourselves, a sender over the rate limit: each counted and logged with
its reason). If queueing fails it raises, and the mail stays unseen for the next attempt.
"""

from __future__ import annotations

import collections
import hashlib
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime

from channels.base import (
    Attachment,
    Author,
    ConversationRef,
    InboundHandler,
    InboundMessage,
    OutboundMessage,
    ReplyHints,
)
from channels.email.charsets import decode_bytes
from channels.email.compose import compose
from channels.email.parse import MAX_TEXT_CHARS, ParsedMail, parse_mail
from channels.email.smtp import MailSender
from channels.email.state import Counters, KeyValue
from channels.email.threads import (
    code_for,
    header_code,
    normalise_subject,
    reply_references,
    subject_code,
    thread_root,
)
from config.errors import ChannelError, DeliveryRefused
from config.settings import EmailSettings

logger = logging.getLogger(__name__)

CHANNEL = "email"
RATE_WINDOW_S = 3600.0
SENT_TTL_S = 30 * 86400.0
OWNER_TTL_S = 90 * 86400.0


class EmailChannel:
    name = CHANNEL

    def __init__(
        self,
        settings: EmailSettings,
        sender: MailSender,
        state: KeyValue,
        languages: tuple[str, ...] = ("en",),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.sender = sender
        self.state = state
        self.languages = languages
        self.clock = clock
        self.address = (settings.from_address or "").lower()
        own = {self.address, (settings.imap_username or "").lower()} - {""}
        self.own_addresses = tuple(sorted(own))
        self.suppressed: collections.Counter[str] = collections.Counter()
        self._handler: InboundHandler | None = None
        self._recent: dict[str, collections.deque[float]] = {}

    async def start(self, handler: InboundHandler) -> None:
        self._handler = handler

    async def stop(self) -> None:
        self._handler = None

    # -- inbound -----------------------------------------------------------------------------
    async def accept(self, raw: bytes, fallback_id: str, truncated: bool = False) -> bool:
        """Handle one new mail; True once it may be flagged seen. Raises if it was not queued."""
        if self._handler is None:
            raise ChannelError("the email channel is not started")
        try:
            mail = parse_mail(raw, own_addresses=self.own_addresses, languages=self.languages,
                              truncated=truncated)  # fmt: skip
        except Exception:
            # A parser bug must not block the mailbox (the mail would be retried forever) nor
            # lose the customer: pass the raw text on, so a person sees it.
            logger.exception("could not parse mail %s; passing its raw text on", fallback_id)
            mail = _unparsed(raw, truncated)
        reason = mail.auto or self._over_rate(mail)
        if reason is not None:
            self.suppressed[reason] += 1
            if isinstance(self.state, Counters):
                await self.state.incr(f"email_suppressed_{reason}")
            logger.info("not answering mail %s from %s: %s", mail.message_id or fallback_id,
                        mail.from_address, reason)  # fmt: skip
            return True
        message = await self.to_inbound(mail, fallback_id)
        queued = await self._handler(message)
        logger.info("mail %s %s as %s", message.message_id,
                    "queued" if queued else "was a duplicate", message.ref.key)  # fmt: skip
        return True

    def _over_rate(self, mail: ParsedMail) -> str | None:
        sender = mail.from_address or ""
        now = self.clock()
        recent = self._recent.setdefault(sender, collections.deque())
        while recent and recent[0] < now - RATE_WINDOW_S:
            recent.popleft()
        if len(recent) >= self.settings.max_messages_per_sender_per_hour:
            return "rate_limited"
        recent.append(now)
        return None

    async def to_inbound(self, mail: ParsedMail, fallback_id: str) -> InboundMessage:
        address = mail.reply_address or mail.from_address or ""
        code = await self._conversation(mail, fallback_id, address)
        message_id = mail.message_id or fallback_id
        hints = ReplyHints(
            reply_to=mail.message_id,
            references=reply_references(mail.references or mail.in_reply_to, mail.message_id),
            address=address,
            subject=mail.subject,
        )
        attachments = mail.attachments
        text = mail.text
        if mail.truncated:
            attachments = (*attachments, Attachment("(the rest of this email was too large)"))
        if not text and attachments:
            # A photo of a broken parcel with no words is still a customer waiting for someone.
            text = "(sent " + ", ".join(a.name for a in mail.attachments[:5]) + ")"
        return InboundMessage(
            ref=ConversationRef(channel=CHANNEL, conversation_id=code, hints=hints),
            message_id=message_id,
            author=Author(id=f"email:{address}", display_name=mail.from_name, email=address),
            text=text or "(an empty email)",
            received_at=mail.date.astimezone(UTC) if mail.date else datetime.now(UTC),
            attachments=attachments,
            oversize=mail.truncated,
        )

    async def _conversation(self, mail: ParsedMail, fallback_id: str, address: str) -> str:
        """Our header token, then our subject tag (same sender only), then the thread root,
        then the same sender and subject within the window, else a new conversation."""
        domain = self.settings.domain
        subject_key = (
            "email:subject:"
            + hashlib.sha256(
                f"{address}\x1f{normalise_subject(mail.subject)}".encode()
            ).hexdigest()[:32]
        )
        code = header_code(mail, domain)
        if code is None:
            tagged = subject_code(mail.subject)
            if tagged is not None and await self._owner_is(tagged, address):
                code = tagged
        if code is None and (mail.references or mail.in_reply_to):
            code = code_for(thread_root(mail, fallback_id))
        if code is None and normalise_subject(mail.subject):
            code = await self.state.kv_get(subject_key)
        if code is None:
            code = code_for(mail.message_id or fallback_id)
        window = self.settings.thread_window_days * 86400
        if window > 0:
            await self.state.kv_set(subject_key, code, ttl_s=window)
        await self.state.kv_set(f"email:owner:{code}", address, ttl_s=OWNER_TTL_S)
        return code

    async def _owner_is(self, code: str, address: str) -> bool:
        # A subject tag is easy to copy: it joins a conversation only for its own customer.
        owner = await self.state.kv_get(f"email:owner:{code}")
        return owner is None or owner == address

    # -- outbound ----------------------------------------------------------------------------
    async def send(self, message: OutboundMessage) -> None:
        try:
            mail = compose(message, from_address=self.address,
                           from_name=self.settings.from_name, domain=self.settings.domain,
                           now=datetime.now(UTC))  # fmt: skip
        except (ValueError, TypeError) as err:
            # A header the email package refuses (e.g. a malformed address in the hints) will
            # never become valid: retrying could only block the conversation.
            raise DeliveryRefused(f"cannot compose a mail for {message.ref.key}: {err}") from err
        message_id = str(mail["Message-ID"]).strip("<>")
        sent_key = f"email:sent:{message_id}"
        if await self.state.kv_get(sent_key) is not None:
            logger.info("mail %s was already accepted by SMTP; not sending it again",
                        message_id.partition("@")[0])  # fmt: skip
            return
        await self.sender.send(mail)
        await self.state.kv_set(sent_key, "1", ttl_s=SENT_TTL_S)
        # Only the local part: the log redaction would mask the whole id as an address.
        logger.info("sent mail %s to %s", message_id.partition("@")[0], message.ref.key)


def _unparsed(raw: bytes, truncated: bool) -> ParsedMail:
    text = decode_bytes(raw[:MAX_TEXT_CHARS])
    found = re.search(r"^From:[^\n]*?([\w.+-]+@[\w-]+(?:\.[\w-]+)+)", text, re.M | re.I)
    address = found.group(1).lower() if found else None
    return ParsedMail(message_id=None, from_address=address, from_name=None,
                      reply_address=address, to=(), subject="", in_reply_to=(), references=(),
                      date=None, text=text, full_text=text, truncated=truncated,
                      auto=None if address else "no_sender")  # fmt: skip
