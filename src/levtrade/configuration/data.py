"""Loading a run's market data as the configuration says: FreqTrade data directories, the
levtrade store, per-symbol files by template, or the synthetic demo; cut to the timerange (with
the strategy's startup candles before it), funding checked per pair, finer candles for
``timeframe_detail``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from levtrade.configuration.config import RunConfig
from levtrade.configuration.timerange import Timerange
from levtrade.data import (
    DEMO_SYMBOLS,
    MarketData,
    Portfolio,
    Store,
    demo_portfolio,
    format_ts,
    load_freqtrade,
    load_market,
    pair_to_filename,
    parse_timeframe,
)
from levtrade.data.errors import DataValidationError
from levtrade.data.samples import SAMPLE_LABEL, sample_dir
from levtrade.errors import ConfigError, DataError
from levtrade.model.instrument import Instrument

FILE_TEMPLATES = {
    "candles": "{symbol}-{timeframe}-perp.parquet",
    "mark": "{symbol}-{timeframe}-mark.parquet",
    "index": None,
    "funding": "{symbol}-funding_rate.parquet",
}
"""Default file names of ``data_format = "files"``: the layout of Binance perpetuals exported
per symbol (``BTCUSDT-1h-perp.parquet``, ``BTCUSDT-1h-mark.parquet``,
``BTCUSDT-funding_rate.parquet``)."""
SPOT_FILE_TEMPLATES: dict[str, str | None] = {
    "candles": "{symbol}-{timeframe}-spot.parquet",
    "mark": None,
    "index": None,
    "funding": None,
}
"""The same for spot and margin runs: spot candles only (``BTCUSDT-1h-spot.parquet``)."""


class MissingData(DataError):
    """A pair's candle file is not there (``file`` names where it was looked for)."""

    def __init__(self, message: str, file: str) -> None:
        super().__init__(message)
        self.file = file


@dataclass
class LoadedData:
    """The run's market data plus what the report says about where it came from."""

    data: Portfolio
    source: str
    synthetic: bool
    mark: dict[str, bool]
    funding: dict[str, str]
    """Per pair: ``"data"`` or ``"constant"``."""
    notes: list[str] = field(default_factory=list)
    fine: dict[str, MarketData] | None = None
    warmup_bars: int = 0

    @property
    def pairs(self) -> tuple[str, ...]:
        """The pairs that had data (in the run's order)."""
        return tuple(self.data.symbols)


def _fields(pair: str, timeframe: str) -> dict[str, str]:
    instrument = Instrument.parse(pair)
    return {
        "pair": pair_to_filename(pair),
        "symbol": f"{instrument.base}{instrument.quote}",
        "base": instrument.base,
        "quote": instrument.quote,
        "settle": instrument.settle or instrument.quote,
        "timeframe": timeframe,
    }


def _data_dir(config: RunConfig, required: bool) -> Path | None:
    datadir = config.resolved_datadir()
    if datadir is None:
        if required:
            raise ConfigError(
                f"datadir: not set; data_format {config.resolved_format()!r} reads from a directory"
            )
        return None
    folder = config.path(datadir)
    if not folder.is_dir():
        default = "" if config.datadir is not None else " (FreqTrade's default; set datadir)"
        raise DataError(f"datadir: directory not found: {folder}{default}")
    return folder


