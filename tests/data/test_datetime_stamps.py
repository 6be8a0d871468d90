"""Candle and funding timestamps given as datetimes: a DataFrame's index as it is, any unit,
read to epoch milliseconds (2020-01-01T00:00Z is 1,577,836,800,000 ms since the epoch)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from levtrade.data.errors import DataValidationError
from levtrade.data.series import make_candles, make_funding

JAN_1_2020_MS = 1_577_836_800_000
MINUTE_MS = 60_000


def _candles(stamps: object) -> np.ndarray:
    prices = np.full(3, 100.0)
    return make_candles(
        stamps, prices, prices, prices, prices, np.ones(3), timeframe="1m"
    ).timestamps


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_a_datetime_index_in_any_unit_reads_as_epoch_milliseconds(unit: str) -> None:
    index = pd.date_range("2020-01-01", periods=3, freq="1min", tz="UTC").as_unit(unit)
    expected = [JAN_1_2020_MS, JAN_1_2020_MS + MINUTE_MS, JAN_1_2020_MS + 2 * MINUTE_MS]
    assert _candles(index).tolist() == expected
    assert _candles(pd.Series(index)).tolist() == expected
    assert _candles(index.tz_convert(None).to_numpy()).tolist() == expected  # datetime64


def test_a_millisecond_index_is_read_without_a_copy() -> None:
    index = pd.date_range("2020-01-01", periods=3, freq="1min", tz="UTC").as_unit("ms")
    assert np.shares_memory(_candles(index), index.asi8)


def test_epoch_millisecond_integers_are_taken_as_they_are() -> None:
    stamps = np.array([JAN_1_2020_MS + k * MINUTE_MS for k in range(3)], dtype=np.int64)
    assert _candles(stamps).tolist() == stamps.tolist()


def test_a_timestamp_finer_than_a_millisecond_is_refused() -> None:
    index = pd.date_range("2020-01-01", periods=3, freq="1min").as_unit("ns")
    stamps = index.to_numpy().copy()
    stamps[2] += np.timedelta64(1, "us")
    with pytest.raises(DataValidationError, match="not a whole millisecond") as caught:
        _candles(stamps)
    assert "row 2" in str(caught.value)


def test_a_missing_datetime_is_refused() -> None:
    stamps = pd.date_range("2020-01-01", periods=3, freq="1min").to_numpy().copy()
    stamps[1] = np.datetime64("NaT")
    with pytest.raises(DataValidationError, match="missing timestamp") as caught:
        _candles(stamps)
    assert "row 1" in str(caught.value)


def test_funding_times_read_as_datetimes_too() -> None:
    times = pd.DatetimeIndex(["2020-01-01T00:00Z", "2020-01-01T08:00Z"]).as_unit("ns")
    events = make_funding(times, [0.0001, -0.0002])
    assert events.timestamps.tolist() == [JAN_1_2020_MS, JAN_1_2020_MS + 8 * 3_600_000]
