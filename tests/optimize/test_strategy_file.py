"""A strategy loaded from a file (``--strategy path.py:Class``) is no importable module: the
local pool's workers started with ``spawn`` (the start method where there is no ``fork``)
load it from its file, and give the rows of a serial run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sweep_helpers import FILE_STRATEGY, write_config

from levtrade.configuration import load_run_config, load_strategy, prepare_run
from levtrade.optimize import executors, sweep
from levtrade.optimize.shipping import ModuleSource

pytestmark = pytest.mark.slow


def test_spawned_workers_load_the_strategy_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "file_cross.py"
    path.write_text(FILE_STRATEGY, "utf-8")
    loaded = load_strategy(f"{path}:FileCross")
    source = ModuleSource.of(loaded.cls)
    assert source.file == str(path.resolve())  # the module name alone does not import it
    plan = prepare_run(load_run_config(write_config(tmp_path)))
    space = {"fast": [8, 16], "leverage": [1, 40], "margin_mode": ["isolated", "cross"]}
    common = {"config": plan.backtest, "warmup": plan.loaded.warmup_bars}
    serial = sweep(loaded.cls, plan.loaded.data, space, executor="serial", **common)
    monkeypatch.setattr(executors, "_start_method", lambda: "spawn")
    spawned = sweep(loaded.cls, plan.loaded.data, space, executor="local", workers=2, **common)
    pd.testing.assert_frame_equal(serial, spawned, check_exact=True)


def test_one_market_through_the_local_pool(tmp_path: Path) -> None:
    """A single market (``MarketData``, not a portfolio) read back from the mapped files runs
    on the compiled kernel as it does in this process."""
    plan = prepare_run(load_run_config(write_config(tmp_path)))
    market = plan.loaded.data.markets[0]
    space = {"fast": [8, 16], "stoploss": [-0.5, -0.95], "leverage": [1, 40]}
    common = {"config": plan.backtest, "warmup": plan.loaded.warmup_bars}
    strategy = load_strategy("levtrade.templates.strategy:SmaCross").cls
    serial = sweep(strategy, market, space, executor="serial", **common)
    local = sweep(strategy, market, space, executor="local", workers=2, chunk_size=2, **common)
    pd.testing.assert_frame_equal(serial, local, check_exact=True)
