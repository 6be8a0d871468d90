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
Files are complete, validated series: every write merges, re-validates and renames atomically.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from levtrade.data._types import CandleKind, CoveragePolicy, GapPolicy, IntArray
from levtrade.data.errors import DataValidationError
from levtrade.data.io import file_metadata, read_candles, read_funding, write_candles, write_funding
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
    if not symbol or any(ch in symbol for ch in ("\\", "\0")) or symbol in (".", ".."):
        raise DataValidationError(f"invalid symbol {symbol!r}")
    return symbol.replace("/", "_").replace(":", "_")


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

    def path(
        self, exchange: str, symbol: str, kind: str, timeframe: str | int | None = None
    ) -> Path:
        """Where a series lives; candles need a timeframe, funding has none."""
        folder = self.root / exchange / symbol_to_dirname(symbol)
        if kind == "funding":
            return folder / "funding.parquet"
        if kind not in ("trade", "mark", "index"):
            raise DataValidationError(f"unknown kind {kind!r}; use trade, mark, index, funding")
        if timeframe is None:
            raise DataValidationError(f"{kind} candles need a timeframe")
        return folder / f"{format_timeframe(parse_timeframe(timeframe))}-{kind}.parquet"

    def _meta(self, exchange: str, symbol: str, extra: dict[str, Any]) -> dict[str, Any]:
        return {**extra, "exchange": exchange, "symbol": symbol}

    def write_candles(self, candles: Candles, exchange: str, symbol: str) -> Path:
        """Replace a stored candle series."""
        target = self.path(exchange, symbol, candles.kind, candles.timeframe_ms)
        return write_candles(candles, target, metadata=self._meta(exchange, symbol, {}))

    def write_funding(
        self, events: FundingEvents, exchange: str, symbol: str, **metadata: Any
    ) -> Path:
        """Replace stored funding events."""
        target = self.path(exchange, symbol, "funding")
        return write_funding(events, target, metadata=self._meta(exchange, symbol, metadata))

    def save(self, market: MarketData, exchange: str) -> list[Path]:
        """Write every series of ``market`` (trade, mark, index, funding)."""
        written: list[Path] = []
        kinds: tuple[CandleKind, ...] = ("trade", "mark", "index")
        for kind in kinds:
            candles = market.candles(kind)
            if candles is not None:
                written.append(self.write_candles(candles, exchange, market.symbol))
        if len(market.funding):
            written.append(
                self.write_funding(
                    market.funding,
                    exchange,
                    market.symbol,
                    synthetic=market.synthetic,
                    source=str(market.metadata.get("source", "")),
                )
            )
        return written

    def merge_candles(self, candles: Candles, exchange: str, symbol: str) -> Candles:
        """Add rows to a stored series: union by timestamp (new rows win), re-validated, gaps
        kept, written atomically. Returns the stored series."""
        target = self.path(exchange, symbol, candles.kind, candles.timeframe_ms)
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
        self.write_candles(merged, exchange, symbol)
        return merged

    def merge_funding(
        self, events: FundingEvents, exchange: str, symbol: str, **metadata: Any
    ) -> FundingEvents:
        """Add funding events: union by (snapped) time, new events win, written atomically."""
        target = self.path(exchange, symbol, "funding")
        if target.exists():
            old = read_funding(target)
            keep, stamps = _merge_order(old.timestamps, events.timestamps)
            merged = make_funding(
                stamps,
                np.concatenate([old.rates, events.rates])[keep],
                origin=Origin(f"{target} (merged)"),
            )
        else:
            merged = events
        self.write_funding(merged, exchange, symbol, **metadata)
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
        series, ``False`` skips it, ``None`` (default) loads it when stored."""
        trade_path = self.path(exchange, symbol, "trade", timeframe)
        if not trade_path.exists():
            raise DataValidationError(
                f"no {format_timeframe(parse_timeframe(timeframe))} trade candles stored for "
                f"{symbol} on {exchange}",
                file=str(trade_path),
            )
        trade = read_candles(trade_path, kind="trade", timeframe=timeframe, gaps=gaps)
        series: dict[str, Candles | None] = {}
        kinds: tuple[tuple[CandleKind, bool | None], ...] = (("mark", mark), ("index", index))
        for kind, wanted in kinds:
            series[kind] = None
            if wanted is False:
                continue
            path = self.path(exchange, symbol, kind, timeframe)
            if path.exists():
                series[kind] = read_candles(path, kind=kind, timeframe=timeframe, gaps=gaps)
            elif wanted:
                raise DataValidationError(f"no {kind} candles stored", file=str(path))
        events = None
        funding_path = self.path(exchange, symbol, "funding")
        if funding is not False:
            if funding_path.exists():
                events = read_funding(funding_path)
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
        """Every stored file, sorted by exchange, symbol, kind and timeframe."""
        found: list[DatasetInfo] = []
        if not self.root.is_dir():
            return found
        for path in sorted(self.root.glob("*/*/*.parquet")):
            meta = file_metadata(path)
            if "symbol" not in meta or "kind" not in meta:
                continue
            try:
                column = pq.read_table(path, columns=["timestamp"]).column("timestamp")
            except (OSError, pa.ArrowException, KeyError):
                continue
            stamps = np.asarray(column.cast(pa.int64()).to_numpy(), dtype=np.int64)
            found.append(
                DatasetInfo(
                    exchange=str(meta.get("exchange", path.parent.parent.name)),
                    symbol=str(meta["symbol"]),
                    kind=str(meta["kind"]),
                    timeframe=None if meta["kind"] == "funding" else str(meta.get("timeframe")),
                    rows=int(stamps.size),
                    start=int(stamps[0]) if stamps.size else None,
                    end=int(stamps[-1]) if stamps.size else None,
                    path=path,
                    synthetic=bool(meta.get("synthetic", False)),
                )
            )
        return found
