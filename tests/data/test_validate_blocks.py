"""The blockwise validation of long series names the same row, value and count as a row-by-row
check: defects in a later block, at block edges, and several defects of one rule."""

from __future__ import annotations

import math

import numpy as np
import pytest
from data_helpers import HOUR, T0

from levtrade.data import MarketData
from levtrade.data.errors import DataValidationError, GapError, TimeframeError
from levtrade.data.series import make_candles, make_funding
from levtrade.data.validate import BLOCK_ROWS, Intervals, find_gaps

N = 3 * BLOCK_ROWS + 7
EDGES = [0, BLOCK_ROWS - 1, BLOCK_ROWS, 2 * BLOCK_ROWS + 1, N - 1]


def _candles() -> dict[str, np.ndarray]:
    i = np.arange(N, dtype=np.float64)
    return {
        "timestamps": T0 + np.arange(N, dtype=np.int64) * HOUR,
        "open_": 100.0 + i,
        "high": 101.5 + i,
        "low": 99.0 + i,
        "close": 100.5 + i,
        "volume": 10.0 + i,
    }


def _fail(columns: dict[str, np.ndarray]) -> DataValidationError:
    with pytest.raises(DataValidationError) as caught:
        make_candles(**columns, timeframe="1h")
    return caught.value


@pytest.mark.parametrize("row", EDGES)
@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("open", math.nan, "missing or not finite (NaN/inf)"),
        ("close", math.inf, "missing or not finite (NaN/inf)"),
        ("high", -math.inf, "missing or not finite (NaN/inf)"),
        ("low", 0.0, "price must be positive"),
        ("open", -1.0, "price must be positive"),
        ("volume", math.nan, "missing or not finite (NaN/inf)"),
        ("volume", -0.5, "volume must not be negative"),
    ],
)
def test_bad_price_or_volume_in_any_block(row: int, column: str, value: float, reason: str) -> None:
    columns = _candles()
    columns["open_" if column == "open" else column][row] = value
    error = _fail(columns)
    assert (error.reason, error.column, error.row) == (reason, column, row)
    assert error.value == repr(value)


@pytest.mark.parametrize("row", EDGES)
def test_high_below_and_low_above_the_body_in_any_block(row: int) -> None:
    columns = _candles()
    columns["high"][row] = columns["close"][row] - 0.25
    error = _fail(columns)
    assert error.column == "high" and error.row == row
    assert error.reason == f"high is below max(open, close) = {float(columns['close'][row])!r}"
    columns = _candles()
    columns["low"][row] = columns["open_"][row] + 0.25
    error = _fail(columns)
    assert error.column == "low" and error.row == row
    assert error.reason == f"low is above min(open, close) = {float(columns['open_'][row])!r}"


def test_first_failing_rule_wins_and_the_others_are_counted() -> None:
    columns = _candles()
    columns["high"][[BLOCK_ROWS + 3, 2 * BLOCK_ROWS]] = 1.0  # below the body, twice
    columns["close"][N - 2] = math.nan  # a finiteness rule is checked before the body
    error = _fail(columns)
    assert (error.column, error.row) == ("close", N - 2)
    columns["close"][N - 2] = 100.0 + N - 2
    error = _fail(columns)
    assert (error.column, error.row) == ("high", BLOCK_ROWS + 3)
    assert error.reason.endswith("(1 more rows break this rule)")


@pytest.mark.parametrize("row", [1, BLOCK_ROWS, BLOCK_ROWS + 1, N - 1])
def test_unsorted_duplicate_and_off_grid_timestamps_in_any_block(row: int) -> None:
    columns = _candles()
    columns["timestamps"][row] = columns["timestamps"][row - 1]
    error = _fail(columns)
    assert error.reason.startswith(f"duplicate timestamp: same as row {row - 1}")
    assert error.row == row
    columns = _candles()
    columns["timestamps"][row:] += HOUR // 2
    with pytest.raises(TimeframeError) as off_grid:
        make_candles(**columns, timeframe="1h")
    assert off_grid.value.row == row and "mixed timeframes" in off_grid.value.reason
    columns = _candles()
    columns["timestamps"][row:] += 2 * HOUR
    with pytest.raises(GapError) as gap:
        make_candles(**columns, timeframe="1h")
    assert gap.value.row == row and gap.value.reason.startswith("gap of 2 missing 1h bar(s)")


def test_gaps_are_reported_once_intervals_are_shared() -> None:
    columns = _candles()
    for start in (5, BLOCK_ROWS + 1, 2 * BLOCK_ROWS + 2):
        columns["timestamps"][start:] += HOUR
    candles = make_candles(**columns, gaps="keep")
    assert candles.timeframe_ms == HOUR
    assert (candles.gaps.count, candles.gaps.missing_bars) == (3, 3)
    assert candles.gaps == find_gaps(candles.timestamps, HOUR, "keep")


def test_intervals_bounds_span_every_block() -> None:
    stamps = T0 + np.arange(N, dtype=np.int64) * HOUR
    stamps[2 * BLOCK_ROWS + 1 :] += 5 * HOUR
    stamps[BLOCK_ROWS] -= 1
    assert Intervals(stamps).bounds == (HOUR - 1, 6 * HOUR)
    assert np.array_equal(Intervals(stamps).steps, np.diff(stamps))


def test_market_data_refuses_unsorted_bars_in_a_later_block() -> None:
    columns = _candles()
    candles = make_candles(**columns, timeframe="1h")
    stamps = candles.timestamps.copy()
    stamps[N - 1] = stamps[N - 2]
    size = candles.open.size
    with pytest.raises(DataValidationError, match="strictly increasing"):
        MarketData("X", HOUR, stamps, *(np.ones(size),) * 5)


def test_intervals_found_by_make_candles_serve_only_their_own_timestamps() -> None:
    candles = make_candles(**_candles(), timeframe="1h")
    assert candles.intervals is not None and candles.intervals.timestamps is candles.timestamps
    assert candles.between() is candles  # every bar: the candles themselves, intervals kept
    later = candles.between(start=int(candles.timestamps[1]))
    assert len(later) == N - 1 and later.intervals is None
    assert MarketData.build("X", candles).timestamps is candles.timestamps
    # intervals of another array are not taken for these timestamps: unsorted bars are refused
    stamps = candles.timestamps.copy()
    stamps[N - 1] = stamps[N - 2]
    size = candles.open.size
    with pytest.raises(DataValidationError, match="strictly increasing"):
        MarketData("X", HOUR, stamps, *(np.ones(size),) * 5, intervals=candles.intervals)


@pytest.mark.parametrize("rate", [math.nan, 1.5, -1.0000001, -math.inf])
def test_bad_funding_rate_in_a_later_block(rate: float) -> None:
    stamps = T0 + np.arange(N, dtype=np.int64) * 8 * HOUR
    rates = np.full(N, 1e-4)
    rates[[-1, -3]] = (-1.0, 1.0)  # the bounds are allowed
    make_funding(stamps, rates)
    rates[2 * BLOCK_ROWS] = rate
    with pytest.raises(DataValidationError) as caught:
        make_funding(stamps, rates)
    assert caught.value.row == 2 * BLOCK_ROWS and caught.value.value == repr(rate)
