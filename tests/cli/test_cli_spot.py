"""``levtrade backtest`` and ``levtrade margin stress`` for spot and spot margin.

FreqTrade's sample strategy (examples/strategies/freqtrade_sample.py) through a run
configuration on Binance's recorded spot candles (../shared, BTCUSDT 1h, 2022 to 2026), in
spot and in cross margin at 3x: the summary, the exports and the HTML report carry the
interest paid, the liquidations and the margin level. Then the stress test of the margin
calculator's SM-03 account, checked by hand.
"""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

import pandas as pd
import pytest
from typer.testing import CliRunner

from levtrade.backtest.spot_engine import SPOT_NOTE
from levtrade.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
STRATEGY = ROOT / "examples" / "strategies" / "freqtrade_sample.py"


def config(tmp_path: Path, shared_data: Path, mode: str) -> Path:
    margin = mode == "margin"
    text = dedent(
        f"""
        strategy = "{STRATEGY}:FreqtradeSample"
        trading_mode = "{mode}"
        leverage = {3 if margin else 1}
        stake_amount = 1000
        dry_run_wallet = 10000
        pairs = ["BTC/USDT"]
        timeframe = "1h"
        datadir = "{shared_data / "binance_spot_static_klines"}"
        data_format = "files"
        gaps = "fill"
        """
    )
    if margin:
        text += 'margin_mode = "cross"\ninterest_rates = {USDT = 0.0000057}\n'
    path = tmp_path / f"{mode}.toml"
    path.write_text(text)
    return path


@pytest.mark.shared
@pytest.mark.slow
@pytest.mark.parametrize("mode", ["spot", "margin"])
def test_freqtrade_sample_from_a_config(tmp_path: Path, shared_data: Path, mode: str) -> None:
    report = tmp_path / "report.html"
    results = tmp_path / "results"
    out = runner.invoke(
        app,
        [
            "backtest",
            "--config",
            str(config(tmp_path, shared_data, mode)),
            "--report",
            str(report),
            "--export",
            str(results),
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    summary = json.loads(out.stdout)
    assert summary["trading_mode"] == mode
    assert summary["engine"] == "event"
    assert SPOT_NOTE in summary["notes"]
    metrics = summary["metrics"]
    trades = pd.read_parquet(results / "trades.parquet")
    assert metrics["trades"] == len(trades) > 100
    assert metrics["liquidations"] == len(summary["liquidations"])
    assert metrics["interest_paid"] == pytest.approx(trades["interest"].sum(), rel=1e-9)
    series = pd.read_parquet(results / "series.parquet")
    html = report.read_text()
    assert "Interest paid" in html and "Lowest margin level" in html
    if mode == "spot":
        assert metrics["interest_paid"] == 0.0
        assert series["margin_level"].isna().all()
        return
    assert metrics["interest_paid"] > 0.0
    assert metrics["min_margin_level"] == pytest.approx(series["margin_level"].min())
    assert metrics["final_equity"] == pytest.approx(10_000.0 + trades["pnl"].sum(), abs=1e-6)


def test_stress_of_a_spot_margin_account() -> None:
    scenario = {
        "venue": "binance",
        "trading_mode": "margin",
        "assets": {"BTC": 0.06},
        "loans": {"USDT": 2000},
        "prices": {"BTC": 50000},
    }
    out = runner.invoke(
        app, ["margin", "stress", "--json", "--moves=-30,-10,0"], input=json.dumps(scenario)
    )
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    account = report["account"]
    assert account["margin_level"] == pytest.approx(1.5)
    # SM-03: liquidation at 36,666.67, a fall of 26.67 %; the joint move is the same (one asset)
    (btc,) = report["assets"]
    assert btc["liquidation_price"] == pytest.approx(36_666.6667, abs=1e-3)
    assert account["liquidation_move"]["down"] == pytest.approx(36_666.6667 / 50_000 - 1, abs=1e-9)
    assert account["liquidation_move"]["up"] is None
    joint = report["ladders"][0]
    # −30 %: 0.06 × 35,000 / 2,000 = 1.05 (liquidation); −10 %: 1.35 (no borrow)
    assert [r["margin_level"] for r in joint["rows"]] == pytest.approx([1.05, 1.35, 1.5])
    assert [r["status"] for r in joint["rows"]] == ["liquidation", "no_borrow", "no_borrow"]
    table = runner.invoke(app, ["margin", "stress", "--moves=-30,0"], input=json.dumps(scenario))
    assert table.exit_code == 0, table.output
    assert "36,666.67" in table.stdout and "-26.67%" in table.stdout


@pytest.mark.shared
def test_stress_historical_shocks_on_spot_candles(shared_data: Path) -> None:
    scenario = {
        "venue": "binance",
        "trading_mode": "margin",
        "assets": {"BTC": 0.06},
        "loans": {"USDT": 2000},
        "prices": {"BTC": 50000},
    }
    out = runner.invoke(
        app,
        [
            "margin",
            "stress",
            "--json",
            "--data",
            str(shared_data / "binance_spot_static_klines"),
            "--timeframe",
            "1d",
            "--window",
            "3",
        ],
        input=json.dumps(scenario),
    )
    assert out.exit_code == 0, out.output
    shocks = json.loads(out.stdout)["historical_shocks"]
    daily = pd.read_parquet(shared_data / "binance_spot_static_klines/BTCUSDT-1d-spot.parquet")
    assert shocks["windows"] == len(daily) - 3 + 1
    worst = shocks["worst"][0]
    # the worst 3-day window by hand: the lowest low over three days / the first day's open
    lows = daily["low"].rolling(3).min().shift(-2)
    fall = (lows / daily["open"] - 1.0).min()
    assert worst["moves"]["BTC"] == pytest.approx(fall, rel=1e-12)
    # the margin level there: 0.06 × 50,000 × (1 + fall) / 2,000
    assert worst["margin_level"] == pytest.approx(1.5 * (1.0 + fall), rel=1e-12)
    assert shocks["liquidating_windows"] == int(((lows / daily["open"]) * 1.5 <= 1.1).sum())
