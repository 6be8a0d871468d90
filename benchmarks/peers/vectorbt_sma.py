"""vectorbt: the SMA cross as a signal strategy (``Portfolio.from_signals``).

Idiom: SMAs with ``vbt.MA.run``, long entries where fast > slow and short entries where
fast < slow (``direction`` both, opposite entries reverse the position), the signals shifted
by one bar and executed at that bar's open (``price=open``), ``size=np.inf`` (all available
cash), ``fees`` on the traded value.

Deviation: vectorbt has no leverage or margin (a buy can spend at most the cash), so it runs at
1x and its agreement is checked against levtrade at 1x on the same data. At 1x its
``size=np.inf`` is exactly the benchmark's sizing rule (``q = E / (P * (1 + f))``). The last
bar executes at its close and closes the position, as the rule asks. ``ENGINE`` picks
vectorbt's compiled backend: "auto" uses the Rust engine (vectorbt-rust) when installed.
The index is made timezone-naive (UTC): with a tz-aware index vectorbt's shape checks
convert it to Python objects, which costs more than the simulation.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.workloads import Workload

NAME = "vectorbt"
PACKAGES = ("vectorbt", "vectorbt-rust")
KINDS = ("signal",)
ENGINE = "auto"
WARMUP_BARS = 2_000


def matching(workload: Workload) -> Workload:
    """The workload as this peer models it: no leverage."""
    return workload.with_leverage(1.0)


def simulate(frame: pd.DataFrame, workload: Workload, engine: str) -> tuple[int, float]:
    """Run the strategy on ``frame``; (trades, final equity)."""
    import vectorbt as vbt

    close = frame["close"]
    fast = vbt.MA.run(close, workload.fast).ma
    slow = vbt.MA.run(close, workload.slow).ma
    long_entries = (fast > slow).vbt.fshift(1, fill_value=False)
    short_entries = (fast < slow).vbt.fshift(1, fill_value=False)
    last = len(frame) - 1
    # The final bar trades at its close and only to close the position.
    price = frame["open"].copy()
    price.iloc[last] = close.iloc[last]
    long_entries.iloc[last] = False
    short_entries.iloc[last] = False
    exits = pd.Series(False, index=frame.index)
    exits.iloc[last] = True
    portfolio = vbt.Portfolio.from_signals(
        close,
        entries=long_entries,
        exits=exits,
        short_entries=short_entries,
        short_exits=exits,
        price=price,
        size=np.inf,
        fees=workload.fee,
        init_cash=workload.equity,
        freq=frame.index[1] - frame.index[0],
        engine=engine,
    )
    trades = int(portfolio.trades.count())
    return trades, float(portfolio.final_value())


def run(workload: Workload, engine: str = ENGINE) -> dict[str, Any]:
    """Measure one run: warm-up on a prefix (JIT compilation), then the timed full run."""
    import vectorbt  # noqa: F401  (import time is not part of either figure)

    frame = workload.frame()
    frame.index = frame.index.tz_convert(None)
    start = time.perf_counter()
    simulate(frame.iloc[:WARMUP_BARS], workload, engine)
    warmup = time.perf_counter() - start
    start = time.perf_counter()
    trades, equity = simulate(frame, workload, engine)
    wall = time.perf_counter() - start
    return {
        "trades": trades,
        "final_equity": equity,
        "wall_s": wall,
        "warmup_s": warmup,
    }
