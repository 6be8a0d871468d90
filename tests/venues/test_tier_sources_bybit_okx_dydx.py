"""Bybit risk limits, OKX position tiers and dYdX liquidity tiers."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from levtrade.errors import ConfigError, TierTableError, UnknownSymbolError
from levtrade.venues import (
    default_tiers,
    dydx_tier_table,
    parse_bybit_risk_limits,
    parse_ccxt_leverage_tiers,
    parse_dydx_liquidity_tier,
    parse_okx_position_tiers,
)

# -- Bybit ------------------------------------------------------------------------------------


def test_bybit_page_rows_by03(venue_tiers: dict[str, Any]) -> None:
    rows = venue_tiers["bybit_partial"]["BTCUSDT"]
    (table,) = parse_bybit_risk_limits(rows, symbol="BTCUSDT")
    assert table.symbol == "BTC/USDT:USDT"
    assert len(table.tiers) == 20
    # Every published deduction re-derives (the parser refuses a mismatch); spelled out for
    # tiers 2 and 3 (MARGIN_SPEC §3): 2,000,000 × (0.56 % − 0.5 %) = 1,200 and
    # 1,200 + 2,600,000 × (0.63 % − 0.56 %) = 3,020.
    assert table.tiers[1].maintenance_amount == 1_200
    assert table.tiers[2].maintenance_amount == 3_020
    assert [t.maintenance_amount for t in table.tiers] == [
        r["maintenanceMarginDeduction"] for r in rows
    ]
    assert (table.tiers[0].floor, table.tiers[0].cap, table.tiers[0].max_leverage) == (
        0,
        2_000_000,
        100,
    )
    assert table.tiers[-1].cap == 80_000_000
    # The shipped default is this very table.
    assert default_tiers("bybit", "BTC/USDT:USDT").tiers == table.tiers


def _v5_response(venue_tiers: dict[str, Any]) -> dict[str, Any]:
    """The first three published tiers in the v5 ``/v5/market/risk-limit`` shape (strings,
    ``mmDeduction`` empty on the lowest tier)."""
    rows = []
    for r in venue_tiers["bybit_partial"]["BTCUSDT"][:3]:
        rows.append(
            {
                "id": r["tier"],
                "symbol": "BTCUSDT",
                "riskLimitValue": str(r["riskLimit"]),
                "maintenanceMargin": str(r["maintenanceMarginRate"]),
                "initialMargin": str(1 / r["maxLeverage"]),
                "isLowestRisk": 1 if r["tier"] == 1 else 0,
                "maxLeverage": f"{r['maxLeverage']:.2f}",
                "mmDeduction": "" if r["tier"] == 1 else str(r["maintenanceMarginDeduction"]),
            }
        )
    return {"retCode": 0, "retMsg": "OK", "result": {"category": "linear", "list": rows}}


def test_bybit_v5_response(venue_tiers: dict[str, Any]) -> None:
    (table,) = parse_bybit_risk_limits(_v5_response(venue_tiers))
    assert table.symbol == "BTC/USDT:USDT"
    assert [t.cap for t in table.tiers] == [2_000_000, 2_600_000, 3_200_000]
    assert [t.mmr for t in table.tiers] == [0.005, 0.0056, 0.0063]
    assert [t.maintenance_amount for t in table.tiers] == pytest.approx([0, 1_200, 3_020])


def test_bybit_ccxt_output_uses_mm_deduction(venue_tiers: dict[str, Any]) -> None:
    """ccxt's bybit.parse_market_leverage_tiers keeps the raw row in ``info``."""
    rows = _v5_response(venue_tiers)["result"]["list"]
    ccxt_tiers = []
    previous = 0.0
    for row in rows:
        ccxt_tiers.append(
            {
                "tier": row["id"],
                "symbol": "BTC/USDT:USDT",
                "currency": "USDT",
                "minNotional": previous,
                "maxNotional": float(row["riskLimitValue"]),
                "maintenanceMarginRate": float(row["maintenanceMargin"]),
                "maxLeverage": float(row["maxLeverage"]),
                "info": row,
            }
        )
        previous = float(row["riskLimitValue"])
    (table,) = parse_ccxt_leverage_tiers({"BTC/USDT:USDT": ccxt_tiers}, venue="bybit")
    assert [t.maintenance_amount for t in table.tiers] == pytest.approx([0, 1_200, 3_020])
    ccxt_tiers[2]["info"] = {**ccxt_tiers[2]["info"], "mmDeduction": "3000"}
    with pytest.raises(TierTableError, match=r"tier 3: .* 3000\.0"):
        parse_ccxt_leverage_tiers({"BTC/USDT:USDT": ccxt_tiers}, venue="bybit")


