"""The command line of a leverage tool: the run's leverage, margin mode, venue, wallet and
strategy parameters on ``backtest``; ``--version``, ``-v`` and ``--logfile`` on every command;
``levtrade lookahead``; the margin calculator's quick form and ccxt positions; progress on long
jobs. Figures are worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from levtrade import __version__
from levtrade.backtest import runner as run_path
from levtrade.cli import app, main
from levtrade.cli.logs import hoist

runner = CliRunner()
BTC = "BTC/USDT:USDT"
PEEK = '''
from levtrade.strategy import SignalStrategy


class Peek(SignalStrategy):
    """Trades on the next bar's close: look-ahead."""

    can_short = True

    def populate_indicators(self, df, metadata):
        df["next_close"] = df["close"].shift(-1)
        return df

    def populate_entry_trend(self, df, metadata):
        df["enter_long"] = df["next_close"] > df["close"]
        df["enter_short"] = df["next_close"] < df["close"]
        return df

    def populate_exit_trend(self, df, metadata):
        df["exit_long"] = df["next_close"] < df["close"]
        df["exit_short"] = df["next_close"] > df["close"]
        return df
'''


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args))


def run_main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    out = capsys.readouterr()
    return int(stopped.value.code or 0), out.out, out.err


def test_version_before_or_after_a_command(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--version"], ["backtest", "--version"], ["margin", "--version"]):
        code, out, _ = run_main(argv, capsys)
        assert code == 0 and out == f"levtrade {__version__}\n", argv


def test_global_options_move_before_the_command() -> None:
    assert hoist(["backtest", "-v", "--logfile", "x.log", "--pairs", "A"]) == [
        "-v",
        "--logfile",
        "x.log",
        "backtest",
        "--pairs",
        "A",
    ]
    assert hoist(["data", "info", "f", "-vv", "--logfile=y"]) == [
        "-vv",
        "--logfile=y",
        "data",
        "info",
        "f",
    ]
    assert hoist(["margin", "--", "-v"]) == ["margin", "--", "-v"]


def test_verbose_and_logfile_on_a_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    log = tmp_path / "run.log"
    argv = ["backtest", "--demo", "synthetic", "--no-report", "--no-export", "--json"]
    code, out, err = run_main([*argv, "-v", "--logfile", str(log)], capsys)
    assert code == 0, err
    assert json.loads(out)["synthetic"] is True
    text = log.read_text("utf-8")
    assert "INFO levtrade.configuration.plan: loading demo 1h data for" in text
    assert "running SmaCross on the auto engine at 5x, cross margin" in text
    assert "running SmaCross" in err  # -v: info on stderr too
    code, _, err = run_main(argv, capsys)
    assert code == 0 and "running SmaCross" not in err  # warnings only by default


def test_backtest_takes_leverage_margin_mode_venue_wallet_and_params() -> None:
    args = ["backtest", "--demo", "synthetic", "--no-report", "--no-export", "--json"]
    args += ["--pairs", BTC]  # the venues' shipped tables all have BTC
    result = invoke(
        *args,
        "--leverage",
        "3",
        "--margin-mode",
        "isolated",
        "--venue",
        "bybit",
        "--wallet",
        "5000",
        "--param",
        "fast=24",
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["leverage"], summary["margin_mode"], summary["venue"]) == (
        3.0,
        "isolated",
        "bybit",
    )
    assert summary["wallet"] == 5000.0 and summary["metrics"]["initial_equity"] == 5000.0
    assert summary["trade_leverage"] == [3.0]
    assert summary["params"] == {"fast": 24}
    slow = json.loads(invoke(*args, "--param", "fast=96").stdout)
    assert slow["params"] == {"fast": 96}
    assert slow["metrics"]["trades"] != summary["metrics"]["trades"]
    bad = invoke(*args, "--param", "nope=1")
    assert bad.exit_code == 1 and "params: SmaCross has no attribute 'nope'" in bad.stderr
    bad = invoke(*args, "--param", "fast")
    assert bad.exit_code == 1 and "param: expected name=value, got 'fast'" in bad.stderr
    bad = invoke(*args, "--margin-mode", "portfolio")
    assert bad.exit_code == 1 and "margin_mode" in bad.stderr


def test_lookahead_command(tmp_path: Path) -> None:
    clean = invoke("lookahead", "--timerange", "20251009-20251011")
    assert clean.exit_code == 0, clean.output
    assert clean.stdout.startswith("SmaCross: no look-ahead found")
    (tmp_path / "peek.py").write_text(PEEK, encoding="utf-8")
    peeking = invoke("lookahead", "--strategy", f"{tmp_path / 'peek.py'}:Peek", "--json")
    assert peeking.exit_code == 1
    outcome = json.loads(peeking.stdout)
    assert outcome["ok"] is False and "changes when the data ends at bar" in outcome["detail"]
    assert peeking.stderr.startswith("error: Peek: look-ahead: ")


def test_margin_quick_form_by_hand() -> None:
    # 1 BTC long at 100,000, 20x, cross wallet 10,000 on Binance (tier 1: MMR 0.4 %, no
    # amount): equity 10,000 + (P − 100,000) = 0.004·P at P = 90,000 / 0.996 = 90,361.45
    result = invoke(
        "margin", "--venue", "binance", "--long", "1@100000", "--leverage", "20",
        "--wallet", "10000", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [position] = json.loads(result.stdout)["positions"]
    assert position["liquidation_price"] == pytest.approx(90_000 / 0.996, rel=1e-12)
    assert position["initial_margin"] == pytest.approx(5_000.0)
    # isolated: its margin is the initial margin 100,000 / 20 = 5,000:
    # (100,000 − 5,000) / 0.996 = 95,381.53
    isolated = invoke(
        "margin", "--venue", "binance", "--long", "1@100000", "--leverage", "20",
        "--margin-mode", "isolated", "--json",
    )  # fmt: skip
    [position] = json.loads(isolated.stdout)["positions"]
    assert position["liquidation_price"] == pytest.approx(95_000 / 0.996, rel=1e-12)
    short = invoke("margin", "--venue", "binance", "--short", "2@100000", "--leverage", "20")
    assert short.exit_code == 0 and "BTC/USDT:USDT short" in short.stdout
    for args, message in (
        (["--long", "1@x", "--venue", "binance", "--leverage", "5"], "long: expected SIZE@PRICE"),
        (["--long", "1@100", "--leverage", "5"], "venue: the quick form needs --venue"),
    ):
        bad = invoke("margin", *args)
        assert bad.exit_code == 1 and message in bad.stderr, bad.stderr


def test_ccxt_fetch_positions_output_as_a_scenario(tmp_path: Path) -> None:
    # ccxt's unified position structures (one cross long, one isolated short with 1,000 of
    # margin: collateral 1,100 − unrealized PnL 100), plus a closed one that is left out
    positions = [
        {"symbol": BTC, "side": "long", "contracts": 1.0, "contractSize": 1.0,
         "entryPrice": 100000.0, "markPrice": 100000.0, "leverage": 20.0,
         "marginMode": "cross", "unrealizedPnl": 0.0, "hedged": False},
        {"symbol": "ETH/USDT:USDT", "side": "short", "contracts": 10.0, "contractSize": 1.0,
         "entryPrice": 2000.0, "markPrice": 1990.0, "leverage": 20.0,
         "marginMode": "isolated", "collateral": 1100.0, "unrealizedPnl": 100.0},
        {"symbol": "ETH/USDT:USDT", "side": "long", "contracts": 0.0, "entryPrice": 0.0,
         "leverage": 20.0},
    ]  # fmt: skip
    path = tmp_path / "positions.json"
    path.write_text(json.dumps(positions), encoding="utf-8")
    result = invoke("margin", str(path), "--venue", "binance", "--wallet", "10000", "--json")
    assert result.exit_code == 0, result.output
    btc, eth = json.loads(result.stdout)["positions"]
    assert btc["liquidation_price"] == pytest.approx(90_000 / 0.996, rel=1e-12)
    # isolated short, 10 ETH at 2,000 with 1,000 of margin:
    # 1,000 + 10·(2,000 − P) = 0.004·10·P at P = 21,000 / 10.04 (MMR 0.4 %, ETH tier 1)
    assert eth["side"] == "short"
    assert eth["liquidation_price"] == pytest.approx(21_000 / 10.04, rel=1e-9)
    missing = invoke("margin", str(path), "--venue", "binance")
    assert missing.exit_code == 1 and "needs --venue and --wallet" in missing.stderr


def test_long_jobs_report_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    from levtrade.backtest import kernel_aot
    from levtrade.calculator import build_account, quick_scenario
    from levtrade.data import demo_portfolio
    from levtrade.risk.stress import PriceHistory, StressTest
    from levtrade.strategy.signals import SignalRules, Signals, SymbolSignals

    # the bootstrap's paths: every hundredth of them, ending at the total
    account = build_account(
        quick_scenario(venue="binance", wallet=10_000, leverage=20, longs=["1@100000"])
    )
    history = PriceHistory.from_markets(list(demo_portfolio((BTC,), bars=200).markets))
    seen: list[tuple[int, int]] = []
    StressTest(account).liquidation_probability(
        history, horizon=5, paths=300, progress=lambda done, total: seen.append((done, total))
    )
    assert seen[-1] == (300, 300) and len(seen) == 100
    assert [done for done, _ in seen] == list(range(3, 301, 3))

    # a just-in-time compilation of the kernel is a phase of its own
    class Phases:
        def __init__(self) -> None:
            self.names: list[str] = []

        def phase(self, name: str, total: int | None = None) -> None:
            self.names.append(name)

        def advance(self, done: int) -> None:
            return None

    phases = Phases()
    monkeypatch.setattr(kernel_aot, "will_compile", lambda: True)
    data = demo_portfolio((BTC,), bars=50)
    signals = Signals({BTC: SymbolSignals.from_arrays(len(data))}, SignalRules())
    run_path.run(signals, data, engine="compiled", progress=phases)
    assert phases.names[:2] == [
        "compiling the kernel (once, ~20 s)",
        "simulating (compiled kernel)",
    ]
