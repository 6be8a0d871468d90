"""Funding: the price a payment settles at, rates from premium samples, interval schedules.

The payment itself is :func:`levtrade.margin.formulas.funding_payment` (−size·cs·price·rate,
a long pays when the rate is positive); :meth:`Account.settle_funding` books it. This module
holds what decides the numbers going in: which price (mark or oracle), which rate (each
venue's formula from premium samples) and when (the interval, which on Binance is state).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import numpy as np

from levtrade.errors import ConfigError
from levtrade.margin import formulas
from levtrade.model.venue import FundingPrice, VenueProfile

HOUR_MS = 3_600_000

Weights = Literal["linear", "uniform"]


def _utc_ms(year: int, month: int, day: int) -> int:
    return int(datetime(year, month, day, tzinfo=UTC).timestamp() * 1000)


BINANCE_HOURLY_ON_CAP_SINCE_MS = _utc_ms(2025, 5, 2)
"""Binance: a settled rate at the cap/floor switches the contract to hourly (from 2025-05-02)."""
BINANCE_REVERT_SINCE_MS = _utc_ms(2026, 1, 2)
"""Binance: hourly contracts revert to 4 h after 16 calm settlements (from 2026-01-02)."""


def settlement_price(venue: VenueProfile, mark: float, oracle: float | None) -> float:
    """The price funding settles at: the oracle where the venue uses it and one is known,
    the mark otherwise (Binance, Bybit, OKX always; Hyperliquid/dYdX without oracle data)."""
    if venue.funding_price is FundingPrice.ORACLE and oracle is not None:
        return oracle
    return mark


# --------------------------------------------------------------------------------------------
# Rates from premium samples
# --------------------------------------------------------------------------------------------


def premium_index(impact_bid: float, impact_ask: float, index_price: float) -> float:
    """One premium sample (MARGIN_SPEC §1.6, §2.7)."""
    _positive("index_price", index_price)
    return formulas.premium_index(float(impact_bid), float(impact_ask), float(index_price))


def average_premium(samples: Sequence[float] | np.ndarray, weights: Weights = "linear") -> float:
    """Average of the interval's premium samples.

    ``"linear"`` weights sample *i* (oldest first) by *i* + 1, the commonly documented
    Binance scheme; ``"uniform"`` is the plain mean (Hyperliquid). Binance's exact weights
    are unpinned (MARGIN_SPEC §9.2), hence the parameter.
    """
    values = _samples(samples)
    if weights == "linear":
        w = np.arange(1, values.shape[0] + 1, dtype=np.float64)
    elif weights == "uniform":
        w = np.ones(values.shape[0])
    else:
        raise ConfigError(f"weights: must be 'linear' or 'uniform', got {weights!r}")
    return formulas.weighted_mean(values, w)


def binance_funding_rate(
    premiums: Sequence[float] | np.ndarray,
    *,
    interest: float = 0.0001,
    clamp_limit: float = 0.0005,
    interval_hours: float = 8.0,
    cap: float = 0.003,
    floor: float | None = None,
    weights: Weights = "linear",
) -> float:
    """Binance F = [P̄ + clamp(I − P̄, ±0.05 %)] / (8/N), within the symbol's cap/floor.

    ``cap``/``floor`` default to BTCUSDT's ±0.3 %; the floor defaults to −cap.
    """
    _positive("interval_hours", interval_hours)
    lower = -cap if floor is None else floor
    if lower > cap:
        raise ConfigError(f"floor: {lower!r} is above cap {cap!r}")
    return formulas.binance_funding_rate(
        average_premium(premiums, weights), interest, clamp_limit, interval_hours, cap, lower
    )


def hyperliquid_funding_rate(
    premiums: Sequence[float] | np.ndarray,
    *,
    interest: float = 0.0001,
    clamp_limit: float = 0.0005,
    hourly_cap: float = 0.04,
) -> float:
    """Hyperliquid hourly rate from the hour's premium samples (plain mean), capped at 4 %/h."""
    return formulas.hyperliquid_funding_rate(
        average_premium(premiums, "uniform"), interest, clamp_limit, hourly_cap
    )


def dydx_funding_rate(
    samples: Sequence[float] | np.ndarray,
    *,
    initial_margin_fraction: float,
    maintenance_margin_fraction: float,
    default_funding: float = 0.0,
    clamp_factor: float = 6.0,
    tail_ratio: float = 0.0,
    min_samples: int = 60,
) -> float:
    """dYdX v4 8-hour rate R8 of one hourly tick from its 1-minute premium samples.

    ``tail_ratio`` 0 and ``min_samples`` 60 (3,600 s tick ÷ 60 s sample; missing samples count
    as zero) are the chain's defaults; the clamp is ±600 %·(IMF − MMF).
    """
    if not 0.0 <= tail_ratio < 0.5:
        raise ConfigError(f"tail_ratio: must be in [0, 0.5), got {tail_ratio!r}")
    if min_samples < 1:
        raise ConfigError(f"min_samples: must be ≥ 1, got {min_samples!r}")
    return formulas.dydx_funding_rate(
        np.asarray(samples, dtype=np.float64),
        default_funding,
        initial_margin_fraction,
        maintenance_margin_fraction,
        clamp_factor,
        tail_ratio,
        int(min_samples),
    )


