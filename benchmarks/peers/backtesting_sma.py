"""backtesting.py: the SMA cross as an event-driven ``Strategy`` with ``next()``.

Idiom: indicators declared with ``self.I`` (pandas rolling means), ``next()`` reads the last
values and calls ``buy``/``sell``; ``exclusive_orders=True`` closes the open trade before the
opposite order, ``trade_on_close=False`` fills market orders at the next bar's open,
``margin=1/3`` is 3x leverage and ``commission`` the taker fee on traded value.
``FractionalBacktest`` trades whole satoshis (1e-8 BTC) instead of whole coins.

Sizing: backtesting.py sizes a relative order as ``margin_available * leverage * s /
(P * (1 + f))`` at the fill price. The order fraction ``s = (1 + f) / (1 + L * f)`` turns that
into the benchmark's rule ``q = L * E / (P * (1 + L * f))`` (then floored to a satoshi).

Start: backtesting.py calls ``next()`` first one bar after its indicators' warm-up (bar 100,
not 99), so its first trade is one bar later; ``matching`` states that for the comparison.

End of data: ``finalize_trades=True`` would close the last trade at the last bar's open, so the
run leaves it open and the result closes it at the last close with the fee, as the rule asks.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import replace
from typing import Any

import pandas as pd

from benchmarks.workloads import Workload

NAME = "backtesting.py"
PACKAGES = ("backtesting",)
KINDS = ("event",)
WARMUP_BARS = 2_000


def matching(workload: Workload) -> Workload:
    """The workload as this peer models it: the first decision one bar after the SMAs exist."""
    return replace(workload, first_decision=workload.slow)


def rolling_mean(values: Any, window: int) -> pd.Series:
    """SMA as backtesting.py's own examples write it."""
    return pd.Series(values).rolling(window).mean()


def make_strategy(workload: Workload) -> type:
    """The ``Strategy`` subclass for this workload's parameters."""
    from backtesting import Strategy

    order_fraction = (1.0 + workload.fee) / (1.0 + workload.leverage * workload.fee)

    class SmaCross(Strategy):  # type: ignore[misc]
        fast = workload.fast
        slow = workload.slow

        def init(self) -> None:
            self.sma_fast = self.I(rolling_mean, self.data.Close, self.fast)
            self.sma_slow = self.I(rolling_mean, self.data.Close, self.slow)

        def next(self) -> None:
            fast, slow = self.sma_fast[-1], self.sma_slow[-1]
            if fast > slow:
                if not self.position.is_long:
                    self.buy(size=order_fraction)
            elif fast < slow and not self.position.is_short:
                self.sell(size=order_fraction)

    return SmaCross


def simulate(frame: pd.DataFrame, workload: Workload) -> tuple[int, float]:
    """Run the strategy on ``frame``; (trades, final equity)."""
    from backtesting.lib import FractionalBacktest

    data = frame.rename(columns=str.capitalize)
    unit = 1e-8
    backtest = FractionalBacktest(
        data,
        make_strategy(workload),
        fractional_unit=unit,
        cash=workload.equity,
        commission=workload.fee,
        margin=1.0 / workload.leverage,
        trade_on_close=False,
        exclusive_orders=True,
        finalize_trades=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = backtest.run()
    equity = float(stats["Equity Final [$]"])
    trades = int(stats["# Trades"])
    open_units = stats["_strategy"].position.size * unit
    if open_units:
        equity -= abs(open_units) * float(frame["close"].iloc[-1]) * workload.fee
        trades += 1
    return trades, equity


def run(workload: Workload) -> dict[str, Any]:
    """Measure one run: warm-up on a prefix, then the timed full run."""
    import backtesting  # noqa: F401  (import time is not part of either figure)

    frame = workload.frame()
    start = time.perf_counter()
    simulate(frame.iloc[:WARMUP_BARS], workload)
    warmup = time.perf_counter() - start
    start = time.perf_counter()
    trades, equity = simulate(frame, workload)
    wall = time.perf_counter() - start
    return {"trades": trades, "final_equity": equity, "wall_s": wall, "warmup_s": warmup}
