"""The market data of a run as the engines read it: one axis, 2-D arrays ``(bars, symbols)``.

:func:`prepare` turns a :class:`~levtrade.data.MarketData` or :class:`~levtrade.data.Portfolio`
into a :class:`RunData`: mark candles where the data has them (the trade candles standing in
otherwise), the oracle/index open for venues that settle funding at the oracle, and the funding
events per bar — the data's own, or the configured constant where a symbol has none
(docs/backtest.md, "Inputs"). A finer-timeframe dataset gives each bar's sub-bars, whose
concatenated paths replace the bar's own (step 3).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from levtrade.data import MarketData, Portfolio
from levtrade.errors import BacktestError
from levtrade.spec.config import BacktestConfig

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
HOUR_MS = 3_600_000

FineData = MarketData | Portfolio | Mapping[str, MarketData]


@dataclass(frozen=True, eq=False)
class SubBars:
    """One symbol's finer candles and, per bar of the run, the slice of them inside it."""

    timestamps: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    mark_open: FloatArray
    mark_high: FloatArray
    mark_low: FloatArray
    mark_close: FloatArray
    start: IntArray
    """``start[i]:end[i]`` are the sub-bars of bar ``i`` (empty: the bar's own path is used)."""
    end: IntArray


@dataclass(frozen=True, eq=False)
class RunData:
    """Arrays of shape ``(bars, symbols)``; NaN prices where a symbol is inactive."""

    symbols: tuple[str, ...]
    timeframe_ms: int
    timestamps: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    mark_open: FloatArray
    mark_high: FloatArray
    mark_low: FloatArray
    mark_close: FloatArray
    oracle_open: FloatArray
    """Index/oracle candle open (NaN where the data has none)."""
    funding_rate: FloatArray
    funding: BoolArray
    """Bars at whose open funding settles (data events, or the constant's schedule)."""
    active: BoolArray
    funding_constant: tuple[str, ...]
    """Symbols that used the configured constant funding rate."""
    synthetic: bool
    sub_bars: tuple[SubBars | None, ...]

    @property
    def bars(self) -> int:
        return int(self.timestamps.shape[0])

    @property
    def width(self) -> int:
        return len(self.symbols)

    def select(self, columns: Sequence[int]) -> RunData:
        """The run's data for some of its symbols, on the same axis (one collateral pool's
        symbols of a scoped run)."""
        keep = list(columns)

        def part(array: NDArray[Any]) -> NDArray[Any]:
            return np.ascontiguousarray(array[:, keep])

        symbols = tuple(self.symbols[j] for j in keep)
        return replace(
            self,
            symbols=symbols,
            open=part(self.open),
            high=part(self.high),
            low=part(self.low),
            close=part(self.close),
            volume=part(self.volume),
            mark_open=part(self.mark_open),
            mark_high=part(self.mark_high),
            mark_low=part(self.mark_low),
            mark_close=part(self.mark_close),
            oracle_open=part(self.oracle_open),
            funding_rate=part(self.funding_rate),
            funding=part(self.funding),
            active=part(self.active),
            funding_constant=tuple(s for s in self.funding_constant if s in symbols),
            sub_bars=tuple(self.sub_bars[j] for j in keep),
        )

    def columns(self, j: int) -> dict[str, FloatArray]:
        """Symbol j's series by name, as a strategy's data feed shows them."""
        return {
            "open": self.open[:, j],
            "high": self.high[:, j],
            "low": self.low[:, j],
            "close": self.close[:, j],
            "volume": self.volume[:, j],
            "mark_open": self.mark_open[:, j],
            "mark_high": self.mark_high[:, j],
            "mark_low": self.mark_low[:, j],
            "mark_close": self.mark_close[:, j],
            "funding_rate": self.funding_rate[:, j],
            "active": self.active[:, j].astype(np.float64),
            "datetime": self.timestamps.astype(np.float64),
        }


def _members(data: MarketData | Portfolio) -> tuple[MarketData, ...]:
    return (data,) if isinstance(data, MarketData) else data.markets


