"""Spot and spot-margin accounts: margin levels, thresholds, auto-borrow and auto-repay, fees,
liquidation, isolated pairs and the ledger.

Expected numbers are MARGIN_SPEC.md §11's (SM-03 long, SM-04 short, Binance's thresholds),
Kraken's own worked examples (support articles 203325763 "Margin call level and margin
liquidation level" and 203053156 "Margin trading examples"), or hand calculations written out
beside them.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pytest
from spot_helpers import (
    BINANCE,
    HOUR,
    KRAKEN,
    binance_margin,
    close,
    kraken_margin,
    pair,
    spot_state,
)

from levtrade.errors import (
    ConfigError,
    InsufficientMargin,
    LeverageError,
    OrderRejected,
    TransferRejected,
)
from levtrade.margin import MarginStatus, SpotAccount
from levtrade.margin.ledger import SpotEntryKind

BTC_USDT = pair("BTC/USDT")
BTC_USD = pair("BTC/USD")
NO_INTEREST = {"USDT": 0.0, "BTC": 0.0}


def sm03_long(**kwargs: Any) -> SpotAccount:
    """Equity 1,000 USDT, buy 0.06 BTC at 50,000: 2,000 USDT borrowed automatically."""
    acct = binance_margin({"USDT": 1000.0}, interest_rates=NO_INTEREST, **kwargs)
    acct.set_price("BTC", 50_000.0)
    fill = acct.fill(BTC_USDT, 0.06, 50_000.0)
    assert fill.borrowed == (("USDT", 2000.0),)
    return acct


def sm04_short(**kwargs: Any) -> SpotAccount:
    """Equity 1,000 USDT, borrow 0.04 BTC at 50,000 and sell it."""
    acct = binance_margin({"USDT": 1000.0}, interest_rates=NO_INTEREST, **kwargs)
    acct.set_price("BTC", 50_000.0)
    fill = acct.fill(BTC_USDT, -0.04, 50_000.0)
    assert fill.borrowed == (("BTC", 0.04),)
    return acct


# -- SM-03 / SM-04: margin level, margin-call and liquidation prices --------------------------


def test_sm03_long_margin_level_and_prices() -> None:
    acct = sm03_long()
    assert acct.balances() == {"BTC": 0.06}
    assert acct.loans() == {"USDT": 2000.0}
    # ML = 0.06 × 50,000 / 2,000 = 1.5
    assert acct.margin_level() == pytest.approx(1.5, rel=1e-12)
    # margin call: 0.06·P = 1.3 × 2,000 → P = 43,333.33; liquidation: 1.1 × 2,000 / 0.06
    assert acct.margin_call_price("BTC") == pytest.approx(43_333.33, abs=0.005)
    assert acct.liquidation_price("BTC") == pytest.approx(36_666.67, abs=0.005)
    assert acct.equity() == pytest.approx(1000.0, rel=1e-12)


def test_sm03_with_unpaid_interest() -> None:
    # 12 USDT of unpaid interest: P_liq = 1.1 × 2,012 / 0.06 = 36,886.67
    acct = binance_margin({"BTC": 0.06}, interest_rates=NO_INTEREST)
    acct.set_price("BTC", 50_000.0)
    acct.load_loan("USDT", 2000.0, interest=12.0)
    assert acct.liquidation_price("BTC") == pytest.approx(36_886.67, abs=0.005)
    assert acct.margin_level() == pytest.approx(3000.0 / 2012.0, rel=1e-12)


def test_sm04_short_margin_level_and_prices() -> None:
    acct = sm04_short()
    assert acct.balances() == {"USDT": 3000.0}
    assert acct.loans() == {"BTC": 0.04}
    # ML = 3,000 / (0.04 × 50,000) = 1.5
    assert acct.margin_level() == pytest.approx(1.5, rel=1e-12)
    # 3,000 / (0.04·P) = 1.3 → P = 57,692.31; = 1.1 → P = 68,181.82
    assert acct.margin_call_price("BTC") == pytest.approx(57_692.31, abs=0.005)
    assert acct.liquidation_price("BTC") == pytest.approx(68_181.82, abs=0.005)


@pytest.mark.parametrize(
    ("price", "status"),
    # one loan of 1,000 USDT against 0.05 BTC: ML = 0.05·P / 1,000
    [
        (50_000.0, MarginStatus.NORMAL),  # 2.5 > 2: trade, borrow, transfer out
        (40_000.0, MarginStatus.NO_TRANSFER),  # 2.0: 1.5 < ML ≤ 2
        (36_000.0, MarginStatus.NO_TRANSFER),  # 1.8
        (30_000.0, MarginStatus.NO_BORROW),  # 1.5: 1.3 < ML ≤ 1.5
        (28_000.0, MarginStatus.NO_BORROW),  # 1.4
        (26_000.0, MarginStatus.MARGIN_CALL),  # 1.3: 1.1 < ML ≤ 1.3
        (24_000.0, MarginStatus.MARGIN_CALL),  # 1.2
        (22_000.0, MarginStatus.LIQUIDATION),  # 1.1: ML ≤ 1.1
        (21_000.0, MarginStatus.LIQUIDATION),  # 1.05
    ],
)
def test_binance_cross_3x_thresholds(price: float, status: MarginStatus) -> None:
    acct = binance_margin({"BTC": 0.05}, interest_rates=NO_INTEREST)
    acct.set_price("BTC", price)
    acct.load_loan("USDT", 1000.0)
    assert acct.status() is status
    assert acct.liquidatable() is (status is MarginStatus.LIQUIDATION)


def test_borrowing_stops_at_the_borrow_level() -> None:
    acct = binance_margin({"USDT": 1000.0}, interest_rates=NO_INTEREST)
    acct.set_price("BTC", 50_000.0)
    # (1,000 + x) / x ≥ 1.5 → x ≤ 2,000
    assert acct.max_borrowable("USDT") == pytest.approx(2000.0, rel=1e-12)
    before = spot_state(acct)
    with pytest.raises(InsufficientMargin, match=r"amount: borrowing 2000\.01 USDT"):
        acct.borrow("USDT", 2000.01)
    outcome = acct.try_fill(BTC_USDT, 0.0601, 50_000.0)
    assert isinstance(outcome, InsufficientMargin)
    assert spot_state(acct) == before
    acct.borrow("USDT", 2000.0)
    assert acct.margin_level() == pytest.approx(1.5, rel=1e-12)


def test_leverage_above_the_venue_maximum_is_refused() -> None:
    acct = binance_margin({"USDT": 1000.0}, interest_rates=NO_INTEREST)
    with pytest.raises(LeverageError, match=r"leverage: 5 is above binance-like's margin maximum"):
        acct.fill(BTC_USDT, 0.01, 50_000.0, leverage=5)


# -- Kraken's worked examples ----------------------------------------------------------------


def test_kraken_long_margin_call_price_article_203325763() -> None:
    # trade balance 10,000 USD; buy 1 BTC at 20,000 with 5:1: used margin 4,000, level 250 %;
    # margin call where equity = 80 % × 4,000 = 3,200: P/L −6,800, valuation 13,200
    acct = kraken_margin({"USD": 10_000.0}, interest_rates={"USD": 0.0})
    acct.set_price("BTC", 20_000.0)
    fill = acct.fill(BTC_USD, 1.0, 20_000.0, leverage=5)
    assert fill.borrowed == (("USD", 20_000.0),)  # the whole cost from the margin pool
    assert acct.balances() == {"USD": 10_000.0, "BTC": 1.0}
    assert acct.used_margin() == pytest.approx(4000.0, rel=1e-12)
    assert acct.margin_level() == pytest.approx(2.5, rel=1e-12)
    assert acct.margin_call_price("BTC") == pytest.approx(13_200.0, rel=1e-12)
    # liquidation at 40 %: equity 1,600 → P/L −8,400 → 11,600 (the same method)
    assert acct.liquidation_price("BTC") == pytest.approx(11_600.0, rel=1e-12)


def test_kraken_long_at_the_call_level_article_203325763() -> None:
    # 10,000 USD, 1.5 BTC at 30,000 (45,000) with 5:1: used margin 9,000; at 28,133.3 the
    # loss is 2,800.05, equity 7,199.95, level 7,199.95 / 9,000 = 79.999 %
    acct = kraken_margin({"USD": 10_000.0}, interest_rates={"USD": 0.0})
    acct.set_price("BTC", 30_000.0)
    acct.fill(BTC_USD, 1.5, 30_000.0, leverage=5)
    acct.set_price("BTC", 28_133.3)
    assert acct.equity() == pytest.approx(7_199.95, abs=1e-6)
    assert acct.margin_level() == pytest.approx(0.79999444, abs=1e-8)
    assert acct.status() is MarginStatus.MARGIN_CALL
    # exactly at 80 %: 30,000 − 2,800 / 1.5 = 28,133.33
    assert acct.margin_call_price("BTC") == pytest.approx(28_133.333333, abs=1e-5)


def test_kraken_short_article_203053156() -> None:
    # 5,000 USD, short 10,000 of BTC at 50,000 with 5x: 0.2 BTC from the margin pool, margin
    # 0.04 BTC = 2,000, level 250 %; at 65,200: loss 3,040, equity 1,960, used margin
    # 0.04 × 65,200 = 2,608, level 75 %
    acct = kraken_margin({"USD": 5000.0}, interest_rates={"BTC": 0.0})
    acct.set_price("BTC", 50_000.0)
    fill = acct.fill(BTC_USD, -0.2, 50_000.0, leverage=5)
    assert fill.borrowed == (("BTC", 0.2),)
    assert acct.margin_level() == pytest.approx(2.5, rel=1e-12)
    acct.set_price("BTC", 65_200.0)
    assert acct.equity() == pytest.approx(1960.0, rel=1e-12)
    assert acct.used_margin() == pytest.approx(2608.0, rel=1e-12)
    assert acct.margin_level() == pytest.approx(1960.0 / 2608.0, rel=1e-12)  # 75.15 %
    assert acct.status() is MarginStatus.MARGIN_CALL
    # by hand: (15,000 − 0.2·P) / (0.04·P) = 0.8 → P = 15,000 / 0.232 = 64,655.17;
    # = 0.4 → P = 15,000 / 0.216 = 69,444.44
    assert acct.margin_call_price("BTC") == pytest.approx(64_655.17, abs=0.005)
    assert acct.liquidation_price("BTC") == pytest.approx(69_444.44, abs=0.005)


def test_kraken_refuses_a_position_that_starts_below_100_percent() -> None:
    # the same short at 2x starts at exactly 100 % (allowed); at 1x it would start at 50 %
    at_2x = kraken_margin({"USD": 5000.0}, interest_rates={"BTC": 0.0})
    at_2x.set_price("BTC", 50_000.0)
    at_2x.fill(BTC_USD, -0.2, 50_000.0, leverage=2)
    assert at_2x.margin_level() == pytest.approx(1.0, rel=1e-12)
    # price to 54,500: equity 5,000 − 900 = 4,100; used margin 0.1 × 54,500 = 5,450 → 75.2 %
    at_2x.set_price("BTC", 54_500.0)
    assert at_2x.margin_level() == pytest.approx(4100.0 / 5450.0, rel=1e-12)
    at_1x = kraken_margin({"USD": 5000.0}, interest_rates={"BTC": 0.0})
    at_1x.set_price("BTC", 50_000.0)
    before = spot_state(at_1x)
    assert isinstance(at_1x.try_fill(BTC_USD, -0.2, 50_000.0, leverage=1), InsufficientMargin)
    assert spot_state(at_1x) == before


def test_kraken_fees_in_quote_and_opening_fee() -> None:
    # 10,000 USD; buy 1 BTC at 20,000 with 5x, taker 0.26 %, USD rate 0.025 % per 4 h:
    # borrow 20,000; trading fee 52 USD from the balance; opening fee 20,000 × 0.00025 = 5
    acct = kraken_margin(
        {"USD": 10_000.0}, venue=replace(KRAKEN, taker_fee=0.0026), interest_rates={"USD": 0.00025}
    )
    acct.set_price("BTC", 20_000.0)
    fill = acct.fill(pair("BTC/USD", 0.0026), 1.0, 20_000.0, leverage=5, time=0)
    assert (fill.fee, fill.fee_asset) == (pytest.approx(52.0), "USD")
    assert acct.balance("USD") == pytest.approx(9948.0, rel=1e-12)
    assert acct.unpaid_interest("USD") == pytest.approx(5.0, rel=1e-12)
    # equity 9,948 + 20,000 − 20,000 − 5 = 9,943; used margin 4,000
    assert acct.margin_level() == pytest.approx(9943.0 / 4000.0, rel=1e-12)


# -- fills: auto-borrow, fees in the asset received, auto-repay -------------------------------


def test_binance_round_trip_fees_in_the_received_asset_and_auto_repay() -> None:
    acct = binance_margin({"USDT": 1000.0}, interest_rates=NO_INTEREST)
    acct.set_price("BTC", 50_000.0)
    buy = acct.fill(pair("BTC/USDT", 0.001), 0.06, 50_000.0)
    # 3,000 USDT spent (1,000 own + 2,000 borrowed); 0.06 BTC less 0.1 % = 0.05994 BTC
    assert buy.borrowed == (("USDT", 2000.0),)
    assert (buy.fee, buy.fee_asset) == (pytest.approx(0.00006), "BTC")
    assert acct.balance("BTC") == pytest.approx(0.05994, rel=1e-12)
    assert acct.margin_level() == pytest.approx(0.05994 * 50_000 / 2000, rel=1e-12)
    sell = acct.fill(pair("BTC/USDT", 0.001), -0.05994, 55_000.0)
    # proceeds 3,296.70, fee 3.2967 USDT; 3,293.4033 delivered repays the 2,000
    assert (sell.fee, sell.fee_asset) == (pytest.approx(3.2967), "USDT")
    assert sell.repaid == (("USDT", pytest.approx(2000.0)),)
    assert acct.loans() == {}
    assert acct.balances() == {"USDT": pytest.approx(1293.4033, rel=1e-12)}
    assert acct.books_balance()


def test_short_close_size_buys_back_the_debt_with_its_fee() -> None:
    acct = sm04_short()
    btc = pair("BTC/USDT", 0.001)
    size = acct.close_size(btc)
    assert size == pytest.approx(0.04 / 0.999, rel=1e-12)
    fill = acct.fill(btc, size, 50_000.0)
    assert fill.repaid == (("BTC", pytest.approx(0.04)),)
    assert acct.loans() == {}
    # 3,000 − 0.04 / 0.999 × 50,000 = 997.998
    assert acct.balances() == {"USDT": pytest.approx(3000.0 - 2000.0 / 0.999, rel=1e-12)}


def test_explicit_borrow_and_repay() -> None:
    acct = binance_margin({"USDT": 5000.0}, interest_rates=NO_INTEREST)
    acct.set_price("BTC", 50_000.0)
    acct.fill(BTC_USDT, 0.01, 50_000.0, borrow=400.0)  # 500 spent: 400 borrowed, 100 own
    assert acct.loans() == {"USDT": 400.0}
    assert acct.balance("USDT") == pytest.approx(4900.0)
    with pytest.raises(OrderRejected, match=r"amount: repaying 5000"):
        acct.repay("USDT", 5000.0)
    assert acct.repay("USDT", 150.0) == 150.0
    assert acct.repay("USDT") == 250.0  # everything owed, from the free balance
    assert acct.loans() == {}


def test_transfer_out_keeps_the_margin_level_above_2() -> None:
    acct = binance_margin({"USDT": 5000.0}, interest_rates=NO_INTEREST)
    acct.borrow("USDT", 2000.0)  # 7,000 / 2,000 = 3.5
    acct.withdraw("USDT", 2000.0)  # 5,000 / 2,000 = 2.5
    before = spot_state(acct)
    with pytest.raises(TransferRejected, match=r"margin level at 2, at or below"):
        acct.withdraw("USDT", 1000.0)  # 4,000 / 2,000 = 2.0
    assert spot_state(acct) == before


# -- spot ----------------------------------------------------------------------------------------


def test_spot_is_long_only_without_leverage_and_never_liquidated() -> None:
    acct = SpotAccount(replace(BINANCE, taker_fee=0.001), {"USDT": 1000.0}, currency="USDT")
    btc = pair("BTC/USDT", 0.001)
    acct.fill(btc, 0.01, 50_000.0)  # 500 USDT for 0.01 BTC less 0.1 % in BTC
    assert acct.balances() == {"USDT": 500.0, "BTC": pytest.approx(0.00999, rel=1e-12)}
    before = spot_state(acct)
    assert isinstance(acct.try_fill(btc, -0.02, 50_000.0), OrderRejected)  # sells what it has
    assert isinstance(acct.try_fill(btc, 0.011, 50_000.0), OrderRejected)  # 550 > 500 USDT
    with pytest.raises(OrderRejected, match="borrow: a spot account does not borrow"):
        acct.borrow("USDT", 10.0)
    with pytest.raises(LeverageError, match="leverage: spot trades at 1x"):
        acct.fill(btc, 0.001, 50_000.0, leverage=3)
    assert spot_state(acct) == before
    acct.set_price("BTC", 60_000.0)
    assert acct.equity() == pytest.approx(500.0 + 0.00999 * 60_000.0, rel=1e-12)
    assert acct.levels() is None and acct.status() is MarginStatus.NORMAL
    assert not acct.liquidatable() and acct.liquidatable_pools() == []
    with pytest.raises(OrderRejected, match="pool: spot is not a margin pool"):
        acct.liquidation_price("BTC")


def test_spot_account_refuses_derivatives_and_futures_mode() -> None:
    with pytest.raises(ConfigError, match="trading_mode: a spot account trades"):
        SpotAccount(BINANCE, currency="USDT", trading_mode="futures")
    acct = SpotAccount(BINANCE, {"USDT": 100.0}, currency="USDT")
    with pytest.raises(ConfigError, match="is a derivative"):
        acct.fill(pair("BTC/USDT:USDT"), 0.001, 50_000.0)
    with pytest.raises(ConfigError, match="margin_mode: kraken-like has no isolated margin"):
        SpotAccount(KRAKEN, currency="USD", trading_mode="margin", margin_mode="isolated")


# -- liquidation ------------------------------------------------------------------------------


def test_sm03_liquidation_sells_collateral_repays_and_charges_the_fee() -> None:
    acct = sm03_long(venue=replace(BINANCE, liquidation_fee_rate=0.02))
    acct.set_price("BTC", 36_000.0)  # ML = 2,160 / 2,000 = 1.08 ≤ 1.1
    assert acct.liquidatable_pools() == ["cross"]
    (result,) = acct.process_liquidations(time=HOUR)
    # sell 0.06 at 36,000 = 2,160; fee 2 % × 2,160 = 43.2; repay 2,000 → 116.8 left
    assert result.sold == (("BTC", 0.06),)
    assert result.fee == pytest.approx(43.2, rel=1e-12)
    assert result.repaid == (("USDT", 2000.0),)
    assert result.insurance_fund == 0.0
    assert result.margin_level == pytest.approx(1.08, rel=1e-12)
    assert acct.balances() == {"USDT": pytest.approx(116.8, rel=1e-12)}
    assert acct.loans() == {} and not acct.liquidatable()
    assert acct.ledger("USDT").balance("liquidation_fees") == pytest.approx(43.2)
    assert acct.books_balance()


def test_liquidation_with_slippage_and_through_the_bankruptcy_price() -> None:
    slipped = sm03_long(venue=replace(BINANCE, liquidation_fee_rate=0.02))
    slipped.set_price("BTC", 36_000.0)
    result = slipped.liquidate(slippage=0.01)
    # sold at 35,640 → 2,138.4; fee 2 % of the 2,160 liquidated; 2,138.4 − 43.2 − 2,000
    assert slipped.balance("USDT") == pytest.approx(95.2, rel=1e-12)
    assert result.equity_before == pytest.approx(138.4, rel=1e-12)
    gapped = sm03_long(venue=replace(BINANCE, liquidation_fee_rate=0.02))
    gapped.set_price("BTC", 36_000.0)
    result = gapped.liquidate(prices={"BTC": 30_000.0})
    # 1,800 cannot repay 2,000: no fee, the venue covers 200, the trader keeps nothing
    assert (result.fee, result.insurance_fund) == (0.0, pytest.approx(200.0))
    assert gapped.balances() == {} and gapped.loans() == {}
    assert gapped.ledger("USDT").balance("insurance_fund") == pytest.approx(-200.0)
    assert gapped.books_balance()


def test_sm04_short_liquidation_buys_back_the_loan() -> None:
    acct = sm04_short(venue=replace(BINANCE, liquidation_fee_rate=0.02))
    acct.set_price("BTC", 70_000.0)  # 3,000 / 2,800 = 1.071
    result = acct.liquidate()
    # buy 0.04 BTC at 70,000 = 2,800; fee 2 % × 3,000 = 60 → 140 left
    assert result.bought == (("BTC", 0.04),)
    assert result.fee == pytest.approx(60.0, rel=1e-12)
    assert acct.balances() == {"USDT": pytest.approx(140.0, rel=1e-12)}
    assert acct.loans() == {}


def test_a_pool_above_its_liquidation_level_is_not_liquidated() -> None:
    acct = sm03_long()
    before = spot_state(acct)
    with pytest.raises(OrderRejected, match="pool: cross is not liquidatable"):
        acct.liquidate()
    assert spot_state(acct) == before


def test_isolated_pair_pool_liquidates_alone() -> None:
    acct = binance_margin(
        {"USDT": 5000.0},
        margin_mode="isolated",
        interest_rates=NO_INTEREST,
        venue=replace(BINANCE, isolated_liquidation_fee_rate=0.02),
    )
    acct.set_price("BTC", 50_000.0)
    acct.transfer("USDT", 1000.0, destination=BTC_USDT)
    fill = acct.fill(BTC_USDT, 0.06, 50_000.0)
    assert fill.pool == "isolated:BTC/USDT" and fill.borrowed == (("USDT", 2000.0),)
    assert acct.balances("spot") == {"USDT": 4000.0}
    assert acct.margin_level("BTC/USDT") == pytest.approx(1.5, rel=1e-12)
    with pytest.raises(OrderRejected, match="pool: spot is not a margin pool"):
        acct.borrow("USDT", 1.0)
    acct.set_price("BTC", 36_000.0)
    assert acct.liquidatable_pools() == ["isolated:BTC/USDT"]
    (result,) = acct.process_liquidations()
    assert result.pool == "isolated:BTC/USDT"
    assert acct.balances("BTC/USDT") == {"USDT": pytest.approx(116.8, rel=1e-12)}
    assert acct.balances("spot") == {"USDT": 4000.0}
    assert acct.books_balance()


# -- the ledger -------------------------------------------------------------------------------


def test_every_charge_and_repayment_is_an_entry_and_the_books_balance() -> None:
    acct = binance_margin({"USDT": 1000.0}, interest_rates={"USDT": 0.0001, "BTC": 0.0001})
    acct.set_price("BTC", 50_000.0)
    acct.fill(BTC_USDT, 0.06, 50_000.0, time=0)  # 2,000 borrowed; 0.2 charged at once
    acct.accrue_interest(3 * HOUR)  # + 3 × 0.2
    acct.fill(BTC_USDT, -0.06, 51_000.0, time=3 * HOUR + 1)
    usdt = acct.ledger("USDT")
    kinds = [e.kind for e in usdt.entries]
    assert kinds.count(SpotEntryKind.INTEREST) == 4
    assert sum(e.amount for e in usdt.entries if e.kind is SpotEntryKind.INTEREST) == pytest.approx(
        0.8
    )
    repays = [(e.destination, e.amount) for e in usdt.entries if e.kind is SpotEntryKind.REPAY]
    assert repays == [("interest_due:cross", pytest.approx(0.8)), ("loan:cross", 2000.0)]
    # 1,000 + 0.06 × (51,000 − 50,000) − 0.8 = 1,059.2
    assert acct.balances() == {"USDT": pytest.approx(1059.2, rel=1e-12)}
    assert usdt.balance("interest") == pytest.approx(0.8)
    assert acct.books_balance()
    assert set(acct.ledger_frame()["currency"]) == {"USDT", "BTC"}
    assert close(usdt.total(), 0.0)


@pytest.mark.parametrize("compiled", [True, False])
def test_level_price_formula(compiled: bool) -> None:
    from levtrade.margin import spot_formulas as sf

    solve = sf.level_price if compiled else sf.level_price.py_func
    # SM-03: (0.06·P + 0) / (0·P + 2,000) = 1.1 → 36,666.67
    assert solve(0.06, 0.0, 0.0, 2000.0, 1.1) == pytest.approx(2200.0 / 0.06, rel=1e-12)
    # SM-04: (0·P + 3,000) / (0.04·P + 0) = 1.1 → 68,181.82
    assert solve(0.0, 3000.0, 0.04, 0.0, 1.1) == pytest.approx(3000.0 / 0.044, rel=1e-12)
    # a level that does not depend on the price, or is reached only at P ≤ 0, has none
    assert math.isnan(solve(0.0, 3000.0, 0.0, 2000.0, 1.1))
    assert math.isnan(solve(0.06, 5000.0, 0.0, 2000.0, 1.1))
    assert math.isnan(solve(5e-324, 0.0, 0.0, 1.0, 1.1))  # beyond every finite price


def test_collateral_moves_in_with_the_order_or_not_at_all() -> None:
    acct = binance_margin({"USDT": 500.0}, margin_mode="isolated", interest_rates=NO_INTEREST)
    acct.set_price("BTC", 50_000.0)
    before = spot_state(acct)
    # 1,000 of collateral is more than the 500 in the wallet: nothing moves
    outcome = acct.try_fill(BTC_USDT, 0.06, 50_000.0, collateral=1000.0)
    assert isinstance(outcome, InsufficientMargin) and "collateral: 1000" in str(outcome)
    assert spot_state(acct) == before
    fill = acct.fill(BTC_USDT, 0.03, 50_000.0, collateral=500.0)
    # 500 in, 1,500 spent: 1,000 borrowed in the pair's pool
    assert fill.borrowed == (("USDT", 1000.0),)
    assert acct.balances("spot") == {} and acct.balances("BTC/USDT") == {"BTC": 0.03}
    cross = binance_margin({"USDT": 500.0}, interest_rates=NO_INTEREST)
    with pytest.raises(OrderRejected, match="collateral: only an isolated margin pair"):
        cross.fill(BTC_USDT, 0.001, 50_000.0, collateral=10.0)
