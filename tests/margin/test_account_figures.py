"""Account figures against MARGIN_SPEC.md's published examples, through the Account API.

The lead's test_formulas.py checks the pure functions; here the same examples are reached the
way the calculator and the backtester reach them: positions loaded or filled into an account,
marks set, figures read. Expected numbers are quoted from MARGIN_SPEC.md (id in the test name)
or hand calculations written beside them.
"""

from __future__ import annotations

import pytest
from margin_helpers import (
    BINANCE,
    BTC,
    BTC_USDC,
    BYBIT,
    DYDX,
    ETH,
    ETH_USDC,
    HYPERLIQUID,
    HYPERLIQUID_BTC_ROWS,
    HYPERLIQUID_ETH_ROWS,
    OKX,
    account,
    books_balance,
    bybit_btc,
    hyperliquid,
    instrument,
    single,
)

from levtrade.margin import Account, Position

HL_TABLES = {
    "BTC/USDC:USDC": hyperliquid(HYPERLIQUID_BTC_ROWS, "BTC/USDC:USDC"),
    "ETH/USDC:USDC": hyperliquid(HYPERLIQUID_ETH_ROWS, "ETH/USDC:USDC"),
}


def isolated(
    venue=BINANCE,
    *,
    size: float,
    entry: float,
    margin: float,
    leverage: float,
    tiers=None,
    inst=BTC,
) -> tuple[Account, Position]:
    acct = account(venue, 0.0, tiers=tiers)
    pos = acct.load_position(
        inst,
        size=size,
        entry_price=entry,
        leverage=leverage,
        margin_mode="isolated",
        isolated_margin=margin,
    )
    return acct, pos


# ---------------------------------------------------------------------------------------------
# Binance
# ---------------------------------------------------------------------------------------------


def test_bn03_isolated_long_figures() -> None:
    acct, pos = isolated(size=1.0, entry=100_000.0, margin=5_000.0, leverage=20)
    assert round(acct.liquidation_price(pos), 2) == 95_381.53
    # GEN-04: bankruptcy = E − M/q = 100,000 − 5,000
    assert acct.bankruptcy_price(pos) == pytest.approx(95_000.0)
    assert acct.notional(pos) == pytest.approx(100_000.0)
    assert acct.initial_margin_of(pos) == pytest.approx(5_000.0)  # 100,000 / 20
    assert acct.maintenance_margin_of(pos) == pytest.approx(400.0)  # 0.4 % of 100,000
    assert acct.tier(pos) == 1
    assert acct.position_equity(pos) == pytest.approx(5_000.0)
    books_balance(acct)
    # the isolated margin was booked in from outside; the cross wallet stays as given (0)
    assert acct.wallet_balance == 0.0
    assert acct.ledger.balance("isolated:BTC/USDT:USDT:BOTH") == pytest.approx(5_000.0)


@pytest.mark.parametrize(
    ("example", "inst", "size", "entry", "margin", "leverage", "expected"),
    [
        # BN-04: short 10 ETH @3,000, WB 3,000: (30,000 + 3,000)/(10·1.004)
        ("BN-04", ETH, -10.0, 3_000.0, 3_000.0, 10, 3_286.85),
        # BN-05: long 10 BTC @100k 50x (margin 20,000), tier 3 at the LP
        ("BN-05", BTC, 10.0, 100_000.0, 20_000.0, 50, 98_490.19),
        # BN-06: long 3.1 BTC @100k, 2x (margin 155,000): entry notional 310k is tier 2, the LP
        # notional is tier 1 → 50,200.80
        ("BN-06", BTC, 3.1, 100_000.0, 155_000.0, 2, 50_200.80),
        # BN-22: 100 ETH @4,000 20x (margin 20,000), tier 2 at the LP
        ("BN-22", ETH, 100.0, 4_000.0, 20_000.0, 20, 3_816.08),
    ],
)
def test_binance_isolated_published(
    example: str,
    inst: object,
    size: float,
    entry: float,
    margin: float,
    leverage: float,
    expected: float,
) -> None:
    acct, pos = isolated(size=size, entry=entry, margin=margin, leverage=leverage, inst=inst)
    assert round(acct.liquidation_price(pos), 2) == expected, example


