"""Pure parsing of one raw email into what Frontdesk needs. Never raises on bad input.

``parse_mail(raw)`` reads the message with the stdlib ``email`` package (modern policy), picks
the text (text/plain preferred, else the HTML turned into readable text), strips the quoted
history and the signature, lists attachments by name and size without decoding them, and says
why the mail must not be answered (``auto``), if it must not. Headers are decoded by hand from
their raw form: the policy's header classes raise on some real-world garbage, and raw 8-bit
headers need the same charset guessing as bodies.
"""

from __future__ import annotations

import email.policy
import email.utils
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from email.parser import BytesParser

from channels.base import Attachment
from channels.email.charsets import decode_bytes, decode_header_value
from channels.email.html import html_to_text
from channels.email.loops import auto_reason
from channels.email.quoting import strip_reply

logger = logging.getLogger(__name__)

MAX_TEXT_CHARS = 20_000
MAX_PARTS = 200  # a bomb of nested multiparts is cut here
_MSGID = re.compile(r"<([^<>\s]+)>")
_PARSER = BytesParser(policy=email.policy.default)
_REPLY_PREFIX = re.compile(r"^\s*(re|aw|sv|antw|rv|ref|r|wg)\s*(\[\d+\])?\s*:", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ParsedMail:
    message_id: str | None  # without angle brackets
    from_address: str | None  # lower case
    from_name: str | None
    reply_address: str | None  # Reply-To if any, else From
    to: tuple[str, ...]
    subject: str
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    date: datetime | None
    text: str  # the new part of the message: quotes and signature stripped
    full_text: str  # the whole body as text
    attachments: tuple[Attachment, ...] = ()
    auto: str | None = None  # why this mail must not be answered, or None
    truncated: bool = False  # the body was larger than the cap
    defects: tuple[str, ...] = field(default=())


def parse_mail(
    raw: bytes,
    *,
    own_addresses: tuple[str, ...] = (),
    languages: tuple[str, ...] = ("en",),
    truncated: bool = False,
) -> ParsedMail:
    """Everything Frontdesk reads from one message. ``truncated``: ``raw`` is only the start
    of a message larger than the cap (it still parses)."""
    msg = _PARSER.parsebytes(raw)
    headers = _raw_headers(msg)
    from_name, from_address = _first_address(headers.get("from", ""))
    _, reply_to = _first_address(headers.get("reply-to", ""))
    parts = _leaves(msg)
    plain, html, attachments = _select(parts)
    if plain is not None:
        full = _normalise(_decoded(plain))
    elif html is not None:
        full = _normalise(html_to_text(_decoded(html)))
    else:
        full = ""
    subject = headers.get("subject", "")
    in_reply_to = _ids(headers.get("in-reply-to", ""))
    is_reply = bool(in_reply_to) or bool(_REPLY_PREFIX.match(subject))
    text = strip_reply(full, languages, is_reply=is_reply)[:MAX_TEXT_CHARS]
    return ParsedMail(
        message_id=_first_id(headers.get("message-id", "")),
        from_address=from_address,
        from_name=from_name,
        reply_address=reply_to or from_address,
        to=tuple(a for _, a in email.utils.getaddresses([headers.get("to", "")]) if a),
        subject=subject,
        in_reply_to=in_reply_to,
        references=_ids(headers.get("references", "")),
        date=_date(headers.get("date", "")),
        text=text,
        full_text=full[:MAX_TEXT_CHARS],
        attachments=tuple(attachments),
        auto=auto_reason(headers, _ctype(msg), from_address, own_addresses),
        truncated=truncated,
        defects=tuple(type(d).__name__ for d in msg.defects),
    )


def _raw(part: Message, name: str) -> str:
    """A header's raw value, without the policy's (slow, uncached) header parsing."""
    for key, value in part.raw_items():
        if key.lower() == name:
            return str(value)
    return ""


def _ctype(part: Message) -> str:
    value = _raw(part, "content-type").split(";", 1)[0].strip().lower()
    return value if value.count("/") == 1 and " " not in value else "text/plain"


def _param(part: Message, name: str, header: str = "content-type") -> str | None:
    match = re.search(
        r";\s*" + name + r'\s*=\s*"?([^";\r\n]*)"?', _raw(part, header), re.IGNORECASE
    )
    return match.group(1).strip() if match else None


def _raw_headers(msg: Message) -> dict[str, str]:
    """First value of every header, decoded (RFC 2047 and raw 8-bit). Header names lower."""
    out: dict[str, str] = {}
    for name, value in msg.raw_items():
        key = name.lower()
        if key in out:
            continue
        text = str(value)
        if any("\udc80" <= ch <= "\udcff" for ch in text):  # raw 8-bit bytes in the header
            text = decode_bytes(text.encode("utf-8", "surrogateescape"))
        out[key] = decode_header_value(text)
    return out


def _first_address(value: str) -> tuple[str | None, str | None]:
    if not value:
        return None, None
    try:
        pairs = email.utils.getaddresses([value])
    except Exception:
        return None, None
    for name, address in pairs:
        if "@" in address:
            return (name.strip() or None), address.strip().lower()
    return None, None


def _first_id(value: str) -> str | None:
    ids = _ids(value)
    if ids:
        return ids[0]
    stripped = value.strip()
    return stripped if stripped and " " not in stripped else None


def _ids(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_MSGID.findall(value)))


