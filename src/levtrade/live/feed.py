"""Market data as the bot sees it: the closed candles of each symbol (trade and mark), the
funding rates, and the bar now forming (its open), fetched through ccxt and kept in memory.

A bar is closed once the venue shows a later one: the last row ccxt returns is the bar now
forming (only its open is final), every row before it is closed. :meth:`MarketFeed.update`
fetches what is new and returns the closed bars it added; :meth:`MarketFeed.market_data`
gives them as levtrade's :class:`~levtrade.data.MarketData`, the form the backtester reads, so
that a strategy's data lines and indicators are built exactly as in a backtest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from levtrade.data import MarketData, Portfolio, parse_timeframe
from levtrade.data.market import OHLC
from levtrade.data.series import FundingEvents
from levtrade.live.answers import candle, unique_by
from levtrade.live.errors import LiveError

PAGE = 1000


class CandleSource(Protocol):
    """Where candles and funding rates come from (the venue adapter)."""

    async def candles(
        self, symbol: str, timeframe: str, since: int | None, limit: int, kind: str = "trade"
    ) -> list[list[float]]: ...

    async def funding_rates(self, symbol: str, since: int | None) -> list[tuple[int, float]]: ...


@dataclass
class Series:
    """One symbol's closed bars."""

    times: list[int] = field(default_factory=list)
    trade: list[tuple[float, float, float, float, float]] = field(default_factory=list)
    mark: dict[int, tuple[float, float, float, float]] = field(default_factory=dict)
    funding: dict[int, float] = field(default_factory=dict)
    forming: tuple[int, float, float] | None = None
    """The bar now forming: (open time, trade open, mark open)."""


class MarketFeed:
    """The closed candles of ``symbols`` at ``timeframe`` (module docstring)."""

    def __init__(
        self,
        source: CandleSource,
        symbols: Sequence[str],
        timeframe: str,
        *,
        history: int,
        start: int | None = None,
    ) -> None:
        self.source = source
        self.symbols = tuple(symbols)
        self.timeframe = timeframe
        self.timeframe_ms = parse_timeframe(timeframe)
        self.history = history
        """Closed bars before the first decision (the strategy's warm-up)."""
        self.start = start
        """Open time of the first bar to keep (None: ``history`` bars back from now)."""
        self.series = {s: Series() for s in self.symbols}

    @property
    def last_closed(self) -> int | None:
        """Open time of the latest bar every symbol has closed."""
        lasts = [s.times[-1] for s in self.series.values() if s.times]
        return min(lasts) if len(lasts) == len(self.series) else None

    @property
    def now(self) -> int | None:
        """The venue's "now": the open time of the bar now forming."""
        forming = [s.forming[0] for s in self.series.values() if s.forming is not None]
        return max(forming) if forming else None

    async def update(self) -> list[int]:
        """Fetch what is new; return the open times of the bars newly closed (for every
        symbol), oldest first."""
        before = self.last_closed
        for symbol, series in self.series.items():
            await self._update(symbol, series)
        after = self.last_closed
        if after is None:
            return []
        times = self.series[self.symbols[0]].times
        lo = 0 if before is None else int(np.searchsorted(times, before, side="right"))
        return [t for t in times[lo:] if t <= after]

    async def _update(self, symbol: str, series: Series) -> None:
        if series.times:
            since: int | None = series.times[-1] + self.timeframe_ms
        elif self.start is not None:
            since = self.start
        else:
            since = None
        trade = _in_order(await self._rows(symbol, since, "trade"), f"candles {symbol}")
        mark = _in_order(await self._rows(symbol, since, "mark"), f"mark candles {symbol}")
        if not trade:
            return
        *closed, forming = trade
        marks = {row[0]: row for row in mark}
        for time, o, h, lo, c, volume in closed:
            if series.times and time <= series.times[-1]:
                continue
            series.times.append(time)
            series.trade.append((o, h, lo, c, volume))
            m = marks.get(time)
            if m is not None:
                series.mark[time] = m[1:5]
        forming_mark = marks.get(forming[0])
        series.forming = (
            forming[0],
            forming[1],
            forming_mark[1] if forming_mark is not None else forming[1],
        )
        if series.times:
            first = series.times[0]
            newest = max(series.funding, default=first - 1)
            for time, rate in await self.source.funding_rates(symbol, newest + 1):
                if time >= first:
                    series.funding[time] = rate

    async def _rows(self, symbol: str, since: int | None, kind: str) -> list[list[float]]:
        if since is None:
            return await self.source.candles(symbol, self.timeframe, None, self.history + 1, kind)
        rows: list[list[float]] = []
        while True:
            page = await self.source.candles(symbol, self.timeframe, since, PAGE, kind)
            rows.extend(page)
            if len(page) < PAGE:
                return rows
            since = int(page[-1][0]) + self.timeframe_ms

    def market_data(self, symbol: str, *, upto: int | None = None) -> MarketData:
        """The closed bars of ``symbol`` (up to the bar opening at ``upto``) as levtrade's
        market data: trade candles, mark candles where the venue has them, funding."""
        series = self.series[symbol]
        n = len(series.times)
        if upto is not None:
            n = int(np.searchsorted(series.times, upto, side="right"))
        if n == 0:
            raise LiveError(f"{symbol}: no closed {self.timeframe} candles yet")
        times = np.asarray(series.times[:n], dtype=np.int64)
        trade = np.asarray(series.trade[:n], dtype=np.float64)
        mark = None
        if all(t in series.mark for t in series.times[:n]):
            rows = np.asarray([series.mark[t] for t in series.times[:n]], dtype=np.float64)
            mark = OHLC(rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3])
        events = sorted((t, r) for t, r in series.funding.items() if t <= times[-1])
        funding = FundingEvents(
            np.asarray([t for t, _ in events], dtype=np.int64),
            np.asarray([r for _, r in events], dtype=np.float64),
            f"{symbol} funding (venue)",
        )
        return MarketData(
            symbol=symbol,
            timeframe_ms=self.timeframe_ms,
            timestamps=times,
            open=trade[:, 0],
            high=trade[:, 1],
            low=trade[:, 2],
            close=trade[:, 3],
            volume=trade[:, 4],
            mark=mark,
            funding=funding,
            metadata={"source": "venue"},
        )

    def portfolio(self, *, upto: int | None = None) -> Portfolio:
        return Portfolio.from_markets([self.market_data(s, upto=upto) for s in self.symbols])

    def last_close(self, symbol: str) -> float:
        series = self.series[symbol]
        if not series.trade:
            raise LiveError(f"{symbol}: no closed candle yet")
        return series.trade[-1][3]

    def last_mark(self, symbol: str) -> float:
        series = self.series[symbol]
        if series.times and series.times[-1] in series.mark:
            return series.mark[series.times[-1]][3]
        return self.last_close(symbol)


Candle = tuple[int, float, float, float, float, float]


def _in_order(rows: list[list[float]], what: str) -> list[Candle]:
    """The venue's candle rows checked (:func:`~levtrade.live.answers.candle`), in time order,
    a row repeated with the same values once (pages overlap); the same time with other values
    is a :class:`~levtrade.live.answers.MalformedAnswer`."""
    by_time = unique_by((candle(row, what) for row in rows), lambda c: str(c[0]), what)
    return sorted(by_time.values())