def test_bn05_reports_tier_3_at_entry() -> None:
    # notional 1,000,000 lies in [800k, 3M): bracket 3
    acct, pos = isolated(size=10.0, entry=100_000.0, margin=20_000.0, leverage=50)
    assert acct.tier(pos) == 3
    assert acct.maintenance_margin_of(pos) == pytest.approx(1_000_000 * 0.0065 - 1_500)


# Binance's own multi-position cross example (BN-07/08/09): WB 1,535,443.01; the example quotes
# one bracket per contract, given here as one-tier tables with their cum.
BN07_TIERS = {
    "BTC/USDT:USDT": single(0.025, 50, 16_300.0, "BTC/USDT:USDT"),
    "ETH/USDT:USDT": single(0.10, 50, 135_365.0, "ETH/USDT:USDT"),
}


def test_bn07_bn08_binance_multi_position_cross() -> None:
    acct = account(BINANCE, 1_535_443.01, tiers=BN07_TIERS)
    btc = acct.load_position(
        BTC,
        size=109.488,
        entry_price=32_481.98,
        mark_price=31_967.27,
        leverage=10,
        margin_mode="cross",
    )
    eth = acct.load_position(
        ETH,
        size=3_683.979,
        entry_price=1_456.84,
        mark_price=1_335.18,
        leverage=10,
        margin_mode="cross",
    )
    assert round(acct.liquidation_price(eth), 2) == 1_153.26
    assert round(acct.liquidation_price(btc), 2) == 26_316.89
    # freqtrade's figures for the example: BTC MM 71,200.81144 (109.488·31,967.27·2.5 % − 16,300)
    assert acct.maintenance_margin_of(btc) == pytest.approx(71_200.81144, abs=1e-4)


def test_bn09_same_eth_isolated() -> None:
    acct, pos = isolated(
        size=3_683.979,
        entry=1_456.84,
        margin=1_535_443.01,
        leverage=4,
        inst=ETH,
        tiers={"ETH/USDT:USDT": BN07_TIERS["ETH/USDT:USDT"]},
    )
    assert round(acct.liquidation_price(pos), 2) == 1_114.78


def test_bn10_hedge_mode_cross_legs_share_one_price() -> None:
    acct = account(BINANCE, 10_000.0, position_mode="hedge")
    long = acct.load_position(
        BTC, size=1.0, entry_price=100_000.0, leverage=20, margin_mode="cross"
    )
    short = acct.load_position(
        BTC, size=-0.5, entry_price=102_000.0, leverage=20, margin_mode="cross"
    )
    assert long.leg == "LONG" and short.leg == "SHORT"
    assert round(acct.liquidation_price(long), 2) == 78_947.37
    assert round(acct.liquidation_price(short), 2) == 78_947.37


def test_hedge_mode_isolated_legs_each_have_their_own_price() -> None:
    acct = account(BINANCE, 0.0, position_mode="hedge")
    long = acct.load_position(
        BTC,
        size=1.0,
        entry_price=100_000.0,
        leverage=20,
        margin_mode="isolated",
        isolated_margin=5_000.0,
        mark_price=100_000.0,
    )
    short = acct.load_position(
        BTC,
        size=-1.0,
        entry_price=100_000.0,
        leverage=20,
        margin_mode="isolated",
        isolated_margin=5_000.0,
    )
    # long: BN-03 = 95,381.53; short: (100,000 + 5,000)/(1.004) = 104,581.67
    assert round(acct.liquidation_price(long), 2) == 95_381.53
    assert round(acct.liquidation_price(short), 2) == 104_581.67


