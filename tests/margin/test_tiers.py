"""TierTable: defaults of DESIGN.md §5, look-ups by notional, and malformed tables."""

from __future__ import annotations

import math

import pytest

from levtrade.errors import TierTableError
from levtrade.margin.tiers import TierTable

# Binance BTCUSDT brackets 1-3 as published (MARGIN_SPEC §1.1): 150x/0.4 % to 300k,
# 100x/0.5 % (cum 300) to 800k, 75x/0.65 % (cum 1,500) to 3M.
BINANCE_ROWS = [
    {"floor": 0, "mmr": 0.004, "max_leverage": 150},
    {"floor": 300_000, "mmr": 0.005, "max_leverage": 100},
    {"floor": 800_000, "cap": 3_000_000, "mmr": 0.0065, "max_leverage": 75},
]


def table(rows: list[dict[str, float]]) -> TierTable:
    return TierTable.from_rows(rows, venue="binance", symbol="BTC/USDT:USDT")


def test_defaults_cap_from_next_floor_and_amount_from_recursion() -> None:
    t = table(BINANCE_ROWS)
    assert [tier.cap for tier in t.tiers] == [300_000, 800_000, 3_000_000]
    # cum: 300,000·0.1 % = 300; 300 + 800,000·0.15 % = 1,500 (published)
    assert [tier.maintenance_amount for tier in t.tiers] == pytest.approx([0, 300, 1_500])


def test_last_cap_defaults_to_unbounded() -> None:
    t = table([{"floor": 0, "mmr": 0.01, "max_leverage": 10}])
    assert math.isinf(t.tiers[0].cap)


def test_hyperliquid_rows_derive_mmr_and_deduction() -> None:
    # HL-01/HL-08: MMR = 1/(2·Lmax); BTC table 56: 40x below 150M, 20x above;
    # D = 150M·(2.5 % − 1.25 %) = 1,875,000
    t = TierTable.from_rows(
        [{"floor": 0, "max_leverage": 40}, {"floor": 150e6, "max_leverage": 20}],
        venue="hyperliquid",
        symbol="BTC/USDC:USDC",
    )
    assert [tier.mmr for tier in t.tiers] == pytest.approx([0.0125, 0.025])
    assert t.tiers[1].maintenance_amount == pytest.approx(1_875_000.0)


def test_lookup_by_notional_floor_inclusive_cap_exclusive() -> None:
    t = table(BINANCE_ROWS)
    assert t.index(299_999.99) == 0
    assert t.index(300_000) == 1
    assert t.tier_at(-450_000).mmr == 0.005  # a short's notional is looked up by size
    # MM at 500k notional: 500,000·0.5 % − 300 = 2,200
    assert t.maintenance_margin(500_000) == pytest.approx(2_200.0)


def test_max_leverage_by_notional_and_beyond_the_last_cap() -> None:
    t = table(BINANCE_ROWS)
    assert t.max_leverage_at(100_000) == 150
    assert t.max_leverage_at(1_000_000) == 75
    assert t.max_leverage_at(3_000_000) == 0.0
    # 100x is allowed up to the 800k cap, 120x only in tier 1
    assert t.max_notional_for_leverage(100) == 800_000
    assert t.max_notional_for_leverage(120) == 300_000
    assert t.max_notional_for_leverage(200) == 0.0


def test_backstop_scaling_and_okx_fee_rate() -> None:
    t = table(BINANCE_ROWS)
    scaled = t.scaled(2 / 3)
    # ⅔ of MM at 500k: ⅔·2,200
    assert scaled.maintenance_margin(500_000) == pytest.approx(2_200.0 * 2 / 3)
    # OKX-01: the liquidation test uses MMR + taker fee: MM + 0.05 %·N
    okx = t.with_extra_rate(0.0005)
    assert okx.maintenance_margin(500_000) == pytest.approx(2_200.0 + 250.0)


def test_to_rows_round_trips() -> None:
    t = table(BINANCE_ROWS)
    assert table(t.to_rows()) == t


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "the table is empty"),
        ([{"floor": 10, "mmr": 0.01, "max_leverage": 10}], "floor must be 0, got 10.0"),
        (
            [{"mmr": 0.01, "max_leverage": 10}],
            "tiers[0] for binance BTC/USDT:USDT: missing field 'floor'",
        ),
        ([{"floor": 0, "mmr": 0.01}], "missing field 'max_leverage'"),
        ([{"floor": 0, "mmr": 1.2, "max_leverage": 10}], "mmr must be in [0, 1), got 1.2"),
        ([{"floor": 0, "mmr": -0.1, "max_leverage": 10}], "mmr must be in [0, 1), got -0.1"),
        ([{"floor": 0, "mmr": 0.01, "max_leverage": 0}], "max_leverage must be > 0, got 0.0"),
        ([{"floor": 0, "mmr": "abc", "max_leverage": 10}], "mmr must be a number, got 'abc'"),
        ([{"floor": 0, "mmr": True, "max_leverage": 10}], "mmr must be a number, got True"),
        ([{"floor": 0, "mmr": float("nan"), "max_leverage": 10}], "mmr must be a number"),
        (
            [
                {"floor": 0, "mmr": 0.01, "max_leverage": 10},
                {"floor": 0, "mmr": 0.02, "max_leverage": 5},
            ],
            "tiers[1] for binance BTC/USDT:USDT: floor 0.0 must exceed the previous floor 0.0",
        ),
        (
            [
                {"floor": 0, "cap": 100, "mmr": 0.01, "max_leverage": 10},
                {"floor": 200, "mmr": 0.02, "max_leverage": 5},
            ],
            "tiers[1] for binance BTC/USDT:USDT: floor 200.0 must equal the previous cap 100.0",
        ),
        ([{"floor": 0, "cap": 0, "mmr": 0.01, "max_leverage": 10}], "cap 0.0 must exceed floor"),
    ],
)
def test_malformed_tables_name_the_field(rows: list[dict[str, object]], message: str) -> None:
    with pytest.raises(TierTableError) as info:
        table(rows)  # type: ignore[arg-type]
    assert message in str(info.value)
