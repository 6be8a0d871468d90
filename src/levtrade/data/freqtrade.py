"""FreqTrade's data directory layout, so FreqTrade users can point levtrade at their data.

``datadir`` is FreqTrade's per-exchange directory (``user_data/data/binance``). Spot candles are
``<datadir>/<PAIR>-<tf>.<ext>``; futures files live in ``<datadir>/futures/`` as
``<PAIR>-<tf>-futures.<ext>`` (trade candles), ``<PAIR>-<tf>-mark.<ext>``,
``<PAIR>-<tf>-index.<ext>`` and ``<PAIR>-<tf>-funding_rate.<ext>`` (the rate is in ``open``).
``<PAIR>`` is the CCXT symbol with ``/``, ``:`` and a few other characters replaced by ``_``
(``BTC/USDT:USDT`` -> ``BTC_USDT_USDT``); ``<ext>`` is ``feather`` (FreqTrade's default),
``parquet``, ``json`` or ``json.gz``. Columns: ``date`` (UTC open time), ``open, high, low,
close, volume``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from levtrade.data._types import CandleKind, CoveragePolicy, GapPolicy
from levtrade.data.errors import DataValidationError
from levtrade.data.io import FileFormat, candle_table, read_candles, read_funding, write_table
from levtrade.data.market import CoarseMarkPolicy, MarketData
from levtrade.data.portfolio import AxisPolicy, Portfolio
from levtrade.data.series import Candles, FundingEvents, TimeBound
from levtrade.data.timeframes import format_timeframe, format_ts, parse_timeframe
from levtrade.errors import LevtradeError

__all__ = [
    "DataFormat",
    "FreqtradeFile",
    "TradingMode",
    "describe_freqtrade_file",
    "freqtrade_path",
    "list_freqtrade",
    "load_freqtrade",
    "load_freqtrade_portfolio",
    "pair_to_filename",
    "save_freqtrade",
]

TradingMode = Literal["spot", "futures"]
DataFormat = Literal["feather", "parquet", "json", "jsongz"]

_EXTENSIONS: dict[str, str] = {
    "feather": "feather",
    "parquet": "parquet",
    "json": "json",
    "jsongz": "json.gz",
}
_WRITE_FORMATS: dict[str, FileFormat] = {
    "feather": "feather",
    "parquet": "parquet",
    "json": "json",
    "jsongz": "json",
}
_CANDLE_TYPES = {"trade": "futures", "mark": "mark", "index": "index"}
_NAME = re.compile(
    r"^(?P<pair>.+?)-(?P<tf>\d+[smhdwM])"
    r"(?:-(?P<type>futures|mark|index|premiumIndex|funding_rate))?"
    r"\.(?P<ext>feather|parquet|json|json\.gz)$"
)
_PAIR_CHARS = re.compile(r"[/ .@$+:]")


def pair_to_filename(symbol: str) -> str:
    """FreqTrade's file name for a pair (``BTC/USDT:USDT`` -> ``BTC_USDT_USDT``)."""
    return _PAIR_CHARS.sub("_", symbol)


def symbol_from_pair(pair: str, futures: bool) -> str:
    """The CCXT symbol a file-name pair stands for (``XRP_USDT_USDT`` -> ``XRP/USDT:USDT``)."""
    parts = pair.split("_")
    if futures and len(parts) == 3:
        return f"{parts[0]}/{parts[1]}:{parts[2]}"
    if len(parts) == 2:
        return f"{parts[0]}/{parts[1]}"
    return pair


def freqtrade_path(
    datadir: str | Path,
    symbol: str,
    timeframe: str,
    candle_type: str,
    *,
    trading_mode: TradingMode = "futures",
    data_format: DataFormat = "feather",
) -> Path:
    """Path of one FreqTrade file; ``candle_type`` is trade, mark, index or funding_rate."""
    ext = _EXTENSIONS[data_format]
    pair = pair_to_filename(symbol)
    if trading_mode == "spot":
        if candle_type != "trade":
            raise DataValidationError(f"spot data has no {candle_type} candles")
        return Path(datadir) / f"{pair}-{timeframe}.{ext}"
    suffix = "funding_rate" if candle_type == "funding_rate" else _CANDLE_TYPES[candle_type]
    return Path(datadir) / "futures" / f"{pair}-{timeframe}-{suffix}.{ext}"


@dataclass(frozen=True)
class FreqtradeFile:
    """One recognised file in a FreqTrade data directory."""

    path: Path
    symbol: str
    timeframe: str
    candle_type: str
    data_format: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "path": str(self.path),
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "candle_type": self.candle_type,
            "data_format": self.data_format,
        }


