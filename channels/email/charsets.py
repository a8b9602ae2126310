"""Turning the bytes of real-world mail into text without ever raising.

Mail lies about its charset: ``DEFAULT``, ``DEFAULT_CHARSET``, ``unknown-8bit`` and
``x-user-defined`` are names no codec has; Windows clients label cp1252 text as
``iso-8859-1`` or even ``utf-8``; old webmail sends UTF-8 labelled ``us-ascii``. Strategy:
trust a label that decodes cleanly; otherwise try UTF-8, then cp1252 (a superset of latin-1),
never failing.
"""

from __future__ import annotations

import codecs
import email.header
import functools

_NO_CHARSET = frozenset(
    {"", "default", "default_charset", "unknown-8bit", "unknown", "x-unknown", "x-user-defined",
     "charset", "none", "8bit", "binary"}
)  # fmt: skip
# Labels that mislabelled UTF-8 commonly hides behind; real UTF-8 bytes decode strictly.
_WEAK_LABELS = frozenset({"ascii", "iso8859-1", "latin-1", "cp1252"})


@functools.lru_cache(maxsize=256)
def _codec(label: str | None) -> str | None:
    name = (label or "").strip().strip("\"'").lower()
    if name in _NO_CHARSET:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_bytes(data: bytes, label: str | None = None) -> str:
    """Decode ``data`` declared as ``label``; never raises, never returns mojibake for the
    common lies (unknown names, cp1252 labelled utf-8, utf-8 labelled latin-1)."""
    if not data:
        return ""
    codec = _codec(label)
    if codec is None or codec in _WEAK_LABELS or codec == "utf-8":
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            if codec in (None, "utf-8", "ascii"):
                return data.decode("cp1252", errors="replace")
    if codec in ("iso8859-1", "ascii"):
        # What HTML5 does too: "latin-1" from Windows clients is cp1252 (the euro sign, quotes).
        codec = "cp1252"
    try:
        return data.decode(codec or "cp1252", errors="strict")
    except UnicodeDecodeError:
        return data.decode(codec or "cp1252", errors="replace")


def decode_header_value(value: object) -> str:
    """An RFC 2047 header (``=?iso-8859-1?Q?J=FCrgen?=``) as text; raw 8-bit headers too."""
    if value is None:
        return ""
    text = str(value)
    if "=?" not in text:
        return _unfold(text)
    try:
        chunks = email.header.decode_header(text)
    except Exception:  # a malformed encoded word: keep what is there
        return _unfold(text)
    out: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, bytes):
            out.append(decode_bytes(chunk, charset))
        else:
            out.append(chunk)
    return _unfold("".join(out))


def _unfold(text: str) -> str:
    return " ".join(text.replace("\r", " ").replace("\n", " ").split())
