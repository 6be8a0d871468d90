"""The shipped default tables: their numbers against the published tables they were written from,
and look-up by notional (floor ≤ N < cap) with the per-tier leverage limit."""

from __future__ import annotations

from datetime import date
from importlib import resources
from typing import Any

import pytest

from levtrade.errors import TierTableError, UnknownSymbolError, UnknownVenueError
from levtrade.venues import TierRegistry, default_tiers
from levtrade.venues import registry as registry_module

SHIPPED = [
    ("binance", "BTC/USDT:USDT"),
    ("binance", "ETH/USDT:USDT"),
    ("bybit", "BTC/USDT:USDT"),
    ("okx", "BTC/USDT:USDT"),
    ("okx", "ETH/USDT:USDT"),
    ("hyperliquid", "BTC/USDC:USDC"),
    ("hyperliquid", "ETH/USDC:USDC"),
    ("dydx", "BTC/USDC:USDC"),
    ("dydx", "ETH/USDC:USDC"),
]


@pytest.mark.parametrize(("venue", "symbol"), SHIPPED)
def test_every_default_records_its_source(venue: str, symbol: str) -> None:
    table = default_tiers(venue, symbol)
    assert (table.venue, table.symbol) == (venue, symbol)
    assert "MARGIN_SPEC.md" in table.source


def test_shipped_files_are_small() -> None:
    folder = resources.files("levtrade.venues") / "tables"
    for venue in ("binance", "bybit", "okx", "hyperliquid", "dydx"):
        assert len((folder / f"{venue}.json").read_bytes()) < 8_000


def test_binance_defaults_are_the_published_brackets(venue_tiers: dict[str, Any]) -> None:
    for symbol, key in (("BTC/USDT:USDT", "BTCUSDT"), ("ETH/USDT:USDT", "ETHUSDT")):
        table = default_tiers("binance", symbol)
        assert table.effective_date == date(2026, 3, 26)
        published = venue_tiers["binance"][key]
        assert [
            (t.floor, t.cap, t.mmr, t.maintenance_amount, t.max_leverage) for t in table.tiers
        ] == [
            (
                b["notionalFloor"],
                b["notionalCap"],
                b["maintMarginRatio"],
                b["cum"],
                b["initialLeverage"],
            )
            for b in published
        ]


def test_binance_defaults_match_the_2026_snapshot(current_tables: dict[str, Any]) -> None:
    for symbol in ("BTC/USDT:USDT", "ETH/USDT:USDT"):
        assert default_tiers("binance", symbol).tiers == current_tables[symbol].tiers


def test_hyperliquid_defaults_hl08_hl09(venue_tiers: dict[str, Any]) -> None:
    btc = default_tiers("hyperliquid", "BTC")
    eth = default_tiers("hyperliquid", "ETH/USDC:USDC")
    assert btc.tiers[1].maintenance_amount == pytest.approx(1_875_000)
    assert eth.tiers[1].maintenance_amount == pytest.approx(1_333_333.33, abs=0.01)
    for table, coin in ((btc, "BTC"), (eth, "ETH")):
        published = venue_tiers["hyperliquid"][coin]["tiers"]
        assert [t.floor for t in table.tiers] == [p["lowerBound"] for p in published]
        assert [t.mmr for t in table.tiers] == pytest.approx(
            [p["maintenanceMarginRate"] for p in published], rel=1e-8
        )
        assert [t.maintenance_amount for t in table.tiers] == pytest.approx(
            [p["maintenanceDeduction"] for p in published], rel=1e-8
        )


def test_bybit_default_deductions_rederive_by03(venue_tiers: dict[str, Any]) -> None:
    table = default_tiers("bybit", "BTCUSDT")
    published = venue_tiers["bybit_partial"]["BTCUSDT"]
    deduction = 0.0
    for k, row in enumerate(published):
        if k:
            prev = published[k - 1]
            deduction += prev["riskLimit"] * (
                row["maintenanceMarginRate"] - prev["maintenanceMarginRate"]
            )
        assert row["maintenanceMarginDeduction"] == pytest.approx(deduction, abs=0.005)
        assert table.tiers[k].maintenance_amount == row["maintenanceMarginDeduction"]
        assert table.tiers[k].cap == row["riskLimit"]


def test_bybit_eth_is_not_shipped() -> None:
    with pytest.raises(UnknownSymbolError) as info:
        default_tiers("bybit", "ETH/USDT:USDT")
    assert "bybit" in str(info.value) and "'ETH/USDT:USDT'" in str(info.value)


