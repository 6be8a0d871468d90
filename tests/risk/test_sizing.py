"""Sizing: risk per trade from the stop (fees included, leverage-independent), volatility
targeting, the Kelly cap, the tier and margin limits. Every expected number is worked out in
the comments."""

from __future__ import annotations

import math

import numpy as np
import pytest
from risk_helpers import BTC, binance_tier1

from levtrade.errors import ConfigError
from levtrade.margin import contracts
from levtrade.model.instrument import Instrument
from levtrade.risk import (
    affordable_size,
    kelly_cap,
    kelly_fraction,
    loss_per_contract,
    max_size_for_leverage,
    risk_position_size,
    stake_for_risk,
    volatility_target_size,
    win_rate_and_payoff,
)

BTC_NO_LOT = Instrument.parse("BTC/USDT:USDT", taker_fee=0.0005, maker_fee=0.0002)
ETH = Instrument.parse("ETH/USDT:USDT", taker_fee=0.0005, maker_fee=0.0002)


def test_loss_per_contract_includes_entry_and_exit_fees() -> None:
    # long 1 BTC 100,000 → stop 98,000: 2,000 + 0.05 %·100,000 + 0.05 %·98,000 = 2,099
    assert loss_per_contract(BTC, "long", 100_000.0, 98_000.0) == pytest.approx(2_099.0)
    # short 1 ETH 3,000 → stop 3,090: 90 + 1.5 + 1.545 = 93.045
    assert loss_per_contract(ETH, "short", 3_000.0, 3_090.0) == pytest.approx(93.045)
    # a maker entry (0.02 %) and taker exit: 2,000 + 20 + 49 = 2,069
    assert loss_per_contract(BTC, "long", 100_000.0, 98_000.0, entry_fee=0.0002) == pytest.approx(
        2_069.0
    )


def test_risk_size_makes_the_loss_at_the_stop_the_risk_amount() -> None:
    sized = risk_position_size(BTC_NO_LOT, "long", 100_000.0, 98_000.0, 1_000.0)
    # 1,000 / 2,099 = 0.476417341...
    assert sized.size == pytest.approx(1_000.0 / 2_099.0)
    assert sized.risk == pytest.approx(1_000.0)
    assert sized.limited_by == "risk"
    assert sized.signed_size == sized.size


def test_leverage_changes_the_margin_not_the_size() -> None:
    low = risk_position_size(BTC, "long", 100_000.0, 98_000.0, 1_000.0, leverage=2)
    high = risk_position_size(BTC, "long", 100_000.0, 98_000.0, 1_000.0, leverage=20)
    # 0.476417 rounded down to the 0.001 lot = 0.476; loss 0.476·2,099 = 999.124
    assert low.size == high.size == pytest.approx(0.476)
    unrounded = risk_position_size(BTC, "long", 100_000.0, 98_000.0, 1_000.0, round_to_lot=False)
    assert unrounded.size == pytest.approx(1_000.0 / 2_099.0)
    assert low.risk == pytest.approx(999.124)
    # notional 0.476·100,000 = 47,600: margin 23,800 at 2x, 2,380 at 20x
    assert low.notional == pytest.approx(47_600.0)
    assert low.margin == pytest.approx(23_800.0)
    assert high.margin == pytest.approx(2_380.0)


def test_short_risk_size() -> None:
    sized = risk_position_size(ETH, "short", 3_000.0, 3_090.0, 500.0)
    # 500 / 93.045 = 5.37374...
    assert sized.size == pytest.approx(500.0 / 93.045)
    assert sized.signed_size == pytest.approx(-500.0 / 93.045)


