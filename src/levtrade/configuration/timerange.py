"""FreqTrade's ``--timerange``: ``20250101-20251231``, open on either side, bounds as dates or
epoch seconds or milliseconds."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from levtrade.errors import ConfigError


@dataclass(frozen=True)
class Timerange:
    """Bars with ``start <= open time <= stop`` (ms UTC; None = unbounded), as FreqTrade
    trims: a date is 00:00 UTC of that day and the candle opening at ``stop`` is included."""

    text: str
    start: int | None
    stop: int | None

    @property
    def end_exclusive(self) -> int | None:
        return None if self.stop is None else self.stop + 1


_TIMERANGE = re.compile(r"^(\d{8}|\d{10}|\d{13})?-(\d{8}|\d{10}|\d{13})?$")


def _timerange_bound(token: str, text: str) -> int:
    if len(token) == 8:
        try:
            day = datetime.strptime(token, "%Y%m%d").replace(tzinfo=UTC)
        except ValueError:
            raise ConfigError(
                f"timerange: {token!r} in {text!r} is not a date (YYYYMMDD)"
            ) from None
        return int(day.timestamp() * 1000)
    if len(token) == 10:
        return int(token) * 1000
    return int(token)


def parse_timerange(text: str) -> Timerange:
    """FreqTrade's timerange: ``20250101-20251231``, ``20250101-``, ``-20251231``; a bound may
    also be epoch seconds (10 digits) or milliseconds (13 digits)."""
    value = text.strip()
    match = _TIMERANGE.match(value)
    if match is None or value == "-":
        raise ConfigError(
            f"timerange: expected START-STOP such as 20250101-20251231 (either side may be "
            f"empty), got {text!r}"
        )
    start = None if match.group(1) is None else _timerange_bound(match.group(1), text)
    stop = None if match.group(2) is None else _timerange_bound(match.group(2), text)
    if start is not None and stop is not None and stop < start:
        raise ConfigError(f"timerange: the stop is before the start in {text!r}")
    return Timerange(value, start, stop)
