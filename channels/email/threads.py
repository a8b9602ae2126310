"""Which conversation a mail belongs to, and how our replies carry that (pure).

The conversation id is a short code: the hash of the thread's root Message-ID (the first entry
of References, else In-Reply-To, else the mail's own id). Our replies carry the code twice,
because clients lose headers: in our Message-ID (``<fd.CODE.digest@our-domain>``, which comes
back in In-Reply-To/References) and as a ``[#FD-CODE]`` tag in the subject (which survives
clients that drop or rewrite In-Reply-To, such as Outlook forwarding rules or a customer who
starts a fresh mail and pastes the subject). Mail with none of these falls back to the same
sender writing under the same normalised subject within a window (kept by the channel).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable

from channels.email.parse import ParsedMail

CODE_LENGTH = 8
_CODE = rf"[A-Z2-7]{{{CODE_LENGTH}}}"
_OUR_ID = re.compile(r"^fd\.(" + _CODE + r")\.[0-9a-f]+@(.+)$")
_TAG = re.compile(r"\[#FD-(" + _CODE + r")\]")
_PREFIX = re.compile(
    r"^\s*((re|aw|sv|antw|rv|ref|r|wg|fw|fwd|tr|enc)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE
)
MAX_REFERENCES = 10


def code_for(root_id: str) -> str:
    digest = hashlib.sha256(root_id.strip().lower().encode("utf-8", "replace")).digest()
    return base64.b32encode(digest).decode("ascii")[:CODE_LENGTH]


def is_code(value: str) -> bool:
    return re.fullmatch(_CODE, value) is not None


def our_code(message_ids: Iterable[str], domain: str | None) -> str | None:
    """The code in one of our own Message-IDs among ``message_ids`` (newest last); ``domain``
    None accepts any domain (``frontdesk email parse`` without settings)."""
    for message_id in reversed(list(message_ids)):
        match = _OUR_ID.match(message_id)
        if match and (domain is None or match.group(2).lower() == domain.lower()):
            return match.group(1)
    return None


def subject_code(subject: str) -> str | None:
    match = _TAG.search(subject)
    return match.group(1) if match else None


def normalise_subject(subject: str) -> str:
    """``Re: AW: Where is my order? [#FD-ABCD2345]`` -> ``where is my order?``"""
    text = _TAG.sub(" ", subject)
    text = _PREFIX.sub("", text)
    return " ".join(text.split()).lower()


def thread_root(mail: ParsedMail, fallback_id: str) -> str:
    if mail.references:
        return mail.references[0]
    if mail.in_reply_to:
        return mail.in_reply_to[0]
    return mail.message_id or fallback_id


def header_code(mail: ParsedMail, domain: str | None) -> str | None:
    """The conversation one of our own Message-IDs in In-Reply-To or References names."""
    return our_code((*mail.references, *mail.in_reply_to), domain)


def reply_subject(subject: str | None, code: str) -> str:
    base = _PREFIX.sub("", _TAG.sub(" ", subject or "")).strip()
    base = " ".join(base.split()) or "Your message"
    return f"Re: {base} [#FD-{code}]"


def reply_references(references: Iterable[str], reply_to: str | None) -> tuple[str, ...]:
    """The chain a reply carries: the root first, then the latest ones (RFC 5322 3.6.4)."""
    chain = list(dict.fromkeys([*references, *([reply_to] if reply_to else [])]))
    if len(chain) > MAX_REFERENCES:
        chain = [chain[0], *chain[-(MAX_REFERENCES - 1) :]]
    return tuple(chain)