def test_bn11_faq_cross_example() -> None:
    acct = account(BINANCE, 500.0)
    pos = acct.fill(BTC, 0.02, 50_000.0, leverage=20).position
    assert pos is not None
    assert round(acct.liquidation_price(pos), 2) == 25_100.40


def test_bn12a_trigger_and_margin_ratio() -> None:
    acct, pos = isolated(size=1.0, entry=100_000.0, margin=5_000.0, leverage=20)
    acct.set_mark("BTC/USDT:USDT", 95_500.0)
    # equity 500, MM 382: ratio 76.4 %, not liquidated
    assert acct.position_equity(pos) == pytest.approx(500.0)
    assert acct.maintenance_margin_of(pos) == pytest.approx(382.0)
    assert not acct.is_liquidatable(pos)
    acct.set_mark("BTC/USDT:USDT", 95_300.0)
    # equity 300, MM 381.2: liquidated
    assert acct.position_equity(pos) == pytest.approx(300.0)
    assert acct.maintenance_margin_of(pos) == pytest.approx(381.2)
    assert acct.is_liquidatable(pos)
    assert acct.liquidatable_pools() == [pos.key]
    assert not acct.liquidatable  # the cross pool is empty


def test_bn13_bn14_binance_isolated_margin_transfers() -> None:
    acct, pos = isolated(size=1.0, entry=100_000.0, margin=5_000.0, leverage=20)
    acct.set_mark("BTC/USDT:USDT", 103_000.0)
    # BN-13a: min(5,000 − 412, 5,000 + 3,000 − 5,150) = 2,850
    assert acct.max_removable_margin(pos) == pytest.approx(2_850.0)
    acct.set_mark("BTC/USDT:USDT", 100_000.0)
    # BN-13b: min(5,000 − 400, 5,000 + 0 − 5,000) = 0
    assert acct.max_removable_margin(pos) == 0.0
    acct.deposit(1_000.0)
    acct.add_margin(pos, 1_000.0)
    assert round(acct.liquidation_price(pos), 2) == 94_377.51  # BN-14
    assert acct.wallet_balance == 0.0
    assert acct.position(pos).isolated_margin == pytest.approx(6_000.0)
    books_balance(acct)


def test_binance_cross_figures() -> None:
    # WB 10,000; long 1 BTC @100k 20x cross; mark 98,000:
    # uPnL −2,000, equity 8,000, IM 98,000/20 = 4,900, MM 0.4 %·98,000 = 392
    acct = account(BINANCE, 10_000.0)
    pos = acct.fill(BTC, 1.0, 100_000.0, leverage=20).position
    assert pos is not None
    acct.set_mark("BTC/USDT:USDT", 98_000.0)
    assert acct.equity == pytest.approx(8_000.0)
    assert acct.initial_margin == pytest.approx(4_900.0)
    assert acct.maintenance_margin == pytest.approx(392.0)
    assert acct.margin_ratio == pytest.approx(392.0 / 8_000.0)
    assert acct.available_balance == pytest.approx(3_100.0)
    # withdrawable = min(10,000 − 392, 10,000 − 2,000 − 4,900) = 3,100
    assert acct.withdrawable == pytest.approx(3_100.0)
    assert acct.unrealized_pnl(pos) == pytest.approx(-2_000.0)
    assert acct.position_equity(pos) == pytest.approx(8_000.0)
    assert acct.max_removable_margin(pos) == 0.0
    assert acct.max_addable_margin(pos) == 0.0


def test_margin_ratio_edges() -> None:
    acct = account(BINANCE, 1_000.0)
    assert acct.margin_ratio == 0.0  # no cross positions, no MM
    acct.fill(BTC, 0.1, 100_000.0, leverage=20)
    acct.set_mark("BTC/USDT:USDT", 90_000.0)  # uPnL −1,000 → equity 0
    assert acct.equity == pytest.approx(0.0)
    assert acct.margin_ratio == float("inf")
    assert acct.liquidatable


