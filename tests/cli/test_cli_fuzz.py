"""Random and mutated input for the command line's entry points (Typer's CliRunner): margin
scenarios (``levtrade margin``, ``levtrade margin stress``), run configurations and signal
tables (``levtrade backtest``). Every outcome is a clear error or a valid result, never an
exception escaping:

* exit code 0 with valid JSON on stdout (no NaN, no Infinity), or
* exit code 1 with one ``error: ...`` line first on stderr and no Python traceback, or
* exit code 2, Click's own answer to a malformed command line.

Examples are bounded so the suite stays quick; Hypothesis keeps failing cases in its database.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from cli_helpers import BARS, BTC, ENTER_FIRST_BAR, T0, write_freqtrade_dir
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from levtrade.cli import app

runner = CliRunner()

FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["", "1.0", "20", "1e4", "long", "short", "cross", "isolated", "hedge",
                       "BTC/USDT:USDT", "ETH/USD:USDC", "binance", "hyperliquid", "okx"])
)  # fmt: skip
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=10,
)


def check(result: Result) -> None:
    """The entry point's promise (module docstring)."""
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback (most recent call last)" not in result.stderr
    if result.exit_code == 0:

        def strict(name: str) -> Any:
            raise AssertionError(f"{name} printed as JSON")

        json.loads(result.stdout, parse_constant=strict)
    elif result.exit_code == 1:
        assert result.stderr.startswith("error: "), result.stderr
        assert result.stdout == ""


# -- margin scenarios --------------------------------------------------------------------

POSITION = {
    "symbol": "BTC/USDT:USDT",
    "side": "long",
    "size": 1.0,
    "entry_price": 100_000.0,
    "mark_price": 98_000.0,
    "leverage": 20,
    "margin_mode": "isolated",
    "isolated_margin": 5_000.0,
    "tiers": [{"floor": 0, "cap": 300_000, "mmr": 0.004, "maintenance_amount": 0,
               "max_leverage": 150}],
}  # fmt: skip
SCENARIO = {
    "venue": "binance",
    "position_mode": "one_way",
    "wallet_balance": 10_000.0,
    "positions": [POSITION, {**POSITION, "symbol": "ETH/USDT:USDT", "side": "short",
                             "entry_price": 3_000.0, "mark_price": 3_100.0, "tiers": None,
                             "margin_mode": "cross", "isolated_margin": None}],
    "liquidation_buffer": 0.05,
}  # fmt: skip


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


@st.composite
def mutated(draw: st.DrawFn, base: Any) -> Any:
    """``base`` with a few of its values replaced, removed or added."""
    document = json.loads(json.dumps(base))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(document) if p]
        if not paths:
            return draw(json_values)
        path = draw(st.sampled_from(paths))
        parent = document
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "remove", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(json_values)
        elif action == "remove":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = draw(json_values)
        else:
            parent.append(draw(json_values))
    return document


def _text(document: Any) -> str:
    return json.dumps(document)  # NaN and Infinity as JavaScript literals, as a user might


scenario_text = (
    mutated(SCENARIO).map(_text)
    | json_values.map(_text)
    | st.text(max_size=60)
    | st.sampled_from(["[" * 5_000, "{}" * 3, '{"venue": "binance", "venue": "okx"}', "[]"])
)


@settings(FUZZ, max_examples=60)
@given(text=scenario_text)
def test_margin_calculator(text: str) -> None:
    check(runner.invoke(app, ["margin", "--json"], input=text))


@settings(FUZZ, max_examples=25)
@given(data=st.binary(max_size=80))
def test_margin_calculator_bytes(data: bytes) -> None:
    check(runner.invoke(app, ["margin", "--json"], input=data))


@settings(FUZZ, max_examples=25)
@given(
    text=mutated(SCENARIO).map(_text),
    moves=st.sampled_from(["-50:50:10", "-30,-10,10", "1e308", "-100", "0:0:0", "x", "5:1:1"]),
)
def test_margin_stress(text: str, moves: str) -> None:
    check(runner.invoke(app, ["margin", "stress", "--json", f"--moves={moves}"], input=text))


# -- backtest configurations and signal tables ------------------------------------------------


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """cli_helpers' ten bars as a FreqTrade data directory, and a strategy beside it."""
    root = tmp_path_factory.mktemp("fuzz")
    write_freqtrade_dir(root / "data")
    (root / "enter_first.py").write_text(ENTER_FIRST_BAR, encoding="utf-8")
    return root


def config_document(root: Path) -> dict[str, Any]:
    return {
        "strategy": str(root / "enter_first.py") + ":EnterFirstBar",
        "trading_mode": "futures",
        "margin_mode": "isolated",
        "stake_currency": "USDT",
        "stake_amount": 1000,
        "dry_run_wallet": 10000,
        "leverage": 10,
        "timeframe": "1h",
        "pairs": [BTC],
        "datadir": str(root / "data"),
        "futures_funding_rate": 0.0001,
        "tiers": {BTC: [{"floor": 0, "mmr": 0.004, "max_leverage": 125}]},
    }


def backtest(*args: str) -> Result:
    return runner.invoke(app, ["backtest", *args, "--no-report", "--no-export", "--json"])


@settings(FUZZ, max_examples=20)
@given(data=st.data())
def test_backtest_configurations(market: Path, data: st.DataObject) -> None:
    document = data.draw(mutated(config_document(market)))
    config = market / "fuzz-config.json"
    config.write_text(json.dumps(document), encoding="utf-8")
    check(backtest("--config", str(config)))


signal_cells = st.sampled_from([0, 1, 1.0, 0.5, -1, True, False, "", "yes", "1", None]) | st.floats(
    allow_nan=True, allow_infinity=True
)


@settings(FUZZ, max_examples=20)
@given(data=st.data())
def test_backtest_signal_tables(market: Path, data: st.DataObject) -> None:
    rows = {
        "date": [str(t) for t in pd.date_range(T0, periods=BARS, freq="1h", tz="UTC")],
        "symbol": [BTC] * BARS,
        "enter_long": [1] + [0] * (BARS - 1),
        "exit_long": [0] * (BARS - 1) + [1],
        "leverage": [10.0] * BARS,
    }
    for _ in range(data.draw(st.integers(1, 4))):
        column = data.draw(st.sampled_from([*rows, "stake", "enter_short", "extra"]))
        action = data.draw(st.sampled_from(["cell", "drop", "fill"]))
        if action == "drop" and column in rows:
            del rows[column]
        elif action == "fill":
            rows[column] = [data.draw(signal_cells)] * BARS
        else:
            rows.setdefault(column, [0] * BARS)[data.draw(st.integers(0, BARS - 1))] = data.draw(
                signal_cells
            )
    frame = pd.DataFrame(rows)
    signals = market / "fuzz-signals.csv"
    frame.to_csv(signals, index=False)
    config = market / "fuzz-signals-config.json"
    document = config_document(market)
    del document["strategy"]
    config.write_text(json.dumps(document), encoding="utf-8")
    check(backtest("--config", str(config), "--signals", str(signals)))


def test_fuzz_inputs_include_valid_runs(market: Path) -> None:
    """The unmutated inputs run: the fuzz explores around valid documents, not only junk."""
    config = market / "valid.json"
    config.write_text(json.dumps(config_document(market)), encoding="utf-8")
    result = backtest("--config", str(config))
    assert result.exit_code == 0, result.output
    scenario = runner.invoke(app, ["margin", "--json"], input=json.dumps(SCENARIO))
    assert scenario.exit_code == 0, scenario.output
    assert all(math.isfinite(p["notional"]) for p in json.loads(scenario.stdout)["positions"])
