"""A FreqTrade strategy written for the parity check: day-range breakouts, long and short, held
until the opposite half-day range breaks, with no ROI and a stop loss beyond the liquidation
price, so the positions that the market runs over are liquidated.

Uses hyperopt parameters, qtpylib's rolling extremes, ``use_exit_signal`` and ``leverage()``;
``ParityBreakout10x`` trades it at 10x, where liquidations are common.
"""

from datetime import datetime
from typing import ClassVar

import freqtrade.vendor.qtpylib.indicators as qtpylib
from freqtrade.strategy import IntParameter, IStrategy
from pandas import DataFrame


class ParityBreakout(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "5m"
    can_short = True
    startup_candle_count = 288

    minimal_roi: ClassVar[dict[str, float]] = {"0": 100.0}
    stoploss = -0.99

    entry_window = IntParameter(96, 576, default=288, space="buy")
    exit_window = IntParameter(48, 288, default=144, space="sell")

    trade_leverage = 3.0

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        entry, exit_ = self.entry_window.value, self.exit_window.value
        dataframe["entry_high"] = qtpylib.rolling_max(dataframe["high"], entry).shift(1)
        dataframe["entry_low"] = qtpylib.rolling_min(dataframe["low"], entry).shift(1)
        dataframe["exit_high"] = qtpylib.rolling_max(dataframe["high"], exit_).shift(1)
        dataframe["exit_low"] = qtpylib.rolling_min(dataframe["low"], exit_).shift(1)
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["close"] > dataframe["entry_high"], "enter_long"] = 1
        dataframe.loc[dataframe["close"] < dataframe["entry_low"], "enter_short"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["close"] < dataframe["exit_low"], "exit_long"] = 1
        dataframe.loc[dataframe["close"] > dataframe["exit_high"], "exit_short"] = 1
        return dataframe

    def leverage(
        self,
        pair: str,
        current_time: datetime,
        current_rate: float,
        proposed_leverage: float,
        max_leverage: float,
        entry_tag: str | None,
        side: str,
        **kwargs,
    ) -> float:
        return self.trade_leverage


class ParityBreakout10x(ParityBreakout):
    trade_leverage = 10.0