def test_gen04_bankruptcy_prices_short() -> None:
    # short 1 BTC @100k with 5,000: BP = E + M/q = 105,000
    acct, pos = isolated(size=-1.0, entry=100_000.0, margin=5_000.0, leverage=20)
    assert acct.bankruptcy_price(pos) == pytest.approx(105_000.0)


def test_over_collateralised_long_has_no_liquidation_price() -> None:
    # 1x long with the whole notional as margin: equity = P, MM = 0.4 %·P → only P = 0
    acct, pos = isolated(size=1.0, entry=100_000.0, margin=100_000.0, leverage=1)
    assert acct.liquidation_price(pos) is None
    assert acct.bankruptcy_price(pos) is None
    assert acct.buffered_liquidation_price(pos, 0.5) is None


def test_buffered_liquidation_price() -> None:
    # BN-03 LP 95,381.53, buffer 10 %: 95,381.53 + (100,000 − 95,381.53)·0.1 = 95,843.38
    acct, pos = isolated(size=1.0, entry=100_000.0, margin=5_000.0, leverage=20)
    assert acct.buffered_liquidation_price(pos, 0.1) == pytest.approx(95_843.38, abs=0.01)
    assert acct.buffered_liquidation_price(pos, 0.0) == acct.liquidation_price(pos)


def test_cross_price_moves_with_other_positions_marks() -> None:
    # HL-04 style cross with Binance one-tier 0.4 %: WB 10,000, long 1 BTC @100k, short 10 ETH
    # @3,000 (ETH mark 3,000 → MM 120). BTC: 10,000 − 120 + (P − 100,000) = 0.004·P
    # → P = 90,120/0.996 = 90,481.93. ETH mark 3,100: uPnL −1,000, MM 124 →
    # P = 91,124/0.996 = 91,489.96
    tiers = {"ETH/USDT:USDT": single(0.004, 125, 0.0, "ETH/USDT:USDT")}
    acct = account(BINANCE, 10_000.0, tiers=tiers)
    btc = acct.load_position(BTC, size=1.0, entry_price=100_000.0, leverage=20, margin_mode="cross")
    acct.load_position(ETH, size=-10.0, entry_price=3_000.0, leverage=20, margin_mode="cross")
    assert round(acct.liquidation_price(btc), 2) == 90_481.93
    acct.set_mark("ETH/USDT:USDT", 3_100.0)
    assert round(acct.liquidation_price(btc), 2) == 91_489.96


# ---------------------------------------------------------------------------------------------
# Hyperliquid
# ---------------------------------------------------------------------------------------------


def test_hl02_hl06_isolated_long_and_backstop_price() -> None:
    acct, pos = isolated(
        HYPERLIQUID,
        size=1.0,
        entry=100_000.0,
        margin=10_000.0,
        leverage=10,
        tiers=HL_TABLES,
        inst=BTC_USDC,
    )
    assert round(acct.liquidation_price(pos), 2) == 91_139.24
    assert round(acct.backstop_price(pos), 2) == 90_756.30


def test_hl03_isolated_short_eth() -> None:
    acct, pos = isolated(
        HYPERLIQUID,
        size=-10.0,
        entry=3_000.0,
        margin=6_000.0,
        leverage=5,
        tiers=HL_TABLES,
        inst=ETH_USDC,
    )
    assert round(acct.liquidation_price(pos), 2) == 3_529.41


def test_hl04_cross_two_assets() -> None:
    acct = account(HYPERLIQUID, 10_000.0, tiers=HL_TABLES)
    btc = acct.load_position(
        BTC_USDC, size=1.0, entry_price=100_000.0, leverage=20, margin_mode="cross"
    )
    eth = acct.load_position(
        ETH_USDC, size=-10.0, entry_price=3_000.0, leverage=10, margin_mode="cross"
    )
    assert round(acct.liquidation_price(btc), 2) == 91_746.84
    assert round(acct.liquidation_price(eth), 2) == 3_799.02


