"""Malformed input: every failure mode, in every format, gives an error naming file, column, row
and value, and a conversion leaves no file (not even a temporary one) behind.

The valid base file is ``hourly_frame(6)`` (1h bars from 2024-01-01T00:00Z; open 100+i,
high 101.5+i, low 99+i, close 100.5+i, volume 10+i); each case breaks one rule at a known row.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from data_helpers import HOUR, T0, hourly_frame

from levtrade.data import (
    CoverageError,
    DataValidationError,
    GapError,
    MissingColumnError,
    TimeframeError,
    convert_file,
    load_market,
)

FORMATS = ("parquet", "feather", "csv", "json")
SUFFIX = {"parquet": ".parquet", "feather": ".feather", "csv": ".csv", "json": ".json"}


def write(frame: pd.DataFrame, path: Path, fmt: str) -> Path:
    """Write ``frame`` as ``fmt``; JSON is FreqTrade rows [ms, o, h, l, c, v]."""
    if fmt == "parquet":
        frame.to_parquet(path, index=False)
    elif fmt == "feather":
        frame.reset_index(drop=True).to_feather(path)
    elif fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        rows = []
        for record in frame.itertuples(index=False):
            values = list(record)
            stamp = values[0]
            if isinstance(stamp, pd.Timestamp):
                values[0] = int(stamp.value // 1_000_000)
            elif stamp is None or (isinstance(stamp, float) and np.isnan(stamp)) or stamp is pd.NaT:
                values[0] = None
            rows.append([v.item() if isinstance(v, np.generic) else v for v in values])
        path.write_text(json.dumps(rows))
    return path


def time_name(fmt: str) -> str:
    return "date" if fmt == "json" else "timestamp"


def int_ms(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    epoch = pd.Timestamp(0, tz="UTC")
    out["timestamp"] = ((out["timestamp"] - epoch) // pd.Timedelta(milliseconds=1)).astype("int64")
    return out


@dataclass(frozen=True)
class Case:
    """One way to break the file: ``corrupt`` the frame, then expect ``error`` at column/row."""

    name: str
    corrupt: Callable[[pd.DataFrame], pd.DataFrame]
    error: type[DataValidationError]
    column: str | None
    row: int | None
    value: str | None
    formats: tuple[str, ...] = FORMATS


def _set(column: str, row: int, value: object) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def corrupt(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.copy()
        if isinstance(value, str):
            out[column] = out[column].astype(str)
        out.loc[row, column] = value
        return out

    return corrupt


def _swap_rows(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out.loc[[2, 3]] = out.loc[[3, 2]].to_numpy()
    return out


def _duplicate(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out.loc[4, "timestamp"] = out.loc[3, "timestamp"]
    return out


def _half_hour(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out.loc[3, "timestamp"] = out.loc[3, "timestamp"] + pd.Timedelta(minutes=30)
    return out


def _drop_row_3(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(index=3).reset_index(drop=True)


def _null_time(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["timestamp"] = out["timestamp"].astype(object)
    out.loc[2, "timestamp"] = None
    return out


def _seconds_in_row_2(frame: pd.DataFrame) -> pd.DataFrame:
    out = int_ms(frame)
    out.loc[2, "timestamp"] = (T0 + 2 * HOUR) // 1000
    return out


# Row numbers are 0-based data rows; the time value 2024-01-01T03:00Z is T0 + 3h.
CANDLE_CASES = [
    Case(
        "missing high",
        lambda f: f.drop(columns=["high"]),
        MissingColumnError,
        "high",
        None,
        None,
        ("parquet", "feather", "csv"),
    ),
    Case(
        "missing volume",
        lambda f: f.drop(columns=["volume"]),
        MissingColumnError,
        "volume",
        None,
        None,
        ("parquet", "feather", "csv"),
    ),
    Case(
        "short JSON row",
        lambda f: f.drop(columns=["volume"]),
        DataValidationError,
        None,
        0,
        "[1704067200000",
        ("json",),
    ),
    Case("NaN close", _set("close", 3, np.nan), DataValidationError, "close", 3, "nan"),
    Case("inf high", _set("high", 2, np.inf), DataValidationError, "high", 2, "inf"),
    Case("zero open", _set("open", 1, 0.0), DataValidationError, "open", 1, "0.0"),
    Case("negative low", _set("low", 4, -5.0), DataValidationError, "low", 4, "-5.0"),
    # high 102.0 < close 102.5 in row 2 (open 102, close 102.5)
    Case("high below close", _set("high", 2, 102.0), DataValidationError, "high", 2, "102.0"),
    # low 103.25 > open 103 in row 3 (open 103, close 103.5)
    Case("low above open", _set("low", 3, 103.25), DataValidationError, "low", 3, "103.25"),
    Case("negative volume", _set("volume", 5, -1.0), DataValidationError, "volume", 5, "-1.0"),
    Case("text in close", _set("close", 1, "abc"), DataValidationError, "close", 1, "'abc'"),
    Case("unsorted", _swap_rows, DataValidationError, "<time>", 3, "2024-01-01T02:00:00Z"),
    Case("duplicate time", _duplicate, DataValidationError, "<time>", 4, "2024-01-01T03:00:00Z"),
    Case("mixed timeframe", _half_hour, TimeframeError, "<time>", 3, "2024-01-01T03:30:00Z"),
    Case("gap (policy error)", _drop_row_3, GapError, "<time>", 3, "2024-01-01T04:00:00Z"),
    Case("missing timestamp", _null_time, DataValidationError, "<time>", 2, "null"),
    Case("timestamp unit", _seconds_in_row_2, DataValidationError, "<time>", 2, "1704074400"),
    Case(
        "no rows",
        lambda f: f.iloc[:0],
        DataValidationError,
        None,
        None,
        None,
        ("parquet", "feather", "csv"),
    ),
]


@pytest.mark.parametrize(
    ("case", "fmt"),
    [(c, f) for c in CANDLE_CASES for f in c.formats],
    ids=[f"{c.name}-{f}" for c in CANDLE_CASES for f in c.formats],
)
def test_malformed_candles_fail_clearly_and_write_nothing(
    case: Case, fmt: str, tmp_path: Path
) -> None:
    source = write(case.corrupt(hourly_frame(6)), tmp_path / f"bad{SUFFIX[fmt]}", fmt)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "converted.parquet"
    with pytest.raises(case.error) as caught:
        convert_file(source, target, kind="trade")
    error = caught.value
    assert error.file == str(source)
    column = time_name(fmt) if case.column == "<time>" else case.column
    assert error.column == column
    assert error.row == case.row
    if case.value is not None:
        assert case.value in str(error.value)
    if fmt == "csv" and case.row is not None:
        assert error.line == case.row + 2
    assert str(source) in str(error)
    assert list(out_dir.iterdir()) == []


def test_declared_timeframe_from_file_name_must_match(tmp_path: Path) -> None:
    source = write(hourly_frame(6), tmp_path / "BTCUSDT-4h-perp.parquet", "parquet")
    with pytest.raises(TimeframeError) as caught:
        convert_file(source, tmp_path / "out.parquet")
    assert caught.value.row == 1
    assert "4h" in str(caught.value)
    assert not (tmp_path / "out.parquet").exists()


def test_sparse_file_declared_coarser_than_its_bars(tmp_path: Path) -> None:
    # 4h bars in a file named -1h-: every interval is a multiple of 1h, the smallest is 4h.
    source = write(hourly_frame(5, step=4 * HOUR), tmp_path / "X-1h-perp.csv", "csv")
    with pytest.raises(TimeframeError, match="at least 4h apart"):
        convert_file(source, tmp_path / "out.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X-1h-perp.csv"]


def funding_frame(jitter_ms: tuple[int, ...] = (1, 0, 7, 0)) -> pd.DataFrame:
    """Four 8h funding events from T0 with Binance-like millisecond jitter."""
    stamps = [T0 + i * 8 * HOUR + j for i, j in enumerate(jitter_ms)]
    return pd.DataFrame(
        {
            "funding_time": pd.to_datetime(stamps, unit="ms", utc=True),
            "funding_rate": [0.0001, 0.00005, -0.0002, 0.0001],
        }
    )


FUNDING_CASES = [
    ("NaN rate", _set("funding_rate", 2, np.nan), "funding_rate", 2, "nan"),
    ("rate in percent", _set("funding_rate", 1, 1.5), "funding_rate", 1, "1.5"),
    (
        "5 min off the grid",
        lambda f: funding_frame((0, 300_000, 0, 0)),
        "funding_time",
        1,
        "2024-01-01T08:05:00Z",
    ),
    (
        "two events in one hour",
        lambda f: f.assign(
            funding_time=f["funding_time"].where(
                f.index != 2, f["funding_time"][1] + pd.Timedelta(seconds=20)
            )
        ),
        "funding_time",
        2,
        "2024-01-01T08:00:20Z",
    ),
    ("unsorted", _swap_rows, "funding_time", 3, "2024-01-01T16:00:00.007Z"),
    ("missing rate column", lambda f: f.drop(columns=["funding_rate"]), "funding_rate", None, None),
]


@pytest.mark.parametrize(
    ("name", "corrupt", "column", "row", "value", "fmt"),
    [(*c, f) for c in FUNDING_CASES for f in ("parquet", "feather", "csv")],
    ids=[f"{c[0]}-{f}" for c in FUNDING_CASES for f in ("parquet", "feather", "csv")],
)
def test_malformed_funding_fails_clearly_and_writes_nothing(
    name: str,
    corrupt: Callable[[pd.DataFrame], pd.DataFrame],
    column: str,
    row: int | None,
    value: str | None,
    fmt: str,
    tmp_path: Path,
) -> None:
    source = write(corrupt(funding_frame()), tmp_path / f"BTC-funding{SUFFIX[fmt]}", fmt)
    target = tmp_path / "out" / "funding.parquet"
    with pytest.raises(DataValidationError) as caught:
        convert_file(source, target, kind="funding")
    error = caught.value
    assert error.file == str(source)
    assert error.column == column
    assert error.row == row
    if value is not None:
        assert value in str(error.value)
    assert not target.parent.exists() or list(target.parent.iterdir()) == []


@pytest.mark.parametrize("fmt", ["parquet", "feather", "csv"])
def test_mark_that_does_not_cover_trade_bars(fmt: str, tmp_path: Path) -> None:
    trade = write(hourly_frame(6), tmp_path / f"trade{SUFFIX[fmt]}", fmt)
    # Mark candles for bars 0..4 only: trade bar 5 (2024-01-01T05:00Z) has no mark.
    mark_frame = hourly_frame(5).drop(columns=["volume"])
    mark = write(mark_frame, tmp_path / f"mark{SUFFIX[fmt]}", fmt)
    with pytest.raises(CoverageError) as caught:
        load_market(trade, symbol="BTC/USDT:USDT", mark=mark)
    error = caught.value
    assert error.file == str(mark)
    assert error.column == "timestamp"
    assert "2024-01-01T05:00:00Z" in str(error.value)
    assert "row 5" in str(error)
    trimmed = load_market(trade, symbol="BTC/USDT:USDT", mark=mark, coverage="trim")
    assert len(trimmed) == 5


def test_mark_hole_inside_is_an_error_even_when_trimming(tmp_path: Path) -> None:
    trade = write(hourly_frame(6), tmp_path / "trade.parquet", "parquet")
    mark = write(
        hourly_frame(6).drop(index=2).drop(columns=["volume"]), tmp_path / "mark.parquet", "parquet"
    )
    with pytest.raises(CoverageError, match="row 2"):
        load_market(trade, symbol="BTC/USDT:USDT", mark=mark, coverage="trim", gaps="keep")


def test_coarser_mark_timeframe_is_refused(tmp_path: Path) -> None:
    trade = write(hourly_frame(16), tmp_path / "trade.parquet", "parquet")
    mark = write(
        hourly_frame(2, step=8 * HOUR).drop(columns=["volume"]),
        tmp_path / "mark-8h.parquet",
        "parquet",
    )
    with pytest.raises(TimeframeError, match="mark candles are 8h, trade candles 1h"):
        load_market(trade, symbol="X/USDT:USDT", mark=mark)


def test_unreadable_and_missing_files(tmp_path: Path) -> None:
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DataValidationError, match="cannot read as parquet") as caught:
        convert_file(broken, tmp_path / "out.parquet")
    assert caught.value.file == str(broken)
    with pytest.raises(DataValidationError, match="file not found"):
        convert_file(tmp_path / "absent.csv", tmp_path / "out.parquet")
    with pytest.raises(DataValidationError, match="unknown file type"):
        convert_file(broken, tmp_path / "out.xlsx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.parquet"]


def test_failed_write_leaves_previous_file_untouched(tmp_path: Path) -> None:
    good = write(hourly_frame(6), tmp_path / "good.csv", "csv")
    target = tmp_path / "target.parquet"
    convert_file(good, target)
    before = target.read_bytes()
    bad = write(_set("close", 3, np.nan)(hourly_frame(6)), tmp_path / "bad.csv", "csv")
    with pytest.raises(DataValidationError):
        convert_file(bad, target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "good.csv", "target.parquet"]
