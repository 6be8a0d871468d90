"""The trading port is real: a Strategy runs through a TradingContext that is not the engine.

``NotebookContext`` below is a second, minimal implementation of the port (as a paper or live
broker is): it records the orders it is given and holds positions the test sets. The strategy
is an ordinary backtrader-style ``Strategy`` subclass; nothing here imports the backtest engine.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from levtrade.margin import Account
from levtrade.model import Instrument, Order, OrderType
from levtrade.strategy import Strategy, TradingContext
from levtrade.strategy import indicators as ind
from levtrade.strategy.base import warmup_bars
from levtrade.strategy.context import PositionSync
from levtrade.strategy.lines import Clock, DataFeed
from levtrade.venues import get_venue

HOUR = 3_600_000
START = 1_735_689_600_000  # 2025-01-01 00:00 UTC


class NotebookContext:
    """A TradingContext for one symbol: positions set by hand, orders written down."""

    def __init__(self, symbol: str, bars: int, *, wallet: float = 10_000.0) -> None:
        self.symbols = (symbol,)
        self.instruments = (Instrument.parse(symbol),)
        self.hedge = False
        self.liquidation_buffer = 0.0
        self.sizes: list[dict[str, float]] = [{}]
        self.position_views: list[PositionSync] = []
        self.account = Account(get_venue("binance"), wallet)
        self.i = 0
        self.times = [START + k * HOUR for k in range(bars)]
        self.entry = 0.0
        self.submitted: list[Order] = []
        self.cancelled: list[Order] = []
        self._ids = 0

    @property
    def t(self) -> int:
        return self.times[self.i]

    def marks_at_close(self) -> Account:
        return self.account

    def liquidation_price(self, column: int, leg: str) -> float | None:
        return None

    def position_entry(self, symbol: str, leg: str) -> tuple[float, float, float]:
        return self.sizes[0][leg], self.entry, 1.0

    def new_id(self) -> int:
        self._ids += 1
        return self._ids

    def submit(self, order: Order) -> Order:
        self.submitted.append(order)
        return order

    def cancel(self, order: Order) -> None:
        self.cancelled.append(order)

    def hold(self, size: float, entry: float = 0.0) -> None:
        """The broker reports a position (as a fill would): the per-symbol mapping changes in
        place, as the port asks, and the views follow."""
        self.entry = entry
        self.sizes[0].clear()
        if size:
            self.sizes[0]["BOTH"] = size
        for view in self.position_views:
            view.sync()


class Crossing(Strategy):
    """Long 0.5 when the 2-bar mean crosses above the 4-bar mean; flat when it crosses below,
    with a protective stop 10 % under the entry bar's close."""

    params = (("size", 0.5),)

    def __init__(self) -> None:
        self.fast = ind.SMA(self.data.close, 2)
        self.slow = ind.SMA(self.data.close, 4)

    def next(self) -> None:
        if not self.position and self.fast[0] > self.slow[0]:
            self.buy(size=self.p.size)
            self.sell(size=self.p.size, price=self.data.close[0] * 0.9, exectype="stop")
        elif self.position and self.fast[0] < self.slow[0]:
            self.close()


CLOSES = [100.0, 100.0, 100.0, 100.0, 104.0, 108.0, 108.0, 100.0, 92.0]
"""Hand-computed: SMA(2) / SMA(4) at bar 4 = 106 / 103 > (cross up; bar 3 is 100 / 100, not
above); at bar 7 = 104 / 106 < (cross down); earlier bars have no SMA(4) (prenext)."""


def _run(context: NotebookContext, fill_at: dict[int, float]) -> Strategy:
    clock = Clock(len(CLOSES))
    closes = np.array(CLOSES)
    columns = {
        name: closes.copy()
        for name in (
            "open",
            "high",
            "low",
            "close",
            "mark_open",
            "mark_high",
            "mark_low",
            "mark_close",
        )
    }
    columns |= {
        "volume": np.ones(len(CLOSES)),
        "funding_rate": np.zeros(len(CLOSES)),
        "active": np.ones(len(CLOSES)),
        "datetime": np.array(context.times, dtype=np.float64),
    }
    feed = DataFeed(context.symbols[0], 0, clock, columns)
    port: TradingContext = context
    strategy = Crossing.bind(port, [feed], clock, None)
    warmup = warmup_bars(strategy)  # bar 3: SMA(4)'s first value
    assert warmup == 3
    for i in range(len(CLOSES)):
        clock.i = context.i = i
        if i in fill_at:
            context.hold(fill_at[i])
        if i >= warmup:
            strategy.next()
    return strategy


def test_a_strategy_trades_through_a_context_that_is_not_the_engine() -> None:
    context = NotebookContext("BTC/USDT:USDT", len(CLOSES))
    # the broker fills the entry at bar 5's open and the exit at bar 8's: the strategy holds
    # 0.5 from bar 5 to bar 7
    strategy = _run(context, fill_at={5: 0.5, 8: 0.0})
    orders = [(o.created_bar, o.side, str(o.type), o.size, o.price) for o in context.submitted]
    assert orders[0] == (4, "buy", "market", 0.5, orders[0][4])
    assert math.isnan(orders[0][4])
    # the stop: 10 % under bar 4's close of 104 = 93.6
    assert orders[1][:4] == (4, "sell", "stop", 0.5)
    assert orders[1][4] == pytest.approx(93.6)
    # the exit at bar 7's close: reduce-only, the whole position
    exit_order = context.submitted[2]
    assert (exit_order.created_bar, exit_order.side) == (7, "sell")
    assert exit_order.type is OrderType.MARKET
    assert exit_order.reduce_only and exit_order.close_position and exit_order.size == 0.5
    assert len(context.submitted) == 3
    # order ids and times come from the context
    assert [o.id for o in context.submitted] == [1, 2, 3]
    assert exit_order.created_time == START + 7 * HOUR
    assert strategy.position.size == 0.0 and not strategy.position
    assert strategy.broker.get_wallet() == 10_000.0


def test_the_position_view_follows_the_context() -> None:
    context = NotebookContext("ETH/USDT:USDT", len(CLOSES))
    strategy = _run(context, fill_at={})
    # never filled: the strategy asks to enter again at every bar while the cross holds
    entries = [o for o in context.submitted if o.side == "buy"]
    assert [o.created_bar for o in entries] == [4, 5, 6]
    assert not strategy.position
    context.hold(-2.0, entry=2_500.0)
    assert strategy.position.size == -2.0 and bool(strategy.position)
    assert strategy.position.price == 2_500.0  # the entry price comes from the port