class _Loader:
    """Reads one pair at one timeframe in the configured layout."""

    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self.format = config.resolved_format()
        self.folder = _data_dir(config, self.format in ("freqtrade", "store"))

    def describe(self) -> str:
        if self.format == "demo":
            return "levtrade.data.demo (synthetic)"
        if self.folder is not None and self.folder.resolve() == sample_dir().resolve():
            return SAMPLE_LABEL
        return f"{self.format}: {self.folder if self.folder is not None else self.config.base_dir}"

    def funding_hint(self, pair: str, timeframe: str) -> str:
        """Where the pair's funding data was looked for."""
        if self.format == "freqtrade":
            assert self.folder is not None
            name = pair_to_filename(pair)
            return f"no {self.folder / 'futures'}/{name}-<timeframe>-funding_rate.* file"
        if self.format == "store":
            return "no funding.parquet in the store"
        path, _ = self._file("funding", pair, timeframe)
        return "no funding template set" if path is None else f"no file {path}"

    def load(self, pair: str, timeframe: str) -> tuple[MarketData, bool]:
        """The pair's market data and whether its funding file was found."""
        if self.format == "freqtrade":
            return self._freqtrade(pair, timeframe)
        if self.format == "store":
            return self._store(pair, timeframe)
        if self.format == "files":
            return self._files(pair, timeframe)
        raise ConfigError("data_format: demo data is generated, not loaded")

    def _freqtrade(self, pair: str, timeframe: str) -> tuple[MarketData, bool]:
        assert self.folder is not None
        try:
            market = load_freqtrade(
                self.folder,
                pair,
                timeframe,
                trading_mode="futures" if self.config.trading_mode == "futures" else "spot",
                gaps=self.config.gaps,
                coverage=self.config.coverage,
                coarse_mark=self.config.coarse_mark,
            )
        except DataValidationError as exc:
            if exc.reason.startswith("no FreqTrade"):
                raise MissingData(
                    f"data: missing data file {exc.file} (candles of {pair}; .feather, "
                    ".parquet, .json or .json.gz)",
                    str(exc.file),
                ) from None
            raise
        return market, len(market.funding) > 0

    def _store(self, pair: str, timeframe: str) -> tuple[MarketData, bool]:
        assert self.folder is not None
        exchange = self.config.store_exchange
        if exchange is None:
            found = sorted(p.name for p in self.folder.iterdir() if p.is_dir())
            if len(found) != 1:
                raise ConfigError(
                    f"store_exchange: the store {self.folder} holds "
                    f"{', '.join(found) or 'no exchanges'}; name one with store_exchange"
                )
            exchange = found[0]
        market = Store(self.folder).load(
            exchange, pair, timeframe, gaps=self.config.gaps, coverage=self.config.coverage
        )
        return market, len(market.funding) > 0

    def _template(self, key: str) -> tuple[str | None, bool]:
        value = getattr(self.config, key)
        if value is not None:
            return value, True
        defaults = FILE_TEMPLATES if self.config.trading_mode == "futures" else SPOT_FILE_TEMPLATES
        return defaults[key], False

    def _file(self, key: str, pair: str, timeframe: str) -> tuple[Path | None, bool]:
        template, explicit = self._template(key)
        if template is None:
            return None, False
        name = template.format(**_fields(pair, timeframe))
        path = Path(name).expanduser()
        if not path.is_absolute():
            path = (self.folder or self.config.base_dir) / path
        return path, explicit

    def _files(self, pair: str, timeframe: str) -> tuple[MarketData, bool]:
        candles, _ = self._file("candles", pair, timeframe)
        assert candles is not None
        if not candles.is_file():
            raise MissingData(
                f"data: missing data file {candles} (candles of {pair})", str(candles)
            )
        paths: dict[str, Path | None] = {}
        for key in ("mark", "index"):
            path, explicit = self._file(key, pair, timeframe)
            if path is not None and not path.is_file():
                if explicit:
                    raise DataError(f"data: missing data file {path} ({key} of {pair})")
                path = None
            paths[key] = path
        funding, _ = self._file("funding", pair, timeframe)
        if funding is not None and not funding.is_file():
            funding = None
        market = load_market(
            candles,
            symbol=pair,
            mark=paths["mark"],
            index=paths["index"],
            funding=funding,
            timeframe=timeframe,
            gaps=self.config.gaps,
            coverage=self.config.coverage,
            coarse_mark=self.config.coarse_mark,
            metadata={"source": str(candles)},
        )
        return market, funding is not None and len(market.funding) > 0


def _mark_note(market: MarketData) -> str:
    """What the run uses as the pair's mark price, in every case."""
    meta = market.metadata
    name, timeframe = market.symbol, market.timeframe
    if market.mark is None:
        unused = meta.get("mark_unused")
        if unused:
            return (
                f"{name}: the {unused} mark candles are coarser than the {timeframe} trade "
                'candles and not used (coarse_mark = "error"); the trade candles stand in for '
                "the mark"
            )
        return f"{name}: no mark-price candles; the trade candles stand in for the mark"
    rule = meta.get("mark_rule")
    if rule == "basis":
        return (
            f"{name}: the mark is the {timeframe} trade candles scaled by the basis of the "
            f'{meta["mark_timeframe"]} mark candles at each mark open (coarse_mark = "basis"; '
            '"error" uses the trade candles alone)'
        )
    if rule == "resampled":
        return (
            f"{name}: the mark is the {meta['mark_timeframe']} mark-price candles aggregated "
            f"to {timeframe}"
        )
    return f"{name}: the mark is the {timeframe} mark-price candles"


def _span(market: MarketData) -> str:
    return f"{format_ts(market.timestamps[0])} to {format_ts(market.timestamps[-1])}"


