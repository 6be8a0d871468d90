"""Plain signal tables: :class:`~levtrade.strategy.signals.Signals` from DataFrames and files.

A signal table has one row per bar that carries a signal: a time column (``date`` or
``timestamp``; also ``open_time``, ``time``, ``datetime``), the FreqTrade columns
``enter_long``, ``exit_long``, ``enter_short``, ``exit_short`` (booleans, 0/1; NaN or empty is
False; a missing short column is all False) and optional ``leverage`` and ``stake`` (NaN = the
run's default). Several symbols go in one table with a ``symbol`` column, or as a mapping
``{symbol: table}``. Rows are aligned to the market data by timestamp: a row whose time is not
a bar of its symbol is an error naming the row and value; bars without a row carry no signal.

>>> signals = signals_from_frame(frame, data)                 # doctest: +SKIP
>>> signals = read_signals("signals.parquet", data, rules=SignalRules(stoploss=-0.1))  # +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from levtrade.data import MarketData, Portfolio
from levtrade.data._types import BoolArray, FloatArray, IntArray
from levtrade.data.errors import DataValidationError
from levtrade.data.io import float_column, ms_column, read_table
from levtrade.data.validate import Origin, ts_text
from levtrade.strategy.signals import SIGNAL_COLUMNS, SignalRules, Signals, SymbolSignals

__all__ = [
    "SIGNAL_TIME_COLUMNS",
    "read_signals",
    "signals_from_frame",
    "signals_to_frame",
    "symbol_axis",
]

SIGNAL_TIME_COLUMNS = ("date", "timestamp", "open_time", "time", "datetime")
_REQUIRED = ("enter_long", "exit_long")
_NUMBERS = ("leverage", "stake")

SignalFrame = pd.DataFrame | Mapping[str, pd.DataFrame]


def symbol_axis(data: MarketData | Portfolio, symbol: str) -> tuple[IntArray, BoolArray]:
    """The axis timestamps and the mask of bars ``symbol`` has (all True for one market)."""
    if isinstance(data, MarketData):
        if symbol != data.symbol:
            raise DataValidationError(
                f"signals for {symbol!r}, but the market data is {data.symbol!r}",
                column="symbol",
                value=repr(symbol),
            )
        return data.timestamps, np.ones(len(data), dtype=np.bool_)
    if symbol not in data.symbols:
        raise DataValidationError(
            f"signals for {symbol!r}, which is not in the portfolio ({', '.join(data.symbols)})",
            column="symbol",
            value=repr(symbol),
        )
    return data.timestamps, data.active[:, data.column(symbol)]


def _symbols(data: MarketData | Portfolio) -> tuple[str, ...]:
    return (data.symbol,) if isinstance(data, MarketData) else data.symbols


def signals_from_frame(
    frame: SignalFrame,
    data: MarketData | Portfolio,
    *,
    rules: SignalRules | None = None,
    source: str = "<DataFrame>",
) -> Signals:
    """Signals from a DataFrame (``symbol`` column for several symbols) or ``{symbol: frame}``.

    A frame with a DatetimeIndex and no time column uses the index as its time.
    """
    if isinstance(frame, pd.DataFrame):
        return _from_table(_frame_table(frame, source), Origin(source), data, rules, None)
    if not isinstance(frame, Mapping):
        raise DataValidationError(
            f"expected a DataFrame or a mapping of symbol to DataFrame, got {type(frame).__name__}",
            file=source,
        )
    parts: dict[str, SymbolSignals] = {}
    for symbol, part in frame.items():
        where = f"{source}[{symbol!r}]"
        if not isinstance(part, pd.DataFrame):
            raise DataValidationError(
                f"expected a DataFrame for {symbol!r}, got {type(part).__name__}", file=where
            )
        parts.update(
            _from_table(_frame_table(part, where), Origin(where), data, None, symbol).by_symbol
        )
    return _complete(parts, data, rules)


def read_signals(
    path: str | Path, data: MarketData | Portfolio, *, rules: SignalRules | None = None
) -> Signals:
    """Signals from a Parquet, Feather or CSV file (format from the extension)."""
    table, origin = read_table(path)
    return _from_table(table, origin, data, rules, None)


def signals_to_frame(signals: Signals, data: MarketData | Portfolio) -> pd.DataFrame:
    """The rows that carry a signal, one table for every symbol (the inverse of
    :func:`signals_from_frame`): ``date`` (UTC), ``symbol``, the four signal columns,
    ``leverage`` and ``stake``."""
    frames = []
    for symbol, sym in signals.by_symbol.items():
        stamps, _ = symbol_axis(data, symbol)
        keep = sym.enter_long | sym.exit_long | sym.enter_short | sym.exit_short
        keep |= ~np.isnan(sym.leverage) | ~np.isnan(sym.stake)
        rows = np.flatnonzero(keep)
        frames.append(
            pd.DataFrame(
                {
                    "date": pd.to_datetime(stamps[rows], unit="ms", utc=True),
                    "symbol": symbol,
                    **{name: getattr(sym, name)[rows] for name in SIGNAL_COLUMNS},
                    "leverage": sym.leverage[rows],
                    "stake": sym.stake[rows],
                }
            )
        )
    if not frames:
        columns = ["date", "symbol", *SIGNAL_COLUMNS, *_NUMBERS]
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)


# ------------------------------------------------------------------------------------------
# Internals
# ------------------------------------------------------------------------------------------


def _frame_table(frame: pd.DataFrame, source: str) -> pa.Table:
    lower = {str(c).lower() for c in frame.columns}
    if not lower.intersection(SIGNAL_TIME_COLUMNS) and isinstance(frame.index, pd.DatetimeIndex):
        frame = frame.reset_index(names="date")
    else:
        frame = frame.reset_index(drop=True)
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise DataValidationError(f"cannot read the DataFrame: {exc}", file=source) from exc


def _column(table: pa.Table, names: tuple[str, ...]) -> str | None:
    by_lower = {str(name).lower(): str(name) for name in table.column_names}
    for name in names:
        if name in by_lower:
            return by_lower[name]
    return None


def _from_table(
    table: pa.Table,
    origin: Origin,
    data: MarketData | Portfolio,
    rules: SignalRules | None,
    symbol: str | None,
) -> Signals:
    time_name = _column(table, SIGNAL_TIME_COLUMNS)
    if time_name is None:
        raise origin.fail(
            f"missing time column (one of {', '.join(SIGNAL_TIME_COLUMNS)}; the table has "
            f"{', '.join(table.column_names) or 'no columns'})",
            column="date",
        )
    for name in _REQUIRED:
        if _column(table, (name,)) is None:
            raise origin.fail(
                f"missing signal column {name!r} (the table has {', '.join(table.column_names)})",
                column=name,
            )
    stamps = ms_column(table, time_name, origin)
    rows = np.arange(table.num_rows)
    symbol_name = _column(table, ("symbol",))
    if symbol_name is not None and symbol is None:
        labels = np.asarray(table.column(symbol_name).to_numpy(zero_copy_only=False), dtype=object)
        missing = np.flatnonzero(pd.isna(labels))
        if missing.size:
            raise origin.fail("missing symbol", column=symbol_name, row=int(missing[0]))
        groups = {str(s): rows[labels == s] for s in pd.unique(labels)}
    else:
        own = symbol if symbol is not None else _only_symbol(data, origin)
        groups = {own: rows}
    columns = _signal_columns(table, origin)
    parts: dict[str, SymbolSignals] = {}
    for name, picked in groups.items():
        try:
            axis, has_bar = symbol_axis(data, name)
        except DataValidationError as exc:
            first = int(picked[0]) if picked.size else None
            raise origin.fail(exc.reason, column=symbol_name or "symbol", row=first) from None
        parts[name] = _align(name, picked, stamps, axis, has_bar, columns, origin, time_name)
    if symbol is not None:
        return Signals(parts)
    return _complete(parts, data, rules)


def _only_symbol(data: MarketData | Portfolio, origin: Origin) -> str:
    symbols = _symbols(data)
    if len(symbols) != 1:
        raise origin.fail(
            f"missing column 'symbol': the portfolio has {len(symbols)} symbols "
            f"({', '.join(symbols)}); add a symbol column or pass {{symbol: table}}",
            column="symbol",
        )
    return symbols[0]


def _signal_columns(table: pa.Table, origin: Origin) -> dict[str, FloatArray | BoolArray]:
    out: dict[str, FloatArray | BoolArray] = {}
    for name in SIGNAL_COLUMNS:
        found = _column(table, (name,))
        if found is None:
            out[name] = np.zeros(table.num_rows, dtype=np.bool_)
        else:
            out[name] = _flags(table, found, origin)
    for name in _NUMBERS:
        found = _column(table, (name,))
        if found is None:
            out[name] = np.full(table.num_rows, np.nan)
            continue
        values = float_column(table, found, origin)
        given = ~np.isnan(values)
        if name == "leverage":
            valid, rule = np.isfinite(values) & (values >= 1.0), "must be ≥ 1"
        else:
            valid, rule = np.isfinite(values) & (values > 0.0), "must be > 0"
        bad = np.flatnonzero(given & ~valid)
        if bad.size:
            row = int(bad[0])
            raise origin.fail(
                f"{name} {rule} (or empty for the default)",
                column=found,
                row=row,
                value=values[row],
            )
        out[name] = values
    return out


def _flags(table: pa.Table, name: str, origin: Origin) -> BoolArray:
    """A signal column as booleans: bool, or numbers 0/1 with NaN/null read as False."""
    column = table.column(name)
    kind = column.type
    if pa.types.is_boolean(kind):
        values = column.to_numpy(zero_copy_only=False)
        return np.asarray(pd.Series(values, dtype=object).fillna(False).astype(bool), np.bool_)
    if pa.types.is_null(kind):
        return np.zeros(table.num_rows, dtype=np.bool_)
    numbers = float_column(table, name, origin)
    known = ~np.isnan(numbers)
    bad = np.flatnonzero(known & (numbers != 0.0) & (numbers != 1.0))
    if bad.size:
        row = int(bad[0])
        raise origin.fail(
            "signal must be 0/1 or a boolean (empty or NaN for no signal)",
            column=name,
            row=row,
            value=numbers[row],
        )
    return np.asarray(known & (numbers == 1.0), dtype=np.bool_)


def _align(
    symbol: str,
    rows: IntArray,
    stamps: IntArray,
    axis: IntArray,
    has_bar: BoolArray,
    columns: Mapping[str, FloatArray | BoolArray],
    origin: Origin,
    time_name: str,
) -> SymbolSignals:
    """Place the rows of one symbol on the axis; each time must be one of the symbol's bars."""
    wanted = stamps[rows]
    pos = np.searchsorted(axis, wanted)
    safe = np.clip(pos, 0, axis.size - 1)
    found = (pos < axis.size) & (axis[safe] == wanted) & has_bar[safe]
    bad = np.flatnonzero(~found)
    if bad.size:
        row = int(rows[bad[0]])
        raise origin.fail(
            f"not a bar of the market data for {symbol} (signal times must be candle open "
            "times of the symbol's bars)",
            column=time_name,
            row=row,
            value=ts_text(int(stamps[row])),
        )
    order = np.argsort(pos, kind="stable")
    dup = np.flatnonzero(np.diff(pos[order]) == 0)
    if dup.size:
        row = int(rows[order[dup[0] + 1]])
        raise origin.fail(
            f"a second row for the same bar of {symbol}",
            column=time_name,
            row=row,
            value=ts_text(int(stamps[row])),
        )
    n = axis.size
    arrays: dict[str, FloatArray | BoolArray] = {}
    for name, values in columns.items():
        out = np.zeros(n, np.bool_) if values.dtype == np.bool_ else np.full(n, np.nan)
        out[pos] = values[rows]
        arrays[name] = out
    return SymbolSignals.from_arrays(n, **arrays)


def _complete(
    parts: Mapping[str, SymbolSignals], data: MarketData | Portfolio, rules: SignalRules | None
) -> Signals:
    """Every symbol of the data present (those without rows carry no signal)."""
    bars = len(data)
    full = {s: parts.get(s, SymbolSignals.from_arrays(bars)) for s in _symbols(data)}
    return Signals(full, rules if rules is not None else SignalRules())
