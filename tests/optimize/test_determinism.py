"""A 200-variant grid gives the same rows serially and on the local process pool, and every
row is exactly what a single backtest of that variant gives: through the run path of
``levtrade backtest`` for all 200, and through the command itself (``levtrade backtest
--param ...``) for a liquidated, a rejected and a plain variant (trades, final equity,
liquidations)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from sweep_helpers import GRID_SIZE, flag_value, param_flags, write_config
from typer.testing import CliRunner

from levtrade.cli import app
from levtrade.configuration import execute, load_run_config, prepare_run
from levtrade.optimize import SETTINGS

pytestmark = pytest.mark.slow


def _sweep(config: Path, out: Path, *extra: str) -> pd.DataFrame:
    result = CliRunner().invoke(
        app,
        [
            "sweep",
            "--config",
            str(config),
            *param_flags(),
            "--out",
            str(out),
            "--no-report",
            *extra,
        ],
    )
    assert result.exit_code == 0, result.output
    return pd.read_parquet(out)


def test_a_200_variant_grid(tmp_path: Path) -> None:
    """One test (the grid is computed once): serial and local rows identical, every row a
    single backtest, the command's rerun of three rows."""
    config = write_config(tmp_path)
    serial = _sweep(config, tmp_path / "serial.parquet", "--executor", "serial")
    local = _sweep(config, tmp_path / "local.parquet", "--executor", "local", "--workers", "2")
    tables = (config, serial, local)
    serial_and_local_pool_give_identical_rows(tables)
    every_row_equals_a_single_backtest_of_its_variant(tables)
    levtrade_backtest_param_reruns_a_row(tables)


def serial_and_local_pool_give_identical_rows(
    tables: tuple[Path, pd.DataFrame, pd.DataFrame],
) -> None:
    _, serial, local = tables
    assert len(serial) == GRID_SIZE
    assert serial["variant"].tolist() == list(range(GRID_SIZE))
    pd.testing.assert_frame_equal(serial, local, check_exact=True)
    # the grid reaches liquidations and rejected orders: the rows are not all alike
    assert (serial["liquidations"] > 0).sum() >= 10
    assert (serial["rejected_orders"] > 0).sum() >= 5


def _variant_config(base: object, row: dict[str, object], names: list[str]) -> object:
    overrides: dict[str, object] = {}
    params: dict[str, object] = {}
    for name in names:
        setting = SETTINGS.get(name)
        if setting is None:
            params[name] = row[name]
        else:
            overrides[setting.key] = setting.value(row[name])
    return base.with_overrides(**overrides, params=params)  # type: ignore[attr-defined]


def every_row_equals_a_single_backtest_of_its_variant(
    tables: tuple[Path, pd.DataFrame, pd.DataFrame],
) -> None:
    config_path, serial, _ = tables
    base = load_run_config(config_path)
    plan = prepare_run(base)
    names = ["fast", "slow", "leverage", "margin_mode", "stoploss"]
    metrics = [c for c in serial.columns if c not in (*names, "variant", "feasible")]
    for row in serial.to_dict("records"):
        variant = _variant_config(base, row, names)
        single = replace(
            plan,
            config=variant,
            backtest=variant.backtest_config(plan.pairs),  # type: ignore[attr-defined]
        )
        result = execute(single).result
        expected = {**result.metrics.to_dict()}
        expected["rejected_orders"] = int((result.orders["status"] == "rejected").sum())
        got = {k: row[k] for k in metrics}
        assert got == pytest.approx(expected, rel=0, abs=0, nan_ok=True), row["variant"]
        assert row["trades"] == len(result.trades)
        assert row["final_equity"] == float(result.series["equity"].iloc[-1])


def levtrade_backtest_param_reruns_a_row(
    tables: tuple[Path, pd.DataFrame, pd.DataFrame],
) -> None:
    config_path, serial, _ = tables
    picks = [
        serial[serial["liquidations"] > 0].iloc[0],
        serial[serial["rejected_orders"] > 0].iloc[0],
        serial[(serial["liquidations"] == 0) & (serial["trades"] > 0)].iloc[0],
    ]
    names = ["fast", "slow", "leverage", "margin_mode", "stoploss"]
    for row in picks:
        flags = [f for n in names for f in ("--param", f"{n}={flag_value(row[n])}")]
        result = CliRunner().invoke(
            app,
            [
                "backtest",
                "--config",
                str(config_path),
                *flags,
                "--json",
                "--no-report",
                "--no-export",
            ],
        )
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        metrics = summary["metrics"]
        assert metrics["trades"] == row["trades"]
        assert metrics["final_equity"] == row["final_equity"]
        assert metrics["liquidations"] == row["liquidations"]
