"""A FreqTrade strategy written for the parity check: Bollinger-band reversals, long and short.

Uses what FreqTrade users use and levtrade runs: hyperopt parameters (their values from
``buy_params``/``sell_params``), ``talib.abstract``, qtpylib's bands and crossings, a stepped
``minimal_roi``, a stop loss, a trailing stop armed at an offset, ``leverage()``.
"""

from datetime import datetime
from typing import ClassVar

import freqtrade.vendor.qtpylib.indicators as qtpylib
import talib.abstract as ta
from freqtrade.strategy import (
    BooleanParameter,
    CategoricalParameter,
    DecimalParameter,
    IntParameter,
    IStrategy,
)
from pandas import DataFrame


class ParityBands(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "5m"
    can_short = True
    startup_candle_count = 100

    minimal_roi: ClassVar[dict[str, float]] = {"0": 0.06, "60": 0.03, "240": 0.01}
    stoploss = -0.08
    trailing_stop = True
    trailing_stop_positive = 0.02
    trailing_stop_positive_offset = 0.04
    trailing_only_offset_is_reached = True

    buy_params: ClassVar[dict[str, float]] = {"buy_rsi": 35, "bb_std": 2.2}
    sell_params: ClassVar[dict[str, float]] = {"sell_rsi": 65}

    buy_rsi = IntParameter(20, 45, default=30, space="buy")
    sell_rsi = IntParameter(55, 80, default=70, space="sell")
    bb_std = DecimalParameter(1.5, 3.0, default=2.0, decimals=1, space="buy")
    ma_kind = CategoricalParameter(["ema", "sma"], default="ema", space="buy")
    use_trend = BooleanParameter(default=True, space="buy")

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["rsi"] = ta.RSI(dataframe, timeperiod=14)
        average = ta.EMA if self.ma_kind.value == "ema" else ta.SMA
        dataframe["trend"] = average(dataframe, timeperiod=100)
        bands = qtpylib.bollinger_bands(
            qtpylib.typical_price(dataframe), window=20, stds=self.bb_std.value
        )
        dataframe["bb_lower"] = bands["lower"]
        dataframe["bb_mid"] = bands["mid"]
        dataframe["bb_upper"] = bands["upper"]
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        up = dataframe["close"] > dataframe["trend"]
        down = dataframe["close"] < dataframe["trend"]
        if not self.use_trend.value:
            up = down = dataframe["volume"] >= 0
        dataframe.loc[
            qtpylib.crossed_above(dataframe["close"], dataframe["bb_lower"])
            & (dataframe["rsi"] < self.buy_rsi.value + 10)
            & up
            & (dataframe["volume"] > 0),
            ["enter_long", "enter_tag"],
        ] = (1, "band_low")
        dataframe.loc[
            qtpylib.crossed_below(dataframe["close"], dataframe["bb_upper"])
            & (dataframe["rsi"] > self.sell_rsi.value - 10)
            & down
            & (dataframe["volume"] > 0),
            ["enter_short", "enter_tag"],
        ] = (1, "band_high")
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[qtpylib.crossed_above(dataframe["rsi"], self.sell_rsi.value), "exit_long"] = 1
        dataframe.loc[qtpylib.crossed_below(dataframe["rsi"], self.buy_rsi.value), "exit_short"] = 1
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
        return 3.0
