"""Signal tables from DataFrames, Parquet and CSV, aligned to the market data by timestamp."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from levtrade.data import DataValidationError, MarketData, Portfolio, demo_market
from levtrade.strategy.signal_io import read_signals, signals_from_frame, signals_to_frame
from levtrade.strategy.signals import SignalRules, Signals

BTC = "BTC/USDT:USDT"
ETH = "ETH/USDT:USDT"
T0 = pd.Timestamp("2024-01-01", tz="UTC")
H = pd.Timedelta(hours=1)


@pytest.fixture(scope="module")
def btc() -> MarketData:
    return demo_market(BTC, bars=48)


@pytest.fixture(scope="module")
def book(btc: MarketData) -> Portfolio:
    # ETH listed 10 hours later than BTC: its first ten bars are inactive
    eth = demo_market(ETH, bars=48).take(slice(10, None))
    return Portfolio.from_markets([btc, eth])


def test_a_frame_of_rows_lands_on_the_bars_it_names(btc: MarketData) -> None:
    frame = pd.DataFrame(
        {
            "date": [T0 + 2 * H, T0 + 5 * H, T0 + 7 * H],
            "enter_long": [1, 0, np.nan],
            "exit_long": [0.0, 1.0, 0.0],
            "enter_short": [False, False, True],
            "leverage": [3.0, np.nan, 10.0],
            "stake": [np.nan, 250.0, np.nan],
        }
    )
    signals = signals_from_frame(frame, btc, rules=SignalRules(can_short=True))
    table = signals.by_symbol[BTC]
    assert table.bars == 48
    assert np.flatnonzero(table.enter_long).tolist() == [2]
    assert np.flatnonzero(table.exit_long).tolist() == [5]
    assert np.flatnonzero(table.enter_short).tolist() == [7]
    assert not table.exit_short.any()  # absent column: no signal
    assert table.leverage[2] == 3.0 and table.leverage[7] == 10.0
    assert np.isnan(table.leverage[[0, 5, 47]]).all()
    assert table.stake[5] == 250.0
    assert signals.rules.can_short


def test_a_datetime_index_and_epoch_milliseconds_are_accepted(btc: MarketData) -> None:
    indexed = pd.DataFrame(
        {"enter_long": [True], "exit_long": [False]},
        index=pd.DatetimeIndex([T0 + 3 * H], name="date"),
    )
    assert np.flatnonzero(signals_from_frame(indexed, btc).by_symbol[BTC].enter_long) == [3]
    epoch = pd.DataFrame(
        {"timestamp": [int(btc.timestamps[4])], "enter_long": [1], "exit_long": [0]}
    )
    assert np.flatnonzero(signals_from_frame(epoch, btc).by_symbol[BTC].enter_long) == [4]


def test_several_symbols_by_column_or_mapping(book: Portfolio) -> None:
    frame = pd.DataFrame(
        {
            "date": [T0 + H, T0 + 12 * H, T0 + 20 * H],
            "symbol": [BTC, ETH, BTC],
            "enter_long": [1, 1, 0],
            "exit_long": [0, 0, 1],
        }
    )
    signals = signals_from_frame(frame, book)
    assert np.flatnonzero(signals.by_symbol[BTC].enter_long).tolist() == [1]
    assert np.flatnonzero(signals.by_symbol[BTC].exit_long).tolist() == [20]
    assert np.flatnonzero(signals.by_symbol[ETH].enter_long).tolist() == [12]
    mapping = {
        BTC: frame[frame.symbol == BTC].drop(columns="symbol"),
        ETH: frame[frame.symbol == ETH].drop(columns="symbol"),
    }
    again = signals_from_frame(mapping, book)
    for symbol in (BTC, ETH):
        assert np.array_equal(
            again.by_symbol[symbol].enter_long, signals.by_symbol[symbol].enter_long
        )
    # a symbol without rows is all False
    only_btc = signals_from_frame(frame[frame.symbol == BTC], book)
    assert not only_btc.by_symbol[ETH].enter_long.any()


def test_round_trip_through_parquet_and_csv(tmp_path: Path, book: Portfolio) -> None:
    n = len(book)
    frame = pd.DataFrame(
        {
            "date": [T0 + 11 * H, T0 + 30 * H, T0 + 31 * H],
            "symbol": [ETH, BTC, ETH],
            "enter_long": [True, False, False],
            "exit_long": [False, True, False],
            "enter_short": [False, False, True],
            "exit_short": [False, False, False],
            "leverage": [2.0, np.nan, 7.0],
            "stake": [100.0, np.nan, np.nan],
        }
    )
    signals = signals_from_frame(frame, book)
    table = signals_to_frame(signals, book)
    assert len(table) == 3 and set(table.symbol) == {BTC, ETH}
    for name in ("signals.parquet", "signals.csv"):
        path = tmp_path / name
        if name.endswith(".parquet"):
            table.to_parquet(path)
        else:
            table.to_csv(path, index=False)
        loaded = read_signals(path, book, rules=SignalRules(stoploss=-0.1))
        assert loaded.rules.stoploss == -0.1
        for symbol in (BTC, ETH):
            got, expected = loaded.by_symbol[symbol], signals.by_symbol[symbol]
            assert got.bars == n
            for column in ("enter_long", "exit_long", "enter_short", "exit_short"):
                assert np.array_equal(getattr(got, column), getattr(expected, column)), column
            np.testing.assert_array_equal(got.leverage, expected.leverage)
            np.testing.assert_array_equal(got.stake, expected.stake)


def test_times_off_the_axis_name_the_row_and_value(book: Portfolio, btc: MarketData) -> None:
    frame = pd.DataFrame(
        {"date": [T0 + H, T0 + H + pd.Timedelta(minutes=30)], "enter_long": [1, 1], "exit_long": 0}
    )
    with pytest.raises(DataValidationError, match=r"row 1.*2024-01-01T01:30:00Z") as info:
        signals_from_frame(frame, btc)
    assert "not a bar of the market data for BTC/USDT:USDT" in str(info.value)
    # ETH has no bar before 10:00 (not yet listed)
    early = pd.DataFrame(
        {"date": [T0 + 3 * H], "symbol": [ETH], "enter_long": [1], "exit_long": [0]}
    )
    with pytest.raises(DataValidationError, match=r"row 0.*not a bar .* ETH/USDT:USDT"):
        signals_from_frame(early, book)
    twice = pd.DataFrame({"date": [T0 + H, T0 + H], "enter_long": [1, 0], "exit_long": [0, 1]})
    with pytest.raises(DataValidationError, match=r"row 1.*a second row for the same bar"):
        signals_from_frame(twice, btc)


def test_bad_columns_and_values_are_named(tmp_path: Path, btc: MarketData, book: Portfolio) -> None:
    base = {"date": [T0 + H, T0 + 2 * H], "enter_long": [1, 0], "exit_long": [0, 1]}
    with pytest.raises(DataValidationError, match=r"column 'exit_long'.*missing signal column"):
        signals_from_frame(pd.DataFrame({k: base[k] for k in ("date", "enter_long")}), btc)
    with pytest.raises(DataValidationError, match="missing time column"):
        signals_from_frame(pd.DataFrame({"enter_long": [1], "exit_long": [0]}), btc)
    with pytest.raises(DataValidationError, match=r"column 'enter_long', row 1, value 2"):
        signals_from_frame(pd.DataFrame({**base, "enter_long": [1, 2]}), btc)
    with pytest.raises(DataValidationError, match=r"column 'leverage', row 0, value 0.5"):
        signals_from_frame(pd.DataFrame({**base, "leverage": [0.5, np.nan]}), btc)
    with pytest.raises(DataValidationError, match=r"column 'stake', row 1, value -5"):
        signals_from_frame(pd.DataFrame({**base, "stake": [np.nan, -5.0]}), btc)
    with pytest.raises(DataValidationError, match=r"missing column 'symbol'.*2 symbols"):
        signals_from_frame(pd.DataFrame(base), book)
    with pytest.raises(DataValidationError, match=r"DOGE/USDT:USDT.*not in the portfolio"):
        signals_from_frame(pd.DataFrame({**base, "symbol": ["DOGE/USDT:USDT", BTC]}), book)
    with pytest.raises(DataValidationError, match="market data is 'BTC/USDT:USDT'"):
        signals_from_frame({ETH: pd.DataFrame(base)}, btc)
    # CSV errors give the text line too (header is line 1)
    path = tmp_path / "bad.csv"
    pd.DataFrame({**base, "enter_long": [1, 3]}).to_csv(path, index=False)
    with pytest.raises(
        DataValidationError, match=r"bad\.csv: column 'enter_long', row 1 \(line 3\)"
    ):
        read_signals(path, btc)


def test_signals_table_type_is_returned(btc: MarketData) -> None:
    frame = pd.DataFrame({"date": [T0], "enter_long": [1], "exit_long": [0]})
    assert isinstance(signals_from_frame(frame, btc), Signals)
    with pytest.raises(DataValidationError, match="DataFrame"):
        signals_from_frame([1, 2], btc)  # type: ignore[arg-type]
