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
from typing import Any

import orjson


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError: see the module's docstring
        return json.dumps(value, separators=(",", ":"))  # escaped: a surrogate stays text


def loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        # The standard library's reading of what orjson refuses (NaN, a lone surrogate
        # escape), or its error for what is not JSON at all.
        return json.loads(text)
