"""Timeframe strings (CCXT style: ``1m``, ``5m``, ``1h``, ``8h``, ``1d``, ``1w``) and time parsing.

Time everywhere in levtrade is int64 milliseconds UTC; these helpers convert user input
(timeframe strings, ISO dates) into that unit and back.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np

from levtrade.data.errors import TimeframeError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MS_PER_UNIT",
    "format_timeframe",
    "format_ts",
    "parse_time",
    "parse_timeframe",
]

MS_PER_UNIT: dict[str, int] = {
    "s": 1_000,
    "m": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
    "w": 604_800_000,
}

_TIMEFRAME = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")


def parse_timeframe(timeframe: str | int) -> int:
    """Milliseconds in ``timeframe``; an int is taken as milliseconds already.

    Months and years have no fixed length, so they are refused rather than approximated.
    """
    if isinstance(timeframe, int | np.integer) and not isinstance(timeframe, bool):
        ms = int(timeframe)
        if ms <= 0:
            raise TimeframeError(f"timeframe must be positive, got {ms} ms")
        return ms
    if not isinstance(timeframe, str):
        raise TimeframeError(f"timeframe must be a string like '1h', got {timeframe!r}")
    match = _TIMEFRAME.match(timeframe)
    if match is None:
        raise TimeframeError(
            f"unknown timeframe {timeframe!r}: use <number><unit> with unit s, m, h, d or w "
            "(months are not supported: they have no fixed length)"
        )
    count = int(match.group(1))
    if count <= 0:
        raise TimeframeError(f"timeframe must be positive, got {timeframe!r}")
    return count * MS_PER_UNIT[match.group(2)]


def format_timeframe(ms: int) -> str:
    """The CCXT-style string for ``ms`` using the largest unit that divides it exactly."""
    if ms <= 0:
        raise TimeframeError(f"timeframe must be positive, got {ms} ms")
    for unit in ("w", "d", "h", "m", "s"):
        size = MS_PER_UNIT[unit]
        if ms % size == 0:
            return f"{ms // size}{unit}"
    raise TimeframeError(f"timeframe of {ms} ms is not a whole number of seconds")


def format_ts(ms: int | np.integer) -> str:
    """ISO 8601 UTC text for a millisecond timestamp, used in messages and summaries."""
    value = int(ms)
    text = datetime.fromtimestamp(value / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if value % 1000:
        text += f".{value % 1000:03d}"
    return text + "Z"


def parse_time(value: str | int | datetime | pd.Timestamp) -> int:
    """Milliseconds UTC from an ISO date/time, a datetime, or an int already in milliseconds.

    Naive dates and datetimes are read as UTC, the only time zone levtrade uses. (pandas is
    imported here: formatting a time, as the margin calculator does, does not need it.)
    """
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return int(value)
    import pandas as pd

    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise TimeframeError(f"cannot read {value!r} as a date/time (use ISO 8601)") from exc
    if pd.isna(stamp):
        raise TimeframeError(f"cannot read {value!r} as a date/time (use ISO 8601)")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(stamp.value // 1_000_000)
