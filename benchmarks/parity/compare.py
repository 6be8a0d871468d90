"""Trade-by-trade comparison of FreqTrade's and levtrade's trades, every difference attributed.

Trades are matched on (pair, side, entry candle). A FreqTrade trade *agrees* when levtrade has
the same entry and exits on the same candle for the same reason (FreqTrade's ``exit_signal``,
``trailing_stop_loss`` and ``force_exit`` are levtrade's ``signal``, ``trailing_stop`` and
``end_of_data``). Every other FreqTrade trade, and every levtrade trade FreqTrade does not
have, gets the first cause of :data:`CAUSES` whose test holds on the candles; a trade no test
explains is counted as ``unexplained``. The tests read the data both tools ran on: the trade
candles and the funding times.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

REASONS = {
    "exit_signal": "signal",
    "trailing_stop_loss": "trailing_stop",
    "force_exit": "end_of_data",
}
"""FreqTrade's exit reasons under levtrade's names (the others are the same)."""

CAUSES: dict[str, tuple[str, str]] = {
    "tick_rounding": (
        "tick rounding",
        "FreqTrade rounds a stop to the price tick it reads from the candles (the most decimals "
        "in a month's prices); levtrade keeps the exact level. The candle's extreme lies between "
        "the two levels, so one tool's stop fills on it and the other's on a later candle.",
    ),
    "funding_at_entry": (
        "funding at the entry candle",
        "The trade opens at the open of a candle that is also a funding time. FreqTrade books "
        "that funding payment for the new trade; the venue settles it before the order fills, "
        "so levtrade does not. The funding booked so far moves FreqTrade's ROI and trailing "
        "levels, so the exit lands on another candle.",
    ),
    "intrabar_trailing": (
        "trailing stop within the candle",
        "FreqTrade moves a trailing stop with the candle's best price and tests it against the "
        "same candle's worst price. levtrade walks the candle's path (open, low, high, close on a "
        "rising candle; open, high, low, close on a falling one): here the worst price comes "
        "before the best one and the close stays on the right side of the moved stop, so "
        "levtrade's stop fills on a later candle.",
    ),
    "liquidation_buffer": (
        "liquidation buffer",
        "FreqTrade exits at its buffered liquidation price (`liquidation_buffer`, 0.05 by "
        "default); the configuration does not set it, so levtrade uses the venue's own "
        "liquidation price (buffer 0), tested on the mark, which the market did not reach then.",
    ),
    "stop_vs_liquidation": (
        "stop against liquidation",
        "A stop set beyond the liquidation price: FreqTrade tests the stop before the "
        "liquidation and leaves the stop there, so a candle passing both exits at the stop, past "
        "the liquidation price; levtrade never lets a stop past the (buffered) liquidation price "
        "and the position is liquidated there.",
    ),
    "liquidation_price": (
        "liquidation price",
        "Both tools liquidate, on different candles: FreqTrade tests its liquidation price "
        "(fixed at the entry) against the trade candles, levtrade tests the venue's liquidation "
        "price (moved by the funding paid from the isolated margin) against the mark.",
    ),
    "end_of_data": (
        "end of the data",
        "A trade still open at the end of the data closes there in both tools: FreqTrade at the "
        "last candle's open, levtrade at its close.",
    ),
    "follows": (
        "follows an earlier difference",
        "The pair's previous trade exited on another candle in one tool, so that tool held a "
        "position (or was flat) when the other took this entry signal.",
    ),
}
"""Every listed cause: key → (title, explanation)."""

UNEXPLAINED = "unexplained"


@dataclass(frozen=True)
class Market:
    """What the attribution reads of one pair: its trade candles and funding times (ms)."""

    time: np.ndarray[Any, np.dtype[np.int64]]
    open: np.ndarray[Any, np.dtype[np.float64]]
    high: np.ndarray[Any, np.dtype[np.float64]]
    low: np.ndarray[Any, np.dtype[np.float64]]
    close: np.ndarray[Any, np.dtype[np.float64]]
    funding_times: frozenset[int]

    def bar(self, when: int) -> int:
        """Index of the candle opening at ``when`` (ms)."""
        k = int(np.searchsorted(self.time, when))
        if k >= len(self.time) or self.time[k] != when:
            raise KeyError(f"no candle at {pd.Timestamp(when, unit='ms', tz='UTC')}")
        return k


def freqtrade_trades(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """FreqTrade's trade list (``benchmarks.parity.freqtrade_side``) in the common columns."""
    frame = pd.DataFrame(list(rows))
    if frame.empty:
        return _empty()
    return pd.DataFrame(
        {
            "pair": frame["pair"],
            "side": np.where(frame["is_short"].astype(bool), "short", "long"),
            "entry": frame["open_date"].astype("int64"),
            "exit": frame["close_date"].astype("int64"),
            "reason": frame["exit_reason"].map(lambda r: REASONS.get(r, r)),
            "entry_price": frame["open_rate"].astype(float),
            "exit_price": frame["close_rate"].astype(float),
            "funding": frame["funding_fees"].fillna(0.0).astype(float),
            "profit": frame["profit_abs"].astype(float),
            "size": frame["amount"].astype(float),
        }
    )


