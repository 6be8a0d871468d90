"""Several symbols on one time axis for portfolio (cross-margin) runs.

The axis is the **union** of the members' bar times by default, because listings start at
different dates and a portfolio must see every bar of every symbol. Arrays are 2-D with shape
``(bars, symbols)``; where a symbol has no bar (before its listing, after its data ends, or in
a kept gap) ``active`` is False, its prices and volume are NaN and its funding rate 0.0. The
``"intersection"`` axis keeps only the bars every symbol has, so ``active`` is all True.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from levtrade.data._types import BoolArray, FloatArray, IntArray
from levtrade.data.errors import DataValidationError, TimeframeError
from levtrade.data.market import OHLC, MarketData
from levtrade.data.timeframes import format_timeframe, format_ts
from levtrade.data.validate import Intervals

__all__ = ["AxisPolicy", "Portfolio"]

AxisPolicy = Literal["union", "intersection"]


GRID_SLACK = 4
"""A union axis is placed on the timeframe's grid when the grid from the first bar to the last
has at most this many steps per member bar (else the bar times are sorted)."""
_BLOCK_CELLS = 1 << 16
"""Cells of the portfolio's arrays filled at a time (a block of rows of every symbol, 512 KB
of floats): the block stays in the L2 cache while each symbol's part is written. One symbol's
column is contiguous, so its blocks are as long as that many rows."""


def _grid_steps(stamps: IntArray, first: int, timeframe_ms: int) -> slice | IntArray | None:
    """A member's steps on the timeframe's grid from ``first`` (at or before its first bar):
    a slice when its bars follow one another on the grid, found from the intervals without
    dividing every bar time; else each bar's step; ``None`` when a bar is off the grid."""
    if stamps.size == 0:
        return slice(0, 0)
    start, off = divmod(int(stamps[0]) - first, timeframe_ms)
    if off == 0 and (stamps.size == 1 or Intervals(stamps).bounds == (timeframe_ms,) * 2):
        return slice(start, start + stamps.size)
    offsets = stamps.astype(np.int64) - first
    if np.any(offsets % timeframe_ms):
        return None
    return offsets // timeframe_ms


def _union_axis(stamps: Sequence[IntArray], timeframe_ms: int) -> tuple[IntArray, list[IntArray]]:
    """The sorted union of the members' bar times (each strictly increasing) and each member's
    rows on it. Bar times on one grid of the timeframe, the usual case, are placed by their
    step on the grid, in time linear in the bars; others are sorted and searched."""
    filled = [s for s in stamps if s.size]
    if filled and timeframe_ms > 0:
        first = min(int(s[0]) for s in filled)
        span = (max(int(s[-1]) for s in filled) - first) // timeframe_ms + 1
        if span <= GRID_SLACK * sum(s.size for s in filled):
            steps = [_grid_steps(s, first, timeframe_ms) for s in stamps]
            if all(step is not None for step in steps):
                taken = np.zeros(span, dtype=np.bool_)
                for step in steps:
                    taken[step] = True
                row_of = np.cumsum(taken) - 1
                axis = np.flatnonzero(taken).astype(np.int64) * timeframe_ms + first
                return axis, [row_of[step] for step in steps]
    axis = np.unique(np.concatenate(stamps)).astype(np.int64)
    return axis, [np.searchsorted(axis, s) for s in stamps]