def test_inverse_contract_risk_in_coin() -> None:
    inverse = Instrument.parse("BTC/USD:BTC", contract_size=100.0, taker_fee=0.0, maker_fee=0.0)
    # 100 USD contracts, 50,000 → 40,000: 100·(1/40,000 − 1/50,000) = 0.0005 BTC each;
    # 0.01 BTC of risk → 20 contracts
    sized = risk_position_size(inverse, "long", 50_000.0, 40_000.0, 0.01)
    assert sized.size == pytest.approx(20.0)
    # fees 0.05 %: + 0.0005·100/50,000 + 0.0005·100/40,000 = 0.00050225 BTC per contract
    taxed = risk_position_size(
        inverse, "long", 50_000.0, 40_000.0, 0.01, entry_fee=0.0005, exit_fee=0.0005
    )
    assert taxed.size == pytest.approx(0.01 / 0.00050225)


def test_tier_limit_binds_below_the_cap() -> None:
    tiers = binance_tier1("BTC/USDT:USDT")
    # 125x is allowed in tier 1 only (150x to 300,000; tier 2 allows 100x): 300,000 notional
    # at 100,000 is 3 BTC, the cap itself is tier 2, so 2.999 after the 0.001 lot
    assert tiers.max_notional_for_leverage(125) == 300_000.0
    exact = max_size_for_leverage(BTC_NO_LOT, tiers, 125, 100_000.0)
    assert exact < 3.0
    assert exact == pytest.approx(3.0)
    assert contracts.notional(BTC_NO_LOT, exact, 100_000.0) < 300_000.0
    # risk 100,000 at a 1,000 stop without fees would be 100 BTC
    sized = risk_position_size(
        BTC,
        "long",
        100_000.0,
        99_000.0,
        100_000.0,
        leverage=125,
        tiers=tiers,
        exit_fee=0.0,
        entry_fee=0.0,
    )
    assert sized.limited_by == "tier"
    assert sized.size == pytest.approx(2.999)
    # every tier allows 100x: no limit
    assert math.isinf(max_size_for_leverage(BTC, tiers, 100, 100_000.0))


def test_margin_limit() -> None:
    # at 10x a contract needs 100,000/10 = 10,000 IM + 50 fee: 1,000 covers 0.0995024...
    assert affordable_size(BTC_NO_LOT, 100_000.0, 1_000.0, 10) == pytest.approx(1_000 / 10_050)
    sized = risk_position_size(
        BTC_NO_LOT, "long", 100_000.0, 98_000.0, 1_000.0, leverage=10, available_balance=1_000.0
    )
    assert sized.limited_by == "margin"
    assert sized.size == pytest.approx(1_000 / 10_050)


def test_volatility_target() -> None:
    # equity 10,000 × 20 % target / 80 % volatility = 2,500 notional = 0.05 BTC at 50,000
    sized = volatility_target_size(BTC_NO_LOT, "long", 50_000.0, 10_000.0, 0.2, 0.8, leverage=3)
    assert sized.size == pytest.approx(0.05)
    assert sized.margin == pytest.approx(2_500.0 / 3)
    assert sized.risk is None
    assert sized.limited_by == "volatility"
    # capped at 0.1 × equity = 1,000 notional = 0.02 BTC
    capped = volatility_target_size(
        BTC_NO_LOT, "short", 50_000.0, 10_000.0, 0.2, 0.8, max_effective_leverage=0.1
    )
    assert capped.size == pytest.approx(0.02)
    assert capped.signed_size == pytest.approx(-0.02)


def test_kelly() -> None:
    # p 0.55, b 1.5: 0.55 − 0.45/1.5 = 0.25; half Kelly 0.125
    assert kelly_fraction(0.55, 1.5) == pytest.approx(0.25)
    assert kelly_cap(0.02, 0.55, 1.5) == pytest.approx(0.02)
    assert kelly_cap(0.2, 0.55, 1.5) == pytest.approx(0.125)
    assert kelly_cap(0.2, 0.55, 1.5, multiplier=1.0) == pytest.approx(0.2)
    # no edge: p 0.4, b 1: 0.4 − 0.6 = −0.2 → risk nothing
    assert kelly_fraction(0.4, 1.0) == pytest.approx(-0.2)
    assert kelly_cap(0.05, 0.4, 1.0) == 0.0
    # wins 100, 200; losses 50, 50; a flat trade ignored: p 0.5, b 150/50 = 3
    assert win_rate_and_payoff([100.0, -50.0, 200.0, -50.0, 0.0]) == pytest.approx((0.5, 3.0))


