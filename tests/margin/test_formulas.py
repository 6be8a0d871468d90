"""The pure formulas against MARGIN_SPEC.md's published results, on the compiled and plain path.

Every expected number below is quoted from MARGIN_SPEC.md (example id in the test name) or is a
hand calculation written out beside it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from levtrade.margin import formulas as f

# Binance BTCUSDT / ETHUSDT brackets 1-3, 2026-03-26 (MARGIN_SPEC §1.1, data/venue_tiers.json).
BN_FLOORS = np.array([0.0, 300_000.0, 800_000.0])
BN_MMRS = np.array([0.004, 0.005, 0.0065])
BN_AMOUNTS = np.array([0.0, 300.0, 1_500.0])

# Hyperliquid BTC (table 56) and ETH (table 55), MARGIN_SPEC §2.2.
HL_BTC = (np.array([0.0, 150e6]), np.array([0.0125, 0.025]), np.array([0.0, 1_875_000.0]))
HL_ETH = (np.array([0.0, 100e6]), np.array([0.02, 1 / 30]), np.array([0.0, 1_333_333.3333333333]))


def single(mmr: float, amount: float = 0.0) -> tuple[Any, Any, Any]:
    return np.array([0.0]), np.array([mmr]), np.array([amount])


PATHS = pytest.mark.parametrize("path", ["compiled", "plain"])


def call(name: str, path: str, *args: Any) -> Any:
    func = getattr(f, name)
    return func(*args) if path == "compiled" else func.py_func(*args)


@PATHS
def test_bn02_cum_recursion_reproduces_published_amounts(path: str) -> None:
    # cum_2 = 0 + 300,000·(0.5 % − 0.4 %) = 300; cum_3 = 300 + 800,000·(0.65 % − 0.5 %) = 1,500
    amounts = call("maintenance_amounts", path, BN_FLOORS, BN_MMRS)
    assert amounts == pytest.approx([0.0, 300.0, 1_500.0])


@PATHS
def test_bn01_old_faq_cum_example(path: str) -> None:
    # "level 3 cum = 250,000·(1% − 0.5%) + 50 = 1,300" (old table: 0/50k/250k at 0.4/0.5/1 %)
    amounts = call(
        "maintenance_amounts",
        path,
        np.array([0.0, 50_000.0, 250_000.0]),
        np.array([0.004, 0.005, 0.01]),
    )
    assert amounts[1] == pytest.approx(50.0)
    assert amounts[2] == pytest.approx(1_300.0)


@PATHS
def test_mm_is_continuous_at_floor(path: str) -> None:
    # At 300,000: 0.4 %·300k = 1,200 = 0.5 %·300k − 300 (MARGIN_SPEC §1.1)
    below = call("maintenance_margin", path, 299_999.999999, BN_FLOORS, BN_MMRS, BN_AMOUNTS)
    at = call("maintenance_margin", path, 300_000.0, BN_FLOORS, BN_MMRS, BN_AMOUNTS)
    assert at == pytest.approx(1_200.0)
    assert below == pytest.approx(1_200.0, abs=1e-5)
    assert call("tier_index", path, BN_FLOORS, 300_000.0) == 1
    assert call("tier_index", path, BN_FLOORS, 299_999.0) == 0


@PATHS
@pytest.mark.parametrize(
    ("example", "qty", "entry", "margin", "expected"),
    [
        ("BN-03", 1.0, 100_000.0, 5_000.0, 95_381.53),
        ("BN-04", -10.0, 3_000.0, 3_000.0, 3_286.85),
        # BN-05: 10 BTC @100k at 50x: margin = 1,000,000/50 = 20,000; tier 3 (1 M notional)
        ("BN-05", 10.0, 100_000.0, 20_000.0, 98_490.19),
        # BN-06: 3.1 BTC @100k at 2x (margin 155,000): entry notional 310k is tier 2, the LP
        # falls in tier 1 — tier-2 pass gives (310,000−155,000−300)/(3.1·0.995) = 50,154.00,
        # whose notional 155,477 is tier 1; tier-1 answer 155,000/(3.1·0.996) = 50,200.80
        ("BN-06", 3.1, 100_000.0, 155_000.0, 50_200.80),
        # BN-14: BN-03 after adding 1,000 margin: (100,000 − 6,000)/0.996
        ("BN-14", 1.0, 100_000.0, 6_000.0, 94_377.51),
        # BN-22: 100 ETH @4,000 at 20x (margin 20,000), tier 2 at the LP:
        # (400,000 − 20,000 − 300)/(100·0.995) = 3,816.08
        ("BN-22", 100.0, 4_000.0, 20_000.0, 3_816.08),
    ],
)
def test_binance_isolated_liquidation_prices(
    path: str, example: str, qty: float, entry: float, margin: float, expected: float
) -> None:
    lp = call(
        "isolated_liquidation_price", path, qty, entry, margin, BN_FLOORS, BN_MMRS, BN_AMOUNTS
    )
    assert round(lp, 2) == expected, example


@PATHS
def test_bn05_ignoring_cum_gives_the_wrong_published_price(path: str) -> None:
    # MARGIN_SPEC: "ignoring cum would give 98,641.17"
    lp = call(
        "isolated_liquidation_price",
        path,
        10.0,
        100_000.0,
        20_000.0,
        np.array([0.0]),
        np.array([0.0065]),
        np.array([0.0]),
    )
    assert round(lp, 2) == 98_641.17


# Binance's own multi-position cross example (MARGIN_SPEC BN-07/08/09, as reproduced in
# freqtrade's test_liquidation_price_binance): WB 1,535,443.01; ETH long 3,683.979 @1,456.84
# (MMR 10 %, cum 135,365); BTC long 109.488 @32,481.98 (MMR 2.5 %, cum 16,300). Each LP takes the
# other contract's MM and uPnL at its mark: BTC MM 71,200.81144, uPnL −56,354.57; ETH MM
# 356,512.508, uPnL −448,192.89.
WB = 1_535_443.01


@PATHS
def test_bn07_cross_eth(path: str) -> None:
    const = WB - 71_200.81144 + -56_354.57
    lp = call(
        "solve_equity_equals_mm",
        path,
        const,
        np.array([3_683.979]),
        np.array([1_456.84]),
        *single(0.10, 135_365.0),
        1_456.84,
    )
    assert round(lp, 2) == 1_153.26


@PATHS
def test_bn08_cross_btc(path: str) -> None:
    const = WB - 356_512.508 + -448_192.89
    lp = call(
        "solve_equity_equals_mm",
        path,
        const,
        np.array([109.488]),
        np.array([32_481.98]),
        *single(0.025, 16_300.0),
        32_481.98,
    )
    assert round(lp, 2) == 26_316.89


@PATHS
def test_bn09_same_eth_isolated(path: str) -> None:
    lp = call(
        "solve_equity_equals_mm",
        path,
        WB,
        np.array([3_683.979]),
        np.array([1_456.84]),
        *single(0.10, 135_365.0),
        1_456.84,
    )
    assert round(lp, 2) == 1_114.78


@PATHS
def test_bn10_hedge_mode_cross_shares_one_price(path: str) -> None:
    # long 1 @100k + short 0.5 @102k, WB 10k:
    # (10,000 − 100,000 + 51,000)/(0.004 + 0.002 − 1 + 0.5) = −39,000/−0.494 = 78,947.37
    lp = call(
        "solve_equity_equals_mm",
        path,
        10_000.0,
        np.array([1.0, -0.5]),
        np.array([100_000.0, 102_000.0]),
        BN_FLOORS,
        BN_MMRS,
        BN_AMOUNTS,
        100_000.0,
    )
    assert round(lp, 2) == 78_947.37


@PATHS
def test_bn11_and_bn21_faq_cross_example_and_funding(path: str) -> None:
    # WB 500, long 1,000 USDT notional @50k (0.02 BTC) 20x: (500 − 1,000)/(0.02·0.004 − 0.02)
    lp = call(
        "solve_equity_equals_mm",
        path,
        500.0,
        np.array([0.02]),
        np.array([50_000.0]),
        BN_FLOORS,
        BN_MMRS,
        BN_AMOUNTS,
        50_000.0,
    )
    assert round(lp, 2) == 25_100.40
    # BN-21: after paying 0.10 USDT funding the wallet is 499.90
    lp_after = call(
        "solve_equity_equals_mm",
        path,
        499.90,
        np.array([0.02]),
        np.array([50_000.0]),
        BN_FLOORS,
        BN_MMRS,
        BN_AMOUNTS,
        50_000.0,
    )
    assert round(lp_after, 2) == 25_105.42


@PATHS
def test_bn12a_trigger_numbers(path: str) -> None:
    # long 1 BTC @100k, 5,000 isolated: at 95,500 equity 500 vs MM 382; at 95,300 300 vs 381.2
    for mark, equity, mm in ((95_500.0, 500.0, 382.0), (95_300.0, 300.0, 381.2)):
        assert 5_000.0 + call("linear_upnl", path, 1.0, 1.0, 100_000.0, mark) == pytest.approx(
            equity
        )
        assert call("maintenance_margin", path, mark, BN_FLOORS, BN_MMRS, BN_AMOUNTS) == (
            pytest.approx(mm)
        )


@PATHS
def test_gen04_bankruptcy_prices(path: str) -> None:
    # Long: E − M/q; short: E + M/q. 1 BTC @100k with 5,000: 95,000 / 105,000
    assert call("bankruptcy_price", path, 5_000.0, np.array([1.0]), np.array([1e5])) == 95_000.0
    assert call("bankruptcy_price", path, 5_000.0, np.array([-1.0]), np.array([1e5])) == 105_000.0
    # At initial margin, E·(1 − 1/L): 20x → 95,000
    assert call("bankruptcy_price", path, 1e5 / 20, np.array([1.0]), np.array([1e5])) == (
        pytest.approx(100_000.0 * (1 - 1 / 20))
    )
    # Over-collateralised long (margin > notional): no bankruptcy price
    assert math.isnan(call("bankruptcy_price", path, 2e5, np.array([1.0]), np.array([1e5])))


@PATHS
def test_over_collateralised_long_has_no_liquidation_price(path: str) -> None:
    # 1 BTC @100k with 120,000 margin: LP = (100,000 − 120,000)/0.996 < 0 → none ("--")
    lp = call(
        "isolated_liquidation_price", path, 1.0, 1e5, 120_000.0, BN_FLOORS, BN_MMRS, BN_AMOUNTS
    )
    assert math.isnan(lp)


@PATHS
@pytest.mark.parametrize(
    ("example", "qty", "entry", "const", "table", "reference", "expected"),
    [
        # HL-02: isolated long 1 BTC @100k, 10x (margin 10,000): 90,000/0.9875
        ("HL-02", [1.0], [1e5], 10_000.0, HL_BTC, 1e5, 91_139.24),
        # HL-03: isolated short 10 ETH @3,000, 5x (margin 6,000): 36,000/(10·1.02)
        ("HL-03", [-10.0], [3_000.0], 6_000.0, HL_ETH, 3_000.0, 3_529.41),
        # HL-10: long 2,000 BTC @100k, margin 20M, tier 2 at the LP:
        # (200M − 20M − 1.875M)/(2,000·0.975)
        ("HL-10", [2_000.0], [1e5], 20e6, HL_BTC, 1e5, 91_346.15),
    ],
)
def test_hyperliquid_isolated(
    path: str,
    example: str,
    qty: list[float],
    entry: list[float],
    const: float,
    table: tuple[Any, Any, Any],
    reference: float,
    expected: float,
) -> None:
    lp = call(
        "solve_equity_equals_mm", path, const, np.array(qty), np.array(entry), *table, reference
    )
    assert round(lp, 2) == expected, example


@PATHS
def test_hl04_cross_two_assets(path: str) -> None:
    # AV 10,000; long 1 BTC @100k (MMR 1.25 %), short 10 ETH @3,000 (MMR 2 %), marks at entry.
    # BTC: other contract (ETH) MM = 30,000·2 % = 600, uPnL 0 → const = 10,000 − 600
    btc = call(
        "solve_equity_equals_mm",
        path,
        10_000.0 - 600.0,
        np.array([1.0]),
        np.array([1e5]),
        *HL_BTC,
        1e5,
    )
    assert round(btc, 2) == 91_746.84
    # ETH: other contract (BTC) MM = 100,000·1.25 % = 1,250 → const = 10,000 − 1,250
    eth = call(
        "solve_equity_equals_mm",
        path,
        10_000.0 - 1_250.0,
        np.array([-10.0]),
        np.array([3_000.0]),
        *HL_ETH,
        3_000.0,
    )
    assert round(eth, 2) == 3_799.02


@PATHS
def test_hl06_backstop_price(path: str) -> None:
    # equity = ⅔·MM for HL-02: 90,000/(1 − ⅔·0.0125) = 90,756.30
    floors, mmrs, amounts = HL_BTC
    lp = call(
        "solve_equity_equals_mm",
        path,
        10_000.0,
        np.array([1.0]),
        np.array([1e5]),
        floors,
        mmrs * 2 / 3,
        amounts * 2 / 3,
        1e5,
    )
    assert round(lp, 2) == 90_756.30


@PATHS
def test_hl20_same_price_from_entry_or_from_current_mark(path: str) -> None:
    # Solving from the entry with margin as posted, or from a later mark with margin + uPnL,
    # gives one price: at mark 95,000 the margin is 10,000 − 5,000 = 5,000 with "entry" 95,000.
    from_entry = call(
        "solve_equity_equals_mm", path, 10_000.0, np.array([1.0]), np.array([1e5]), *HL_BTC, 1e5
    )
    from_mark = call(
        "solve_equity_equals_mm",
        path,
        5_000.0,
        np.array([1.0]),
        np.array([95_000.0]),
        *HL_BTC,
        95_000.0,
    )
    assert from_mark == pytest.approx(from_entry, rel=1e-12)


@PATHS
def test_by01_by02_bybit_mm_at_entry(path: str) -> None:
    # 1 BTC @20,000, 50x, MMR 0.5 %: IM 400, MM at entry value 100; LP = BP of (IM − MM)
    assert call("bankruptcy_price", path, 400.0 - 100.0, np.array([1.0]), np.array([20_000.0])) == (
        pytest.approx(19_700.0)
    )
    assert call(
        "bankruptcy_price", path, 400.0 - 100.0, np.array([-1.0]), np.array([20_000.0])
    ) == pytest.approx(20_300.0)


@PATHS
def test_okx01_mmr_plus_taker_fee(path: str) -> None:
    # margin 1,000, long 1 BTC @50k, MMR 0.4 % + fee 0.05 %: 49,000/0.9955; short 51,000/1.0045
    long_lp = call("isolated_liquidation_price", path, 1.0, 50_000.0, 1_000.0, *single(0.0045))
    short_lp = call("isolated_liquidation_price", path, -1.0, 50_000.0, 1_000.0, *single(0.0045))
    assert round(long_lp, 2) == 49_221.50
    assert round(short_lp, 2) == 50_771.53


@PATHS
def test_dy01_dydx_short(path: str) -> None:
    # e = 1,000, short 3 ETH @3,000, MMF 5 %: (1,000 + 9,000)/(0.15 + 3) = 3,174.60
    lp = call(
        "solve_equity_equals_mm",
        path,
        1_000.0,
        np.array([-3.0]),
        np.array([3_000.0]),
        *single(0.05),
        3_000.0,
    )
    assert round(lp, 2) == 3_174.60


@PATHS
def test_gen01_seed_table_is_mm_ten_percent_of_im(path: str) -> None:
    # "2x ≈ 45 %, 5x ≈ 18 %, 10x ≈ 9 %, 25x ≈ 3.5 %, 50x ≈ 1.8 %" = 0.9/L with MM = 10 % of IM
    # on entry notional: fixed MM → bankruptcy_price(IM − MM).
    for lev, published in ((2, 0.45), (5, 0.18), (10, 0.09), (25, 0.036), (50, 0.018)):
        im = 1_000.0
        bp = call(
            "bankruptcy_price", path, im - 0.1 * im, np.array([lev * im / 100.0]), np.array([100.0])
        )
        assert (100.0 - bp) / 100.0 == pytest.approx(published)


@PATHS
@pytest.mark.parametrize(
    ("mmr", "published"),
    [
        # GEN-02: constant 1 % MMR gives 49.5 %, 19.2 %, 9.1 %, 3.0 %, 1.0 % (long)
        (0.01, (0.495, 0.192, 0.091, 0.030, 0.010)),
        # GEN-03: Binance tier 1 (0.4 %): 49.8 %, 19.7 %, 9.6 %, 3.6 %, 1.6 %
        (0.004, (0.498, 0.197, 0.096, 0.036, 0.016)),
    ],
)
def test_gen02_gen03_adverse_moves(path: str, mmr: float, published: tuple[float, ...]) -> None:
    for lev, expected in zip((2, 5, 10, 25, 50), published, strict=True):
        lp = call("isolated_liquidation_price", path, 1.0, 100.0, 100.0 / lev, *single(mmr))
        assert round((100.0 - lp) / 100.0, 3) == expected


@PATHS
def test_gen03_hyperliquid_moves(path: str) -> None:
    # Hyperliquid BTC (1.25 %): 49.4 %, 19.0 %, 8.9 %, 2.8 % for 2x/5x/10x/25x
    for lev, expected in ((2, 0.494), (5, 0.190), (10, 0.089), (25, 0.028)):
        lp = call("isolated_liquidation_price", path, 1.0, 100.0, 100.0 / lev, *single(0.0125))
        assert round((100.0 - lp) / 100.0, 3) == expected


@PATHS
def test_buffered_liquidation_price(path: str) -> None:
    # liq 95,000, entry 100,000, buffer 0.05: 95,000 + 5,000·0.05 = 95,250 (closer to entry)
    assert call("buffered_liquidation_price", path, 95_000.0, 100_000.0, 0.05) == 95_250.0
    # short: liq 105,000 → 105,000 − 250
    assert call("buffered_liquidation_price", path, 105_000.0, 100_000.0, 0.05) == 104_750.0
    assert math.isnan(call("buffered_liquidation_price", path, math.nan, 100_000.0, 0.05))


@PATHS
def test_bn13_binance_max_removable(path: str) -> None:
    # long 1 BTC @100k, iWB 5,000, 20x. Mark 103,000: MM = 412;
    # min(5,000 − 412, 5,000 + 3,000 − 103,000/20) = min(4,588, 2,850) = 2,850 [BN-13a]
    mm = call("maintenance_margin", path, 103_000.0, BN_FLOORS, BN_MMRS, BN_AMOUNTS)
    assert call("binance_max_removable", path, 5_000.0, 1.0, 1e5, 103_000.0, mm, 20.0) == (
        pytest.approx(2_850.0)
    )
    # At mark 100,000: 5,000 − 100,000/20 = 0 [BN-13b]
    assert call("binance_max_removable", path, 5_000.0, 1.0, 1e5, 1e5, 400.0, 20.0) == 0.0


@PATHS
def test_binance_cross_withdrawable_takes_the_smaller_bound(path: str) -> None:
    # WB 10,000, uPnL −1,000, IM 5,000, MM 400: MM bound 9,600; IM bound 4,000 → 4,000
    assert call("binance_cross_withdrawable", path, 10_000.0, -1_000.0, 5_000.0, 400.0, 0.0) == (
        4_000.0
    )
    # uPnL +6,000: IM bound 11,000 exceeds the MM bound 9,600 → unrealized profit is not
    # withdrawable beyond the wallet
    assert call("binance_cross_withdrawable", path, 10_000.0, 6_000.0, 5_000.0, 400.0, 0.0) == (
        9_600.0
    )


@PATHS
def test_hl16_hyperliquid_isolated_removal(path: str) -> None:
    # long 1 BTC @100k, margin 25,000, mark 110,000: value 35,000.
    # 5x: 35,000 − max(22,000, 11,000) = 13,000; 20x: 35,000 − max(5,500, 11,000) = 24,000
    assert call("hyperliquid_max_removable", path, 35_000.0, 110_000.0 / 5, 110_000.0) == 13_000.0
    assert call("hyperliquid_max_removable", path, 35_000.0, 110_000.0 / 20, 110_000.0) == (
        24_000.0
    )


@PATHS
def test_inverse_contracts(path: str) -> None:
    # Inverse long 10,000 USD (100 contracts × 100 USD) from 50,000: 0.2 BTC notional.
    # Isolated 0.02 BTC, single tier MMR 0.5 %. Coin equity at P: 0.02 + 10,000·(1/50,000 − 1/P)
    # equals 0.005·10,000/P when 0.02 + 0.2 = (10,000 + 50)/P → P = 10,050/0.22 = 45,681.82
    assert call("inverse_notional", path, 100.0, 100.0, 50_000.0) == pytest.approx(0.2)
    lp = call(
        "inverse_liquidation_price",
        path,
        0.02,
        np.array([10_000.0]),
        np.array([50_000.0]),
        *single(0.005),
        50_000.0,
    )
    assert lp == pytest.approx(10_050.0 / 0.22)
    # Bankruptcy: 0.22 = 10,000/P → 45,454.55
    bp = call("inverse_bankruptcy_price", path, 0.02, np.array([10_000.0]), np.array([50_000.0]))
    assert bp == pytest.approx(10_000.0 / 0.22)


@PATHS
def test_funding_sign(path: str) -> None:
    # A long of 2 BTC at mark 50,000 pays 0.01 %: −2·50,000·0.0001 = −10
    assert call("funding_payment", path, 2.0, 1.0, 50_000.0, 0.0001) == pytest.approx(-10.0)
    assert call("funding_payment", path, -2.0, 1.0, 50_000.0, 0.0001) == pytest.approx(10.0)
