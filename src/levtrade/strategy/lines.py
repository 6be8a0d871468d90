"""Data lines: the bar-relative view a ``next()`` strategy reads (backtrader style).

A :class:`Line` wraps a whole precomputed array and a shared :class:`Clock`; ``line[0]`` is the
current bar, ``line[-1]`` the one before. Reading ``line[1]`` (a later bar) raises
:class:`~levtrade.errors.LookaheadError`: that is the no-lookahead guard. Indexing is one
memoryview read, so a strategy costs no allocation per bar.

Lines combine arithmetically (``data.close - sma``) into new precomputed lines, which is how
indicators built in ``__init__`` stay vectorised.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from levtrade.errors import LookaheadError, StrategyError

FloatArray = NDArray[np.float64]


class Clock:
    """The bar a run is at; every line of a run shares one clock."""

    __slots__ = ("bars", "i")

    def __init__(self, bars: int) -> None:
        self.i = -1
        self.bars = bars


class Line:
    """One series on the run's time axis, indexed relative to the current bar."""

    __slots__ = ("_clock", "_values", "array", "name")

    def __init__(self, array: Any, clock: Clock, name: str = "") -> None:
        values = np.ascontiguousarray(array, dtype=np.float64)
        if values.ndim != 1 or values.shape[0] != clock.bars:
            raise StrategyError(
                f"line {name or '?'}: expected {clock.bars} values on the run's axis, got shape "
                f"{values.shape}"
            )
        self.array: FloatArray = values
        """The whole series (for building indicators in ``__init__``, never in ``next``)."""
        self._values: Any = memoryview(values)  # type: ignore[arg-type]
        self._clock = clock
        self.name = name

    def __getitem__(self, ago: int) -> float:
        # the hot path of every next(): one addition, two comparisons, one memoryview read
        # (a live view of ``array``; a list of floats would read faster but would not see
        # writes to ``array``)
        i = self._clock.i + ago
        if ago > 0 or i < 0:
            self._out_of_range(ago)
        value: float = self._values[i]
        return value

    def _out_of_range(self, ago: int) -> None:
        if ago > 0:
            raise LookaheadError(
                f"{self.name or 'line'}[{ago}]: index {ago} reads a bar after the current one "
                f"(bar {self._clock.i}); use 0 for this bar and negative indices for earlier ones"
            )
        raise IndexError(f"{self.name or 'line'}[{ago}]: only {self._clock.i + 1} bar(s) so far")

    def get(self, ago: int = 0, size: int = 1) -> FloatArray:
        """The ``size`` values ending ``ago`` bars back (a read-only view, oldest first)."""
        if ago > 0:
            raise LookaheadError(f"{self.name or 'line'}.get(ago={ago}): reads a later bar")
        end = self._clock.i + ago + 1
        if size < 1 or end - size < 0:
            raise IndexError(
                f"{self.name or 'line'}.get(size={size}, ago={ago}): only {max(end, 0)} bar(s)"
            )
        view = self.array[end - size : end]
        view.flags.writeable = False
        return view

    def __len__(self) -> int:
        """Bars seen so far."""
        return self._clock.i + 1

    @property
    def first_valid(self) -> int:
        """Index of the first bar with a value (bars before are NaN: an indicator warming up)."""
        valid = ~np.isnan(self.array)
        if not valid.size:
            return self._clock.bars
        first = int(valid.argmax())  # the first True (0 when there is none)
        return first if valid[first] else self._clock.bars

    def derive(self, array: Any, name: str) -> Line:
        """A new line on this line's clock (an indicator computed from it)."""
        return Line(array, self._clock, name)

    def _combine(self, other: Any, op: Callable[[Any, Any], Any], symbol: str) -> Line:
        right = other.array if isinstance(other, Line) else other
        name = f"({self.name} {symbol} {getattr(other, 'name', other)})"
        return Line(np.asarray(op(self.array, right), dtype=np.float64), self._clock, name)

    def _rcombine(self, other: Any, op: Callable[[Any, Any], Any], symbol: str) -> Line:
        return Line(
            np.asarray(op(other, self.array), dtype=np.float64),
            self._clock,
            f"({other} {symbol} {self.name})",
        )

    def __add__(self, other: Any) -> Line:
        return self._combine(other, operator.add, "+")

    def __radd__(self, other: Any) -> Line:
        return self._rcombine(other, operator.add, "+")

    def __sub__(self, other: Any) -> Line:
        return self._combine(other, operator.sub, "-")

    def __rsub__(self, other: Any) -> Line:
        return self._rcombine(other, operator.sub, "-")

    def __mul__(self, other: Any) -> Line:
        return self._combine(other, operator.mul, "*")

    def __rmul__(self, other: Any) -> Line:
        return self._rcombine(other, operator.mul, "*")

    def __truediv__(self, other: Any) -> Line:
        return self._combine(other, operator.truediv, "/")

    def __rtruediv__(self, other: Any) -> Line:
        return self._rcombine(other, operator.truediv, "/")

    def __neg__(self) -> Line:
        return Line(-self.array, self._clock, f"-{self.name}")

    def __repr__(self) -> str:
        return f"Line({self.name!r}, bar {self._clock.i} of {self._clock.bars})"


class DataFeed:
    """One symbol's lines: ``open/high/low/close/volume``, ``mark_*`` (the trade candle where
    there is no mark data), ``funding_rate``, ``active`` (1.0 on bars the symbol has) and
    ``datetime`` (open time, ms)."""

    __slots__ = (
        "_clock",
        "active",
        "close",
        "datetime",
        "funding_rate",
        "high",
        "index",
        "low",
        "mark_close",
        "mark_high",
        "mark_low",
        "mark_open",
        "open",
        "symbol",
        "volume",
    )

    def __init__(
        self,
        symbol: str,
        index: int,
        clock: Clock,
        columns: dict[str, FloatArray],
    ) -> None:
        self.symbol = symbol
        self.index = index
        """Column of the symbol in the run (``datas[index]``)."""
        self._clock = clock
        self.open = Line(columns["open"], clock, f"{symbol}.open")
        self.high = Line(columns["high"], clock, f"{symbol}.high")
        self.low = Line(columns["low"], clock, f"{symbol}.low")
        self.close = Line(columns["close"], clock, f"{symbol}.close")
        self.volume = Line(columns["volume"], clock, f"{symbol}.volume")
        self.mark_open = Line(columns["mark_open"], clock, f"{symbol}.mark_open")
        self.mark_high = Line(columns["mark_high"], clock, f"{symbol}.mark_high")
        self.mark_low = Line(columns["mark_low"], clock, f"{symbol}.mark_low")
        self.mark_close = Line(columns["mark_close"], clock, f"{symbol}.mark_close")
        self.funding_rate = Line(columns["funding_rate"], clock, f"{symbol}.funding_rate")
        self.active = Line(columns["active"], clock, f"{symbol}.active")
        self.datetime = Line(columns["datetime"], clock, f"{symbol}.datetime")

    def __len__(self) -> int:
        return self._clock.i + 1

    def __repr__(self) -> str:
        return f"DataFeed({self.symbol!r})"