def _date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _leaves(msg: Message) -> list[Message]:
    """Leaf parts in order; a forwarded message (message/rfc822) is one leaf, not descended."""
    out: list[Message] = []
    stack: list[Message] = [msg]
    while stack and len(out) < MAX_PARTS:
        part = stack.pop(0)
        payload = part.get_payload() if part.is_multipart() else None
        if isinstance(payload, list) and _ctype(part).startswith("multipart/"):
            stack[0:0] = [p for p in payload if isinstance(p, Message)]
        else:
            out.append(part)
    return out


def _select(parts: list[Message]) -> tuple[Message | None, Message | None, list[Attachment]]:
    plain: Message | None = None
    html: Message | None = None
    attachments: list[Attachment] = []
    for part in parts:
        ctype = _ctype(part)
        maintype = ctype.partition("/")[0]
        disposition = _raw(part, "content-disposition").split(";")[0].strip().lower()
        filename = _filename(part)
        if maintype == "multipart":
            # A multipart without a usable boundary: its body is all we have.
            plain = plain or part
        elif ctype == "message/rfc822":
            attachments.append(Attachment(_forwarded_name(part), ctype, _size(part)))
        elif disposition != "attachment" and filename is None and ctype == "text/plain":
            plain = plain or part
        elif disposition != "attachment" and filename is None and ctype == "text/html":
            html = html or part
        elif ctype not in ("message/delivery-status", "text/rfc822-headers") and (
            filename is not None or maintype != "text"
        ):
            attachments.append(Attachment(filename or f"unnamed.{ctype.partition('/')[2]}",
                                          ctype, _size(part)))  # fmt: skip
    return plain, html, attachments


def _filename(part: Message) -> str | None:
    if "name" not in _raw(part, "content-disposition") + _raw(part, "content-type"):
        return None  # the common case, without parsing both headers
    try:
        name = part.get_filename()
    except Exception:
        return None
    return decode_header_value(name) or None if name else None


def _forwarded_name(part: Message) -> str:
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    subject = decode_header_value(inner.get("subject")) if isinstance(inner, Message) else ""
    return f"{subject or 'forwarded message'}.eml"


def _size(part: Message) -> int:
    """Decoded size, estimated from the encoded text: huge attachments are never decoded."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return sum(_size(p) for p in payload if isinstance(p, Message))
    if not isinstance(payload, str):
        return 0
    if _raw(part, "content-transfer-encoding").strip().lower() == "base64":
        return len(payload.replace("\r", "").replace("\n", "")) * 3 // 4
    return len(payload)


def _decoded(part: Message) -> str:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # broken base64 or quoted-printable: take the text as it stands
        data = None
    if not isinstance(data, bytes):
        raw = part.get_payload()
        if not isinstance(raw, str):
            return ""
        data = raw.encode("utf-8", "surrogateescape")
    text = decode_bytes(data, _param(part, "charset"))
    if (_param(part, "format") or "").lower() == "flowed":
        text = _unflow(text, (_param(part, "delsp") or "").lower() == "yes")
    return text


def _unflow(text: str, delsp: bool) -> str:
    """RFC 3676: a line ending in a space continues on the next line (except the sig line)."""
    out: list[str] = []
    buffer = ""
    depth = 0
    for line in text.splitlines():
        line_depth = len(line) - len(line.lstrip(">"))
        if buffer and line_depth != depth:  # never join across quote levels
            out.append(buffer)
            buffer = ""
        depth = line_depth
        if line.endswith(" ") and line != "-- ":
            buffer += line[:-1] if delsp else line
            continue
        out.append(buffer + line)
        buffer = ""
    if buffer:
        out.append(buffer)
    return "\n".join(out)


def _normalise(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
