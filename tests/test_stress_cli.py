"""`levtrade margin stress`: the ladder and JSON for the three-position cross example, the
recorded 2025-10-10 replay, and one-line errors.

examples/scenarios/cross_three_positions.json, by hand (Binance tier 1: 0.4 % for BTC and ETH,
0.5 % for SOL):

* uPnL: BTC 0.5·(117,590.8 − 115,000) = 1,295.40; ETH 10·(4,092.01 − 4,000) = 920.10;
  SOL −150·(209.55 − 215) = 817.50 → equity 10,000 + 3,033.00 = 13,033.00
* notional: 58,795.40, 40,920.10, 31,432.50; MM 235.1816 + 163.6804 + 157.1625 = 556.0245
* a joint move m: equity 13,033 + (58,795.4 + 40,920.1 − 31,432.5)·m = 13,033 + 68,283·m,
  MM 556.0245·(1 + m) → m = −12,476.9755 / 67,726.9755 = −18.4225 %
* BTC alone (others held): 10,000 + 920.10 + 817.50 − 163.6804 − 157.1625 + 0.5 (P − 115,000)
  = 0.002·P → P = 46,083.2429 / 0.498 = 92,536.63 (−21.306 %)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from levtrade.cli import app
from levtrade.data import read_candles

EXAMPLE = (
    Path(__file__).resolve().parents[1] / "examples" / "scenarios" / "cross_three_positions.json"
)
runner = CliRunner()
JOINT = -12_476.9755 / 67_726.9755


def stress(*args: str, input: str | None = None) -> Any:
    result = runner.invoke(app, ["margin", "stress", *args, "--json"], input=input)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def fails(*args: str, input: str | None = None) -> str:
    result = runner.invoke(app, ["margin", "stress", *args], input=input)
    assert result.exit_code != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_json_for_the_three_position_cross_account() -> None:
    out = stress(str(EXAMPLE), "--moves=-30:30:10")
    account = out["account"]
    assert account["equity"] == pytest.approx(13_033.0)
    assert account["maintenance_margin"] == pytest.approx(556.0245)
    assert account["liquidation_move"]["down"] == pytest.approx(JOINT, abs=1e-9)
    assert account["liquidation_move"]["up"] is None
    btc, eth, sol = out["positions"]
    assert btc["label"] == "BTC/USDT:USDT long" and sol["label"] == "SOL/USDT:USDT short"
    assert btc["liquidation_price"] == pytest.approx(46_083.2429 / 0.498, abs=0.01)
    assert btc["move"] == pytest.approx(46_083.2429 / 0.498 / 117_590.8 - 1, abs=1e-7)
    assert eth["joint_move"] == pytest.approx(JOINT, abs=1e-9)
    names = [ladder["name"] for ladder in out["ladders"]]
    assert names == ["joint", "BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"]
    joint = {row["move"]: row for row in out["ladders"][0]["rows"]}
    assert sorted(joint) == pytest.approx([-0.3, -0.2, -0.1, 0.0, 0.1, 0.2, 0.3])
    # −20 %: 13,033 − 68,283·0.2 = −623.60, past −18.42 %: all three liquidated
    minus20 = joint[-0.2]
    assert minus20["equity"] == pytest.approx(-623.6)
    assert minus20["capped_equity"] == 0.0
    assert minus20["margin_ratio"] is None  # infinite: null in JSON
    assert len(minus20["liquidated"]) == 3
    # −10 %: 13,033 − 6,828.3 = 6,204.70; MM 556.0245·0.9 = 500.42 → 8.065 %
    assert joint[-0.1]["equity"] == pytest.approx(6_204.7)
    assert joint[-0.1]["margin_ratio"] == pytest.approx(556.0245 * 0.9 / 6_204.7)
    assert joint[-0.1]["liquidated"] == []
    # no --data: no historical parts
    assert out["historical_shocks"] is None and out["replay"] is None
    assert out["liquidation_probability"] is None


def test_rich_ladder_table() -> None:
    result = runner.invoke(
        app, ["margin", "stress", str(EXAMPLE), "--moves", "-20,-10,10"], env={"COLUMNS": "160"}
    )
    assert result.exit_code == 0, result.output
    assert "Ladder: all symbols together" in result.stdout
    assert "Ladder: SOL/USDT:USDT alone" in result.stdout
    assert "-18.42%" in result.stdout
    assert "92,536.63" in result.stdout
    assert "-623.60" in result.stdout


def test_stdin_and_arrays() -> None:
    text = EXAMPLE.read_text()
    single = stress(input=text)
    assert single["account"]["equity"] == pytest.approx(13_033.0)
    both = stress("-", input=f"[{text}, {text}]")
    assert isinstance(both, list) and len(both) == 2


def test_calculator_is_still_the_default() -> None:
    plain = runner.invoke(app, ["margin", str(EXAMPLE), "--json"])
    named = runner.invoke(app, ["margin", "calc", str(EXAMPLE), "--json"])
    assert plain.exit_code == named.exit_code == 0
    assert json.loads(plain.stdout) == json.loads(named.stdout)
    assert json.loads(plain.stdout)["account"]["equity"] == pytest.approx(13_033.0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--moves", "abc"], "moves: expected START:STOP:STEP or a comma list"),
        (["--moves=-150:0:50"], "moves[0]: -1.5 would take prices to ≤ 0"),
        (["--moves=10:-10:5"], "moves: '10:-10:5' gives no moves"),
        (["--moves=0:10:0"], "moves: the step must be > 0"),
        (["--replay", "2025-10-10", "2025-10-11"], "replay: needs --data"),
        (["--data", "/nonexistent/levtrade"], "data: not a directory"),
        (["--map", "nonsense"], "map: expected SYMBOL=STEM"),
    ],
)
def test_errors_are_one_line(args: list[str], message: str) -> None:
    assert message in fails(str(EXAMPLE), *args)


def test_error_for_an_empty_account() -> None:
    line = fails(input='{"venue": "binance", "wallet_balance": 100}')
    assert "positions: the account has no open positions" in line


def test_error_for_a_bad_scenario() -> None:
    assert "wallet_balance" in fails(input='{"venue": "binance", "wallet_balance": -1}')


# ============================================================================================
# Recorded data (../shared/data, skipped when absent)
# ============================================================================================


def test_full_run_on_recorded_history(shared_data: Path) -> None:
    data = shared_data / "binance_um_freqtrade_harthor"
    out = stress(str(EXAMPLE), "--data", str(data), "--paths", "200", "--seed", "1")
    replay = out["replay"]
    # the account is liquidated in the 21:00 UTC bar of 2025-10-10 (lows at 21:20, README)
    (event,) = replay["events"]
    assert event["time_utc"] == "2025-10-10T21:00:00Z"
    assert replay["final_equity"] == 0.0
    assert replay["history"]["kinds"] == {
        "BTC/USDT:USDT": "mark",
        "ETH/USDT:USDT": "mark",
        "SOL/USDT:USDT": "mark",
    }
    probability = out["liquidation_probability"]
    assert (probability["paths"], probability["seed"], probability["horizon"]) == (200, 1, 24)
    assert out["historical_shocks"]["window"] == 24
    again = stress(str(EXAMPLE), "--data", str(data), "--paths", "200", "--seed", "1")
    assert again["liquidation_probability"] == probability


def test_replay_window_on_five_minute_trade_candles(shared_data: Path) -> None:
    data = shared_data / "binance_um_freqtrade_harthor"
    start, end = "2025-10-10T18:00:00Z", "2025-10-10T22:00:00Z"
    out = stress(
        str(EXAMPLE),
        "--data",
        str(data),
        "--paths",
        "20",
        "--replay",
        start,
        end,
        "--replay-timeframe",
        "5m",
    )
    replay = out["replay"]
    # 4 hours of 5m bars; there are no 5m mark files, so the trade candles stand in
    assert len(replay["bars"]) == 48
    assert set(replay["history"]["kinds"].values()) == {"trade"}
    # by hand on each 5m bar, the path scaled so its 18:00 open is the scenario's mark:
    # equity = 10,000 + 0.5 (L_btc − 115,000) + 10 (L_eth − 4,000) + 150 (215 − H_sol),
    # MM = 0.4 %·(0.5 L_btc + 10 L_eth) + 0.5 %·150 H_sol. At 5m the SOL short's highs no
    # longer coincide with the BTC/ETH lows as they do inside the 21:00 hourly bar.
    candles = {
        s: read_candles(data / f"{s}USDT-5m-perp.parquet").between(start, end)
        for s in ("BTC", "ETH", "SOL")
    }
    scale = {
        "BTC": 117_590.8 / candles["BTC"].open[0],
        "ETH": 4_092.01 / candles["ETH"].open[0],
        "SOL": 209.55 / candles["SOL"].open[0],
    }
    triggered = []
    for i in range(48):
        l_btc = candles["BTC"].low[i] * scale["BTC"]
        l_eth = candles["ETH"].low[i] * scale["ETH"]
        h_sol = candles["SOL"].high[i] * scale["SOL"]
        equity = 10_000 + 0.5 * (l_btc - 115_000) + 10 * (l_eth - 4_000) + 150 * (215 - h_sol)
        mm = 0.004 * (0.5 * l_btc + 10 * l_eth) + 0.005 * 150 * h_sol
        triggered.append(equity <= mm)
    assert not any(triggered)
    assert replay["events"] == []
    assert replay["min_equity"] > 0


def test_horizon_must_be_positive(shared_data: Path) -> None:
    data = str(shared_data / "binance_um_freqtrade_harthor")
    assert "horizon: must be a whole number ≥ 1, got 0" in fails(
        str(EXAMPLE), "--data", data, "--horizon", "0"
    )
    assert "paths: must be a whole number ≥ 1, got 0" in fails(
        str(EXAMPLE), "--data", data, "--paths", "0"
    )


def test_symbol_aliases_for_other_venues(shared_data: Path) -> None:
    data = str(shared_data / "binance_um_freqtrade_harthor")
    hyperliquid = str(EXAMPLE.parent / "hyperliquid_cross.json")
    assert "data: no 1h candles for BTC/USDC:USDC" in fails(hyperliquid, "--data", data)
    out = stress(
        hyperliquid,
        "--data",
        data,
        "--paths",
        "20",
        "--map",
        "BTC/USDC:USDC=BTCUSDT",
        "--map",
        "ETH/USDC:USDC=ETHUSDT",
    )
    assert out["replay"]["history"]["symbols"] == ["BTC/USDC:USDC", "ETH/USDC:USDC"]
