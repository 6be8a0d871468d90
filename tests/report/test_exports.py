"""Exports: one time convention (UTC instants) and numbers without float noise, rounded to the
instrument's tick and lot."""

from __future__ import annotations

import pandas as pd
import pytest

from levtrade.report.exports import decimals, from_exported, rounded, to_csv_frame, to_exported

T = 1_760_130_000_000  # 2025-10-10T21:00:00Z


def test_decimals_of_a_tick() -> None:
    assert [decimals(v) for v in (0.1, 0.25, 1.0, 0.00001, 0.0)] == [1, 2, 0, 5, None]


def test_prices_to_the_tick_sizes_to_the_lot_money_to_eight_decimals() -> None:
    trades = pd.DataFrame(
        {
            "symbol": ["BTC/USDT:USDT", "XRP/USDT:USDT"],
            "entry_time": [T, T],
            "entry_price": [100_000.04999, 2.861400000000001],
            "size": [0.1234567, 1234.5678],
            "pnl": [0.21524999999999997, -1.000000004],
        }
    )
    steps = {
        "BTC/USDT:USDT": {"tick_size": 0.1, "lot_size": 0.001},
        "XRP/USDT:USDT": {"tick_size": 0.0, "lot_size": 0.0},  # none on record
    }
    out = rounded(trades, steps)
    # BTC: tick 0.1 → 1 decimal, lot 0.001 → 3; XRP: 10 significant digits for the price,
    # 12 for the size; money: 8 decimals
    assert out["entry_price"].tolist() == [100_000.0, 2.8614]
    assert out["size"].tolist() == [0.123, 1234.5678]
    assert out["pnl"].tolist() == [0.21525, -1.0]
    assert repr(float(out["pnl"].iloc[0])) == "0.21525"


def test_times_are_utc_instants_in_parquet_and_csv_and_milliseconds_in_memory(tmp_path) -> None:
    orders = pd.DataFrame(
        {
            "created_time": [T, T],
            "fill_time": pd.array([T + 300_000, None], dtype="Int64"),
            "price": [100.0, 101.0],
        }
    )
    exported = to_exported(orders)
    assert str(exported["created_time"].dtype) == "datetime64[ms, UTC]"
    assert exported["created_time"].iloc[0] == pd.Timestamp("2025-10-10T21:00:00Z")
    assert to_csv_frame(exported)["fill_time"].tolist()[0] == "2025-10-10T21:05:00Z"
    exported.to_parquet(tmp_path / "orders.parquet")
    back = from_exported(pd.read_parquet(tmp_path / "orders.parquet"))
    assert back["created_time"].dtype == "int64" and back["created_time"].tolist() == [T, T]
    assert str(back["fill_time"].dtype) == "Int64"
    assert back["fill_time"].tolist()[0] == T + 300_000 and pd.isna(back["fill_time"].iloc[1])
    assert back["price"].tolist() == pytest.approx([100.0, 101.0])
