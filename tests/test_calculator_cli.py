"""`levtrade margin`: MARGIN_SPEC.md's published examples end to end, and bad scenarios.

Each scenario goes through the CLI, the scenario model, the venue profile, the Account and the
formulas; the expected numbers are MARGIN_SPEC.md's (example id in the test) or hand
calculations written out beside them.
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

ACCOUNT_FIELDS = {
    "equity",
    "initial_margin",
    "maintenance_margin",
    "margin_ratio",
    "liquidatable",
    "withdrawable",
}
POSITION_FIELDS = {
    "symbol",
    "side",
    "notional",
    "unrealized_pnl",
    "initial_margin",
    "maintenance_margin",
    "tier",
    "liquidation_price",
    "bankruptcy_price",
    "buffered_liquidation_price",
    "max_removable_margin",
    "liquidatable",
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
    text = scenario if isinstance(scenario, str) else json.dumps(scenario)
    result = runner.invoke(app, ["margin", "--json"], input=text)
    assert result.exit_code != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def position(**overrides: Any) -> dict[str, Any]:
    base = {
        "symbol": "BTC/USDT:USDT",
        "side": "long",
        "size": 1.0,
        "entry_price": 100_000.0,
        "leverage": 20,
        "margin_mode": "isolated",
        "isolated_margin": 5_000.0,
    }
    base.update(overrides)
    return base


def scenario(*positions: dict[str, Any], venue: str = "binance", **extra: Any) -> dict[str, Any]:
    return {"venue": venue, "wallet_balance": 10_000.0, "positions": list(positions), **extra}


def test_output_has_exactly_the_documented_fields() -> None:
    out = calc_file("binance_isolated_btc.json")
    assert set(out) == {"account", "positions"}
    assert set(out["account"]) == ACCOUNT_FIELDS
    assert set(out["positions"][0]) == POSITION_FIELDS


def test_bn03_isolated_with_buffer_from_the_shipped_example() -> None:
    p = calc_file("binance_isolated_btc.json")["positions"][0]
    assert round(p["liquidation_price"], 2) == 95_381.53  # BN-03
    assert p["bankruptcy_price"] == pytest.approx(95_000.0)  # GEN-04: 100,000 − 5,000/1
    # buffer 0.05: 95,381.53 + (100,000 − 95,381.53)·0.05 = 95,612.45
    assert round(p["buffered_liquidation_price"], 2) == 95_612.45
    # mark 98,000: uPnL −2,000; MM 0.4 %·98,000 = 392; IM 98,000/20 = 4,900
    assert p["unrealized_pnl"] == pytest.approx(-2_000.0)
    assert p["maintenance_margin"] == pytest.approx(392.0)
    assert p["initial_margin"] == pytest.approx(4_900.0)
    assert p["tier"] == 1
    assert p["liquidatable"] is False


def test_bn07_bn08_binance_cross_example() -> None:
    out = calc_file("binance_cross_btc_eth.json")
    btc, eth = out["positions"]
    assert round(eth["liquidation_price"], 2) == 1_153.26
    assert round(btc["liquidation_price"], 2) == 26_316.89
    # The other contract's figures Binance's example states: BTC MM 71,200.81144 and uPnL
    # −56,354.57; ETH MM 356,512.508 and uPnL −448,192.89
    assert btc["maintenance_margin"] == pytest.approx(71_200.81, abs=0.01)
    assert btc["unrealized_pnl"] == pytest.approx(-56_354.57, abs=0.01)
    assert eth["maintenance_margin"] == pytest.approx(356_512.51, abs=0.01)
    assert eth["unrealized_pnl"] == pytest.approx(-448_192.89, abs=0.01)
    # account: equity = 1,535,443.01 − 56,354.57 − 448,192.89; MM is the sum
    assert out["account"]["equity"] == pytest.approx(1_030_895.55, abs=0.01)
    assert out["account"]["maintenance_margin"] == pytest.approx(427_713.32, abs=0.01)


def test_bn09_same_eth_position_isolated() -> None:
    eth = {
        "symbol": "ETH/USDT:USDT",
        "side": "long",
        "size": 3_683.979,
        "entry_price": 1_456.84,
        "mark_price": 1_335.18,
        "leverage": 1,
        "margin_mode": "isolated",
        "isolated_margin": 1_535_443.01,
        "tiers": [
            {
                "floor": 0,
                "cap": 10_000_000,
                "mmr": 0.10,
                "maintenance_amount": 135_365,
                "max_leverage": 5,
            }
        ],
    }
    p = calc(scenario(eth))["positions"][0]
    assert round(p["liquidation_price"], 2) == 1_114.78


def test_bn10_hedge_mode_cross_legs_share_one_price() -> None:
    out = calc_file("binance_hedge.json")
    long_leg, short_leg = out["positions"]
    assert round(long_leg["liquidation_price"], 2) == 78_947.37
    assert round(short_leg["liquidation_price"], 2) == 78_947.37
    assert (long_leg["side"], short_leg["side"]) == ("long", "short")


def test_bn11_faq_cross_example() -> None:
    # WB 500, long 1,000 USDT notional @50k, 20x → 25,100.40
    p = position(size=0.02, entry_price=50_000.0, margin_mode="cross")
    del p["isolated_margin"]
    out = calc({"venue": "binance", "wallet_balance": 500.0, "positions": [p]})
    assert round(out["positions"][0]["liquidation_price"], 2) == 25_100.40


def test_bn06_bracket_switch_with_the_shipped_binance_table() -> None:
    # 3.1 BTC @100k at 2x (margin 155,000): entry in bracket 2, LP in bracket 1 → 50,200.80
    p = calc(scenario(position(size=3.1, leverage=2, isolated_margin=155_000.0)))["positions"][0]
    assert p["tier"] == 2
    assert round(p["liquidation_price"], 2) == 50_200.80


@pytest.mark.parametrize(("mark", "expected"), [(103_000.0, 2_850.0), (100_000.0, 0.0)])
def test_bn13_max_removable(mark: float, expected: float) -> None:
    p = calc(scenario(position(mark_price=mark)))["positions"][0]
    assert p["max_removable_margin"] == pytest.approx(expected)


def test_hl04_hyperliquid_cross_from_the_shipped_example() -> None:
    btc, eth = calc_file("hyperliquid_cross.json")["positions"]
    assert round(btc["liquidation_price"], 2) == 91_746.84
    assert round(eth["liquidation_price"], 2) == 3_799.02


def test_hl02_hl10_hyperliquid_isolated_and_tiered() -> None:
    hl02 = position(symbol="BTC/USDC:USDC", leverage=10, isolated_margin=10_000.0)
    hl10 = position(symbol="BTC/USDC:USDC", size=2_000.0, leverage=10, isolated_margin=20e6)
    out = calc(scenario(hl02, venue="hyperliquid"))["positions"][0]
    assert round(out["liquidation_price"], 2) == 91_139.24
    out = calc(scenario(hl10, venue="hyperliquid"))["positions"][0]
    assert round(out["liquidation_price"], 2) == 91_346.15
    assert out["tier"] == 2  # 200M notional ≥ 150M


@pytest.mark.parametrize(("leverage", "expected"), [(5, 13_000.0), (20, 24_000.0)])
def test_hl16_hyperliquid_isolated_removal(leverage: int, expected: float) -> None:
    p = position(
        symbol="BTC/USDC:USDC", leverage=leverage, isolated_margin=25_000.0, mark_price=110_000.0
    )
    out = calc(scenario(p, venue="hyperliquid"))["positions"][0]
    assert out["max_removable_margin"] == pytest.approx(expected)


def test_hl17_hyperliquid_cross_withdrawable() -> None:
    # AV 50,000 with long 1 BTC @100k at 20x: IM 5,000 < 10 % of notional 10,000 →
    # withdrawable = 50,000 − 10,000 = 40,000
    p = position(symbol="BTC/USDC:USDC", margin_mode="cross")
    del p["isolated_margin"]
    out = calc({"venue": "hyperliquid", "wallet_balance": 50_000.0, "positions": [p]})
    assert out["account"]["withdrawable"] == pytest.approx(40_000.0)


@pytest.mark.parametrize(("side", "expected"), [("long", 19_700.0), ("short", 20_300.0)])
def test_by01_by02_bybit_isolated(side: str, expected: float) -> None:
    # 1 BTC @20,000, 50x (IM 400), MMR 0.5 % on the entry value (100)
    p = position(side=side, entry_price=20_000.0, leverage=50, isolated_margin=400.0)
    out = calc(scenario(p, venue="bybit"))["positions"][0]
    assert out["liquidation_price"] == pytest.approx(expected)


@pytest.mark.parametrize(("side", "expected"), [("long", 49_221.50), ("short", 50_771.53)])
def test_okx01(side: str, expected: float) -> None:
    # 1 BTC = 100 contracts of 0.01 BTC; margin 1,000; MMR 0.4 % + taker fee 0.05 %
    p = position(
        side=side,
        size=100.0,
        entry_price=50_000.0,
        leverage=50,
        isolated_margin=1_000.0,
        tiers=[{"floor": 0, "mmr": 0.004, "max_leverage": 100}],
    )
    out = calc(scenario(p, venue="okx"))["positions"][0]
    assert round(out["liquidation_price"], 2) == expected


def test_dy01_dydx() -> None:
    # e = 1,000, short 3 ETH @3,000, MMF 5 % → 3,174.60
    p = position(
        symbol="ETH/USDC:USDC",
        side="short",
        size=3.0,
        entry_price=3_000.0,
        leverage=10,
        isolated_margin=1_000.0,
        tiers=[{"floor": 0, "mmr": 0.05, "max_leverage": 10}],
    )
    out = calc(scenario(p, venue="dydx"))["positions"][0]
    assert round(out["liquidation_price"], 2) == 3_174.60


def test_over_collateralised_position_reports_null_prices() -> None:
    # 1 BTC @100k at 1x with 100,000 margin: LP = (100,000 − 100,000)/0.996 = 0 → none
    p = calc(scenario(position(leverage=1, isolated_margin=100_000.0)))["positions"][0]
    assert p["liquidation_price"] is None
    assert p["buffered_liquidation_price"] is None


def test_array_of_scenarios_gives_array_of_results_in_order() -> None:
    first = scenario(position())
    second = scenario(
        position(symbol="BTC/USDC:USDC", leverage=10, isolated_margin=10_000.0), venue="hyperliquid"
    )
    out = calc([first, second])
    assert isinstance(out, list)
    assert round(out[0]["positions"][0]["liquidation_price"], 2) == 95_381.53
    assert round(out[1]["positions"][0]["liquidation_price"], 2) == 91_139.24


def test_rich_table_output() -> None:
    result = runner.invoke(app, ["margin", str(EXAMPLES / "binance_isolated_btc.json")])
    assert result.exit_code == 0
    assert "95,381.53" in result.stdout
    assert "BTC/USDT:USDT" in result.stdout


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (scenario(position(), venue="kraken"), "kraken"),
        (scenario(position(symbol="NOPE/USDT:USDT")), "positions[0].symbol"),
        (scenario(position(symbol="not a symbol")), "positions[0].symbol"),
        # 150x is the tier-1 maximum; 500k notional is tier 2 (100x)
        (scenario(position(leverage=151)), "positions[0]"),
        (scenario(position(size=5.0, leverage=120, isolated_margin=5_000.0)), "leverage"),
        (scenario(position(size=0)), "positions[0].size: Input should be greater than 0, got 0"),
        (scenario(position(size=-1)), "positions[0].size"),
        (scenario(position(isolated_margin=None)), "positions[0]: a isolated position needs"),
        (scenario(position(side="up")), "positions[0].side"),
        (scenario(position(entry_price=float("nan"))), "positions[0].entry_price"),
        (scenario(position(margin_mode="portfolio")), "positions[0].margin_mode"),
        (scenario(position(), liquidation_buffer=1.0), "liquidation_buffer"),
        (scenario(position(), wallet_balance=-5), "wallet_balance"),
        ({"wallet_balance": 1}, "venue: missing required field"),
        (scenario(position(lev=3)), "positions[0].lev: unknown field"),
        (scenario(position(tiers=[{"floor": 5, "max_leverage": 10}])), "positions[0].tiers"),
        ('{"venue": "binance", ', "scenario: malformed JSON at line 1"),
        ("[]", "scenario: the array of scenarios is empty"),
        ("[1]", "expected an object"),
    ],
)
def test_bad_scenarios_fail_with_one_line_naming_the_field(bad: Any, message: str) -> None:
    line = fails(bad)
    assert line.startswith("error: ")
    assert message in line


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["margin", str(tmp_path / "nope.json")])
    assert result.exit_code != 0
    assert "file not found" in result.stderr
