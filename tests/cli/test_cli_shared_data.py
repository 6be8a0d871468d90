"""``levtrade backtest`` on recorded data in ../shared (skipped without it).

* The 2025-10-10 crash: a 20x long on five Binance perpetuals (harthor's per-symbol Parquet
  files, tiers from FreqTrade's Binance tier file) is liquidated on every pair; the summary and
  the report list the liquidations, and the ETH and DOGE liquidation prices are checked by hand
  from the recorded entry price, the margin and the tier.
* FreqTrade's own test data directory (``freqtrade_testdata``) runs as a FreqTrade user's
  ``user_data/data/binance`` would, including the mark series that ends before the trade
  candles (an error by default, trimmed with ``coverage = "trim"``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from textwrap import dedent
from typing import Any

import pandas as pd
import pytest
from cli_helpers import write_config
from typer.testing import CliRunner

from levtrade.cli import app

pytestmark = pytest.mark.shared
runner = CliRunner()
PAIRS = ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT", "XRP/USDT:USDT", "DOGE/USDT:USDT"]
TIER_FILE = "exchange_leverage_tiers/binance_leverage_tiers_freqtrade-2026.9.json"

LONG_20X = dedent(
    '''
    """A 20x long on every pair at the close of 2025-10-10 16:00 UTC, held."""
    import pandas as pd

    from levtrade.strategy import SignalStrategy


    class Long20x(SignalStrategy):
        def populate_entry_trend(self, dataframe, metadata):
            dataframe["enter_long"] = dataframe["date"] == pd.Timestamp("2025-10-10 16:00Z")
            return dataframe

        def populate_exit_trend(self, dataframe, metadata):
            dataframe["exit_long"] = False
            return dataframe

        def leverage(self, pair, current_time, current_rate, proposed_leverage, max_leverage,
                     side, **kwargs):
            return 20.0
    '''
)


def _bar(path: Path, when: str) -> pd.Series:
    frame = pd.read_parquet(path)
    row = frame[frame["open_time"] == pd.Timestamp(when, tz="UTC")]
    assert len(row) == 1
    return row.iloc[0]


def _tier_one(shared: Path, symbol: str) -> dict[str, Any]:
    tiers = json.loads((shared / TIER_FILE).read_text("utf-8"))[symbol]
    first: dict[str, Any] = tiers[0]
    return first


def _first_bar_reaching(path: Path, start: str, level: float) -> pd.Timestamp:
    """Open time of the first mark bar from ``start`` whose low is at or below ``level``."""
    mark = pd.read_parquet(path)
    after = mark[(mark["open_time"] >= pd.Timestamp(start, tz="UTC")) & (mark["low"] <= level)]
    return pd.Timestamp(after.iloc[0]["open_time"])


def test_2025_10_10_crash_liquidates_a_20x_long(shared_data: Path, tmp_path: Path) -> None:
    harthor = shared_data / "binance_um_freqtrade_harthor"
    (tmp_path / "long20x.py").write_text(LONG_20X, encoding="utf-8")
    config = write_config(
        tmp_path / "crash.toml",
        {
            "strategy": "long20x.py:Long20x",
            "trading_mode": "futures",
            "margin_mode": "isolated",
            "stake_currency": "USDT",
            "stake_amount": 1000,
            "dry_run_wallet": 10000,
            "timeframe": "1h",
            "timerange": "20251008-20251012",
            "pairs": PAIRS,
            "data_format": "files",
            "datadir": str(harthor),
            "candles": "{symbol}-{timeframe}-perp.parquet",
            "mark": "{symbol}-{timeframe}-mark.parquet",
            "funding": "{symbol}-funding_rate.parquet",
            "tiers_file": str(shared_data / TIER_FILE),
        },
    )
    report = tmp_path / "crash.html"
    results = tmp_path / "crash-results"
    result = runner.invoke(
        app, ["backtest", "-c", str(config), "--report", str(report), "--export", str(results)]
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Liquidations (5, isolated margin)" in out
    summary = json.loads((results / "summary.json").read_text("utf-8"))
    assert summary["start"] == "2025-10-08T00:00:00Z"
    assert summary["end"] == "2025-10-12T00:00:00Z"
    liquidations = {row["pair"]: row for row in summary["liquidations"]}
    assert sorted(liquidations) == sorted(PAIRS)
    assert summary["metrics"]["liquidations"] == 5
    # no funding between the 17:00 entry and the evening (Binance settles at 16:00 and 00:00)
    assert summary["metrics"]["funding_paid"] == 0.0

    for base, symbol in (("ETH", "ETH/USDT:USDT"), ("DOGE", "DOGE/USDT:USDT")):
        entry = float(_bar(harthor / f"{base}USDT-1h-perp.parquet", "2025-10-10 17:00")["open"])
        tier = _tier_one(shared_data, symbol)
        assert tier["minNotional"] == 0 and float(tier["info"]["cum"]) == 0.0
        mmr = float(tier["maintenanceMarginRate"])  # ETH 0.4 %, DOGE 0.65 %
        # 20x on a 1,000 stake: q = 20,000 / entry, isolated margin 1,000; long liquidation
        # where 1,000 + q (P − entry) = mmr q P, i.e. P = (20,000 − 1,000) / (q (1 − mmr))
        q = 20_000.0 / entry
        expected = 19_000.0 / (q * (1.0 - mmr))
        assert q * expected < float(tier["maxNotional"])  # still tier 1 at that price
        row = liquidations[symbol]
        assert row["entry_price"] == pytest.approx(entry, rel=1e-12)
        assert row["price"] == pytest.approx(expected, rel=1e-9)
        assert row["leverage"] == 20.0
        assert row["pnl"] == pytest.approx(-1_010.0, abs=1e-6)  # margin + 0.05 % fee on 20,000
        hit = _first_bar_reaching(
            harthor / f"{base}USDT-1h-mark.parquet", "2025-10-10 17:00", expected
        )
        assert row["time_iso"] == hit.strftime("%Y-%m-%dT%H:%M:%SZ")
    eth = liquidations["ETH/USDT:USDT"]
    assert eth["price"] == pytest.approx(3_916.7088, abs=1e-4)
    assert eth["time_iso"] == "2025-10-10T20:00:00Z"
    assert "3,916.71" in out

    # the report's liquidation table lists the same five, with the hand-checked price
    page = report.read_text("utf-8")
    table = re.search(r'<table class="data" id="liquidations-table">(.*?)</table>', page, re.S)
    assert table is not None
    rows = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td>", table.group(1))
    assert sorted(pair for _, pair in rows) == sorted(PAIRS)
    assert "3,916.71" in table.group(1)
    assert "liquidation price (long)" in page


def test_freqtrade_test_data_directory(shared_data: Path, tmp_path: Path) -> None:
    datadir = shared_data / "freqtrade_testdata"
    values: dict[str, Any] = {
        "strategy": "strategy.py:SmaCross",
        "datadir": str(datadir),
        "pairs": ["XRP/USDT:USDT"],
        "timeframe": "1h",
        "stake_currency": "USDT",
        "dry_run_wallet": 1000,
        "leverage": 3,
        "tiers_file": str(datadir / "leverage_tiers" / "binance_leverage_tiers.2024-10-24.json"),
    }
    runner.invoke(app, ["init", str(tmp_path)])
    config = write_config(tmp_path / "ft.toml", values)
    # its 1h mark candles end on 2021-11-19 09:00, two days before the trade candles
    failed = runner.invoke(app, ["backtest", "-c", str(config), "--no-report", "--no-export"])
    assert failed.exit_code == 1
    assert "XRP_USDT_USDT-1h-mark.feather" in failed.stderr
    write_config(config, {**values, "coverage": "trim", "params": None})
    with config.open("a", encoding="utf-8") as out:
        out.write("[params]\nfast = 6\nslow = 24\nstartup_candle_count = 24\n")
    result = runner.invoke(
        app, ["backtest", "-c", str(config), "--no-report", "--no-export", "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["synthetic"] is False
    assert summary["start"] == "2021-11-17T01:00:00Z"
    assert summary["end"] == "2021-11-19T09:00:00Z"  # trimmed to the mark's last bar
    assert summary["funding_source"] == {"XRP/USDT:USDT": "data"}
    assert summary["mark_candles"] == {"XRP/USDT:USDT": True}
    assert summary["metrics"]["trades"] >= 1


def test_example_config_runs_20x_on_recorded_data(shared_data: Path) -> None:
    config = Path(__file__).resolve().parents[2] / "examples" / "config.toml"
    assert (config.parent / "../../shared/data").resolve() == shared_data.resolve()
    result = runner.invoke(
        app, ["backtest", "-c", str(config), "--no-report", "--no-export", "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["strategy"] == "DemoSmaCross" and summary["strategy_style"] == "event"
    assert summary["start"] == "2025-09-01T00:00:00Z"
    assert summary["end"] == "2025-10-31T00:00:00Z"
    liquidations = summary["liquidations"]
    assert len(liquidations) == summary["metrics"]["liquidations"] > 0
    for row in liquidations:
        assert row["leverage"] == 20.0 and row["pnl"] < 0
        # a long is liquidated below its entry, a short above (20x: within 5 % of the entry)
        move = row["price"] / row["entry_price"] - 1.0
        assert (move < 0) == (row["side"] == "long")
        assert abs(move) < 0.05
    assert summary["funding_source"] == dict.fromkeys(summary["pairs"], "data")
