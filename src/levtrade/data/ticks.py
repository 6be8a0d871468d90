"""Trade and quote ticks, aggregated into candles.

Recorded tick files (trades with price and amount, or top-of-book quotes with bid and ask) are
turned into OHLCV candles of a chosen timeframe, so they enter a backtest like any other
candle series. Quotes become mid-price candles with zero volume.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from levtrade.data._types import FloatArray, GapPolicy, IntArray
from levtrade.data.errors import MissingColumnError
from levtrade.data.io import find_column, float_column, ms_column, read_table
from levtrade.data.series import Candles, make_candles
from levtrade.data.timeframes import parse_timeframe
from levtrade.data.validate import Origin, check_volume, ts_text

__all__ = ["Ticks", "read_ticks", "ticks_to_candles"]

TICK_TIME_COLUMNS = ("timestamp", "time", "date", "datetime", "ts")
AMOUNT_COLUMNS = ("amount", "quantity", "qty", "size", "volume")


@dataclass(frozen=True, eq=False)
class Ticks:
    """Ticks in time order (equal times allowed); ``amount`` is 0 for quotes."""

    kind: Literal["trades", "quotes"]
    timestamps: IntArray
    price: FloatArray
    amount: FloatArray
    source: str

    def __len__(self) -> int:
        return int(self.timestamps.size)


def _positive(values: FloatArray, column: str, origin: Origin) -> None:
    bad = np.flatnonzero(~np.isfinite(values) | (values <= 0.0))
    if bad.size:
        row = int(bad[0])
        raise origin.fail(
            "price must be finite and positive", column=column, row=row, value=float(values[row])
        )


def read_ticks(path: str | Path) -> Ticks:
    """Trades (``price`` + ``amount``/``quantity``) or quotes (``bid`` + ``ask``) from a file."""
    table, origin = read_table(path)
    if table.num_rows == 0:
        raise origin.fail("no rows")
    time_name = find_column(table, "timestamp", TICK_TIME_COLUMNS, origin)
    origin = Origin(origin.file, origin.line_offset, time_name)
    ts = ms_column(table, time_name, origin)
    step = np.diff(ts)
    back = np.flatnonzero(step < 0)
    if back.size:
        row = int(back[0]) + 1
        raise origin.fail(
            f"ticks are not in time order: earlier than row {row - 1}",
            column=time_name,
            row=row,
            value=ts_text(ts[row]),
        )
    lowered = {name.lower(): name for name in table.column_names}
    if "price" in lowered:
        price_name = lowered["price"]
        price = float_column(table, price_name, origin)
        _positive(price, price_name, origin)
        amount_name = find_column(table, "amount", AMOUNT_COLUMNS, origin)
        amount = float_column(table, amount_name, origin)
        check_volume(amount, origin, amount_name)
        return Ticks("trades", ts, price, amount, origin.file)
    if "bid" in lowered and "ask" in lowered:
        bid = float_column(table, lowered["bid"], origin)
        ask = float_column(table, lowered["ask"], origin)
        _positive(bid, lowered["bid"], origin)
        _positive(ask, lowered["ask"], origin)
        crossed = np.flatnonzero(ask < bid)
        if crossed.size:
            row = int(crossed[0])
            raise origin.fail(
                f"ask is below bid {float(bid[row])!r} (crossed quote)",
                column=lowered["ask"],
                row=row,
                value=float(ask[row]),
            )
        return Ticks("quotes", ts, (bid + ask) / 2.0, np.zeros(ts.size), origin.file)
    raise MissingColumnError(
        "missing column 'price' (trades) or 'bid' and 'ask' (quotes); "
        f"the file has: {', '.join(table.column_names)}",
        file=origin.file,
        column="price",
    )


def ticks_to_candles(ticks: Ticks, timeframe: str | int, *, gaps: GapPolicy = "error") -> Candles:
    """OHLCV candles on the UTC grid; intervals without ticks are gaps (see ``gaps``)."""
    tf = parse_timeframe(timeframe)
    buckets = (ticks.timestamps // tf) * tf
    starts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]])
    ends = np.r_[starts[1:], buckets.size] - 1
    return make_candles(
        buckets[starts],
        ticks.price[starts],
        np.maximum.reduceat(ticks.price, starts),
        np.minimum.reduceat(ticks.price, starts),
        ticks.price[ends],
        np.add.reduceat(ticks.amount, starts),
        kind="trade",
        origin=Origin(f"{ticks.source} ({ticks.kind} aggregated)"),
        timeframe=tf,
        gaps=gaps,
        metadata={"source": ticks.source, "aggregated_from": ticks.kind},
    )
