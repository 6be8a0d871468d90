"""Validated single series: a candle series (trade, mark or index) and funding events.

Readers produce these; :class:`~levtrade.data.market.MarketData` aligns them on one axis.
Building one runs every validation rule, so an instance is always clean.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from levtrade.data._types import CANDLE_KINDS, CandleKind, FloatArray, GapPolicy, IntArray
from levtrade.data.errors import DataValidationError
from levtrade.data.resample import PartialPolicy, resample_arrays
from levtrade.data.timeframes import format_timeframe, parse_time, parse_timeframe
from levtrade.data.validate import (
    FUNDING_GRID_MS,
    FUNDING_SNAP_TOLERANCE_MS,
    GapReport,
    Intervals,
    Origin,
    apply_gap_policy,
    check_ohlc,
    check_rates,
    check_timestamps,
    check_volume,
    detect_timeframe,
    find_gaps,
    snap_funding_times,
)

__all__ = [
    "Candles",
    "FundingEvents",
    "TimeBound",
    "last_wins",
    "make_candles",
    "make_funding",
    "time_window",
]

TimeBound = int | str | None


def _float(values: Any) -> FloatArray:
    return np.ascontiguousarray(values, dtype=np.float64)


_TO_MS: dict[str, tuple[int, int]] = {
    "s": (1000, 1),
    "ms": (1, 1),
    "us": (1, 1000),
    "ns": (1, 10**6),
}
"""A datetime unit's step as (multiplier, divisor) to milliseconds."""
_NAT = np.iinfo(np.int64).min


def _epoch_ms(values: Any, where: Origin) -> IntArray:
    """Timestamps as epoch milliseconds: integers as given; datetimes (NumPy ``datetime64``
    or pandas', as an index, a Series or an array; naive ones read as UTC) from their unit,
    without a copy when it is milliseconds. A missing datetime (NaT) or one that is not a
    whole millisecond is refused: read as milliseconds, nanoseconds would be dates tens of
    thousands of years away."""
    values = getattr(values, "array", values)  # a pandas Series or index: its array
    if hasattr(values, "asi8") and hasattr(values, "unit"):  # pandas' datetimes (with a zone)
        unit, raw = str(values.unit), values.asi8
    else:
        array = np.asarray(values)
        if array.dtype.kind != "M":
            return np.ascontiguousarray(array, dtype=np.int64)
        unit, count = np.datetime_data(array.dtype)
        unit = unit if count == 1 else f"{count}{unit}"
        raw = array.view(np.int64)
    if unit not in _TO_MS:
        raise where.fail(
            f"datetimes in unit {unit!r}; use s, ms, us or ns", column=where.time_column
        )
    raw = np.ascontiguousarray(raw, dtype=np.int64)
    if raw.size and int(raw.min()) == _NAT:
        row = int(np.argmin(raw))
        raise where.fail("missing timestamp (NaT)", column=where.time_column, row=row)
    multiplier, divisor = _TO_MS[unit]
    if multiplier != 1:
        return raw * multiplier
    if divisor != 1:
        rest = raw % divisor
        if rest.any():
            row = int(np.flatnonzero(rest)[0])
            raise where.fail(
                "timestamp is not a whole millisecond",
                column=where.time_column,
                row=row,
                value=f"{int(raw[row])} {unit}",
            )
        return raw // divisor
    return raw


def last_wins(stamps: IntArray) -> IntArray:
    """Positions keeping, for each timestamp, its last occurrence, in time order (dedup where
    later rows replace earlier ones)."""
    order = np.argsort(stamps, kind="stable")
    ordered = stamps[order]
    return order[np.r_[ordered[1:] != ordered[:-1], True]]


def time_window(timestamps: IntArray, start: TimeBound, end: TimeBound) -> slice:
    """Index range of ``timestamps`` (sorted) with ``start <= t < end``."""
    lo = 0 if start is None else int(np.searchsorted(timestamps, parse_time(start), "left"))
    hi = (
        timestamps.size
        if end is None
        else int(np.searchsorted(timestamps, parse_time(end), "left"))
    )
    return slice(lo, max(lo, hi))


@dataclass(frozen=True, eq=False)
class Candles:
    """One validated candle series; ``volume`` is ``None`` for mark and index candles."""

    kind: CandleKind
    timestamps: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray | None
    timeframe_ms: int
    source: str
    gaps: GapReport
    metadata: dict[str, Any] = field(default_factory=dict)
    time_column: str = "timestamp"
    intervals: Intervals | None = field(default=None, init=False, repr=False, compare=False)
    """The intervals :func:`make_candles` checked the timestamps with (None for candles made
    otherwise): :meth:`MarketData.build <levtrade.data.MarketData.build>` reuses their
    bounds instead of finding them again."""

    def __len__(self) -> int:
        return int(self.timestamps.size)

    @property
    def timeframe(self) -> str:
        """Timeframe as a string such as ``"1h"``."""
        return format_timeframe(self.timeframe_ms)

    def prices(self) -> dict[str, FloatArray]:
        """The OHLC arrays by name."""
        return {"open": self.open, "high": self.high, "low": self.low, "close": self.close}

    def take(self, index: slice | IntArray) -> Candles:
        """Rows at ``index`` (a slice or integer positions), same metadata."""
        return replace(
            self,
            timestamps=self.timestamps[index],
            open=self.open[index],
            high=self.high[index],
            low=self.low[index],
            close=self.close[index],
            volume=None if self.volume is None else self.volume[index],
        )

    def between(self, start: TimeBound = None, end: TimeBound = None) -> Candles:
        """Bars with ``start <= open time < end`` (these candles themselves when that is
        every bar)."""
        window = time_window(self.timestamps, start, end)
        if window.start == 0 and window.stop == self.timestamps.size:
            return self
        return self.take(window)

    def resample(self, timeframe: str | int, partial: PartialPolicy = "drop") -> Candles:
        """Aggregated to a coarser timeframe (see :func:`resample_arrays`)."""
        target = parse_timeframe(timeframe)
        if target == self.timeframe_ms:
            return self
        ts, prices, volume, _ = resample_arrays(
            self.timestamps, self.prices(), self.volume, self.timeframe_ms, target, partial
        )
        return replace(
            self,
            timestamps=ts,
            open=prices["open"],
            high=prices["high"],
            low=prices["low"],
            close=prices["close"],
            volume=volume,
            timeframe_ms=target,
            gaps=find_gaps(ts, target),
        )


