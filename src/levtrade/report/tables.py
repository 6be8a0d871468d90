"""What a run's report is made of: the :class:`ResultBundle` (summary, trades, orders, ledger,
series, prices, analyzer tables), the per-bar columns derived from the engine's series, and the
names of the files a results directory holds (:mod:`levtrade.report.files` writes them).

Derived per-bar columns added to the engine's series: ``drawdown`` (fraction below the running
peak, the starting wallet counting as a peak), ``buy_and_hold`` (the starting wallet put in
equal parts into every pair at its first close and held unleveraged: the market's own move),
``effective_leverage`` (Σ |notional| ÷ equity,
NaN at equity ≤ 0), ``funding:<pair>`` and ``funding`` (cumulative funding received − paid) and,
for isolated positions, ``margin_ratio:<pair>`` — maintenance margin ÷ the position's equity,
derived from its liquidation price: at the liquidation price L the pool's equity equals its
maintenance margin, so at the mark P the equity is ``MM(|q|·L) + q·(P − L)`` with ``q`` the
signed base quantity (linear contracts; NaN where the position has no liquidation price).

The trades are shown as a trading journal (:func:`journal_frame`): each trade with its stake
(the margin at entry, entry notional ÷ leverage), its PnL as a share of the stake (FreqTrade's
profit ratio), its duration and the liquidation price it had at the close of its entry bar.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from levtrade._json import to_json_value
from levtrade.backtest.metrics import TRADER_BOOKS_PREFIX
from levtrade.backtest.results import BacktestResult
from levtrade.data import MarketData, Portfolio
from levtrade.margin import contracts, vectorised
from levtrade.model.venue import LiquidationPriceRule

RESULT_FILES = (
    "summary.json",
    "trades.csv",
    "trades.parquet",
    "orders.parquet",
    "ledger.parquet",
    "series.parquet",
    "prices.parquet",
)
"""The files every results directory holds (``analyzers/`` only when the run had analyzers)."""
ANALYZERS_DIR = "analyzers"


@dataclass
class ResultBundle:
    """What the summary and the report are built from (module docstring)."""

    summary: dict[str, Any]
    trades: pd.DataFrame
    orders: pd.DataFrame
    ledger: pd.DataFrame
    series: pd.DataFrame
    prices: pd.DataFrame
    analyzers: dict[str, pd.DataFrame] = field(default_factory=dict)
    """The analyzers' table outputs by name (their mappings are in ``summary["analyzers"]``)."""

    @property
    def pairs(self) -> list[str]:
        return [str(p) for p in self.summary.get("pairs", [])]


