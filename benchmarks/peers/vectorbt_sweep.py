"""vectorbt: workload 7's grid as one parameter broadcast.

Idiom: ``vbt.MA.run`` over every fast and slow window at once, the crossings of each (fast,
slow) pair as signal columns, ``Portfolio.from_signals`` over the columns (``sl_stop`` a
column parameter), as vectorbt's documentation broadcasts a grid. The columns run in chunks
of ``CHUNK`` (the whole grid at once would need tens of GB for 100k bars × 10,000 columns).

Deviations: no leverage and no margin (1x), so the stop-loss is given as the price move it
is at 3x (``sl_stop`` = |stop-loss| / 3); signals shifted one bar and executed at the open,
``size=np.inf``, fees on the traded value, as the single-run peer (``vectorbt_sma``).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from benchmarks import workloads as wl

NAME = "vectorbt"
PACKAGES = ("vectorbt", "vectorbt-rust")
KINDS = ("sweep",)
CHUNK = 500
"""Columns per ``from_signals`` call."""
WARMUP_BARS = 2_000


def grid() -> list[tuple[int, int, float]]:
    """The (fast, slow, stop-loss) columns, in the sweep's order."""
    return [(f, s, sl) for f in wl.SWEEP_FAST for s in wl.SWEEP_SLOW for sl in wl.SWEEP_STOPLOSS]


def simulate(frame: pd.DataFrame, workload: wl.Workload, engine: str) -> tuple[int, float]:
    """Every column of the grid; (trades of all columns, the best final value)."""
    import vectorbt as vbt

    close = frame["close"]
    fast = vbt.MA.run(close, list(wl.SWEEP_FAST)).ma.to_numpy()
    slow = vbt.MA.run(close, list(wl.SWEEP_SLOW)).ma.to_numpy()
    fast_at = {f: k for k, f in enumerate(wl.SWEEP_FAST)}
    slow_at = {s: k for k, s in enumerate(wl.SWEEP_SLOW)}
    columns = grid()
    last = len(frame) - 1
    price = frame["open"].to_numpy().copy()
    price[last] = close.iloc[last]
    trades, best = 0, -np.inf
    for start in range(0, len(columns), CHUNK):
        part = columns[start : start + CHUNK]
        f = fast[:, [fast_at[c[0]] for c in part]]
        s = slow[:, [slow_at[c[1]] for c in part]]
        long = np.zeros_like(f, dtype=bool)
        short = np.zeros_like(f, dtype=bool)
        with np.errstate(invalid="ignore"):
            long[1:] = (f > s)[:-1]
            short[1:] = (f < s)[:-1]
        long[last] = short[last] = False
        exits = np.zeros_like(long)
        exits[last] = True
        index = pd.MultiIndex.from_tuples(part, names=["fast", "slow", "stoploss"])
        portfolio = vbt.Portfolio.from_signals(
            close,
            entries=pd.DataFrame(long, index=frame.index, columns=index),
            exits=pd.DataFrame(exits, index=frame.index, columns=index),
            short_entries=pd.DataFrame(short, index=frame.index, columns=index),
            short_exits=pd.DataFrame(exits, index=frame.index, columns=index),
            price=pd.Series(price, index=frame.index),
            sl_stop=np.array([abs(c[2]) / wl.LEVERAGE for c in part]),
            size=np.inf,
            fees=workload.fee,
            init_cash=workload.equity,
            freq=frame.index[1] - frame.index[0],
            engine=engine,
        )
        trades += int(portfolio.trades.count().sum())
        best = max(best, float(portfolio.final_value().max()))
    return trades, best


def run(workload: wl.Workload, engine: str = "auto") -> dict[str, Any]:
    """Warm-up on a prefix (JIT compilation), then the whole grid, timed."""
    import vectorbt  # noqa: F401  (import time is not part of either figure)

    frame = workload.frame()
    frame.index = frame.index.tz_convert(None)
    start = time.perf_counter()
    simulate(frame.iloc[:WARMUP_BARS], workload, engine)
    warmup = time.perf_counter() - start
    start = time.perf_counter()
    trades, equity = simulate(frame, workload, engine)
    wall = time.perf_counter() - start
    return {"trades": trades, "final_equity": equity, "wall_s": wall, "warmup_s": warmup}