def make_candles(
    timestamps: Any,
    open_: Any,
    high: Any,
    low: Any,
    close: Any,
    volume: Any | None,
    *,
    kind: CandleKind = "trade",
    origin: Origin | str = "<arrays>",
    timeframe: str | int | None = None,
    gaps: GapPolicy = "error",
    names: tuple[str, str, str, str, str] = ("open", "high", "low", "close", "volume"),
    metadata: dict[str, Any] | None = None,
    strict_timeframe: bool = True,
) -> Candles:
    """Validate raw arrays into :class:`Candles`.

    ``timestamps``: epoch milliseconds, or datetimes (a DataFrame's ``DatetimeIndex`` as it
    is, any unit; naive ones read as UTC). Checks, in order: timestamps strictly increasing;
    prices finite and positive with high >= max(open, close) and low <= min(open, close);
    volume finite and >= 0 (trade candles only; mark and index volume is dropped); one
    timeframe; gaps by ``gaps``. ``names`` are the column names used in error messages;
    ``strict_timeframe`` is passed to :func:`~levtrade.data.validate.detect_timeframe`.
    """
    if kind not in CANDLE_KINDS:
        raise DataValidationError(f"unknown candle kind {kind!r}; use {', '.join(CANDLE_KINDS)}")
    where = origin if isinstance(origin, Origin) else Origin(origin)
    ts = _epoch_ms(timestamps, where)
    if ts.size == 0:
        raise where.fail("no rows")
    o, h, lo, c = _float(open_), _float(high), _float(low), _float(close)
    intervals = Intervals(ts)
    check_timestamps(ts, where, intervals)
    check_ohlc(o, h, lo, c, where, names[:4])
    vol: FloatArray | None = None
    if kind == "trade":
        if volume is None:
            raise where.fail("trade candles need a volume column", column=names[4])
        vol = _float(volume)
        check_volume(vol, where, names[4])
    declared = None if timeframe is None else parse_timeframe(timeframe)
    tf = detect_timeframe(ts, where, declared, strict=strict_timeframe, intervals=intervals)
    prices = {"open": o, "high": h, "low": lo, "close": c}
    ts, prices, vol, report = apply_gap_policy(ts, prices, vol, tf, gaps, where, intervals)
    candles = Candles(
        kind=kind,
        timestamps=ts,
        open=prices["open"],
        high=prices["high"],
        low=prices["low"],
        close=prices["close"],
        volume=vol,
        timeframe_ms=tf,
        source=where.file,
        gaps=report,
        metadata=dict(metadata or {}),
        time_column=where.time_column,
    )
    if intervals.timestamps is ts:  # not when filled gaps made a new axis
        object.__setattr__(candles, "intervals", intervals)
    return candles


@dataclass(frozen=True, eq=False)
class FundingEvents:
    """Funding settlements: times snapped to the hour grid, rates as fractions per interval.

    ``max_snap_ms`` is the largest exchange jitter removed when snapping (Binance stamps
    events like ``08:00:00.001``); a positive rate means longs pay shorts.
    """

    timestamps: IntArray
    rates: FloatArray
    source: str = ""
    max_snap_ms: int = 0

    def __len__(self) -> int:
        return int(self.timestamps.size)

    @classmethod
    def empty(cls, source: str = "") -> FundingEvents:
        """No funding events (spot data, or funding not supplied)."""
        return cls(np.zeros(0, np.int64), np.zeros(0, np.float64), source)

    def interval_ms(self) -> int | None:
        """The most common spacing between events, or ``None`` with fewer than two."""
        if self.timestamps.size < 2:
            return None
        values, counts = np.unique(np.diff(self.timestamps), return_counts=True)
        return int(values[int(np.argmax(counts))])

    def between(self, start: TimeBound = None, end: TimeBound = None) -> FundingEvents:
        """Events with ``start <= t < end``."""
        window = time_window(self.timestamps, start, end)
        return replace(self, timestamps=self.timestamps[window], rates=self.rates[window])


def make_funding(
    timestamps: Any,
    rates: Any,
    *,
    origin: Origin | str = "<arrays>",
    rate_column: str = "funding_rate",
    grid_ms: int = FUNDING_GRID_MS,
    tolerance_ms: int = FUNDING_SNAP_TOLERANCE_MS,
) -> FundingEvents:
    """Validate raw funding rows: sorted unique times, finite rates, snapped to the grid."""
    where = origin if isinstance(origin, Origin) else Origin(origin)
    ts = _epoch_ms(timestamps, where)
    values = _float(rates)
    if ts.size == 0:
        raise where.fail("no rows")
    check_timestamps(ts, where)
    check_rates(values, where, rate_column)
    snapped, largest = snap_funding_times(ts, where, grid_ms, tolerance_ms)
    return FundingEvents(snapped, values, where.file, largest)
