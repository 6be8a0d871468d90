"""Readers and writers for candle and funding files: Parquet, Feather, CSV and JSON rows.

Readers accept the column names used by levtrade's store (``timestamp``), the shared Binance
Parquet files (``open_time``, ``funding_time``/``funding_rate``), FreqTrade (``date``; funding
rate in ``open``) and CSV exports; timestamps may be tz-aware datetimes, ISO 8601 text, or
epoch numbers in s/ms/us/ns (the unit is read from the magnitude). Writers always go through a
temporary file in the target directory and an atomic rename, so a failed write leaves nothing.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.parquet as pq

from levtrade.data._types import (
    CANDLE_KINDS,
    CandleKind,
    CoveragePolicy,
    FloatArray,
    GapPolicy,
    IntArray,
)
from levtrade.data.commit import file_mode
from levtrade.data.errors import DataValidationError, MissingColumnError
from levtrade.data.market import CoarseMarkPolicy, MarketData
from levtrade.data.series import Candles, FundingEvents, TimeBound, make_candles, make_funding
from levtrade.data.timeframes import format_timeframe, parse_timeframe
from levtrade.data.validate import FUNDING_SNAP_TOLERANCE_MS, Origin

__all__ = [
    "FORMATS",
    "FileFormat",
    "atomic_write",
    "candle_kind",
    "candle_table",
    "column_names",
    "convert_file",
    "detect_format",
    "file_metadata",
    "find_column",
    "float_column",
    "funding_table",
    "guess_kind",
    "load_market",
    "ms_column",
    "read_candles",
    "read_funding",
    "read_table",
    "timeframe_from_name",
    "write_candles",
    "write_funding",
    "write_table",
]

FileFormat = Literal["parquet", "csv", "feather", "json"]
FORMATS: tuple[str, ...] = ("parquet", "csv", "feather", "json")

TIME_COLUMNS = ("timestamp", "open_time", "date", "time", "datetime")
FUNDING_TIME_COLUMNS = ("funding_time", "fundingtime", "timestamp", "date", "time", "datetime")
RATE_COLUMNS = ("funding_rate", "fundingrate", "rate")
METADATA_KEY = b"levtrade"

_SUFFIXES: dict[str, FileFormat] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".feather": "feather",
    ".arrow": "feather",
    ".ipc": "feather",
    ".json": "json",
}
_TIMEFRAME_TOKEN = re.compile(r"^\d+[smhdw]$")
_DIGITS = re.compile(r"^\s*-?\d+\s*$")
_JSON_COLUMNS = ("date", "open", "high", "low", "close", "volume")


def candle_kind(kind: str) -> CandleKind:
    """``kind`` checked as one of ``trade``, ``mark``, ``index``."""
    if kind == "trade":
        return "trade"
    if kind == "mark":
        return "mark"
    if kind == "index":
        return "index"
    raise DataValidationError(f"unknown candle kind {kind!r}; use trade, mark or index")


def detect_format(path: str | Path) -> FileFormat:
    """The file format from the name (``.gz`` is allowed after ``.csv`` and ``.json``)."""
    if Path(path).is_dir():
        raise DataValidationError("a directory, not a data file", file=str(path))
    name = Path(path).name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    suffix = Path(name).suffix
    if suffix not in _SUFFIXES:
        raise DataValidationError(
            f"unknown file type {suffix or '(none)'!r}: use .parquet, .feather, .csv or .json",
            file=str(path),
        )
    return _SUFFIXES[suffix]


def timeframe_from_name(path: str | Path) -> str | None:
    """A timeframe token in the file name (``BTCUSDT-1h-perp.parquet`` -> ``"1h"``), if any."""
    stem = Path(path).name.split(".")[0]
    tokens = [token for token in stem.split("-") if _TIMEFRAME_TOKEN.match(token)]
    return tokens[-1] if len(tokens) == 1 else None


def guess_kind(path: str | Path, columns: list[str] | None = None) -> str:
    """``funding``, ``mark``, ``index`` or ``trade`` from the name, metadata or columns."""
    meta = file_metadata(path)
    if meta.get("kind") in (*CANDLE_KINDS, "funding"):
        return str(meta["kind"])
    lowered = [c.lower() for c in columns or []]
    stem = Path(path).name.split(".")[0].lower()
    tokens = set(re.split(r"[-_]", stem))
    if "funding" in tokens or "fundingrate" in tokens or any(c in RATE_COLUMNS for c in lowered):
        return "funding"
    if "mark" in tokens:
        return "mark"
    if "index" in tokens or "oracle" in tokens:
        return "index"
    return "trade"


def file_metadata(path: str | Path) -> dict[str, Any]:
    """levtrade's metadata stored in a Parquet/Feather schema (empty for other files)."""
    path = Path(path)
    try:
        fmt = detect_format(path)
        if fmt == "parquet":
            schema = pq.read_schema(path)
        elif fmt == "feather":
            with pa.memory_map(str(path)) as source:
                schema = pa.ipc.open_file(source).schema
        else:
            return {}
    except (OSError, pa.ArrowException, DataValidationError):
        return {}
    raw = (schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        return {}
    try:
        decoded = json.loads(raw)
    except ValueError:
        return {}
    return decoded if isinstance(decoded, dict) else {}


def column_names(path: str | Path) -> list[str]:
    """Column names without reading the data (schema or CSV header); JSON rows have none."""
    path = Path(path)
    fmt = detect_format(path)
    if not path.is_file():
        raise _missing_file(path)
    try:
        if fmt == "parquet":
            return list(pq.read_schema(path).names)
        if fmt == "feather":
            with pa.memory_map(str(path)) as source:
                return list(pa.ipc.open_file(source).schema.names)
        if fmt == "csv":
            opener = gzip.open if _gz(path) else open
            with opener(path, "rt", encoding="utf-8") as handle:
                header = handle.readline()
            return [name.strip().strip('"') for name in header.rstrip("\r\n").split(",")]
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise DataValidationError(f"cannot read as {fmt}: {exc}", file=str(path)) from exc
    return list(_JSON_COLUMNS)


def _missing_file(path: Path) -> DataValidationError:
    if path.is_dir():
        return DataValidationError("a directory, not a file", file=str(path))
    return DataValidationError("file not found", file=str(path))


def read_table(path: str | Path) -> tuple[pa.Table, Origin]:
    """The file as an Arrow table plus an :class:`Origin` for error messages."""
    path = Path(path)
    fmt = detect_format(path)
    if not path.is_file():
        raise _missing_file(path)
    name = str(path)
    try:
        if fmt == "parquet":
            return pq.read_table(path), Origin(name)
        if fmt == "feather":
            return feather.read_table(path), Origin(name)
        if fmt == "csv":
            return pacsv.read_csv(path), Origin(name, line_offset=2)
    except (pa.ArrowException, OSError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataValidationError(f"cannot read as {fmt}: {detail}", file=name) from exc
    return _read_json_rows(path), Origin(name)


def _read_json_rows(path: Path) -> pa.Table:
    """FreqTrade JSON candles: a list of ``[timestamp_ms, open, high, low, close, volume]``."""
    name = str(path)
    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                rows = json.load(handle)
        else:
            with path.open(encoding="utf-8") as handle:
                rows = json.load(handle)
    except (OSError, ValueError, EOFError) as exc:
        raise DataValidationError(f"cannot read as JSON: {exc}", file=name) from exc
    except RecursionError:
        raise DataValidationError("cannot read as JSON: nested too deeply", file=name) from None
    if not isinstance(rows, list):
        raise DataValidationError(
            "JSON candles must be a list of [timestamp_ms, open, high, low, close, volume] rows",
            file=name,
        )
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(_JSON_COLUMNS):
            raise DataValidationError(
                "row must be [timestamp_ms, open, high, low, close, volume]",
                file=name,
                row=i,
                value=json.dumps(row)[:80],
            )
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in _JSON_COLUMNS]
    arrays: dict[str, pa.Array] = {}
    for col_name, values in zip(_JSON_COLUMNS, columns, strict=True):
        try:
            arrays[col_name] = pa.array(values)
        except (pa.ArrowException, TypeError, ValueError):
            arrays[col_name] = pa.array([None if v is None else str(v) for v in values])
    return pa.table(arrays)


def find_column(table: pa.Table, wanted: str, candidates: tuple[str, ...], origin: Origin) -> str:
    """The table's name for ``wanted``: the first of ``candidates`` present (any case)."""
    by_lower: dict[str, str] = {str(name).lower(): str(name) for name in table.column_names}
    for candidate in candidates:
        if candidate.lower() in by_lower:
            return by_lower[candidate.lower()]
    raise MissingColumnError(
        f"missing column {wanted!r} (accepted names: {', '.join(candidates)}; "
        f"the file has: {', '.join(table.column_names) or 'no columns'})",
        file=origin.file,
        column=wanted,
    )


def _first_true(mask: pa.ChunkedArray | pa.Array) -> int:
    return int(pc.index(mask, True).as_py())


def float_column(table: pa.Table, name: str, origin: Origin) -> FloatArray:
    """A numeric column as float64 (nulls become NaN, caught by the finiteness checks)."""
    column = table.column(name)
    kind = column.type
    if pa.types.is_null(kind):
        return np.full(len(column), np.nan)
    if pa.types.is_floating(kind) or pa.types.is_integer(kind) or pa.types.is_decimal(kind):
        cast = column.cast(pa.float64())
        if cast.null_count:
            cast = pc.fill_null(cast, np.nan)
        return np.ascontiguousarray(cast.to_numpy(), dtype=np.float64)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = pd.Series(column.to_numpy(zero_copy_only=False), dtype=object)
        parsed = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
        blank = text.isna() | (text.astype(str).str.strip() == "")
        bad = np.flatnonzero(np.isnan(parsed) & ~blank.to_numpy() & ~_nan_words(text))
        if bad.size:
            row = int(bad[0])
            raise origin.fail("not a number", column=name, row=row, value=repr(text.iloc[row]))
        return parsed
    raise origin.fail(f"column type {kind} is not numeric", column=name)


def _nan_words(text: pd.Series) -> np.ndarray[Any, np.dtype[np.bool_]]:
    words = text.astype(str).str.strip().str.lower()
    return np.asarray(words.isin(["nan", "inf", "-inf", "+inf", "infinity", "-infinity"]))


def _epoch_to_ms(values: IntArray, name: str, origin: Origin) -> IntArray:
    """Epoch numbers in s, ms, us or ns (read from the magnitude) to ms."""
    if values.size == 0:
        return values
    bands = np.array([1e11, 1e14, 1e17])
    unit = np.searchsorted(bands, np.abs(values.astype(np.float64)), "right")
    odd = np.flatnonzero(unit != unit[0])
    if odd.size:
        row = int(odd[0])
        labels = ("seconds", "milliseconds", "microseconds", "nanoseconds")
        raise origin.fail(
            f"timestamp unit differs from row 0 ({labels[int(unit[row])]} here, "
            f"{labels[int(unit[0])]} in row 0)",
            column=name,
            row=row,
            value=int(values[row]),
        )
    scale = int(unit[0])
    if scale == 0:
        return values * 1000
    if scale == 1:
        return values
    return values // (1000 if scale == 2 else 1_000_000)


def ms_column(table: pa.Table, name: str, origin: Origin) -> IntArray:
    """A time column as int64 ms UTC; naive datetimes are read as UTC."""
    column = table.column(name)
    if column.null_count:
        row = _first_true(pc.is_null(column))
        raise origin.fail("missing timestamp", column=name, row=row, value="null")
    kind = column.type
    if pa.types.is_timestamp(kind):
        per_ms = {"s": None, "ms": 1, "us": 1_000, "ns": 1_000_000}[kind.unit]
        raw = np.asarray(column.cast(pa.int64()).to_numpy(), dtype=np.int64)
        return raw * 1000 if per_ms is None else (raw // per_ms if per_ms > 1 else raw)
    if pa.types.is_date32(kind):
        return np.asarray(column.cast(pa.int32()).to_numpy(), dtype=np.int64) * 86_400_000
    if pa.types.is_date64(kind):
        return np.asarray(column.cast(pa.int64()).to_numpy(), dtype=np.int64)
    if pa.types.is_integer(kind):
        return _epoch_to_ms(np.asarray(column.to_numpy(), dtype=np.int64), name, origin)
    if pa.types.is_floating(kind):
        values = np.asarray(column.to_numpy(), dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(values) | (values != np.round(values)))
        if bad.size:
            row = int(bad[0])
            raise origin.fail(
                "timestamp is not a whole epoch number", column=name, row=row, value=values[row]
            )
        return _epoch_to_ms(values.astype(np.int64), name, origin)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = pd.Series(column.to_numpy(zero_copy_only=False), dtype=object).astype(str)
        digits = text.str.match(_DIGITS.pattern).to_numpy()
        if bool(digits.all()):
            epoch = np.asarray(text.astype(np.int64).to_numpy(), dtype=np.int64)
            return _epoch_to_ms(epoch, name, origin)
        parsed = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
        bad = np.flatnonzero(parsed.isna().to_numpy() | digits)
        if bad.size:
            row = int(bad[0])
            raise origin.fail(
                "not an ISO 8601 date/time (or all rows epoch numbers)",
                column=name,
                row=row,
                value=repr(text.iloc[row]),
            )
        return np.asarray(parsed.astype("datetime64[ms, UTC]").astype(np.int64), dtype=np.int64)
    raise origin.fail(f"column type {kind} is not a date/time", column=name)


def read_candles(
    path: str | Path,
    *,
    kind: CandleKind = "trade",
    timeframe: str | int | None = None,
    gaps: GapPolicy = "error",
    columns: Mapping[str, str] | None = None,
) -> Candles:
    """Read and validate one candle file (trade, mark or index).

    ``timeframe`` defaults to the one in the file's levtrade metadata, else a token in the
    file name (``-1h-``); bars must then be spaced by it (files written by levtrade may be
    sparse: their stored timeframe is trusted). ``columns`` maps levtrade names
    (``timestamp``, ``open`` ... ``volume``) to the file's when they differ.
    """
    table, origin = read_table(path)
    meta = file_metadata(path)
    if table.num_rows == 0:
        raise origin.fail("no rows")
    names = dict(columns or {})

    def resolve(field: str, candidates: tuple[str, ...]) -> str:
        if field not in names:
            return find_column(table, field, candidates, origin)
        if names[field] not in table.column_names:
            raise MissingColumnError(
                f"missing column {names[field]!r} (given for {field!r})",
                file=origin.file,
                column=names[field],
            )
        return names[field]

    time_name = resolve("timestamp", TIME_COLUMNS)
    origin = Origin(origin.file, origin.line_offset, time_name)
    fields = ["open", "high", "low", "close"] + (["volume"] if kind == "trade" else [])
    resolved = {field: resolve(field, (field,)) for field in fields}
    stored = meta.get("timeframe") if isinstance(meta.get("timeframe"), str) else None
    declared = timeframe or stored or timeframe_from_name(path)
    ts = ms_column(table, time_name, origin)
    values = {field: float_column(table, column, origin) for field, column in resolved.items()}
    return make_candles(
        ts,
        values["open"],
        values["high"],
        values["low"],
        values["close"],
        values.get("volume"),
        kind=kind,
        origin=origin,
        timeframe=declared,
        gaps=gaps,
        names=(
            resolved["open"],
            resolved["high"],
            resolved["low"],
            resolved["close"],
            resolved.get("volume", "volume"),
        ),
        metadata=meta,
        strict_timeframe=stored is None,
    )


def read_funding(
    path: str | Path,
    *,
    rate_column: str | None = None,
    time_column: str | None = None,
    grid: str | int = "1h",
    tolerance_ms: int = FUNDING_SNAP_TOLERANCE_MS,
) -> FundingEvents:
    """Read and validate funding events; times are snapped to ``grid`` within ``tolerance_ms``.

    The rate column is ``funding_rate``/``fundingRate``/``rate``; a FreqTrade funding file
    (name ending ``funding_rate``) keeps it in ``open``.
    """
    table, origin = read_table(path)
    if table.num_rows == 0:
        raise origin.fail("no rows")
    for given in (time_column, rate_column):
        if given is not None and given not in table.column_names:
            raise MissingColumnError(f"missing column {given!r}", file=origin.file, column=given)
    time_name = time_column or find_column(table, "funding_time", FUNDING_TIME_COLUMNS, origin)
    origin = Origin(origin.file, origin.line_offset, time_name)
    if rate_column is None:
        lowered = {c.lower() for c in table.column_names}
        freqtrade = Path(path).name.split(".")[0].lower().endswith("funding_rate")
        if freqtrade and not lowered & set(RATE_COLUMNS) and "open" in lowered:
            rate_column = find_column(table, "open", ("open",), origin)
        else:
            rate_column = find_column(table, "funding_rate", RATE_COLUMNS, origin)
    ts = ms_column(table, time_name, origin)
    rates = float_column(table, rate_column, origin)
    return make_funding(
        ts,
        rates,
        origin=origin,
        rate_column=rate_column,
        grid_ms=parse_timeframe(grid),
        tolerance_ms=tolerance_ms,
    )


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Run ``write(tmp)`` on a temporary file beside ``path``, then rename it into place.

    On any failure the temporary file is removed and ``path`` is untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        with tmp.open("rb+") as synced:
            os.fsync(synced.fileno())
        os.chmod(tmp, file_mode())  # mkstemp makes it 0600: a new file gets what the umask gives
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def _schema_metadata(metadata: Mapping[str, Any]) -> dict[bytes, bytes]:
    clean = {k: v for k, v in metadata.items() if isinstance(v, str | int | float | bool | None)}
    return {METADATA_KEY: json.dumps(clean, sort_keys=True).encode()}


def candle_table(
    candles: Candles,
    *,
    time_name: str = "timestamp",
    with_volume: bool | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> pa.Table:
    """Arrow table for candles: UTC millisecond timestamps plus OHLC(V) float64 columns.

    ``with_volume`` defaults to trade candles only; FreqTrade files always carry a volume
    column (0 for mark and index candles).
    """
    include_volume = candles.kind == "trade" if with_volume is None else with_volume
    arrays: dict[str, pa.Array] = {
        time_name: pa.array(candles.timestamps, type=pa.int64()).cast(pa.timestamp("ms", "UTC")),
        "open": pa.array(candles.open),
        "high": pa.array(candles.high),
        "low": pa.array(candles.low),
        "close": pa.array(candles.close),
    }
    if include_volume:
        volume = candles.volume if candles.volume is not None else np.zeros(len(candles))
        arrays["volume"] = pa.array(volume)
    meta = {
        **candles.metadata,
        **(metadata or {}),
        "kind": candles.kind,
        "timeframe": format_timeframe(candles.timeframe_ms),
    }
    return pa.table(arrays).replace_schema_metadata(_schema_metadata(meta))


def funding_table(
    events: FundingEvents,
    *,
    time_name: str = "timestamp",
    rate_name: str = "funding_rate",
    metadata: Mapping[str, Any] | None = None,
) -> pa.Table:
    """Arrow table for funding events (times in UTC ms, rate as a fraction)."""
    table = pa.table(
        {
            time_name: pa.array(events.timestamps, type=pa.int64()).cast(pa.timestamp("ms", "UTC")),
            rate_name: pa.array(events.rates),
        }
    )
    meta = {**(metadata or {}), "kind": "funding"}
    return table.replace_schema_metadata(_schema_metadata(meta))


def write_table(table: pa.Table, path: str | Path, fmt: FileFormat | None = None) -> Path:
    """Write atomically: Parquet and Feather with zstd, CSV with ISO 8601 UTC times,
    JSON as FreqTrade rows ``[timestamp_ms, open, high, low, close, volume]``."""
    target = Path(path)
    kind = fmt or detect_format(target)

    def write(tmp: Path) -> None:
        if kind == "parquet":
            pq.write_table(table, tmp, compression="zstd")
        elif kind == "feather":
            feather.write_feather(table, tmp, compression="zstd")
        elif kind == "csv":
            frame = table.to_pandas()
            for name in table.column_names:
                if pa.types.is_timestamp(table.schema.field(name).type):
                    text = frame[name].dt.strftime("%Y-%m-%dT%H:%M:%S.%f")
                    frame[name] = text.str[:-3] + "Z"
            frame.to_csv(tmp, index=False, compression="gzip" if _gz(target) else None)
        else:
            _write_json_rows(table, tmp, gz=_gz(target))

    return atomic_write(target, write)


def _gz(path: Path) -> bool:
    return path.name.lower().endswith(".gz")


def _write_json_rows(table: pa.Table, tmp: Path, *, gz: bool) -> None:
    names = table.column_names
    time_name = names[0]
    stamps = table.column(time_name).cast(pa.timestamp("ms", "UTC")).cast(pa.int64())
    ms = np.asarray(stamps.to_numpy(), dtype=np.int64)
    values = [ms.tolist()]
    for name in ("open", "high", "low", "close", "volume"):
        if name in names:
            values.append(np.asarray(table.column(name).to_numpy(), np.float64).tolist())
        else:
            values.append([0.0] * table.num_rows)
    rows = [list(row) for row in zip(*values, strict=True)]
    text = json.dumps(rows, separators=(",", ":"))
    if gz:
        with gzip.open(tmp, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        tmp.write_text(text, encoding="utf-8")


def write_candles(
    candles: Candles,
    path: str | Path,
    *,
    metadata: Mapping[str, Any] | None = None,
    fmt: FileFormat | None = None,
) -> Path:
    """Write one candle series in levtrade's schema (see docs/data.md)."""
    return write_table(candle_table(candles, metadata=metadata), path, fmt)


def write_funding(
    events: FundingEvents,
    path: str | Path,
    *,
    metadata: Mapping[str, Any] | None = None,
    fmt: FileFormat | None = None,
) -> Path:
    """Write funding events in levtrade's schema (``timestamp``, ``funding_rate``)."""
    return write_table(funding_table(events, metadata=metadata), path, fmt)


def load_market(
    trade: str | Path,
    *,
    symbol: str,
    mark: str | Path | None = None,
    index: str | Path | None = None,
    funding: str | Path | None = None,
    timeframe: str | int | None = None,
    gaps: GapPolicy = "error",
    coverage: CoveragePolicy = "error",
    coarse_mark: CoarseMarkPolicy = "error",
    start: TimeBound = None,
    end: TimeBound = None,
    metadata: Mapping[str, Any] | None = None,
) -> MarketData:
    """One symbol from separate files (any supported format), aligned on the trade axis; a
    mark file coarser than the trade candles needs ``coarse_mark="basis"``
    (see :meth:`MarketData.build`)."""
    trade_candles = read_candles(trade, kind="trade", timeframe=timeframe, gaps=gaps)
    mark_candles = None if mark is None else read_candles(mark, kind="mark", gaps=gaps)
    index_candles = None if index is None else read_candles(index, kind="index", gaps=gaps)
    events = None if funding is None else read_funding(funding)
    return MarketData.build(
        symbol,
        trade_candles,
        mark=mark_candles,
        index=index_candles,
        funding=events,
        coverage=coverage,
        coarse_mark=coarse_mark,
        start=start,
        end=end,
        metadata=dict(metadata or {}),
    )


def convert_file(
    source: str | Path,
    target: str | Path,
    *,
    kind: str = "auto",
    timeframe: str | int | None = None,
    resample: str | None = None,
    gaps: GapPolicy = "error",
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Read, validate (and optionally resample) one file, then write it in the target's format.

    Nothing is written unless the whole input validates.
    """
    source = Path(source)
    detect_format(target)
    if not source.is_file():
        raise _missing_file(source)
    if kind == "auto":
        kind = guess_kind(source, column_names(source))
    if kind == "funding":
        if resample is not None:
            raise DataValidationError("funding events cannot be resampled", file=str(source))
        events = read_funding(source)
        write_funding(events, target, metadata=metadata)
        return {"kind": kind, "rows": len(events), "target": str(target)}
    if kind not in CANDLE_KINDS:
        raise DataValidationError(
            f"unknown kind {kind!r}; use trade, mark, index, funding or auto", file=str(source)
        )
    candles = read_candles(source, kind=candle_kind(kind), timeframe=timeframe, gaps=gaps)
    if resample is not None:
        candles = candles.resample(resample)
    write_candles(candles, target, metadata=metadata)
    return {
        "kind": kind,
        "rows": len(candles),
        "timeframe": candles.timeframe,
        "gaps": candles.gaps.to_dict(),
        "target": str(target),
    }
