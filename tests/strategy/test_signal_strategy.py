"""SignalStrategy: FreqTrade-style DataFrame strategies turned into signal tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
import talib

from levtrade.backtest import engine, kernel, run
from levtrade.data import MarketData, Portfolio, demo_market
from levtrade.errors import ConfigError, StrategyError
from levtrade.spec.config import BacktestConfig
from levtrade.strategy.signal_strategy import SignalStrategy, max_leverage_for_stake
from levtrade.venues import default_tiers

BTC = "BTC/USDT:USDT"
ETH = "ETH/USDT:USDT"


class SmaCross(SignalStrategy):
    """Enter long on the 10/30 SMA cross up, exit on the cross down (FreqTrade's style:
    ``df.loc[condition, column] = 1`` leaves NaN elsewhere)."""

    timeframe = "1h"
    stoploss = -0.1
    minimal_roi: ClassVar[dict[int | str, float]] = {"0": 0.05, "60": 0.02}
    trailing_stop = True
    trailing_stop_positive = 0.01
    trailing_stop_positive_offset = 0.02
    startup_candle_count = 30

    def populate_indicators(
        self, dataframe: pd.DataFrame, metadata: dict[str, Any]
    ) -> pd.DataFrame:
        dataframe["fast"] = talib.SMA(dataframe["close"].to_numpy(), 10)
        dataframe["slow"] = talib.SMA(dataframe["close"].to_numpy(), 30)
        return dataframe

    def populate_entry_trend(
        self, dataframe: pd.DataFrame, metadata: dict[str, Any]
    ) -> pd.DataFrame:
        up = (dataframe["fast"] > dataframe["slow"]) & (
            dataframe["fast"].shift(1) <= dataframe["slow"].shift(1)
        )
        dataframe.loc[up, ["enter_long", "enter_tag"]] = (1, "cross")
        return dataframe

    def populate_exit_trend(
        self, dataframe: pd.DataFrame, metadata: dict[str, Any]
    ) -> pd.DataFrame:
        dataframe.loc[dataframe["fast"] < dataframe["slow"], "exit_long"] = 1
        return dataframe


@pytest.fixture(scope="module")
def btc() -> MarketData:
    return demo_market(BTC, bars=500)


def _crosses(close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The expected flags, computed here with plain numpy from TA-Lib's SMAs."""
    fast, slow = talib.SMA(close, 10), talib.SMA(close, 30)
    with np.errstate(invalid="ignore"):
        up = (fast > slow) & np.r_[False, fast[:-1] <= slow[:-1]]
        down = fast < slow
    return up, down


def test_populate_methods_become_the_signal_table(btc: MarketData) -> None:
    signals = SmaCross().to_signals(btc)
    table = signals.by_symbol[BTC]
    up, down = _crosses(btc.close)
    up[:30] = down[:30] = False  # startup_candle_count: no signal while indicators warm up
    assert np.array_equal(table.enter_long, up) and up.sum() >= 3
    assert np.array_equal(table.exit_long, down)
    assert not table.enter_short.any() and not table.exit_short.any()
    assert np.isnan(table.leverage).all() and np.isnan(table.stake).all()
    rules = signals.rules
    assert (rules.stoploss, rules.trailing_stop, rules.trailing_stop_positive) == (-0.1, True, 0.01)
    assert rules.minimal_roi == {0: 0.05, 60: 0.02}
    assert rules.trailing_stop_positive_offset == 0.02 and not rules.can_short


