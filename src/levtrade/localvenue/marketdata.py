"""The market data a venue serves: a data directory in any layout levtrade reads, or the demo.

Layouts (detected): levtrade's store (``<exchange>/<symbol>/<tf>-trade.parquet``), FreqTrade's
data directory (``futures/BTC_USDT_USDT-1h-futures.feather``), and the flat per-symbol layout
of exported Binance perpetuals (``BTCUSDT-1h-perp.parquet``, ``BTCUSDT-1h-mark.parquet``,
``BTCUSDT-funding_rate.parquet``). A mark file coarser than the trade candles is used with the
basis rule (:meth:`levtrade.data.MarketData.build`, ``coarse_mark="basis"``).

Contract specifications the data does not carry are inferred once from it: the tick is the
largest power of ten every recorded price is a multiple of; the lot the power of ten worth
between 0.1 and 1 quote units at the first close (``10**ceil(log10(1/price))``); the minimum
notional 5 USDT (Binance's usual filter). Each can be overridden per symbol.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from levtrade.data import (
    DEMO_SYMBOLS,
    MarketData,
    Portfolio,
    Store,
    demo_portfolio,
    list_freqtrade,
    load_freqtrade,
    load_market,
    parse_timeframe,
)
from levtrade.errors import DataError
from levtrade.venues.binance import to_ccxt_symbol

_FLAT = re.compile(r"^(?P<id>[A-Z0-9]+)-(?P<tf>\d+[smhdwM])-perp\.(parquet|feather|csv|json)$")
_FLAT_MARK = re.compile(r"^(?P<id>[A-Z0-9]+)-(?P<tf>\d+[smhdwM])-mark\.(parquet|feather|csv|json)$")
DEFAULT_MIN_NOTIONAL = 5.0


def load_demo(symbols: Sequence[str] | None, timeframe: str = "1h") -> Portfolio:
    """The embedded demo perpetuals (a year of bars)."""
    chosen = tuple(symbols) if symbols else tuple(DEMO_SYMBOLS)
    unknown = [s for s in chosen if s not in DEMO_SYMBOLS]
    if unknown:
        raise DataError(
            f"symbols: {', '.join(unknown)} not in the demo data ({', '.join(DEMO_SYMBOLS)})"
        )
    bars = 8784 * 3_600_000 // parse_timeframe(timeframe)
    return demo_portfolio(chosen, timeframe=timeframe, bars=bars)


def load_directory(
    folder: str | Path, symbols: Sequence[str] | None, timeframe: str = "1h"
) -> Portfolio:
    """Every symbol (or the ones named) of ``folder`` at ``timeframe``, on one time axis."""
    root = Path(folder)
    if not root.is_dir():
        raise DataError(f"data: directory not found: {root}")
    if _flat_files(root, timeframe):
        markets = _flat(root, symbols, timeframe)
    elif list_freqtrade(root):
        markets = _freqtrade(root, symbols, timeframe)
    else:
        markets = _store(root, symbols, timeframe)
    if not markets:
        raise DataError(f"data: no {timeframe} candles in {root}")
    return Portfolio.from_markets(markets)


def _flat_files(root: Path, timeframe: str) -> dict[str, Path]:
    found = {}
    for path in sorted(root.iterdir()):
        match = _FLAT.match(path.name)
        if match and match["tf"] == timeframe:
            found[match["id"]] = path
    return found


def _pick(symbols: Sequence[str] | None, available: Sequence[str], root: Path) -> list[str]:
    if not symbols:
        return list(available)
    missing = [s for s in symbols if s not in available]
    if missing:
        raise DataError(
            f"symbols: {', '.join(missing)} not found in {root} (it has {', '.join(available)})"
        )
    return list(symbols)


def _flat(root: Path, symbols: Sequence[str] | None, timeframe: str) -> list[MarketData]:
    files = _flat_files(root, timeframe)
    by_symbol = {to_ccxt_symbol(venue_id): venue_id for venue_id in files}
    markets = []
    trade_ms = parse_timeframe(timeframe)
    for symbol in _pick(symbols, sorted(by_symbol), root):
        venue_id = by_symbol[symbol]
        marks = {}
        for path in root.glob(f"{venue_id}-*-mark.*"):
            match = _FLAT_MARK.match(path.name)
            if match:
                marks[parse_timeframe(match["tf"])] = path
        finer = [ms for ms in marks if trade_ms % ms == 0]
        coarser = [ms for ms in marks if ms % trade_ms == 0 and ms > trade_ms]
        mark = marks[max(finer)] if finer else (marks[min(coarser)] if coarser else None)
        funding = root / f"{venue_id}-funding_rate.parquet"
        markets.append(
            load_market(
                files[venue_id],
                symbol=symbol,
                mark=mark,
                funding=funding if funding.is_file() else None,
                timeframe=timeframe,
                coarse_mark="basis",
                coverage="trim",
                metadata={"source": str(files[venue_id])},
            )
        )
    return markets


def _freqtrade(root: Path, symbols: Sequence[str] | None, timeframe: str) -> list[MarketData]:
    available = sorted(
        {f.symbol for f in list_freqtrade(root) if f.timeframe == timeframe and ":" in f.symbol}
    )
    return [
        load_freqtrade(root, symbol, timeframe, coarse_mark="basis", coverage="trim")
        for symbol in _pick(symbols, available, root)
    ]


def _store(root: Path, symbols: Sequence[str] | None, timeframe: str) -> list[MarketData]:
    exchanges = sorted(p.name for p in root.iterdir() if p.is_dir())
    if len(exchanges) != 1:
        raise DataError(
            f"data: {root} is neither a FreqTrade data directory, per-symbol files nor a "
            f"store with one exchange (found {', '.join(exchanges) or 'nothing'})"
        )
    store = Store(root)
    available = sorted(
        info.symbol
        for info in store.datasets()
        if info.kind == "trade" and info.timeframe == timeframe and ":" in info.symbol
    )
    return [
        store.load(exchanges[0], symbol, timeframe, coverage="trim")
        for symbol in _pick(symbols, available, root)
    ]


def price_tick(prices: np.ndarray) -> float:
    """The largest power of ten that every finite price of ``prices`` is a multiple of; for
    prices with no such grid (synthetic data), a millionth of the first price's order of
    magnitude, rounded down to a power of ten (``10**(floor(log10(price)) - 5)``)."""
    values = prices[np.isfinite(prices)]
    if values.size > 20_000:
        values = values[:: values.size // 20_000]
    for digits in range(0, 9):
        scaled = values * 10.0**digits
        if np.all(np.abs(scaled - np.round(scaled)) < 1e-6):
            return float(10.0**-digits)
    return float(10.0 ** (math.floor(math.log10(float(values[0]))) - 5))


def quantity_step(price: float) -> float:
    """A lot worth between 0.1 and 1 quote units at ``price``: ``10**ceil(log10(1/price))``."""
    return float(10.0 ** math.ceil(math.log10(1.0 / price)))


def decimals(step: float) -> int:
    """Digits after the point of a power-of-ten step (0.001 → 3, 10 → 0)."""
    return max(0, -math.floor(math.log10(step) + 1e-9))
