"""Writers and readers round-trip exactly; the store merges without duplicates; the FreqTrade
layout is written with FreqTrade's names and columns and read back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
from data_helpers import HOUR, T0, hourly_frame

from levtrade.data import (
    Candles,
    FundingEvents,
    MarketData,
    Store,
    demo_market,
    freqtrade_path,
    load_freqtrade,
    load_freqtrade_portfolio,
    make_candles,
    pair_to_filename,
    read_candles,
    read_funding,
    save_freqtrade,
    symbol_to_dirname,
    write_candles,
    write_funding,
)
from levtrade.data.freqtrade import DataFormat
from levtrade.data.io import timeframe_from_name


@pytest.fixture(scope="module")
def small_demo() -> MarketData:
    return demo_market("ETH/USDT:USDT", bars=200)


@pytest.mark.parametrize("suffix", [".parquet", ".feather", ".csv", ".csv.gz", ".json", ".json.gz"])
def test_candles_round_trip_exactly(small_demo: MarketData, suffix: str, tmp_path: Path) -> None:
    trade = small_demo.candles("trade")
    assert trade is not None
    path = write_candles(trade, tmp_path / f"eth-1h{suffix}")
    back = read_candles(path)
    for name in ("timestamps", "open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(back, name), getattr(trade, name)), name
    assert back.timeframe == "1h"
    if suffix in (".parquet", ".feather"):
        assert back.metadata["synthetic"] is True
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_parquet_schema_is_documented_one(small_demo: MarketData, tmp_path: Path) -> None:
    mark = small_demo.candles("mark")
    assert mark is not None
    path = write_candles(mark, tmp_path / "mark.parquet")
    schema = pq.read_schema(path)
    assert schema.names == ["timestamp", "open", "high", "low", "close"]
    assert str(schema.field("timestamp").type) == "timestamp[ms, tz=UTC]"
    meta = json.loads(schema.metadata[b"levtrade"])
    assert meta["kind"] == "mark" and meta["timeframe"] == "1h" and meta["synthetic"] is True
    assert pq.ParquetFile(path).metadata.row_group(0).column(1).compression == "ZSTD"


def test_funding_round_trip(small_demo: MarketData, tmp_path: Path) -> None:
    for suffix in (".parquet", ".feather", ".csv"):
        path = write_funding(small_demo.funding, tmp_path / f"funding{suffix}")
        back = read_funding(path)
        assert np.array_equal(back.timestamps, small_demo.funding.timestamps)
        assert np.array_equal(back.rates, small_demo.funding.rates)


def test_reader_accepts_other_time_encodings(tmp_path: Path) -> None:
    frame = hourly_frame(4)
    naive = frame.assign(timestamp=frame["timestamp"].dt.tz_localize(None))
    naive.to_parquet(tmp_path / "naive.parquet")
    seconds = frame.assign(timestamp=(T0 + np.arange(4) * HOUR) // 1000)
    seconds.to_csv(tmp_path / "seconds.csv", index=False)
    micros = frame.assign(timestamp=(T0 + np.arange(4) * HOUR) * 1000)
    micros.to_csv(tmp_path / "micros.csv", index=False)
    renamed = frame.rename(columns={"timestamp": "t", "close": "c"})
    renamed.to_csv(tmp_path / "renamed.csv", index=False)
    expected = T0 + np.arange(4) * HOUR
    for name in ("naive.parquet", "seconds.csv", "micros.csv"):
        assert np.array_equal(read_candles(tmp_path / name).timestamps, expected), name
    mapped = read_candles(tmp_path / "renamed.csv", columns={"timestamp": "t", "close": "c"})
    assert list(mapped.close) == [100.5, 101.5, 102.5, 103.5]


def test_timeframe_from_name() -> None:
    assert timeframe_from_name("BTCUSDT-1h-perp.parquet") == "1h"
    assert timeframe_from_name("XRP_USDT_USDT-8h-funding_rate.feather") == "8h"
    assert timeframe_from_name("prices.csv") is None


def test_store_layout_and_round_trip(small_demo: MarketData, tmp_store: Path) -> None:
    store = Store(tmp_store)
    written = store.save(small_demo, "demo")
    folder = tmp_store / "demo" / "ETH_USDT_USDT"
    assert sorted(p.relative_to(folder).as_posix() for p in written) == [
        "1h-index.parquet",
        "1h-mark.parquet",
        "1h-trade.parquet",
        "funding.parquet",
    ]
    back = store.load("demo", "ETH/USDT:USDT", "1h")
    assert back.synthetic and back.mark is not None and back.index is not None
    for name in ("timestamps", "open", "high", "low", "close", "volume", "funding_rate"):
        assert np.array_equal(getattr(back, name), getattr(small_demo, name))
    assert small_demo.mark is not None
    assert np.array_equal(back.mark.low, small_demo.mark.low)
    infos = store.datasets()
    assert {(i.symbol, i.kind, i.rows) for i in infos} == {
        ("ETH/USDT:USDT", "trade", 200),
        ("ETH/USDT:USDT", "mark", 200),
        ("ETH/USDT:USDT", "index", 200),
        ("ETH/USDT:USDT", "funding", 25),  # 200 hours from 00:00: events at 0, 8, ..., 192
    }
    assert all(i.synthetic for i in infos)
    skipped = store.load("demo", "ETH/USDT:USDT", "1h", mark=False, index=False, funding=False)
    assert skipped.mark is None and len(skipped.funding) == 0
    book = store.load_portfolio("demo", ["ETH/USDT:USDT"], "1h")
    assert book.synthetic and book.close.shape == (200, 1)


def test_store_merge_dedups_and_new_rows_win(tmp_store: Path) -> None:
    store = Store(tmp_store)

    def bars(first: int, n: int, bump: float) -> Candles:
        i = np.arange(first, first + n, dtype=np.float64)
        return make_candles(
            T0 + i.astype(np.int64) * HOUR,
            100 + i + bump,
            102 + i + bump,
            99 + i + bump,
            101 + i + bump,
            np.ones(n),
            timeframe="1h",
        )

    store.merge_candles(bars(0, 10, 0.0), "x", "A/USDT:USDT")
    merged = store.merge_candles(bars(5, 10, 0.5), "x", "A/USDT:USDT")
    # Hours 0..9 then 5..14: 15 unique hours; 5..9 take the second write (+0.5).
    assert len(merged) == 15
    assert list(merged.close[:6]) == [101, 102, 103, 104, 105, 106.5]
    assert merged.close[-1] == 101 + 14 + 0.5
    events = FundingEvents(np.array([T0, T0 + 8 * HOUR]), np.array([1e-4, 2e-4]))
    store.merge_funding(events, "x", "A/USDT:USDT")
    more = FundingEvents(np.array([T0 + 8 * HOUR, T0 + 16 * HOUR]), np.array([3e-4, 4e-4]))
    funding = store.merge_funding(more, "x", "A/USDT:USDT")
    assert list(funding.rates) == [1e-4, 3e-4, 4e-4]


def test_store_errors(tmp_store: Path) -> None:
    store = Store(tmp_store)
    with pytest.raises(Exception, match="no 1h trade candles stored"):
        store.load("x", "A/USDT:USDT", "1h")
    with pytest.raises(Exception, match=r"symbol: '\.\.' cannot name a store directory"):
        symbol_to_dirname("..")
    assert symbol_to_dirname("BTC/USDT:USDT") == "BTC_USDT_USDT"


def test_freqtrade_names_follow_freqtrade(tmp_path: Path) -> None:
    assert pair_to_filename("BTC/USDT:USDT") == "BTC_USDT_USDT"
    assert freqtrade_path(tmp_path, "BTC/USDT:USDT", "1h", "trade") == (
        tmp_path / "futures" / "BTC_USDT_USDT-1h-futures.feather"
    )
    assert freqtrade_path(tmp_path, "BTC/USDT:USDT", "8h", "funding_rate").name == (
        "BTC_USDT_USDT-8h-funding_rate.feather"
    )
    assert freqtrade_path(tmp_path, "ETH/BTC", "5m", "trade", trading_mode="spot") == (
        tmp_path / "ETH_BTC-5m.feather"
    )


@pytest.mark.parametrize("data_format", ["feather", "parquet", "json", "jsongz"])
def test_freqtrade_round_trip(
    small_demo: MarketData, data_format: DataFormat, tmp_path: Path
) -> None:
    paths = save_freqtrade(small_demo, tmp_path, data_format=data_format)
    ext = {"feather": "feather", "parquet": "parquet", "json": "json", "jsongz": "json.gz"}
    assert sorted(p.name for p in paths) == sorted(
        f"ETH_USDT_USDT-{tf}-{kind}.{ext[data_format]}"
        for tf, kind in (("1h", "futures"), ("1h", "mark"), ("1h", "index"), ("1h", "funding_rate"))
    )
    back = load_freqtrade(tmp_path, "ETH/USDT:USDT", "1h")
    assert back.mark is not None and back.index is not None
    for name in ("timestamps", "open", "high", "low", "close", "volume", "funding_rate"):
        assert np.array_equal(getattr(back, name), getattr(small_demo, name)), name
    assert small_demo.mark is not None
    assert np.array_equal(back.mark.close, small_demo.mark.close)


def test_freqtrade_feather_columns(small_demo: MarketData, tmp_path: Path) -> None:
    save_freqtrade(small_demo, tmp_path, funding_timeframe="8h")
    funding = feather.read_table(tmp_path / "futures" / "ETH_USDT_USDT-8h-funding_rate.feather")
    assert funding.column_names == ["date", "open", "high", "low", "close", "volume"]
    assert str(funding.schema.field("date").type) == "timestamp[ns, tz=UTC]"
    frame = funding.to_pandas()
    assert np.array_equal(frame["open"].to_numpy(), small_demo.funding.rates)
    assert (frame[["high", "low", "close", "volume"]] == 0).all().all()
    book = load_freqtrade_portfolio(tmp_path, ["ETH/USDT:USDT"], "1h")
    assert book.funding_mask.sum() == 25


def test_freqtrade_mark_choice_and_requirements(tmp_path: Path) -> None:
    trade = make_candles(
        T0 + np.arange(16) * HOUR,
        np.full(16, 10.0),
        np.full(16, 11.0),
        np.full(16, 9.0),
        np.full(16, 10.0),
        np.ones(16),
        timeframe="1h",
    )
    market = MarketData.build("A/USDT:USDT", trade)
    save_freqtrade(market, tmp_path)
    pd.DataFrame(
        {
            "date": pd.to_datetime([T0, T0 + 8 * HOUR], unit="ms", utc=True),
            "open": [10.0, 10.0],
            "high": [11.0, 11.0],
            "low": [9.0, 9.0],
            "close": [10.0, 10.0],
            "volume": [0.0, 0.0],
        }
    ).to_feather(tmp_path / "futures" / "A_USDT_USDT-8h-mark.feather")
    # An 8h mark cannot sit on 1h bars: ignored when optional, an error when required.
    assert load_freqtrade(tmp_path, "A/USDT:USDT", "1h").mark is None
    with pytest.raises(Exception, match=r"no mark candles .* \(found: A_USDT_USDT-8h-mark"):
        load_freqtrade(tmp_path, "A/USDT:USDT", "1h", mark=True)
    with pytest.raises(Exception, match="no FreqTrade futures candles for B/USDT:USDT 1h"):
        load_freqtrade(tmp_path, "B/USDT:USDT", "1h")