def test_stake_for_risk_for_signal_tables() -> None:
    # long, 3 % stop, 2x: loss per unit notional 0.03 + 0.0005 + 0.0005·0.97 = 0.030985;
    # notional 100/0.030985 = 3,227.368..., stake = notional/2
    # short: 0.03 + 0.0005 + 0.0005·1.03 = 0.031015
    stake = stake_for_risk(np.array([100.0, 100.0, np.nan]), 0.03, 2.0)
    assert stake[0] == pytest.approx(100.0 / 0.030985 / 2)
    assert math.isnan(stake[2])
    short = stake_for_risk(100.0, 0.03, 2.0, side="short")
    assert float(short) == pytest.approx(100.0 / 0.031015 / 2)
    # the same as sizing one contract of price 1 with a stop at 0.97
    unit = Instrument.parse("X/USDT:USDT", taker_fee=0.0005, maker_fee=0.0002)
    sized = risk_position_size(unit, "long", 1.0, 0.97, 100.0, leverage=2.0)
    assert stake[0] == pytest.approx(sized.margin)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: risk_position_size(BTC, "long", 100_000, 98_000, -100),
            "risk_amount: must be > 0, got -100",
        ),
        (lambda: risk_position_size(BTC, "long", 100_000, 98_000, 0), "risk_amount"),
        (
            lambda: risk_position_size(BTC, "long", 100_000, 101_000, 100),
            "stop_price: 101000 must be below the entry 100000 for a long",
        ),
        (
            lambda: risk_position_size(BTC, "short", 100_000, 99_000, 100),
            "stop_price: 99000 must be above the entry 100000 for a short",
        ),
        (lambda: risk_position_size(BTC, "long", 100_000, 100_000, 100), "stop_price"),
        (
            lambda: risk_position_size(BTC, "up", 100_000, 99_000, 100),
            "side: must be 'long' or 'short'",
        ),  # type: ignore[arg-type]
        (lambda: risk_position_size(BTC, "long", -1, 99_000, 100), "entry_price: must be > 0"),
        (
            lambda: risk_position_size(BTC, "long", 100_000, 99_000, 100, leverage=0.5),
            "leverage: must be ≥ 1",
        ),
        (lambda: risk_position_size(BTC, "long", 100_000, 99_000, 100, exit_fee=0.5), "exit_fee"),
        (
            lambda: max_size_for_leverage(BTC, binance_tier1("BTC/USDT:USDT"), 151, 100_000),
            "leverage: 151.0 exceeds the maximum 150.0 of every tier",
        ),
        (
            lambda: volatility_target_size(BTC, "long", 1.0, 1.0, 0.2, 0.0),
            "volatility: must be > 0",
        ),
        (lambda: affordable_size(BTC, 1.0, -5.0, 2), "available_balance: must be ≥ 0"),
        (lambda: kelly_fraction(1.2, 1.0), "win_rate: must be in [0, 1]"),
        (lambda: kelly_cap(0.01, 0.5, 1.0, multiplier=0), "multiplier"),
        (lambda: win_rate_and_payoff([10.0, 20.0]), "pnls: need at least one win and one loss"),
        (lambda: stake_for_risk(100.0, 0.0, 2.0), "stop_distance: must be in (0, 1), got 0.0"),
        (lambda: stake_for_risk(-1.0, 0.03, 2.0), "risk_amount: must be > 0, got -1.0"),
        (lambda: stake_for_risk(100.0, 0.03, [2.0, 0.5]), "leverage: must be ≥ 1, got 0.5"),
    ],
)
def test_bad_inputs_name_the_field_and_value(call: object, message: str) -> None:
    with pytest.raises(ConfigError, match=None) as info:
        call()  # type: ignore[operator]
    assert message in str(info.value)
