"""JSON for what the queue and the stores carry (messages, turns, outbox records), through
orjson: about a fifth of the standard library's cost per call, and these calls run several
times for every message (issue 13: CPU per message).

The text is compact JSON in UTF-8, which ``json.loads`` and Redis's Lua ``cjson`` read as
they read what the standard library wrote before, so stored data stays readable both ways.
What orjson refuses (a lone surrogate from a broken platform payload, an integer beyond 64
bits) is written by the standard library instead, escaped to ASCII: text that always
encodes as UTF-8 on its way to Redis or SQLite, and reads back as the same string.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson


def instant(at: datetime) -> datetime | str:
    """``at`` as ``dumps`` should write it: ``at.isoformat()``. An aware UTC datetime (what the
    stores' clock makes and ``fromisoformat`` reads back) is handed to orjson as it is, which
    writes the very same text in C: ``isoformat`` goes through ``PyUnicode_FromFormat`` at
    about 15,000 instructions a call, several times for every message. Anything else (naive,
    another offset, a subclass) is formatted by ``isoformat`` here."""
    if at.tzinfo is UTC and type(at) is datetime:
        return at
    return at.isoformat()


def isoformat(at: datetime) -> str:
    """``at.isoformat()``, written by orjson where ``instant`` hands it over (the same text)."""
    value = instant(at)
    return value if isinstance(value, str) else orjson.dumps(value)[1:-1].decode()


def _isoformat(value: Any) -> str:
    if isinstance(value, datetime):  # what ``instant`` left to orjson
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError: see the module's docstring
        # Escaped: a surrogate stays text.
        return json.dumps(value, separators=(",", ":"), default=_isoformat)


def loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        # The standard library's reading of what orjson refuses (NaN, a lone surrogate
        # escape), or its error for what is not JSON at all.
        return json.loads(text)
