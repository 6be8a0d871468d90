"""How a run's tables are written out: one time convention and no float noise.

Times are UTC instants in every export: ``timestamp[ms, UTC]`` columns in Parquet (as the
market-data store writes them) and ISO 8601 text (``2025-10-10T21:00:00Z``) in CSV; in memory
they stay milliseconds (:func:`from_exported` turns them back). Numbers are rounded as the
venue would show them: prices to the instrument's tick (its decimals), sizes to its lot, and
where an instrument has no tick or lot on record, prices to 10 significant digits and sizes to
12; money (PnL, fees, funding, stakes, ledger amounts) to 8 decimals, the settle currency's
precision on the venues.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

TIME_COLUMNS = (
    "time",
    "entry_time",
    "exit_time",
    "created_time",
    "fill_time",
    "start",
    "end",
    "min_time",
)
"""Columns holding an instant (ms since the epoch, UTC, in memory)."""
PRICE_COLUMNS = ("entry_price", "exit_price", "liquidation_price", "price", "fill_price")
SIZE_COLUMNS = ("size", "filled_size")
MONEY_COLUMNS = ("pnl", "fees", "funding", "stake", "fee", "amount", "pnl_pct")
MONEY_DECIMALS = 8
PRICE_DIGITS = 10
SIZE_DIGITS = 12


def decimals(step: float) -> int | None:
    """Decimals of a tick or lot (0.1 → 1, 0.25 → 2, 1 → 0); None without one."""
    if not (math.isfinite(step) and step > 0):
        return None
    text = np.format_float_positional(step, trim="-")
    return len(text.partition(".")[2])


def _significant(values: np.ndarray, digits: int) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        magnitude = np.floor(np.log10(np.abs(values)))
    places = np.where(np.isfinite(magnitude), digits - 1 - magnitude, 0).astype(np.int64)
    out = values.copy()
    for place in np.unique(places):
        rows = places == place
        out[rows] = np.round(values[rows], int(place))
    return out


def _rounded(
    values: pd.Series, symbols: pd.Series | None, steps: Mapping[str, Any], key: str, digits: int
) -> pd.Series:
    """Each value rounded to its symbol's step decimals, else to ``digits`` significant."""
    array = values.to_numpy(dtype=np.float64, na_value=np.nan)
    out = _significant(array, digits)
    if symbols is not None:
        for symbol in pd.unique(symbols):
            places = decimals(float((steps.get(str(symbol)) or {}).get(key) or 0.0))
            if places is not None:
                rows = (symbols == symbol).to_numpy()
                out[rows] = np.round(array[rows], places)
    return pd.Series(out, index=values.index, name=values.name)


def rounded(frame: pd.DataFrame, instruments: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """A table with its prices, sizes and money rounded (module docstring); ``instruments``
    maps a symbol to its ``tick_size`` and ``lot_size``. The report's tables are rounded so,
    so a report rebuilt from the exports is the same page."""
    out = frame.copy()
    steps = instruments or {}
    symbols = out["symbol"] if "symbol" in out.columns else None
    for name in out.columns:
        if name in PRICE_COLUMNS and pd.api.types.is_float_dtype(out[name]):
            out[name] = _rounded(out[name], symbols, steps, "tick_size", PRICE_DIGITS)
        elif name in SIZE_COLUMNS and pd.api.types.is_float_dtype(out[name]):
            out[name] = _rounded(out[name], symbols, steps, "lot_size", SIZE_DIGITS)
        elif name in MONEY_COLUMNS and pd.api.types.is_float_dtype(out[name]):
            out[name] = out[name].round(MONEY_DECIMALS)
    return out


def to_exported(
    frame: pd.DataFrame, instruments: Mapping[str, Any] | None = None, *, numbers: bool = True
) -> pd.DataFrame:
    """A table as it is exported: its instants as ``datetime64[ms, UTC]`` and, with
    ``numbers``, :func:`rounded` (the journal's tables; the per-bar series and prices are the
    engine's and the data's own numbers)."""
    out = rounded(frame, instruments) if numbers else frame.copy()
    for name in out.columns:
        if name in TIME_COLUMNS and pd.api.types.is_integer_dtype(out[name]):
            out[name] = pd.to_datetime(out[name], unit="ms", utc=True).astype("datetime64[ms, UTC]")
    return out


def to_csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """An exported table with its instants as ISO 8601 text (``...Z``)."""
    out = frame.copy()
    for name in out.columns:
        if isinstance(out[name].dtype, pd.DatetimeTZDtype):
            out[name] = out[name].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return out


NULLABLE_TIMES = ("fill_time", "end")
"""Instants that may be missing (an unfilled order, an episode not over): ``Int64`` in memory."""


def from_exported(frame: pd.DataFrame) -> pd.DataFrame:
    """An exported table back in memory: instants as milliseconds (``int64``, or ``Int64`` for
    :data:`NULLABLE_TIMES` and wherever one is missing)."""
    out = frame.copy()
    for name in out.columns:
        if isinstance(out[name].dtype, pd.DatetimeTZDtype):
            column = out[name].astype("datetime64[ms, UTC]")
            if name in NULLABLE_TIMES or column.isna().any():
                values = [None if pd.isna(v) else v.value // 1_000_000 for v in column]
                out[name] = pd.array(values, dtype="Int64")
            else:
                out[name] = column.astype("int64")
    return out
