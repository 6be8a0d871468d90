"""FreqTrade's sample strategy (``freqtrade/templates/sample_strategy.py``), as a levtrade
SignalStrategy, for spot, spot-margin and futures runs.

The rules are FreqTrade's: RSI (14), TEMA (9) and the middle Bollinger band (20-bar mean of
the typical price); enter long when the RSI crosses above 30 while the TEMA is at or below
the middle band and rising; exit when the RSI crosses above 70 while the TEMA is above the
band and falling (the short side mirrors them and runs only where shorting is on);
``minimal_roi`` 4 % at once, 2 % after 30 minutes, 1 % after 60; stop-loss at 10 % of the
stake. FreqTrade's template trades 5-minute candles; ``timeframe`` is left open here so it
runs on whatever candles it is given (the shared spot data has 15m, 1h, 2h and 1d). The run
configuration of docs/backtest.md, "Spot and spot margin", runs it in spot and in margin.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import talib

from levtrade.strategy import SignalStrategy


def crossed_above(series: pd.Series, level: float) -> pd.Series:
    """Where ``series`` moves from at or below ``level`` to above it."""
    return (series > level) & (series.shift(1) <= level)


class FreqtradeSample(SignalStrategy):
    """FreqTrade's sample strategy (module docstring)."""

    can_short = False
    minimal_roi = {"60": 0.01, "30": 0.02, "0": 0.04}
    stoploss = -0.10
    trailing_stop = False
    startup_candle_count = 200

    buy_rsi = 30
    sell_rsi = 70
    short_rsi = 70
    exit_short_rsi = 30

    def populate_indicators(
        self, dataframe: pd.DataFrame, metadata: dict[str, Any]
    ) -> pd.DataFrame:
        close = dataframe["close"].to_numpy(dtype=float)
        dataframe["rsi"] = talib.RSI(close, timeperiod=14)
        dataframe["tema"] = talib.TEMA(close, timeperiod=9)
        typical = (dataframe["high"] + dataframe["low"] + dataframe["close"]) / 3.0
        dataframe["bb_middleband"] = typical.rolling(20).mean()
        return dataframe

    def populate_entry_trend(
        self, dataframe: pd.DataFrame, metadata: dict[str, Any]
    ) -> pd.DataFrame:
        tema, mid = dataframe["tema"], dataframe["bb_middleband"]
        rising, falling = tema > tema.shift(1), tema < tema.shift(1)
        volume = dataframe["volume"] > 0
        dataframe["enter_long"] = (
            crossed_above(dataframe["rsi"], self.buy_rsi) & (tema <= mid) & rising & volume
        )
        dataframe["enter_short"] = (
            crossed_above(dataframe["rsi"], self.short_rsi) & (tema > mid) & falling & volume
        )
        return dataframe

    def populate_exit_trend(
        self, dataframe: pd.DataFrame, metadata: dict[str, Any]
    ) -> pd.DataFrame:
        tema, mid = dataframe["tema"], dataframe["bb_middleband"]
        falling = tema < tema.shift(1)
        volume = dataframe["volume"] > 0
        dataframe["exit_long"] = (
            crossed_above(dataframe["rsi"], self.sell_rsi) & (tema > mid) & falling & volume
        )
        dataframe["exit_short"] = (
            crossed_above(dataframe["rsi"], self.exit_short_rsi)
            & (tema <= mid)
            & (tema > tema.shift(1))
            & volume
        )
        return dataframe
