"""Funding: settlement price, payments into the right book, rate formulas, interval schedule."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from margin_helpers import (
    BINANCE,
    BTC,
    BTC_USDC,
    DYDX,
    ETH_USDC,
    HYPERLIQUID,
    HYPERLIQUID_BTC_ROWS,
    account,
    books_balance,
    hyperliquid,
    single,
)

from levtrade.errors import ConfigError
from levtrade.margin import FundingSchedule
from levtrade.margin.funding import (
    HOUR_MS,
    average_premium,
    binance_funding_rate,
    dydx_funding_rate,
    dydx_tick_rate,
    hyperliquid_funding_rate,
    impact_notional,
    premium_index,
    settlement_price,
)

HL_TIERS = {"BTC/USDC:USDC": hyperliquid(HYPERLIQUID_BTC_ROWS, "BTC/USDC:USDC")}


def ms(year: int, month: int, day: int, hour: int = 0) -> int:
    return int(datetime(year, month, day, hour, tzinfo=UTC).timestamp() * 1000)


# ---------------------------------------------------------------------------------------------
# Payments
# ---------------------------------------------------------------------------------------------


def test_bn15_bn16_long_pays_short_receives_at_the_mark() -> None:
    # 1 BTC at mark 100,000, rate 0.01 %: the long pays 10, the short receives 10
    long_acct = account(BINANCE, 10_000.0)
    long_acct.fill(BTC, 1.0, 100_000.0, leverage=20)
    assert long_acct.settle_funding(BTC, 0.0001, time=8 * HOUR_MS) == pytest.approx(-10.0)
    assert long_acct.wallet_balance == pytest.approx(9_990.0)
    short_acct = account(BINANCE, 10_000.0)
    short_acct.fill(BTC, -1.0, 100_000.0, leverage=20)
    assert short_acct.settle_funding(BTC, 0.0001) == pytest.approx(10.0)
    # negative rate: shorts pay
    assert short_acct.settle_funding(BTC, -0.0002) == pytest.approx(-20.0)
    entry = long_acct.ledger.entries[-1]
    assert (entry.kind, entry.source, entry.destination, entry.time) == (
        "funding",
        "cross",
        "market",
        8 * HOUR_MS,
    )
    books_balance(long_acct)
    books_balance(short_acct)


def test_bn21_funding_moves_the_cross_liquidation_price() -> None:
    # WB 500, long 0.02 BTC @50k (notional 1,000) 20x: LP 25,100.40; paying 0.02·50,000·0.01 %
    # = 0.10 leaves 499.90 → LP 25,105.42
    acct = account(BINANCE, 500.0)
    acct.fill(BTC, 0.02, 50_000.0, leverage=20)
    assert round(acct.liquidation_price(BTC.symbol), 2) == 25_100.40
    assert acct.settle_funding(BTC, 0.0001) == pytest.approx(-0.10)
    assert round(acct.liquidation_price(BTC.symbol), 2) == 25_105.42


def test_isolated_funding_is_taken_from_the_isolated_margin() -> None:
    # isolated long 1 BTC with 5,000: rate 0.01 % at 100,000 → margin 4,990, wallet untouched;
    # LP (100,000 − 4,990)/0.996 = 95,391.57
    acct = account(BINANCE, 1_000.0)
    pos = acct.load_position(
        BTC,
        size=1.0,
        entry_price=100_000.0,
        leverage=20,
        margin_mode="isolated",
        isolated_margin=5_000.0,
    )
    acct.settle_funding(BTC, 0.0001)
    assert acct.position(pos).isolated_margin == pytest.approx(4_990.0)
    assert acct.wallet_balance == pytest.approx(1_000.0)
    assert round(acct.liquidation_price(pos), 2) == 95_391.57
    books_balance(acct)


def test_hl13_hyperliquid_pays_at_the_oracle_with_mark_fallback() -> None:
    # long 1 BTC, hourly 0.00125 %: at oracle 99,000 → 1.2375; without an oracle the mark
    # 100,000 → 1.25
    acct = account(HYPERLIQUID, 10_000.0, tiers=HL_TIERS)
    acct.fill(BTC_USDC, 1.0, 100_000.0, leverage=10)
    assert acct.settle_funding(BTC_USDC, 0.0000125) == pytest.approx(-1.25)
    acct.set_mark(BTC_USDC, 100_000.0, oracle=99_000.0)
    assert acct.settle_funding(BTC_USDC, 0.0000125) == pytest.approx(-1.2375)
    # an explicit price wins
    assert acct.settle_funding(BTC_USDC, 0.0000125, price=80_000.0) == pytest.approx(-1.0)
    assert settlement_price(BINANCE, 100.0, 90.0) == 100.0
    assert settlement_price(HYPERLIQUID, 100.0, 90.0) == 90.0
    assert settlement_price(HYPERLIQUID, 100.0, None) == 100.0


def test_dy03_dydx_pays_one_eighth_of_the_8h_rate_at_the_oracle() -> None:
    # short 2 ETH, oracle 3,000, R8 = 0.08 % → tick rate 0.01 % → the short receives 0.6
    acct = account(DYDX, 10_000.0, tiers={"ETH/USDC:USDC": single(0.012, 50, 0.0, "E")})
    acct.fill(ETH_USDC, -2.0, 3_000.0, leverage=10)
    acct.set_oracle(ETH_USDC, 3_000.0)
    acct.set_mark(ETH_USDC, 3_010.0)
    assert dydx_tick_rate(0.0008) == pytest.approx(0.0001)
    assert acct.settle_funding(ETH_USDC, dydx_tick_rate(0.0008)) == pytest.approx(0.6)


def test_funding_reaches_both_hedge_legs() -> None:
    # long 1 and short 0.5 at mark 100,000, rate 0.01 %: −10 + 5 = −5
    acct = account(BINANCE, 100_000.0, position_mode="hedge")
    acct.fill(BTC, 1.0, 100_000.0, leg="LONG", leverage=20)
    acct.fill(BTC, -0.5, 100_000.0, leg="SHORT", leverage=20)
    assert acct.settle_funding(BTC, 0.0001) == pytest.approx(-5.0)


def test_funding_errors_and_no_positions() -> None:
    acct = account(BINANCE, 100.0)
    acct.register(BTC)
    assert acct.settle_funding(BTC, 0.0001) == 0.0
    assert len(acct.ledger) == 1
    with pytest.raises(ConfigError, match="rate"):
        acct.settle_funding(BTC, float("nan"))
    with pytest.raises(ConfigError, match="price"):
        acct.settle_funding(BTC, 0.0001, price=0.0)


# ---------------------------------------------------------------------------------------------
# Rates
# ---------------------------------------------------------------------------------------------


def test_premium_index_samples() -> None:
    # index 100,000: impact bid 100,100 → +100/100,000; impact ask 99,900 → −100/100,000
    assert premium_index(100_100.0, 100_200.0, 100_000.0) == pytest.approx(0.001)
    assert premium_index(99_800.0, 99_900.0, 100_000.0) == pytest.approx(-0.001)
    assert premium_index(99_990.0, 100_010.0, 100_000.0) == 0.0
    with pytest.raises(ConfigError, match="index_price"):
        premium_index(1.0, 1.0, 0.0)


def test_bn17_premium_near_the_interest_gives_the_interest_rate() -> None:
    # any P̄ within ±0.05 % of I = 0.01 %: F = P̄ + (I − P̄) = I
    for samples in ([0.0003, 0.0002, -0.0001], [0.0], [-0.0003]):
        assert binance_funding_rate(samples) == pytest.approx(0.0001)


def test_binance_rate_clamp_interval_and_cap() -> None:
    # P̄ 0.1 %: 0.001 + clamp(−0.0009) = 0.001 − 0.0005 = 0.0005 per 8 h; per 4 h half of it
    assert binance_funding_rate([0.001]) == pytest.approx(0.0005)
    assert binance_funding_rate([0.001], interval_hours=4) == pytest.approx(0.00025)
    # P̄ 1 %: 0.0095 → capped at 0.3 %; −1 % → floored at −0.3 %
    assert binance_funding_rate([0.01]) == pytest.approx(0.003)
    assert binance_funding_rate([-0.01]) == pytest.approx(-0.003)
    with pytest.raises(ConfigError, match="floor"):
        binance_funding_rate([0.0], cap=0.001, floor=0.002)
    with pytest.raises(ConfigError, match="premiums"):
        binance_funding_rate([])


def test_premium_weights() -> None:
    # samples [0, 0.3 %]: linear (1·0 + 2·0.003)/3 = 0.2 %; uniform 0.15 %
    assert average_premium([0.0, 0.003], "linear") == pytest.approx(0.002)
    assert average_premium([0.0, 0.003], "uniform") == pytest.approx(0.0015)
    # F = P̄ − 0.05 %: 0.15 % (linear), 0.1 % (uniform)
    assert binance_funding_rate([0.0, 0.003]) == pytest.approx(0.0015)
    assert binance_funding_rate([0.0, 0.003], weights="uniform") == pytest.approx(0.001)
    with pytest.raises(ConfigError, match="weights"):
        average_premium([0.0], "exponential")  # type: ignore[arg-type]


def test_bn18_impact_margin_notional() -> None:
    # 200 USDT ÷ (1/20) = 4,000; dYdX 500 USDC ÷ IMF 2 % (50x) = 25,000
    assert impact_notional(200.0, 20) == pytest.approx(4_000.0)
    assert impact_notional(500.0, 50) == pytest.approx(25_000.0)


def test_hl11_hl12_hl14_hyperliquid_rates() -> None:
    # HL-11: 1 % premium → F8 = 0.01 − 0.0005 = 0.95 % → hourly 0.11875 %
    assert hyperliquid_funding_rate([0.01]) == pytest.approx(0.0011875)
    # HL-12: zero premium → F8 = I = 0.01 % → 0.0000125 per hour
    assert hyperliquid_funding_rate([0.0, 0.0]) == pytest.approx(0.0000125)
    # HL-14: 50 % premium → 0.4995/8 = 6.24 % → capped at 4 %/h
    assert hyperliquid_funding_rate([0.5]) == pytest.approx(0.04)
    assert hyperliquid_funding_rate([-0.5]) == pytest.approx(-0.04)


def test_dydx_rates() -> None:
    # Large-Cap IMF 2 %, MMF 1.2 %: clamp ±6·0.8 % = ±4.8 % per 8 h
    lc = {"initial_margin_fraction": 0.02, "maintenance_margin_fraction": 0.012}
    assert dydx_funding_rate([0.1] * 60, **lc) == pytest.approx(0.048)
    assert dydx_funding_rate([-0.1] * 60, **lc) == pytest.approx(-0.048)
    # 30 samples of 0.2 %, padded with zeros to 60: 0.1 %; plus default funding 0.01 %
    assert dydx_funding_rate([0.002] * 30, **lc) == pytest.approx(0.001)
    assert dydx_funding_rate([0.002] * 30, default_funding=0.0001, **lc) == pytest.approx(0.0011)
    # tails: 60 samples 0..59 (×1e-5), 5 % each side → 6 removed, 3 per end: mean of 3..56
    samples = np.arange(60) * 1e-5
    assert dydx_funding_rate(samples, tail_ratio=0.05, **lc) == pytest.approx(29.5e-5)
    with pytest.raises(ConfigError, match="tail_ratio"):
        dydx_funding_rate(samples, tail_ratio=0.5, **lc)
    with pytest.raises(ConfigError, match="min_samples"):
        dydx_funding_rate(samples, min_samples=0, **lc)


# ---------------------------------------------------------------------------------------------
# Schedule
# ---------------------------------------------------------------------------------------------


def test_eight_hour_schedule_at_00_08_16_utc() -> None:
    schedule = FundingSchedule.binance()
    day = ms(2024, 3, 1)
    assert schedule.next_time(day) == day + 8 * HOUR_MS
    assert schedule.next_time(day + 8 * HOUR_MS - 1) == day + 8 * HOUR_MS
    assert schedule.next_time(day + 16 * HOUR_MS) == day + 24 * HOUR_MS
    assert schedule.is_funding_time(day + 16 * HOUR_MS)
    assert not schedule.is_funding_time(day + HOUR_MS)
    assert FundingSchedule.fixed(1).next_time(day + 1) == day + HOUR_MS


def test_bn20_capped_rate_switches_to_hourly_and_back_to_4h() -> None:
    schedule = FundingSchedule.binance(cap=0.003)
    t = ms(2026, 2, 1)
    schedule.record(t, 0.003)  # a settlement at the cap
    assert schedule.interval_hours == 1.0
    assert schedule.next_time(t) == t + HOUR_MS
    # 15 calm settlements, then one above 0.025 %: the count starts over
    for i in range(1, 16):
        schedule.record(t + i * HOUR_MS, 0.0002)
    schedule.record(t + 16 * HOUR_MS, 0.0003)
    assert schedule.interval_hours == 1.0
    # 16 consecutive with |rate| ≤ 0.025 %: from the 17th cycle on, every 4 h
    for i in range(17, 32):
        schedule.record(t + i * HOUR_MS, -0.00025)
        assert schedule.interval_hours == 1.0
    schedule.record(t + 32 * HOUR_MS, 0.0001)
    assert schedule.interval_hours == 4.0
    assert schedule.next_time(t + 32 * HOUR_MS) == t + 36 * HOUR_MS
    schedule.record(t + 36 * HOUR_MS, -0.003)  # at the floor: hourly again
    assert schedule.interval_hours == 1.0


def test_bn20_rules_apply_only_from_their_dates() -> None:
    before_cap_rule = FundingSchedule.binance()
    before_cap_rule.record(ms(2025, 5, 1, 16), 0.003)
    assert before_cap_rule.interval_hours == 8.0
    before_revert_rule = FundingSchedule.binance()
    t = ms(2025, 12, 1)
    before_revert_rule.record(t, 0.003)
    for i in range(1, 40):
        before_revert_rule.record(t + i * HOUR_MS, 0.0)
    assert before_revert_rule.interval_hours == 1.0


def test_schedule_validation() -> None:
    with pytest.raises(ConfigError, match="interval_hours"):
        FundingSchedule.fixed(0.0)
    with pytest.raises(ConfigError, match="revert_after"):
        FundingSchedule(revert_after=0)
    with pytest.raises(ConfigError, match="rate"):
        FundingSchedule.binance().record(0, float("inf"))
