"""Deterministic synthetic perpetual-futures data for examples, docs and quick starts.

The generator is shaped like a real USDT-margined perpetual, not fitted to one:

* returns follow GARCH(1,1) with Student-t(4) shocks (volatility clustering, fat tails;
  shocks capped at 4.5 sd, volatility at 3x its long-run level), symbols share a common
  market factor;
* a crash of the 2025-10-10 kind at 62 % of the series: three hours of steep losses with
  a long liquidation wick, then a partial rebound;
* the basis (perp over index) is an AR(1) premium that rises with up-moves and collapses in
  the crash; index candles are the trade price without it, mark candles the index plus the
  premium's moving average, so the mark stays within a few basis points of the last price
  and its crash low is shallower than the trade low;
* funding every 8h (00:00, 08:00, 16:00 UTC) follows Binance's rule
  ``P + clamp(0.01 % - P, -0.05 %, +0.05 %)`` with P the mean premium of the previous 8h,
  capped at ±0.3 %.

Same seed, same arrays. Every result carries ``metadata["synthetic"] = True`` and the store,
CLI and reports show it.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from levtrade.data._types import FloatArray
from levtrade.data.errors import DataValidationError
from levtrade.data.market import MarketData
from levtrade.data.portfolio import Portfolio
from levtrade.data.series import FundingEvents, make_candles
from levtrade.data.timeframes import MS_PER_UNIT, format_timeframe, parse_time, parse_timeframe

__all__ = ["DEMO_SYMBOLS", "DemoProfile", "demo_market", "demo_portfolio"]

GENERATOR = "levtrade.data.demo v1: GARCH(1,1) t(4) returns, crash, AR(1) basis, 8h funding"
FUNDING_INTERVAL_MS = 8 * MS_PER_UNIT["h"]
INTEREST_RATE = 0.0001
PREMIUM_CLAMP = 0.0005
FUNDING_CAP = 0.003
MAX_SHOCK = 4.5
CRASH_RETURNS = np.array([-0.035, -0.085, -0.045, 0.04, 0.02])
"""Hourly log returns of the crash for beta 1 (about -15 % top to bottom, then a rebound)."""


@dataclass(frozen=True)
class DemoProfile:
    """Per-symbol shape: start price, hourly volatility, crash beta, typical hourly volume."""

    price: float
    hourly_vol: float
    beta: float
    volume: float


DEMO_SYMBOLS: dict[str, DemoProfile] = {
    "BTC/USDT:USDT": DemoProfile(price=42_000.0, hourly_vol=0.0055, beta=1.0, volume=9_000.0),
    "ETH/USDT:USDT": DemoProfile(price=2_300.0, hourly_vol=0.0070, beta=1.3, volume=120_000.0),
    "SOL/USDT:USDT": DemoProfile(price=100.0, hourly_vol=0.0095, beta=2.0, volume=900_000.0),
}


def _rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def _student_t(rng: np.random.Generator, size: int) -> FloatArray:
    """Student-t(4) shocks scaled to unit variance (the variance of t(4) is 2)."""
    return np.asarray(rng.standard_t(4, size) / np.sqrt(2.0), dtype=np.float64)


def _garch_returns(
    shocks: FloatArray, bar_vol: float, crash_at: int, crash: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """GARCH(1,1) log returns with the crash returns forced in; returns (returns, sigma).

    Shocks are capped at ``MAX_SHOCK`` standard deviations and the conditional volatility at
    three times its long-run level, so only the scripted crash produces a move of its size.
    """
    alpha, beta = 0.08, 0.90
    target = bar_vol**2
    omega = target * (1.0 - alpha - beta)
    max_variance = 9.0 * target
    returns = np.empty(shocks.size)
    sigma = np.empty(shocks.size)
    variance = target
    for i in range(shocks.size):
        sigma[i] = np.sqrt(variance)
        k = i - crash_at
        shock = min(max(shocks[i], -MAX_SHOCK), MAX_SHOCK)
        step = crash[k] if 0 <= k < crash.size else sigma[i] * shock
        returns[i] = step
        variance = min(omega + alpha * step * step + beta * variance, max_variance)
    return returns, sigma


def demo_market(
    symbol: str = "BTC/USDT:USDT",
    *,
    seed: int = 7,
    start: str | int = "2024-01-01",
    bars: int = 8784,
    timeframe: str = "1h",
    common: FloatArray | None = None,
) -> MarketData:
    """Synthetic perpetual for ``symbol`` (a key of :data:`DEMO_SYMBOLS`).

    ``bars`` defaults to the hours of 2024. ``timeframe`` must divide 8h so funding lands
    on bars. ``common`` is the shared market shock stream used by :func:`demo_portfolio`.
    """
    if symbol not in DEMO_SYMBOLS:
        raise DataValidationError(
            f"no demo profile for {symbol!r}; choose one of {', '.join(DEMO_SYMBOLS)}"
        )
    tf = parse_timeframe(timeframe)
    if FUNDING_INTERVAL_MS % tf != 0:
        raise DataValidationError(
            f"demo timeframe must divide 8h (funding interval), got {format_timeframe(tf)}"
        )
    if bars < 16:
        raise DataValidationError(f"demo data needs at least 16 bars, got {bars}")
    first = (parse_time(start) // tf) * tf
    profile = DEMO_SYMBOLS[symbol]
    rng = _rng(seed, symbol)
    scale = np.sqrt(tf / MS_PER_UNIT["h"])
    bar_vol = profile.hourly_vol * scale
    market = common if common is not None else _student_t(_rng(seed, "market"), bars)
    rho = 0.8
    shocks = rho * market[:bars] + np.sqrt(1 - rho * rho) * _student_t(rng, bars)
    crash_at = int(bars * 0.62)
    crash = CRASH_RETURNS * profile.beta * min(1.0, scale)
    returns, sigma = _garch_returns(shocks, bar_vol, crash_at, crash)
    returns += 0.00002 * scale
    timestamps = first + np.arange(bars, dtype=np.int64) * tf

    close = profile.price * np.exp(np.cumsum(returns))
    open_ = np.r_[profile.price, close[:-1]]
    up = np.abs(rng.normal(0.0, 0.6, bars)) * sigma
    down = np.abs(rng.normal(0.0, 0.6, bars)) * sigma
    crash_bar = crash_at + 1
    liquidation_wick = 0.05 * profile.beta * min(1.0, scale)
    down[crash_bar] += liquidation_wick
    high = np.maximum(open_, close) * np.exp(up)
    low = np.minimum(open_, close) * np.exp(-down)
    activity = 1.0 + 8.0 * np.abs(returns) / bar_vol
    volume = profile.volume * scale * activity * np.exp(rng.normal(0.0, 0.4, bars))

    premium = np.empty(bars)
    level, phi, mean = 0.00015, 0.97, 0.00015
    noise = rng.normal(0.0, 0.00004, bars)
    for i in range(bars):
        level = phi * level + (1 - phi) * mean + 0.006 * returns[i] + noise[i]
        if i == crash_bar:
            level -= 0.002 * profile.beta
        premium[i] = level
    index_close = close / (1.0 + premium)
    index_open = np.r_[profile.price / (1.0 + premium[0]), index_close[:-1]]
    index_high = np.maximum(index_open, index_close) * np.exp(0.8 * up)
    index_low = np.minimum(index_open, index_close) * np.exp(-0.8 * (down - 0.7 * _wick(down)))
    smooth = np.empty(bars)
    average = premium[0]
    for i in range(bars):
        average = 0.9 * average + 0.1 * premium[i]
        smooth[i] = average
    mark_close = index_close * (1.0 + smooth)
    mark_open = np.r_[index_open[0] * (1.0 + smooth[0]), mark_close[:-1]]
    mark_high = np.maximum(mark_open, mark_close) * np.exp(0.85 * up)
    mark_low = np.minimum(mark_open, mark_close) * np.exp(-0.85 * (down - 0.6 * _wick(down)))

    funding_rows = np.flatnonzero(timestamps % FUNDING_INTERVAL_MS == 0)
    per_interval = FUNDING_INTERVAL_MS // tf
    rates = np.empty(funding_rows.size)
    for j, row in enumerate(funding_rows):
        window = premium[max(0, row - per_interval) : max(1, row)]
        mean_premium = float(window.mean())
        clamp = min(max(INTEREST_RATE - mean_premium, -PREMIUM_CLAMP), PREMIUM_CLAMP)
        rates[j] = min(max(mean_premium + clamp, -FUNDING_CAP), FUNDING_CAP)
    funding = FundingEvents(timestamps[funding_rows], rates, "levtrade.data.demo")

    origin = f"demo {symbol} (synthetic, seed {seed})"
    trade = make_candles(timestamps, open_, high, low, close, volume, origin=origin)
    mark = make_candles(
        timestamps, mark_open, mark_high, mark_low, mark_close, None, kind="mark", origin=origin
    )
    index = make_candles(
        timestamps,
        index_open,
        index_high,
        index_low,
        index_close,
        None,
        kind="index",
        origin=origin,
    )
    return MarketData.build(
        symbol,
        trade,
        mark=mark,
        index=index,
        funding=funding,
        metadata={
            "synthetic": True,
            "source": "levtrade.data.demo",
            "generator": GENERATOR,
            "seed": seed,
            "crash_at": int(timestamps[crash_bar]),
            "note": "SYNTHETIC demo data: generated, not recorded from an exchange",
        },
    )


def _wick(down: FloatArray) -> FloatArray:
    """The part of a downside wick above its typical size (the liquidation spike)."""
    return np.clip(down - np.median(down) * 4.0, 0.0, None)


def demo_portfolio(
    symbols: Sequence[str] = ("BTC/USDT:USDT", "ETH/USDT:USDT"),
    *,
    seed: int = 7,
    start: str | int = "2024-01-01",
    bars: int = 8784,
    timeframe: str = "1h",
) -> Portfolio:
    """Several demo symbols driven by one market factor, on one axis."""
    common = _student_t(_rng(seed, "market"), bars)
    return Portfolio.from_markets(
        [
            demo_market(s, seed=seed, start=start, bars=bars, timeframe=timeframe, common=common)
            for s in symbols
        ]
    )