def test_hl10_tier_two_at_the_liquidation_price() -> None:
    acct, pos = isolated(
        HYPERLIQUID,
        size=2_000.0,
        entry=100_000.0,
        margin=20e6,
        leverage=10,
        tiers=HL_TABLES,
        inst=BTC_USDC,
    )
    assert round(acct.liquidation_price(pos), 2) == 91_346.15
    assert acct.tier(pos) == 2  # notional 200M ≥ 150M


@pytest.mark.parametrize(("leverage", "expected"), [(5, 13_000.0), (20, 24_000.0)])
def test_hl16_isolated_removal(leverage: int, expected: float) -> None:
    # long 1 BTC @100k, margin 25,000, mark 110,000: value 35,000;
    # 5x: 35,000 − max(22,000, 11,000) = 13,000; 20x: 35,000 − max(5,500, 11,000) = 24,000
    acct, pos = isolated(
        HYPERLIQUID,
        size=1.0,
        entry=100_000.0,
        margin=25_000.0,
        leverage=leverage,
        tiers=HL_TABLES,
        inst=BTC_USDC,
    )
    acct.set_mark("BTC/USDC:USDC", 110_000.0)
    assert acct.max_removable_margin(pos) == pytest.approx(expected)


@pytest.mark.parametrize(("leverage", "expected"), [(20, 4_500.0), (5, 0.0)])
def test_hl17_cross_withdrawable(leverage: int, expected: float) -> None:
    # AV = 10,000 + (105,000 − 100,000) = 15,000; 10 % of notional = 10,500;
    # 20x: IM 5,250 → 15,000 − 10,500 = 4,500; 5x: IM 21,000 → nothing
    acct = account(HYPERLIQUID, 10_000.0, tiers=HL_TABLES)
    acct.load_position(
        BTC_USDC,
        size=1.0,
        entry_price=100_000.0,
        mark_price=105_000.0,
        leverage=leverage,
        margin_mode="cross",
    )
    assert acct.withdrawable == pytest.approx(expected)


def test_hl_unrealized_profit_is_withdrawable() -> None:
    # the HL-17 20x case: 4,500 of the 5,000 profit can leave; the wallet goes to 5,500
    acct = account(HYPERLIQUID, 10_000.0, tiers=HL_TABLES)
    acct.load_position(
        BTC_USDC,
        size=1.0,
        entry_price=100_000.0,
        mark_price=105_000.0,
        leverage=20,
        margin_mode="cross",
    )
    acct.withdraw(4_500.0)
    assert acct.wallet_balance == pytest.approx(5_500.0)
    assert acct.withdrawable == pytest.approx(0.0, abs=1e-9)
    books_balance(acct)


# ---------------------------------------------------------------------------------------------
# Bybit, OKX, dYdX, inverse
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "expected"), [(1.0, 19_700.0), (-1.0, 20_300.0)])
def test_by01_by02_bybit_mm_at_entry(size: float, expected: float) -> None:
    # 1 BTC @20,000, 50x (IM 400), MMR 0.5 % of the entry value (100): 20,000 ∓ 300
    acct, pos = isolated(
        BYBIT,
        size=size,
        entry=20_000.0,
        margin=400.0,
        leverage=50,
        tiers={"BTC/USDT:USDT": bybit_btc()},
    )
    assert acct.liquidation_price(pos) == pytest.approx(expected)
    # MM stays at the entry value when the mark moves, so the trigger and the LP agree
    acct.set_mark("BTC/USDT:USDT", expected)
    assert acct.maintenance_margin_of(pos) == pytest.approx(100.0)
    assert acct.is_liquidatable(pos)


