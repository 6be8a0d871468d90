"""The results directory of a run, which ``levtrade report`` reads back, and the atomic file
writes behind it and behind the HTML report.

A :class:`ResultBundle` holds everything the terminal summary and the HTML report show: the
summary (JSON-friendly), the trades, orders and ledger, the per-bar series (the engine's equity
and margin series plus the derived columns below) and the prices of every pair. A results
directory holds it as files:

=====================  =====================================================================
``summary.json``       the machine-readable summary (:mod:`levtrade.report.summary`)
``trades.csv``         trades, times as ISO 8601 UTC (also ``trades.parquet``)
``orders.parquet``     every order with its status and reason
``ledger.parquet``     every balance change
``series.parquet``     per bar: ``time`` (ms), equity, margin and liquidation series
``prices.parquet``     per bar and pair: trade and mark OHLC (long format, ``symbol`` column)
``analyzers/``         each analyzer's table output as ``<name>.parquet`` (``margin_history``,
                       ``margin_calls``, ``time_below_thresholds``, ``distance_to_liquidation``
                       of a CLI run); its mapping outputs are in ``summary.json`` under
                       ``analyzers`` and the tables are listed under ``analyzer_tables``
=====================  =====================================================================

Times are UTC instants throughout (``timestamp[ms, UTC]`` in Parquet, ISO 8601 in CSV) and
numbers are rounded to the instrument's tick and lot and money to 8 decimals
(:mod:`levtrade.report.exports`).

Directories are written whole or not at all: the files go to a temporary directory beside the
target, which then replaces it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from levtrade._json import to_json_value
from levtrade.errors import LevtradeError
from levtrade.report.exports import from_exported, to_csv_frame, to_exported
from levtrade.report.tables import ANALYZERS_DIR, RESULT_FILES, ResultBundle, analyzer_files


class ExportError(LevtradeError):
    """An output path that cannot be written, or a results directory that cannot be read."""


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


def _write_files(bundle: ResultBundle, folder: Path) -> None:
    files = analyzer_files(list(bundle.analyzers))
    summary = dict(bundle.summary)
    if files or "analyzer_tables" in summary:
        summary["analyzer_tables"] = files  # what load_results reads back
    text = json.dumps(to_json_value(summary), indent=2, allow_nan=False)
    (folder / "summary.json").write_text(text + "\n", encoding="utf-8")
    steps = summary.get("instruments") or {}
    trades = to_exported(bundle.trades, steps)
    to_csv_frame(trades).to_csv(folder / "trades.csv", index=False)
    trades.to_parquet(folder / "trades.parquet", index=False)
    to_exported(bundle.orders, steps).to_parquet(folder / "orders.parquet", index=False)
    to_exported(bundle.ledger, steps).to_parquet(folder / "ledger.parquet", index=False)
    to_exported(bundle.series, numbers=False).to_parquet(folder / "series.parquet", index=False)
    to_exported(bundle.prices, numbers=False).to_parquet(folder / "prices.parquet", index=False)
    if files:
        (folder / ANALYZERS_DIR).mkdir()
    for name, frame in bundle.analyzers.items():
        to_exported(frame, numbers=False).to_parquet(folder / files[name])


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
            name: from_exported(pd.read_parquet(folder / f"{name}.parquet"))
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
            analyzers[str(name)] = from_exported(pd.read_parquet(path))
        except Exception as exc:
            raise ExportError(f"results: cannot read {path}: {exc}") from None
    return ResultBundle(summary=summary, **tables, analyzers=analyzers)


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True
