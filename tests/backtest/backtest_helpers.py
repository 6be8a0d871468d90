"""Builders shared by the backtest tests (the compiled-kernel tests import them too: keep the
names and signatures stable).

Markets are tiny hand-made candle series so every expected number in a test can be worked
out by hand. Time starts at 2024-01-01 00:00 UTC, which is a funding time (00/08/16 UTC).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from levtrade.backtest import BacktestConfig, Strategy
from levtrade.backtest.engine import run_strategy
from levtrade.backtest.results import BacktestResult
from levtrade.data import OHLC, MarketData, Portfolio
from levtrade.data.series import FundingEvents
from levtrade.strategy.signals import SignalRules, Signals, SymbolSignals

T0 = 1_704_067_200_000
"""2024-01-01 00:00 UTC in ms: bar 0's open time, a funding time."""
HOUR = 3_600_000
BTC = "BTC/USDT:USDT"
ETH = "ETH/USDT:USDT"

Bar = tuple[float, float, float, float]


def flat(price: float) -> Bar:
    """A bar that opens, trades and closes at one price."""
    return (price, price, price, price)


def market(
    bars: Sequence[Bar],
    *,
    symbol: str = BTC,
    mark: Sequence[Bar] | None = None,
    index: Sequence[Bar] | None = None,
    funding: Mapping[int, float] | None = None,
    volume: float | Sequence[float] = 1e9,
    start: int = T0,
    timeframe_ms: int = HOUR,
) -> MarketData:
    """One symbol from ``(open, high, low, close)`` bars; ``mark``/``index`` candles the same
    way; ``funding`` maps a bar number to the rate settled at its open."""
    n = len(bars)
    ts = start + timeframe_ms * np.arange(n, dtype=np.int64)
    arr = np.asarray(bars, dtype=np.float64).reshape(n, 4)

    def ohlc(rows: Sequence[Bar] | None) -> OHLC | None:
        if rows is None:
            return None
        values = np.asarray(rows, dtype=np.float64).reshape(n, 4)
        return OHLC(*(np.ascontiguousarray(values[:, k]) for k in range(4)))

    events = FundingEvents.empty()
    if funding:
        bars_with = sorted(funding)
        events = FundingEvents(
            np.array([ts[k] for k in bars_with], dtype=np.int64),
            np.array([funding[k] for k in bars_with], dtype=np.float64),
            "<test>",
            0,
        )
    vol = np.broadcast_to(np.asarray(volume, dtype=np.float64), (n,)).copy()
    return MarketData(
        symbol=symbol,
        timeframe_ms=timeframe_ms,
        timestamps=ts,
        open=np.ascontiguousarray(arr[:, 0]),
        high=np.ascontiguousarray(arr[:, 1]),
        low=np.ascontiguousarray(arr[:, 2]),
        close=np.ascontiguousarray(arr[:, 3]),
        volume=vol,
        mark=ohlc(mark),
        index=ohlc(index),
        funding=events,
    )


def portfolio(*markets: MarketData) -> Portfolio:
    return Portfolio.from_markets(markets)


def config(**fields: Any) -> BacktestConfig:
    """Binance, 10,000 USDT, no fees unless given: hand calculations stay short."""
    values: dict[str, Any] = {
        "venue": "binance",
        "wallet": 10_000.0,
        "maker_fee": 0.0,
        "taker_fee": 0.0,
        "clearance_fee_rate": 0.0,
    }
    values.update(fields)
    return BacktestConfig(**values)


Action = Callable[[Strategy], Any]


class Scripted(Strategy):
    """Runs ``script[bar]`` (a list of callables taking the strategy) at each bar's close,
    and keeps every notification it gets."""

    params = (("script", {}), ("watch", None))

    def __init__(self) -> None:
        self.notified_orders: list[Any] = []
        self.notified_trades: list[Any] = []
        self.seen: list[Any] = []

    def next(self) -> None:
        bar = len(self) - 1
        for action in self.p.script.get(bar, ()):
            action(self)
        if self.p.watch is not None:
            self.seen.append(self.p.watch(self))

    def notify_order(self, order: Any) -> None:
        self.notified_orders.append(order)

    def notify_trade(self, trade: Any) -> None:
        self.notified_trades.append(trade)


def run_script(
    data: MarketData | Portfolio,
    script: Mapping[int, Iterable[Action]],
    *,
    watch: Callable[[Strategy], Any] | None = None,
    **config_fields: Any,
) -> BacktestResult:
    """Run :class:`Scripted` with ``script`` on ``data`` under :func:`config`."""
    params = {"script": {k: list(v) for k, v in script.items()}, "watch": watch}
    return run_strategy(Scripted, data, config(**config_fields), params=params)


def signals(
    data: MarketData | Portfolio,
    rules: SignalRules | None = None,
    **by_symbol: Mapping[str, Any],
) -> Signals:
    """A signal table: ``signals(data, BTC={"enter_long": [...]})`` with symbols spelt as
    keyword names (``BTC``, ``ETH``) or one mapping for a single-symbol ``data``."""
    names = {"BTC": BTC, "ETH": ETH}
    n = len(data)
    tables = {
        names.get(key, key): SymbolSignals.from_arrays(n, **columns)
        for key, columns in by_symbol.items()
    }
    return Signals(tables, rules or SignalRules())


def at(n: int, *bars: int) -> list[bool]:
    """A boolean column of length ``n`` that is True at ``bars``."""
    column = [False] * n
    for bar in bars:
        column[bar] = True
    return column
