"""The HTML report: self-contained, and every chart renders in headless Chromium with no
JavaScript error (Debian's chromium, installed by the ``chromium`` fixture)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from report_helpers import BTC, ETH, INFO, MARGIN_INFO, hand_run, margin_call_run
from typer.testing import CliRunner

from levtrade.cli import app
from levtrade.report.exports import from_exported
from levtrade.report.formatting import fmt_time
from levtrade.report.html import chart_figures, render_report, write_report
from levtrade.report.summary import bundle_from_result

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
    "--virtual-time-budget=20000",
)


def browse(chromium: Path, page: Path, profile: Path, *extra: str) -> tuple[str, str]:
    """(dumped DOM or stdout, stderr) of headless Chromium on ``page``."""
    done = subprocess.run(
        [str(chromium), *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout, done.stderr


def check_rendered(dom: str, stderr: str, charts: int) -> None:
    """Every chart holds Plotly's rendered SVG, all of them reported done, no JS error."""
    ids = re.findall(r'<div class="chart[^"]*" id="(chart-[a-z0-9-]+)" data-chart', dom)
    assert len(ids) == charts
    positions = [dom.index(f'id="{chart_id}"') for chart_id in ids] + [len(dom)]
    for chart_id, start, end in zip(ids, positions, positions[1:], strict=False):
        assert 'class="main-svg"' in dom[start:end], f"{chart_id} did not render"
    assert f'data-charts="{charts}"' in dom
    assert f'data-charts-rendered="{charts}"' in dom
    errors = re.search(r'<pre id="levtrade-errors"[^>]*>(.*?)</pre>', dom, re.S)
    assert errors is not None and errors.group(1) == "", errors.group(1) if errors else dom[:500]
    console = [line for line in stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console


def test_report_is_self_contained() -> None:
    result, data = hand_run("isolated")
    page = render_report(bundle_from_result(result, data, INFO))
    # no external script, style sheet or image: the page loads nothing
    assert not re.search(r"<(script|link|img|iframe)\b[^>]*\b(src|href)=", page)
    assert "Plotly" in page and len(page) > 3_000_000  # plotly.js is inlined
    assert page.count("levtradePlot(") == 1 + 6  # the function, then 2 prices + 4 charts


def test_isolated_report_renders_in_chromium(chromium: Path, tmp_path: Path) -> None:
    result, data = hand_run("isolated")
    bundle = bundle_from_result(result, data, INFO)
    titles = [title for _, title, _ in chart_figures(bundle)]
    assert titles == [
        "Equity, buy & hold and drawdown",
        "Margin ratio",
        BTC,
        ETH,
        "Funding",
        "Effective leverage",
    ]
    page = write_report(bundle, tmp_path / "isolated.html")
    dom, stderr = browse(chromium, page, tmp_path / "profile", "--dump-dom")
    check_rendered(dom, stderr, charts=6)
    table = re.search(r'id="liquidations-table">(.*?)</table>', dom, re.S)
    assert table is not None and BTC in table.group(1) and "90.3715" in table.group(1)
    # the liquidation price is drawn as its own line on BTC's price chart
    assert "liquidation price (long)" in dom


def _chart(dom: str, chart_id: str) -> str:
    """The rendered DOM of one chart (up to the next chart)."""
    start = dom.index(f'id="{chart_id}"')
    following = re.search(r'id="chart-[a-z0-9-]+" data-chart', dom[start + 1 :])
    return dom[start : start + 1 + following.start() if following else len(dom)]


def test_margin_table_and_margin_calls_render_in_chromium(chromium: Path, tmp_path: Path) -> None:
    # the margin-call run of report_helpers: one margin call from 05:00 (the lowest levels
    # inside the bars, tests/cli/cli_helpers.py)
    result, data = margin_call_run()
    bundle = bundle_from_result(result, data, MARGIN_INFO)
    page = write_report(bundle, tmp_path / "margin.html")
    dom, stderr = browse(chromium, page, tmp_path / "profile", "--dump-dom")
    check_rendered(dom, stderr, charts=6)  # one price chart, the joint move and four others
    table = re.search(r'id="margin-table">(.*?)</table>', dom, re.S)
    assert table is not None
    cells = re.findall(r"<tr><td>(.*?)</td><td[^>]*>(.*?)</td></tr>", table.group(1))
    assert cells[:2] == [
        ("margin calls (level &lt; 1.5)", "1, first 2025-01-01 05:00"),
        ("minimum margin level", "1.10 at 2025-01-01 06:00"),
    ]
    assert ("max effective leverage", "91.00x at 2025-01-01 06:00") in cells
    assert len(cells) == 10
    margin = _chart(dom, "chart-margin")
    # one marker per margin call (the ratio line itself has no markers), in the legend too
    assert margin.count('class="point"') == 1
    assert re.search(r'class="legendtext"[^>]*>margin call<', margin)
    assert "margin call below level 1.5 (66.7 %)" in margin


def test_demo_report_holds_every_trade_and_renders_in_chromium(
    chromium: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["backtest"])
    assert result.exit_code == 0, result.output
    page = tmp_path / "levtrade-report.html"
    dom, stderr = browse(chromium, page, tmp_path / "profile", "--dump-dom")
    # three price charts (BTC, ETH, SOL), equity, margin, funding, leverage (isolated margin)
    check_rendered(dom, stderr, charts=7)
    assert "SYNTHETIC DATA" not in dom and "Binance USDT-M perpetuals, recorded" in dom
    trades = from_exported(pd.read_parquet(tmp_path / "levtrade-results" / "trades.parquet"))
    table = re.search(r'id="trades-table">(.*?)</table>', dom, re.S)
    assert table is not None
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)[1:]
    assert len(rows) == len(trades) > 0
    for row, (_, trade) in zip(rows, trades.iterrows(), strict=True):
        assert f">{trade['symbol']}<" in row and f">{trade['exit_reason']}<" in row
        assert fmt_time(int(trade["entry_time"])) in row
    assert (trades["exit_reason"] == "liquidation").any()
    comparison = re.search(r'id="comparison-table">(.*?)</table>', dom, re.S)
    assert comparison is not None
    assert re.findall(r">\d+x<", comparison.group(1)) == [">3x<", ">10x<", ">25x<"]
    shot = tmp_path / "report.png"
    browse(
        chromium,
        page,
        tmp_path / "profile2",
        "--window-size=1400,4200",
        "--hide-scrollbars",
        f"--screenshot={shot}",
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 50_000


def test_javascript_errors_are_caught_by_the_page(chromium: Path, tmp_path: Path) -> None:
    result, data = hand_run("cross")
    page = write_report(bundle_from_result(result, data, INFO), tmp_path / "broken.html")
    text = page.read_text("utf-8").replace("</body>", "<script>noSuchFunction();</script></body>")
    page.write_text(text, encoding="utf-8")
    dom, stderr = browse(chromium, page, tmp_path / "profile", "--dump-dom")
    errors = re.search(r'<pre id="levtrade-errors"[^>]*>(.*?)</pre>', dom, re.S)
    assert errors is not None and "noSuchFunction" in errors.group(1)
    assert any(":CONSOLE" in line and "noSuchFunction" in line for line in stderr.splitlines())
