"""Dynamic leverage: a base leverage scaled by volatility, trend strength and drawdown.

``leverage = clip(base × s_vol × s_trend × s_dd, min_leverage, min(max_leverage, tier max))``

* volatility: ``s_vol = min(target_volatility / volatility, max_volatility_scale)`` — calmer
  markets allow more, wilder ones less;
* trend strength (ADX): ``s_trend`` rises linearly from ``adx_min_scale`` at ``adx_low`` to
  ``adx_max_scale`` at ``adx_high`` (flat outside) — no conviction, less leverage;
* drawdown: ``s_dd = max(drawdown_floor, 1 − drawdown / max_drawdown)`` — de-lever as the
  account loses.

A missing input leaves its scale at 1. The same arithmetic runs on scalars (a Python strategy
at each bar) and on arrays (a signal table's ``leverage`` column; NaN in gives NaN out). The
indicator helpers (ATR, ADX via TA-Lib, realised volatility, drawdown) produce the inputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import talib
from numpy.typing import ArrayLike, NDArray

from levtrade.errors import ConfigError
from levtrade.margin.tiers import TierTable
from levtrade.risk import _checks

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class LeverageScales:
    """The three multipliers applied to the base leverage."""

    volatility: float
    trend: float
    drawdown: float

    @property
    def total(self) -> float:
        return self.volatility * self.trend * self.drawdown


@dataclass(frozen=True)
class DynamicLeverage:
    """Leverage from market state (see the module docstring for the formula)."""

    base: float
    max_leverage: float
    min_leverage: float = 1.0
    target_volatility: float | None = None
    max_volatility_scale: float = 2.0
    adx_low: float = 20.0
    adx_high: float = 40.0
    adx_min_scale: float = 0.5
    adx_max_scale: float = 1.0
    max_drawdown: float | None = None
    drawdown_floor: float = 0.0
    integer: bool = False
    """Round down to whole numbers (venues with integer leverage, e.g. Hyperliquid)."""

    def __post_init__(self) -> None:
        _checks.leverage(self.base, "base")
        _checks.leverage(self.max_leverage, "max_leverage")
        _checks.leverage(self.min_leverage, "min_leverage")
        if self.min_leverage > self.max_leverage:
            raise ConfigError(
                f"min_leverage: {self.min_leverage!r} is above max_leverage {self.max_leverage!r}"
            )
        if self.target_volatility is not None:
            _checks.positive(self.target_volatility, "target_volatility")
        _checks.positive(self.max_volatility_scale, "max_volatility_scale")
        _checks.non_negative(self.adx_low, "adx_low")
        if _checks.number(self.adx_high, "adx_high") <= self.adx_low:
            raise ConfigError(
                f"adx_high: must exceed adx_low {self.adx_low!r}, got {self.adx_high!r}"
            )
        _checks.non_negative(self.adx_min_scale, "adx_min_scale")
        _checks.non_negative(self.adx_max_scale, "adx_max_scale")
        if self.max_drawdown is not None:
            _checks.fraction(self.max_drawdown, "max_drawdown")
        _checks.fraction(self.drawdown_floor, "drawdown_floor", allow_zero=True)

    def scales(
        self,
        *,
        volatility: float | None = None,
        adx: float | None = None,
        drawdown: float | None = None,
    ) -> LeverageScales:
        """The multipliers for one bar's inputs."""
        values = self._scales(
            _array(volatility, "volatility", positive=True),
            _array(adx, "adx"),
            _array(drawdown, "drawdown"),
        )
        return LeverageScales(*(float(np.asarray(v).reshape(-1)[0]) for v in values))

    def leverage(
        self,
        *,
        volatility: float | None = None,
        adx: float | None = None,
        drawdown: float | None = None,
        tiers: TierTable | None = None,
        notional: float | None = None,
    ) -> float:
        """The leverage for one bar, within ``[min_leverage, max_leverage]`` and the tier
        maximum at ``notional`` (the first tier's when no notional is given)."""
        out = self.series(
            volatility=volatility, adx=adx, drawdown=drawdown, tiers=tiers, notional=notional
        )
        return float(out.reshape(-1)[0])

    def series(
        self,
        *,
        volatility: ArrayLike | None = None,
        adx: ArrayLike | None = None,
        drawdown: ArrayLike | None = None,
        tiers: TierTable | None = None,
        notional: float | None = None,
    ) -> FloatArray:
        """The leverage per bar for arrays of inputs (broadcast together)."""
        vol, trend, dd = self._scales(
            _array(volatility, "volatility", positive=True),
            _array(adx, "adx"),
            _array(drawdown, "drawdown"),
        )
        raw = self.base * vol * trend * dd
        upper = self.max_leverage
        if tiers is not None:
            at = 0.0 if notional is None else _checks.non_negative(notional, "notional")
            tier_max = tiers.max_leverage_at(at)
            if tier_max < self.min_leverage:
                raise ConfigError(
                    f"notional: {at!r} allows at most {tier_max!r}x in {tiers.symbol}'s tiers, "
                    f"below min_leverage {self.min_leverage!r}"
                )
            upper = min(upper, tier_max)
        out = np.clip(raw, self.min_leverage, upper)
        if self.integer:
            out = np.maximum(np.floor(out), self.min_leverage)
        return np.asarray(out, dtype=np.float64)

    def _scales(self, vol: Any, adx: Any, drawdown: Any) -> tuple[Any, Any, Any]:
        s_vol: Any = 1.0
        if vol is not None:
            if self.target_volatility is None:
                raise ConfigError("target_volatility: needed to scale by volatility, got None")
            s_vol = np.minimum(self.target_volatility / vol, self.max_volatility_scale)
        s_trend: Any = 1.0
        if adx is not None:
            position = np.clip((adx - self.adx_low) / (self.adx_high - self.adx_low), 0.0, 1.0)
            s_trend = self.adx_min_scale + (self.adx_max_scale - self.adx_min_scale) * position
        s_dd: Any = 1.0
        if drawdown is not None:
            if self.max_drawdown is None:
                raise ConfigError("max_drawdown: needed to scale by drawdown, got None")
            s_dd = np.maximum(self.drawdown_floor, 1.0 - drawdown / self.max_drawdown)
        return s_vol, s_trend, s_dd