def test_the_frame_is_freqtrades(btc: MarketData) -> None:
    seen: dict[str, Any] = {}

    class Peek(SignalStrategy):
        def populate_entry_trend(
            self, dataframe: pd.DataFrame, metadata: dict[str, Any]
        ) -> pd.DataFrame:
            seen["columns"] = list(dataframe.columns)
            seen["date"] = dataframe["date"].iloc[1]
            seen["metadata"] = metadata
            dataframe["enter_long"] = 0
            return dataframe

        def populate_exit_trend(
            self, dataframe: pd.DataFrame, metadata: dict[str, Any]
        ) -> pd.DataFrame:
            dataframe["exit_long"] = 0
            return dataframe

    Peek().to_signals(btc)
    assert seen["columns"] == ["date", "open", "high", "low", "close", "volume"]
    assert seen["date"] == pd.Timestamp("2024-01-01 01:00", tz="UTC")
    assert seen["metadata"] == {"pair": BTC, "timeframe": "1h"}


def test_portfolio_members_get_their_own_bars(btc: MarketData) -> None:
    eth = demo_market(ETH, bars=500).take(slice(100, None))  # listed 100 bars later
    book = Portfolio.from_markets([btc, eth])
    signals = SmaCross().to_signals(book)
    up, _ = _crosses(eth.close)
    up[:30] = False
    table = signals.by_symbol[ETH]
    assert table.bars == len(book) == 500
    assert not table.enter_long[:100].any()
    assert np.array_equal(table.enter_long[100:], up)


def test_strategy_errors_name_the_method_and_keep_the_cause(btc: MarketData) -> None:
    class Broken(SmaCross):
        def populate_indicators(
            self, dataframe: pd.DataFrame, metadata: dict[str, Any]
        ) -> pd.DataFrame:
            return dataframe["no such column"]  # type: ignore[no-any-return]

    with pytest.raises(StrategyError, match=r"Broken\.populate_indicators raised on BTC") as info:
        Broken().to_signals(btc)
    assert isinstance(info.value.__cause__, KeyError)

    class Forgot(SmaCross):
        def populate_exit_trend(
            self, dataframe: pd.DataFrame, metadata: dict[str, Any]
        ) -> pd.DataFrame:
            return dataframe

    with pytest.raises(StrategyError, match=r"populate_exit_trend did not set column 'exit_long'"):
        Forgot().to_signals(btc)

    class Short(SmaCross):
        can_short = True

    with pytest.raises(StrategyError, match="'enter_short'"):
        Short().to_signals(btc)

    class Shrinks(SmaCross):
        def populate_indicators(
            self, dataframe: pd.DataFrame, metadata: dict[str, Any]
        ) -> pd.DataFrame:
            return dataframe.iloc[10:]

    with pytest.raises(StrategyError, match="500 rows"):
        Shrinks().to_signals(btc)

    class Words(SmaCross):
        def populate_exit_trend(
            self, dataframe: pd.DataFrame, metadata: dict[str, Any]
        ) -> pd.DataFrame:
            dataframe["exit_long"] = "yes"
            return dataframe

    with pytest.raises(StrategyError, match=r"'exit_long'.*0/1"):
        Words().to_signals(btc)


def test_attribute_checks(btc: MarketData) -> None:
    class Daily(SmaCross):
        timeframe = "1d"

    with pytest.raises(ConfigError, match="timeframe: Daily is written for 1d, the data is 1h"):
        Daily().to_signals(btc)

    class BadRoi(SmaCross):
        minimal_roi: ClassVar[dict[int | str, float]] = {"soon": 0.1}

    with pytest.raises(ConfigError, match=r"minimal_roi.*'soon'"):
        BadRoi().to_signals(btc)

    class BadStop(SmaCross):
        stoploss = 0.1

    with pytest.raises(ConfigError, match="stoploss"):
        BadStop().to_signals(btc)


def test_max_leverage_follows_freqtrade_at_the_stakes_notional() -> None:
    # Binance BTCUSDT: 150x up to 300,000 of notional, 100x up to 800,000, 75x to 3M
    table = default_tiers("binance", BTC)
    # stake 1,000: 150x keeps 150,000 in the first bracket
    assert max_leverage_for_stake(table, 1_000.0) == 150.0
    # stake 5,000: bracket 1 allows 300,000 / 5,000 = 60x, bracket 2 min(100, 160) = 100x
    assert max_leverage_for_stake(table, 5_000.0) == 100.0
    # stake 20,000: bracket 3 allows min(75, 3,000,000 / 20,000 = 150) = 75x
    assert max_leverage_for_stake(table, 20_000.0) == 75.0
    with pytest.raises(ConfigError, match="stake"):
        max_leverage_for_stake(table, 0.0)


