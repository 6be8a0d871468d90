"""``levtrade margin`` and ``levtrade margin stress`` on hostile input: every bad scenario is
refused before any work with one line naming the field and the value (exit code 1, Click's 2
for a wrong command line), valid edge cases are accepted, and ``--json`` is always valid JSON.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from levtrade.cli import app

runner = CliRunner()

BN03 = {
    "symbol": "BTC/USDT:USDT",
    "side": "long",
    "size": 1.0,
    "entry_price": 100_000.0,
    "leverage": 20,
    "margin_mode": "isolated",
    "isolated_margin": 5_000.0,
}


def scenario(**position: Any) -> dict[str, Any]:
    return {"venue": "binance", "wallet_balance": 10_000.0, "positions": [{**BN03, **position}]}


def refused(text: str | bytes, *args: str) -> str:
    """The one line of a refusal (exit code 1, nothing on stdout, no traceback)."""
    result = runner.invoke(app, ["margin", *args], input=text)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0].removeprefix("error: ")


def figures(document: Any, *args: str) -> Any:
    result = runner.invoke(app, ["margin", "--json", *args], input=json.dumps(document))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("size", "1.0", "positions[0].size: Input should be a valid number, got '1.0'"),
        ("leverage", "20", "positions[0].leverage: Input should be a valid number, got '20'"),
        (
            "entry_price",
            "1e4",
            "positions[0].entry_price: Input should be a valid number, got '1e4'",
        ),
        ("leverage", True, "positions[0].leverage: Input should be a valid number, got True"),
        ("size", False, "positions[0].size: Input should be a valid number, got False"),
        (
            "size",
            1e308,
            "positions[0].size: Input should be less than or equal to 1000000000000000, got 1e+308",
        ),
        (
            "entry_price",
            1e308,
            "positions[0].entry_price: Input should be less than or equal to 1000000000000, "
            "got 1e+308",
        ),
        ("size", 1e-320, "positions[0]: size: must be at least 1e-12 in magnitude, got 1e-320"),
        ("entry_price", 1e-320, "positions[0]: entry_price: must be at least 1e-12, got 1e-320"),
    ],
)
def test_scenario_numbers_are_json_numbers_in_range(field: str, value: Any, message: str) -> None:
    assert refused(json.dumps(scenario(**{field: value})), "--json") == message


def test_wallet_given_as_text_is_refused() -> None:
    document = {"venue": "binance", "wallet_balance": "10000", "positions": []}
    assert refused(json.dumps(document)) == (
        "wallet_balance: Input should be a valid number, got '10000'"
    )


def test_duplicate_keys_are_refused() -> None:
    text = '{"venue": "binance", "venue": "okx", "wallet_balance": 1, "positions": []}'
    assert refused(text) == "scenario: duplicate key 'venue' in one JSON object"


@pytest.mark.parametrize("command", [[], ["stress"]])
def test_deeply_nested_json_is_refused_before_parsing(command: list[str]) -> None:
    # 100,000 levels exhaust Python's JSON decoder (RecursionError); refused by depth first
    assert refused("[" * 100_000, *command) == (
        "scenario: JSON nested 100000 levels deep; at most 100 are accepted"
    )


def test_non_utf8_stdin_names_the_byte_not_a_venue() -> None:
    text = b'{"venue": "\xff\xfe", "wallet_balance": 1}'
    assert refused(text) == "scenario: standard input is not UTF-8 text (byte 0xff at offset 11)"


def test_a_directory_for_the_scenario_file(tmp_path: Path) -> None:
    assert refused("", str(tmp_path)) == (
        f"scenario: {str(tmp_path)!r} is a directory, not a scenario file"
    )


def test_a_tier_with_maintenance_above_initial_margin_is_refused() -> None:
    # MMR 0.6 at 2x: maintenance margin 0.6·N above the initial margin N/2
    tiers = [{"floor": 0, "mmr": 0.6, "max_leverage": 2}]
    assert refused(json.dumps(scenario(tiers=tiers, leverage=2))) == (
        "positions[0].tiers: tiers[0] for binance BTC/USDT:USDT: mmr 0.6 is above "
        "1/max_leverage = 0.5 (maintenance margin above the initial margin)"
    )


def test_a_misspelt_tier_key_is_refused() -> None:
    tiers = [{"floor": 0, "mmrr": 0.004, "max_leverage": 150}]
    assert refused(json.dumps(scenario(tiers=tiers))) == (
        "positions[0].tiers[0].mmrr: unknown field (value 0.004)"
    )


# -- a tier table given as the bracket of the position's size (MARGIN_SPEC §1.1, §1.3) ------

BRACKET_3 = {  # Binance BTCUSDT 2026, bracket 3 (shared/data/venue_tiers.json)
    "floor": 800_000,
    "cap": 3_000_000,
    "mmr": 0.0065,
    "maintenance_amount": 1_500,
    "max_leverage": 75,
}


def test_the_bracket_of_the_position_alone_gives_bn05() -> None:
    # BN-05: isolated long 10 BTC @100k at 50x (margin 20,000), bracket 3:
    # LP = (20,000 + 1,500 − 1,000,000) / (10·0.0065 − 10) = 98,490.19; notional 984,901.9
    # at the LP and 1,000,000 at the mark both lie in [800k, 3M)
    out = figures(scenario(size=10.0, leverage=50, isolated_margin=20_000.0, tiers=[BRACKET_3]))[
        "positions"
    ][0]
    assert round(out["liquidation_price"], 2) == 98_490.19
    assert out["maintenance_margin"] == pytest.approx(1_000_000 * 0.0065 - 1_500)


def test_a_bracket_that_does_not_hold_the_liquidation_notional_is_refused() -> None:
    # BN-06: 3.1 BTC @100k at 2x (margin 155,000). With bracket 2 alone the LP is
    # (155,000 + 300 − 310,000)/(3.1·0.005 − 3.1) ≈ 50,154.00 (MARGIN_SPEC §1.3): its notional
    # 3.1 × LP ≈ 155,477 is below the bracket's floor 300,000
    bracket_2 = {
        "floor": 300_000,
        "cap": 800_000,
        "mmr": 0.005,
        "maintenance_amount": 300,
        "max_leverage": 100,
    }
    lp = (155_000 + 300 - 310_000) / (3.1 * 0.005 - 3.1)
    assert round(lp, 2) == 50_154.00
    document = scenario(size=3.1, leverage=2, isolated_margin=155_000.0, tiers=[bracket_2])
    assert refused(json.dumps(document)) == (
        "positions[0].tiers: the table covers notional 300000 to 800000; the position's "
        f"notional at its liquidation price {lp:.8g} is {3.1 * lp:.8g}, below its first floor: "
        "give the venue's tiers down to floor 0 (or up to that notional)"
    )


def test_a_bracket_without_its_maintenance_amount_is_refused() -> None:
    bracket = {k: v for k, v in BRACKET_3.items() if k != "maintenance_amount"}
    document = scenario(size=10.0, leverage=50, isolated_margin=20_000.0, tiers=[bracket])
    assert refused(json.dumps(document)) == (
        "positions[0].tiers: tiers[0] for binance BTC/USDT:USDT: a table starting at floor "
        "800000.0 needs the tier's maintenance_amount (the venue's cum or deduction for it)"
    )


# -- symbols in ccxt's unified shapes ------------------------------------------------------


def dydx_short(symbol: str, **extra: Any) -> dict[str, Any]:
    position = {
        "symbol": symbol,
        "side": "short",
        "size": 3,
        "entry_price": 3_000,
        "leverage": 10,
        "margin_mode": "isolated",
        "isolated_margin": 1_000,
        **extra,
    }
    return {"venue": "dydx", "wallet_balance": 0, "positions": [position]}


def test_dydx_usd_quoted_usdc_settled_symbol() -> None:
    # dYdX v4 as ccxt (and Paradex) write it: quoted in USD, settled in USDC. DY-01: short
    # 3 ETH @3,000 isolated with 1,000, MMF 5 % → LP (e − s·p)/(|s|·MMF − s) =
    # (1,000 + 9,000)/(0.15 + 3) = 3,174.60
    document = dydx_short("ETH/USD:USDC", tiers=[{"floor": 0, "mmr": 0.05, "max_leverage": 10}])
    assert round(figures(document)["positions"][0]["liquidation_price"], 2) == 3_174.60
    # without tiers it is the shipped table of the same market, ETH/USDC:USDC
    usd, usdc = figures(dydx_short("ETH/USD:USDC")), figures(dydx_short("ETH/USDC:USDC"))
    for mine, theirs in zip(usd["positions"], usdc["positions"], strict=True):
        assert {k: v for k, v in mine.items() if k != "symbol"} == {
            k: v for k, v in theirs.items() if k != "symbol"
        }


def test_hyperliquid_builder_market_with_its_own_tiers() -> None:
    # XYZ-AAPL/USDC:USDC (HIP-3): 10x maximum, MMR 1/(2·10) = 5 %; isolated long 10 @200 with
    # 200 of margin: LP = (200 − 2,000)/(10·0.05 − 10) = 189.47
    document = {
        "venue": "hyperliquid",
        "wallet_balance": 0,
        "positions": [
            {
                "symbol": "XYZ-AAPL/USDC:USDC",
                "side": "long",
                "size": 10,
                "entry_price": 200,
                "leverage": 10,
                "margin_mode": "isolated",
                "isolated_margin": 200,
                "tiers": [{"floor": 0, "max_leverage": 10}],
            }
        ],
    }
    out = figures(document)["positions"][0]
    assert out["symbol"] == "XYZ-AAPL/USDC:USDC"
    assert round(out["liquidation_price"], 2) == round((200 - 2_000) / (0.5 - 10), 2)


def test_an_option_symbol_is_refused() -> None:
    assert refused(json.dumps(scenario(symbol="BTC/USD:BTC-251226-100000-C"))) == (
        "positions[0].symbol: symbol: 'BTC/USD:BTC-251226-100000-C' is an option "
        "(BASE/QUOTE:SETTLE-EXPIRY-STRIKE-TYPE); levtrade trades spot, perpetuals and dated "
        "futures"
    )


# -- extreme but accepted inputs print valid JSON -------------------------------------------


@pytest.mark.parametrize(
    "position",
    [
        {
            "size": 1e15,
            "entry_price": 1e12,
            "leverage": 1,
            "isolated_margin": 1e15,
            "tiers": [{"floor": 0, "mmr": 0.004, "max_leverage": 10}],
        },
        {
            "size": 1e-12,
            "entry_price": 1e-12,
            "leverage": 10,
            "isolated_margin": 1e-12,
            "tiers": [{"floor": 0, "mmr": 0.004, "max_leverage": 10}],
        },
        {"mark_price": 1e12, "tiers": [{"floor": 0, "mmr": 0.004, "max_leverage": 150}]},
        {"margin_mode": "cross", "isolated_margin": None, "mark_price": 1e-12},
        {
            "side": "short",
            "mark_price": 1e12,
            "isolated_margin": 1e-12,
            "tiers": [{"floor": 0, "mmr": 0.0, "max_leverage": 150}],
        },
    ],
)
def test_extreme_accepted_inputs_print_valid_json(position: dict[str, Any]) -> None:
    document = scenario(**position)
    document["positions"][0] = {k: v for k, v in document["positions"][0].items() if v is not None}
    result = runner.invoke(app, ["margin", "--json"], input=json.dumps(document))
    assert result.exit_code == 0, result.output

    def strict(name: str) -> float:
        raise AssertionError(f"{name} is not JSON")

    out = json.loads(result.stdout, parse_constant=strict)
    numbers = [v for v in out["account"].values() if isinstance(v, float)]
    numbers += [v for p in out["positions"] for v in p.values() if isinstance(v, float)]
    assert all(math.isfinite(v) for v in numbers)


# -- margin stress: sizes refused up front ---------------------------------------------------


def stress_refused(*args: str, tmp_path: Path) -> str:
    path = tmp_path / "s.json"
    path.write_text(json.dumps(scenario()), encoding="utf-8")
    return refused("", "stress", str(path), *args)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--moves", "1e308"],
            "moves: 1e+308 % is not a price move; moves lie within ±10000 % (got '1e308')",
        ),
        (
            ["--moves=-1e308:1e308:1"],
            "moves: -1e+308 % is not a price move; moves lie within "
            "±10000 % (got '-1e308:1e308:1')",
        ),
        (
            ["--moves", "nan"],
            "moves: nan % is not a price move; moves lie within ±10000 % (got 'nan')",
        ),
    ],
)
def test_stress_moves_beyond_any_price(args: list[str], message: str, tmp_path: Path) -> None:
    assert stress_refused(*args, tmp_path=tmp_path) == message


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--horizon", "10000000"],
            "paths × horizon: 1,000 paths of 10,000,000 bars are 10,000,000,000 simulated bars "
            "(149 GiB of bar indices); at most 20,000,000: lower --paths or --horizon",
        ),
        (
            ["--paths", "100000000"],
            "paths × horizon: 100,000,000 paths of 24 bars are 2,400,000,000 simulated bars "
            "(35.8 GiB of bar indices); at most 20,000,000: lower --paths or --horizon",
        ),
    ],
)
def test_stress_bootstraps_too_large_are_refused_before_reading_data(
    args: list[str], message: str, tmp_path: Path
) -> None:
    # --data names a directory that does not exist: the size is refused before it is read
    missing = str(tmp_path / "no-such-data")
    assert stress_refused("--data", missing, *args, tmp_path=tmp_path) == message