def atr(high: ArrayLike, low: ArrayLike, close: ArrayLike, period: int = 14) -> FloatArray:
    """Average true range (TA-Lib, Wilder's smoothing); NaN for the first ``period`` bars."""
    h, lo, c = _ohlc(high, low, close, period)
    return np.asarray(talib.ATR(h, lo, c, timeperiod=period), dtype=np.float64)


def adx(high: ArrayLike, low: ArrayLike, close: ArrayLike, period: int = 14) -> FloatArray:
    """Average directional index (TA-Lib): trend strength 0–100, NaN during warm-up."""
    h, lo, c = _ohlc(high, low, close, period)
    return np.asarray(talib.ADX(h, lo, c, timeperiod=period), dtype=np.float64)


def realized_volatility(
    close: ArrayLike, window: int, *, periods_per_year: float | None = None
) -> FloatArray:
    """Rolling standard deviation (ddof 1) of log returns over ``window`` bars, annualised by
    √periods_per_year when given; NaN until ``window`` returns exist."""
    prices = _prices(close, "close")
    if isinstance(window, bool) or not isinstance(window, int) or window < 2:
        raise ConfigError(f"window: must be a whole number ≥ 2, got {window!r}")
    scale = 1.0
    if periods_per_year is not None:
        scale = math.sqrt(_checks.positive(periods_per_year, "periods_per_year"))
    out = np.full(prices.size, np.nan)
    returns = np.diff(np.log(prices))
    if returns.size >= window:
        windows = np.lib.stride_tricks.sliding_window_view(returns, window)
        out[window:] = windows.std(axis=1, ddof=1) * scale
    return out


def drawdown(equity: ArrayLike) -> FloatArray:
    """Drawdown from the running peak, 1 − equity / peak (0 at a new high)."""
    values = _prices(equity, "equity")
    return np.asarray(1.0 - values / np.maximum.accumulate(values), dtype=np.float64)


def _array(value: ArrayLike | None, field: str, *, positive: bool = False) -> FloatArray | None:
    """Inputs as an array: finite and ≥ 0 (> 0 with ``positive``) where not NaN."""
    if value is None:
        return None
    values = np.asarray(value, dtype=np.float64)
    given = values[~np.isnan(values)]
    bad = given[(given <= 0 if positive else given < 0) | np.isinf(given)]
    if bad.size:
        rule = "> 0" if positive else "≥ 0"
        raise ConfigError(f"{field}: must be finite and {rule}, got {float(bad[0])!r}")
    return values


def _prices(values: ArrayLike, field: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ConfigError(f"{field}: need a non-empty 1-D array, got shape {array.shape}")
    if not (array[~np.isnan(array)] > 0).all():
        raise ConfigError(f"{field}: values must be > 0, got {float(np.nanmin(array))!r}")
    return array


def _ohlc(
    high: ArrayLike, low: ArrayLike, close: ArrayLike, period: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    if isinstance(period, bool) or not isinstance(period, int) or period < 1:
        raise ConfigError(f"period: must be a whole number ≥ 1, got {period!r}")
    h, lo, c = _prices(high, "high"), _prices(low, "low"), _prices(close, "close")
    if not h.size == lo.size == c.size:
        raise ConfigError(f"high/low/close: lengths differ ({h.size}, {lo.size}, {c.size})")
    return h, lo, c
