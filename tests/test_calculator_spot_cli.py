"""`levtrade margin` with spot-margin scenarios and with accounts pooled across DEXs.

Expected numbers: MARGIN_SPEC.md §11 (SM-03, SM-04, Binance's thresholds), Kraken's worked
examples (support articles 203325763 and 203053156), §12's pools, each worked out beside its
assertion. The scenarios are the shipped examples where one exists.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from levtrade.cli import app

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "scenarios"
runner = CliRunner()

ISSUE_EXAMPLE = {
    "venue": "binance",
    "trading_mode": "margin",
    "margin_mode": "cross",
    "assets": {"BTC": 0.06, "USDT": 0},
    "loans": {"USDT": 2000},
    "prices": {"BTC": 50000},
}


def calc(scenario: Any) -> Any:
    result = runner.invoke(app, ["margin", "--json"], input=json.dumps(scenario))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def calc_file(name: str) -> Any:
    result = runner.invoke(app, ["margin", str(EXAMPLES / name), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def fails(scenario: Any) -> str:
    result = runner.invoke(app, ["margin", "--json"], input=json.dumps(scenario))
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    return lines[0]


def asset(out: dict[str, Any], name: str) -> dict[str, Any]:
    return next(row for row in out["assets"] if row["asset"] == name)


def test_the_issue_scenario_sm03() -> None:
    out = calc(ISSUE_EXAMPLE)
    account = out["account"]
    # ML = 3,000 / 2,000; call at 1.3 × 2,000 / 0.06; liquidation at 1.1 × 2,000 / 0.06
    assert account["margin_level"] == pytest.approx(1.5)
    assert (account["asset"], account["currency"]) == ("BTC", "USDT")
    assert round(account["margin_call_price"], 2) == 43_333.33
    assert round(account["liquidation_price"], 2) == 36_666.67
    assert account["status"] == "no_borrow"
    assert (account["borrow_level"], account["margin_call_level"]) == (1.5, 1.3)
    assert (account["liquidation_level"], account["transfer_level"]) == (1.1, 2.0)
    assert account["interest_per_hour"] is None  # no rate given
    btc = asset(out, "BTC")
    # 43,333.33 / 50,000 − 1 = −13.33 %; 36,666.67 / 50,000 − 1 = −26.67 %
    assert btc["move_to_margin_call"] == pytest.approx(-0.133333, abs=1e-6)
    assert btc["move_to_liquidation"] == pytest.approx(-0.266667, abs=1e-6)


def test_the_shipped_example_with_a_rate_and_with_unpaid_interest() -> None:
    out = calc_file("binance_margin_long.json")
    # 2,000 USDT × 0.001 % per hour = 0.02 USDT per hour
    assert out["account"]["interest_per_hour"] == pytest.approx(0.02)
    assert asset(out, "USDT")["interest_per_hour"] == pytest.approx(0.02)
    with_interest = calc({**ISSUE_EXAMPLE, "interest": {"USDT": 12}})
    # 1.1 × 2,012 / 0.06 = 36,886.67
    assert round(with_interest["account"]["liquidation_price"], 2) == 36_886.67
    assert with_interest["account"]["unpaid_interest"] == pytest.approx(12.0)


def test_sm04_short() -> None:
    out = calc(
        {
            "venue": "binance",
            "trading_mode": "margin",
            "assets": {"USDT": 3000},
            "loans": {"BTC": 0.04},
            "prices": {"BTC": 50000},
        }
    )
    assert out["account"]["margin_level"] == pytest.approx(1.5)
    assert round(out["account"]["margin_call_price"], 2) == 57_692.31
    assert round(out["account"]["liquidation_price"], 2) == 68_181.82
    move = asset(out, "BTC")["move_to_liquidation"]
    assert move == pytest.approx(68_181.82 / 50_000 - 1, abs=1e-6)


def test_two_assets_give_per_asset_prices_and_no_single_one() -> None:
    # 0.06 BTC and 1 ETH against 4,000 USDT: ML = (3,000 + 2,000) / 4,000 = 1.25 (margin call)
    out = calc(
        {
            "venue": "binance",
            "trading_mode": "margin",
            "assets": {"BTC": 0.06, "ETH": 1.0},
            "loans": {"USDT": 4000},
            "prices": {"BTC": 50000, "ETH": 2000},
        }
    )
    assert out["account"]["margin_level"] == pytest.approx(1.25)
    assert out["account"]["status"] == "margin_call"
    assert out["account"]["asset"] is None and out["account"]["liquidation_price"] is None
    # BTC alone: 0.06·P + 2,000 = 1.1 × 4,000 → P = 40,000; ETH alone: P + 3,000 = 4,400
    assert asset(out, "BTC")["liquidation_price"] == pytest.approx(40_000.0)
    assert asset(out, "ETH")["liquidation_price"] == pytest.approx(1_400.0)


def test_kraken_examples() -> None:
    short = calc_file("kraken_margin_short.json")["account"]
    # article 203053156: 5,000 USD, short 0.2 BTC at 50,000 with 5x → 250 %
    assert short["margin_level"] == pytest.approx(2.5)
    assert short["used_margin"] == pytest.approx(2000.0)
    assert short["margin_level_rule"] == "equity_over_used_margin"
    # (15,000 − 0.2·P) / (0.04·P) = 0.8 → 64,655.17; = 0.4 → 69,444.44
    assert round(short["margin_call_price"], 2) == 64_655.17
    assert round(short["liquidation_price"], 2) == 69_444.44
    # BTC's published rollover 0.01 % per 4 h: 0.2 × 0.0001 × 50,000 / 4 = 0.25 USD per hour
    assert short["interest_per_hour"] == pytest.approx(0.25)
    long = calc(
        {
            "venue": "kraken",
            "trading_mode": "margin",
            "assets": {"USD": 10000, "BTC": 1},
            "loans": {"USD": 20000},
            "leverage": 5,
            "prices": {"BTC": 20000},
        }
    )["account"]
    # article 203325763: margin call price 13,200 (equity 3,200 = 80 % of 4,000)
    assert long["margin_level"] == pytest.approx(2.5)
    assert long["margin_call_price"] == pytest.approx(13_200.0)
    assert long["liquidation_price"] == pytest.approx(11_600.0)


def test_spot_scenario_has_no_margin_figures() -> None:
    out = calc(
        {
            "venue": "binance",
            "trading_mode": "spot",
            "assets": {"BTC": 0.5, "USDT": 100},
            "prices": {"BTC": 60000},
        }
    )
    account = out["account"]
    assert account["equity"] == pytest.approx(30_100.0)
    assert account["margin_level"] is None and account["liquidation_level"] is None
    assert account["margin_mode"] is None and not account["liquidatable"]
    assert asset(out, "BTC")["liquidation_price"] is None


def test_isolated_pool_scenario() -> None:
    out = calc({**ISSUE_EXAMPLE, "margin_mode": "isolated", "symbol": "BTC/USDT"})
    assert out["account"]["pool"] == "isolated:BTC/USDT"
    assert round(out["account"]["liquidation_price"], 2) == 36_666.67


def test_pools_across_dexes() -> None:
    standard, unified = calc_file("hyperliquid_two_dexes.json")
    # AAPL at 183. Standard xyz pool: equity 2,500 − 1,700 = 800 ≤ MM 0.05 × 18,300 = 915
    assert standard["account_type"] == "standard"
    assert standard["liquidatable"] is True and standard["worst_pool"] == "xyz"
    pools = {p["pool"]: p for p in standard["pools"]}
    assert pools["xyz"]["account"]["equity"] == pytest.approx(800.0)
    assert pools["xyz"]["account"]["maintenance_margin"] == pytest.approx(915.0)
    assert pools["main"]["account"]["liquidatable"] is False
    # main alone: 10,000 + (P − 100,000) = 0.0125·P → 91,139.24
    assert round(pools["main"]["positions"][0]["liquidation_price"], 2) == 91_139.24
    assert pools["xyz"]["positions"][0]["dex"] == "xyz"
    # unified: one USDC pool, equity 12,500 − 1,700 = 10,800 > MM 1,250 + 915 = 2,165
    assert unified["liquidatable"] is False
    (pool,) = unified["pools"]
    assert (pool["pool"], pool["currency"]) == ("USDC", "USDC")
    assert pool["account"]["equity"] == pytest.approx(10_800.0)
    assert pool["account"]["maintenance_margin"] == pytest.approx(2_165.0)
    # BTC: 12,500 − 1,700 + (P − 100,000) = 0.0125·P + 915 → P = 90,115 / 0.9875 = 91,255.70
    assert round(pool["positions"][0]["liquidation_price"], 2) == 91_255.70


def test_unified_balance_includes_isolated_margin() -> None:
    out = calc(
        {
            "venue": "hyperliquid",
            "account_type": "unified",
            "balances": {"USDC": 12_500},
            "positions": [
                {
                    "symbol": "XYZ-AAPL/USDC:USDC",
                    "side": "long",
                    "size": 100,
                    "entry_price": 200,
                    "leverage": 10,
                    "margin_mode": "isolated",
                    "isolated_margin": 2000,
                    "market_margin_rule": "no_cross",
                    "tiers": [{"floor": 0, "max_leverage": 10}],
                }
            ],
        }
    )
    (pool,) = out["pools"]
    # the cross wallet is the token's balance less the isolated margin: 12,500 − 2,000
    assert pool["account"]["equity"] == pytest.approx(10_500.0)
    # 2,000 + 100·(P − 200) = 5·P → 95·P = 18,000
    assert round(pool["positions"][0]["liquidation_price"], 4) == 189.4737
    assert pool["positions"][0]["margin_mode"] == "isolated"


def test_rich_tables() -> None:
    result = runner.invoke(app, ["margin", str(EXAMPLES / "binance_margin_long.json")])
    assert result.exit_code == 0, result.output
    for text in ("margin level", "1.5000", "36,666.67", "43,333.33", "-26.67%", "no borrow"):
        assert text in result.stdout
    result = runner.invoke(app, ["margin", str(EXAMPLES / "hyperliquid_two_dexes.json")])
    assert result.exit_code == 0, result.output
    for text in ("Pool main (USDC)", "Pool xyz (USDC)", "Pool USDC (USDC)", "worst pool: xyz"):
        assert text in result.stdout


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({**ISSUE_EXAMPLE, "trading_mode": "spot"}, "a spot account does not borrow"),
        ({**ISSUE_EXAMPLE, "trading_mode": "options"}, "trading_mode: must be one of"),
        ({**ISSUE_EXAMPLE, "margin_mode": "isolated"}, "needs its pair's symbol"),
        ({**ISSUE_EXAMPLE, "venue": "okx"}, "venue: no spot-margin profile for 'okx'"),
        ({**ISSUE_EXAMPLE, "prices": {"BTC": 5e4, "USDT": 1}}, "currency: every asset has a"),
        ({**ISSUE_EXAMPLE, "assets": {"BTC": 0.06, "ETH": 1}}, "prices: 'ETH', 'USDT' have no"),
        (
            {**ISSUE_EXAMPLE, "currency": "USDT", "prices": {"BTC": 5e4, "USDT": 1}},
            "prices: 'USDT' is the currency; its price is 1",
        ),
        (
            {**ISSUE_EXAMPLE, "currency": "EUR", "loans": {"USDT": 2000}},
            "prices: no price for 'USDT' (prices are in the currency 'EUR')",
        ),
        ({**ISSUE_EXAMPLE, "loans": {"USDT": -5}}, "loans.USDT"),
        ({**ISSUE_EXAMPLE, "interest": {"BTC": 1}}, "interest is owed on loans only"),
        (
            {**ISSUE_EXAMPLE, "venue": "kraken", "margin_mode": "isolated", "symbol": "BTC/USD"},
            "margin_mode: kraken has no isolated margin",
        ),
        ({**ISSUE_EXAMPLE, "leverage": 10}, "leverage: 10.0 is above binance's margin maximum 3"),
        (
            {**ISSUE_EXAMPLE, "symbol": "BTC/USDT:USDT", "margin_mode": "isolated"},
            "symbol: symbol: 'BTC/USDT:USDT' is a derivative",
        ),
        (
            {"venue": "hyperliquid", "account_type": "portfolio_margin", "balances": {"USDC": 1}},
            "account_type: portfolio_margin's cross-asset rules are not published",
        ),
        (
            {"venue": "hyperliquid", "account_type": "unified", "wallet_balances": {"main": 1}},
            "a unified account takes balances by token",
        ),
        (
            {
                "venue": "hyperliquid",
                "account_type": "standard",
                "wallet_balances": {"main": 1},
                "positions": [
                    {
                        "symbol": "XYZ-AAPL/USDC:USDC",
                        "side": "long",
                        "size": 1,
                        "entry_price": 200,
                        "leverage": 10,
                        "market_margin_rule": "no_cross",
                        "tiers": [{"floor": 0, "max_leverage": 10}],
                    }
                ],
            },
            "positions[0]: margin_mode: XYZ-AAPL/USDC:USDC is a no_cross market",
        ),
    ],
)
def test_bad_scenarios_fail_with_one_line_naming_the_field(bad: Any, message: str) -> None:
    line = fails(bad)
    assert line.startswith("error: ")
    assert message in line


def test_stress_takes_one_margin_account() -> None:
    spot = {**ISSUE_EXAMPLE, "trading_mode": "spot", "loans": {}}
    result = runner.invoke(app, ["margin", "stress", "--json"], input=json.dumps(spot))
    assert result.exit_code == 1
    assert "a spot account is never liquidated" in result.stderr
    pooled = json.loads((EXAMPLES / "hyperliquid_two_dexes.json").read_text())[1]
    result = runner.invoke(app, ["margin", "stress", "--json"], input=json.dumps(pooled))
    assert result.exit_code == 1
    assert "an account pooled across DEXs is stressed pool by pool" in result.stderr
