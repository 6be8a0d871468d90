"""MarketData: one symbol's trade candles with mark, index and funding on one time axis.

Everything is a numpy array indexed by bar, so the backtester's compiled kernels can use the
arrays directly: ``timestamps[i]`` is bar *i*'s open time (int64 ms UTC), ``mark.low[i]`` the
mark candle of the same bar, ``funding_rate[i]`` the rate settled at that bar.
"""

from __future__ import annotations

from dataclasses import InitVar, dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from levtrade.data._types import (
    COVERAGE_POLICIES,
    BoolArray,
    CandleKind,
    CoveragePolicy,
    FloatArray,
    IntArray,
)
from levtrade.data.errors import CoverageError, DataValidationError, TimeframeError
from levtrade.data.resample import PartialPolicy, resample_arrays
from levtrade.data.series import Candles, FundingEvents, TimeBound, time_window
from levtrade.data.timeframes import format_timeframe, format_ts, parse_timeframe
from levtrade.data.validate import GapReport, Intervals, find_gaps

__all__ = [
    "COARSE_MARK_POLICIES",
    "OHLC",
    "CoarseMarkPolicy",
    "MarketData",
    "align_funding",
    "basis_mark",
]

CoarseMarkPolicy = Literal["error", "basis"]
"""What :meth:`MarketData.build` does with mark candles coarser than the trade candles: refuse
them (``"error"``) or scale the trade candles by the basis at each mark candle's open
(``"basis"``, see :func:`basis_mark`)."""
COARSE_MARK_POLICIES: tuple[str, ...] = ("error", "basis")


@dataclass(frozen=True, eq=False)
class OHLC:
    """Open, high, low, close arrays aligned to a time axis (1-D per symbol, 2-D in a portfolio)."""

    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray

    def take(self, index: slice | IntArray | BoolArray) -> OHLC:
        """Rows at ``index``."""
        return OHLC(self.open[index], self.high[index], self.low[index], self.close[index])

    def as_dict(self, prefix: str = "") -> dict[str, FloatArray]:
        """Arrays by name, optionally prefixed (``mark_open`` ...)."""
        return {
            f"{prefix}open": self.open,
            f"{prefix}high": self.high,
            f"{prefix}low": self.low,
            f"{prefix}close": self.close,
        }


def align_funding(
    timestamps: IntArray, timeframe_ms: int, funding: FundingEvents
) -> tuple[FloatArray, BoolArray, int]:
    """Per-bar funding: the rate of each event in the bar that contains it.

    When the funding interval is a whole number of bars on the same grid (1h/4h/8h bars with
    8h funding) each event lands on the bar whose open time equals it. On coarser bars (1d bars
    with 8h funding) the events inside a bar are summed into it. Returns the rates (0.0 where no
    event), the event mask, and how many events inside the axis fell in a hole of the axis.
    """
    rate = np.zeros(timestamps.size, dtype=np.float64)
    mask = np.zeros(timestamps.size, dtype=np.bool_)
    if timestamps.size == 0 or len(funding) == 0:
        return rate, mask, 0
    event_ts = funding.timestamps
    inside = (event_ts >= timestamps[0]) & (event_ts < timestamps[-1] + timeframe_ms)
    bar = np.searchsorted(timestamps, event_ts, "right") - 1
    hit = inside & (event_ts < timestamps[np.clip(bar, 0, None)] + timeframe_ms)
    np.add.at(rate, bar[hit], funding.rates[hit])
    mask[bar[hit]] = True
    return rate, mask, int(inside.sum() - hit.sum())


def _check_1d(name: str, values: np.ndarray[Any, Any], size: int, dtype: type) -> None:
    if values.ndim != 1 or values.size != size or values.dtype != dtype:
        raise DataValidationError(
            f"array {name!r} must be 1-D {np.dtype(dtype).name} of length {size}, got "
            f"{values.dtype} with shape {values.shape}"
        )


