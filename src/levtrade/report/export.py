"""Exports of a backtest and the results directory that ``levtrade report`` reads back.

A :class:`ResultBundle` holds everything the terminal summary and the HTML report show: the
summary (JSON-friendly), the trades, orders and ledger, the per-bar series (the engine's equity
and margin series plus the derived columns below) and the prices of every pair. A results
directory holds it as files:

=====================  =====================================================================
``summary.json``       the machine-readable summary (:mod:`levtrade.report.summary`)
``trades.csv``         trades, times as ISO 8601 UTC (also ``trades.parquet``, times in ms)
``orders.parquet``     every order with its status and reason
``ledger.parquet``     every balance change
``series.parquet``     per bar: ``time`` (ms), equity, margin and liquidation series
``prices.parquet``     per bar and pair: trade and mark OHLC (long format, ``symbol`` column)
``analyzers/``         each analyzer's table output as ``<name>.parquet`` (``margin_history``,
                       ``margin_calls``, ``time_below_thresholds``, ``distance_to_liquidation``
                       of a CLI run); its mapping outputs are in ``summary.json`` under
                       ``analyzers`` and the tables are listed under ``analyzer_tables``
=====================  =====================================================================

Derived per-bar columns added to the engine's series: ``drawdown`` (fraction below the running
peak, the starting wallet counting as a peak), ``effective_leverage`` (Σ |notional| ÷ equity,
NaN at equity ≤ 0), ``funding:<pair>`` and ``funding`` (cumulative funding received − paid) and,
for isolated positions, ``margin_ratio:<pair>`` — maintenance margin ÷ the position's equity,
derived from its liquidation price: at the liquidation price L the pool's equity equals its
maintenance margin, so at the mark P the equity is ``MM(|q|·L) + q·(P − L)`` with ``q`` the
signed base quantity (linear contracts; NaN where the position has no liquidation price).

Directories are written whole or not at all: the files go to a temporary directory beside the
target, which then replaces it.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from levtrade.backtest.metrics import TRADER_BOOKS_PREFIX
from levtrade.backtest.results import BacktestResult
from levtrade.data import MarketData, Portfolio
from levtrade.errors import LevtradeError
from levtrade.model.venue import LiquidationPriceRule

__all__ = [
    "ANALYZERS_DIR",
    "RESULT_FILES",
    "ResultBundle",
    "analyzer_files",
    "bundle_from_result",
    "check_output_file",
    "check_results_dir",
    "derived_series",
    "load_results",
    "prices_frame",
    "save_results",
    "split_analyzers",
    "stage_text",
    "to_json_value",
    "trader_book",
    "write_text_atomic",
]

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


class ExportError(LevtradeError):
    """An output path that cannot be written, or a results directory that cannot be read."""


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


def to_json_value(value: Any) -> Any:
    """Plain JSON value: numpy scalars unwrapped, NaN and ±inf as None, tuples as lists."""
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.ndarray):
        return [to_json_value(v) for v in value.tolist()]
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if value is pd.NA or value is pd.NaT:
        return None
    return value


# ============================================================================================
# Building the bundle
# ============================================================================================


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


def _maintenance(
    notional: np.ndarray, floors: np.ndarray, mmrs: np.ndarray, amounts: np.ndarray
) -> np.ndarray:
    tier = np.clip(np.searchsorted(floors, notional, side="right") - 1, 0, None)
    return np.asarray(notional * mmrs[tier] - amounts[tier], dtype=np.float64)


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
    config = result.config
    venue = config.venue_profile()
    times = series["time"].to_numpy(dtype=np.int64)
    ratios: dict[str, np.ndarray] = {}
    for symbol in result.metadata.get("symbols", []):
        liq_name, notional_name = f"liq:{symbol}", f"notional:{symbol}"
        if liq_name not in series.columns or notional_name not in series.columns:
            continue
        instrument = config.instrument(symbol)
        if instrument.is_inverse:
            continue
        table = config.tier_table(instrument)
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
                mm_trigger = _maintenance(np.abs(qty) * entry, floors, mmrs, amounts)
                mm_now = mm_trigger
            else:
                mm_trigger = _maintenance(np.abs(qty) * lp, floors, mmrs, amounts)
                mm_now = _maintenance(np.abs(notional), floors, mmrs, amounts)
            equity = mm_trigger + qty * (mark - lp)
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
    if result.config.margin_mode == "isolated":
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


def bundle_from_result(
    result: BacktestResult, data: MarketData | Portfolio, info: Mapping[str, Any] | None = None
) -> ResultBundle:
    """The bundle of a finished run; ``info`` adds the run's facts to the summary (strategy,
    data source, notes: see :func:`levtrade.report.summary.build_summary`)."""
    from levtrade.report.summary import build_summary

    prices = prices_frame(data)
    series = derived_series(result, prices)
    summary = build_summary(result, series, info or {})
    _, tables = split_analyzers(result.analyzers)
    return ResultBundle(
        summary=summary,
        trades=result.trades.reset_index(drop=True),
        orders=result.orders.reset_index(drop=True),
        ledger=result.ledger.reset_index(drop=True),
        series=series,
        prices=prices,
        analyzers=tables,
    )


# ============================================================================================
# Files
# ============================================================================================


def check_output_file(path: Path, what: str) -> None:
    """Fail early (before a run) when ``path`` cannot be written."""
    if path.exists() and path.is_dir():
        raise ExportError(f"{what}: {path} is a directory")
    _check_parent(path, what)


def _check_parent(path: Path, what: str) -> None:
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ExportError(f"{what}: directory not found: {parent}")
    if not os.access(parent, os.W_OK):
        raise ExportError(f"{what}: cannot write to {parent}")


def check_results_dir(path: Path) -> None:
    """Fail early when ``path`` cannot become a results directory: its parent must exist and
    an existing ``path`` must be a results directory (it is replaced) or empty."""
    if path.exists():
        if not path.is_dir():
            raise ExportError(f"results_dir: {path} is a file")
        content = {p.name for p in path.iterdir()}
        if content and "summary.json" not in content:
            raise ExportError(
                f"results_dir: {path} exists and is not a levtrade results directory; "
                "choose another"
            )
    _check_parent(path, "results_dir")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def stage_text(target: Path, text: str) -> Path:
    """``text`` in a temporary file beside ``target``, with the permissions a new file gets;
    rename it into place (``os.replace``) or delete it."""
    parent = target.parent if str(target.parent) else Path(".")
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    temp = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        temp.chmod(0o666 & ~_umask())
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def write_text_atomic(path: Path, text: str) -> None:
    """Write through a temporary file in the same directory, renamed into place."""
    temp = stage_text(path, text)
    try:
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _trades_csv(trades: pd.DataFrame) -> pd.DataFrame:
    frame = trades.copy()
    for name in ("entry_time", "exit_time"):
        if name in frame.columns:
            frame[name] = pd.to_datetime(frame[name], unit="ms", utc=True).dt.strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            )
    return frame


def _write_files(bundle: ResultBundle, folder: Path) -> None:
    files = analyzer_files(list(bundle.analyzers))
    summary = dict(bundle.summary)
    if files or "analyzer_tables" in summary:
        summary["analyzer_tables"] = files  # what load_results reads back
    text = json.dumps(to_json_value(summary), indent=2, allow_nan=False)
    (folder / "summary.json").write_text(text + "\n", encoding="utf-8")
    _trades_csv(bundle.trades).to_csv(folder / "trades.csv", index=False)
    bundle.trades.to_parquet(folder / "trades.parquet", index=False)
    bundle.orders.to_parquet(folder / "orders.parquet", index=False)
    bundle.ledger.to_parquet(folder / "ledger.parquet", index=False)
    bundle.series.to_parquet(folder / "series.parquet", index=False)
    bundle.prices.to_parquet(folder / "prices.parquet", index=False)
    if files:
        (folder / ANALYZERS_DIR).mkdir()
    for name, frame in bundle.analyzers.items():
        frame.to_parquet(folder / files[name])


class StagedResults:
    """A results directory written to a temporary place; :meth:`commit` puts it in place,
    :meth:`discard` removes it."""

    def __init__(self, bundle: ResultBundle, target: Path) -> None:
        check_results_dir(target)
        self.target = target
        parent = target.parent if str(target.parent) else Path(".")
        self.temp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent))
        try:
            self.temp.chmod(0o777 & ~_umask())
            _write_files(bundle, self.temp)
        except BaseException:
            shutil.rmtree(self.temp, ignore_errors=True)
            raise

    def commit(self) -> Path:
        old: Path | None = None
        if self.target.exists():
            parent = self.temp.parent
            old = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.", suffix=".old", dir=parent))
            os.replace(self.target, old / "results")
        try:
            os.replace(self.temp, self.target)
        except BaseException:
            if old is not None:
                os.replace(old / "results", self.target)
                shutil.rmtree(old, ignore_errors=True)
            self.discard()
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.target

    def discard(self) -> None:
        shutil.rmtree(self.temp, ignore_errors=True)


def save_results(bundle: ResultBundle, directory: str | Path) -> Path:
    """Write the results directory (replacing an existing results directory whole)."""
    return StagedResults(bundle, Path(directory)).commit()


def load_results(directory: str | Path) -> ResultBundle:
    """Read a results directory written by :func:`save_results`."""
    folder = Path(directory)
    if not folder.is_dir():
        raise ExportError(f"results: directory not found: {folder}")
    missing = [name for name in RESULT_FILES if not (folder / name).is_file()]
    if missing:
        raise ExportError(
            f"results: {folder} is not a complete levtrade results directory (missing "
            f"{', '.join(missing)})"
        )
    try:
        summary = json.loads((folder / "summary.json").read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ExportError(f"results: cannot read {folder / 'summary.json'}: {exc}") from None
    if not isinstance(summary, dict):
        raise ExportError(f"results: {folder / 'summary.json'} does not hold a summary")
    try:
        tables = {
            name: pd.read_parquet(folder / f"{name}.parquet")
            for name in ("trades", "orders", "ledger", "series", "prices")
        }
    except Exception as exc:
        raise ExportError(f"results: cannot read the tables in {folder}: {exc}") from None
    listed = summary.get("analyzer_tables") or {}
    if not isinstance(listed, dict):
        raise ExportError(f"results: analyzer_tables in {folder / 'summary.json'} is not a table")
    analyzers: dict[str, pd.DataFrame] = {}
    for name, relative in listed.items():
        path = folder / str(relative)
        if not _inside(path, folder) or not path.is_file():
            raise ExportError(
                f"results: {folder} is not a complete levtrade results directory (missing "
                f"{relative}, the {name} analyzer's table)"
            )
        try:
            analyzers[str(name)] = pd.read_parquet(path)
        except Exception as exc:
            raise ExportError(f"results: cannot read {path}: {exc}") from None
    return ResultBundle(summary=summary, **tables, analyzers=analyzers)


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True