def test_bybit_errors(venue_tiers: dict[str, Any]) -> None:
    response = _v5_response(venue_tiers)
    with pytest.raises(TierTableError, match="retCode 10001"):
        parse_bybit_risk_limits({"retCode": 10001, "retMsg": "params error", "result": {}})
    bad = copy.deepcopy(response)
    bad["result"]["list"][1]["mmDeduction"] = "1300"
    with pytest.raises(TierTableError, match=r"'BTC/USDT:USDT' tier 2: deduction 1300\.0"):
        parse_bybit_risk_limits(bad)
    swapped = copy.deepcopy(response)
    rows = swapped["result"]["list"]
    rows[0], rows[1] = rows[1], rows[0]
    with pytest.raises(TierTableError, match="ascending order"):
        parse_bybit_risk_limits(swapped)
    with pytest.raises(TierTableError, match="no symbol"):
        parse_bybit_risk_limits(venue_tiers["bybit_partial"]["BTCUSDT"])
    with pytest.raises(UnknownSymbolError, match="ETHUSDT"):
        parse_bybit_risk_limits(response, symbol="ETHUSDT")
    over_one = copy.deepcopy(response)
    over_one["result"]["list"][2]["maintenanceMargin"] = "1.5"
    with pytest.raises(TierTableError, match=r"tier 3: .*\(mmr\) .* got 1\.5"):
        parse_bybit_risk_limits(over_one)


# -- OKX --------------------------------------------------------------------------------------


def test_okx_ccxt_tiers_in_contracts(shared_data: Path) -> None:
    fixture = json.loads(
        (
            shared_data / "freqtrade_testdata/leverage_tiers/okx_ccxt_tiers_test_fixture.json"
        ).read_text()
    )
    eth = fixture["okx_ccxt_raw_fetch_market_leverage_tiers"]["ETH/USDT:USDT"]
    # ETH-USDT-SWAP ctVal is 0.1 ETH (OKX instruments response); at 2,000 USDT a contract is
    # 0.1 × 2,000 = 200 USDT. Tiers up to 2,000 / 4,000 / 8,000 contracts are therefore
    # 0–400,000 / 400,000–800,000 / 800,000–1,600,000 USDT.
    table = parse_okx_position_tiers(eth, symbol="ETH/USDT:USDT", notional_per_contract=200.0)
    assert [(t.floor, t.cap) for t in table.tiers] == [
        (0, 400_000),
        (400_000, 800_000),
        (800_000, 1_600_000),
    ]
    assert [t.mmr for t in table.tiers] == [0.01, 0.015, 0.02]
    assert [t.max_leverage for t in table.tiers] == [75, 50, 20]
    # OKX has no deduction (MARGIN_SPEC §3): MM at 500,000 = 500,000 × 1.5 % = 7,500.
    assert all(t.maintenance_amount == 0 for t in table.tiers)
    assert table.maintenance_margin(500_000) == pytest.approx(7_500)


def test_okx_raw_response(shared_data: Path) -> None:
    response = json.loads(
        (
            shared_data / "nautilus_trader_testdata/json/okx__http_get_position_tiers.json"
        ).read_text()
    )
    # One tier up to maxSz 50 at mmr 3 %, 10x. With a notional of 100,000 per unit the cap is
    # 50 × 100,000 = 5,000,000.
    table = parse_okx_position_tiers(response, symbol="BTC-USDT", notional_per_contract=100_000)
    assert table.symbol == "BTC/USDT"
    assert (table.tiers[0].cap, table.tiers[0].mmr, table.tiers[0].max_leverage) == (
        5_000_000,
        0.03,
        10,
    )


