"""Liquidation outcome models (MARGIN_SPEC §1.7, §2.5, §4, §5, §7.5), with hand calculations."""

from __future__ import annotations

import dataclasses

import pytest
from margin_helpers import (
    BINANCE,
    BTC,
    BTC_USDC,
    DYDX,
    ETH,
    ETH_USDC,
    HYPERLIQUID,
    HYPERLIQUID_BTC_ROWS,
    account,
    books_balance,
    hyperliquid,
    single,
)

from levtrade.errors import ConfigError, OrderRejected
from levtrade.margin import CROSS_POOL, Account, InsuranceFund, LiquidationOutcome

HL_TIERS = {"BTC/USDC:USDC": hyperliquid(HYPERLIQUID_BTC_ROWS, "BTC/USDC:USDC")}
BOOK = "isolated:BTC/USDT:USDT:BOTH"
HL_BOOK = "isolated:BTC/USDC:USDC:BOTH"


def gen05(venue=BINANCE, mark: float = 95_400.0) -> Account:
    """Isolated long 10 BTC @100k with 50,000 (20x): BP 95,000; LP (tier 3)
    (1,000,000 − 50,000 − 1,500)/(10·0.9935) = 95,470.56; cross wallet 1,000 untouched."""
    acct = account(venue, 1_000.0)
    acct.load_position(
        BTC,
        size=10.0,
        entry_price=100_000.0,
        leverage=20,
        margin_mode="isolated",
        isolated_margin=50_000.0,
    )
    assert round(acct.liquidation_price("BTC/USDT:USDT"), 2) == 95_470.56
    acct.set_mark(BTC, mark)
    return acct


# ---------------------------------------------------------------------------------------------
# BANKRUPTCY_CLOSE (Binance, Bybit)
# ---------------------------------------------------------------------------------------------


def test_gen05_bn19_fill_better_than_bankruptcy_goes_to_the_fund() -> None:
    # 10 BTC into a thin bid book: VWAP 95,110 vs BP 95,000 → 10·110 = +1,100 to the fund
    acct = gen05()
    result = acct.liquidate(("BTC/USDT:USDT", "BOTH"), prices={"BTC/USDT:USDT": 95_110.0}, time=9)
    assert result.outcome is LiquidationOutcome.FULL
    assert result.insurance_fund == pytest.approx(1_100.0)
    assert result.realized_pnl == pytest.approx(-48_900.0)
    assert result.margin_before == pytest.approx(50_000.0)
    assert result.trader_loss == pytest.approx(50_000.0)  # the whole isolated margin
    assert result.released == 0.0
    assert acct.positions == []
    assert acct.wallet_balance == pytest.approx(1_000.0)
    assert acct.insurance_fund.balance("USDT") == pytest.approx(1_100.0)
    assert acct.ledger.balance("insurance_fund") == pytest.approx(1_100.0)
    assert acct.ledger.balance(BOOK) == pytest.approx(0.0, abs=1e-9)
    assert {e.time for e in acct.ledger.entries[1:]} == {0, 9}
    books_balance(acct)


def test_bankruptcy_close_at_the_mark() -> None:
    # executes at the mark 95,400: 50,000 − 46,000 = 4,000 to the fund
    acct = gen05()
    result = acct.liquidate("BTC/USDT:USDT")
    assert result.insurance_fund == pytest.approx(4_000.0)
    assert result.legs[0].execution_price == 95_400.0


def test_gap_through_bankruptcy_is_covered_by_the_fund_not_the_trader() -> None:
    # fill at 94,000: PnL −60,000 on a 50,000 margin → the fund pays 10,000
    acct = gen05()
    result = acct.liquidate("BTC/USDT:USDT", prices={"BTC/USDT:USDT": 94_000.0})
    assert result.insurance_fund == pytest.approx(-10_000.0)
    assert result.trader_loss == pytest.approx(50_000.0)
    assert acct.wallet_balance == pytest.approx(1_000.0)
    books_balance(acct)


def test_clearance_fee_comes_out_of_the_remainder() -> None:
    # per-symbol 0.3 % (venue default 0.5 %): at the mark 95,400 the remainder is 4,000 and the
    # fee 0.3 %·954,000 = 2,862 → fund 1,138
    venue = dataclasses.replace(
        BINANCE, clearance_fee_rate=0.005, clearance_fee_rates={"BTC/USDT:USDT": 0.003}
    )
    acct = gen05(venue)
    result = acct.liquidate("BTC/USDT:USDT")
    assert result.fee == pytest.approx(2_862.0)
    assert result.insurance_fund == pytest.approx(1_138.0)
    assert acct.ledger.balance("liquidation_fees") == pytest.approx(2_862.0)
    books_balance(acct)


