"""``levtrade sweep show``: the rows ranked by a metric, feasible first, as JSON or a table;
an unknown metric refused; the HTML page from the table alone."""

from __future__ import annotations

import json
from pathlib import Path

from sweep_helpers import write_config
from typer.testing import CliRunner

from levtrade.cli import app


def test_show_ranks_the_table(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    out = tmp_path / "s.parquet"
    made = CliRunner().invoke(
        app,
        [
            "sweep",
            "--config",
            str(config),
            "--param",
            "fast=8,16,32",
            "--param",
            "leverage=1,75",
            "--param",
            "margin_mode=isolated",
            "--param",
            "slow=48",
            "--param",
            "stoploss=-0.95",
            "--constraint",
            "liquidations==0",
            "--executor",
            "serial",
            "--out",
            str(out),
        ],
    )
    assert made.exit_code == 0, made.output
    assert out.with_suffix(".html").is_file()
    shown = CliRunner().invoke(app, ["sweep", "show", str(out), "--by", "calmar", "--json"])
    assert shown.exit_code == 0, shown.output
    rows = json.loads(shown.stdout)
    assert len(rows) == 6
    feasible = [r for r in rows if r["feasible"]]
    assert rows[: len(feasible)] == feasible  # the constraint's rows first
    calmar = [r["calmar"] for r in feasible if r["calmar"] is not None]
    assert calmar == sorted(calmar, reverse=True)
    assert all(r["liquidations"] == 0 for r in feasible)
    assert any(r["liquidations"] > 0 for r in rows)  # 75x isolated is liquidated here

    page = tmp_path / "page.html"
    text = CliRunner().invoke(app, ["sweep", "show", str(out), "--top", "3", "--html", str(page)])
    assert text.exit_code == 0, text.output
    assert "Top 3 of 6 by sharpe" in text.stdout
    assert 'data-charts="3"' in page.read_text("utf-8")

    bad = CliRunner().invoke(app, ["sweep", "show", str(out), "--by", "sharp"])
    assert bad.exit_code == 1
    assert bad.stderr.startswith("error: by: no column 'sharp'")
    missing = CliRunner().invoke(app, ["sweep", "show", str(tmp_path / "none.parquet")])
    assert missing.exit_code == 1 and "file not found" in missing.stderr
