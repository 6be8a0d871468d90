"""Validation rules for candles and funding events, vectorised over numpy arrays.

Each check reports the first offending row (and how many rows break the same rule), so a
user can fix the file; nothing here repairs data silently except the gap policy ``"fill"``
and funding-time snapping, which are explicit choices.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from levtrade.data._types import GAP_POLICIES, BoolArray, FloatArray, GapPolicy, IntArray
from levtrade.data.errors import DataValidationError, GapError, TimeframeError
from levtrade.data.timeframes import format_timeframe, format_ts

__all__ = [
    "FUNDING_GRID_MS",
    "FUNDING_SNAP_TOLERANCE_MS",
    "GapReport",
    "Intervals",
    "Origin",
    "apply_gap_policy",
    "check_ohlc",
    "check_rates",
    "check_timestamps",
    "check_volume",
    "detect_timeframe",
    "find_gaps",
    "snap_funding_times",
]

FUNDING_GRID_MS = 3_600_000
"""Funding settles on the hour on every supported venue (8h, 4h, 2h and 1h intervals)."""

FUNDING_SNAP_TOLERANCE_MS = 60_000
"""Largest offset from the grid that is taken as exchange jitter (Binance shows up to ~30 ms)."""


@dataclass(frozen=True)
class Origin:
    """Where rows come from, so errors can name the file and, for text files, the line."""

    file: str
    line_offset: int | None = None
    time_column: str = "timestamp"

    def fail(
        self,
        reason: str,
        *,
        column: str | None = None,
        row: int | None = None,
        value: object = None,
        cls: type[DataValidationError] = DataValidationError,
    ) -> DataValidationError:
        """Build the error for ``row`` (0-based data row) of this origin."""
        line = None
        if row is not None and self.line_offset is not None:
            line = row + self.line_offset
        return cls(reason, file=self.file, column=column, row=row, value=value, line=line)


BLOCK_ROWS = 1 << 14
"""Rows per block of the blockwise checks: the blocks of the few arrays a check reads stay in
the L2 cache, and a check makes no full-length temporary."""


def _blocks(size: int) -> Iterator[slice]:
    """Consecutive slices of at most ``BLOCK_ROWS`` rows covering ``range(size)``."""
    return (slice(start, min(start + BLOCK_ROWS, size)) for start in range(0, size, BLOCK_ROWS))


class Intervals:
    """The intervals between consecutive timestamps, shared by the timestamp, timeframe and gap
    checks of one series: the common case (sorted, one timeframe, no gap) is settled by the
    smallest and largest interval, found block by block; the full ``np.diff`` is made once,
    and only when a check needs more (to name a row, or the most common of mixed intervals)."""

    def __init__(self, timestamps: IntArray) -> None:
        self.timestamps = timestamps

    @cached_property
    def steps(self) -> IntArray:
        """Every interval: ``np.diff(timestamps)``."""
        return np.diff(self.timestamps)

    @cached_property
    def bounds(self) -> tuple[int, int]:
        """The smallest and largest interval (the series needs two timestamps or more)."""
        ts = self.timestamps
        count = ts.size - 1
        part = np.empty(min(BLOCK_ROWS, count), dtype=np.int64)
        smallest: list[int] = []
        largest: list[int] = []
        for block in _blocks(count):
            step = part[: block.stop - block.start]
            np.subtract(ts[block.start + 1 : block.stop + 1], ts[block], out=step)
            smallest.append(int(np.minimum.reduce(step)))
            largest.append(int(np.maximum.reduce(step)))
        return min(smallest), max(largest)


def _span(values: FloatArray) -> tuple[float, float]:
    """The smallest and largest value (NaN if any value is NaN), by reductions without
    temporaries, both taken block by block: one pass over the values, each block read again
    from the cache; ``values`` must not be empty."""
    blocks = -(-values.size // BLOCK_ROWS)
    lows = np.empty(blocks)
    highs = np.empty(blocks)
    for k, block in enumerate(_blocks(values.size)):
        part = values[block]
        lows[k] = np.minimum.reduce(part)
        highs[k] = np.maximum.reduce(part)
    return float(np.minimum.reduce(lows)), float(np.maximum.reduce(highs))


def ts_text(ms: int | np.integer) -> str:
    """A timestamp as ISO text plus the raw milliseconds, for error messages."""
    return f"{format_ts(ms)} ({int(ms)})"


def _duration(ms: int) -> str:
    return format_timeframe(ms) if ms > 0 and ms % 1000 == 0 else f"{ms} ms"


def _more(count: int) -> str:
    return f" ({count - 1} more rows break this rule)" if count > 1 else ""


def check_timestamps(ts: IntArray, origin: Origin, intervals: Intervals | None = None) -> None:
    """Timestamps must be strictly increasing: no duplicates, no rows out of order.

    ``intervals`` shares the intervals of ``ts`` with the other checks of the series."""
    if ts.size < 2:
        return
    intervals = intervals or Intervals(ts)
    if intervals.bounds[0] > 0:
        return
    step = intervals.steps
    bad = np.flatnonzero(step <= 0)
    if bad.size == 0:
        return
    row = int(bad[0]) + 1
    if step[bad[0]] == 0:
        reason = f"duplicate timestamp: same as row {row - 1}"
    else:
        reason = f"timestamps are not sorted: earlier than row {row - 1} ({ts_text(ts[row - 1])})"
    raise origin.fail(
        reason + _more(int(bad.size)),
        column=origin.time_column,
        row=row,
        value=ts_text(ts[row]),
    )


def _reject_rows(
    mask: BoolArray,
    values: FloatArray,
    origin: Origin,
    column: str,
    reason: str | Callable[[int], str],
) -> None:
    """Fail on the first row where ``mask`` holds, counting the others that break the rule."""
    bad = np.flatnonzero(mask)
    if bad.size == 0:
        return
    row = int(bad[0])
    text = reason(row) if callable(reason) else reason
    raise origin.fail(
        text + _more(int(bad.size)), column=column, row=row, value=repr(float(values[row]))
    )


def _ohlc_valid(open_: FloatArray, high: FloatArray, low: FloatArray, close: FloatArray) -> bool:
    """Whether every row passes :func:`check_ohlc`, decided block by block with two
    block-sized buffers, so valid candles cost no full-length temporary.

    With ``high >= max(open, close)`` and ``low <= min(open, close)`` on every row (false
    where any of them is NaN), all four prices are finite and positive exactly when the
    lowest low is above zero and the highest high is below infinity."""
    prices = (open_, high, low, close)
    size = open_.size
    if size == 0 or any(p.ndim != 1 or p.size != size for p in prices):
        return False
    limit = np.empty(min(BLOCK_ROWS, size), dtype=np.float64)
    holds = np.empty(limit.size, dtype=np.bool_)
    for block in _blocks(size):
        o, h, lo, c = (p[block] for p in prices)
        if not (np.minimum.reduce(lo) > 0.0 and np.maximum.reduce(h) < np.inf):
            return False
        rows = block.stop - block.start
        bound, flags = limit[:rows], holds[:rows]
        np.maximum(o, c, out=bound)
        if not np.logical_and.reduce(np.greater_equal(h, bound, out=flags)):
            return False
        np.minimum(o, c, out=bound)
        if not np.logical_and.reduce(np.less_equal(lo, bound, out=flags)):
            return False
    return True


def _check_finite_positive(values: FloatArray, column: str, origin: Origin) -> None:
    _reject_rows(~np.isfinite(values), values, origin, column, "missing or not finite (NaN/inf)")
    _reject_rows(values <= 0.0, values, origin, column, "price must be positive")


def check_ohlc(
    open_: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    origin: Origin,
    names: tuple[str, str, str, str] = ("open", "high", "low", "close"),
) -> None:
    """Prices finite and positive; high at or above, low at or below both open and close.

    Valid candles are confirmed blockwise; the row-by-row rules below run only to name the
    first offending row."""
    if _ohlc_valid(open_, high, low, close):
        return
    for values, name in zip((open_, high, low, close), names, strict=True):
        _check_finite_positive(values, name, origin)
    top = np.maximum(open_, close)
    _reject_rows(
        high < top,
        high,
        origin,
        names[1],
        lambda row: f"high is below max(open, close) = {float(top[row])!r}",
    )
    bottom = np.minimum(open_, close)
    _reject_rows(
        low > bottom,
        low,
        origin,
        names[2],
        lambda row: f"low is above min(open, close) = {float(bottom[row])!r}",
    )


def check_volume(volume: FloatArray, origin: Origin, name: str = "volume") -> None:
    """Volume finite and not negative (zero is a legitimate quiet bar)."""
    if volume.size == 0:
        return
    lowest, highest = _span(volume)
    if lowest >= 0.0 and highest < np.inf:
        return
    _reject_rows(~np.isfinite(volume), volume, origin, name, "missing or not finite (NaN/inf)")
    _reject_rows(volume < 0.0, volume, origin, name, "volume must not be negative")


def check_rates(rates: FloatArray, origin: Origin, name: str = "funding_rate") -> None:
    """Funding rates finite and within ±1 (a fraction per interval; 0.0001 = 0.01 %)."""
    if rates.size == 0:
        return
    lowest, highest = _span(rates)
    if lowest >= -1.0 and highest <= 1.0:
        return
    _reject_rows(~np.isfinite(rates), rates, origin, name, "missing or not finite (NaN/inf)")
    _reject_rows(
        np.abs(rates) > 1.0,
        rates,
        origin,
        name,
        "funding rate outside [-1, 1]: rates are fractions per interval (0.0001 = 0.01 %), "
        "not percent",
    )


def detect_timeframe(
    ts: IntArray,
    origin: Origin,
    declared: int | None = None,
    *,
    strict: bool = True,
    intervals: Intervals | None = None,
) -> int:
    """The bar spacing in ms; every interval must be a whole number of bars.

    Without ``declared`` the most common interval is the timeframe. With it, every interval
    must be a multiple of it (a file named ``-8m`` holding 1m candles is refused) and, when
    ``strict``, the smallest interval must equal it (a ``-1h`` file holding 4h candles is
    refused). Sparse series known to have the declared timeframe (stored or downloaded data)
    pass ``strict=False``. ``intervals`` shares the intervals of ``ts`` with the other checks.
    """
    if ts.size < 2:
        if declared is None:
            raise origin.fail(
                f"cannot detect the timeframe from {ts.size} row(s); pass the timeframe",
                column=origin.time_column,
                cls=TimeframeError,
            )
        return declared
    intervals = intervals or Intervals(ts)
    smallest, largest = intervals.bounds
    if declared is not None:
        timeframe = declared
    elif smallest == largest:
        timeframe = smallest
    else:
        values, counts = np.unique(intervals.steps, return_counts=True)
        timeframe = int(values[int(np.argmax(counts))])
    if smallest == largest == timeframe:
        return timeframe
    step = intervals.steps
    off_grid = np.flatnonzero(step % timeframe != 0)
    if off_grid.size:
        row = int(off_grid[0]) + 1
        raise origin.fail(
            f"interval of {_duration(int(step[row - 1]))} from row {row - 1} is not a whole "
            f"number of {format_timeframe(timeframe)} bars (mixed timeframes)"
            + _more(int(off_grid.size)),
            column=origin.time_column,
            row=row,
            value=ts_text(ts[row]),
            cls=TimeframeError,
        )
    if declared is not None and strict and smallest != declared:
        row = int(np.argmin(step)) + 1
        raise origin.fail(
            f"bars are at least {format_timeframe(smallest)} apart, but the timeframe "
            f"{format_timeframe(declared)} was declared",
            column=origin.time_column,
            row=row,
            value=ts_text(ts[row]),
            cls=TimeframeError,
        )
    return timeframe


@dataclass(frozen=True)
class GapReport:
    """Missing bars in a series: how many holes, how many bars, the largest and where.

    ``largest_at`` is the open time of the first missing bar of the largest hole; ``policy``
    records what was done (``"fill"`` inserted flat bars, ``"keep"`` left the holes).
    """

    timeframe_ms: int
    count: int = 0
    missing_bars: int = 0
    largest_missing_bars: int = 0
    largest_at: int | None = None
    policy: str = "keep"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary."""
        return {
            "gaps": self.count,
            "missing_bars": self.missing_bars,
            "largest_missing_bars": self.largest_missing_bars,
            "largest_at": None if self.largest_at is None else format_ts(self.largest_at),
            "policy": self.policy,
        }