def levtrade_trades(frame: pd.DataFrame) -> pd.DataFrame:
    """levtrade's exported ``trades.csv`` in the common columns."""
    if frame.empty:
        return _empty()

    def ms(column: pd.Series) -> pd.Series:
        return pd.to_datetime(column, utc=True).dt.as_unit("ms").astype("int64")

    return pd.DataFrame(
        {
            "pair": frame["symbol"],
            "side": frame["side"],
            "entry": ms(frame["entry_time"]),
            "exit": ms(frame["exit_time"]),
            "reason": frame["exit_reason"],
            "entry_price": frame["entry_price"].astype(float),
            "exit_price": frame["exit_price"].astype(float),
            "funding": frame["funding"].astype(float),
            "profit": frame["pnl"].astype(float),
            "size": frame["size"].astype(float),
        }
    )


def _empty() -> pd.DataFrame:
    columns = ["pair", "side", "entry", "exit", "reason", "entry_price", "exit_price"]
    return pd.DataFrame(columns=[*columns, "funding", "profit", "size"])


@dataclass
class Comparison:
    """The matched trades (``status``: ``same``, a cause key or ``unexplained``) and the
    trades only one tool has."""

    matched: pd.DataFrame
    freqtrade_only: pd.DataFrame
    levtrade_only: pd.DataFrame

    @property
    def freqtrade_count(self) -> int:
        return len(self.matched) + len(self.freqtrade_only)

    @property
    def levtrade_count(self) -> int:
        return len(self.matched) + len(self.levtrade_only)

    @property
    def agreeing(self) -> int:
        return int((self.matched["status"] == "same").sum())

    def causes(self) -> dict[str, int]:
        """Differences by cause, FreqTrade's trades and levtrade's extra ones together."""
        counts: dict[str, int] = {}
        for frame in (self.matched, self.freqtrade_only, self.levtrade_only):
            for status in frame["status"]:
                if status != "same":
                    counts[status] = counts.get(status, 0) + 1
        return counts

    def differences(self) -> pd.DataFrame:
        """Every trade that is not the same in both tools, in time order."""
        matched = self.matched[self.matched["status"] != "same"]
        return pd.concat(
            [matched, self.freqtrade_only, self.levtrade_only], ignore_index=True
        ).sort_values(["pair", "entry"], kind="stable", ignore_index=True)


def compare(
    freqtrade: pd.DataFrame,
    levtrade: pd.DataFrame,
    markets: Mapping[str, Market],
    *,
    levtrade_buffer: float,
) -> Comparison:
    """Match the two trade lists and attribute every difference (module docstring).
    ``levtrade_buffer`` is the liquidation buffer levtrade ran with."""
    keys = ["pair", "side", "entry"]
    merged = freqtrade.merge(
        levtrade, on=keys, how="outer", suffixes=("_ft", "_lt"), indicator=True
    )
    matched = merged[merged["_merge"] == "both"].drop(columns="_merge").reset_index(drop=True)
    same = (matched["exit_ft"] == matched["exit_lt"]) & (
        matched["reason_ft"] == matched["reason_lt"]
    )
    matched["status"] = [
        "same" if agree else _matched_cause(row, markets[row.pair], levtrade_buffer)
        for agree, row in zip(same, matched.itertuples(index=False), strict=True)
    ]
    only_ft = merged[merged["_merge"] == "left_only"].drop(columns="_merge")
    only_lt = merged[merged["_merge"] == "right_only"].drop(columns="_merge")
    only_ft = _with_status(only_ft, levtrade)
    only_lt = _with_status(only_lt, freqtrade)
    return Comparison(matched, only_ft, only_lt)


def _matched_cause(row: Any, market: Market, buffer: float) -> str:
    """The cause of a matched trade's different exit (first test that holds)."""
    ft_reason, lt_reason = row.reason_ft, row.reason_lt
    long = row.side == "long"
    stops = ("stop_loss", "trailing_stop", "liquidation")
    first = min(row.exit_ft, row.exit_lt)
    k = market.bar(first)
    low, high, opened, closed = market.low[k], market.high[k], market.open[k], market.close[k]
    if ft_reason == lt_reason and ft_reason in stops:
        early, late = (
            (row.exit_price_ft, row.exit_price_lt)
            if row.exit_ft < row.exit_lt
            else (row.exit_price_lt, row.exit_price_ft)
        )
        if (long and late < low <= early) or (not long and early <= high < late):
            return "tick_rounding"
    if row.entry in market.funding_times and not np.isclose(row.funding_ft, row.funding_lt):
        return "funding_at_entry"
    if ft_reason == "trailing_stop" and row.exit_ft < row.exit_lt:
        stop = row.exit_price_ft
        if long and closed >= opened and closed > stop:
            return "intrabar_trailing"
        if not long and closed < opened and closed < stop:
            return "intrabar_trailing"
    if ft_reason == "liquidation" and lt_reason != "liquidation" and buffer == 0.0:
        return "liquidation_buffer"
    if {ft_reason, lt_reason} in ({"stop_loss", "liquidation"}, {"trailing_stop", "liquidation"}):
        return "stop_vs_liquidation"
    if ft_reason == lt_reason == "liquidation":
        return "liquidation_price"
    if "end_of_data" in (ft_reason, lt_reason):
        return "end_of_data"
    return UNEXPLAINED


def _with_status(alone: pd.DataFrame, other: pd.DataFrame) -> pd.DataFrame:
    """Trades one tool has and the other not: ``follows`` when the other tool held a position
    of the pair at that entry (from a trade that differs: an entry is taken only while flat,
    and not on the candle a trade exits), else unexplained."""
    alone = alone.reset_index(drop=True)
    statuses = []
    for row in alone.itertuples(index=False):
        same_pair = other["pair"] == row.pair
        held = other[same_pair & (other["entry"] <= row.entry) & (other["exit"] >= row.entry)]
        statuses.append("follows" if len(held) else UNEXPLAINED)
    alone["status"] = statuses
    return alone