def test_okx_errors(shared_data: Path) -> None:
    fixture = json.loads(
        (
            shared_data / "freqtrade_testdata/leverage_tiers/okx_ccxt_tiers_test_fixture.json"
        ).read_text()
    )
    eth = fixture["okx_ccxt_raw_fetch_market_leverage_tiers"]["ETH/USDT:USDT"]
    with pytest.raises(ConfigError, match=r"notional_per_contract must be a number > 0, got 0"):
        parse_okx_position_tiers(eth, symbol="ETH/USDT:USDT", notional_per_contract=0)
    with pytest.raises(TierTableError, match="code '51001'"):
        parse_okx_position_tiers(
            {"code": "51001", "msg": "Instrument ID does not exist", "data": []},
            symbol="ETH/USDT:USDT",
            notional_per_contract=200.0,
        )
    overlapping = copy.deepcopy(eth)
    overlapping[1]["info"]["minSz"] = "1500"
    with pytest.raises(TierTableError, match=r"minSz 1500\.0"):
        parse_okx_position_tiers(overlapping, symbol="ETH/USDT:USDT", notional_per_contract=200.0)
    with pytest.raises(TierTableError, match="contracts"):
        parse_ccxt_leverage_tiers({"ETH/USDT:USDT": eth}, venue="okx")


def test_okx_default_reproduces_okx01() -> None:
    """OKX-01: long 1 BTC @ 50,000, margin 1,000, MMR 0.4 %, taker fee 0.05 % → 49,221.50.

    Equity = MM: 1,000 + (P − 50,000) = P × (0.004 + 0.0005)
    ⇒ P = 49,000 / 0.9955 = 49,221.497…
    """
    table = default_tiers("okx", "BTC/USDT:USDT")
    rate = table.tiers[0].mmr + 0.0005
    assert table.tiers[0].maintenance_amount == 0
    assert 49_000 / (1 - rate) == pytest.approx(49_221.50, abs=0.005)


# -- dYdX -------------------------------------------------------------------------------------


def test_dydx_genesis_ppm_dy02() -> None:
    # DY-02: Large-Cap IMF 0.02 (50x), maintenance fraction 0.6 → MMF 1.2 %.
    table = parse_dydx_liquidity_tier(
        {
            "id": 0,
            "name": "Large-Cap",
            "initial_margin_ppm": 20_000,
            "maintenance_fraction_ppm": 600_000,
        },
        symbol="BTC-USD",
    )
    assert table.symbol == "BTC/USDC:USDC"
    assert table.tiers[0].mmr == pytest.approx(0.012)
    assert table.tiers[0].max_leverage == pytest.approx(50)
    assert table.tiers == default_tiers("dydx", "BTC/USDC:USDC").tiers


def test_dydx_indexer_fractions() -> None:
    table = parse_dydx_liquidity_tier(
        {
            "ticker": "ETH-USD",
            "initialMarginFraction": "0.02",
            "maintenanceMarginFraction": "0.012",
        },
        symbol="ETH/USDC:USDC",
    )
    assert table.tiers[0].mmr == pytest.approx(0.012)
    assert table.tiers[0].max_leverage == pytest.approx(50)


def test_dydx_launch_era_tier() -> None:
    # MARGIN_SPEC §4: the launch-era table had IMF 5 % and MMF 3 % (fraction 0.6), i.e. 20x.
    table = dydx_tier_table("BTC-USD", initial_margin_fraction=0.05, maintenance_fraction=0.6)
    assert table.tiers[0].mmr == pytest.approx(0.03)
    assert table.tiers[0].max_leverage == pytest.approx(20)


def test_dydx_errors() -> None:
    with pytest.raises(
        TierTableError, match=r"initial_margin_fraction must be in \(0, 1\], got 0\.0"
    ):
        dydx_tier_table("BTC-USD", initial_margin_fraction=0.0, maintenance_fraction=0.6)
    with pytest.raises(TierTableError, match=r"maintenance_fraction must be in \(0, 1\], got 1\.5"):
        dydx_tier_table("BTC-USD", initial_margin_fraction=0.02, maintenance_fraction=1.5)
    with pytest.raises(TierTableError, match="maintenance_fraction_ppm"):
        parse_dydx_liquidity_tier({"initial_margin_ppm": 20_000}, symbol="BTC-USD")
    with pytest.raises(TierTableError, match="expected initial_margin_ppm"):
        parse_dydx_liquidity_tier({"imf": 0.02}, symbol="BTC-USD")