def split_analyzers(
    outputs: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """A result's analyzer outputs as (JSON values, tables): DataFrames (and Series) are
    tables, everything else (mappings) JSON."""
    values: dict[str, Any] = {}
    tables: dict[str, pd.DataFrame] = {}
    for name, output in outputs.items():
        if isinstance(output, pd.DataFrame):
            tables[str(name)] = output
        elif isinstance(output, pd.Series):
            tables[str(name)] = output.to_frame()
        else:
            values[str(name)] = to_json_value(output)
    return values, tables


def analyzer_files(names: Iterable[str]) -> dict[str, str]:
    """The file of each analyzer table in a results directory, relative to it:
    ``analyzers/<name>.parquet`` (characters other than letters, digits, ``_.-`` as ``_``)."""
    files: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", str(name)).lstrip(".") or "analyzer"
        candidate, k = stem, 1
        while candidate.lower() in used:
            k += 1
            candidate = f"{stem}-{k}"
        used.add(candidate.lower())
        files[str(name)] = f"{ANALYZERS_DIR}/{candidate}.parquet"
    return files


def trader_book(books: pd.Series) -> np.ndarray:
    """Ledger books that are the trader's: the cross wallet and isolated margins."""
    text = books.astype("string").fillna("")
    mask = (text == "cross") | text.str.startswith(TRADER_BOOKS_PREFIX)
    return np.asarray(mask.to_numpy(dtype=bool), dtype=np.bool_)


INDICATOR_PREFIX = "ind:"
"""Prefix of a strategy's indicator columns in the prices table."""
_NOT_INDICATORS = frozenset({"date", "open", "high", "low", "close", "volume", "leverage", "stake"})


def indicator_columns(frame: pd.DataFrame) -> list[str]:
    """The numeric columns a strategy added to its candles (not OHLCV, signals or tags)."""
    return [
        str(name)
        for name in frame.columns
        if str(name) not in _NOT_INDICATORS
        and not str(name).startswith(("enter_", "exit_"))
        and pd.api.types.is_numeric_dtype(frame[name])
        and not pd.api.types.is_bool_dtype(frame[name])
    ]


def prices_frame(
    data: MarketData | Portfolio, indicators: Mapping[str, pd.DataFrame] | None = None
) -> pd.DataFrame:
    """Trade and mark OHLC and volume per bar and pair, long format (rows where the pair has a
    bar), with the strategy's indicator columns (``ind:<name>``, matched on the bar's time)
    from ``indicators``, a populated DataFrame per pair."""
    portfolio = data if isinstance(data, Portfolio) else Portfolio.from_markets([data])
    frames = []
    for j, symbol in enumerate(portfolio.symbols):
        rows = portfolio.active[:, j]
        columns: dict[str, Any] = {
            "time": portfolio.timestamps[rows],
            "symbol": symbol,
            "open": portfolio.open[rows, j],
            "high": portfolio.high[rows, j],
            "low": portfolio.low[rows, j],
            "close": portfolio.close[rows, j],
            "volume": portfolio.volume[rows, j],
        }
        mark = portfolio.mark
        for name in ("open", "high", "low", "close"):
            if mark is not None and portfolio.has_mark[j]:
                columns[f"mark_{name}"] = getattr(mark, name)[rows, j]
            else:
                columns[f"mark_{name}"] = np.full(int(rows.sum()), np.nan)
        analyzed = (indicators or {}).get(symbol)
        if analyzed is not None and "date" in analyzed.columns:
            stamps = pd.DatetimeIndex(analyzed["date"]).as_unit("ms").asi8
            for name in indicator_columns(analyzed):
                values = pd.Series(analyzed[name].to_numpy(dtype=np.float64), index=stamps)
                columns[INDICATOR_PREFIX + name] = (
                    values[~values.index.duplicated()]
                    .reindex(portfolio.timestamps[rows])
                    .to_numpy(dtype=np.float64)
                )
        frames.append(pd.DataFrame(columns))
    frame = pd.concat(frames, ignore_index=True)
    frame["time"] = frame["time"].astype(np.int64)
    return frame


def _mark_close(prices: pd.DataFrame, symbol: str, times: np.ndarray) -> np.ndarray:
    rows = prices[prices["symbol"] == symbol]
    mark = rows["mark_close"].to_numpy(dtype=np.float64)
    close = rows["close"].to_numpy(dtype=np.float64)
    values = np.where(np.isnan(mark), close, mark)
    lookup = pd.Series(values, index=rows["time"].to_numpy(dtype=np.int64))
    return lookup.reindex(times).to_numpy(dtype=np.float64)


def _entry_prices(trades: pd.DataFrame, symbol: str, times: np.ndarray) -> np.ndarray:
    """Per bar, the entry price of the trade open on ``symbol`` (NaN when none)."""
    entry = np.full(times.size, np.nan)
    if not len(trades):
        return entry
    own = trades[trades["symbol"] == symbol]
    starts = own["entry_time"].to_numpy(dtype=np.int64)
    ends = own["exit_time"].to_numpy(dtype=np.int64)
    prices = own["entry_price"].to_numpy(dtype=np.float64)
    for start, end, price in zip(starts, ends, prices, strict=True):
        entry[(times >= start) & (times < end)] = price
    return entry


def _isolated_ratios(
    result: BacktestResult, series: pd.DataFrame, prices: pd.DataFrame
) -> dict[str, np.ndarray]:
    spec = result.run_spec()
    venue = spec.venue
    maintenance = vectorised.maintenance_margins
    times = series["time"].to_numpy(dtype=np.int64)
    ratios: dict[str, np.ndarray] = {}
    for symbol in result.metadata.get("symbols", []):
        liq_name, notional_name = f"liq:{symbol}", f"notional:{symbol}"
        if liq_name not in series.columns or notional_name not in series.columns:
            continue
        instrument = spec.instrument(symbol)
        if instrument.is_inverse:
            continue
        table = spec.tier_table(instrument)
        if venue.mm_adds_taker_fee:
            table = table.with_extra_rate(instrument.taker_fee)
        floors, mmrs, amounts = table.floors, table.mmrs, table.amounts
        lp = series[liq_name].to_numpy(dtype=np.float64)
        notional = series[notional_name].to_numpy(dtype=np.float64)
        mark = _mark_close(prices, symbol, times)
        with np.errstate(divide="ignore", invalid="ignore"):
            qty = notional / mark
            usable = (notional != 0.0) & np.isfinite(lp) & np.isfinite(qty)
            if venue.liquidation_price_rule is LiquidationPriceRule.MM_AT_ENTRY:
                entry = _entry_prices(result.trades, symbol, times)
                mm_trigger = maintenance(np.abs(qty) * entry, floors, mmrs, amounts)
                mm_now = mm_trigger
            else:
                mm_trigger = maintenance(np.abs(qty) * lp, floors, mmrs, amounts)
                mm_now = maintenance(np.abs(notional), floors, mmrs, amounts)
            # the position's equity: MM at the liquidation price plus the PnL from there
            equity = mm_trigger + vectorised.upnls(qty, 1.0, lp, mark, inverse=False)
            ratio = np.where(usable & (equity > 0), mm_now / equity, np.nan)
            ratio = np.where(usable & (equity <= 0), np.inf, ratio)
        ratios[symbol] = ratio
    return ratios


def derived_series(result: BacktestResult, prices: pd.DataFrame) -> pd.DataFrame:
    """The engine's series plus drawdown, effective leverage, cumulative funding and the
    isolated positions' margin ratios (module docstring); a plain index."""
    series = result.series.reset_index(drop=True).copy()
    times = series["time"].to_numpy(dtype=np.int64)
    equity = series["equity"].to_numpy(dtype=np.float64)
    wallet = float(result.config.wallet)
    peaks = np.maximum.accumulate(np.concatenate([[wallet], equity]))[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        series["drawdown"] = np.where(peaks > 0, 1.0 - equity / peaks, 0.0)
    symbols = [str(s) for s in result.metadata.get("symbols", [])]
    series["buy_and_hold"] = buy_and_hold(prices, symbols, times, wallet)
    gross = np.zeros(times.size)
    for symbol in symbols:
        name = f"notional:{symbol}"
        if name in series.columns:
            gross += np.abs(series[name].to_numpy(dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        series["effective_leverage"] = np.where(equity > 0, gross / equity, np.nan)
    funding = _funding_by_bar(result.ledger, symbols, times)
    total = np.zeros(times.size)
    for symbol in symbols:
        series[f"funding:{symbol}"] = funding[symbol]
        total += funding[symbol]
    series["funding"] = total
    if result.config.margin_mode == "isolated" and result.config.trading_mode == "futures":
        for symbol, ratio in _isolated_ratios(result, series, prices).items():
            series[f"margin_ratio:{symbol}"] = ratio
    else:
        down, up = _joint_moves(result, series, prices)
        series["joint_move_down"] = down
        series["joint_move_up"] = up
    return series


def _joint_moves(
    result: BacktestResult, series: pd.DataFrame, prices: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """The cross pool's joint move to liquidation at each bar's close: every mark moved by the
    same fraction (:func:`levtrade.margin.vectorised.joint_liquidation_moves`), linear
    contracts (an inverse one's position is left out)."""
    spec = result.run_spec()
    times = series["time"].to_numpy(dtype=np.int64)
    qtys, marks, tables = [], [], []
    for symbol in result.metadata.get("symbols", []):
        columns = [c for c in series.columns if c == f"notional:{symbol}"]
        columns += [c for c in series.columns if c.startswith(f"notional:{symbol}:")]
        instrument = spec.instrument(symbol)
        if not columns or instrument.is_inverse:
            continue
        table = spec.tier_table(instrument)
        if spec.venue.mm_adds_taker_fee:
            table = table.with_extra_rate(instrument.taker_fee)
        notional = sum(series[c].to_numpy(dtype=np.float64) for c in columns)
        mark = _mark_close(prices, symbol, times)
        with np.errstate(divide="ignore", invalid="ignore"):
            qtys.append(np.where(notional != 0, notional / mark, 0.0))
        marks.append(mark)
        tables.append((table.floors, table.mmrs, table.amounts))
    if not tables:
        return np.full(times.size, np.nan), np.full(times.size, np.nan)
    return vectorised.joint_liquidation_moves(
        np.column_stack(qtys),
        np.column_stack(marks),
        series["cross_equity"].to_numpy(dtype=np.float64),
        tables,
    )


def market_changes(prices: pd.DataFrame, symbols: list[str]) -> dict[str, float]:
    """Each pair's close-to-close change over the run (last close ÷ first close − 1)."""
    changes: dict[str, float] = {}
    for symbol in symbols:
        close = prices.loc[prices["symbol"] == symbol, "close"].to_numpy(dtype=np.float64)
        if close.size:
            changes[symbol] = float(close[-1] / close[0] - 1.0)
    return changes


def buy_and_hold(
    prices: pd.DataFrame, symbols: list[str], times: np.ndarray, wallet: float
) -> np.ndarray:
    """Per bar, the value of ``wallet`` split equally over ``symbols`` at their first close and
    held without leverage (a pair before its first bar holds cash)."""
    if not symbols:
        return np.full(times.size, wallet)
    value = np.zeros(times.size)
    share = wallet / len(symbols)
    for symbol in symbols:
        rows = prices[prices["symbol"] == symbol]
        close = pd.Series(
            rows["close"].to_numpy(dtype=np.float64), index=rows["time"].to_numpy(np.int64)
        )
        path = close.reindex(times).ffill().to_numpy(dtype=np.float64)
        first = close.iloc[0] if len(close) else math.nan
        value += np.where(np.isnan(path), share, share * path / first)
    return value


def _entry_liquidation_prices(trades: pd.DataFrame, series: pd.DataFrame) -> np.ndarray:
    """Each trade's liquidation price at the close of its entry bar (the series' ``liq:``
    column of its symbol and leg); NaN when the position was gone by then."""
    out = np.full(len(trades), np.nan)
    times = series["time"].to_numpy(dtype=np.int64)
    for k, (symbol, leg, entry) in enumerate(
        zip(trades["symbol"], trades["leg"], trades["entry_time"], strict=True)
    ):
        name = f"liq:{symbol}" if leg in ("BOTH", None, "") else f"liq:{symbol}:{leg}"
        if name not in series.columns:
            continue
        row = int(np.searchsorted(times, int(entry), side="right")) - 1
        if row >= 0:
            out[k] = float(series[name].iloc[row])
    return np.where(np.isfinite(out) & (out > 0), out, np.nan)


JOURNAL_COLUMNS = ("stake", "pnl_pct", "duration_ms", "liquidation_price")
"""Columns :func:`journal_frame` adds to the trades table."""


def journal_frame(result: BacktestResult, series: pd.DataFrame) -> pd.DataFrame:
    """The trades table with :data:`JOURNAL_COLUMNS` (module docstring)."""
    trades = result.trades.reset_index(drop=True).copy()
    if not len(trades):
        for name in JOURNAL_COLUMNS:
            trades[name] = pd.Series(dtype=np.int64 if name == "duration_ms" else np.float64)
        return trades
    spec = result.run_spec()
    stakes = np.array(
        [
            contracts.notional(spec.instrument(str(symbol)), float(size), float(price)) / lev
            for symbol, size, price, lev in zip(
                trades["symbol"],
                trades["size"],
                trades["entry_price"],
                trades["leverage"],
                strict=True,
            )
        ],
        dtype=np.float64,
    )
    pnl = trades["pnl"].to_numpy(dtype=np.float64)
    trades["stake"] = stakes
    with np.errstate(divide="ignore", invalid="ignore"):
        trades["pnl_pct"] = np.where(stakes > 0, pnl / stakes, np.nan)
    trades["duration_ms"] = trades["exit_time"].to_numpy(np.int64) - trades["entry_time"].to_numpy(
        np.int64
    )
    trades["liquidation_price"] = _entry_liquidation_prices(trades, series)
    return trades


def _funding_by_bar(
    ledger: pd.DataFrame, symbols: list[str], times: np.ndarray
) -> dict[str, np.ndarray]:
    """Cumulative funding (received − paid) per symbol at each bar's close."""
    out = {s: np.zeros(times.size) for s in symbols}
    if not len(ledger) or not times.size:
        return out
    rows = ledger[ledger["kind"] == "funding"]
    for symbol in symbols:
        own = rows[rows["symbol"] == symbol]
        if not len(own):
            continue
        amount = own["amount"].to_numpy(dtype=np.float64)
        into = trader_book(own["debit"])
        out_of = trader_book(own["credit"])
        signed = np.where(into & ~out_of, amount, np.where(out_of & ~into, -amount, 0.0))
        bar = np.searchsorted(times, own["time"].to_numpy(dtype=np.int64), side="right") - 1
        per_bar = np.zeros(times.size)
        np.add.at(per_bar, np.clip(bar, 0, times.size - 1), signed)
        out[symbol] = np.cumsum(per_bar)
    return out
