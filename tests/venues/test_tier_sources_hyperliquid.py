"""Hyperliquid margin tables from the ``meta`` response (MARGIN_SPEC.md §2.2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from levtrade.errors import TierTableError
from levtrade.venues import default_tiers, parse_hyperliquid_meta


def test_tiered_deductions_hl08_hl09(hl_meta: dict[str, Any]) -> None:
    tables = {t.symbol: t for t in parse_hyperliquid_meta(hl_meta)}
    btc, eth = tables["BTC/USDC:USDC"], tables["ETH/USDC:USDC"]
    # HL-08: 150,000,000 × (1/40 − 1/80) = 150,000,000 × 0.0125 = 1,875,000.
    assert btc.tiers[1].maintenance_amount == pytest.approx(1_875_000.0)
    # HL-09: 100,000,000 × (1/30 − 1/50) = 1,333,333.33.
    assert eth.tiers[1].maintenance_amount == pytest.approx(1_333_333.33, abs=0.01)
    assert (btc.tiers[0].cap, btc.tiers[1].floor, btc.tiers[1].max_leverage) == (150e6, 150e6, 20)
    assert btc.tiers[1].cap == float("inf")


@pytest.mark.parametrize(
    ("coin", "mmr"),
    # HL-01: 40x → 1.25 %, 25x → 2 %, 20x → 2.5 %, 10x → 5 %, 3x → 16.7 %.
    [("AVAX", 0.0125), ("LINK", 0.02), ("SOL", 0.025), ("MEME", 0.05), ("ADA", 0.167)],
)
def test_single_tier_mmr_hl01(coin: str, mmr: float, hl_meta: dict[str, Any]) -> None:
    tables = {t.symbol: t for t in parse_hyperliquid_meta(hl_meta)}
    table = tables[f"{coin}/USDC:USDC"]
    assert len(table.tiers) == 1
    assert table.tiers[0].mmr == pytest.approx(mmr, abs=5e-4)
    assert table.tiers[0].maintenance_amount == 0


def test_shipped_defaults_equal_the_meta_tables(hl_meta: dict[str, Any]) -> None:
    tables = {t.symbol: t for t in parse_hyperliquid_meta(hl_meta)}
    for symbol in ("BTC/USDC:USDC", "ETH/USDC:USDC"):
        assert default_tiers("hyperliquid", symbol).tiers == tables[symbol].tiers


def test_meta_and_asset_ctxs_form(hl_meta: dict[str, Any]) -> None:
    ctxs = [{"funding": "0.0000125", "markPx": "100000.0"}] * 7
    tables = parse_hyperliquid_meta([hl_meta, ctxs])
    assert len(tables) == 7


def test_nautilus_meta_sample_without_margin_tables(shared_data: Path) -> None:
    path = shared_data / "nautilus_trader_testdata/json/hyperliquid__http_meta_perp_sample.json"
    tables = {t.symbol: t for t in parse_hyperliquid_meta(json.loads(path.read_text()))}
    assert set(tables) == {"BTC/USDC:USDC", "ETH/USDC:USDC", "ATOM/USDC:USDC"}
    # maxLeverage 40, 25, 5 in the sample → MMR 1/(2L) = 1.25 %, 2 %, 10 %.
    assert tables["BTC/USDC:USDC"].tiers[0].mmr == pytest.approx(0.0125)
    assert tables["ETH/USDC:USDC"].tiers[0].mmr == pytest.approx(0.02)
    assert tables["ATOM/USDC:USDC"].tiers[0].mmr == pytest.approx(0.10)


def test_ccxt_markets_universe(shared_data: Path) -> None:
    markets = json.loads((shared_data / "ccxt_static_markets/hyperliquid_markets.json").read_text())
    universe = [m["info"] for m in markets.values() if m["type"] == "swap"]
    tables = {t.symbol: t for t in parse_hyperliquid_meta({"universe": universe})}
    # This older snapshot has BTC at 50x (string "50"): MMR 1 %, the old "3–50x / 1 %" range
    # MARGIN_SPEC §2.2 mentions.
    assert tables["BTC/USDC:USDC"].tiers[0].max_leverage == 50
    assert tables["BTC/USDC:USDC"].tiers[0].mmr == pytest.approx(0.01)
    assert tables["MEME/USDC:USDC"].tiers[0].mmr == pytest.approx(0.05)


def _mutated(meta: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    target: Any = meta
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return meta


@pytest.mark.parametrize(
    ("path", "value", "fragments"),
    [
        (["universe", 0, "marginTableId"], 57, ["marginTableId 57", "[55, 56]"]),
        (["universe", 0, "marginTableId"], "56", ["margin table id", "'56'"]),
        (["universe", 2, "marginTableId"], 0, ["maxLeverage", "0.0"]),
        (["universe", 0, "name"], "", ["name"]),
        (["marginTables", 1, 1, "marginTiers", 1, "lowerBound"], "0.0", ["ascending order"]),
        (["marginTables", 1, 1, "marginTiers", 1, "maxLeverage"], "x", ["maxLeverage", "'x'"]),
        (["marginTables", 1, 1, "marginTiers"], [], ["empty"]),
        (["marginTables", 0], [55], ["[id, table]"]),
        (["universe"], None, ["universe", "NoneType"]),
    ],
)
def test_malformed_meta(
    hl_meta: dict[str, Any], path: list[Any], value: Any, fragments: list[str]
) -> None:
    with pytest.raises(TierTableError) as info:
        parse_hyperliquid_meta(_mutated(hl_meta, path, value))
    for fragment in fragments:
        assert fragment in str(info.value)


def test_first_lower_bound_must_be_zero(hl_meta: dict[str, Any]) -> None:
    meta = _mutated(hl_meta, ["marginTables", 1, 1, "marginTiers", 0, "lowerBound"], "10.0")
    with pytest.raises(TierTableError, match="floor must be 0"):
        parse_hyperliquid_meta(meta)