def load_run_data(
    config: RunConfig,
    pairs: Sequence[str],
    timeframe: str,
    timerange: Timerange | None,
    *,
    warmup_bars: int = 0,
) -> LoadedData:
    """Every pair at ``timeframe``, cut to the timerange (plus ``warmup_bars`` before it), on
    one axis; with ``timeframe_detail`` also the finer candles for the intrabar path."""
    if not pairs:
        raise ConfigError('pairs: no pairs to backtest; set pairs = ["BTC/USDT:USDT", ...]')
    tf_ms = parse_timeframe(timeframe)
    start = end = None
    if timerange is not None:
        start = None if timerange.start is None else timerange.start - warmup_bars * tf_ms
        end = timerange.end_exclusive
    fmt = config.resolved_format()
    notes: list[str] = []
    funding_source: dict[str, str] = {}
    loader: _Loader | None = None
    markets: list[MarketData] = []
    if fmt == "demo":
        unknown = [p for p in pairs if p not in DEMO_SYMBOLS]
        if unknown:
            raise ConfigError(
                f"pairs: {', '.join(unknown)} not in the demo data (it has "
                f"{', '.join(DEMO_SYMBOLS)})"
            )
        if tf_ms % 3_600_000 or (8 * 3_600_000) % tf_ms:
            raise ConfigError(
                f"timeframe: the demo data comes in 1h, 2h, 4h or 8h bars, got {timeframe!r}"
            )
        bars = 8784 * 3_600_000 // tf_ms
        full = demo_portfolio(tuple(pairs), timeframe=timeframe, bars=bars)
        found = {p: True for p in pairs}
        source = "levtrade.data.demo (synthetic)"
        markets = list(full.markets)
    else:
        loader = _Loader(config)
        source = loader.describe()
        found = {}
        missing: list[str] = []
        for pair in pairs:
            try:
                market, has_funding = loader.load(pair, timeframe)
            except MissingData as exc:
                # FreqTrade's rule: a whitelisted pair without data is skipped with a warning
                notes.append(f"{pair}: skipped, no {timeframe} candles ({exc.file})")
                missing.append(str(exc))
                continue
            markets.append(market)
            found[pair] = has_funding
        if not markets:
            raise DataError("; ".join(missing))
    cut: list[MarketData] = []
    for market in markets:
        pair = market.symbol
        window = market.between(start, end) if (start is not None or end is not None) else market
        traded = window if timerange is None else window.between(timerange.start, end)
        if len(traded) == 0:
            assert timerange is not None
            raise DataError(
                f"timerange: {timerange.text} has no {timeframe} data for {pair} (its data runs "
                f"{_span(market)})"
            )
        has_funding = found[pair] and len(window.funding) > 0
        if config.trading_mode != "futures":
            funding_source[pair] = "none"
        elif not has_funding:
            if config.funding_rate is None:
                if not found[pair]:
                    hint = "none found" if loader is None else loader.funding_hint(pair, timeframe)
                    why = f"no funding data ({hint})"
                else:
                    events = market.funding.timestamps
                    why = (
                        f"no funding event between {_span(window)} (its funding data runs "
                        f"{format_ts(events[0])} to {format_ts(events[-1])})"
                    )
                raise DataError(
                    f"funding: {pair} has {why}; add its funding data, or set "
                    "futures_funding_rate to settle a constant rate"
                )
            funding_source[pair] = "constant"
        else:
            funding_source[pair] = "data"
        cut.append(window)
    for pair, kind in funding_source.items():
        if kind == "constant":
            notes.append(
                f"{pair}: no funding data; the constant futures_funding_rate "
                f"{config.funding_rate:g} settles every "
                f"{config.funding_interval_hours:g} h"
            )
    marks = {m.symbol: m.mark is not None for m in cut}
    if config.trading_mode == "futures":
        notes.extend(_mark_note(market) for market in cut)
    portfolio = Portfolio.from_markets(cut)
    synthetic = bool(portfolio.synthetic)
    fine: dict[str, MarketData] | None = None
    if config.timeframe_detail is not None:
        fine = _detail(config, loader, list(found), timeframe, start, end)
        notes.append(f"intrabar path from {config.timeframe_detail} candles (timeframe_detail)")
    return LoadedData(
        data=portfolio,
        source=source,
        synthetic=synthetic,
        mark=marks,
        funding=funding_source,
        notes=notes,
        fine=fine,
    )


def _detail(
    config: RunConfig,
    loader: _Loader | None,
    pairs: Sequence[str],
    timeframe: str,
    start: int | None,
    end: int | None,
) -> dict[str, MarketData]:
    detail = config.timeframe_detail
    assert detail is not None
    fine_ms, tf_ms = parse_timeframe(detail), parse_timeframe(timeframe)
    if fine_ms >= tf_ms or tf_ms % fine_ms:
        raise ConfigError(
            f"timeframe_detail: {detail!r} must be finer than timeframe {timeframe!r} and divide it"
        )
    if config.engine == "compiled":
        raise ConfigError("timeframe_detail: only the event engine walks finer candles")
    fine: dict[str, MarketData] = {}
    for pair in pairs:
        if loader is None:
            market = demo_portfolio((pair,), timeframe=detail, bars=8784 * 3_600_000 // fine_ms)
            data = market.markets[0]
        else:
            data, _ = loader.load(pair, detail)
        fine[pair] = data.between(start, end) if (start is not None or end is not None) else data
    return fine
