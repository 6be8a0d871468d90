"""MarketData, resampling, gap policies, funding alignment and portfolios on hand-made series.

Inputs follow ``hourly_frame``'s formula (bar i: open 100+i, high 101.5+i, low 99+i,
close 100.5+i, volume 10+i), so every expected number below is worked out in the comment.
"""

from __future__ import annotations

import numpy as np
import pytest
from data_helpers import HOUR, T0

from levtrade.data import (
    Candles,
    DataValidationError,
    FundingEvents,
    MarketData,
    Portfolio,
    TimeframeError,
    format_timeframe,
    make_candles,
    make_funding,
    parse_time,
    parse_timeframe,
)

MIN5 = 300_000


def formula_candles(
    n: int, start: int = T0, step: int = HOUR, skip: tuple[int, ...] = ()
) -> Candles:
    i = np.array([k for k in range(n) if k not in skip], dtype=np.float64)
    return make_candles(
        start + i.astype(np.int64) * step,
        100.0 + i,
        101.5 + i,
        99.0 + i,
        100.5 + i,
        10.0 + i,
        origin="formula",
        timeframe=step,
        gaps="keep",
    )


def test_timeframe_strings() -> None:
    assert parse_timeframe("1m") == 60_000
    assert parse_timeframe("8h") == 8 * 3_600_000
    assert parse_timeframe("1w") == 7 * 86_400_000
    assert format_timeframe(90 * 60_000) == "90m"
    assert format_timeframe(86_400_000) == "1d"
    for bad in ("1M", "0h", "h1", "1y", ""):
        with pytest.raises(TimeframeError):
            parse_timeframe(bad)


def test_parse_time_is_utc_milliseconds() -> None:
    # 2024-01-01T00:00:00Z is 1,704,067,200 s after the epoch.
    assert parse_time("2024-01-01") == 1_704_067_200_000
    assert parse_time("2024-01-01T08:00:00+08:00") == 1_704_067_200_000
    assert parse_time(1_704_067_200_000) == 1_704_067_200_000


def test_gap_policies() -> None:
    stamps = T0 + np.array([0, 1, 2, 4, 5]) * HOUR
    args = (
        stamps,
        [1, 2, 3, 5, 6.0],
        [1.5, 2.5, 3.5, 5.5, 6.5],
        [1, 2, 3, 5, 6.0],
        [1.25, 2.25, 3.25, 5.25, 6.25],
        [1, 1, 1, 1, 1.0],
    )
    kept = make_candles(*args, timeframe="1h", gaps="keep")
    assert len(kept) == 5
    assert (kept.gaps.count, kept.gaps.missing_bars) == (1, 1)
    assert kept.gaps.largest_at == T0 + 3 * HOUR
    filled = make_candles(*args, timeframe="1h", gaps="fill")
    assert len(filled) == 6
    # The inserted 03:00 bar repeats the 02:00 close (3.25) with zero volume.
    assert filled.timestamps[3] == T0 + 3 * HOUR
    assert [filled.open[3], filled.high[3], filled.low[3], filled.close[3]] == [3.25] * 4
    assert filled.volume is not None and filled.volume[3] == 0.0
    assert filled.close[4] == 5.25
    assert filled.gaps.policy == "fill"


def test_resample_5m_to_1h_by_hand() -> None:
    five = formula_candles(24, step=MIN5)
    hourly = five.resample("1h")
    assert list(hourly.timestamps) == [T0, T0 + HOUR]
    # Hour 0 = bars 0..11: open 100, high 101.5+11, low 99, close 100.5+11,
    # volume sum(10+i, i=0..11) = 120 + 66 = 186.
    # Hour 1 = bars 12..23: open 112, high 124.5, low 111, close 123.5, volume 120 + 210 = 330.
    assert list(hourly.open) == [100.0, 112.0]
    assert list(hourly.high) == [112.5, 124.5]
    assert list(hourly.low) == [99.0, 111.0]
    assert list(hourly.close) == [111.5, 123.5]
    assert hourly.volume is not None and list(hourly.volume) == [186.0, 330.0]


def test_resample_drops_incomplete_buckets_unless_asked() -> None:
    # 5m bars from 00:15 to 01:55: hour 0 has 9 of 12 bars, hour 1 all 12.
    five = formula_candles(21, start=T0 + 3 * MIN5, step=MIN5)
    assert list(five.resample("1h").timestamps) == [T0 + HOUR]
    partial = five.resample("1h", partial="keep")
    assert list(partial.timestamps) == [T0, T0 + HOUR]
    assert partial.open[0] == 100.0 and partial.close[0] == 108.5
    with pytest.raises(TimeframeError, match="whole multiple"):
        five.resample("7m")


def test_weekly_buckets_start_on_monday() -> None:
    # 2024-01-01 is a Monday: 14 daily bars make exactly two weekly candles.
    daily = formula_candles(14, step=86_400_000)
    weekly = daily.resample("1w")
    assert list(weekly.timestamps) == [T0, T0 + 7 * 86_400_000]
    assert list(weekly.close) == [106.5, 113.5]


