"""Eight pairs held long at 10x in one cross pool through 2025-10-10 on the recorded data
(``examples/cross_crash.toml``): the analyzers see the margin call before the liquidation, and
the report draws the liquidation on the equity and margin charts and the pool's joint move."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from levtrade.cli import app

pytestmark = pytest.mark.shared
ROOT = Path(__file__).resolve().parents[2]


def _chart(page: str, chart_id: str) -> str:
    match = re.search(rf'levtradePlot\("{chart_id}", (.*?)\);\n', page, re.S)
    assert match is not None, chart_id
    return match.group(1)


def test_cross_pool_through_the_crash(shared_data: Path, tmp_path: Path) -> None:
    report = tmp_path / "cross.html"
    result = CliRunner().invoke(
        app,
        [
            "backtest",
            "--config",
            str(ROOT / "examples" / "cross_crash.toml"),
            "--report",
            str(report),
            "--no-export",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    liquidations = summary["liquidations"]
    # the whole pool at once: every pair, one bar
    assert len(liquidations) == 8 and {row["margin_mode"] for row in liquidations} == {"cross"}
    times = {row["time_iso"] for row in liquidations}
    assert len(times) == 1
    [wiped] = times
    assert wiped.startswith("2025-10-10T2")
    margin = summary["margin"]
    # the analyzers test each bar as the engine does: a margin call, then the liquidation
    assert margin["margin_calls"] >= 1 and margin["first_margin_call"] < wiped
    assert margin["min_margin_level"] <= 1.0 and margin["min_margin_level_time"] == wiped
    page = report.read_text("utf-8")
    for chart_id in ("chart-equity", "chart-margin", "chart-joint"):
        assert '"name":"liquidation"' in _chart(page, chart_id), chart_id
    # no per-symbol liquidation lines in cross margin: the joint move replaces them
    assert '"name":"liquidation price (long)"' not in page
