"""The results directory of a run, which ``levtrade report`` reads back (written atomically
with :mod:`levtrade.report.atomic`).

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
``.levtrade-results``  the marker saying levtrade wrote the directory
=====================  =====================================================================

Times are UTC instants throughout (``timestamp[ms, UTC]`` in Parquet, ISO 8601 in CSV) and
numbers are rounded to the instrument's tick and lot and money to 8 decimals
(:mod:`levtrade.report.exports`).

Directories are written whole or not at all: the files go to a temporary directory beside the
target, which then replaces it. levtrade replaces only what it wrote: a directory that holds
anything else (a file of the user's beside the results) is refused, and so is an HTML file that
is not a levtrade report unless the caller forces it. Temporary files and directories are named
with the writing process's id; the next run removes those whose process is gone (a run killed
while writing), after putting back results a killed swap had moved aside.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from levtrade._json import to_json_value
from levtrade.data.commit import current_umask
from levtrade.errors import LevtradeError
from levtrade.report.atomic import temporary_prefix
from levtrade.report.exports import from_exported, to_csv_frame, to_exported
from levtrade.report.tables import ANALYZERS_DIR, RESULT_FILES, ResultBundle, analyzer_files


class ExportError(LevtradeError):
    """An output path that cannot be written, or a results directory that cannot be read."""


RESULTS_MARKER = ".levtrade-results"
"""The file that marks a directory as levtrade's results (it holds the writer's version)."""

REPORT_MARKER = '<meta name="generator" content="levtrade'
"""How a levtrade HTML report starts its ``<head>`` (followed by the version)."""


def is_report(path: Path) -> bool:
    """Whether ``path`` is an HTML report levtrade wrote (its marker near the top)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return REPORT_MARKER.encode() in head


def check_output_file(path: Path, what: str, *, force: bool = False) -> None:
    """Fail early (before a run) when ``path`` cannot be written, or holds a file that is not
    an earlier levtrade report (replaced only when ``force``). Removes the temporary files a
    killed earlier write left beside it."""
    if path.exists() and path.is_dir():
        raise ExportError(f"{what}: {path} is a directory")
    _check_parent(path, what)
    remove_stale_temporaries(path)
    if path.exists() and not force and not is_report(path):
        raise ExportError(
            f"{what}: {path} exists and is not a levtrade report; choose another file or "
            "pass --force to overwrite it"
        )


def _check_parent(path: Path, what: str) -> None:
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ExportError(f"{what}: directory not found: {parent}")
    if not os.access(parent, os.W_OK):
        raise ExportError(f"{what}: cannot write to {parent}")


def check_results_dir(path: Path) -> None:
    """Fail early when ``path`` cannot become a results directory: its parent must exist and
    an existing ``path`` must be empty or hold only what levtrade wrote there (it is replaced
    whole). Removes the temporary directories a killed earlier write left beside it."""
    _check_parent(path, "results_dir")
    remove_stale_temporaries(path)
    if not path.exists():
        return
    if not path.is_dir():
        raise ExportError(f"results_dir: {path} is a file")
    names = {p.name for p in path.iterdir()}
    if not names:
        return
    if RESULTS_MARKER not in names and not _written_by_levtrade(path / "summary.json"):
        raise ExportError(
            f"results_dir: {path} exists and is not a levtrade results directory (no "
            f"{RESULTS_MARKER} marker in it); choose another directory"
        )
    foreign = sorted(n for n in names if not _ours(path, n))
    if foreign:
        listed = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise ExportError(
            f"results_dir: {path} holds {len(foreign)} file(s) levtrade did not write "
            f"({listed}); replacing the directory would delete them: move them or choose "
            "another directory"
        )


