"""FreqTrade strategy of workload 7: the benchmark's SMA cross with its averages as hyperopt
parameters over the sweep's grid (``populate_indicators`` computes every window once, as
FreqTrade's hyperopt documentation writes it; each epoch picks two of them)."""

from __future__ import annotations

from typing import Any

import talib.abstract as ta
from freqtrade.strategy import CategoricalParameter
from pandas import DataFrame
from sma_cross_benchmark import SmaCrossBenchmark

FAST = [5 * k for k in range(1, 21)]  # benchmarks.workloads.SWEEP_FAST
SLOW = list(range(110, 360, 10))  # benchmarks.workloads.SWEEP_SLOW


class SmaCrossHyperopt(SmaCrossBenchmark):
    """The SMA cross, its windows chosen by hyperopt."""

    buy_fast = CategoricalParameter(FAST, default=20, space="buy")
    buy_slow = CategoricalParameter(SLOW, default=110, space="buy")

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.startup_candle_count = max(SLOW) - 1

    def populate_indicators(self, dataframe: DataFrame, metadata: dict[str, Any]) -> DataFrame:
        for window in sorted({*self.buy_fast.range, *self.buy_slow.range}):
            dataframe[f"sma_{window}"] = ta.SMA(dataframe, timeperiod=window)
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict[str, Any]) -> DataFrame:
        fast = dataframe[f"sma_{self.buy_fast.value}"]
        slow = dataframe[f"sma_{self.buy_slow.value}"]
        dataframe.loc[fast > slow, "enter_long"] = 1
        dataframe.loc[fast < slow, "enter_short"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict[str, Any]) -> DataFrame:
        fast = dataframe[f"sma_{self.buy_fast.value}"]
        slow = dataframe[f"sma_{self.buy_slow.value}"]
        dataframe.loc[fast < slow, "exit_long"] = 1
        dataframe.loc[fast > slow, "exit_short"] = 1
        return dataframe