@dataclass(frozen=True, eq=False)
class MarketData:
    """One symbol on one time axis: trade OHLCV, optional mark and index OHLC, funding.

    ``funding_rate`` and ``funding_mask`` are derived: the per-bar view of ``funding`` (see
    :func:`align_funding`); ``funding_rate`` is 0.0 on bars without an event, so
    ``-size * price * funding_rate`` is the payment on every bar. ``metadata`` always has
    ``"synthetic"``; generated data carries ``True`` into every output built from it.
    """

    symbol: str
    timeframe_ms: int
    timestamps: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    mark: OHLC | None = None
    index: OHLC | None = None
    funding: FundingEvents = field(default_factory=FundingEvents.empty)
    gaps: GapReport | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    funding_rate: FloatArray = field(init=False, repr=False)
    funding_mask: BoolArray = field(init=False, repr=False)
    funding_in_gaps: int = field(init=False, repr=False)
    intervals: InitVar[Intervals | None] = None
    """The intervals of ``timestamps`` when already found (:attr:`Candles.intervals`): their
    bounds are read instead of found again; intervals of another array are ignored."""

    def __post_init__(self, intervals: Intervals | None) -> None:
        n = int(self.timestamps.size)
        _check_1d("timestamps", self.timestamps, n, np.int64)
        for name in ("open", "high", "low", "close", "volume"):
            _check_1d(name, getattr(self, name), n, np.float64)
        for label, prices in (("mark", self.mark), ("index", self.index)):
            if prices is not None:
                for name, values in prices.as_dict(f"{label}_").items():
                    _check_1d(name, values, n, np.float64)
        if intervals is None or intervals.timestamps is not self.timestamps:
            intervals = Intervals(self.timestamps)
        if n > 1 and intervals.bounds[0] <= 0:
            raise DataValidationError(f"{self.symbol}: timestamps must be strictly increasing")
        if self.gaps is None:
            gaps = find_gaps(self.timestamps, self.timeframe_ms, intervals=intervals)
            object.__setattr__(self, "gaps", gaps)
        rate, mask, in_gaps = align_funding(self.timestamps, self.timeframe_ms, self.funding)
        object.__setattr__(self, "funding_rate", rate)
        object.__setattr__(self, "funding_mask", mask)
        object.__setattr__(self, "funding_in_gaps", in_gaps)
        object.__setattr__(self, "metadata", {"synthetic": False, **self.metadata})

    @classmethod
    def build(
        cls,
        symbol: str,
        trade: Candles,
        *,
        mark: Candles | None = None,
        index: Candles | None = None,
        funding: FundingEvents | None = None,
        coverage: CoveragePolicy = "error",
        coarse_mark: CoarseMarkPolicy = "error",
        start: TimeBound = None,
        end: TimeBound = None,
        metadata: dict[str, Any] | None = None,
    ) -> MarketData:
        """Align validated series on the trade candles' axis.

        Mark and index candles must have a bar for every trade bar; a finer timeframe is
        resampled to the trade timeframe first (``metadata["mark_rule"]``: ``"resampled"``).
        A coarser mark is refused unless ``coarse_mark="basis"`` (see :func:`basis_mark`;
        ``metadata["mark_rule"]`` then says ``"basis"``); a coarser index is always refused.
        ``metadata["mark_timeframe"]`` is the mark candles' own timeframe. With
        ``coverage="trim"`` trade bars before the first or after the last covered bar are
        dropped (a listing whose mark history starts later); a hole inside is still an error.
        """
        if coverage not in COVERAGE_POLICIES:
            raise DataValidationError(
                f"unknown coverage policy {coverage!r}; use {', '.join(COVERAGE_POLICIES)}"
            )
        if coarse_mark not in COARSE_MARK_POLICIES:
            raise DataValidationError(
                f"coarse_mark: unknown policy {coarse_mark!r}; use "
                f"{', '.join(COARSE_MARK_POLICIES)}"
            )
        history = trade
        trade = trade.between(start, end)
        if len(trade) == 0:
            raise DataValidationError(
                "no trade candles in the requested time range", file=trade.source
            )
        others = {
            label: _to_timeframe(candles, trade, label, coarse_mark)
            for label, candles in (("mark", mark), ("index", index))
            if candles is not None
        }
        if coverage == "trim":
            for candles in others.values():
                trade = trade.take(_covered_window(trade, candles))
        aligned = {
            label: (
                basis_mark(history, trade, candles)
                if candles.timeframe_ms > trade.timeframe_ms
                else _align(trade, candles, label)
            )
            for label, candles in others.items()
        }
        meta: dict[str, Any] = {**trade.metadata, **(metadata or {})}
        meta.setdefault("source", trade.source)
        for label, given in (("mark", mark), ("index", index)):
            if given is None:
                continue
            meta.setdefault(f"{label}_source", given.source)
            meta[f"{label}_timeframe"] = given.timeframe
            if given.timeframe_ms > trade.timeframe_ms:
                meta[f"{label}_rule"] = "basis"
            elif given.timeframe_ms < trade.timeframe_ms:
                meta[f"{label}_rule"] = "resampled"
        if funding is not None:
            meta.setdefault("funding_source", funding.source)
        return cls(
            symbol=symbol,
            timeframe_ms=trade.timeframe_ms,
            timestamps=trade.timestamps,
            open=trade.open,
            high=trade.high,
            low=trade.low,
            close=trade.close,
            volume=trade.volume if trade.volume is not None else np.zeros(len(trade)),
            mark=aligned.get("mark"),
            index=aligned.get("index"),
            funding=funding if funding is not None else FundingEvents.empty(),
            gaps=trade.gaps,
            metadata=meta,
            intervals=trade.intervals,
        )

    def __len__(self) -> int:
        return int(self.timestamps.size)

    @property
    def symbols(self) -> tuple[str, ...]:
        """``(symbol,)``: the one column of a run over this market, as a portfolio names its."""
        return (self.symbol,)

    @property
    def timeframe(self) -> str:
        """Timeframe as a string such as ``"1h"``."""
        return format_timeframe(self.timeframe_ms)

    @property
    def synthetic(self) -> bool:
        """True for generated (demo) data."""
        return bool(self.metadata.get("synthetic", False))

    @property
    def start(self) -> int | None:
        """Open time of the first bar."""
        return int(self.timestamps[0]) if self.timestamps.size else None

    @property
    def end(self) -> int | None:
        """Open time of the last bar."""
        return int(self.timestamps[-1]) if self.timestamps.size else None

    def take(self, index: slice | IntArray | BoolArray) -> MarketData:
        """Bars at ``index``; funding events outside the kept bars' span are dropped."""
        ts = self.timestamps[index]
        funding = self.funding
        if ts.size:
            funding = funding.between(int(ts[0]), int(ts[-1]) + self.timeframe_ms)
        else:
            funding = FundingEvents.empty(funding.source)
        return replace(
            self,
            timestamps=ts,
            open=self.open[index],
            high=self.high[index],
            low=self.low[index],
            close=self.close[index],
            volume=self.volume[index],
            mark=None if self.mark is None else self.mark.take(index),
            index=None if self.index is None else self.index.take(index),
            funding=funding,
            gaps=None,
        )

    def between(self, start: TimeBound = None, end: TimeBound = None) -> MarketData:
        """Bars with ``start <= open time < end`` (ISO strings or ms)."""
        return self.take(time_window(self.timestamps, start, end))

    def resample(self, timeframe: str | int, partial: PartialPolicy = "drop") -> MarketData:
        """All candle series aggregated to ``timeframe``; funding events are kept as they are."""
        target = parse_timeframe(timeframe)
        if target == self.timeframe_ms:
            return self
        ts, prices, volume, _ = resample_arrays(
            self.timestamps, self.trade_prices(), self.volume, self.timeframe_ms, target, partial
        )
        others: dict[str, OHLC] = {}
        for label, ohlc in (("mark", self.mark), ("index", self.index)):
            if ohlc is not None:
                _, other, _, _ = resample_arrays(
                    self.timestamps, ohlc.as_dict(), None, self.timeframe_ms, target, partial
                )
                others[label] = OHLC(**other)
        return replace(
            self,
            timeframe_ms=target,
            timestamps=ts,
            volume=volume if volume is not None else np.zeros(ts.size),
            open=prices["open"],
            high=prices["high"],
            low=prices["low"],
            close=prices["close"],
            mark=others.get("mark"),
            index=others.get("index"),
            gaps=None,
        )

    def trade_prices(self) -> dict[str, FloatArray]:
        """The trade OHLC arrays by name."""
        return {"open": self.open, "high": self.high, "low": self.low, "close": self.close}

    def candles(self, kind: CandleKind = "trade") -> Candles | None:
        """One series back as :class:`Candles` (for writing); ``None`` if it is absent."""
        series = {
            "trade": OHLC(self.open, self.high, self.low, self.close),
            "mark": self.mark,
            "index": self.index,
        }
        if kind not in series:
            raise DataValidationError(f"unknown candle kind {kind!r}; use trade, mark or index")
        ohlc = series[kind]
        if ohlc is None:
            return None
        gaps = self.gaps if self.gaps is not None else find_gaps(self.timestamps, self.timeframe_ms)
        return Candles(
            kind=kind,
            timestamps=self.timestamps,
            open=ohlc.open,
            high=ohlc.high,
            low=ohlc.low,
            close=ohlc.close,
            volume=self.volume if kind == "trade" else None,
            timeframe_ms=self.timeframe_ms,
            source=str(self.metadata.get("source", self.symbol)),
            gaps=gaps,
            metadata=dict(self.metadata),
        )

    def to_frame(self) -> pd.DataFrame:
        """A DataFrame indexed by UTC open time; ``attrs`` carry symbol, timeframe, metadata."""
        columns: dict[str, Any] = {"timestamp": self.timestamps, **self.trade_prices()}
        columns["volume"] = self.volume
        if self.mark is not None:
            columns.update(self.mark.as_dict("mark_"))
        if self.index is not None:
            columns.update(self.index.as_dict("index_"))
        columns["funding_rate"] = self.funding_rate
        columns["funding_event"] = self.funding_mask
        index = pd.DatetimeIndex(pd.to_datetime(self.timestamps, unit="ms", utc=True), name="date")
        frame = pd.DataFrame(columns, index=index)
        frame.attrs.update({**self.metadata, "symbol": self.symbol, "timeframe": self.timeframe})
        return frame

    def summary(self) -> dict[str, Any]:
        """JSON-friendly description: size, range, gaps, what is present, provenance."""
        gaps = self.gaps if self.gaps is not None else find_gaps(self.timestamps, self.timeframe_ms)
        return {
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "bars": len(self),
            "start": None if self.start is None else format_ts(self.start),
            "end": None if self.end is None else format_ts(self.end),
            "gaps": gaps.to_dict(),
            "mark": self.mark is not None,
            "index": self.index is not None,
            "funding_events": len(self.funding),
            "funding_bars": int(self.funding_mask.sum()),
            "funding_in_gaps": self.funding_in_gaps,
            "min_close": float(self.close.min()) if len(self) else None,
            "max_close": float(self.close.max()) if len(self) else None,
            "synthetic": self.synthetic,
            "metadata": {k: v for k, v in self.metadata.items() if _jsonable(v)},
        }


