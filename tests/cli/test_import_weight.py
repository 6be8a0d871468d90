"""What a command imports: each runs in a fresh interpreter and names the modules it loaded.

``levtrade --help``, ``levtrade init`` and ``levtrade margin`` load neither pandas, Plotly,
ccxt nor Numba. Numba as a whole, not just its compiler: ``import numba`` itself imports
``numba.core.compiler`` and the LLVM bindings, so no part of Numba can be had without them;
the margin calculator runs the formulas' plain originals (``levtrade._jit.plain_calls``).
Only module presence is asserted; the times are measured by ``benchmarks/bench_startup.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from levtrade.cli import app

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "plotly", "ccxt", "numba", "llvmlite")
"""Modules none of the light commands may load."""

CHILD = """
import json, sys
from levtrade.cli import main
try:
    main(sys.argv[1:])
    code = 0
except SystemExit as exc:
    code = exc.code or 0
heavy = {heavy!r}
loaded = sorted(m for m in sys.modules if m.split(".")[0] in heavy)
print(json.dumps({{"code": code, "loaded": loaded}}), file=sys.stderr)
"""
QUICK_FORM = ["--venue", "binance", "--long", "1@100000", "--leverage", "20", "--wallet", "10000"]


def _run(args: list[str], cwd: Path) -> tuple[dict[str, Any], str]:
    """``levtrade args`` in a fresh interpreter: (exit code and heavy modules loaded, stdout)."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD.format(heavy=HEAVY), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        timeout=120,
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report, done.stdout


def test_help_loads_no_command(tmp_path: Path) -> None:
    report, out = _run(["--help"], tmp_path)
    assert report == {"code": 0, "loaded": []}
    for name in ("backtest", "lookahead", "report", "init", "margin", "data", "sweep", "trade"):
        assert name in out, name


def test_init_loads_nothing_heavy(tmp_path: Path) -> None:
    report, _ = _run(["init", "starter"], tmp_path)
    assert report == {"code": 0, "loaded": []}
    assert (tmp_path / "starter" / "config.toml").is_file()
    assert (tmp_path / "starter" / "strategy.py").is_file()


@pytest.mark.parametrize(
    "args",
    [
        ["margin", *QUICK_FORM],
        ["margin", "--json", *QUICK_FORM],
        ["margin", str(ROOT / "examples/scenarios/binance_cross_btc_eth.json")],
        ["margin", "--json", str(ROOT / "examples/scenarios/binance_hedge.json")],
        ["margin", str(ROOT / "examples/scenarios/binance_margin_long.json")],
        ["margin", "--json", str(ROOT / "examples/scenarios/hyperliquid_two_dexes.json")],
    ],
    ids=["quick", "quick-json", "cross", "hedge", "spot-margin", "scoped"],
)
def test_margin_loads_nothing_heavy(args: list[str], tmp_path: Path) -> None:
    report, out = _run(args, tmp_path)
    assert report == {"code": 0, "loaded": []}
    assert "liquidat" in out.lower()


def test_the_quick_form_liquidation_price_without_numba(tmp_path: Path) -> None:
    """Binance, 1 BTC long at 100,000, 20x, cross wallet 10,000 (mark = entry), BTCUSDT's
    first bracket: MMR 0.4 %, no deduction (docs/venues.md, "Built-in defaults"). Equity
    10,000 + (P − 100,000) equals MM 0.004·P at P = 90,000 / 0.996 = 90,361.4457..."""
    report, out = _run(["margin", "--json", *QUICK_FORM], tmp_path)
    assert report == {"code": 0, "loaded": []}
    (position,) = json.loads(out)["positions"]
    assert position["liquidation_price"] == pytest.approx(90_000 / 0.996, rel=1e-12)


def test_the_listing_is_the_commands_own_help(capsys: pytest.CaptureFixture[str]) -> None:
    """``levtrade --help`` lists the commands from their summaries without loading them; the
    page is the one the loaded commands give."""
    lazy: Any = typer.main.get_command(app)
    lazy.main(["--help"], prog_name="levtrade", standalone_mode=False)
    listed = capsys.readouterr().out
    loaded: Any = typer.main.get_command(app)
    for name in list(loaded.commands):
        loaded.commands[name]  # builds the command
    loaded.main(["--help"], prog_name="levtrade", standalone_mode=False)
    assert capsys.readouterr().out == listed
    assert list(loaded.commands) == list(lazy.commands)