def test_clearance_fee_is_capped_at_what_remained() -> None:
    # at 95,110 the remainder is 1,100 < 0.3 %·951,100 = 2,853.3: fee 1,100, fund 0
    venue = dataclasses.replace(BINANCE, clearance_fee_rate=0.003)
    acct = gen05(venue)
    result = acct.liquidate("BTC/USDT:USDT", prices={"BTC/USDT:USDT": 95_110.0})
    assert result.fee == pytest.approx(1_100.0)
    assert result.insurance_fund == pytest.approx(0.0, abs=1e-9)


def test_slippage_moves_the_execution_against_the_position() -> None:
    # 95,400·(1 − 0.001) = 95,304.6 → remainder 50,000 − 46,954 = 3,046
    acct = gen05()
    result = acct.liquidate("BTC/USDT:USDT", slippage=0.001)
    assert result.legs[0].execution_price == pytest.approx(95_304.6)
    assert result.insurance_fund == pytest.approx(3_046.0)


def test_cross_pool_bankruptcy_close_ends_at_zero() -> None:
    # WB 10,000; long 1 BTC @100k, short 10 ETH @3,000 (0.4 % both). BTC mark 90,400:
    # equity 400, MM 361.6 + 120 = 481.6 → liquidatable. BTC executes at 90,300: −9,700 →
    # wallet 300 → to the fund; both positions closed.
    acct = account(BINANCE, 10_000.0, tiers={"ETH/USDT:USDT": single(0.004, 125, 0.0, "E")})
    acct.fill(BTC, 1.0, 100_000.0, leverage=20)
    acct.fill(ETH, -10.0, 3_000.0, leverage=20)
    acct.set_mark(BTC, 91_000.0)
    assert not acct.liquidatable  # equity 1,000 > 364 + 120
    acct.set_mark(BTC, 90_400.0)
    assert acct.liquidatable and acct.liquidatable_pools() == [CROSS_POOL]
    result = acct.liquidate(CROSS_POOL, prices={"BTC/USDT:USDT": 90_300.0})
    assert [leg.key.symbol for leg in result.legs] == ["BTC/USDT:USDT", "ETH/USDT:USDT"]
    assert result.insurance_fund == pytest.approx(300.0)
    assert result.margin_after == pytest.approx(0.0, abs=1e-9)
    assert acct.wallet_balance == pytest.approx(0.0, abs=1e-9)
    assert acct.positions == []
    books_balance(acct)


def test_liquidating_a_healthy_pool_is_rejected() -> None:
    acct = gen05(mark=96_000.0)
    with pytest.raises(OrderRejected, match="pool: BTC/USDT:USDT BOTH is not liquidatable"):
        acct.liquidate("BTC/USDT:USDT")
    with pytest.raises(OrderRejected, match="pool: the cross pool has no positions"):
        acct.liquidate()
    acct2 = account(BINANCE, 10_000.0)
    acct2.fill(BTC, 0.1, 100_000.0, leverage=10)
    with pytest.raises(OrderRejected, match="pool: the cross pool is not liquidatable"):
        acct2.liquidate(CROSS_POOL)
    with pytest.raises(OrderRejected, match="is cross; liquidate the 'cross' pool"):
        acct2.liquidate("BTC/USDT:USDT")
    with pytest.raises(ConfigError, match="slippage"):
        acct2.liquidate(CROSS_POOL, slippage=1.0)
    with pytest.raises(ConfigError, match="prices"):
        acct2.liquidate(CROSS_POOL, prices={"BTC/USDT:USDT": -1.0})


def test_insurance_fund_is_per_currency_and_shared() -> None:
    fund = InsuranceFund({"USDC": 7.0})
    first = account(BINANCE, 1_000.0, insurance_fund=fund)
    second = account(BINANCE, 1_000.0, insurance_fund=fund)
    for acct in (first, second):
        acct.load_position(
            BTC,
            size=10.0,
            entry_price=100_000.0,
            leverage=20,
            margin_mode="isolated",
            isolated_margin=50_000.0,
        )
        acct.set_mark(BTC, 95_400.0)
        acct.liquidate("BTC/USDT:USDT")  # 4,000 each (see test_bankruptcy_close_at_the_mark)
    assert fund.balance("USDT") == pytest.approx(8_000.0)
    assert fund.balance("USDC") == 7.0


