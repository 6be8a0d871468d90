"""The shipped default tables: their numbers against the published tables they were written from
(the small MARGIN_SPEC tables and the venues' full dated tables), look-up by notional
(floor ≤ N < cap) with the per-tier leverage limit, and the user's refreshed tables."""

from __future__ import annotations

from datetime import date
from importlib import resources
from typing import Any

import pytest

from levtrade.errors import TierTableError, UnknownSymbolError, UnknownVenueError
from levtrade.margin.tiers import TierTable
from levtrade.venues import default_registry, default_tiers, shipped_tables
from levtrade.venues import shipped as shipped_module

MARGIN_SPEC_DAY = date(2026, 3, 26)
"""The Binance BTC/ETH tables of MARGIN_SPEC.md §1.1 are in force from this day until the
freqtrade 2026.9 snapshot (2026-09-01), which has the same brackets."""

SHIPPED = [
    ("binance", "BTC/USDT:USDT", MARGIN_SPEC_DAY),
    ("binance", "ETH/USDT:USDT", MARGIN_SPEC_DAY),
    ("bybit", "BTC/USDT:USDT", None),
    ("okx", "BTC/USDT:USDT", None),
    ("okx", "ETH/USDT:USDT", None),
    ("hyperliquid", "BTC/USDC:USDC", None),
    ("hyperliquid", "ETH/USDC:USDC", None),
    ("dydx", "BTC/USDC:USDC", None),
    ("dydx", "ETH/USDC:USDC", None),
]
SNAPSHOT_SOURCES = {
    date(2022, 2, 5): "a99cf2eeedfdae5750e0998beb2df32dc8caeb03",
    date(2022, 11, 25): "b8d1862ca8b996be341e9ac408c389ebb5a8272c",
    date(2023, 12, 12): "c9f43587ec6d76f10de7c1d6a27901ae22ccc298",
    date(2024, 10, 24): "3d9514d2660c42dfdbde517f7b421d1a5cf4f196",
    date(2026, 9, 1): "freqtrade-2026.9",
}
"""The shipped Binance snapshots: their day and where each came from (data/README.md §6)."""


@pytest.mark.parametrize(("venue", "symbol", "day"), SHIPPED)
def test_every_default_records_its_source(venue: str, symbol: str, day: date | None) -> None:
    table = default_tiers(venue, symbol, at=day)
    assert (table.venue, table.symbol) == (venue, symbol)
    assert "MARGIN_SPEC.md" in table.source


def test_shipped_files_are_small() -> None:
    folder = resources.files("levtrade.venues") / "tables"
    for venue in ("binance", "bybit", "okx", "hyperliquid", "dydx"):
        assert len((folder / f"{venue}.json").read_bytes()) < 8_000
    snapshots = [r for r in (folder / "snapshots").iterdir() if r.name.endswith(".json.gz")]
    assert sorted(r.name for r in snapshots) == [
        f"binance-{day.isoformat()}.json.gz" for day in sorted(SNAPSHOT_SOURCES)
    ]
    assert sum(len(r.read_bytes()) for r in snapshots) < 100_000


def test_the_full_binance_tables_are_the_dated_snapshots(
    snapshot_tables: dict[str, list[TierTable]], snapshots: dict[str, tuple[date, int]]
) -> None:
    # every market of every snapshot file in the shared data, tier for tier, under its day
    shipped = {(t.symbol, t.effective_date): t for t in shipped_tables() if t.venue == "binance"}
    for name, (day, markets) in snapshots.items():
        tables = snapshot_tables[name]
        assert len(tables) == markets
        for table in tables:
            ours = shipped[(table.symbol, day)]
            assert ours.tiers == table.tiers
            assert SNAPSHOT_SOURCES[day] in ours.source


def test_pairs_beyond_btc_and_eth_have_binance_tables(current_raw: dict[str, Any]) -> None:
    # XRP/USDT:USDT tier 1 in freqtrade 2026.9's file: notional 0–40,000, mmr 0.005, 100x
    # (freqtrade_testdata/README.md); SOL's tiers as that file lists them
    xrp = default_tiers("binance", "XRPUSDT")
    assert (xrp.tiers[0].cap, xrp.tiers[0].mmr, xrp.tiers[0].max_leverage) == (40_000, 0.005, 100)
    assert xrp.effective_date == date(2026, 9, 1)
    sol = default_tiers("binance", "SOL/USDT:USDT")
    assert [(t.floor, t.cap, t.mmr, t.maintenance_amount, t.max_leverage) for t in sol.tiers] == [
        (
            r["minNotional"],
            r["maxNotional"],
            r["maintenanceMarginRate"],
            r["info"]["cum"],
            r["maxLeverage"],
        )
        for r in current_raw["SOL/USDT:USDT"]
    ]


def test_binance_defaults_are_the_published_brackets(venue_tiers: dict[str, Any]) -> None:
    for symbol, key in (("BTC/USDT:USDT", "BTCUSDT"), ("ETH/USDT:USDT", "ETHUSDT")):
        table = default_tiers("binance", symbol, at=MARGIN_SPEC_DAY)
        assert table.effective_date == MARGIN_SPEC_DAY
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


def test_binance_defaults_are_the_tables_in_force_on_the_day() -> None:
    btc = "BTC/USDT:USDT"
    assert default_tiers("binance", btc, at=MARGIN_SPEC_DAY).tiers[0].cap == 300_000
    # BTCUSDT tier 1 was 0–50k @ 0.4 % / 125x in the 2022–2024 snapshots (data/README.md §6)
    before = default_tiers("binance", btc, at=date(2024, 1, 1))
    assert before.effective_date == date(2023, 12, 12)
    assert (before.tiers[0].cap, before.tiers[0].mmr, before.tiers[0].max_leverage) == (
        50_000,
        0.004,
        125,
    )
    with pytest.raises(UnknownSymbolError, match="2022-01-01"):
        default_tiers("binance", btc, at=date(2022, 1, 1))
    # Undated defaults (no published date) apply at any day.
    assert default_tiers("hyperliquid", "BTC", at=date(2024, 1, 1)).tiers[0].max_leverage == 40


def test_unknown_venue_and_symbol() -> None:
    with pytest.raises(UnknownVenueError, match="'bitmex'"):
        default_tiers("bitmex", "XBT/USD:BTC")
    with pytest.raises(UnknownSymbolError, match="NOPE/USDT:USDT"):
        default_tiers("binance", "NOPE/USDT:USDT")


def test_registry_with_defaults_can_be_extended() -> None:
    registry = default_registry()
    assert len(registry) == len(shipped_tables())
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
        shipped_module.read_shipped("dydx", "tables/dydx.json", text)
    assert "tables/dydx.json" in str(info.value)
    assert fragment in str(info.value)