def test_leverage_and_stake_callbacks_fill_the_entry_rows(btc: MarketData) -> None:
    calls: list[dict[str, Any]] = []

    class Sized(SmaCross):
        def leverage(
            self,
            pair: str,
            current_time: datetime,
            current_rate: float,
            proposed_leverage: float,
            max_leverage: float,
            side: str,
            **kwargs: Any,
        ) -> float:
            calls.append(locals())
            return 500.0 if len(calls) == 1 else 4.0

        def custom_stake_amount(
            self,
            pair: str,
            current_time: datetime,
            current_rate: float,
            proposed_stake: float,
            min_stake: float | None,
            max_stake: float,
            leverage: float,
            entry_tag: str | None,
            side: str,
            **kwargs: Any,
        ) -> float:
            calls[-1]["stake_args"] = (proposed_stake, max_stake, leverage, entry_tag)
            return 0.0 if len(calls) == 2 else 50_000.0

    config = BacktestConfig(stake_amount=5_000.0, leverage=3.0, wallet=20_000.0)
    table = Sized().to_signals(btc, config).by_symbol[BTC]
    up, _ = _crosses(btc.close)
    up[:30] = False
    bars = np.flatnonzero(up)
    assert len(calls) == len(bars)
    first = calls[0]
    assert (first["pair"], first["side"], first["proposed_leverage"]) == (BTC, "long", 3.0)
    assert first["max_leverage"] == 100.0  # stake 5,000 on Binance BTC (above)
    # asked as FreqTrade asks at the entry (its backtesting passes the entry candle's date
    # and open): the next bar's open time and open price
    decided = pd.Timestamp(btc.timestamps[bars[0]] + 3_600_000, unit="ms", tz="UTC")
    assert first["current_time"] == decided.to_pydatetime()
    assert first["current_rate"] == btc.open[bars[0] + 1]
    assert first["stake_args"] == (5_000.0, 20_000.0, 100.0, "cross")
    # first entry: 500x clamped to the 100x maximum; stake 50,000 clamped to the wallet
    assert (table.leverage[bars[0]], table.stake[bars[0]]) == (100.0, 20_000.0)
    # second entry: a stake of 0 drops the entry (FreqTrade)
    assert not table.enter_long[bars[1]]
    assert (table.leverage[bars[2]], table.stake[bars[2]]) == (4.0, 20_000.0)
    assert np.isnan(np.delete(table.leverage, bars)).all()


class TaggedLeverage(SmaCross):
    """FreqTrade's ``leverage()`` copied with its exact signature (``entry_tag`` positional,
    no default) and the tag chosen per entry: every other cross is tagged "strong"."""

    seen: ClassVar[list[tuple[str | None, str]]] = []

    def populate_entry_trend(
        self, dataframe: pd.DataFrame, metadata: dict[str, Any]
    ) -> pd.DataFrame:
        dataframe = super().populate_entry_trend(dataframe, metadata)
        entries = dataframe.index[dataframe["enter_long"] == 1]
        dataframe["enter_tag"] = None
        dataframe.loc[entries[::2], "enter_tag"] = "strong"
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
        **kwargs: Any,
    ) -> float:
        self.seen.append((entry_tag, side))
        return 8.0 if entry_tag == "strong" else 2.0