@pytest.mark.parametrize(("size", "expected"), [(1.0, 49_221.50), (-1.0, 50_771.53)])
def test_okx01_mmr_plus_taker_fee(size: float, expected: float) -> None:
    # margin 1,000; MMR 0.4 % + taker 0.05 %
    okx_btc = instrument("BTC/USDT:USDT", taker_fee=0.0005)
    acct, pos = isolated(
        OKX,
        size=size,
        entry=50_000.0,
        margin=1_000.0,
        leverage=50,
        inst=okx_btc,
        tiers={"BTC/USDT:USDT": single(0.004, 100, 0.0, "BTC/USDT:USDT")},
    )
    assert round(acct.liquidation_price(pos), 2) == expected
    assert acct.maintenance_margin_of(pos) == pytest.approx(50_000 * 0.0045)


def test_dy01_dydx_short() -> None:
    # e = 1,000, short 3 ETH @3,000, MMF 5 %: (1,000 + 9,000)/(0.15 + 3) = 3,174.60
    acct = account(DYDX, 1_000.0, tiers={"ETH/USDC:USDC": single(0.05, 10, 0.0, "ETH/USDC:USDC")})
    pos = acct.load_position(
        ETH_USDC, size=-3.0, entry_price=3_000.0, leverage=10, margin_mode="cross"
    )
    assert round(acct.liquidation_price(pos), 2) == 3_174.60


INVERSE = instrument("BTC/USD:BTC", contract_size=100.0)


def test_inverse_isolated_prices() -> None:
    # 100 contracts × 100 USD = n = 10,000 USD; entry 50,000 (n/E = 0.2 BTC); margin 0.02 BTC;
    # MMR 0.5 % of the coin notional n/P.
    # long: 0.02 + 0.2 − n/P = 0.005·n/P → P = 10,050/0.22 = 45,681.82; BP = 10,000/0.22
    # short: 0.02 − 0.2 + n/P = 0.005·n/P → P = 9,950/0.18 = 55,277.78; BP = 10,000/0.18
    tiers = {"BTC/USD:BTC": single(0.005, 125, 0.0, "BTC/USD:BTC")}
    acct, pos = isolated(
        size=100.0, entry=50_000.0, margin=0.02, leverage=10, tiers=tiers, inst=INVERSE
    )
    assert acct.currency == "BTC"
    assert acct.notional(pos) == pytest.approx(0.2)
    assert round(acct.liquidation_price(pos), 2) == 45_681.82
    assert acct.bankruptcy_price(pos) == pytest.approx(10_000 / 0.22)
    acct, pos = isolated(
        size=-100.0, entry=50_000.0, margin=0.02, leverage=10, tiers=tiers, inst=INVERSE
    )
    assert round(acct.liquidation_price(pos), 2) == 55_277.78
    assert acct.bankruptcy_price(pos) == pytest.approx(10_000 / 0.18)


def test_inverse_cross_liquidation_price_matches_isolated_algebra() -> None:
    # the same long as cross with wallet 0.02 BTC: the cross pool is the same equation
    tiers = {"BTC/USD:BTC": single(0.005, 125, 0.0, "BTC/USD:BTC")}
    acct = account(BINANCE, 0.02, tiers=tiers)
    pos = acct.load_position(
        INVERSE, size=100.0, entry_price=50_000.0, leverage=10, margin_mode="cross"
    )
    assert round(acct.liquidation_price(pos), 2) == 45_681.82


def test_inverse_binance_max_removable() -> None:
    # margin 0.03 BTC, 10x, mark 55,000: uPnL = 10,000·(1/50,000 − 1/55,000) = 0.0181818;
    # notional 10,000/55,000 = 0.181818; MM 0.5 % = 0.000909; IM = 0.0181818
    # min(0.03 − 0.000909, 0.03 + 0.0181818 − 0.0181818) = 0.0290909
    tiers = {"BTC/USD:BTC": single(0.005, 125, 0.0, "BTC/USD:BTC")}
    acct, pos = isolated(
        size=100.0, entry=50_000.0, margin=0.03, leverage=10, tiers=tiers, inst=INVERSE
    )
    acct.set_mark("BTC/USD:BTC", 55_000.0)
    assert acct.max_removable_margin(pos) == pytest.approx(0.03 - 0.005 * 10_000 / 55_000)
