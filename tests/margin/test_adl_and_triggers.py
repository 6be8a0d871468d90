"""ADL rankings [GEN-06, HL-19], Hyperliquid's cross trigger [HL-05] and strict isolated [HL-18]."""

from __future__ import annotations

import math

import pytest
from margin_helpers import HYPERLIQUID, HYPERLIQUID_BTC_ROWS, hyperliquid

from levtrade.margin import Account
from levtrade.margin import formulas as f
from levtrade.model.instrument import Instrument

BTC = Instrument.parse("BTC/USDC:USDC", taker_fee=0.0, maker_fee=0.0)


@pytest.mark.parametrize("path", ["compiled", "plain"])
def test_gen06_bybit_adl_score(path: str) -> None:
    def call(name: str, *args: float) -> float:
        func = getattr(f, name)
        return float(func(*args) if path == "compiled" else func.py_func(*args))

    # long 1 BTC from 20,000 at 50x (BP 19,600), mark 22,000: mark value 22,000, bankruptcy
    # value 19,600 → effective leverage 22,000/2,400 = 9.1667; PnL 2,000 on margin 400 = 500 %
    lev = call("effective_leverage", 22_000.0, 19_600.0)
    assert lev == pytest.approx(22_000.0 / 2_400.0)
    assert call("bybit_adl_score", 5.0, lev) == pytest.approx(5.0 * 22_000.0 / 2_400.0)
    # a loss divides: −50 % at 4x → −12.5 %
    assert call("bybit_adl_score", -0.5, 4.0) == pytest.approx(-0.125)
    assert math.isinf(call("effective_leverage", 100.0, 100.0))


@pytest.mark.parametrize("path", ["compiled", "plain"])
def test_hl19_hyperliquid_adl_score(path: str) -> None:
    func = f.hyperliquid_adl_score if path == "compiled" else f.hyperliquid_adl_score.py_func
    # long from 100k, mark 110k, notional 110k on account value 22k: 1.1 × 5 = 5.5
    assert func(1.0, 110_000.0, 100_000.0, 110_000.0, 22_000.0) == pytest.approx(5.5)
    # short from 100k, mark 90k (in profit): entry/mark = 1.1111 × (90k/30k = 3)
    assert func(-1.0, 90_000.0, 100_000.0, 90_000.0, 30_000.0) == pytest.approx(10.0 / 3.0)


def test_hl05_cross_trigger_is_account_value_against_cross_mm() -> None:
    # AV 10,000 with long 1 BTC @100k (MMR 1.25 %): LP = 90,000/0.9875 = 91,139.24.
    acct = Account(
        HYPERLIQUID,
        10_000.0,
        tier_provider=lambda _: hyperliquid(HYPERLIQUID_BTC_ROWS, "BTC/USDC:USDC"),
    )
    acct.load_position(BTC, size=1.0, entry_price=100_000.0, leverage=20, margin_mode="cross")
    # at 91,200: AV 1,200 vs MM 1,140 → safe; at 91,100: AV 1,100 vs MM 1,138.75 → liquidatable
    acct.set_mark(BTC, 91_200.0)
    assert acct.equity == pytest.approx(1_200.0)
    assert acct.maintenance_margin == pytest.approx(1_140.0)
    assert not acct.liquidatable
    acct.set_mark(BTC, 91_100.0)
    assert acct.maintenance_margin == pytest.approx(1_138.75)
    assert acct.liquidatable


def test_hl18_strict_isolated_releases_margin_pro_rata() -> None:
    # strict isolated long 2 BTC @100k at 10x: margin 20,000; closing 0.5 BTC at 100k (no PnL,
    # no fees) releases a quarter of it: 5,000 back to the cross wallet, 15,000 stays
    acct = Account(
        HYPERLIQUID,
        30_000.0,
        tier_provider=lambda _: hyperliquid(HYPERLIQUID_BTC_ROWS, "BTC/USDC:USDC"),
    )
    acct.fill(BTC, 2.0, 100_000.0, leverage=10, margin_mode="strict_isolated")
    assert acct.wallet_balance == pytest.approx(10_000.0)
    acct.fill(BTC, -0.5, 100_000.0)
    pos = acct.positions[0]
    assert pos.isolated_margin == pytest.approx(15_000.0)
    assert acct.wallet_balance == pytest.approx(15_000.0)
    assert acct.max_removable_margin(pos) == 0.0