def test_leverage_gets_the_entry_tag_with_freqtrades_signature(btc: MarketData) -> None:
    TaggedLeverage.seen.clear()
    config = BacktestConfig(stake_amount=1_000.0, leverage=3.0)
    table = TaggedLeverage().to_signals(btc, config).by_symbol[BTC]
    up, _ = _crosses(btc.close)
    up[:30] = False
    bars = np.flatnonzero(up)
    assert len(bars) >= 3
    # the enter_tag column at each entry bar: "strong" on the 1st, 3rd, ... entry, else None
    expected = [("strong" if k % 2 == 0 else None, "long") for k in range(len(bars))]
    assert TaggedLeverage.seen == expected
    assert table.leverage[bars].tolist() == [8.0 if k % 2 == 0 else 2.0 for k in range(len(bars))]
    # and the run takes those leverages
    trades = run(TaggedLeverage(), btc, config).trades
    assert set(trades["leverage"]) == {8.0, 2.0}


def test_entry_tag_is_none_without_the_column_and_old_signatures_still_work(
    btc: MarketData,
) -> None:
    tags: list[Any] = []

    class NoTags(SmaCross):
        def populate_entry_trend(
            self, dataframe: pd.DataFrame, metadata: dict[str, Any]
        ) -> pd.DataFrame:
            return super().populate_entry_trend(dataframe, metadata).drop(columns="enter_tag")

        def leverage(
            self,
            pair: str,
            current_time: datetime,
            current_rate: float,
            proposed_leverage: float,
            max_leverage: float,
            entry_tag: str | None,
            side: str,
            **kwargs: Any,
        ) -> float:
            tags.append(entry_tag)
            return 2.0

    NoTags().to_signals(btc)
    assert tags and set(tags) == {None}

    class Positional(SmaCross):
        # levtrade's earlier signature: no entry_tag and no **kwargs
        def leverage(  # type: ignore[override]
            self,
            pair: str,
            current_time: datetime,
            current_rate: float,
            proposed_leverage: float,
            max_leverage: float,
            side: str,
        ) -> float:
            return 4.0

    table = Positional().to_signals(btc).by_symbol[BTC]
    assert set(table.leverage[~np.isnan(table.leverage)]) == {4.0}


def test_callback_errors_are_strategy_errors(btc: MarketData) -> None:
    class Bad(SmaCross):
        def leverage(self, pair: str, *args: Any, **kwargs: Any) -> float:
            raise RuntimeError("boom")

    with pytest.raises(StrategyError, match=r"Bad\.leverage raised on BTC/USDT:USDT") as info:
        Bad().to_signals(btc)
    assert isinstance(info.value.__cause__, RuntimeError)

    class Text(SmaCross):
        def leverage(self, pair: str, *args: Any, **kwargs: Any) -> float:
            return "ten"  # type: ignore[return-value]

    with pytest.raises(StrategyError, match="must return a number, got 'ten'"):
        Text().to_signals(btc)


def test_both_engines_run_the_strategy_alike(btc: MarketData) -> None:
    config = BacktestConfig(leverage=5, stake_amount=1_000.0, margin_mode="isolated")
    event = run(SmaCross(), btc, config, engine="event")
    compiled = run(SmaCross(), btc, config, engine="compiled")
    assert (event.metadata["engine"], compiled.metadata["engine"]) == ("event", "compiled")
    assert len(event.trades) >= 3
    assert list(event.trades.exit_reason) == list(compiled.trades.exit_reason)
    for column in ("entry_price", "exit_price", "size", "pnl", "fees", "funding"):
        np.testing.assert_allclose(compiled.trades[column], event.trades[column], rtol=1e-9)
    np.testing.assert_allclose(compiled.equity, event.equity, rtol=1e-9)
    np.testing.assert_allclose(compiled.ledger.amount, event.ledger.amount, rtol=1e-9)
    signals = SmaCross().to_signals(btc, config)
    assert kernel.run_signals(btc, signals, config).trades.pnl.sum() == pytest.approx(
        engine.run_signals(btc, signals, config).trades.pnl.sum(), rel=1e-9
    )