def dydx_tick_rate(rate_8h: float, tick_hours: float = 1.0) -> float:
    """The share of an 8-hour rate one tick settles: R8·tick/8 (R8/8 for the hourly tick)."""
    return rate_8h * tick_hours / 8.0


def impact_notional(margin: float, max_leverage: float) -> float:
    """Impact notional: ``margin`` ÷ IMR at maximum leverage (Binance 200 USDT, dYdX 500 USDC)."""
    _positive("max_leverage", max_leverage)
    return formulas.impact_notional(margin, 1.0 / max_leverage)


# --------------------------------------------------------------------------------------------
# Interval schedule
# --------------------------------------------------------------------------------------------


@dataclass
class FundingSchedule:
    """When funding settles. Times are multiples of the interval since 00:00 UTC, so 8 h is
    00/08/16 UTC.

    With ``cap`` and ``hourly_on_cap_since`` set, a settled rate at the cap or floor switches
    the schedule to hourly; with ``revert_since`` set, an hourly schedule returns to
    ``revert_interval_hours`` after ``revert_after`` consecutive settlements with
    |rate| ≤ ``revert_threshold`` (Binance, MARGIN_SPEC §1.6).
    """

    interval_hours: float = 8.0
    cap: float | None = None
    floor: float | None = None
    hourly_on_cap_since: int | None = None
    revert_since: int | None = None
    revert_after: int = 16
    revert_threshold: float = 0.00025
    revert_interval_hours: float = 4.0
    calm_settlements: int = field(default=0)

    def __post_init__(self) -> None:
        _positive("interval_hours", self.interval_hours)
        _positive("revert_interval_hours", self.revert_interval_hours)
        if self.revert_after < 1:
            raise ConfigError(f"revert_after: must be ≥ 1, got {self.revert_after!r}")

    @classmethod
    def binance(
        cls, *, cap: float = 0.003, floor: float | None = None, interval_hours: float = 8.0
    ) -> FundingSchedule:
        """Binance: 8 h by default, hourly after a capped settlement, 4 h after 16 calm ones."""
        return cls(
            interval_hours=interval_hours,
            cap=cap,
            floor=-cap if floor is None else floor,
            hourly_on_cap_since=BINANCE_HOURLY_ON_CAP_SINCE_MS,
            revert_since=BINANCE_REVERT_SINCE_MS,
        )

    @classmethod
    def fixed(cls, interval_hours: float) -> FundingSchedule:
        """A constant interval (Hyperliquid and dYdX: 1 h)."""
        return cls(interval_hours=interval_hours)

    @property
    def interval_ms(self) -> int:
        return round(self.interval_hours * HOUR_MS)

    def is_funding_time(self, time: int) -> bool:
        return time % self.interval_ms == 0

    def next_time(self, after: int) -> int:
        """The first settlement time strictly after ``after`` (ms)."""
        step = self.interval_ms
        return (after // step + 1) * step

    def record(self, time: int, rate: float) -> None:
        """Account for a settled ``rate`` at ``time``: the interval may change after it."""
        if not math.isfinite(rate):
            raise ConfigError(f"rate: must be finite, got {rate!r}")
        if self._hit_cap(time, rate):
            self.interval_hours = 1.0
            self.calm_settlements = 0
            return
        if self.interval_hours != 1.0 or self.revert_since is None or time < self.revert_since:
            return
        self.calm_settlements = (
            self.calm_settlements + 1 if abs(rate) <= self.revert_threshold else 0
        )
        if self.calm_settlements >= self.revert_after:
            self.interval_hours = self.revert_interval_hours
            self.calm_settlements = 0

    def _hit_cap(self, time: int, rate: float) -> bool:
        if self.hourly_on_cap_since is None or time < self.hourly_on_cap_since:
            return False
        tolerance = 1e-12
        if self.cap is not None and rate >= self.cap - tolerance:
            return True
        return self.floor is not None and rate <= self.floor + tolerance


def _positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{name}: must be > 0, got {value!r}")


def _samples(samples: Sequence[float] | np.ndarray) -> np.ndarray:
    values = np.asarray(samples, dtype=np.float64).reshape(-1)
    if values.shape[0] == 0:
        raise ConfigError("premiums: at least one premium sample is needed")
    if not np.all(np.isfinite(values)):
        raise ConfigError("premiums: every premium sample must be finite")
    return values