# ---------------------------------------------------------------------------------------------
# MARKET_CLOSE (Hyperliquid)
# ---------------------------------------------------------------------------------------------


def hl_isolated(size: float, margin: float, leverage: int, wallet: float = 0.0) -> Account:
    acct = account(HYPERLIQUID, wallet, tiers=HL_TIERS)
    acct.load_position(
        BTC_USDC,
        size=size,
        entry_price=100_000.0,
        leverage=leverage,
        margin_mode="isolated",
        isolated_margin=margin,
    )
    return acct


def test_hl07_partial_then_full_within_the_cooldown() -> None:
    # long 2 BTC @100k, margin 20,000, MMR 1.25 %. Mark 91,000: equity 2,000, MM 2,275;
    # ⅔·MM = 1,516.67 < 2,000 → book close; notional 182,000 > 100k → 20 % first:
    # 0.4 BTC at 91,000 realizes −3,600 (margin 16,400), 1.6 BTC left: equity 2,000, MM 1,820.
    acct = hl_isolated(2.0, 20_000.0, 10)
    acct.set_mark(BTC_USDC, 91_000.0)
    result = acct.liquidate("BTC/USDC:USDC", time=1_000)
    assert result.outcome is LiquidationOutcome.PARTIAL
    assert result.legs[0].size_closed == pytest.approx(0.4)
    assert result.realized_pnl == pytest.approx(-3_600.0)
    assert result.fee == 0.0
    pos = acct.position("BTC/USDC:USDC")
    assert pos.size == pytest.approx(1.6)
    assert pos.isolated_margin == pytest.approx(16_400.0)
    assert not acct.is_liquidatable(pos)
    # 10 s later at 90,800: equity 16,400 − 14,720 = 1,680 ≤ MM 1,816 (⅔ = 1,210.67):
    # inside the 30 s cooldown → the whole position; the trader keeps 1,680
    acct.set_mark(BTC_USDC, 90_800.0)
    result = acct.liquidate("BTC/USDC:USDC", time=11_000)
    assert result.outcome is LiquidationOutcome.FULL
    assert result.released == pytest.approx(1_680.0)
    assert acct.wallet_balance == pytest.approx(1_680.0)
    assert acct.positions == []
    books_balance(acct)


def test_hl07_partial_again_after_the_cooldown() -> None:
    acct = hl_isolated(2.0, 20_000.0, 10)
    acct.set_mark(BTC_USDC, 91_000.0)
    acct.liquidate("BTC/USDC:USDC", time=1_000)
    acct.set_mark(BTC_USDC, 90_800.0)
    # 40 s later, notional 1.6·90,800 = 145,280 > 100k: 20 % of 1.6 = 0.32
    result = acct.liquidate("BTC/USDC:USDC", time=41_000)
    assert result.outcome is LiquidationOutcome.PARTIAL
    assert result.legs[0].size_closed == pytest.approx(0.32)


def test_hl06_backstop_takes_the_isolated_margin() -> None:
    # HL-02 at mark 90,700 (below the 90,756.30 backstop price): equity 700 < ⅔·1,133.75
    acct = hl_isolated(1.0, 10_000.0, 10, wallet=500.0)
    acct.set_mark(BTC_USDC, 90_700.0)
    result = acct.liquidate("BTC/USDC:USDC")
    assert result.outcome is LiquidationOutcome.BACKSTOP
    assert result.liquidator_vault == pytest.approx(10_000.0)
    assert result.trader_loss == pytest.approx(10_000.0)
    assert acct.ledger.balance("liquidator_vault") == pytest.approx(10_000.0)
    assert acct.wallet_balance == pytest.approx(500.0)
    assert acct.positions == []
    books_balance(acct)


def test_hl_market_close_above_the_backstop_keeps_the_residual() -> None:
    # mark 90,800: equity 800 ≥ ⅔·1,135 = 756.67 → market close, notional ≤ 100k → whole;
    # the trader keeps 800, no fee
    acct = hl_isolated(1.0, 10_000.0, 10)
    acct.set_mark(BTC_USDC, 90_800.0)
    result = acct.liquidate("BTC/USDC:USDC")
    assert result.outcome is LiquidationOutcome.FULL
    assert result.released == pytest.approx(800.0)
    assert result.insurance_fund == 0.0
    assert acct.wallet_balance == pytest.approx(800.0)


