"""Workload 6 peers: loading the 1M candles with other tools' own readers.

* ``pandas_parquet``: ``pandas.read_parquet`` of the same Parquet file, a baseline (no
  validation, no conversion to a market-data object).
* ``freqtrade_dir``: FreqTrade's ``load_pair_history`` on the same FreqTrade feather directory
  (futures candles), which also checks and fills gaps as FreqTrade does.

``warmup_s`` is a first load (imports done, file in the page cache afterwards); ``wall_s`` the
second.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.workloads import Workload

NAME = "loaders"
PACKAGES = ("pandas", "pyarrow", "freqtrade")
KINDS = ("data_parquet", "data_freqtrade")


def _twice(load: Callable[[], Any]) -> dict[str, Any]:
    start = time.perf_counter()
    load()
    warmup = time.perf_counter() - start
    start = time.perf_counter()
    rows = len(load())
    wall = time.perf_counter() - start
    return {"trades": None, "final_equity": None, "rows": rows, "wall_s": wall, "warmup_s": warmup}


def pandas_parquet(workload: Workload) -> dict[str, Any]:
    """Read the Parquet file into a DataFrame."""
    import pandas as pd

    return _twice(lambda: pd.read_parquet(workload.data_path))


def freqtrade_dir(workload: Workload) -> dict[str, Any]:
    """Load the pair's futures candles from the FreqTrade data directory."""
    from freqtrade.data.history import load_pair_history
    from freqtrade.enums import CandleType

    def load() -> Any:
        return load_pair_history(
            pair=workload.symbol,
            timeframe=workload.timeframe,
            datadir=Path(workload.freqtrade_dir),
            data_format="feather",
            candle_type=CandleType.FUTURES,
        )

    return _twice(load)
