"""OHLCV aggregation to a coarser timeframe (e.g. 5m -> 1h) on the UTC grid.

Buckets start at multiples of the target timeframe from the Unix epoch (weekly buckets from
Monday 00:00 UTC, as exchanges open weekly candles), so resampled bars carry the same open
times as the venue's own candles of that timeframe.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from levtrade.data._types import BoolArray, FloatArray, IntArray
from levtrade.data.errors import TimeframeError
from levtrade.data.timeframes import MS_PER_UNIT, format_timeframe

__all__ = ["PartialPolicy", "bucket_origin", "resample_arrays"]

PartialPolicy = Literal["drop", "keep"]

_MONDAY_OFFSET_MS = 4 * MS_PER_UNIT["d"]


def bucket_origin(timeframe_ms: int) -> int:
    """Grid origin: the epoch, or the first Monday after it for whole weeks."""
    return _MONDAY_OFFSET_MS if timeframe_ms % MS_PER_UNIT["w"] == 0 else 0


def resample_arrays(
    timestamps: IntArray,
    prices: dict[str, FloatArray],
    volume: FloatArray | None,
    source_ms: int,
    target_ms: int,
    partial: PartialPolicy = "drop",
) -> tuple[IntArray, dict[str, FloatArray], FloatArray | None, BoolArray]:
    """Aggregate sorted bars: open first, high max, low min, close last, volume sum.

    ``prices`` holds ``open``, ``high``, ``low`` and ``close``. A bucket with fewer source bars
    than ``target_ms // source_ms`` (the first and last buckets of a series that starts or ends
    mid-bucket, or a bucket with missing bars) is incomplete: its open/close are not the real
    ones, so it is dropped unless ``partial="keep"``. Also returns, per input bar, whether it
    went into a kept bucket, so aligned series can be cut the same way.
    """
    if target_ms % source_ms != 0 or target_ms < source_ms:
        raise TimeframeError(
            f"cannot resample {format_timeframe(source_ms)} bars to "
            f"{format_timeframe(target_ms)}: the target must be a whole multiple of the source"
        )
    if partial not in ("drop", "keep"):
        raise TimeframeError(f"unknown partial-bucket policy {partial!r}; use 'drop' or 'keep'")
    origin = bucket_origin(target_ms)
    buckets = ((timestamps - origin) // target_ms) * target_ms + origin
    if timestamps.size == 0:
        empty = {name: values[:0].copy() for name, values in prices.items()}
        return (
            buckets.astype(np.int64),
            empty,
            None if volume is None else volume[:0].copy(),
            np.zeros(0, dtype=np.bool_),
        )
    starts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]])
    ends = np.r_[starts[1:], timestamps.size] - 1
    counts = ends - starts + 1
    keep = counts == target_ms // source_ms if partial == "drop" else np.ones(counts.size, bool)
    out = {
        "open": prices["open"][starts][keep],
        "high": np.maximum.reduceat(prices["high"], starts)[keep],
        "low": np.minimum.reduceat(prices["low"], starts)[keep],
        "close": prices["close"][ends][keep],
    }
    out_volume = None if volume is None else np.add.reduceat(volume, starts)[keep]
    used = np.repeat(keep, counts)
    return buckets[starts][keep].astype(np.int64), out, out_volume, used
