"""The indicator libraries FreqTrade strategies import, in a strategy file levtrade loads:
``talib.abstract`` (TA-Lib's DataFrame interface, as FreqTrade's sample strategy uses it) and
``pandas_ta`` (FreqTrade installs its fork, ``ft-pandas-ta``). Each indicator is checked against
an independent computation: TA-Lib's function interface on the close array, pandas' rolling
mean, the Bollinger definition written out."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import talib

from levtrade.configuration.strategies import load_strategy
from levtrade.data import demo_portfolio
from levtrade.freqtrade import IStrategy
from levtrade.spec import BacktestConfig

TALIB_STRATEGY = textwrap.dedent(
    """
    import talib.abstract as ta
    from pandas import DataFrame

    from freqtrade.strategy import IStrategy


    class AbstractTalib(IStrategy):
        timeframe = "1h"
        stoploss = -0.2
        minimal_roi = {"0": 0.1}

        def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
            dataframe["rsi"] = ta.RSI(dataframe, timeperiod=14)
            bands = ta.BBANDS(dataframe, timeperiod=20, nbdevup=2.0, nbdevdn=2.0)
            dataframe["bb_lower"] = bands["lowerband"]
            macd = ta.MACD(dataframe)
            dataframe["macd"] = macd["macd"]
            return dataframe

        def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
            dataframe.loc[
                (dataframe["rsi"] < 40) & (dataframe["close"] < dataframe["bb_lower"] * 1.01),
                "enter_long",
            ] = 1
            return dataframe

        def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
            dataframe.loc[dataframe["rsi"] > 60, "exit_long"] = 1
            return dataframe
    """
)

PANDAS_TA_STRATEGY = textwrap.dedent(
    """
    import pandas_ta as pta
    from pandas import DataFrame

    from freqtrade.strategy import IStrategy


    class PandasTa(IStrategy):
        timeframe = "1h"
        stoploss = -0.2
        minimal_roi = {"0": 0.1}

        def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
            dataframe.ta.sma(length=10, append=True)
            dataframe["sma_30"] = pta.sma(dataframe["close"], length=30)
            return dataframe

        def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
            dataframe.loc[dataframe["SMA_10"] > dataframe["sma_30"], "enter_long"] = 1
            return dataframe

        def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
            dataframe.loc[dataframe["SMA_10"] < dataframe["sma_30"], "exit_long"] = 1
            return dataframe
    """
)

MARKET = demo_portfolio(("BTC/USDT:USDT",), timeframe="1h", bars=600, seed=11)


def _load(tmp_path: Path, name: str, text: str) -> IStrategy:
    folder = tmp_path / "strategies"
    folder.mkdir(exist_ok=True)
    (folder / f"{name.lower()}.py").write_text(text, "utf-8")
    loaded = load_strategy(name, base_dir=tmp_path, search=folder)
    strategy = loaded.cls({"stake_currency": "USDT"})
    assert isinstance(strategy, IStrategy)
    return strategy


def _frame() -> pd.DataFrame:
    market = MARKET.markets[0]
    return pd.DataFrame(
        {
            "date": pd.to_datetime(market.timestamps, unit="ms", utc=True),
            "open": market.open,
            "high": market.high,
            "low": market.low,
            "close": market.close,
            "volume": market.volume,
        }
    )


def test_talib_abstract_in_a_strategy_file(tmp_path: Path) -> None:
    strategy = _load(tmp_path, "AbstractTalib", TALIB_STRATEGY)
    frame = strategy.populate_indicators(_frame(), {"pair": "BTC/USDT:USDT"})
    close = frame["close"].to_numpy()
    np.testing.assert_allclose(frame["rsi"], talib.RSI(close, timeperiod=14), equal_nan=True)
    # Bollinger lower band: SMA(20) − 2 population standard deviations (TA-Lib's definition)
    mean = frame["close"].rolling(20).mean()
    deviation = frame["close"].rolling(20).std(ddof=0)
    np.testing.assert_allclose(frame["bb_lower"], mean - 2.0 * deviation, rtol=1e-9)
    macd, _, _ = talib.MACD(close)
    np.testing.assert_allclose(frame["macd"], macd, equal_nan=True)
    # and the signals levtrade executes are the strategy's
    signals = strategy.to_signals(MARKET, BacktestConfig(stake_amount=100.0))
    rsi = talib.RSI(close, timeperiod=14)
    expected = (rsi < 40) & (close < (mean - 2.0 * deviation).to_numpy() * 1.01)
    entries = signals.by_symbol["BTC/USDT:USDT"].enter_long
    assert entries.any()
    np.testing.assert_array_equal(entries, expected)


@pytest.mark.filterwarnings("ignore:Timestamp.dayofyear is deprecated")
def test_pandas_ta_in_a_strategy_file(tmp_path: Path) -> None:
    pytest.importorskip("pandas_ta", reason="FreqTrade's pandas_ta (ft-pandas-ta) not installed")
    strategy = _load(tmp_path, "PandasTa", PANDAS_TA_STRATEGY)
    frame = strategy.populate_indicators(_frame(), {"pair": "BTC/USDT:USDT"})
    np.testing.assert_allclose(frame["SMA_10"], frame["close"].rolling(10).mean(), rtol=1e-12)
    np.testing.assert_allclose(frame["sma_30"], frame["close"].rolling(30).mean(), rtol=1e-12)
    signals = strategy.to_signals(MARKET, BacktestConfig(stake_amount=100.0))
    fast = frame["close"].rolling(10).mean().to_numpy()
    slow = frame["close"].rolling(30).mean().to_numpy()
    entries = signals.by_symbol["BTC/USDT:USDT"].enter_long
    assert entries.any() and not entries.all()
    np.testing.assert_array_equal(entries, fast > slow)
