"""What a run's report is made of: the :class:`ResultBundle` (summary, trades, orders, ledger,
series, prices, analyzer tables), the per-bar columns derived from the engine's series, and the
names of the files a results directory holds (:mod:`levtrade.report.files` writes them).

Derived per-bar columns added to the engine's series: ``drawdown`` (fraction below the running
peak, the starting wallet counting as a peak), ``effective_leverage`` (Σ |notional| ÷ equity,
NaN at equity ≤ 0), ``funding:<pair>`` and ``funding`` (cumulative funding received − paid) and,
for isolated positions, ``margin_ratio:<pair>`` — maintenance margin ÷ the position's equity,
derived from its liquidation price: at the liquidation price L the pool's equity equals its
maintenance margin, so at the mark P the equity is ``MM(|q|·L) + q·(P − L)`` with ``q`` the
signed base quantity (linear contracts; NaN where the position has no liquidation price).
"""

from __future__ import annotations

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
from levtrade.margin import vectorised
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


def prices_frame(data: MarketData | Portfolio) -> pd.DataFrame:
    """Trade and mark OHLC per bar and pair, long format (rows where the pair has a bar)."""
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
        }
        mark = portfolio.mark
        for name in ("open", "high", "low", "close"):
            if mark is not None and portfolio.has_mark[j]:
                columns[f"mark_{name}"] = getattr(mark, name)[rows, j]
            else:
                columns[f"mark_{name}"] = np.full(int(rows.sum()), np.nan)
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
    return series


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
