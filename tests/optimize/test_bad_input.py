"""Bad input is one line on stderr naming it, exit code 1, before any variant runs and
before anything is written."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from sweep_helpers import write_config
from typer.testing import CliRunner

from levtrade.cli import app
from levtrade.optimize.evaluate import Evaluator
from levtrade.optimize.store import parts_folder


@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Evaluator, chunk: Any) -> Any:
        raise AssertionError("a variant ran")

    monkeypatch.setattr(Evaluator, "chunk", refuse)


def _refused(tmp_path: Path, *args: str) -> str:
    config = write_config(tmp_path)
    out = tmp_path / "sweep.parquet"
    result = CliRunner().invoke(
        app, ["sweep", "--config", str(config), "--out", str(out), "--no-report", *args]
    )
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert not out.exists() and not parts_folder(out).exists()
    return lines[0]


@pytest.mark.usefixtures("no_work")
@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--param", "fastt=5,10"), "param fastt: unknown parameter"),
        (("--param", "fast=50:10"), "param fast: the range 50:10 is empty"),
        (("--param", "fast="), "param fast: no values"),
        (("--param", "fast=5:50:0"), "param fast: the step must be > 0"),
        (("--param", "leverage=0.5,2"), "param leverage: 0.5 refused"),
        (("--param", "stoploss=-0.05:-0.5:0.05"), "param stoploss: the range"),
        (("--param", "stoploss=-0.5:-0.05"), "param stoploss: -0.5:-0.05 is continuous"),
        (("--param", "fast=8,12", "--constraint", "max_dd<0.3"), "unknown metric 'max_dd'"),
        (("--param", "fast=8,12", "--constraint", "sharpe~1"), "constraint: expected METRIC OP"),
        (("--param", "fast=8,12", "--objective", "sharp"), "objective: unknown metric 'sharp'"),
        (("--param", "fast=8,12", "--search", "optuna"), "trials: optuna search needs"),
        (("--param", "fast=8,12", "--executor", "dask"), "executor: one of local, ray, serial"),
    ],
)
def test_refused_before_any_work(tmp_path: Path, args: tuple[str, ...], named: str) -> None:
    assert named in _refused(tmp_path, *args)


@pytest.mark.usefixtures("no_work")
def test_a_ray_address_that_does_not_answer(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    line = _refused(
        tmp_path,
        "--param",
        "fast=8,12",
        "--executor",
        "ray",
        "--ray-address",
        f"127.0.0.1:{port}",
    )
    assert f"ray-address: nothing answers at 127.0.0.1:{port}" in line