def list_freqtrade(datadir: str | Path) -> list[FreqtradeFile]:
    """Candle and funding files in ``datadir`` and ``datadir/futures`` (trades are skipped)."""
    root = Path(datadir)
    found: list[FreqtradeFile] = []
    for folder, futures in ((root, False), (root / "futures", True)):
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            match = _NAME.match(path.name)
            if match is None or not path.is_file():
                continue
            candle_type = match.group("type") or ("futures" if futures else "spot")
            found.append(
                FreqtradeFile(
                    path=path,
                    symbol=symbol_from_pair(match.group("pair"), futures),
                    timeframe=match.group("tf"),
                    candle_type=candle_type,
                    data_format=match.group("ext").replace("json.gz", "jsongz"),
                )
            )
    return found


_KINDS: dict[str, CandleKind] = {
    "futures": "trade",
    "spot": "trade",
    "mark": "mark",
    "index": "index",
}


def describe_freqtrade_file(file: FreqtradeFile) -> dict[str, Any]:
    """What one file of a FreqTrade data directory holds: ``rows``, ``start`` and ``end`` (UTC)
    and, for candles, ``missing_bars`` (gaps are kept, not refused); a file that does not read
    has ``error`` (one line) instead."""
    out: dict[str, Any] = file.to_dict()
    try:
        if file.candle_type == "funding_rate":
            events = read_funding(file.path)
            stamps = events.timestamps
        else:
            kind = _KINDS.get(file.candle_type, "trade")
            candles = read_candles(file.path, kind=kind, timeframe=file.timeframe, gaps="keep")
            stamps = candles.timestamps
            out["missing_bars"] = candles.gaps.missing_bars
    except (LevtradeError, OSError) as exc:
        out["error"] = " ".join(str(exc).split())
        return out
    out["rows"] = len(stamps)
    out["start"] = format_ts(stamps[0]) if len(stamps) else None
    out["end"] = format_ts(stamps[-1]) if len(stamps) else None
    return out


def _find(
    datadir: Path, symbol: str, timeframe: str | None, candle_type: str, mode: TradingMode
) -> list[FreqtradeFile]:
    """Files for one pair and candle type, any format; all timeframes when none is given."""
    pair = pair_to_filename(symbol)
    wanted = "spot" if mode == "spot" else candle_type
    matches = [
        f
        for f in list_freqtrade(datadir)
        if pair_to_filename(f.symbol) == pair
        and f.candle_type == wanted
        and (timeframe is None or f.timeframe == timeframe)
        and (mode == "spot") == (f.path.parent == datadir)
    ]
    order = list(_EXTENSIONS)
    return sorted(matches, key=lambda f: (parse_timeframe(f.timeframe), order.index(f.data_format)))


def _pick_candles(
    datadir: Path,
    symbol: str,
    trade_tf: int,
    kind: CandleKind,
    wanted: bool | None,
    gaps: GapPolicy,
    coarse_mark: CoarseMarkPolicy = "error",
) -> Candles | None:
    """Mark/index candles at the trade timeframe, else the coarsest finer one that divides it;
    with ``coarse_mark="basis"`` a mark file with none of those falls back to the finest coarser
    timeframe that is a multiple of the trade timeframe (FreqTrade stores 8h mark candles)."""
    if wanted is False:
        return None
    files = _find(datadir, symbol, None, _CANDLE_TYPES[kind], "futures")
    usable = [f for f in files if trade_tf % parse_timeframe(f.timeframe) == 0]
    coarse = [f for f in files if parse_timeframe(f.timeframe) % trade_tf == 0]
    if usable:
        chosen = usable[-1]
    elif kind == "mark" and coarse_mark == "basis" and coarse:
        chosen = coarse[0]
    else:
        if wanted:
            have = ", ".join(f.path.name for f in files) or "none"
            hint = (
                "; pass coarse_mark='basis' to use a coarser one"
                if kind == "mark" and coarse
                else ""
            )
            raise DataValidationError(
                f"no {kind} candles for {symbol} at {format_timeframe(trade_tf)} or a finer "
                f"timeframe that divides it (found: {have}){hint}",
                file=str(datadir / "futures"),
            )
        return None
    return read_candles(chosen.path, kind=kind, timeframe=chosen.timeframe, gaps=gaps)


