"""Leveraged buy and hold: long every pair from its first tradable bar, never exit.

What holding a leveraged long through a crash does to a cross-margin account: run it on the
recorded week of 2025-10-10 (``examples/cross_crash.toml``) and the report shows the pool's
margin ratio climb to 100 % and the one liquidation that closes every position together.
The 48-bar EMA is only drawn (FreqTrade's ``plot_config``); it decides nothing.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pandas as pd

from levtrade.strategy import SignalStrategy
from levtrade.strategy import indicators as ind


class HoldLong(SignalStrategy):
    """Enter long once, on the first bar; hold to the end."""

    can_short = False
    plot_config: ClassVar[dict[str, Any]] = {"main_plot": {"ema": {"color": "#6a1b9a"}}}

    def populate_indicators(
        self, dataframe: pd.DataFrame, metadata: dict[str, Any]
    ) -> pd.DataFrame:
        dataframe["ema"] = ind.EMA(dataframe["close"], 48)
        return dataframe

    def populate_entry_trend(
        self, dataframe: pd.DataFrame, metadata: dict[str, Any]
    ) -> pd.DataFrame:
        dataframe["enter_long"] = dataframe.index == dataframe.index[0]
        return dataframe

    def populate_exit_trend(
        self, dataframe: pd.DataFrame, metadata: dict[str, Any]
    ) -> pd.DataFrame:
        dataframe["exit_long"] = False
        return dataframe
