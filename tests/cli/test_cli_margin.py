"""Every ``levtrade backtest`` attaches the margin analyzers of ``levtrade.risk``: their figures
appear in the terminal summary (the Margin section), in ``summary.json``, in the exports
(``analyzers/*.parquet``) and in the report, which ``levtrade report`` regenerates from them.

The run is ``cli_helpers.margin_call_config``: its margin levels, effective leverage and
liquidation price are tabulated in ``cli_helpers.MARGIN_CLOSES``' docstring.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from cli_helpers import (
    BTC,
    HOUR_MS,
    MARGIN_CLOSES,
    MARGIN_FUNDING_RATE,
    MARGIN_LIQ_PRICE,
    T0_MS,
    margin_call_config,
)
from typer.testing import CliRunner

from levtrade.cli import app
from levtrade.report.exports import from_exported
from levtrade.report.files import RESULTS_MARKER
from levtrade.report.tables import RESULT_FILES

runner = CliRunner()

# margin level at bar i: 100 − 9,000 / close (cli_helpers)
LEVEL = {i: 100.0 - 9_000.0 / close for i, close in enumerate(MARGIN_CLOSES)}
# the lowest inside bar i (the engine's trigger test at the mark low, cli_helpers): at the
# low min(open, close), open = the previous close; bar 9 holds the long from bar 8's close
LOWEST = {i: 100.0 - 9_000.0 / min(MARGIN_CLOSES[i - 1], MARGIN_CLOSES[i]) for i in range(1, 10)}
# ATR(3), TA-Lib (Wilder): the bars have no wicks, so the true range is |close − previous
# close|: 0, 5, 3 on bars 1-3, then 0.5, 0.3, 0.2 on bars 4-6.
# ATR[3] = (0 + 5 + 3) / 3 = 2.6667; ATR[i] = (2·ATR[i−1] + TR[i]) / 3:
# ATR[4] = (5.3333 + 0.5) / 3 = 1.9444, ATR[5] = (3.8889 + 0.3) / 3 = 1.3963,
# ATR[6] = (2.7926 + 0.2) / 3 = 0.99753
ATR6 = ((((0.0 + 5.0 + 3.0) / 3 * 2 + 0.5) / 3 * 2 + 0.3) / 3 * 2 + 0.2) / 3


def ok(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def test_margin_figures_in_the_summary_json_by_hand(tmp_path: Path) -> None:
    config = margin_call_config(tmp_path)
    summary = json.loads(
        ok("backtest", "--config", str(config), "--no-report", "--no-export", "--json").stdout
    )
    assert summary["risk"] == {
        "margin_call_level": 1.5,
        "thresholds": [2.0, 1.5, 1.2],
        "atr_period": 3,
    }
    margin = summary["margin"]
    # lowest levels inside the bars below 1.5 on bars 5 (1.3158), 6 and 7 (1.0989: bar 7
    # opens at 91), 8 and 9 (1.3699: bar 9 opens at 91.25): one episode from 05:00
    assert margin["margin_calls"] == 1
    assert margin["first_margin_call"] == "2025-01-01T05:00:00Z"
    # the lowest level: bar 6 at 91, 100 − 9,000 / 91 = 1.0989
    assert margin["min_margin_level"] == pytest.approx(100.0 - 9_000.0 / 91.0, rel=1e-12)
    assert margin["min_margin_level_time"] == "2025-01-01T06:00:00Z"
    # below 2: bars 4-9 (6 of 10, 6 h); below 1.5: 5-9; below 1.2: 6 and 7
    assert margin["time_below"] == [
        {"threshold": 2.0, "bars": 6, "fraction": 0.6, "hours": 6.0},
        {"threshold": 1.5, "bars": 5, "fraction": 0.5, "hours": 5.0},
        {"threshold": 1.2, "bars": 2, "fraction": 0.2, "hours": 2.0},
    ]
    assert margin["liquidations"] == 0
    # 100 BTC × mark open 91.25 × 0.01 % at 09:00
    assert margin["funding_paid"] == pytest.approx(100 * 91.25 * MARGIN_FUNDING_RATE)
    assert margin["funding_received"] == 0.0
    assert margin["funding_net"] == pytest.approx(-0.9125)
    # bar 6: notional 9,100 over equity 100
    assert margin["max_effective_leverage"] == pytest.approx(91.0)
    assert margin["max_effective_leverage_time"] == "2025-01-01T06:00:00Z"
    # bar 6: (91 − 90.9091) / 91 = 0.0999 % of the mark, and 0.0909 / ATR[6] = 0.0911 ATRs
    assert margin["min_distance"] == pytest.approx((91.0 - MARGIN_LIQ_PRICE) / 91.0, rel=1e-9)
    assert margin["min_distance_time"] == "2025-01-01T06:00:00Z"
    assert margin["min_distance_position"] == BTC
    assert margin["min_distance_atr"] == pytest.approx((91.0 - MARGIN_LIQ_PRICE) / ATR6, rel=1e-9)
    assert margin["min_distance_atr"] == pytest.approx(0.091134, abs=1e-6)
    assert margin["min_distance_atr_time"] == "2025-01-01T06:00:00Z"
    # the analyzers' own mapping outputs, as they are
    analyzers = summary["analyzers"]
    assert analyzers["min_margin_level"] == {
        "min_margin_level": pytest.approx(LEVEL[6], rel=1e-12),
        "min_margin_level_time": T0_MS + 6 * HOUR_MS,
    }
    assert analyzers["liquidations"] == {"liquidations": 0, "by_symbol": {}}
    assert analyzers["funding"]["by_symbol"] == {
        BTC: {"paid": pytest.approx(0.9125), "received": 0.0}
    }
    assert analyzers["effective_leverage"]["max"] == pytest.approx(91.0)
    # mean over the bars in a position (1-8): (10 + 19 + 46 + 61 + 76 + 91 + 46 + 73) / 8
    assert analyzers["effective_leverage"]["mean_when_exposed"] == pytest.approx(422.0 / 8)
    assert summary["analyzer_tables"] == {
        name: f"analyzers/{name}.parquet"
        for name in (
            "margin_history",
            "margin_calls",
            "time_below_thresholds",
            "distance_to_liquidation",
        )
    }


def test_margin_section_in_the_terminal_summary(tmp_path: Path) -> None:
    config = margin_call_config(tmp_path)
    out = ok("backtest", "--config", str(config), "--no-report", "--no-export").stdout
    section = out[out.index("Margin") :]
    lines = [" ".join(line.split()) for line in section.splitlines()]
    for expected in (
        "margin calls (level < 1.5) 1, first 2025-01-01 05:00",
        "minimum margin level 1.10 at 2025-01-01 06:00",
        "time below level 2 60.00 % of bars, 6.0 h",
        "time below level 1.5 50.00 % of bars, 5.0 h",
        "time below level 1.2 20.00 % of bars, 2.0 h",
        "liquidations 0",
        "funding paid 0.91 (received 0.00, net -0.91)",
        "max effective leverage 91.00x at 2025-01-01 06:00",
        f"min distance to liquidation 0.10 % at 2025-01-01 06:00, {BTC}",
        f"in ATR(3) multiples 0.09 at 2025-01-01 06:00, {BTC}",
    ):
        assert expected in lines, (expected, lines)


def test_risk_table_changes_the_levels(tmp_path: Path) -> None:
    # the lowest levels inside the bars (cli_helpers) below 2 on bars 4-9: one call at 04:00;
    # below 5 on bars 3-9 (2.17, 1.64, 1.32, 1.10, 1.10, 1.37, 1.37)
    config = margin_call_config(tmp_path, "margin_call_level = 2\nthresholds = [5]\n")
    summary = json.loads(
        ok("backtest", "--config", str(config), "--no-report", "--no-export", "--json").stdout
    )
    margin = summary["margin"]
    assert (margin["margin_calls"], margin["first_margin_call"]) == (1, "2025-01-01T04:00:00Z")
    assert margin["time_below"] == [{"threshold": 5.0, "bars": 7, "fraction": 0.7, "hours": 7.0}]
    # ATR(14) needs 14 bars: no ATR on these ten, so no distance in ATR multiples
    assert margin["atr_period"] == 14 and margin["min_distance_atr"] is None


def test_exports_hold_the_analyzers_and_report_regenerates_them(tmp_path: Path) -> None:
    config = margin_call_config(tmp_path)
    results = tmp_path / "results"
    report = tmp_path / "run.html"
    ok("backtest", "--config", str(config), "--report", str(report), "--export", str(results))
    assert {p.name for p in results.iterdir()} == set(RESULT_FILES) | {"analyzers", RESULTS_MARKER}
    folder = results / "analyzers"
    assert {p.name for p in folder.iterdir()} == {
        "margin_history.parquet",
        "margin_calls.parquet",
        "time_below_thresholds.parquet",
        "distance_to_liquidation.parquet",
    }
    calls = from_exported(pd.read_parquet(folder / "margin_calls.parquet"))
    hour = lambda i: T0_MS + i * HOUR_MS  # noqa: E731
    assert calls["start"].tolist() == [hour(5)]
    assert calls["end"].isna().tolist() == [True]  # never back at or above 1.5
    assert calls["bars"].tolist() == [5]
    assert calls["min_margin_level"].tolist() == pytest.approx([LEVEL[6]], rel=1e-12)
    history = from_exported(pd.read_parquet(folder / "margin_history.parquet"))
    assert history["margin_level"].tolist()[1:10] == pytest.approx(
        [LOWEST[i] for i in range(1, 10)], rel=1e-12
    )
    distance = pd.read_parquet(folder / "distance_to_liquidation.parquet")
    assert distance[f"distance:{BTC}"].iloc[6] == pytest.approx(
        (91.0 - MARGIN_LIQ_PRICE) / 91.0, rel=1e-9
    )

    page = report.read_text("utf-8")
    table = re.search(r'<table class="data" id="margin-table">(.*?)</table>', page, re.S)
    assert table is not None
    assert "1, first 2025-01-01 05:00" in table.group(1)
    assert "1.10 at 2025-01-01 06:00" in table.group(1)
    assert '"name":"margin call"' in page  # the markers on the margin-ratio chart

    regenerated = tmp_path / "again.html"
    ok("report", str(results), "--output", str(regenerated))
    assert regenerated.read_text("utf-8") == page
    (folder / "margin_calls.parquet").unlink()
    missing = runner.invoke(app, ["report", str(results)])
    assert missing.exit_code == 1
    assert "missing analyzers/margin_calls.parquet" in missing.stderr
