"""Starter strategy: a moving-average crossover, long and short (FreqTrade style).

``levtrade init`` copies this file next to a starter ``config.toml``; a bare
``levtrade backtest`` runs it on the synthetic demo data. Edit it freely: the methods and
attributes are FreqTrade's (docs/strategies.md), and the run's leverage, stake and margin mode
come from the config.

Run it: ``levtrade backtest --config config.toml``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pandas as pd

from levtrade.strategy import SignalStrategy
from levtrade.strategy import indicators as ind


class SmaCross(SignalStrategy):
    """Long when the fast SMA crosses above the slow one, short when it crosses below; each
    side exits when the averages cross back."""

    can_short = True
    stoploss = -0.5
    """Exit when the loss reaches 50 % of the stake (at 5x: a 10 % adverse price move)."""
    startup_candle_count = 168

    fast = 48
    """Bars in the fast average (override with ``[params] fast = ...`` in the config)."""
    slow = 168

    plot_config: ClassVar[dict[str, Any]] = {
        "main_plot": {"fast_sma": {"color": "#ff7f0e"}, "slow_sma": {"color": "#6a1b9a"}}
    }
    """What the HTML report draws over the price (FreqTrade's plot_config)."""

    def populate_indicators(
        self, dataframe: pd.DataFrame, metadata: dict[str, Any]
    ) -> pd.DataFrame:
        dataframe["fast_sma"] = ind.SMA(dataframe["close"], self.fast)
        dataframe["slow_sma"] = ind.SMA(dataframe["close"], self.slow)
        return dataframe

    def populate_entry_trend(
        self, dataframe: pd.DataFrame, metadata: dict[str, Any]
    ) -> pd.DataFrame:
        above = dataframe["fast_sma"] > dataframe["slow_sma"]
        was_above = above.shift(1, fill_value=False)
        dataframe["enter_long"] = above & ~was_above
        dataframe["enter_short"] = ~above & was_above
        return dataframe

    def populate_exit_trend(
        self, dataframe: pd.DataFrame, metadata: dict[str, Any]
    ) -> pd.DataFrame:
        above = dataframe["fast_sma"] > dataframe["slow_sma"]
        dataframe["exit_long"] = ~above
        dataframe["exit_short"] = above
        return dataframe