def test_funding_snapped_and_aligned_to_bars() -> None:
    funding = make_funding(
        [T0 + 1, T0 + 8 * HOUR + 7, T0 + 16 * HOUR + 31],
        [0.0001, 0.0002, -0.0001],
        origin="funding",
    )
    assert list(funding.timestamps) == [T0, T0 + 8 * HOUR, T0 + 16 * HOUR]
    assert funding.max_snap_ms == 31
    hourly = MarketData.build("X/USDT:USDT", formula_candles(24), funding=funding)
    assert list(np.flatnonzero(hourly.funding_mask)) == [0, 8, 16]
    assert list(hourly.funding_rate[[0, 8, 16]]) == [0.0001, 0.0002, -0.0001]
    assert hourly.funding_rate.sum() == pytest.approx(0.0002)
    four = hourly.resample("4h")
    assert list(np.flatnonzero(four.funding_mask)) == [0, 2, 4]
    daily = hourly.resample("1d")
    # One daily bar holds all three events: 0.0001 + 0.0002 - 0.0001.
    assert len(daily) == 1
    assert daily.funding_rate[0] == pytest.approx(0.0002)


def test_funding_event_inside_a_kept_gap_is_counted() -> None:
    funding = FundingEvents(np.array([T0, T0 + 8 * HOUR]), np.array([0.0001, 0.0001]))
    market = MarketData.build("X/USDT:USDT", formula_candles(12, skip=(8,)), funding=funding)
    assert market.funding_mask.sum() == 1
    assert market.funding_in_gaps == 1


def test_finer_mark_is_resampled_onto_the_trade_axis() -> None:
    trade = formula_candles(2)
    mark = formula_candles(24, step=MIN5)
    mark = make_candles(
        mark.timestamps,
        mark.open,
        mark.high,
        mark.low,
        mark.close,
        None,
        kind="mark",
        origin="mark",
    )
    market = MarketData.build("X/USDT:USDT", trade, mark=mark)
    assert market.mark is not None
    # Same numbers as test_resample_5m_to_1h_by_hand.
    assert list(market.mark.high) == [112.5, 124.5]
    assert list(market.mark.close) == [111.5, 123.5]


def mark_formula(n: int, start: int = T0) -> Candles:
    """Hourly mark candles one above ``formula_candles``: bar i opens at 101+i."""
    base = formula_candles(n, start=start)
    return make_candles(
        base.timestamps,
        base.open + 1,
        base.high + 1,
        base.low + 1,
        base.close + 1,
        None,
        kind="mark",
        origin="mark",
    )


def test_same_timeframe_mark_is_taken_at_the_trade_bars() -> None:
    # Trade bars 2..5 of a six-hour mark history: mark opens 103..106, closes 103.5..106.5.
    trade = formula_candles(6).take(slice(2, 6))
    market = MarketData.build("X/USDT:USDT", trade, mark=mark_formula(6))
    assert market.mark is not None
    assert list(market.mark.open) == [103.0, 104.0, 105.0, 106.0]
    assert list(market.mark.close) == [103.5, 104.5, 105.5, 106.5]
    # Trade bar 3 missing (kept gap): the mark bars 0, 1, 2, 4, 5 (opens 101, 102, 103, 105,
    # 106; lows 100, 101, 102, 104, 105), its bar 3 left out.
    gapped = MarketData.build("X/USDT:USDT", formula_candles(6, skip=(3,)), mark=mark_formula(6))
    assert gapped.mark is not None
    assert list(gapped.mark.open) == [101.0, 102.0, 103.0, 105.0, 106.0]
    assert list(gapped.mark.low) == [100.0, 101.0, 102.0, 104.0, 105.0]


def test_slicing_frame_and_summary() -> None:
    funding = FundingEvents(np.array([T0, T0 + 8 * HOUR, T0 + 16 * HOUR]), np.full(3, 1e-4))
    market = MarketData.build(
        "X/USDT:USDT", formula_candles(24), funding=funding, metadata={"synthetic": True}
    )
    part = market.between("2024-01-01T06:00", "2024-01-01T12:00")
    assert len(part) == 6 and part.start == T0 + 6 * HOUR and part.end == T0 + 11 * HOUR
    assert list(part.funding.timestamps) == [T0 + 8 * HOUR]
    assert list(np.flatnonzero(part.funding_mask)) == [2]
    frame = part.to_frame()
    assert frame.index.tz is not None and str(frame.index[0]) == "2024-01-01 06:00:00+00:00"
    assert list(frame["close"]) == [106.5, 107.5, 108.5, 109.5, 110.5, 111.5]
    assert frame.attrs["synthetic"] is True and frame.attrs["timeframe"] == "1h"
    assert part.summary()["bars"] == 6
    built = MarketData.build("X/USDT:USDT", formula_candles(24), start=T0 + 20 * HOUR)
    assert len(built) == 4
    with pytest.raises(DataValidationError, match="no trade candles"):
        MarketData.build("X/USDT:USDT", formula_candles(24), start="2030-01-01")


