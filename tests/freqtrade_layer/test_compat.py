"""levtrade's FreqTrade layer: strategy files import ``freqtrade.*`` unchanged (with and
without an installed ``freqtrade`` package, which stays as it was for the rest of the
process), hyperopt parameters, helpers and qtpylib with FreqTrade's definitions (expected
values worked out by hand here), informative frames, and the refusal of what levtrade does
not run."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from levtrade.configuration.strategies import load_strategy
from levtrade.data import demo_portfolio
from levtrade.errors import ConfigError
from levtrade.freqtrade import IStrategy, merge_informative_pair, qtpylib, stoploss_from_open
from levtrade.freqtrade.helpers import stoploss_from_absolute
from levtrade.spec import BacktestConfig

STRATEGY = textwrap.dedent(
    """
    from datetime import datetime

    import talib.abstract as ta
    from pandas import DataFrame

    import freqtrade.vendor.qtpylib.indicators as qtpylib
    from freqtrade.persistence import Trade
    from freqtrade.strategy import (
        DecimalParameter,
        IntParameter,
        IStrategy,
        informative,
        merge_informative_pair,
        stoploss_from_open,
    )


    class FtStyle(IStrategy):
        INTERFACE_VERSION = 3
        timeframe = "1h"
        can_short = True
        stoploss = -0.2
        minimal_roi = {"0": 0.3}
        startup_candle_count = 30
        buy_params = {"buy_fast": 8}
        buy_fast = IntParameter(5, 20, default=10, space="buy")
        sell_slow = IntParameter(20, 40, default=30, space="sell")
        buy_width = DecimalParameter(1.0, 3.0, default=2.0, decimals=1, space="buy")

        @informative("4h")
        def populate_indicators_4h(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
            dataframe["rsi"] = ta.RSI(dataframe, timeperiod=14)
            return dataframe

        def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
            dataframe["fast"] = ta.SMA(dataframe, timeperiod=self.buy_fast.value)
            dataframe["slow"] = ta.SMA(dataframe, timeperiod=self.sell_slow.value)
            bands = qtpylib.bollinger_bands(qtpylib.typical_price(dataframe), 20,
                                            self.buy_width.value)
            dataframe["bb_lower"] = bands["lower"]
            return dataframe

        def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
            dataframe.loc[qtpylib.crossed_above(dataframe["fast"], dataframe["slow"]),
                          "enter_long"] = 1
            dataframe.loc[qtpylib.crossed_below(dataframe["fast"], dataframe["slow"]),
                          "enter_short"] = 1
            return dataframe

        def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
            return dataframe
    """
)


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_freqtrade_strategy_file_imports_without_freqtrade(tmp_path: Path) -> None:
    assert "freqtrade" not in sys.modules
    loaded = load_strategy("FtStyle", base_dir=tmp_path, search=_folder(tmp_path))
    assert issubclass(loaded.cls, IStrategy) and loaded.style == "signal"
    # the layer answered the import only while levtrade imported the file
    assert not any(n == "freqtrade" or n.startswith("freqtrade.") for n in sys.modules)
    with pytest.raises(ModuleNotFoundError):
        __import__("freqtrade")


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "strategies"
    folder.mkdir(exist_ok=True)
    _write(folder, "ft_style.py", STRATEGY)
    return folder


def test_an_installed_freqtrade_is_left_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a fake installed FreqTrade, already imported by the process
    site = tmp_path / "site"
    (site / "freqtrade" / "strategy").mkdir(parents=True)
    _write(site / "freqtrade", "__init__.py", "INSTALLED = 'the real one'\n")
    _write(site / "freqtrade" / "strategy", "__init__.py", "class IStrategy:\n    pass\n")
    monkeypatch.syspath_prepend(str(site))
    import freqtrade  # type: ignore[import-not-found]
    import freqtrade.strategy  # type: ignore[import-not-found]

    try:
        loaded = load_strategy("FtStyle", base_dir=tmp_path, search=_folder(tmp_path))
        assert issubclass(loaded.cls, IStrategy)
        assert sys.modules["freqtrade"] is freqtrade
        assert sys.modules["freqtrade.strategy"].IStrategy is not IStrategy
        assert freqtrade.INSTALLED == "the real one"
    finally:
        for name in [n for n in sys.modules if n.split(".")[0] == "freqtrade"]:
            del sys.modules[name]


SAMPLE_IMPORTS = textwrap.dedent(
    """
    # the imports of FreqTrade 2026.9's templates/sample_strategy.py
    from freqtrade.strategy import (
        IStrategy,
        Trade,
        Order,
        PairLocks,
        informative,
        BooleanParameter,
        CategoricalParameter,
        DecimalParameter,
        IntParameter,
        RealParameter,
        timeframe_to_minutes,
        timeframe_to_next_date,
        timeframe_to_prev_date,
        merge_informative_pair,
        stoploss_from_absolute,
        stoploss_from_open,
    )
    import talib.abstract as ta
    from technical import qtpylib


    class SampleLike(IStrategy):
        timeframe = "5m"
        minimal_roi = {"60": 0.01, "30": 0.02, "0": 0.04}
        stoploss = -0.10
        buy_rsi = IntParameter(low=1, high=50, default=30, space="buy", optimize=True, load=True)

        def populate_indicators(self, dataframe, metadata):
            dataframe["rsi"] = ta.RSI(dataframe)
            bands = qtpylib.bollinger_bands(qtpylib.typical_price(dataframe), window=20, stds=2)
            dataframe["bb_middleband"] = bands["mid"]
            return dataframe

        def populate_entry_trend(self, dataframe, metadata):
            dataframe.loc[qtpylib.crossed_above(dataframe["rsi"], self.buy_rsi.value),
                          "enter_long"] = 1
            return dataframe

        def populate_exit_trend(self, dataframe, metadata):
            return dataframe
    """
)


def test_the_sample_strategys_imports_with_technical_qtpylib(tmp_path: Path) -> None:
    # FreqTrade's sample strategy takes qtpylib from the technical package, which FreqTrade
    # installs with itself; without it the layer serves technical.qtpylib for the file only
    assert "technical" not in sys.modules
    folder = tmp_path / "strategies"
    folder.mkdir()
    _write(folder, "sample_like.py", SAMPLE_IMPORTS)
    loaded = load_strategy("SampleLike", base_dir=tmp_path, search=folder)
    module = sys.modules[loaded.cls.__module__]
    assert module.qtpylib.crossed_above is qtpylib.crossed_above
    assert module.timeframe_to_minutes("1h") == 60
    assert not any(n.split(".")[0] == "technical" for n in sys.modules)
    with pytest.raises(ModuleNotFoundError):
        __import__("technical")
    data = demo_portfolio(("BTC/USDT:USDT",), timeframe="5m", bars=500)
    table = loaded.cls().to_signals(data, BacktestConfig()).by_symbol["BTC/USDT:USDT"]
    assert table.enter_long.any()


def test_an_installed_technical_package_is_used_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    (site / "technical").mkdir(parents=True)
    _write(site / "technical", "__init__.py", "")
    _write(site / "technical", "qtpylib.py", "INSTALLED = True\n")
    monkeypatch.syspath_prepend(str(site))
    folder = tmp_path / "strategies"
    folder.mkdir()
    _write(folder, "sample_like.py", SAMPLE_IMPORTS)
    try:
        loaded = load_strategy("SampleLike", base_dir=tmp_path, search=folder)
        assert sys.modules[loaded.cls.__module__].qtpylib.INSTALLED is True
        assert sys.modules["technical.qtpylib"].INSTALLED is True
    finally:
        for name in [n for n in sys.modules if n.split(".")[0] == "technical"]:
            del sys.modules[name]


def test_hyperopt_parameters_take_their_defaults_and_the_strategys_params(
    tmp_path: Path,
) -> None:
    cls = load_strategy("FtStyle", base_dir=tmp_path, search=_folder(tmp_path)).cls
    strategy = cls()
    assert strategy.buy_fast.value == 8  # from buy_params
    assert strategy.sell_slow.value == 30  # the default
    assert list(strategy.sell_slow.range) == list(range(20, 41))
    assert strategy.buy_width.range[:3] == [1.0, 1.1, 1.2]
    assert strategy.set_parameter("sell_slow", 25) and strategy.sell_slow.value == 25
    assert cls().sell_slow.value == 30  # another instance keeps its own
    with pytest.raises(ConfigError, match="sell_slow: a whole number"):
        strategy.set_parameter("sell_slow", 2.5)


def test_the_strategy_runs_with_its_informative_frame(tmp_path: Path) -> None:
    cls = load_strategy("FtStyle", base_dir=tmp_path, search=_folder(tmp_path)).cls
    data = demo_portfolio(("BTC/USDT:USDT",), timeframe="1h", bars=600)
    seen: dict[str, pd.DataFrame] = {}

    class Watching(cls):  # type: ignore[misc, valid-type]
        def populate_exit_trend(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
            seen["frame"] = dataframe.copy()
            return dataframe

    table = Watching().to_signals(data, BacktestConfig()).by_symbol["BTC/USDT:USDT"]
    frame = seen["frame"]
    assert "rsi_4h" in frame.columns and "date_4h" in frame.columns
    # the 4h candle opening at 00:00 is joined from the 1h row opening at 03:00 on
    stamps = frame["date"]
    row = int(np.flatnonzero((stamps.dt.hour == 3).to_numpy())[5])
    assert frame["date_4h"].iloc[row] == stamps.iloc[row] - pd.Timedelta(hours=3)
    assert frame["date_4h"].iloc[row - 1] == stamps.iloc[row] - pd.Timedelta(hours=7)
    assert table.enter_long.any() and table.enter_short.any()


def test_merge_informative_pair_joins_closed_candles_only() -> None:
    base = pd.DataFrame(
        {"date": pd.date_range("2024-01-01", periods=8, freq="30min", tz="UTC"), "v": range(8)}
    )
    info = pd.DataFrame(
        {"date": pd.date_range("2024-01-01", periods=4, freq="1h", tz="UTC"), "x": [1, 2, 3, 4]}
    )
    merged = merge_informative_pair(base, info, "30m", "1h", ffill=True)
    # the 00:00 hour closes at 01:00: first seen by the 00:30 row (its close is 01:00)
    assert list(merged["x_1h"].fillna(0)) == [0, 1, 1, 2, 2, 3, 3, 4]


def test_stoploss_helpers() -> None:
    # stop 5 % above the open at profit 10 %: 1 − 1.05/1.10 = 0.0454545...
    assert stoploss_from_open(0.05, 0.10) == pytest.approx(1 - 1.05 / 1.10)
    # a stop above the current price gives 0
    assert stoploss_from_open(0.20, 0.10) == 0.0
    # short, 3x: profit 0.3 at 3x is 0.1 deleveraged; stop −0.03/3 … (−1 + 0.99/0.9)·3
    assert stoploss_from_open(0.03, 0.3, is_short=True, leverage=3) == pytest.approx(
        (-1 + (1 - 0.01) / (1 - 0.1)) * 3
    )
    assert stoploss_from_absolute(95.0, 100.0) == pytest.approx(0.05)
    assert stoploss_from_absolute(105.0, 100.0, is_short=True) == pytest.approx(0.05)


def test_qtpylib_definitions() -> None:
    a = pd.Series([1.0, 2.0, 3.0, 2.0, 1.0])
    b = pd.Series([2.0, 2.0, 2.0, 2.0, 2.0])
    assert list(qtpylib.crossed_above(a, b)) == [False, False, True, False, False]
    assert list(qtpylib.crossed_below(a, 2.0)) == [False, False, False, False, True]
    bands = qtpylib.bollinger_bands(pd.Series([1.0, 2.0, 3.0]), window=3, stds=2)
    # row 2: mean 2, sample std 1 -> 4 and 0; row 0 (min_periods 1): std NaN
    assert (bands["mid"].iloc[2], bands["upper"].iloc[2], bands["lower"].iloc[2]) == (2, 4, 0)
    bars = pd.DataFrame({"high": [3.0, 6.0], "low": [1.0, 3.0], "close": [2.0, 3.0]})
    assert list(qtpylib.typical_price(bars)) == [2.0, 4.0]
    # true range of row 1: max(6 − 3, |6 − 2|, |3 − 2|) = 4
    assert qtpylib.true_range(bars).iloc[1] == 4.0
    with pytest.raises(ValueError, match="lookahead"):
        qtpylib.vwap(bars)


@pytest.mark.parametrize(
    ("body", "name"),
    [
        ("    use_custom_stoploss = True\n"
         "    def custom_stoploss(self, **kw):\n        return 0.1\n", "custom_stoploss"),
        ("    def custom_exit(self, **kw):\n        return None\n", "custom_exit"),
        ("    def confirm_trade_entry(self, **kw):\n        return True\n", "confirm_trade_entry"),
        ("    position_adjustment_enable = True\n", "position_adjustment_enable"),
        ("    protections = [{'method': 'CooldownPeriod', 'stop_duration_candles': 2}]\n",
         "protections"),
        ("    exit_profit_only = True\n", "exit_profit_only"),
    ],
)  # fmt: skip
def test_what_levtrade_does_not_run_is_refused_by_name(
    tmp_path: Path, body: str, name: str
) -> None:
    folder = _folder(tmp_path)
    text = STRATEGY.replace("class FtStyle(IStrategy):", "class Refused(IStrategy):")
    _write(folder, "refused.py", text.rstrip() + "\n" + body)
    cls = load_strategy("Refused", base_dir=tmp_path, search=folder).cls
    data = demo_portfolio(("BTC/USDT:USDT",), timeframe="1h", bars=100)
    with pytest.raises(ConfigError, match=rf"^{name}: Refused"):
        cls().to_signals(data, BacktestConfig())
