"""Fixtures for the venue tests: the real Binance bracket snapshots, each loaded once per session.

Snapshot dates and market counts are those of data/README.md §6. The 2026 file is the copy inside
the freqtrade 2026.9 wheel; its exact date is not recorded, so it is dated the first day of the
month its version names (2026-09-01).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from levtrade.margin.tiers import TierTable
from levtrade.venues import TierRegistry, load_tier_file

SNAPSHOTS: dict[str, tuple[date, int]] = {
    "binance_leverage_tiers_freqtrade-2022-02-05.json.gz": (date(2022, 2, 5), 162),
    "binance_leverage_tiers_freqtrade-2022-11-25.json.gz": (date(2022, 11, 25), 195),
    "binance_leverage_tiers_freqtrade-2023-12-12.json.gz": (date(2023, 12, 12), 291),
    "binance_leverage_tiers_freqtrade-2024-10-24.json.gz": (date(2024, 10, 24), 349),
    "binance_leverage_tiers_freqtrade-2026.9.json": (date(2026, 9, 1), 907),
}
CURRENT = "binance_leverage_tiers_freqtrade-2026.9.json"


@pytest.fixture(scope="session")
def snapshots() -> dict[str, tuple[date, int]]:
    """Snapshot file → (effective date, market count), as data/README.md §6 lists them."""
    return SNAPSHOTS


@pytest.fixture(scope="session")
def tiers_dir(shared_data: Path) -> Path:
    return shared_data / "exchange_leverage_tiers"


@pytest.fixture(scope="session")
def snapshot_tables(tiers_dir: Path) -> dict[str, list[TierTable]]:
    """Every dated snapshot parsed once: file name → tables."""
    return {
        name: load_tier_file(tiers_dir / name, venue="binance", effective_date=day)
        for name, (day, _) in SNAPSHOTS.items()
    }


@pytest.fixture(scope="session")
def current_tables(snapshot_tables: dict[str, list[TierTable]]) -> dict[str, TierTable]:
    """The 2026 snapshot by ccxt symbol."""
    return {t.symbol: t for t in snapshot_tables[CURRENT]}


@pytest.fixture(scope="session")
def current_raw(tiers_dir: Path) -> dict[str, Any]:
    """The 2026 snapshot as ccxt wrote it."""
    with (tiers_dir / CURRENT).open() as fh:
        data: dict[str, Any] = json.load(fh)
    return data


@pytest.fixture(scope="session")
def binance_history(snapshot_tables: dict[str, list[TierTable]]) -> TierRegistry:
    """All five snapshots in one registry."""
    registry = TierRegistry()
    for tables in snapshot_tables.values():
        registry.extend(tables)
    return registry


@pytest.fixture(scope="session")
def venue_tiers(shared_data: Path) -> dict[str, Any]:
    """data/venue_tiers.json: the published Binance, Hyperliquid and partial Bybit tables."""
    with (shared_data / "venue_tiers.json").open() as fh:
        data: dict[str, Any] = json.load(fh)
    return data


@pytest.fixture
def hl_meta() -> dict[str, Any]:
    """A meta response carrying the mainnet tables of MARGIN_SPEC §2.2 / venue_tiers.json
    (BTC table 56: 0–150M 40x, above 20x; ETH table 55: 0–100M 25x, above 15x), with
    ``lowerBound`` as the decimal strings the API sends, plus single-tier assets whose table
    ids (< 50) are their maximum leverage."""
    return {
        "universe": [
            {"szDecimals": 5, "name": "BTC", "maxLeverage": 40, "marginTableId": 56},
            {"szDecimals": 4, "name": "ETH", "maxLeverage": 25, "marginTableId": 55},
            {"szDecimals": 2, "name": "SOL", "maxLeverage": 20, "marginTableId": 20},
            {"szDecimals": 0, "name": "MEME", "maxLeverage": 10, "marginTableId": 10},
            {"szDecimals": 0, "name": "ADA", "maxLeverage": 3, "marginTableId": 3},
            {"szDecimals": 1, "name": "AVAX", "maxLeverage": 40, "marginTableId": 40},
            {"szDecimals": 1, "name": "LINK", "maxLeverage": 25, "marginTableId": 25},
        ],
        "marginTables": [
            [
                55,
                {
                    "description": "tiered 25x",
                    "marginTiers": [
                        {"lowerBound": "0.0", "maxLeverage": 25},
                        {"lowerBound": "100000000.0", "maxLeverage": 15},
                    ],
                },
            ],
            [
                56,
                {
                    "description": "tiered 40x",
                    "marginTiers": [
                        {"lowerBound": "0.0", "maxLeverage": 40},
                        {"lowerBound": "150000000.0", "maxLeverage": 20},
                    ],
                },
            ],
        ],
    }