def find_gaps(
    ts: IntArray, timeframe_ms: int, policy: str = "keep", intervals: Intervals | None = None
) -> GapReport:
    """Holes in a sorted series whose intervals are whole numbers of bars (``intervals``: those
    of ``ts``, shared with the other checks)."""
    intervals = intervals or Intervals(ts)
    if ts.size < 2 or intervals.bounds[1] <= timeframe_ms:
        return GapReport(timeframe_ms, policy=policy)
    step = intervals.steps
    holes = np.flatnonzero(step > timeframe_ms)
    if holes.size == 0:
        return GapReport(timeframe_ms, policy=policy)
    missing = step[holes] // timeframe_ms - 1
    biggest = int(np.argmax(missing))
    return GapReport(
        timeframe_ms=timeframe_ms,
        count=int(holes.size),
        missing_bars=int(missing.sum()),
        largest_missing_bars=int(missing[biggest]),
        largest_at=int(ts[holes[biggest]]) + timeframe_ms,
        policy=policy,
    )


def apply_gap_policy(
    ts: IntArray,
    prices: dict[str, FloatArray],
    volume: FloatArray | None,
    timeframe_ms: int,
    policy: GapPolicy,
    origin: Origin,
    intervals: Intervals | None = None,
) -> tuple[IntArray, dict[str, FloatArray], FloatArray | None, GapReport]:
    """Report gaps and act: raise (``error``), insert flat bars (``fill``) or leave (``keep``).

    A filled bar repeats the previous close as open, high, low and close with zero volume,
    as FreqTrade does, so no price move is invented. ``prices`` must hold a ``"close"`` array.
    ``intervals`` shares the intervals of ``ts`` with the other checks.
    """
    if policy not in GAP_POLICIES:
        raise origin.fail(f"unknown gap policy {policy!r}; use one of {', '.join(GAP_POLICIES)}")
    intervals = intervals or Intervals(ts)
    report = find_gaps(ts, timeframe_ms, policy, intervals)
    if report.count == 0 or policy == "keep":
        return ts, prices, volume, report
    if policy == "error":
        step = intervals.steps
        row = int(np.flatnonzero(step > timeframe_ms)[0]) + 1
        first_missing = int(step[row - 1] // timeframe_ms - 1)
        largest_at = format_ts(report.largest_at or 0)
        raise origin.fail(
            f"gap of {first_missing} missing {format_timeframe(timeframe_ms)} bar(s) before "
            f"this row; {report.count} gap(s), {report.missing_bars} missing bar(s) in total, "
            f"the largest {report.largest_missing_bars} bar(s) from {largest_at}"
            "; choose gap policy 'fill' or 'keep' to accept them",
            column=origin.time_column,
            row=row,
            value=ts_text(ts[row]),
            cls=GapError,
        )
    full = np.arange(int(ts[0]), int(ts[-1]) + timeframe_ms, timeframe_ms, dtype=np.int64)
    present = np.zeros(full.size, dtype=np.bool_)
    present[(ts - ts[0]) // timeframe_ms] = True
    source = np.cumsum(present) - 1
    previous_close = prices["close"][source]
    filled: dict[str, FloatArray] = {}
    for name, values in prices.items():
        out = previous_close.copy()
        out[present] = values
        filled[name] = out
    filled_volume = None
    if volume is not None:
        filled_volume = np.zeros(full.size, dtype=np.float64)
        filled_volume[present] = volume
    return full, filled, filled_volume, report


def snap_funding_times(
    ts: IntArray,
    origin: Origin,
    grid_ms: int = FUNDING_GRID_MS,
    tolerance_ms: int = FUNDING_SNAP_TOLERANCE_MS,
) -> tuple[IntArray, int]:
    """Round funding times to the grid; refuse offsets beyond the tolerance or collisions.

    Returns the snapped times and the largest absolute offset removed (ms).
    """
    snapped = ((ts + grid_ms // 2) // grid_ms) * grid_ms
    offset = np.abs(ts - snapped)
    bad = np.flatnonzero(offset > tolerance_ms)
    if bad.size:
        row = int(bad[0])
        raise origin.fail(
            f"funding time is {int(offset[row])} ms off the {format_timeframe(grid_ms)} grid "
            f"(tolerance {tolerance_ms} ms)" + _more(int(bad.size)),
            column=origin.time_column,
            row=row,
            value=ts_text(ts[row]),
        )
    if snapped.size > 1:
        same = np.flatnonzero(np.diff(snapped) == 0)
        if same.size:
            row = int(same[0]) + 1
            raise origin.fail(
                f"two funding events in one {format_timeframe(grid_ms)} slot: row {row - 1} "
                f"({ts_text(ts[row - 1])}) and this row both snap to {format_ts(snapped[row])}",
                column=origin.time_column,
                row=row,
                value=ts_text(ts[row]),
            )
    largest = int(offset.max()) if offset.size else 0
    return snapped.astype(np.int64), largest