def test_dydx_default_dy02() -> None:
    (tier,) = default_tiers("dydx", "BTC-USD").tiers
    # IMF 0.02 × maintenance fraction 0.6 = MMF 0.012; 1/0.02 = 50x.
    assert (tier.mmr, tier.max_leverage, tier.maintenance_amount) == (0.012, 50, 0)


def test_okx_default_okx01() -> None:
    (tier,) = default_tiers("okx", "BTC-USDT-SWAP").tiers
    assert (tier.mmr, tier.maintenance_amount) == (0.004, 0)


def test_lookup_boundary_is_floor_inclusive() -> None:
    table = default_tiers("binance", "BTC/USDT:USDT")
    assert table.index(299_999.99) == 0
    assert table.index(300_000) == 1
    assert table.index(-300_000) == 1
    assert table.tier_at(800_000).mmr == 0.0065
    assert table.tier_at(1_199_999_999).max_leverage == 2
    # Continuity at the floors (MARGIN_SPEC §1.1): 0.4 % × 300k = 1,200 = 0.5 % × 300k − 300.
    assert table.maintenance_margin(300_000) == pytest.approx(1_200)
    assert table.maintenance_margin(299_999.99) == pytest.approx(0.004 * 299_999.99)


def test_max_leverage_per_tier() -> None:
    table = default_tiers("binance", "BTC/USDT:USDT")
    # Published: 150x up to 300k, 100x up to 800k, 75x up to 3M, …, 1x up to 1.8 B.
    assert table.max_leverage_at(100_000) == 150
    assert table.max_leverage_at(300_000) == 100
    assert table.max_leverage_at(1_800_000_000) == 0
    assert table.max_notional_for_leverage(150) == 300_000
    assert table.max_notional_for_leverage(125) == 300_000
    assert table.max_notional_for_leverage(100) == 800_000
    assert table.max_notional_for_leverage(151) == 0
    hl = default_tiers("hyperliquid", "BTC/USDC:USDC")
    assert hl.max_leverage_at(149_999_999) == 40
    assert hl.max_leverage_at(150_000_000) == 20
    assert hl.max_notional_for_leverage(40) == 150_000_000


def test_binance_default_is_not_in_force_before_its_date() -> None:
    assert default_tiers("binance", "BTC/USDT:USDT", at=date(2026, 3, 26)).tiers[0].cap == 300_000
    with pytest.raises(UnknownSymbolError, match="2024-01-01"):
        default_tiers("binance", "BTC/USDT:USDT", at=date(2024, 1, 1))
    # Undated defaults (no published date) apply at any day.
    assert default_tiers("hyperliquid", "BTC", at=date(2024, 1, 1)).tiers[0].max_leverage == 40


def test_unknown_venue_and_symbol() -> None:
    with pytest.raises(UnknownVenueError, match="'bitmex'"):
        default_tiers("bitmex", "XBT/USD:BTC")
    with pytest.raises(UnknownSymbolError, match="SOL/USDT:USDT"):
        default_tiers("binance", "SOL/USDT:USDT")


def test_registry_with_defaults_can_be_extended() -> None:
    registry = TierRegistry.with_defaults()
    assert len(registry) == len(SHIPPED)
    newer = default_tiers("hyperliquid", "BTC")
    registry.add(
        type(newer)(newer.venue, newer.symbol, newer.tiers, date(2026, 6, 1), "later fetch")
    )
    assert registry.get("hyperliquid", "BTC").source == "later fetch"
    assert registry.get("hyperliquid", "BTC", at=date(2026, 5, 31)) == newer
    # The shared defaults are untouched.
    assert default_tiers("hyperliquid", "BTC") == newer


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{", "not valid JSON"),
        ('{"venue": "okx", "tables": []}', "venue 'dydx'"),
        ('{"venue": "dydx", "tables": []}', "non-empty list"),
        ('{"venue": "dydx", "tables": [{"symbol": "BTC/USDC:USDC", "tiers": [1]}]}', "object"),
        (
            '{"venue": "dydx", "tables": [{"symbol": "X", "effective_date": "May", "tiers": []}]}',
            "YYYY-MM-DD, got 'May'",
        ),
    ],
)
def test_corrupt_shipped_file_is_reported(text: str, fragment: str) -> None:
    with pytest.raises(TierTableError) as info:
        registry_module._read_shipped("dydx", "tables/dydx.json", text)
    assert "tables/dydx.json" in str(info.value)
    assert fragment in str(info.value)