def load_freqtrade(
    datadir: str | Path,
    symbol: str,
    timeframe: str,
    *,
    trading_mode: TradingMode = "futures",
    mark: bool | None = None,
    index: bool | None = None,
    funding: bool | None = None,
    gaps: GapPolicy = "error",
    coverage: CoveragePolicy = "error",
    coarse_mark: CoarseMarkPolicy = "error",
    start: TimeBound = None,
    end: TimeBound = None,
) -> MarketData:
    """One pair from a FreqTrade data directory.

    ``mark``/``index``/``funding``: ``True`` requires the file, ``False`` skips it, ``None``
    loads it when present. The gap policy applies to every candle series. A mark file coarser
    than the trade candles (FreqTrade downloads 8h mark candles) is used only with
    ``coarse_mark="basis"`` (see :meth:`MarketData.build`).
    """
    root = Path(datadir)
    trade_files = _find(root, symbol, timeframe, "futures", trading_mode)
    if not trade_files:
        expected = freqtrade_path(root, symbol, timeframe, "trade", trading_mode=trading_mode)
        raise DataValidationError(
            f"no FreqTrade {trading_mode} candles for {symbol} {timeframe}",
            file=str(expected),
        )
    trade_file = trade_files[0]
    trade = read_candles(trade_file.path, kind="trade", timeframe=timeframe, gaps=gaps)
    mark_candles = index_candles = None
    events: FundingEvents | None = None
    metadata: dict[str, Any] = {"layout": "freqtrade", "exchange": root.name}
    if trading_mode == "futures":
        mark_candles = _pick_candles(
            root, symbol, trade.timeframe_ms, "mark", mark, gaps, coarse_mark
        )
        if mark_candles is None and mark is not False:
            coarse = [
                f
                for f in _find(root, symbol, None, "mark", "futures")
                if parse_timeframe(f.timeframe) > trade.timeframe_ms
            ]
            if coarse:
                # say what was found and left out: the trade candles stand in for the mark
                metadata["mark_unused"] = coarse[0].timeframe
        index_candles = _pick_candles(root, symbol, trade.timeframe_ms, "index", index, gaps)
        if funding is not False:
            funding_files = _find(root, symbol, None, "funding_rate", "futures")
            if funding_files:
                events = read_funding(funding_files[0].path)
            elif funding:
                raise DataValidationError(
                    f"no funding_rate file for {symbol}", file=str(root / "futures")
                )
    return MarketData.build(
        symbol,
        trade,
        mark=mark_candles,
        index=index_candles,
        funding=events,
        coverage=coverage,
        coarse_mark=coarse_mark,
        start=start,
        end=end,
        metadata=metadata,
    )


def load_freqtrade_portfolio(
    datadir: str | Path,
    symbols: Sequence[str],
    timeframe: str,
    *,
    axis: AxisPolicy = "union",
    **options: Any,
) -> Portfolio:
    """Several pairs on one axis (options as for :func:`load_freqtrade`)."""
    return Portfolio.from_markets(
        [load_freqtrade(datadir, s, timeframe, **options) for s in symbols], axis=axis
    )


def _freqtrade_table(table: pa.Table) -> pa.Table:
    """FreqTrade stores ``date`` as nanosecond UTC datetimes."""
    index = table.column_names.index("date")
    return table.set_column(index, "date", table.column("date").cast(pa.timestamp("ns", "UTC")))


def save_freqtrade(
    market: MarketData,
    datadir: str | Path,
    *,
    trading_mode: TradingMode = "futures",
    data_format: DataFormat = "feather",
    funding_timeframe: str = "1h",
) -> list[Path]:
    """Write ``market`` in FreqTrade's layout.

    ``funding_timeframe`` only names the funding file; current FreqTrade looks for ``1h``
    (older releases used ``8h``).
    """
    root = Path(datadir)
    fmt = _WRITE_FORMATS[data_format]
    written: list[Path] = []
    kinds: tuple[CandleKind, ...] = ("trade", "mark", "index")
    for kind in kinds:
        candles = market.candles(kind)
        if candles is None:
            continue
        if trading_mode == "spot" and kind != "trade":
            continue
        target = freqtrade_path(
            root,
            market.symbol,
            market.timeframe,
            kind,
            trading_mode=trading_mode,
            data_format=data_format,
        )
        table = candle_table(candles, time_name="date", with_volume=True)
        written.append(write_table(_freqtrade_table(table), target, fmt))
    if trading_mode == "futures" and len(market.funding):
        events = market.funding
        zeros = pa.array([0.0] * len(events))
        table = pa.table(
            {
                "date": pa.array(events.timestamps, type=pa.int64()).cast(
                    pa.timestamp("ms", "UTC")
                ),
                "open": pa.array(events.rates),
                "high": zeros,
                "low": zeros,
                "close": zeros,
                "volume": zeros,
            }
        )
        target = freqtrade_path(
            root, market.symbol, funding_timeframe, "funding_rate", data_format=data_format
        )
        written.append(write_table(_freqtrade_table(table), target, fmt))
    return written
