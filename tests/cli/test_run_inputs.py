"""``levtrade backtest`` and ``levtrade report`` on hostile input: configurations, strategies and
signal tables that cannot run are refused before any work with one line naming the field and
the value (exit code 1); a run whose every entry is rejected says so; nothing is overwritten
that levtrade did not write.

The market is cli_helpers' ten hand-made bars (``liquidation_config``).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from textwrap import dedent, indent
from typing import Any

import pandas as pd
import pytest
from cli_helpers import BARS, BTC, T0, files_in, liquidation_config
from typer.testing import CliRunner

from levtrade.cli import app
from levtrade.report.files import RESULTS_MARKER

runner = CliRunner()


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args))


def refused(*args: str) -> str:
    """The one line of a refusal: exit code 1, nothing on stdout, no traceback."""
    result = invoke(*args)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: "), result.stderr
    assert "Traceback (most recent call last)" not in result.stderr
    return lines[0].removeprefix("error: ")


def summary_of(*args: str) -> tuple[dict[str, Any], str]:
    result = invoke(*args, "--no-report", "--no-export", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), result.stderr


# -- configurations --------------------------------------------------------------------------


def test_leverage_above_every_tier_is_refused(tmp_path: Path) -> None:
    # Binance BTCUSDT 2026: bracket 1 allows 150x, the most of any bracket
    config = liquidation_config(tmp_path, leverage=1000)
    assert refused("backtest", "--config", str(config)) == (
        "leverage: 1000 is above the maximum leverage of every tier of BTC/USDT:USDT on binance "
        "(150x); the venue would refuse every entry"
    )


def test_a_stake_above_the_starting_balance_is_refused(tmp_path: Path) -> None:
    # FreqTrade's check: dry_run_wallet 10,000 × tradable_balance_ratio 0.99 = 9,900
    config = liquidation_config(tmp_path, stake_amount=1e9)
    assert refused("backtest", "--config", str(config)) == (
        "stake_amount: 1e+09 is above the starting balance 9900 (dry_run_wallet × "
        "tradable_balance_ratio); every entry would be refused"
    )


def test_an_absurd_funding_rate_is_refused(tmp_path: Path) -> None:
    config = liquidation_config(tmp_path, futures_funding_rate=5)
    assert refused("backtest", "--config", str(config)) == (
        f"{config}: futures_funding_rate: Input should be less than or equal to 0.1, got 5"
    )


def test_a_misspelt_tier_key_is_refused(tmp_path: Path) -> None:
    config = liquidation_config(tmp_path)
    text = config.read_text("utf-8")
    config.write_text(
        text + f'\n[[tiers."{BTC}"]]\nfloor = 0\nmmrr = 0.004\nmax_leverage = 100\n',
        encoding="utf-8",
    )
    assert refused("backtest", "--config", str(config)) == (
        f"{config}: tiers: tiers[0] for config BTC/USDT:USDT: unknown field 'mmrr' (fields: "
        "floor, cap, mmr, maintenance_amount, max_leverage)"
    )


@pytest.mark.parametrize("text", ["", "# nothing but a comment\n"])
def test_an_empty_config_file_is_refused_not_the_demo(tmp_path: Path, text: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    assert refused("backtest", "--config", str(config)) == (
        f"config: {config} holds no settings (an empty file runs nothing)"
    )
    assert files_in(tmp_path) == {"config.toml"}


def test_directories_given_for_files(tmp_path: Path) -> None:
    assert refused("backtest", "--config", str(tmp_path)) == (
        f"config: {tmp_path} is a directory, not a file"
    )
    config = liquidation_config(tmp_path / "run")
    assert refused("backtest", "--config", str(config), "--signals", str(tmp_path)) == (
        f"signals: {tmp_path} is a directory, not a file"
    )


# -- strategies ------------------------------------------------------------------------------

BASE = dedent(
    """
    import math, sys
    from levtrade.strategy import SignalStrategy


    class Base(SignalStrategy):
        def populate_entry_trend(self, dataframe, metadata):
            dataframe["enter_long"] = (dataframe.index == 0).astype(int)
            return dataframe

        def populate_exit_trend(self, dataframe, metadata):
            dataframe["exit_long"] = 0
            return dataframe
    """
)

STRATEGIES = {
    "Yes": """
        def populate_entry_trend(self, dataframe, metadata):
            dataframe["enter_long"] = "no"
            dataframe.loc[0, "enter_long"] = "yes"
            return dataframe
    """,
    "NanIsNoSignal": """
        def populate_entry_trend(self, dataframe, metadata):
            dataframe["enter_long"] = float("nan")  # FreqTrade leaves unset rows NaN
            dataframe.loc[0, "enter_long"] = 1
            return dataframe
    """,
    "LeverageNan": """
        def leverage(self, pair, current_time, current_rate, proposed_leverage, max_leverage,
                     side, **kwargs):
            return float("nan")
    """,
    "LeverageNegative": """
        def leverage(self, pair, current_time, current_rate, proposed_leverage, max_leverage,
                     side, **kwargs):
            return -5
    """,
    "LeverageHuge": """
        def leverage(self, pair, current_time, current_rate, proposed_leverage, max_leverage,
                     side, **kwargs):
            return 1000
    """,
    "StakeNan": """
        def custom_stake_amount(self, pair, current_time, current_rate, proposed_stake,
                                min_stake, max_stake, leverage, entry_tag, side, **kwargs):
            return float("nan")
    """,
    "Exits": """
        def populate_indicators(self, dataframe, metadata):
            sys.exit(0)
    """,
}


def strategy_config(tmp_path: Path, name: str, **extra: Any) -> Path:
    classes = [
        f"class {n}(Base):\n{indent(dedent(code), '    ')}" for n, code in STRATEGIES.items()
    ]
    (tmp_path / "strategies.py").write_text(BASE + "\n\n" + "\n\n".join(classes), "utf-8")
    return liquidation_config(tmp_path, strategy=f"strategies.py:{name}", **extra)


def test_text_entry_signals_name_the_column(tmp_path: Path) -> None:
    line = refused("backtest", "--config", str(strategy_config(tmp_path, "Yes")))
    assert line.startswith(
        "column 'enter_long' of Yes must hold 0/1 or booleans for BTC/USDT:USDT: "
        "Unable to parse string 'yes'"
    )


def test_nan_entry_signals_are_no_signal(tmp_path: Path) -> None:
    summary, _ = summary_of("backtest", "--config", str(strategy_config(tmp_path, "NanIsNoSignal")))
    assert summary["metrics"]["trades"] == 1  # the one entry at bar 0, liquidated at bar 4


@pytest.mark.parametrize(("name", "answer"), [("LeverageNan", "nan"), ("LeverageNegative", "-5.0")])
def test_a_leverage_callback_answering_nan_or_negative_is_an_error(
    tmp_path: Path, name: str, answer: str
) -> None:
    assert refused("backtest", "--config", str(strategy_config(tmp_path, name))) == (
        f"{name}.leverage must return a leverage > 0 (FreqTrade raises one below 1 to 1), got "
        f"{answer} for BTC/USDT:USDT at 2025-01-01 01:00:00+00:00"
    )


def test_a_leverage_callback_above_the_tier_maximum_is_clamped_with_a_note(tmp_path: Path) -> None:
    # stake 1,000: at 150x the notional 150,000 lies in bracket 1 (150x up to 300,000)
    summary, _ = summary_of("backtest", "--config", str(strategy_config(tmp_path, "LeverageHuge")))
    assert summary["trade_leverage"] == [150.0]
    assert (
        "LeverageHuge.leverage asked up to 1000x for BTC/USDT:USDT, above the tier maximum; 1 "
        "entry clamped to it (down to 150x), as FreqTrade does"
    ) in summary["notes"]


def test_a_stake_callback_answering_nan_is_an_error(tmp_path: Path) -> None:
    assert refused("backtest", "--config", str(strategy_config(tmp_path, "StakeNan"))) == (
        "StakeNan.custom_stake_amount must return a stake ≥ 0 (0 or None: no entry), got nan "
        "for BTC/USDT:USDT at 2025-01-01 01:00:00+00:00"
    )


def test_sys_exit_in_a_strategy_ends_the_run_with_an_error(tmp_path: Path) -> None:
    assert refused("backtest", "--config", str(strategy_config(tmp_path, "Exits"))) == (
        "strategy Exits called sys.exit(0) during the run; a strategy returns its results "
        "(raise an exception to stop with an error)"
    )
    assert not (tmp_path / "levtrade-results").exists()


def test_sys_exit_on_import_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "quits.py").write_text("import sys\nsys.exit(3)\n", encoding="utf-8")
    config = liquidation_config(tmp_path, strategy="quits.py:Anything")
    assert refused("backtest", "--config", str(config)) == (
        "strategy file quits.py called sys.exit(3) on import; a strategy file defines its "
        "strategy and returns"
    )


# -- a run that can never trade says so --------------------------------------------------------


def test_a_signal_table_whose_every_entry_is_rejected_warns(tmp_path: Path) -> None:
    config = liquidation_config(tmp_path)
    dates = pd.date_range(T0, periods=BARS, freq="1h", tz="UTC")
    table = pd.DataFrame(
        {
            "date": dates,
            "symbol": BTC,
            "enter_long": [1, 0, 0, 0, 0, 0, 1, 0, 0, 0],
            "exit_long": [0, 0, 1, 0, 0, 0, 0, 0, 1, 0],
            "leverage": 500.0,  # above Binance BTCUSDT's 150x
        }
    )
    signals = tmp_path / "signals.parquet"
    table.to_parquet(signals)
    summary, stderr = summary_of("backtest", "--config", str(config), "--signals", str(signals))
    warning = (
        "every entry was rejected (2 of 2 entry orders; leverage_above_tier 2): the run made no "
        "trade"
    )
    assert summary["warnings"] == [warning]
    assert summary["rejected_entries"] == {"leverage_above_tier": 2}
    assert f"warning: {warning}" in stderr.splitlines()
    terminal = invoke("backtest", "--config", str(config), "--signals", str(signals),
                      "--no-report", "--no-export")  # fmt: skip
    assert terminal.exit_code == 0
    assert f"warning: {warning}" in " ".join(terminal.stdout.split())


# -- nothing overwritten that levtrade did not write ------------------------------------------


def test_report_over_a_file_that_is_not_a_report_needs_force(tmp_path: Path) -> None:
    config = liquidation_config(tmp_path)
    strategy = tmp_path / "enter_first.py"
    code = strategy.read_text("utf-8")
    assert refused("backtest", "--config", str(config), "--report", str(strategy)) == (
        f"report: {strategy} exists and is not a levtrade report; choose another file or pass "
        "--force to overwrite it"
    )
    assert strategy.read_text("utf-8") == code
    assert not (tmp_path / "levtrade-results").exists()  # refused before any work
    # an earlier report is replaced without --force; anything else with it
    report = tmp_path / "report.html"
    for _ in range(2):
        result = invoke("backtest", "--config", str(config), "--report", str(report), "--no-export")
        assert result.exit_code == 0, result.output
    other = tmp_path / "notes.html"
    other.write_text("<html>my notes</html>", encoding="utf-8")
    result = invoke(
        "backtest", "--config", str(config), "--report", str(other), "--no-export", "--force"
    )
    assert result.exit_code == 0, result.output
    assert "levtrade" in other.read_text("utf-8")


def test_levtrade_report_output_over_a_strategy_file_is_refused(tmp_path: Path) -> None:
    config = liquidation_config(tmp_path)
    results = tmp_path / "results"
    assert (
        invoke(
            "backtest", "--config", str(config), "--no-report", "--export", str(results)
        ).exit_code
        == 0
    )
    strategy = tmp_path / "enter_first.py"
    code = strategy.read_text("utf-8")
    assert refused("report", str(results), "--output", str(strategy)) == (
        f"output: {strategy} exists and is not a levtrade report; choose another file or pass "
        "--force to overwrite it"
    )
    assert strategy.read_text("utf-8") == code
    # the default RESULTS/report.html is written, then rewritten
    for _ in range(2):
        assert invoke("report", str(results)).exit_code == 0


def test_export_into_a_folder_with_the_users_files_is_refused(tmp_path: Path) -> None:
    config = liquidation_config(tmp_path)
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "summary.json").write_text("{}", encoding="utf-8")
    (folder / "thesis.tex").write_text("keep me", encoding="utf-8")
    assert refused("backtest", "--config", str(config), "--export", str(folder)) == (
        f"results_dir: {folder} exists and is not a levtrade results directory (no "
        f"{RESULTS_MARKER} marker in it); choose another directory"
    )
    # a results directory that holds a file of the user's is not replaced either
    results = tmp_path / "results"
    args = ("backtest", "--config", str(config), "--no-report", "--export", str(results))
    assert invoke(*args).exit_code == 0
    (results / "thesis.tex").write_text("keep me too", encoding="utf-8")
    assert refused(*args) == (
        f"results_dir: {results} holds 1 file(s) levtrade did not write (thesis.tex); replacing "
        "the directory would delete them: move them or choose another directory"
    )
    assert (results / "thesis.tex").read_text("utf-8") == "keep me too"
    assert (folder / "thesis.tex").read_text("utf-8") == "keep me"


def test_the_next_run_removes_a_killed_runs_temporary_directory(tmp_path: Path) -> None:
    config = liquidation_config(tmp_path)
    exited = subprocess.Popen(["true"])  # a process that has exited: its id names no process
    exited.wait()
    stale = tmp_path / f".levtrade-results.{exited.pid}.k1ll3d.tmp"
    stale.mkdir()
    (stale / RESULTS_MARKER).write_text("{}", encoding="utf-8")
    target = tmp_path / "levtrade-results"
    result = invoke("backtest", "--config", str(config), "--no-report", "--export", str(target))
    assert result.exit_code == 0, result.output
    assert not stale.exists()
    assert (tmp_path / "levtrade-results" / RESULTS_MARKER).is_file()


# -- levtrade report on results changed by hand --------------------------------------------


@pytest.fixture
def results(tmp_path: Path) -> Path:
    config = liquidation_config(tmp_path)
    folder = tmp_path / "results"
    result = invoke("backtest", "--config", str(config), "--no-report", "--export", str(folder))
    assert result.exit_code == 0, result.output
    return folder


def test_report_refuses_a_summary_whose_pairs_is_a_number(results: Path) -> None:
    path = results / "summary.json"
    document = json.loads(path.read_text("utf-8"))
    document["pairs"] = 5
    path.write_text(json.dumps(document), encoding="utf-8")
    assert refused("report", str(results)) == (f"results: {path}: pairs must be a list, got 5")


def test_report_refuses_a_series_without_equity(results: Path) -> None:
    path = results / "series.parquet"
    pd.read_parquet(path).drop(columns=["equity"]).to_parquet(path)
    assert refused("report", str(results)) == (
        f"results: {path} has no column 'equity'; it is not the table levtrade wrote"
    )


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("deep.toml", "a = " + "[" * 5_000 + "]" * 5_000 + "\n"),
        ("deep.json", '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"),
    ],
)
def test_a_config_nested_too_deeply_is_refused(tmp_path: Path, name: str, text: str) -> None:
    config = tmp_path / name
    config.write_text(text, encoding="utf-8")
    assert refused("backtest", "--config", str(config)) == (
        f"config: {config} nests arrays or tables deeper than a reader can follow; a run "
        "configuration nests a few levels"
    )
