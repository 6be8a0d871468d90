"""``levtrade backtest`` end to end: the demo, a hand-computed liquidation through a FreqTrade
data directory, the exports and ``levtrade report``, ``levtrade init``, and the errors a user
will hit (one line, exit code 1, no output files).

The numbers of the liquidation run are worked out in ``cli_helpers``' docstring.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from cli_helpers import (
    BTC,
    ENTRY_FEE,
    FUNDING_PAID,
    HOUR_MS,
    INSURANCE,
    LIQ_FEE,
    LIQ_PRICE,
    MMR,
    RAISES_IN_NEXT,
    RAISES_IN_POPULATE,
    SYNTAX_ERROR,
    T0_MS,
    TRADE_PNL,
    files_in,
    liquidation_config,
    write_config,
)
from typer.testing import CliRunner

from levtrade.cli import app
from levtrade.report.exports import from_exported
from levtrade.report.files import RESULTS_MARKER
from levtrade.report.tables import RESULT_FILES

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args))


def ok(*args: str) -> Any:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result


def summary_json(*args: str) -> dict[str, Any]:
    result = ok("backtest", *args, "--json")
    return json.loads(result.stdout)  # type: ignore[no-any-return]


# ============================================================================================
# The demo: `levtrade backtest` with no arguments
# ============================================================================================


def test_no_arguments_runs_the_demo_and_writes_report_and_exports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = ok("backtest")
    out = result.stdout
    # recorded data, not synthetic: the bundled Binance sample around 2025-10-10
    assert "SYNTHETIC" not in out and "Binance USDT-M perpetuals, recorded" in out
    assert "SmaCross" in out
    # the first screen: the three leverages side by side, with buy and hold
    assert "Leverage at work: one strategy at 3 leverages" in out
    assert out.index("Leverage at work") < out.index("Metrics")
    lines = [" ".join(line.split()) for line in out.splitlines()]
    rows = [line for line in lines if re.match(r"^(3|10|25)x ", line)]
    assert [row.split()[0] for row in rows] == ["3x", "10x", "25x"]
    assert "Strategy " in out and " vs. buy & hold " in out
    for section in ("Metrics", "Per pair", "Funding", "Liquidations (1", "Exit reasons", "Margin"):
        assert section in out
    assert "margin calls (level < 1.5)" in out and "min distance to liquidation" in out
    assert "Report:  levtrade-report.html" in out
    assert "Results: levtrade-results" in out
    page = (tmp_path / "levtrade-report.html").read_text("utf-8")
    assert "SYNTHETIC DATA" not in page and 'id="comparison-table"' in page
    summary = json.loads((tmp_path / "levtrade-results" / "summary.json").read_text("utf-8"))
    assert summary["synthetic"] is False
    assert summary["pairs"] == [BTC, "ETH/USDT:USDT", "SOL/USDT:USDT"]
    assert summary["bars"] == 7 * 288  # a week of 5m bars
    assert summary["leverage"] == 25.0
    comparison = summary["leverage_comparison"]
    assert [row["leverage"] for row in comparison] == [3.0, 10.0, 25.0]
    # what the first run shows: a liquidation, funding paid and received, the market's move
    metrics = summary["metrics"]
    assert metrics["liquidations"] >= 1 and comparison[-1]["liquidations"] >= 1
    assert metrics["funding_paid"] > 0 and metrics["funding_received"] > 0
    # buy and hold: the mean of the pairs' close-to-close changes (equal parts, unleveraged)
    prices = pd.read_parquet(tmp_path / "levtrade-results" / "prices.parquet")
    changes = [
        own["close"].iloc[-1] / own["close"].iloc[0] - 1 for _, own in prices.groupby("symbol")
    ]
    assert summary["market"]["buy_and_hold_return"] == pytest.approx(np.mean(changes), rel=1e-12)
    assert summary["market"]["change"] == pytest.approx(np.mean(changes), rel=1e-12)
    # the demo attaches the margin analyzers too
    assert summary["margin"]["liquidations"] == metrics["liquidations"]
    # the exported trades add up to the equity change (each trade's pnl includes its fees
    # and funding: docs/backtest.md, "Results")
    trades = pd.read_parquet(tmp_path / "levtrade-results" / "trades.parquet")
    assert trades["pnl"].sum() == pytest.approx(metrics["final_equity"] - 10_000.0, abs=1e-6)
    assert len(trades) == metrics["trades"] > 0
    analyzer_files = {
        f"analyzers/{name}.parquet"
        for name in (
            "margin_history",
            "margin_calls",
            "time_below_thresholds",
            "distance_to_liquidation",
        )
    }
    # no temporary files are left beside the outputs
    assert files_in(tmp_path) == {"levtrade-report.html", "levtrade-results"} | {
        f"levtrade-results/{name}"
        for name in (*RESULT_FILES, "analyzers", RESULTS_MARKER, *analyzer_files)
    }


def test_demo_synthetic_keeps_the_seeded_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    summary = summary_json("--demo", "synthetic", "--no-report", "--no-export")
    assert summary["synthetic"] is True
    assert summary["pairs"] == [BTC, "ETH/USDT:USDT"]
    assert summary["bars"] == 8784  # the hours of 2024, the demo's span
    assert summary["leverage"] == 5.0 and "leverage_comparison" not in summary


# ============================================================================================
# A hand-computed liquidation through a FreqTrade data directory
# ============================================================================================


def test_liquidation_summary_matches_the_hand_computation(tmp_path: Path) -> None:
    config = liquidation_config(tmp_path)
    summary = summary_json("--config", str(config), "--no-report", "--no-export")
    assert summary["synthetic"] is False
    assert summary["margin_mode"] == "isolated"
    [liq] = summary["liquidations"]
    assert liq["pair"] == BTC and liq["side"] == "long"
    assert liq["time"] == T0_MS + 4 * HOUR_MS
    assert liq["time_iso"] == "2025-01-01T04:00:00Z"
    assert liq["entry_price"] == pytest.approx(100.0, rel=1e-12)
    assert liq["price"] == pytest.approx(LIQ_PRICE, rel=1e-12)
    assert liq["price"] == pytest.approx(90.371485943775, rel=1e-12)
    assert liq["leverage"] == 10.0
    assert liq["pnl"] == pytest.approx(TRADE_PNL, abs=1e-9)
    metrics = summary["metrics"]
    assert metrics["liquidations"] == 1
    assert metrics["fees"] == pytest.approx(ENTRY_FEE, abs=1e-12)
    assert metrics["funding_paid"] == pytest.approx(FUNDING_PAID, abs=1e-12)
    assert metrics["liquidation_fees"] == pytest.approx(LIQ_FEE, rel=1e-9)
    assert metrics["insurance_fund"] == pytest.approx(INSURANCE, rel=1e-9)
    assert metrics["final_equity"] == pytest.approx(10_000.0 + TRADE_PNL, abs=1e-9)
    assert summary["funding"]["by_pair"][BTC] == {
        "paid": pytest.approx(1.0),
        "received": 0.0,
        "net": pytest.approx(-1.0),
        "source": "data",
    }
    [row] = summary["per_pair"]
    assert row["liquidations"] == 1 and row["trades"] == 1
    assert row["pnl"] == pytest.approx(TRADE_PNL)


def test_terminal_summary_exports_and_report_regeneration(tmp_path: Path) -> None:
    config = liquidation_config(tmp_path)
    report = tmp_path / "out" / "run.html"
    report.parent.mkdir()
    results = tmp_path / "results"
    result = ok(
        "backtest", "--config", str(config), "--report", str(report), "--export", str(results)
    )
    out = result.stdout
    assert "Liquidations (1, isolated margin)" in out
    assert "2025-01-01 04:00" in out
    assert "90.3715" in out  # the liquidation price, six significant digits
    assert "-1,005.00" in out
    assert "SYNTHETIC" not in out
    # the Margin section: the analyzers' margin level is the cross pool's, empty here
    margin = [" ".join(line.split()) for line in out[out.index("Margin") :].splitlines()]
    assert "margin calls (level < 1.5) n/a (isolated margin)" in margin
    assert "liquidations 1" in margin
    # closes before the liquidation: 100 vs the liquidation price 90.3715 after the funding
    distance = 100.0 * (100.0 - LIQ_PRICE) / 100.0  # 9.63 %
    assert f"min distance to liquidation {distance:.2f} % at 2025-01-01 02:00, {BTC}" in margin

    # trades: one time convention, UTC instants: ISO 8601 in CSV, timestamp[ms, UTC] in Parquet
    csv = pd.read_csv(results / "trades.csv")
    assert csv.loc[0, "exit_reason"] == "liquidation"
    assert csv.loc[0, "entry_time"] == "2025-01-01T01:00:00Z"
    trades = pd.read_parquet(results / "trades.parquet")
    assert str(trades["exit_time"].dtype) == "datetime64[ms, UTC]"
    assert trades.loc[0, "exit_time"] == pd.Timestamp(T0_MS + 4 * HOUR_MS, unit="ms", tz="UTC")
    # prices to 10 significant digits (no tick on record), money to 8 decimals: no float noise
    assert trades.loc[0, "exit_price"] == round(LIQ_PRICE, 8)
    assert trades.loc[0, "pnl"] == round(TRADE_PNL, 8)
    assert csv.loc[0, "exit_price"] == round(LIQ_PRICE, 8)

    # the equity and margin series, with the derived columns worked out by hand
    series = from_exported(pd.read_parquet(results / "series.parquet"))
    assert len(series) == 10
    bar1, bar2 = series.iloc[1], series.iloc[2]
    lp_before_funding = (10_000.0 - 1_000.0) / (100.0 * (1.0 - MMR))
    assert bar1[f"liq:{BTC}"] == pytest.approx(lp_before_funding, rel=1e-12)
    assert bar2[f"liq:{BTC}"] == pytest.approx(LIQ_PRICE, rel=1e-12)
    # isolated margin ratio = MM / position equity: 40 / 1,000, then 40 / 999 after funding
    assert bar1[f"margin_ratio:{BTC}"] == pytest.approx(40.0 / 1_000.0, rel=1e-12)
    assert bar2[f"margin_ratio:{BTC}"] == pytest.approx(40.0 / 999.0, rel=1e-12)
    assert math.isnan(series.iloc[0][f"margin_ratio:{BTC}"])  # flat before the entry fills
    # equity 10,000 − 5 (fee); effective leverage = 10,000 notional / 9,995
    assert bar1["equity"] == pytest.approx(9_995.0)
    assert bar1["effective_leverage"] == pytest.approx(10_000.0 / 9_995.0, rel=1e-12)
    assert bar2["drawdown"] == pytest.approx(1.0 - 9_994.0 / 10_000.0, rel=1e-9)
    assert bar1[f"funding:{BTC}"] == 0.0
    assert bar2[f"funding:{BTC}"] == pytest.approx(-1.0) == bar2["funding"]

    # the report carries the liquidation table
    page = report.read_text("utf-8")
    table = re.search(r'<table class="data" id="liquidations-table">(.*?)</table>', page, re.S)
    assert table is not None
    assert "2025-01-01 04:00" in table.group(1) and "90.3715" in table.group(1)

    # `levtrade report` rebuilds the same page from the saved results
    regenerated = tmp_path / "again.html"
    again = ok("report", str(results), "--output", str(regenerated))
    assert str(regenerated) in again.stdout
    assert regenerated.read_text("utf-8") == page
    default = ok("report", str(results), "--json")
    assert json.loads(default.stdout) == {"report": str(results / "report.html")}
    assert (results / "report.html").is_file()


def test_signals_file_runs_like_the_strategy(tmp_path: Path) -> None:
    config = liquidation_config(tmp_path)
    signals = tmp_path / "signals.csv"
    signals.write_text(
        "date,symbol,enter_long,exit_long\n2025-01-01T00:00:00Z,BTC/USDT:USDT,1,0\n",
        encoding="utf-8",
    )
    summary = summary_json(
        "--config", str(config), "--signals", str(signals), "--no-report", "--no-export"
    )
    assert summary["strategy"] == "signals signals.csv"
    assert summary["strategy_style"] == "signals-file"
    [liq] = summary["liquidations"]
    assert liq["price"] == pytest.approx(LIQ_PRICE, rel=1e-12)


def test_config_stoploss_overrides_the_strategy(tmp_path: Path) -> None:
    # FreqTrade's stoploss -0.5 at 10x: a stop at 100 × (1 − 0.5 / 10) = 95, reached on bar
    # 4's way down before the liquidation price; exit fee 0.05 % × 100 × 95 = 4.75
    config = liquidation_config(tmp_path, stoploss=-0.5)
    summary = summary_json("--config", str(config), "--no-report", "--no-export")
    assert summary["liquidations"] == []
    pnl = 100.0 * (95.0 - 100.0) - 5.0 - 4.75 - 1.0
    assert summary["metrics"]["final_equity"] == pytest.approx(10_000.0 + pnl, abs=1e-9)
    assert summary["per_pair"][0]["pnl"] == pytest.approx(pnl, abs=1e-9)


def test_constant_funding_fills_in_for_a_pair_without_funding_data(tmp_path: Path) -> None:
    # 2x: 20 BTC at 100; the constant settles at 00:00 and 08:00 (multiples of 8 h); the
    # position is held at 08:00, mark open 88: the long pays 20 × 88 × 0.0001 = 0.176
    config = liquidation_config(tmp_path, leverage=2, futures_funding_rate=0.0001)
    (tmp_path / "data" / "futures" / "BTC_USDT_USDT-1h-funding_rate.feather").unlink()
    summary = summary_json("--config", str(config), "--no-report", "--no-export")
    assert summary["funding_source"] == {BTC: "constant"}
    assert summary["metrics"]["funding_paid"] == pytest.approx(0.176, abs=1e-12)
    assert any("futures_funding_rate" in note for note in summary["notes"])
    # end of data: sold at the last close 88; fees 1.0 in, 0.88 out
    pnl = 20.0 * (88.0 - 100.0) - 1.0 - 0.88 - 0.176
    assert summary["metrics"]["final_equity"] == pytest.approx(10_000.0 + pnl, abs=1e-9)


def test_event_strategy_example_runs_on_the_demo(tmp_path: Path) -> None:
    example = ROOT / "examples" / "strategies" / "demo_sma_cross.py"
    # on the recorded sample (a strategy given without a config)
    sample = summary_json("--strategy", f"{example}:DemoSmaCross", "--no-report", "--no-export")
    assert sample["synthetic"] is False and sample["bars"] == 7 * 288
    summary = summary_json(
        "--strategy",
        f"{example}:DemoSmaCross",
        "--demo",
        "synthetic",
        "--timerange",
        "20240101-20240401",
        "--no-report",
        "--no-export",
    )
    assert summary["strategy_style"] == "event"
    assert summary["synthetic"] is True
    # FreqTrade's timerange: from 2024-01-01 00:00 to the candle opening 2024-04-01 00:00
    assert summary["start"] == "2024-01-01T00:00:00Z"
    assert summary["end"] == "2024-04-01T00:00:00Z"
    assert summary["bars"] == (31 + 29 + 31) * 24 + 1
    assert summary["metrics"]["trades"] > 0


# ============================================================================================
# levtrade init
# ============================================================================================


def test_init_writes_a_starter_that_runs(tmp_path: Path) -> None:
    target = tmp_path / "mybot"
    ok("init", str(target))
    assert (target / "config.toml").is_file() and (target / "strategy.py").is_file()
    again = invoke("init", str(target))
    assert again.exit_code == 1
    assert "already exists" in again.stderr and "--force" in again.stderr
    ok("init", str(target), "--force")
    summary = summary_json(
        "--config",
        str(target / "config.toml"),
        "--timerange",
        "20240301-20240501",
        "--no-report",
        "--no-export",
    )
    assert summary["strategy"] == "SmaCross"
    assert summary["synthetic"] is True
    # startup_candle_count = 168: a week of bars before the timerange warms the averages up
    assert summary["start"] == "2024-03-01T00:00:00Z"
    assert any("168 startup candles" in note for note in summary["notes"])


# ============================================================================================
# Errors a user will hit
# ============================================================================================


def _error_case(tmp_path: Path, case: str) -> list[str]:
    """Set up ``case`` in ``tmp_path``; return the command's arguments."""
    config = liquidation_config(tmp_path)
    if case == "missing data file":
        write_config(
            config,
            {
                "strategy": "enter_first.py:EnterFirstBar",
                "data_format": "files",
                "datadir": "data",
                "candles": "{symbol}-{timeframe}.parquet",
                "timeframe": "1h",
                "pairs": [BTC],
            },
        )
    elif case == "strategy raises":
        (tmp_path / "broken.py").write_text(RAISES_IN_POPULATE, encoding="utf-8")
        return ["--config", str(config), "--strategy", "broken.py:Broken"]
    elif case == "event strategy raises":
        (tmp_path / "broken.py").write_text(RAISES_IN_NEXT, encoding="utf-8")
        return ["--config", str(config), "--strategy", "broken.py:BrokenNext"]
    elif case == "syntax error":
        (tmp_path / "oops.py").write_text(SYNTAX_ERROR, encoding="utf-8")
        return ["--config", str(config), "--strategy", "oops.py:Oops"]
    elif case == "config key typo":
        text = config.read_text("utf-8").replace("margin_mode", "margn_mode")
        config.write_text(text, encoding="utf-8")
    elif case == "nested key typo":
        config.write_text(
            config.read_text("utf-8") + '[exchange]\npair_whitlist = ["BTC/USDT:USDT"]\n',
            encoding="utf-8",
        )
    elif case == "risk key typo":
        config.write_text(
            config.read_text("utf-8") + "[risk]\nmargin_call_levl = 2\n", encoding="utf-8"
        )
    elif case == "timerange without data":
        return ["--config", str(config), "--timerange", "20240101-20240201"]
    elif case == "pair without funding data":
        (tmp_path / "data" / "futures" / "BTC_USDT_USDT-1h-funding_rate.feather").unlink()
    elif case == "spot trading mode":
        text = config.read_text("utf-8").replace('"futures"', '"spot"')
        config.write_text(text, encoding="utf-8")
    elif case == "unknown class":
        return ["--config", str(config), "--strategy", "enter_first.py:EnterFirst"]
    elif case == "report directory missing":
        return ["--config", str(config), "--report", str(tmp_path / "nowhere" / "r.html")]
    elif case == "only pairs without data":
        return ["--config", str(config), "--pairs", "DOGE/USDT:USDT"]
    return ["--config", str(config)]


