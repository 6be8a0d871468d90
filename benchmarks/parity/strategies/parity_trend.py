"""A FreqTrade strategy written for the parity check: 5m entries in the direction of the 1h
trend of the pair and of BTC, held without a stop loss.

Uses ``@informative`` frames (the pair's own 1h candles and BTC's), ``merge_informative_pair``
through them, hyperopt parameters, qtpylib's crossings, ``use_exit_signal`` and
``ignore_roi_if_entry_signal``. Its stop loss (-99 %) lies beyond the liquidation price, so a
position the market runs over is liquidated; ``ParityTrend10x`` trades it at 10x, where that
happens.
"""

from datetime import datetime
from typing import ClassVar

import freqtrade.vendor.qtpylib.indicators as qtpylib
import talib.abstract as ta
from freqtrade.strategy import IntParameter, IStrategy, informative
from pandas import DataFrame


class ParityTrend(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "5m"
    can_short = True
    startup_candle_count = 600

    minimal_roi: ClassVar[dict[str, float]] = {"0": 0.10, "720": 0.04, "2880": 0.0}
    stoploss = -0.99
    use_exit_signal = True
    ignore_roi_if_entry_signal = True

    fast = IntParameter(5, 30, default=12, space="buy")
    slow = IntParameter(30, 120, default=48, space="buy")
    trend = IntParameter(20, 100, default=50, space="buy")

    trade_leverage = 3.0

    @informative("1h")
    def populate_indicators_1h(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["ema"] = ta.EMA(dataframe, timeperiod=self.trend.value)
        return dataframe

    @informative("1h", "BTC/USDT:USDT")
    def populate_indicators_btc_1h(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["ema"] = ta.EMA(dataframe, timeperiod=self.trend.value)
        return dataframe

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["fast"] = ta.EMA(dataframe, timeperiod=self.fast.value)
        dataframe["slow"] = ta.EMA(dataframe, timeperiod=self.slow.value)
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        rising = (dataframe["close_1h"] > dataframe["ema_1h"]) & (
            dataframe["btc_usdt_close_1h"] > dataframe["btc_usdt_ema_1h"]
        )
        falling = (dataframe["close_1h"] < dataframe["ema_1h"]) & (
            dataframe["btc_usdt_close_1h"] < dataframe["btc_usdt_ema_1h"]
        )
        dataframe.loc[
            qtpylib.crossed_above(dataframe["fast"], dataframe["slow"]) & rising, "enter_long"
        ] = 1
        dataframe.loc[
            qtpylib.crossed_below(dataframe["fast"], dataframe["slow"]) & falling, "enter_short"
        ] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[qtpylib.crossed_below(dataframe["fast"], dataframe["slow"]), "exit_long"] = 1
        dataframe.loc[qtpylib.crossed_above(dataframe["fast"], dataframe["slow"]), "exit_short"] = 1
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


class ParityTrend10x(ParityTrend):
    trade_leverage = 10.0