def _jsonable(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


def _to_timeframe(
    candles: Candles, trade: Candles, label: str, coarse_mark: CoarseMarkPolicy
) -> Candles:
    """Bring mark/index candles to the trade timeframe; a coarser mark passes through (checked)
    only with ``coarse_mark="basis"``, any other coarser series is refused."""
    if candles.timeframe_ms == trade.timeframe_ms:
        return candles
    if trade.timeframe_ms % candles.timeframe_ms == 0:
        return candles.resample(trade.timeframe_ms)
    coarser = candles.timeframe_ms > trade.timeframe_ms
    if label == "mark" and coarser and coarse_mark == "basis":
        _check_coarse_grid(candles, trade)
        return candles
    hint = (
        "; or pass coarse_mark='basis' to scale the trade candles by the basis at each mark "
        "candle's open"
        if label == "mark" and coarser
        else ""
    )
    raise TimeframeError(
        f"{label} candles are {candles.timeframe}, trade candles {trade.timeframe}: {label} "
        "candles must have the trade timeframe or a finer one that divides it "
        f"(resample the trade candles to the coarser timeframe instead){hint}",
        file=candles.source,
    )


def _check_coarse_grid(mark: Candles, trade: Candles) -> None:
    """A coarse mark candle must span whole trade bars: a multiple of the trade timeframe,
    opening on the trade candles' grid."""
    if mark.timeframe_ms % trade.timeframe_ms:
        raise TimeframeError(
            f"coarse_mark='basis': mark candles are {mark.timeframe}, not a whole multiple of "
            f"the {trade.timeframe} trade candles",
            file=mark.source,
        )
    off_grid = np.flatnonzero((mark.timestamps - trade.timestamps[0]) % trade.timeframe_ms)
    if off_grid.size:
        row = int(off_grid[0])
        raise TimeframeError(
            f"coarse_mark='basis': the {mark.timeframe} mark candle opens off the grid of the "
            f"{trade.timeframe} trade candles (which open at {format_ts(trade.timestamps[0])})",
            file=mark.source,
            column=mark.time_column,
            row=row,
            value=f"{format_ts(mark.timestamps[row])} ({int(mark.timestamps[row])})",
        )


def _covered_window(trade: Candles, other: Candles) -> slice:
    """Trade rows from the first to the last bar that ``other``'s candles span."""
    if len(other) == 0:
        return slice(0, 0)
    lo = int(np.searchsorted(trade.timestamps, other.timestamps[0], "left"))
    end = int(other.timestamps[-1]) + other.timeframe_ms
    hi = int(np.searchsorted(trade.timestamps, end, "left"))
    return slice(lo, max(lo, hi))


def _uncovered(trade: Candles, other: Candles, label: str, found: BoolArray) -> CoverageError:
    """The error for trade bars without a ``label`` candle (``found`` is False there)."""
    missing = np.flatnonzero(~found)
    row = int(missing[0])
    span = (
        f"{format_ts(other.timestamps[0])} .. {format_ts(other.timestamps[-1])}"
        if len(other)
        else "nothing"
    )
    return CoverageError(
        f"no {label} candle for the trade bar at row {row} of {trade.source}; "
        f"{missing.size} trade bar(s) uncovered; {label} candles cover {span}; use "
        "coverage 'trim' to drop uncovered bars at the ends",
        file=other.source,
        column=other.time_column,
        value=f"{format_ts(trade.timestamps[row])} ({int(trade.timestamps[row])})",
    )


def basis_mark(history: Candles, trade: Candles, mark: Candles) -> OHLC:
    """Per-trade-bar mark candles from coarser mark candles, without looking ahead.

    Inside each mark candle [T, T + tf_mark) the trade candles are scaled by the basis known
    at T: ``ratio = mark.open(T) / open of the window's first trade bar`` (the bar opening at
    T; after a hole in ``history``, the first bar after it), and every trade bar of the window
    gets ``mark OHLC = trade OHLC × ratio``. The window's first bar gets the published mark
    open exactly, so funding settled there uses the exchange's mark; the coarse candle's
    high, low and close (known only at T + tf_mark) are never used. ``history`` is the full
    trade series ``trade`` was cut from, so a cut inside a window keeps the basis at T.
    """
    if len(trade) == 0:
        raise CoverageError(
            f"mark candles do not overlap the trade candles of {trade.source}", file=mark.source
        )
    stamps = trade.timestamps
    # the mark candles from the one holding the first trade bar to the last one opening by
    # the last trade bar (a mark file usually spans far more than the run)
    lo = max(int(np.searchsorted(mark.timestamps, stamps[0], "right")) - 1, 0)
    hi = int(np.searchsorted(mark.timestamps, stamps[-1], "right"))
    opens = mark.timestamps[lo:hi]
    mark_open = mark.open[lo:hi]
    # the trade bars of the window of mark candle w are starts[w] .. ends[w] - 1
    starts = np.searchsorted(stamps, opens, "left")
    ends = np.append(starts[1:], stamps.size)
    if not _covers(stamps, opens, starts, ends, mark.timeframe_ms):
        window = _containing(starts, stamps.size)
        found = window >= 0
        if opens.size:  # else no mark candle opens by the last trade bar: none is covered
            found &= stamps < (opens + mark.timeframe_ms)[np.maximum(window, 0)]
        raise _uncovered(trade, mark, "mark", found)
    # per mark candle: the history's first bar at or after its open (the last bar for a
    # candle opening after the history, which then opens no window) and the basis there
    first = np.searchsorted(history.timestamps, opens, "left")
    np.minimum(first, len(history) - 1, out=first)
    ratio = np.repeat(mark_open / history.open[first], ends - starts)
    open_ = trade.open * ratio
    # a window's first history bar, when it is among the trade bars, gets the published open
    first_ts = history.timestamps[first]
    at = np.minimum(np.searchsorted(stamps, first_ts, "left"), stamps.size - 1)
    opening = (stamps[at] == first_ts) & (starts <= at) & (at < ends)
    open_[at[opening]] = mark_open[opening]
    high = trade.high * ratio
    np.maximum(high, open_, out=high)
    low = trade.low * ratio
    np.minimum(low, open_, out=low)
    # the ratio, read for the last time, becomes the close (one bar-length array fewer)
    return OHLC(open_, high, low, np.multiply(trade.close, ratio, out=ratio))


def _covers(
    stamps: IntArray, opens: IntArray, starts: IntArray, ends: IntArray, timeframe_ms: int
) -> bool:
    """Whether every trade bar lies inside the mark candle whose window holds it: no bar
    before the first open, and each window's last bar before its candle's end (the bars are
    sorted, so the last is the latest); decided per mark candle, not per bar."""
    if opens.size == 0 or starts[0] != 0:
        return False
    held = ends > starts
    return bool(np.all(stamps[ends[held] - 1] < opens[held] + timeframe_ms))


def _containing(starts: IntArray, bars: int) -> IntArray:
    """For each of ``bars`` sorted bars, the index of the last window starting at or before
    it (-1 if none), from the windows' first bars ``starts`` (sorted): what
    ``searchsorted(opens, stamps, "right") - 1`` gives, counted up the bars."""
    window: IntArray = np.bincount(starts, minlength=bars + 1)[:bars]
    np.cumsum(window, out=window)
    window -= 1
    return window


def _align(trade: Candles, other: Candles, label: str) -> OHLC:
    """``other``'s OHLC at exactly the trade bars; every trade bar must be present."""
    if len(trade) == 0:
        raise CoverageError(
            f"{label} candles do not overlap the trade candles of {trade.source}",
            file=other.source,
        )
    stamps = trade.timestamps
    start = int(np.searchsorted(other.timestamps, stamps[0], "left"))
    run = slice(start, start + stamps.size)
    if np.array_equal(other.timestamps[run], stamps):
        # the usual case: the trade bars are one run of ``other``'s rows, taken as views
        return OHLC(other.open[run], other.high[run], other.low[run], other.close[run])
    pos = np.searchsorted(other.timestamps, stamps)
    safe = np.clip(pos, 0, max(len(other) - 1, 0))
    found = (pos < len(other)) & (other.timestamps[safe] == stamps)
    if not bool(found.all()):
        raise _uncovered(trade, other, label, found)
    return OHLC(other.open[pos], other.high[pos], other.low[pos], other.close[pos])
