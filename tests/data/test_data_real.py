"""Real recorded Binance data from ../shared/data: every INDEX.csv Parquet file loads through the
right reader with the figures INDEX.csv and the data README record, the 2025-10-10 crash loads
as a 20-symbol portfolio, and FreqTrade's own test data loads through the FreqTrade reader.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from levtrade.data import (
    CoverageError,
    MarketData,
    Portfolio,
    TimeframeError,
    guess_kind,
    list_freqtrade,
    load_freqtrade,
    load_market,
    parse_time,
    read_candles,
    read_funding,
    read_ticks,
    ticks_to_candles,
)
from levtrade.data.io import candle_kind

pytestmark = pytest.mark.shared

HERE = Path(__file__).resolve()
INDEX_PATH = HERE.parents[2].parent / "shared" / "data" / "INDEX.csv"
INDEX_ROWS: list[dict[str, str]] = (
    list(csv.DictReader(INDEX_PATH.open())) if INDEX_PATH.is_file() else []
)
HOUR = 3_600_000


def _tick_file(name: str) -> bool:
    return "trades" in name or "quotes" in name


@pytest.mark.parametrize("row", INDEX_ROWS, ids=[r["file"] for r in INDEX_ROWS])
def test_every_indexed_parquet_file_loads(shared_data: Path, row: dict[str, str]) -> None:
    path = shared_data / row["file"]
    rows = int(row["rows"])
    if _tick_file(path.name):
        ticks = read_ticks(path)
        assert len(ticks) == rows
        if row["start_utc"].isdigit():
            assert ticks.timestamps[0] == int(row["start_utc"])
            assert ticks.timestamps[-1] == int(row["end_utc"])
        else:
            assert ticks.timestamps[0] == parse_time(row["start_utc"])
            assert ticks.timestamps[-1] == parse_time(row["end_utc"])
        return
    kind = guess_kind(path)
    if kind == "funding":
        events = read_funding(path)
        assert len(events) == rows
        # Raw times carry Binance's millisecond jitter; the loaded ones are on the hour.
        assert events.timestamps[0] == round(parse_time(row["start_utc"]) / HOUR) * HOUR
        assert events.timestamps[-1] == round(parse_time(row["end_utc"]) / HOUR) * HOUR
        assert events.rates.min() == float(row["min_close_or_rate"])
        assert events.rates.max() == float(row["max_close_or_rate"])
        assert events.max_snap_ms < 1000
        intervals = Counter(np.diff(events.timestamps) // HOUR)
        expected = json.loads(row["funding_intervals_h"])
        assert {float(k): v for k, v in intervals.items()} == {
            float(k): v for k, v in expected.items()
        }
        return
    candles = read_candles(path, kind=candle_kind(kind), gaps="keep")
    assert len(candles) == rows
    assert candles.timestamps[0] == parse_time(row["start_utc"])
    assert candles.timestamps[-1] == parse_time(row["end_utc"])
    assert candles.close.min() == float(row["min_close_or_rate"])
    assert candles.close.max() == float(row["max_close_or_rate"])
    if row["gaps"]:
        assert candles.gaps.count == int(row["gaps"])
        assert candles.gaps.missing_bars == int(row["missing_bars"])


def test_index_lists_every_parquet_file(shared_data: Path) -> None:
    on_disk = {str(p.relative_to(shared_data)) for p in shared_data.rglob("*.parquet")}
    assert on_disk == {r["file"] for r in INDEX_ROWS}


def test_spot_gap_is_reported_and_fillable(shared_data: Path) -> None:
    path = shared_data / "binance_spot_static_klines/BTCUSDT-1h-spot.parquet"
    kept = read_candles(path, gaps="keep")
    # README: one missing 1h bar on 2023-03-24 (INDEX: 1 gap, 1 missing bar); the file
    # goes from 12:00 to 14:00, so the missing bar opens at 13:00.
    assert kept.gaps.largest_at == parse_time("2023-03-24T13:00Z")
    filled = read_candles(path, gaps="fill")
    assert len(filled) == 37_923 + 1
    with pytest.raises(Exception, match="gap of 1 missing 1h bar"):
        read_candles(path, gaps="error")


def test_two_sources_of_the_same_binance_candles_agree(shared_data: Path) -> None:
    # README cross-check: maxakak1998 vs catman77 BTCUSDT 1h, 11,991 identical bars.
    a = read_candles(shared_data / "binance_um_freqtrade_maxakak1998/BTCUSDT-1h-perp.parquet")
    b = read_candles(shared_data / "binance_um_freqtrade_catman77/BTCUSDT-1h-perp.parquet")
    common, ia, ib = np.intersect1d(a.timestamps, b.timestamps, return_indices=True)
    assert common.size == 11_991
    for name in ("open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(a, name)[ia], getattr(b, name)[ib])


def test_resampled_5m_equals_recorded_1h(shared_data: Path) -> None:
    folder = shared_data / "binance_um_freqtrade_harthor"
    five = read_candles(folder / "BTCUSDT-5m-perp.parquet").resample("1h")
    hourly = read_candles(folder / "BTCUSDT-1h-perp.parquet")
    common, i5, ih = np.intersect1d(five.timestamps, hourly.timestamps, return_indices=True)
    assert common.size == 9977  # INDEX: 1h ends 17:00, the 5m file 16:55 (last full hour 16:00)
    for name in ("open", "high", "close"):
        assert np.array_equal(getattr(five, name)[i5], getattr(hourly, name)[ih])
    # One recorded hour disagrees with its own 5m candles: Binance's 1h kline for
    # 2025-01-14 15:00 has a lower low (96,139.2) than any of its twelve 5m klines (96,249.0).
    differs = common[five.low[i5] != hourly.low[ih]]
    assert [int(t) for t in differs] == [parse_time("2025-01-14T15:00Z")]
    # Volume agrees to float rounding except in four hours where the venue's 1h and 5m
    # klines disagree (2025-01-14 13:00 and 15:00, 2025-01-29 01:00 and 02:00).
    assert five.volume is not None and hourly.volume is not None
    off = ~np.isclose(five.volume[i5], hourly.volume[ih], rtol=1e-9, atol=0.0)
    assert [int(t) for t in common[off]] == [
        parse_time(t)
        for t in (
            "2025-01-14T13:00Z",
            "2025-01-14T15:00Z",
            "2025-01-29T01:00Z",
            "2025-01-29T02:00Z",
        )
    ]


HARTHOR = [
    "BTC",
    "ETH",
    "SOL",
    "XRP",
    "DOGE",
    "BNB",
    "BCH",
    "OP",
    "INJ",
    "ZEC",
    "1000PEPE",
    "HYPE",
    "ORCA",
    "PIPPIN",
    "NAORIS",
    "WLFI",
    "RIVER",
    "SPACE",
    "XAU",
    "XAG",
]


@pytest.fixture(scope="module")
def crash_book(shared_data: Path) -> Portfolio:
    folder = shared_data / "binance_um_freqtrade_harthor"
    members: list[MarketData] = []
    for base in HARTHOR:
        members.append(
            load_market(
                folder / f"{base}USDT-1h-perp.parquet",
                symbol=f"{base}/USDT:USDT",
                mark=folder / f"{base}USDT-1h-mark.parquet",
                funding=folder / f"{base}USDT-funding_rate.parquet",
                coverage="trim",
            )
        )
    return Portfolio.from_markets(members)


def _index_row(name: str) -> dict[str, str]:
    return next(r for r in INDEX_ROWS if r["file"] == f"binance_um_freqtrade_harthor/{name}")


def test_crash_portfolio_axis_and_listings(crash_book: Portfolio) -> None:
    assert len(crash_book.symbols) == 20
    assert crash_book.mark is not None and crash_book.has_mark.all()
    first, last = parse_time("2024-12-31T00:00Z"), parse_time("2026-02-19T21:00Z")
    assert crash_book.timestamps[0] == first and crash_book.timestamps[-1] == last
    assert len(crash_book) == (last - first) // HOUR + 1
    for j, symbol in enumerate(crash_book.symbols):
        base = symbol.split("/")[0]
        expected = int(_index_row(f"{base}USDT-1h-perp.parquet")["rows"])
        if base == "RIVER":
            # INDEX: RIVER mark ends 2026-02-19 04:00, trade 05:00: the last bar is trimmed.
            expected -= 1
        assert crash_book.active[:, j].sum() == expected, symbol
    crash = int(np.searchsorted(crash_book.timestamps, parse_time("2025-10-10T21:00Z")))
    inactive = {s for j, s in enumerate(crash_book.symbols) if not crash_book.active[crash, j]}
    # INDEX: RIVER lists 2025-10-17, XAU 2025-12-11, XAG 2026-01-07, SPACE 2026-01-23.
    assert inactive == {"RIVER/USDT:USDT", "XAU/USDT:USDT", "XAG/USDT:USDT", "SPACE/USDT:USDT"}
    assert np.isnan(crash_book.close[crash, crash_book.column("RIVER/USDT:USDT")])


@pytest.mark.parametrize(
    ("base", "drop_pct"),
    # README "Crash episodes": max high -> min low on 2025-10-10 (evening window).
    [
        ("BTC", -13.8),
        ("ETH", -17.0),
        ("SOL", -33.0),
        ("XRP", -57.0),
        ("DOGE", -64.0),
        ("OP", -67.0),
        ("INJ", -76.0),
    ],
)
def test_crash_depth_matches_readme(crash_book: Portfolio, base: str, drop_pct: float) -> None:
    window = (crash_book.timestamps >= parse_time("2025-10-10T18:00Z")) & (
        crash_book.timestamps < parse_time("2025-10-11T00:00Z")
    )
    j = crash_book.column(f"{base}/USDT:USDT")
    high = crash_book.high[window, j].max()
    low = crash_book.low[window, j].min()
    assert (low / high - 1) * 100 == pytest.approx(drop_pct, abs=0.5)
    assert crash_book.timestamps[window][np.argmin(crash_book.low[window, j])] == parse_time(
        "2025-10-10T21:00Z"
    )


def test_crash_mark_low_is_shallower_than_last(crash_book: Portfolio) -> None:
    assert crash_book.mark is not None
    at = int(np.searchsorted(crash_book.timestamps, parse_time("2025-10-10T21:00Z")))
    j = crash_book.column("ETH/USDT:USDT")
    # README: ETH mark low 3,425 vs last-price low 3,400.
    assert crash_book.low[at, j] == 3400.0
    assert round(crash_book.mark.low[at, j]) == 3425


def test_crash_funding_is_aligned(crash_book: Portfolio) -> None:
    j = crash_book.column("BTC/USDT:USDT")
    events = crash_book.timestamps[crash_book.funding_mask[:, j]]
    # INDEX: 1,247 BTC events, all inside BTC's bars, 8h apart.
    assert events.size == 1247
    assert set(np.diff(events) // HOUR) == {8}
    day = (events >= parse_time("2025-10-10")) & (events < parse_time("2025-10-11T01:00Z"))
    assert [int(t) for t in events[day]] == [
        parse_time(t)
        for t in (
            "2025-10-10T00:00Z",
            "2025-10-10T08:00Z",
            "2025-10-10T16:00Z",
            "2025-10-11T00:00Z",
        )
    ]
    hype = crash_book.column("HYPE/USDT:USDT")
    hype_events = crash_book.timestamps[crash_book.funding_mask[:, hype]]
    assert set(np.diff(hype_events) // HOUR) == {4}  # README: HYPE funds every 4h


def test_btc_last_vs_mark_matches_readme(crash_book: Portfolio) -> None:
    assert crash_book.mark is not None
    j = crash_book.column("BTC/USDT:USDT")
    rows = crash_book.active[:, j]
    basis = crash_book.close[rows, j] / crash_book.mark.close[rows, j] - 1
    # README: BTCUSDT last close / mark close - 1 over 9,978 bars: median ~0,
    # p0.1 -0.084 %, p99.9 +0.060 %.
    assert basis.size == 9978
    assert abs(np.median(basis)) < 1e-5
    p_lo, p_hi = np.percentile(basis, [0.1, 99.9]) * 100
    assert round(p_lo, 3) == -0.084 and round(p_hi, 3) == 0.060


# --- FreqTrade's test data through the FreqTrade reader ---------------------------------------


@pytest.fixture(scope="module")
def ft_dir(shared_data: Path) -> Path:
    return shared_data / "freqtrade_testdata"


def test_freqtrade_futures_with_mark_and_funding(ft_dir: Path) -> None:
    # README: 1h futures 2021-11-17 01:00 -> 11-21 04:00; 1h mark 11-15 06:00 -> 11-19 09:00.
    with pytest.raises(CoverageError) as caught:
        load_freqtrade(ft_dir, "XRP/USDT:USDT", "1h")
    assert caught.value.file is not None and caught.value.file.endswith(
        "XRP_USDT_USDT-1h-mark.feather"
    )
    assert "2021-11-19T10:00:00Z" in str(caught.value.value)
    market = load_freqtrade(ft_dir, "XRP/USDT:USDT", "1h", coverage="trim")
    assert market.mark is not None
    # 2021-11-17 01:00 .. 2021-11-19 09:00 inclusive is 48 + 8 + 1 = 57 hourly bars.
    assert len(market) == 57
    assert market.start == parse_time("2021-11-17T01:00Z")
    assert market.end == parse_time("2021-11-19T09:00Z")
    # README: 91 funding events 2021-11-18 00:00:00.017 -> 2021-12-18, 8h apart; inside the
    # bars: 11-18 00:00, 08:00, 16:00 and 11-19 00:00, 08:00.
    assert len(market.funding) == 91
    assert market.funding.timestamps[0] == parse_time("2021-11-18T00:00Z")
    assert market.funding.max_snap_ms >= 17
    assert [int(t) for t in market.timestamps[market.funding_mask]] == [
        parse_time("2021-11-18T00:00Z") + k * 8 * HOUR for k in range(5)
    ]
    assert market.metadata["layout"] == "freqtrade"


def test_freqtrade_json_and_feather_hold_the_same_candles(ft_dir: Path) -> None:
    # README: XRP_USDT_USDT-1h-futures.json.gz has "same candles as the feather file".
    feather = read_candles(ft_dir / "futures/XRP_USDT_USDT-1h-futures.feather")
    jsongz = read_candles(ft_dir / "futures/XRP_USDT_USDT-1h-futures.json.gz")
    assert len(jsongz) == 100
    assert np.array_equal(feather.timestamps, jsongz.timestamps)
    for name in ("open", "high", "low", "close", "volume"):
        np.testing.assert_allclose(getattr(feather, name), getattr(jsongz, name), rtol=1e-12)


@pytest.mark.parametrize(
    ("pair", "timeframe", "rows", "gaps"),
    # README "Spot OHLCV" table: rows and gaps.
    [
        ("ADA/BTC", "5m", 5720, 5),
        ("DASH/BTC", "5m", 5758, 2),
        ("ETH/BTC", "5m", 5760, 0),
        ("TRX/BTC", "5m", 5754, 6),
        ("UNITTEST/BTC", "1m", 13681, 538),
        ("UNITTEST/BTC", "30m", 1920, 0),
        ("XRP/ETH", "1m", 2469, 676),
        ("XRP/ETH", "5m", 706, 6),
    ],
)
def test_freqtrade_spot_files(
    ft_dir: Path, pair: str, timeframe: str, rows: int, gaps: int
) -> None:
    market = load_freqtrade(ft_dir, pair, timeframe, trading_mode="spot", gaps="keep")
    assert len(market) == rows
    assert market.gaps is not None and market.gaps.count == gaps
    assert market.mark is None and len(market.funding) == 0


def test_freqtrade_timeframe_mismatch_file(ft_dir: Path) -> None:
    # README: UNITTEST_BTC-8m.json.gz holds 1m data under an 8m name.
    with pytest.raises(TimeframeError, match="not a whole number of 8m bars") as caught:
        load_freqtrade(ft_dir, "UNITTEST/BTC", "8m", trading_mode="spot", gaps="keep")
    assert caught.value.row == 1 and caught.value.column == "date"


def test_freqtrade_listing(ft_dir: Path) -> None:
    files = {(f.symbol, f.timeframe, f.candle_type) for f in list_freqtrade(ft_dir)}
    assert ("XRP/USDT:USDT", "8h", "funding_rate") in files
    assert ("XRP/USDT:USDT", "1h", "mark") in files
    assert ("ADA/BTC", "5m", "spot") in files


def test_trades_aggregate_to_freqtrades_candles(ft_dir: Path) -> None:
    # Same XRP/ETH window: 12,477 trades and FreqTrade's 706 5m candles.
    candles = ticks_to_candles(read_ticks(ft_dir / "XRP_ETH-trades.parquet"), "5m", gaps="keep")
    recorded = read_candles(ft_dir / "XRP_ETH-5m.feather", gaps="keep")
    assert np.array_equal(candles.timestamps, recorded.timestamps)
    for name in ("open", "high", "low", "close"):
        assert np.array_equal(getattr(candles, name), getattr(recorded, name))
    assert candles.volume is not None and recorded.volume is not None
    np.testing.assert_allclose(candles.volume, recorded.volume, rtol=1e-9)


def test_quotes_become_mid_price_candles(shared_data: Path) -> None:
    quotes = read_ticks(shared_data / "nautilus_trader_testdata/raw/btcusdt-quotes.parquet")
    assert quotes.kind == "quotes" and len(quotes) == 451
    candles = ticks_to_candles(quotes, "1s", gaps="keep")
    assert candles.timestamps[0] == parse_time("2021-01-08T00:00:01Z")
    assert candles.volume is not None and not candles.volume.any()


def test_largest_spot_gap_matches_readme(shared_data: Path) -> None:
    candles = read_candles(
        shared_data / "binance_spot_static_klines/BTCUSDT-2h-spot.parquet", gaps="keep"
    )
    # README: BTC 2h has 18 gaps / 53 missing bars, the largest on 2018-02-08 (+34h between
    # bars, i.e. 34 / 2 - 1 = 16 missing 2h bars).
    assert (candles.gaps.count, candles.gaps.missing_bars) == (18, 53)
    assert candles.gaps.largest_missing_bars == 16
    assert candles.gaps.largest_at is not None
    assert parse_time("2018-02-08") <= candles.gaps.largest_at < parse_time("2018-02-09")
