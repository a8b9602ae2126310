"""Shapes of the Slack ids we read from payloads, checked before any of them is used.

A ``ts`` becomes a message id, a ``received_at`` and a ``thread_ts`` we post into; a channel id
is where we post; a user id decides a role. A malformed one (a forged or broken payload) would
raise deep inside, or post somewhere unexpected, so events carrying one are logged and ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

TS = re.compile(r"[0-9]{1,16}\.[0-9]{1,9}")
CHANNEL = re.compile(r"[CDG][A-Z0-9]{2,40}")
USER = re.compile(r"[UW][A-Z0-9]{2,40}")
SHAPES = {
    "ts": TS, "thread_ts": TS, "event_ts": TS, "message_ts": TS,
    "channel": CHANNEL, "channel_id": CHANNEL,
    "user": USER, "user_id": USER, "parent_user_id": USER,
}  # fmt: skip


def malformed(values: Mapping[str, object], required: Iterable[str] = ()) -> str | None:
    """The first field of ``values`` (by ``SHAPES``) that is present but not a well-formed id,
    or a ``required`` one that is missing; None when all is well."""
    for name in required:
        if values.get(name) in (None, ""):
            return name
    for name, shape in SHAPES.items():
        value = values.get(name)
        if value is not None and not (isinstance(value, str) and shape.fullmatch(value)):
            return name
    return None


def shown(value: object) -> str:
    """A payload value short enough for a log line."""
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"