def prepare(
    data: MarketData | Portfolio, config: BacktestConfig, fine: FineData | None = None
) -> RunData:
    """The run's arrays for ``data`` under ``config`` (see the module docstring)."""
    if isinstance(data, MarketData):
        book = Portfolio.from_markets([data])
    elif isinstance(data, Portfolio):
        book = data
    else:
        raise BacktestError(f"data: expected MarketData or Portfolio, got {type(data).__name__}")
    if len(book) == 0:
        raise BacktestError("data: the market data has no bars")
    ts = book.timestamps
    shape = book.open.shape

    def mark_part(name: str) -> FloatArray:
        # the portfolio's own arrays (as the trade prices are) unless columns are filled in
        trade: FloatArray = getattr(book, name)
        if book.mark is None:
            return trade
        marks: FloatArray = getattr(book.mark, name)
        missing = ~book.has_mark
        if missing.any():
            marks = marks.copy()
            marks[:, missing] = trade[:, missing]
        return marks

    # without index candles no oracle price: one NaN seen through zero strides, read-only
    # (the oracle is read only on venues that fund at it)
    oracle: FloatArray = np.broadcast_to(np.float64(np.nan), shape)
    if book.index is not None:
        oracle = np.full(shape, np.nan)
        oracle[:, book.has_index] = book.index.open[:, book.has_index]

    rate = book.funding_rate
    events = book.funding_mask
    constant: list[str] = []
    if config.funding_rate is not None:
        rate = rate.copy()
        events = events.copy()
        interval = round(config.funding_interval_hours * HOUR_MS)
        # funding times inside [t, t + timeframe): one per bar on fine bars, several on coarse
        count = (ts + book.timeframe_ms - 1) // interval - (ts - 1) // interval
        for j, member in enumerate(_members(data)):
            if len(member.funding) == 0:
                constant.append(member.symbol)
                rate[:, j] = np.where(book.active[:, j], count * config.funding_rate, 0.0)
                events[:, j] = book.active[:, j] & (count > 0)

    sub_bars = tuple(_sub_bars(book, fine, j) for j in range(len(book.symbols)))
    return RunData(
        symbols=book.symbols,
        timeframe_ms=book.timeframe_ms,
        timestamps=ts,
        open=book.open,
        high=book.high,
        low=book.low,
        close=book.close,
        volume=book.volume,
        mark_open=mark_part("open"),
        mark_high=mark_part("high"),
        mark_low=mark_part("low"),
        mark_close=mark_part("close"),
        oracle_open=oracle,
        funding_rate=rate,
        funding=events & book.active,
        active=book.active,
        funding_constant=tuple(constant),
        synthetic=book.synthetic,
        sub_bars=sub_bars,
    )


def _fine_member(fine: FineData, symbol: str) -> MarketData | None:
    if isinstance(fine, MarketData):
        return fine if fine.symbol == symbol else None
    if isinstance(fine, Portfolio):
        return fine[symbol] if symbol in fine.symbols else None
    return fine.get(symbol)


def _sub_bars(book: Portfolio, fine: FineData | None, j: int) -> SubBars | None:
    if fine is None:
        return None
    symbol = book.symbols[j]
    member = _fine_member(fine, symbol)
    if member is None:
        return None
    if member.timeframe_ms >= book.timeframe_ms or book.timeframe_ms % member.timeframe_ms:
        raise BacktestError(
            f"fine: {symbol} sub-bars of {member.timeframe} must divide the run's "
            f"{book.timeframe} bars"
        )
    ts = book.timestamps
    start = np.searchsorted(member.timestamps, ts, "left").astype(np.int64)
    end = np.searchsorted(member.timestamps, ts + book.timeframe_ms, "left").astype(np.int64)
    end[~book.active[:, j]] = start[~book.active[:, j]]
    mark = member.mark
    return SubBars(
        timestamps=member.timestamps,
        open=member.open,
        high=member.high,
        low=member.low,
        close=member.close,
        mark_open=member.open if mark is None else mark.open,
        mark_high=member.high if mark is None else mark.high,
        mark_low=member.low if mark is None else mark.low,
        mark_close=member.close if mark is None else mark.close,
        start=start,
        end=end,
    )


def truncate(data: MarketData | Portfolio, bars: int) -> MarketData | Portfolio:
    """The first ``bars`` bars of the run's axis (for the look-ahead check)."""
    if isinstance(data, MarketData):
        return data.take(slice(0, bars))
    cut = int(data.timestamps[bars - 1]) + 1
    kept = [m.between(None, cut) for m in data.markets]
    return Portfolio.from_markets([m for m in kept if len(m)], axis=data.axis)