@dataclass(frozen=True, eq=False)
class Portfolio:
    """Members aligned on one axis; ``[:, j]`` of every 2-D array is ``symbols[j]``.

    ``mark`` and ``index`` are present when at least one member has them; ``has_mark[j]``
    says whether column *j* is real (NaN otherwise). ``markets`` keeps each member as loaded.
    """

    symbols: tuple[str, ...]
    timeframe_ms: int
    timestamps: IntArray
    active: BoolArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    mark: OHLC | None
    index: OHLC | None
    has_mark: BoolArray
    has_index: BoolArray
    funding_rate: FloatArray
    funding_mask: BoolArray
    markets: tuple[MarketData, ...]
    axis: AxisPolicy = "union"
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_markets(
        cls, markets: Iterable[MarketData], *, axis: AxisPolicy = "union"
    ) -> Portfolio:
        """Align members (same timeframe, distinct symbols) on the union or common axis."""
        members = tuple(markets)
        if not members:
            raise DataValidationError("a portfolio needs at least one symbol")
        if axis not in ("union", "intersection"):
            raise DataValidationError(f"unknown axis {axis!r}; use 'union' or 'intersection'")
        symbols = tuple(m.symbol for m in members)
        duplicates = sorted({s for s in symbols if symbols.count(s) > 1})
        if duplicates:
            raise DataValidationError(f"symbol(s) given twice: {', '.join(duplicates)}")
        timeframe = members[0].timeframe_ms
        for member in members[1:]:
            if member.timeframe_ms != timeframe:
                raise TimeframeError(
                    f"{member.symbol} has {member.timeframe} bars but {members[0].symbol} has "
                    f"{format_timeframe(timeframe)}; resample them to one timeframe first",
                    file=str(member.metadata.get("source", member.symbol)),
                )
        first = members[0].timestamps
        if first.size and all(np.array_equal(m.timestamps, first) for m in members[1:]):
            # one market, or markets on one axis (each validated strictly increasing): both
            # axes are that axis, without the sort of a union
            stamps = first.astype(np.int64)
            rows = [np.arange(stamps.size) for _ in members]
        elif axis == "union":
            stamps, rows = _union_axis([m.timestamps for m in members], timeframe)
        else:
            stamps = members[0].timestamps
            for member in members[1:]:
                stamps = np.intersect1d(stamps, member.timestamps, assume_unique=True)
            if stamps.size == 0:
                raise DataValidationError(
                    "the symbols share no bar: the intersection axis is empty "
                    f"({', '.join(symbols)})"
                )
            members = tuple(m.take(np.searchsorted(m.timestamps, stamps)) for m in members)
            stamps = stamps.astype(np.int64)
            rows = [np.arange(stamps.size) for _ in members]
        size = stamps.size
        width = len(members)
        # each member's rows: (first, end) when they follow one another (a listing without
        # gaps), else their indices
        spans: list[tuple[int, int] | IntArray] = [
            (int(r[0]), int(r[-1]) + 1) if r.size and r[-1] - r[0] + 1 == r.size else r
            for r in rows
        ]

        def stack(
            columns: Sequence[NDArray[Any] | bool | None], fill: Any = np.nan, dtype: Any = float
        ) -> NDArray[Any]:
            """The members' columns side by side on the axis (``fill`` where a member has no
            bar), written block of rows by block: each block's cells stay in the cache while
            every member's part is written, and each cell is written once."""
            out = np.empty((size, width), dtype=dtype)
            block_rows = max(_BLOCK_CELLS // width, 1)
            for start in range(0, size, block_rows):
                stop = min(start + block_rows, size)
                block = out[start:stop]
                for j, (values, span) in enumerate(zip(columns, spans, strict=True)):
                    if values is None or not isinstance(span, tuple):
                        block[:, j] = fill
                        continue
                    lo = min(max(start, span[0]), stop)
                    hi = max(min(stop, span[1]), lo)
                    block[: lo - start, j] = fill
                    part = (
                        values[lo - span[0] : hi - span[0]]
                        if isinstance(values, np.ndarray)
                        else values
                    )
                    block[lo - start : hi - start, j] = part
                    block[hi - start :, j] = fill
            for j, (values, span) in enumerate(zip(columns, spans, strict=True)):
                if values is not None and not isinstance(span, tuple):
                    out[span, j] = values
            return out

        def stack_optional(label: str) -> tuple[OHLC | None, BoolArray]:
            parts: list[OHLC | None] = [getattr(m, label) for m in members]
            present = np.array([p is not None for p in parts], dtype=np.bool_)
            if not present.any():
                return None, present

            def part(name: str) -> FloatArray:
                return stack([None if p is None else getattr(p, name) for p in parts])

            return OHLC(part("open"), part("high"), part("low"), part("close")), present

        active = stack([True] * width, False, np.bool_)
        funding_rate = stack([m.funding_rate for m in members], 0.0)
        funding_mask = stack([m.funding_mask for m in members], False, np.bool_)
        mark, has_mark = stack_optional("mark")
        index, has_index = stack_optional("index")
        synthetic = any(m.synthetic for m in members)
        return cls(
            symbols=symbols,
            timeframe_ms=timeframe,
            timestamps=stamps,
            active=active,
            open=stack([m.open for m in members]),
            high=stack([m.high for m in members]),
            low=stack([m.low for m in members]),
            close=stack([m.close for m in members]),
            volume=stack([m.volume for m in members]),
            mark=mark,
            index=index,
            has_mark=has_mark,
            has_index=has_index,
            funding_rate=funding_rate,
            funding_mask=funding_mask,
            markets=members,
            axis=axis,
            metadata={
                "synthetic": synthetic,
                "sources": {m.symbol: m.metadata.get("source") for m in members},
            },
        )

    def __len__(self) -> int:
        return int(self.timestamps.size)

    @property
    def timeframe(self) -> str:
        """Timeframe as a string such as ``"1h"``."""
        return format_timeframe(self.timeframe_ms)

    @property
    def synthetic(self) -> bool:
        """True when any member is generated (demo) data."""
        return bool(self.metadata.get("synthetic", False))

    def column(self, symbol: str) -> int:
        """Column index of ``symbol``."""
        try:
            return self.symbols.index(symbol)
        except ValueError:
            raise DataValidationError(
                f"{symbol!r} is not in the portfolio ({', '.join(self.symbols)})"
            ) from None

    def __getitem__(self, symbol: str) -> MarketData:
        """The member as loaded (its own axis, no NaN padding)."""
        return self.markets[self.column(symbol)]

    def select(self, symbols: Sequence[str]) -> Portfolio:
        """A portfolio of some members, re-aligned."""
        return Portfolio.from_markets([self[s] for s in symbols], axis=self.axis)

    def between(self, start: int | str | None = None, end: int | str | None = None) -> Portfolio:
        """Members cut to ``start <= t < end`` and re-aligned; members left empty are dropped."""
        cut = [m.between(start, end) for m in self.markets]
        kept = [m for m in cut if len(m)]
        if not kept:
            raise DataValidationError("no bars in the requested time range")
        return Portfolio.from_markets(kept, axis=self.axis)

    def to_frame(self) -> pd.DataFrame:
        """Wide DataFrame: UTC open-time index, columns ``(field, symbol)``."""
        fields: dict[str, np.ndarray[Any, Any]] = {
            "open": self.open,
            "high": self.high,
            "low": self.low,
            "close": self.close,
            "volume": self.volume,
        }
        if self.mark is not None:
            fields.update(self.mark.as_dict("mark_"))
        if self.index is not None:
            fields.update(self.index.as_dict("index_"))
        fields["funding_rate"] = self.funding_rate
        fields["funding_event"] = self.funding_mask
        fields["active"] = self.active
        parts = {
            (name, symbol): values[:, j]
            for name, values in fields.items()
            for j, symbol in enumerate(self.symbols)
        }
        index = pd.DatetimeIndex(pd.to_datetime(self.timestamps, unit="ms", utc=True), name="date")
        frame = pd.DataFrame(parts, index=index)
        frame.columns = pd.MultiIndex.from_tuples(list(parts), names=["field", "symbol"])
        frame.attrs.update({**self.metadata, "timeframe": self.timeframe})
        return frame

    def summary(self) -> dict[str, Any]:
        """JSON-friendly description of the axis and each member's coverage."""
        return {
            "symbols": list(self.symbols),
            "timeframe": self.timeframe,
            "axis": self.axis,
            "bars": len(self),
            "start": format_ts(self.timestamps[0]) if len(self) else None,
            "end": format_ts(self.timestamps[-1]) if len(self) else None,
            "active_bars": {s: int(self.active[:, j].sum()) for j, s in enumerate(self.symbols)},
            "synthetic": self.synthetic,
        }
