"""levtrade's own data store: one directory per exchange and symbol, Parquet (zstd) files.

Layout::

    <root>/<exchange>/<SYMBOL>/<timeframe>-trade.parquet   timestamp, open, high, low, close, volume
    <root>/<exchange>/<SYMBOL>/<timeframe>-mark.parquet    timestamp, open, high, low, close
    <root>/<exchange>/<SYMBOL>/<timeframe>-index.parquet   timestamp, open, high, low, close
    <root>/<exchange>/<SYMBOL>/funding.parquet             timestamp, funding_rate

``<SYMBOL>`` is the CCXT symbol with ``/`` and ``:`` replaced by ``_`` (``BTC_USDT_USDT``);
the exact symbol, exchange, kind, timeframe and provenance (``source``, ``synthetic``) are in
each file's schema metadata under the key ``levtrade``. ``timestamp`` is
``timestamp[ms, UTC]``, the candle open time; funding times are snapped to the hour.

Files are complete, validated series: every write merges and re-validates. A symbol's
directory is one dataset, written as a unit (:mod:`levtrade.data.commit`): a save's files carry
its token, ``manifest.json`` lists each file's, a load refuses a directory whose files are not
the ones its manifest lists, and whoever opens the directory next finishes or discards a save a
killed process left half done. Exchange and symbol names that would leave the store root are
refused; files get the permissions the umask gives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from levtrade.data import commit
from levtrade.data._types import CandleKind, CoveragePolicy, GapPolicy, IntArray
from levtrade.data.errors import DataValidationError
from levtrade.data.io import (
    candle_table,
    file_metadata,
    funding_table,
    read_candles,
    read_funding,
    write_table,
)
from levtrade.data.market import MarketData
from levtrade.data.portfolio import AxisPolicy, Portfolio
from levtrade.data.series import (
    Candles,
    FundingEvents,
    TimeBound,
    last_wins,
    make_candles,
    make_funding,
)
from levtrade.data.timeframes import format_timeframe, format_ts, parse_timeframe
from levtrade.data.validate import Origin

__all__ = ["DatasetInfo", "Store", "symbol_to_dirname"]


def symbol_to_dirname(symbol: str) -> str:
    """Directory name for a CCXT symbol: ``BTC/USDT:USDT`` -> ``BTC_USDT_USDT``."""
    name = symbol.replace("/", "_").replace(":", "_") if isinstance(symbol, str) else ""
    _check_name(name, "symbol", symbol)
    return name


def _check_name(name: str, field: str, given: object) -> None:
    """A store directory name: one path component, not hidden (the store's own files are)."""
    if (
        not name
        or name.startswith(".")
        or any(ch in name for ch in ("/", "\\", "\0"))
        or name != name.strip()
    ):
        raise DataValidationError(
            f"{field}: {given!r} cannot name a store directory (it must be one plain path "
            "component, not starting with '.')"
        )


@dataclass(frozen=True)
class DatasetInfo:
    """One stored file: what it holds and its time range."""

    exchange: str
    symbol: str
    kind: str
    timeframe: str | None
    rows: int
    start: int | None
    end: int | None
    path: Path
    synthetic: bool
    error: str | None = None
    """Why the file cannot be read (None when it can)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "exchange": self.exchange,
            "symbol": self.symbol,
            "kind": self.kind,
            "timeframe": self.timeframe,
            "rows": self.rows,
            "start": None if self.start is None else format_ts(self.start),
            "end": None if self.end is None else format_ts(self.end),
            "path": str(self.path),
            "synthetic": self.synthetic,
            "error": self.error,
        }


def _merge_order(old: IntArray, new: IntArray) -> tuple[IntArray, IntArray]:
    """Positions into ``concat(old, new)`` sorted by time, the new row winning a tie."""
    stamps = np.concatenate([old, new])
    keep = last_wins(stamps)
    return keep, stamps[keep]


class Store:
    """A store root directory (see the module docstring for the layout)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def folder(self, exchange: str, symbol: str) -> Path:
        """The directory of one symbol's dataset."""
        if not isinstance(exchange, str):
            raise DataValidationError(f"exchange: expected a name, got {exchange!r}")
        _check_name(exchange, "exchange", exchange)
        return self.root / exchange / symbol_to_dirname(symbol)

    def path(
        self, exchange: str, symbol: str, kind: str, timeframe: str | int | None = None
    ) -> Path:
        """Where a series lives; candles need a timeframe, funding has none."""
        folder = self.folder(exchange, symbol)
        if kind == "funding":
            return folder / "funding.parquet"
        if kind not in ("trade", "mark", "index"):
            raise DataValidationError(f"unknown kind {kind!r}; use trade, mark, index, funding")
        if timeframe is None:
            raise DataValidationError(f"{kind} candles need a timeframe")
        return folder / f"{format_timeframe(parse_timeframe(timeframe))}-{kind}.parquet"

    def _candles_table(self, candles: Candles, exchange: str, symbol: str) -> _Staged:
        name = self.path(exchange, symbol, candles.kind, candles.timeframe_ms).name
        meta = {"exchange": exchange, "symbol": symbol}
        return name, lambda token: candle_table(candles, metadata={**meta, "save": token})

    def _funding_table(
        self, events: FundingEvents, exchange: str, symbol: str, **extra: Any
    ) -> _Staged:
        meta = {**extra, "exchange": exchange, "symbol": symbol}
        return "funding.parquet", lambda token: funding_table(
            events, metadata={**meta, "save": token}
        )

    def write_candles(self, candles: Candles, exchange: str, symbol: str) -> Path:
        """Replace a stored candle series."""
        with self._open(exchange, symbol) as folder:
            return _commit(folder, [self._candles_table(candles, exchange, symbol)])[0]

    def write_funding(
        self, events: FundingEvents, exchange: str, symbol: str, **metadata: Any
    ) -> Path:
        """Replace stored funding events."""
        with self._open(exchange, symbol) as folder:
            staged = self._funding_table(events, exchange, symbol, **metadata)
            return _commit(folder, [staged])[0]

    def save(self, market: MarketData, exchange: str) -> list[Path]:
        """Write every series of ``market`` (trade, mark, index, funding) as one unit: after a
        kill at any instant the next reader finds all of them from this save or none."""
        kinds: tuple[CandleKind, ...] = ("trade", "mark", "index")
        symbol = market.symbol
        with self._open(exchange, symbol) as folder:
            staged = [
                self._candles_table(candles, exchange, symbol)
                for kind in kinds
                if (candles := market.candles(kind)) is not None
            ]
            if len(market.funding):
                staged.append(
                    self._funding_table(
                        market.funding,
                        exchange,
                        symbol,
                        synthetic=market.synthetic,
                        source=str(market.metadata.get("source", "")),
                    )
                )
            return _commit(folder, staged)

    @contextmanager
    def _open(self, exchange: str, symbol: str) -> Iterator[Path]:
        """The dataset's directory, locked, with an interrupted save finished or discarded."""
        folder = self.folder(exchange, symbol)
        with commit.locked(folder):
            if commit.needs_recovery(folder):
                commit.recover(folder)
            yield folder

    def merge_candles(self, candles: Candles, exchange: str, symbol: str) -> Candles:
        """Add rows to a stored series: union by timestamp (new rows win), re-validated, gaps
        kept, written atomically. Returns the stored series."""
        target = self.path(exchange, symbol, candles.kind, candles.timeframe_ms)
        with self._open(exchange, symbol) as folder:
            merged = self._merged_candles(candles, target)
            _commit(folder, [self._candles_table(merged, exchange, symbol)])
        return merged

    def _merged_candles(self, candles: Candles, target: Path) -> Candles:
        if target.exists():
            old = read_candles(
                target, kind=candles.kind, timeframe=candles.timeframe_ms, gaps="keep"
            )
            keep, stamps = _merge_order(old.timestamps, candles.timestamps)

            def pick(a: Any, b: Any) -> Any:
                return np.concatenate([a, b])[keep]

            merged = make_candles(
                stamps,
                pick(old.open, candles.open),
                pick(old.high, candles.high),
                pick(old.low, candles.low),
                pick(old.close, candles.close),
                None
                if candles.volume is None or old.volume is None
                else pick(old.volume, candles.volume),
                kind=candles.kind,
                origin=Origin(f"{target} (merged)"),
                timeframe=candles.timeframe_ms,
                gaps="keep",
                metadata={**old.metadata, **candles.metadata},
                strict_timeframe=False,
            )
        else:
            merged = candles
        return merged

    def merge_funding(
        self, events: FundingEvents, exchange: str, symbol: str, **metadata: Any
    ) -> FundingEvents:
        """Add funding events: union by (snapped) time, new events win, written atomically."""
        target = self.path(exchange, symbol, "funding")
        with self._open(exchange, symbol) as folder:
            merged = events
            if target.exists():
                old = read_funding(target)
                keep, stamps = _merge_order(old.timestamps, events.timestamps)
                merged = make_funding(
                    stamps,
                    np.concatenate([old.rates, events.rates])[keep],
                    origin=Origin(f"{target} (merged)"),
                )
            _commit(folder, [self._funding_table(merged, exchange, symbol, **metadata)])
        return merged

    def load(
        self,
        exchange: str,
        symbol: str,
        timeframe: str | int,
        *,
        mark: bool | None = None,
        index: bool | None = None,
        funding: bool | None = None,
        gaps: GapPolicy = "error",
        coverage: CoveragePolicy = "error",
        start: TimeBound = None,
        end: TimeBound = None,
    ) -> MarketData:
        """One symbol from the store. ``mark``/``index``/``funding``: ``True`` requires the
        series, ``False`` skips it, ``None`` (default) loads it when stored. Refuses a dataset
        whose files are not the ones its manifest lists (files of different saves)."""
        trade_path = self.path(exchange, symbol, "trade", timeframe)
        if not trade_path.parent.is_dir():
            raise self._no_trade(exchange, symbol, timeframe, trade_path)
        with self._reading(trade_path.parent) as listed:
            return self._load(
                exchange,
                symbol,
                timeframe,
                listed,
                mark,
                index,
                funding,
                gaps,
                coverage,
                start,
                end,
            )

    def _no_trade(
        self, exchange: str, symbol: str, timeframe: str | int, path: Path
    ) -> DataValidationError:
        return DataValidationError(
            f"no {format_timeframe(parse_timeframe(timeframe))} trade candles stored for "
            f"{symbol} on {exchange}",
            file=str(path),
        )

    @contextmanager
    def _reading(self, folder: Path) -> Iterator[dict[str, str]]:
        """A dataset's directory, locked where the store is writable, with an interrupted save
        finished; yields its manifest."""
        try:
            lock = commit.locked(folder)
            lock.__enter__()
        except OSError:  # a read-only store: read without the lock
            if commit.needs_recovery(folder):
                raise DataValidationError(
                    "store: the directory holds an interrupted save; open it once with write "
                    "access to finish it",
                    file=str(folder),
                ) from None
            yield commit.manifest(folder)
            return
        try:
            if commit.needs_recovery(folder):
                commit.recover(folder)
            yield commit.manifest(folder)
        finally:
            lock.__exit__(None, None, None)

    def _load(
        self,
        exchange: str,
        symbol: str,
        timeframe: str | int,
        listed: dict[str, str],
        mark: bool | None,
        index: bool | None,
        funding: bool | None,
        gaps: GapPolicy,
        coverage: CoveragePolicy,
        start: TimeBound,
        end: TimeBound,
    ) -> MarketData:
        trade_path = self.path(exchange, symbol, "trade", timeframe)
        if not trade_path.exists():
            raise self._no_trade(exchange, symbol, timeframe, trade_path)
        trade = read_candles(trade_path, kind="trade", timeframe=timeframe, gaps=gaps)
        _check_listed(trade_path, listed)
        series: dict[str, Candles | None] = {}
        kinds: tuple[tuple[CandleKind, bool | None], ...] = (("mark", mark), ("index", index))
        for kind, wanted in kinds:
            series[kind] = None
            if wanted is False:
                continue
            path = self.path(exchange, symbol, kind, timeframe)
            if path.exists():
                series[kind] = read_candles(path, kind=kind, timeframe=timeframe, gaps=gaps)
                _check_listed(path, listed)
            elif wanted:
                raise DataValidationError(f"no {kind} candles stored", file=str(path))
        events = None
        funding_path = self.path(exchange, symbol, "funding")
        if funding is not False:
            if funding_path.exists():
                events = read_funding(funding_path)
                _check_listed(funding_path, listed)
            elif funding:
                raise DataValidationError("no funding events stored", file=str(funding_path))
        return MarketData.build(
            symbol,
            trade,
            mark=series["mark"],
            index=series["index"],
            funding=events,
            coverage=coverage,
            start=start,
            end=end,
            metadata={"exchange": exchange},
        )

    def load_portfolio(
        self,
        exchange: str,
        symbols: Sequence[str],
        timeframe: str | int,
        *,
        axis: AxisPolicy = "union",
        **options: Any,
    ) -> Portfolio:
        """Several symbols on one axis (options as for :meth:`load`)."""
        return Portfolio.from_markets(
            [self.load(exchange, s, timeframe, **options) for s in symbols], axis=axis
        )

    def datasets(self) -> list[DatasetInfo]:
        """Every stored file, sorted by exchange, symbol, kind and timeframe; a file that cannot
        be read is listed with its ``error`` (an interrupted save is finished first)."""
        found: list[DatasetInfo] = []
        if not self.root.is_dir():
            return found
        for folder in sorted(p for p in self.root.glob("*/*") if p.is_dir()):
            if commit.needs_recovery(folder):
                try:
                    with commit.locked(folder):
                        commit.recover(folder)
                except OSError:  # a read-only store: list what is there
                    pass
            for path in sorted(folder.glob("*.parquet")):
                info = _dataset_info(path)
                if info is not None:
                    found.append(info)
        return found


def _dataset_info(path: Path) -> DatasetInfo | None:
    """What a stored file holds; None for a readable file levtrade did not write."""
    exchange, folder = path.parent.parent.name, path.parent.name
    try:
        pq.read_metadata(path)
        meta = file_metadata(path)
        if "symbol" not in meta or "kind" not in meta:
            return None
        column = pq.read_table(path, columns=["timestamp"]).column("timestamp")
    except (OSError, pa.ArrowException, KeyError) as exc:
        stem = path.name.removesuffix(".parquet")
        timeframe, _, kind = stem.rpartition("-")
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return DatasetInfo(
            exchange=exchange,
            symbol=folder,
            kind=kind or stem,
            timeframe=timeframe or None,
            rows=0,
            start=None,
            end=None,
            path=path,
            synthetic=False,
            error=f"cannot read as parquet: {detail}",
        )
    stamps = np.asarray(column.cast(pa.int64()).to_numpy(), dtype=np.int64)
    return DatasetInfo(
        exchange=str(meta.get("exchange", exchange)),
        symbol=str(meta["symbol"]),
        kind=str(meta["kind"]),
        timeframe=None if meta["kind"] == "funding" else str(meta.get("timeframe")),
        rows=int(stamps.size),
        start=int(stamps[0]) if stamps.size else None,
        end=int(stamps[-1]) if stamps.size else None,
        path=path,
        synthetic=bool(meta.get("synthetic", False)),
    )


def _check_listed(path: Path, listed: dict[str, str]) -> None:
    """Refuse a file that is not the one the dataset's manifest lists (another save's)."""
    expected = listed.get(path.name)
    if expected is None:
        return
    found = file_metadata(path).get("save")
    if found != expected:
        raise DataValidationError(
            f"store: this file is from save {found!r}, its dataset's manifest lists save "
            f"{expected!r}: the symbol's files come from different saves; save it again",
            file=str(path),
        )


_Staged = tuple[str, Callable[[str], pa.Table]]
"""A file of a save: its name, and its table given the save's token."""


def _commit(folder: Path, staged: list[_Staged]) -> list[Path]:
    """Write the files as one save (:func:`levtrade.data.commit.commit`)."""
    token = commit.new_token()
    writers = {name: _parquet_writer(table_for(token)) for name, table_for in staged}
    return commit.commit(folder, writers, token)


def _parquet_writer(table: pa.Table) -> Callable[[Path], Any]:
    return lambda target: write_table(table, target, "parquet")