ERRORS = {
    "missing data file": r"missing data file .*BTCUSDT-1h\.parquet \(candles of BTC/USDT:USDT\)",
    "strategy raises": r"strategy Broken raised KeyError: 'no_such_column'",
    "event strategy raises": r"strategy BrokenNext raised ZeroDivisionError",
    "syntax error": r"strategy file oops\.py does not compile: .*line 3",
    "config key typo": r"unknown key 'margn_mode' \(did you mean 'margin_mode'\?\)",
    "nested key typo": r"unknown key exchange\.pair_whitlist \(did you mean 'pair_whitelist'\?\)",
    "risk key typo": r"unknown key risk\.margin_call_levl \(did you mean 'margin_call_level'\?\)",
    "timerange without data": r"timerange: 20240101-20240201 has no 1h data for BTC/USDT:USDT "
    r"\(its data runs 2025-01-01T00:00:00Z to 2025-01-01T09:00:00Z\)",
    "pair without funding data": r"funding: BTC/USDT:USDT has no funding data \(no .*/futures/"
    r"BTC_USDT_USDT-<timeframe>-funding_rate\.\* file\); .* set futures_funding_rate",
    "spot trading mode": r"config: leverage: spot trades at 1x, got 10\.0",
    "unknown class": r"no class 'EnterFirst' in .*enter_first\.py "
    r"\(did you mean 'EnterFirstBar'\?\)",
    "report directory missing": r"report: directory not found: .*nowhere",
    "only pairs without data": r"missing data file .*DOGE_USDT_USDT-1h-futures\.feather "
    r"\(candles of DOGE/USDT:USDT",
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_user_errors_are_one_clear_line_and_leave_no_output(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = _error_case(tmp_path, case)
    before = files_in(tmp_path)
    result = invoke("backtest", *args)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: ")
    assert re.search(ERRORS[case], lines[0]), lines[0]
    assert result.stdout == ""
    assert files_in(tmp_path) == before  # no report, no results, no temporary files
    if case in ("strategy raises", "event strategy raises"):
        # the strategy's own frames, not the engine's
        assert lines[1] == "Traceback (strategy code only):"
        frames = [line for line in lines if line.strip().startswith("File ")]
        assert frames and all("broken.py" in line for line in frames)
        assert "levtrade/" not in result.stderr
    else:
        assert len(lines) == 1 or case == "syntax error"


def test_foreign_results_directory_is_not_replaced(tmp_path: Path) -> None:
    config = liquidation_config(tmp_path)
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me", encoding="utf-8")
    result = invoke("backtest", "--config", str(config), "--export", str(precious))
    assert result.exit_code == 1
    assert "is not a levtrade results directory" in result.stderr
    assert (precious / "notes.txt").read_text("utf-8") == "keep me"
    assert not (tmp_path / "levtrade-report.html").exists()
