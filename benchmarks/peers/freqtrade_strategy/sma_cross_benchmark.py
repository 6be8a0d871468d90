"""FreqTrade strategy of the benchmark: the SMA cross, long and short, always in the market.

Loaded by FreqTrade's strategy resolver from this folder (``strategy_path``); its parameters
come from the ``levtrade_benchmark`` section of the configuration the peer module builds.
"""

from __future__ import annotations

from typing import Any, ClassVar

import talib.abstract as ta
from freqtrade.strategy import IStrategy
from pandas import DataFrame


class SmaCrossBenchmark(IStrategy):  # type: ignore[misc]
    """Enter long while SMA(fast) > SMA(slow), short while below; each signal also exits the
    opposite side, so FreqTrade flips the position at the next candle's open."""

    INTERFACE_VERSION = 3
    can_short = True
    timeframe = "5m"
    minimal_roi: ClassVar[dict[str, float]] = {"0": 1000.0}  # no ROI exits
    stoploss = -0.99  # beyond liquidation at 3x: never reached first
    trailing_stop = False
    use_exit_signal = True
    exit_profit_only = False
    ignore_roi_if_entry_signal = False
    process_only_new_candles = True
    startup_candle_count = 99  # set from the configuration in __init__
    order_types: ClassVar[dict[str, str | bool]] = {
        "entry": "market",
        "exit": "market",
        "stoploss": "market",
        "stoploss_on_exchange": False,
    }

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        settings = config["levtrade_benchmark"]
        self.fast = int(settings["fast"])
        self.slow = int(settings["slow"])
        self.benchmark_leverage = float(settings["leverage"])
        self.benchmark_fee = float(settings["fee"])
        # SMA(slow) exists from the slow-th candle on: slow - 1 candles come before it. FreqTrade
        # trims these before shifting the signals, so the first entry is on candle ``slow``.
        self.startup_candle_count = self.slow - 1

    def populate_indicators(self, dataframe: DataFrame, metadata: dict[str, Any]) -> DataFrame:
        dataframe["sma_fast"] = ta.SMA(dataframe, timeperiod=self.fast)
        dataframe["sma_slow"] = ta.SMA(dataframe, timeperiod=self.slow)
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict[str, Any]) -> DataFrame:
        dataframe.loc[dataframe["sma_fast"] > dataframe["sma_slow"], "enter_long"] = 1
        dataframe.loc[dataframe["sma_fast"] < dataframe["sma_slow"], "enter_short"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict[str, Any]) -> DataFrame:
        dataframe.loc[dataframe["sma_fast"] < dataframe["sma_slow"], "exit_long"] = 1
        dataframe.loc[dataframe["sma_fast"] > dataframe["sma_slow"], "exit_short"] = 1
        return dataframe

    def leverage(
        self,
        pair: str,
        current_time: Any,
        current_rate: float,
        proposed_leverage: float,
        max_leverage: float,
        entry_tag: str | None,
        side: str,
        **kwargs: Any,
    ) -> float:
        return self.benchmark_leverage

    def custom_stake_amount(
        self,
        pair: str,
        current_time: Any,
        current_rate: float,
        proposed_stake: float,
        min_stake: float | None,
        max_stake: float,
        leverage: float,
        entry_tag: str | None,
        side: str,
        **kwargs: Any,
    ) -> float:
        """The whole balance pays margin plus entry fee: stake = balance / (1 + L * f)."""
        return proposed_stake / (1.0 + leverage * self.benchmark_fee)
