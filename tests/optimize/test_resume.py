"""A sweep killed with SIGKILL mid-way leaves only whole parts; ``--resume`` computes only the
chunks without a part and ends with the table of an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sweep_helpers import param_flags, write_config
from typer.testing import CliRunner

from levtrade.cli import app
from levtrade.optimize.evaluate import Evaluator
from levtrade.optimize.store import parts_folder

pytestmark = pytest.mark.slow

CHUNK = 5
CHUNKS = 200 // CHUNK


def _levtrade() -> list[str]:
    script = Path(sys.executable).with_name("levtrade")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "levtrade.cli"]


def test_resume_computes_only_the_missing_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path)
    out = tmp_path / "sweep.parquet"
    parts = parts_folder(out)
    flags = [
        "sweep",
        "--config",
        str(config),
        *param_flags(),
        "--executor",
        "serial",
        "--chunk-size",
        str(CHUNK),
        "--out",
        str(out),
        "--no-report",
    ]
    run = subprocess.Popen(
        [*_levtrade(), *flags],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    deadline = time.monotonic() + 300
    while len(list(parts.glob("chunk-*.parquet"))) < 4:
        assert run.poll() is None, "the sweep ended before it could be killed"
        assert time.monotonic() < deadline, "no part written in time"
        time.sleep(0.01)
    run.send_signal(signal.SIGKILL)
    run.wait(60)

    assert not out.exists()
    stored = sorted(int(p.stem.split("-")[1]) for p in parts.glob("chunk-*.parquet"))
    assert 4 <= len(stored) < CHUNKS
    for chunk in stored:  # every part on disk is whole
        assert len(pd.read_parquet(parts / f"chunk-{chunk:06d}.parquet")) == CHUNK

    computed: list[int] = []
    original = Evaluator.chunk

    def recording(self: Evaluator, chunk: Any) -> Any:
        computed.append(chunk[0])
        return original(self, chunk)

    monkeypatch.setattr(Evaluator, "chunk", recording)
    monkeypatch.chdir(tmp_path)
    resumed = CliRunner().invoke(app, [*flags, "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert sorted(computed) == sorted(set(range(CHUNKS)) - set(stored))
    assert not parts.exists()

    whole = tmp_path / "whole.parquet"
    uninterrupted = CliRunner().invoke(app, [*flags[:-3], "--out", str(whole), "--no-report"])
    assert uninterrupted.exit_code == 0, uninterrupted.output
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(whole), check_exact=True)


def test_resume_refuses_the_parts_of_another_sweep(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    out = tmp_path / "sweep.parquet"
    parts_folder(out).mkdir()
    (parts_folder(out) / "manifest.json").write_text('{"fingerprint": "another"}')
    base = ["sweep", "--config", str(config), "--param", "fast=8,12", "--out", str(out)]
    first = CliRunner().invoke(app, [*base, "--no-report"])
    assert first.exit_code == 1
    assert "--resume" in first.stderr and first.stderr.count("\n") == 1
    again = CliRunner().invoke(app, [*base, "--no-report", "--resume"])
    assert again.exit_code == 1
    assert "a different sweep" in again.stderr
