"""A FreqTrade user's invocation, unchanged: ``levtrade backtest -c config.json -s Name`` from
the folder holding ``user_data/`` (strategies in ``user_data/strategies``, data in
``user_data/data/binance`` without a ``datadir`` key), a JSON config with comments and
trailing commas merged with a second ``-c`` and its ``add_config_files``, FreqTrade's flags,
space-separated ``--pairs`` with a pair that has no data (skipped with a note)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from levtrade.cli import app
from levtrade.data import demo_portfolio
from levtrade.data.freqtrade import save_freqtrade

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "freqtrade_layer"))
from test_compat import STRATEGY

runner = CliRunner()


def invoke(*args: str) -> object:
    return runner.invoke(app, list(args))


CONFIG = """{
    // FreqTrade's example config has comments and trailing commas
    "trading_mode": "futures",
    "margin_mode": "isolated",
    "stake_currency": "USDT",
    "stake_amount": 100,
    "max_open_trades": 3,
    "dry_run_wallet": 5000,
    "use_exit_signal": true,
    "ignore_roi_if_entry_signal": false,
    "exchange": {"name": "binance", "pair_whitelist": ["BTC/USDT:USDT"],},
    "add_config_files": ["extra.json"],
}
"""


@pytest.fixture
def user_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "user_data" / "strategies").mkdir(parents=True)
    (tmp_path / "user_data" / "strategies" / "ft_style.py").write_text(STRATEGY, "utf-8")
    market = demo_portfolio(("BTC/USDT:USDT",), timeframe="1h", bars=1500).markets[0]
    save_freqtrade(market, tmp_path / "user_data" / "data" / "binance")
    (tmp_path / "config.json").write_text(CONFIG, "utf-8")
    (tmp_path / "extra.json").write_text(json.dumps({"fee": 0.001, "max_open_trades": 1}))
    (tmp_path / "override.json").write_text('{"margin_mode": "cross",}', "utf-8")
    return tmp_path


def test_a_freqtrade_invocation_runs_unchanged(user_folder: Path) -> None:
    result = invoke(
        "backtest", "-c", "config.json", "-c", "override.json", "-s", "FtStyle",
        "--pairs", "BTC/USDT:USDT", "ETH/USDT:USDT", "--fee", "0.0005",
        "--dry-run-wallet", "2000", "--stake-amount", "150", "--max-open-trades", "2",
        "--no-report", "--no-export", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["strategy"] == "FtStyle"
    assert summary["pairs"] == ["BTC/USDT:USDT"]
    assert any(n.startswith("ETH/USDT:USDT: skipped, no 1h candles") for n in summary["notes"])
    assert summary["data_source"].startswith("freqtrade: ")
    assert summary["data_source"].endswith(str(Path("user_data") / "data" / "binance"))
    assert summary["margin_mode"] == "cross"  # the second -c over the first
    assert summary["max_open_trades"] == 2  # the flag over the configs (and add_config_files)
    assert summary["wallet"] == 2000.0
    assert summary["stake_amount"] == 150.0
    assert summary["metrics"]["trades"] > 0


def test_without_user_data_a_config_never_falls_back_to_demo_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.json").write_text(
        '{"pairs": ["BTC/USDT:USDT"], "timeframe": "1h", "strategy": "x.py:X"}', "utf-8"
    )
    (tmp_path / "x.py").write_text(
        "from levtrade.strategy import SignalStrategy\nclass X(SignalStrategy):\n    pass\n"
    )
    result = invoke("backtest", "-c", "config.json", "--no-report", "--no-export")
    assert result.exit_code == 1
    assert "user_data/data/binance" in result.output
    assert "FreqTrade's default" in result.output