def _written_by_levtrade(summary: Path) -> bool:
    """A results directory written before the marker existed: its summary names levtrade."""
    try:
        document = json.loads(summary.read_text("utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(document, dict) and isinstance(document.get("levtrade"), str)


def _ours(folder: Path, name: str) -> bool:
    """Whether ``folder/name`` is something levtrade writes in a results directory."""
    path = folder / name
    if name in RESULT_FILES or name == RESULTS_MARKER:
        return path.is_file()
    if name == ANALYZERS_DIR:
        return path.is_dir() and all(p.is_file() and p.suffix == ".parquet" for p in path.iterdir())
    return name == "report.html" and is_report(path)


_TEMPORARY = re.compile(r"\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.(?P<kind>tmp|old)")
_LEGACY = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}\.(?P<kind>tmp|old)")
"""A temporary results directory of a levtrade that did not name them by process (mkdtemp's
eight characters): stale, since no running levtrade writes one."""


def remove_stale_temporaries(target: Path) -> None:
    """Remove the temporary files and directories of ``target`` (``.<name>.<pid>.*.tmp`` and
    ``.old``) whose writing process is gone. A results directory a killed swap had moved aside
    (``.old``) goes back to ``target`` first when ``target`` is missing."""
    parent = target.parent if str(target.parent) else Path(".")
    try:
        entries = list(parent.iterdir())
    except OSError:
        return
    stale = []
    for entry in entries:
        match = _TEMPORARY.fullmatch(entry.name)
        if match and match["name"] == target.name and not _alive(int(match["pid"])):
            stale.append((match["kind"], entry))
            continue
        legacy = _LEGACY.fullmatch(entry.name)
        if legacy and legacy["name"] == target.name and _legacy_results(entry):
            stale.append((legacy["kind"], entry))
    for kind, entry in sorted(stale, key=lambda item: item[0] != "old"):
        moved = entry / "results"
        if kind == "old" and not target.exists() and _holds_results(moved):
            os.replace(moved, target)
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _holds_results(folder: Path) -> bool:
    """Whether ``folder`` is a results directory (with the marker, or from before it)."""
    return (folder / RESULTS_MARKER).is_file() or (folder / "summary.json").is_file()


def _legacy_results(entry: Path) -> bool:
    """Whether ``entry`` is a directory holding levtrade results (or, moved aside, results/)."""
    return entry.is_dir() and (_holds_results(entry) or _holds_results(entry / "results"))


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (this process counts as alive)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return True


def _write_files(bundle: ResultBundle, folder: Path) -> None:
    (folder / RESULTS_MARKER).write_text(
        json.dumps({"levtrade": bundle.summary.get("levtrade")}) + "\n", encoding="utf-8"
    )
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
        prefix = temporary_prefix(target)
        self.temp = Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=parent))
        try:
            self.temp.chmod(0o777 & ~current_umask())
            _write_files(bundle, self.temp)
        except BaseException:
            shutil.rmtree(self.temp, ignore_errors=True)
            raise

    def commit(self) -> Path:
        old: Path | None = None
        if self.target.exists():
            parent = self.temp.parent
            prefix = temporary_prefix(self.target)
            old = Path(tempfile.mkdtemp(prefix=prefix, suffix=".old", dir=parent))
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
    except RecursionError:
        raise ExportError(f"results: {folder / 'summary.json'} is nested too deeply") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ExportError(f"results: cannot read {folder / 'summary.json'}: {exc}") from None
    if not isinstance(summary, dict):
        raise ExportError(f"results: {folder / 'summary.json'} does not hold a summary")
    _check_summary(summary, folder / "summary.json")
    try:
        tables = {
            name: from_exported(pd.read_parquet(folder / f"{name}.parquet"))
            for name in ("trades", "orders", "ledger", "series", "prices")
        }
    except Exception as exc:
        raise ExportError(f"results: cannot read the tables in {folder}: {exc}") from None
    for name, columns in _COLUMNS.items():
        missing = [c for c in columns if c not in tables[name].columns]
        if missing:
            raise ExportError(
                f"results: {folder / f'{name}.parquet'} has no column {missing[0]!r}; it is not "
                "the table levtrade wrote"
            )
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


_COLUMNS: dict[str, tuple[str, ...]] = {
    "series": ("time", "equity"),
    "prices": ("time", "symbol"),
    "trades": ("symbol", "side"),
}
"""The columns of each table the report reads."""

_SUMMARY_TYPES: dict[str, tuple[type, ...]] = {
    "pairs": (list,),
    "metrics": (dict,),
    "per_pair": (list,),
    "liquidations": (list,),
    "notes": (list,),
    "funding": (dict,),
    "analyzers": (dict,),
    "margin": (dict, type(None)),
}
"""The summary's fields the report reads, and what each holds."""


def _check_summary(summary: dict[str, object], path: Path) -> None:
    """Refuse a summary whose fields are not what levtrade writes (a file changed by hand)."""
    for key, kinds in _SUMMARY_TYPES.items():
        if key in summary and not isinstance(summary[key], kinds):
            raise ExportError(
                f"results: {path}: {key} must be {' or '.join(_NAMES[k] for k in kinds)}, got "
                f"{summary[key]!r}"
            )
    pairs = summary.get("pairs", [])
    if isinstance(pairs, list) and not all(isinstance(p, str) for p in pairs):
        raise ExportError(f"results: {path}: pairs must be a list of symbols, got {pairs!r}")


_NAMES: dict[type, str] = {list: "a list", dict: "an object", type(None): "null"}


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True