def test_hl_cross_backstop_takes_the_cross_wallet() -> None:
    # WB 10,000, long 1 BTC @100k cross; mark 90,000: equity 0 < ⅔·MM → the vault takes the
    # position and the 10,000 wallet
    acct = account(HYPERLIQUID, 10_000.0, tiers=HL_TIERS)
    acct.fill(BTC_USDC, 1.0, 100_000.0, leverage=10)
    acct.set_mark(BTC_USDC, 90_000.0)
    result = acct.liquidate(CROSS_POOL)
    assert result.outcome is LiquidationOutcome.BACKSTOP
    assert result.liquidator_vault == pytest.approx(10_000.0)
    assert acct.wallet_balance == pytest.approx(0.0)
    assert acct.positions == []
    books_balance(acct)


def test_process_liquidations_runs_isolated_pools_first() -> None:
    # WB 1,000: cross long 0.1 BTC @100k (10x) and isolated long 10 ETH @10,000 with 10,000,
    # both at 1.25 % (40x). An isolated residual returned to cross can rescue the cross pool.
    eth_tiers = {
        **HL_TIERS,
        "ETH/USDC:USDC": single(0.0125, 40, 0.0, "ETH/USDC:USDC"),
    }
    acct = account(HYPERLIQUID, 1_000.0, tiers=eth_tiers)
    acct.load_position(BTC_USDC, size=0.1, entry_price=100_000.0, leverage=10, margin_mode="cross")
    acct.load_position(
        ETH_USDC,
        size=10.0,
        entry_price=10_000.0,
        leverage=10,
        margin_mode="isolated",
        isolated_margin=10_000.0,
    )
    acct.set_mark(BTC_USDC, 91_000.0)
    acct.set_mark(ETH_USDC, 9_100.0)
    # cross: 1,000 − 900 = 100 ≤ 0.0125·9,100 = 113.75; ETH: 10,000 − 9,000 = 1,000 ≤ 1,137.5
    # and ≥ ⅔·1,137.5 → market close, notional 91,000 ≤ 100k → whole, 1,000 back to cross
    assert acct.liquidatable_pools() == [("ETH/USDC:USDC", "BOTH"), CROSS_POOL]
    results = acct.process_liquidations(time=5)
    assert [r.pool for r in results] == ["isolated:ETH/USDC:USDC:BOTH"]
    assert results[0].released == pytest.approx(1_000.0)
    assert not acct.liquidatable  # cross equity 1,100 > 113.75
    assert acct.wallet_balance == pytest.approx(2_000.0)
    books_balance(acct)


# ---------------------------------------------------------------------------------------------
# PENALTY_CLOSE (dYdX)
# ---------------------------------------------------------------------------------------------


def dydx_short() -> Account:
    # e = 1,000, short 3 ETH @3,000, MMF 5 % (DY-01, LP 3,174.60)
    acct = account(DYDX, 1_000.0, tiers={"ETH/USDC:USDC": single(0.05, 10, 0.0, "E")})
    acct.fill(ETH_USDC, -3.0, 3_000.0, leverage=10)
    return acct


def test_dydx_penalty_to_the_fund_trader_keeps_the_rest() -> None:
    # mark 3,180: equity 1,000 − 540 = 460 ≤ MM 0.05·9,540 = 477; penalty 1.5 %·9,540 = 143.1
    acct = dydx_short()
    acct.set_mark(ETH_USDC, 3_180.0)
    result = acct.liquidate()
    assert result.fee == pytest.approx(143.1)
    assert result.insurance_fund == pytest.approx(143.1)
    assert acct.wallet_balance == pytest.approx(316.9)
    books_balance(acct)


def test_dydx_gap_beyond_bankruptcy_penalty_zero_fund_covers() -> None:
    # executes at 3,400: PnL −1,200 → equity −200: no penalty, the fund pays 200
    acct = dydx_short()
    acct.set_mark(ETH_USDC, 3_180.0)
    result = acct.liquidate(prices={"ETH/USDC:USDC": 3_400.0})
    assert result.fee == 0.0
    assert result.insurance_fund == pytest.approx(-200.0)
    assert acct.wallet_balance == pytest.approx(0.0, abs=1e-9)
    books_balance(acct)