def test_marketdata_rejects_misshaped_arrays() -> None:
    with pytest.raises(DataValidationError, match="'close' must be 1-D float64 of length 3"):
        MarketData(
            symbol="X",
            timeframe_ms=HOUR,
            timestamps=np.array([0, HOUR, 2 * HOUR]),
            open=np.ones(3),
            high=np.ones(3),
            low=np.ones(3),
            close=np.ones(2),
            volume=np.ones(3),
        )


def market(symbol: str, first: int, n: int, skip: tuple[int, ...] = ()) -> MarketData:
    return MarketData.build(symbol, formula_candles(n, start=T0 + first * HOUR, skip=skip))


def test_portfolio_union_axis_with_later_listing() -> None:
    a = market("A/USDT:USDT", 0, 6)
    b = market("B/USDT:USDT", 3, 6)
    book = Portfolio.from_markets([a, b])
    # Union of hours 0..5 and 3..8 is 0..8.
    assert list(book.timestamps) == [T0 + k * HOUR for k in range(9)]
    assert book.close.shape == (9, 2)
    assert list(book.active[:, 0]) == [True] * 6 + [False] * 3
    assert list(book.active[:, 1]) == [False] * 3 + [True] * 6
    assert np.isnan(book.close[:3, 1]).all() and np.isnan(book.close[6:, 0]).all()
    # B's first bar (hour 3) is formula bar 0: close 100.5.
    assert book.close[3, 1] == 100.5 and book.close[3, 0] == 103.5
    assert book.mark is None
    assert book["B/USDT:USDT"] is b
    assert book.summary()["active_bars"] == {"A/USDT:USDT": 6, "B/USDT:USDT": 6}
    frame = book.to_frame()
    assert frame[("close", "B/USDT:USDT")].isna().sum() == 3


def test_portfolio_union_axis_off_the_grid_and_far_apart() -> None:
    a = market("A/USDT:USDT", 0, 3)
    half = MarketData.build("B/USDT:USDT", formula_candles(2, start=T0 + HOUR // 2))
    book = Portfolio.from_markets([a, half])
    # A at hours 0, 1, 2; B half an hour later at 0.5 and 1.5: the union interleaves them.
    assert list(book.timestamps) == [T0 + k * HOUR // 2 for k in range(5)]
    assert list(book.active[:, 0]) == [True, False, True, False, True]
    assert list(book.active[:, 1]) == [False, True, False, True, False]
    # B's bars are formula bars 0 and 1 (close 100.5, 101.5); A's bar at hour 2 closes 102.5.
    assert list(book.close[[1, 3], 1]) == [100.5, 101.5] and book.close[4, 0] == 102.5
    far = market("C/USDT:USDT", 10_000, 2)
    apart = Portfolio.from_markets([a, far])
    # hours 0, 1, 2 and 10,000, 10,001: five bars, not the 10,002 hours between
    assert list(apart.timestamps) == [T0 + k * HOUR for k in (0, 1, 2, 10_000, 10_001)]
    assert list(apart.active[:, 1]) == [False] * 3 + [True] * 2
    assert list(apart.open[3:, 1]) == [100.0, 101.0]


def test_portfolio_union_axis_mixes_runs_members_with_holes_and_single_bars() -> None:
    # a run of bars, one with holes (placed bar by bar), one bar, and one on the grid of a
    # timestamp that is not a bar of the others: the union is every bar time, in order
    members = [
        market("A/USDT:USDT", 2, 5),
        market("B/USDT:USDT", 0, 9, skip=(2, 3, 6)),
        market("C/USDT:USDT", 12, 1),
        market("D/USDT:USDT", 7, 4),
    ]
    book = Portfolio.from_markets(members)
    expected = np.unique(np.concatenate([m.timestamps for m in members]))
    assert np.array_equal(book.timestamps, expected)
    for j, member in enumerate(members):
        rows = np.searchsorted(expected, member.timestamps)
        assert np.array_equal(np.flatnonzero(book.active[:, j]), rows)
        assert np.array_equal(book.close[rows, j], member.close)
        assert np.isnan(np.delete(book.close[:, j], rows)).all()


def test_portfolio_intersection_and_errors() -> None:
    a = market("A/USDT:USDT", 0, 6)
    b = market("B/USDT:USDT", 3, 6, skip=(1,))
    common = Portfolio.from_markets([a, b], axis="intersection")
    # A has hours 0..5, B has 3, 5, 6, 7, 8 (hour 4 skipped): common hours 3 and 5.
    assert list(common.timestamps) == [T0 + 3 * HOUR, T0 + 5 * HOUR]
    assert common.active.all()
    assert list(common.close[:, 0]) == [103.5, 105.5]
    with pytest.raises(DataValidationError, match="given twice"):
        Portfolio.from_markets([a, a])
    daily = MarketData.build("C/USDT:USDT", formula_candles(3, step=86_400_000))
    with pytest.raises(TimeframeError, match="resample"):
        Portfolio.from_markets([a, daily])
    far = market("D/USDT:USDT", 100, 3)
    with pytest.raises(DataValidationError, match="share no bar"):
        Portfolio.from_markets([a, far], axis="intersection")
