"""Dynamic leverage: the three scales, the caps, the array form, and the indicator inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from levtrade.errors import ConfigError
from levtrade.margin import TierTable
from levtrade.risk import DynamicLeverage, adx, atr, drawdown, realized_volatility

RULE = DynamicLeverage(base=3.0, max_leverage=5.0, target_volatility=0.5, max_drawdown=0.2)


def test_scales_multiply_the_base() -> None:
    # vol 0.4 → 0.5/0.4 = 1.25; ADX 40 → 1.0 (top of 20..40); drawdown 10 % of 20 % → 0.5
    scales = RULE.scales(volatility=0.4, adx=40.0, drawdown=0.1)
    assert (scales.volatility, scales.trend, scales.drawdown) == pytest.approx((1.25, 1.0, 0.5))
    assert scales.total == pytest.approx(0.625)
    # 3 × 1.25 × 1.0 × 0.5 = 1.875
    assert RULE.leverage(volatility=0.4, adx=40.0, drawdown=0.1) == pytest.approx(1.875)


def test_adx_interpolates_and_clips() -> None:
    # ADX 30 is half way from 20 to 40: 0.5 + 0.5 × 0.5 = 0.75; below 20: 0.5; above 40: 1
    assert RULE.scales(adx=30.0).trend == pytest.approx(0.75)
    assert RULE.scales(adx=5.0).trend == pytest.approx(0.5)
    assert RULE.scales(adx=80.0).trend == pytest.approx(1.0)


def test_bounds() -> None:
    # vol 1.0 → 0.5; ADX 30 → 0.75; drawdown 5 % → 0.75: 3 × 0.28125 = 0.84 → floor 1
    assert RULE.leverage(volatility=1.0, adx=30.0, drawdown=0.05) == 1.0
    # vol 0.1 → 5, capped at max_volatility_scale 2: 3 × 2 = 6 → max 5
    assert RULE.scales(volatility=0.1).volatility == pytest.approx(2.0)
    assert RULE.leverage(volatility=0.1) == 5.0
    # drawdown beyond the maximum: scale 0 (floor 0) → 1x
    assert RULE.scales(drawdown=0.3).drawdown == 0.0
    assert RULE.leverage() == pytest.approx(3.0)


def test_tier_cap_and_integer_leverage() -> None:
    tiers = TierTable.from_rows(
        [
            {"floor": 0, "mmr": 0.01, "max_leverage": 10},
            {"floor": 100_000, "mmr": 0.025, "max_leverage": 4},
        ],
        venue="binance",
        symbol="BTC/USDT:USDT",
    )
    rule = DynamicLeverage(base=4.6, max_leverage=8.0)
    assert rule.leverage(tiers=tiers) == pytest.approx(4.6)
    # 150,000 notional is in tier 2: at most 4x
    assert rule.leverage(tiers=tiers, notional=150_000.0) == 4.0
    whole = DynamicLeverage(base=4.6, max_leverage=8.0, integer=True)
    assert whole.leverage() == 4.0


def test_series_for_signal_tables() -> None:
    out = RULE.series(volatility=[0.4, 1.0, np.nan], adx=[40.0, 30.0, 30.0], drawdown=0.1)
    # bar 0: 1.875 (above); bar 1: 3 × 0.5 × 0.75 × 0.5 = 0.5625 → 1; bar 2: NaN stays NaN
    assert out[:2] == pytest.approx([1.875, 1.0])
    assert math.isnan(out[2])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: DynamicLeverage(base=0.5, max_leverage=5), "base: must be ≥ 1, got 0.5"),
        (lambda: DynamicLeverage(base=2, max_leverage=3, min_leverage=4), "min_leverage: 4"),
        (lambda: DynamicLeverage(base=2, max_leverage=3, adx_low=30, adx_high=20), "adx_high"),
        (lambda: DynamicLeverage(base=2, max_leverage=3, max_drawdown=0), "max_drawdown"),
        (
            lambda: DynamicLeverage(base=2, max_leverage=3).leverage(volatility=0.3),
            "target_volatility",
        ),
        (lambda: DynamicLeverage(base=2, max_leverage=3).leverage(drawdown=0.1), "max_drawdown"),
        (lambda: RULE.leverage(volatility=-0.2), "volatility: must be finite and > 0, got -0.2"),
        (lambda: RULE.leverage(volatility=0.0), "volatility: must be finite and > 0, got 0.0"),
        (lambda: RULE.series(adx=[10.0, -1.0]), "adx: must be finite and ≥ 0, got -1.0"),
    ],
)
def test_bad_settings_and_inputs(make: object, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        make()  # type: ignore[operator]
    assert message in str(info.value)


def test_realized_volatility() -> None:
    # closes 100, 110, 99, 108.9: log returns ln 1.1, ln 0.9, ln 1.1
    # window 2, ddof 1: |ln 1.1 − ln 0.9| / √2 = 0.2006707 / 1.4142136 = 0.1418967
    out = realized_volatility([100.0, 110.0, 99.0, 108.9], 2)
    assert np.isnan(out[:2]).all()
    expected = abs(math.log(1.1) - math.log(0.9)) / math.sqrt(2)
    assert out[2:] == pytest.approx([expected, expected])
    # annualised with 4 periods a year: × √4 = × 2
    assert realized_volatility([100.0, 110.0, 99.0, 108.9], 2, periods_per_year=4)[3] == (
        pytest.approx(2 * expected)
    )
    with pytest.raises(ConfigError, match="window: must be a whole number ≥ 2, got 1"):
        realized_volatility([1.0, 2.0], 1)


def test_drawdown() -> None:
    # peak 100 → 120 → (90: 1 − 90/120 = 0.25) → 130 new high
    assert drawdown([100.0, 120.0, 90.0, 130.0]) == pytest.approx([0.0, 0.0, 0.25, 0.0])
    with pytest.raises(ConfigError, match="equity: values must be > 0"):
        drawdown([100.0, -5.0])


def test_atr_wilder() -> None:
    high = [10.0, 11.0, 12.0, 11.0]
    low = [9.0, 10.0, 10.0, 9.0]
    close = [9.5, 10.5, 11.0, 10.0]
    # TR1 = max(1, |11 − 9.5|, |10 − 9.5|) = 1.5; TR2 = max(2, 1.5, 0.5) = 2; TR3 = max(2, 0, 2) = 2
    # ATR(2): first = (1.5 + 2)/2 = 1.75, then (1.75·1 + 2)/2 = 1.875
    out = atr(high, low, close, 2)
    assert np.isnan(out[:2]).all()
    assert out[2:] == pytest.approx([1.75, 1.875])


def test_adx_of_a_perfect_trend_is_100() -> None:
    # every bar: high +1, low +1 → +DM 1, −DM 0 → DX = 100·|+DI − −DI|/(+DI + −DI) = 100
    n = 40
    high = 10.0 + np.arange(n)
    out = adx(high, high - 1.0, high - 0.5, 5)
    valid = out[~np.isnan(out)]
    assert valid.size > 0
    assert valid == pytest.approx(np.full(valid.size, 100.0))
    with pytest.raises(ConfigError, match="high/low/close: lengths differ"):
        adx(high, high[:-1], high, 5)
