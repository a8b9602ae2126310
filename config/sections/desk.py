"""The agents' side: ``FRONTDESK_DESK__*`` (internal notes, SLAs) and ``DIGEST__*``."""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from config.sections.base import PositiveSeconds, Section


class DeskSettings(Section):
    internal_prefix: str = Field("note:", min_length=1)
    sla_minutes: dict[Literal["urgent", "high", "normal", "low"], PositiveSeconds] = {
        "urgent": 5.0,
        "high": 15.0,
        "normal": 60.0,
        "low": 240.0,
    }


class DigestSettings(Section):
    enabled: bool = True
    time: dt.time = dt.time(9, 0)
    timezone: str = "UTC"

    @field_validator("time", mode="before")
    @classmethod
    def _time_of_day(cls, value: object) -> object:
        # Text only: pydantic would read a number as seconds after midnight.
        return value if isinstance(value, dt.time) else parse_time_of_day(value)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(
                f"unknown timezone {value!r} (use an IANA name like Europe/Berlin)"
            ) from err
        return value


def parse_time_of_day(value: object) -> dt.time:
    """``"09:30"`` or ``"9:30:15"`` -> a time; anything else is refused with a clear reason."""
    text = str(value).strip()
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", text)
    if match is None:
        raise ValueError(f"{text!r} is not a time: write it as HH:MM, e.g. 09:30")
    hour, minute, second = (int(part or 0) for part in match.groups())
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"{text} is not a time of day (00:00 to 23:59)")
    return dt.time(hour, minute, second)
