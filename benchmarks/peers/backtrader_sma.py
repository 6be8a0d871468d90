"""backtrader: the SMA cross as an event-driven ``bt.Strategy``.

Idiom: ``bt.ind.SMA`` indicators, a ``PandasData`` feed, ``setcommission(commission=f,
leverage=3)`` (stock-like instrument: percentage commission on traded value, a long ties up
``value / leverage`` of cash, a short adds its proceeds) and ``close()`` + ``buy``/``sell`` to
flip. The plotting observers are off (``stdstats=False``).

Timing and sizing: the decision is made in ``next_open`` with ``cheat_on_open=True`` — the
mechanism backtrader documents for "indicators of the previous bar, stake from the open": the
indicators still hold the previous bar's values and the market orders fill at the current
bar's open, which is exactly "decide at bar i's close, fill at bar i + 1's open". Sizing in
``next()`` (without cheat-on-open) would have to use the signal bar's close; the fill at a
higher open then fails backtrader's cash check (on the real BTC data 24 % of next opens are
above the previous close). The size is the benchmark's rule at the open, from the equity after
the exit; a 1e-12 relative guard keeps the cash check from failing on rounding.

End of data: a position still open is closed at the last close with the fee, from the
broker's value at the end.
"""

from __future__ import annotations

import time
from typing import Any

import pandas as pd

from benchmarks.workloads import Workload

NAME = "backtrader"
PACKAGES = ("backtrader",)
KINDS = ("event",)
WARMUP_BARS = 2_000
ROUNDING_GUARD = 1.0 - 1e-12


def make_strategy(workload: Workload) -> type:
    """The ``bt.Strategy`` subclass for this workload's parameters."""
    import backtrader as bt

    leverage, fee = workload.leverage, workload.fee

    class SmaCross(bt.Strategy):  # type: ignore[misc]
        params = (("fast", workload.fast), ("slow", workload.slow))

        def __init__(self) -> None:
            self.sma_fast = bt.ind.SMA(self.data.close, period=self.p.fast)
            self.sma_slow = bt.ind.SMA(self.data.close, period=self.p.slow)
            self.closed_trades = 0
            self.rejected = 0

        def next_open(self) -> None:
            fast, slow = self.sma_fast[0], self.sma_slow[0]  # the previous bar's values
            if fast > slow:
                side = 1
            elif fast < slow:
                side = -1
            else:
                return
            held = self.position.size
            if held * side > 0:
                return
            price = self.data.open[0]
            # Equity at this open after closing the held position with the fee.
            equity = self.broker.getvalue() + held * (price - self.data.close[-1])
            equity -= abs(held) * price * fee
            size = leverage * equity / (price * (1.0 + leverage * fee)) * ROUNDING_GUARD
            if held:
                self.close()
            if side > 0:
                self.buy(size=size)
            else:
                self.sell(size=size)

        def notify_order(self, order: Any) -> None:
            if order.status in (order.Margin, order.Rejected):
                self.rejected += 1

        def notify_trade(self, trade: Any) -> None:
            if trade.isclosed:
                self.closed_trades += 1

    return SmaCross


def simulate(frame: pd.DataFrame, workload: Workload) -> tuple[int, float]:
    """Run the strategy on ``frame``; (trades, final equity)."""
    import backtrader as bt

    cerebro = bt.Cerebro(stdstats=False, cheat_on_open=True)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame))
    cerebro.addstrategy(make_strategy(workload))
    cerebro.broker.setcash(workload.equity)
    cerebro.broker.setcommission(commission=workload.fee, leverage=workload.leverage)
    strategy = cerebro.run()[0]
    if strategy.rejected:
        raise RuntimeError(f"backtrader rejected {strategy.rejected} orders")
    held = strategy.position.size
    equity = cerebro.broker.getvalue()
    trades = strategy.closed_trades
    if held:
        equity -= abs(held) * float(frame["close"].iloc[-1]) * workload.fee
        trades += 1
    return trades, float(equity)


def run(workload: Workload) -> dict[str, Any]:
    """Measure one run: warm-up on a prefix, then the timed full run."""
    import backtrader  # noqa: F401  (import time is not part of either figure)

    frame = workload.frame()
    frame.index = frame.index.tz_convert(None)
    start = time.perf_counter()
    simulate(frame.iloc[:WARMUP_BARS], workload)
    warmup = time.perf_counter() - start
    start = time.perf_counter()
    trades, equity = simulate(frame, workload)
    wall = time.perf_counter() - start
    return {"trades": trades, "final_equity": equity, "wall_s": wall, "warmup_s": warmup}
