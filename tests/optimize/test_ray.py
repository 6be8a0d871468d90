"""The Ray executor as a client of a Ray head started on 127.0.0.1 (``ray start --head``):
the 200-variant grid gives the serial rows exactly, and so does an optuna search. One test,
so one head serves both (a head takes a few seconds to start)."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sweep_helpers import FILE_STRATEGY, GRID, write_config

from levtrade.configuration import load_run_config, load_strategy, prepare_run, signal_instance
from levtrade.optimize import sweep

pytestmark = pytest.mark.slow
ray = pytest.importorskip("ray")


def _loopback(address: Any) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    if not isinstance(host, str) or host.startswith("/"):
        return True  # a Unix socket
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Python sockets of this process may connect to loopback addresses only."""
    refused: list[Any] = []
    connect = socket.socket.connect
    connect_ex = socket.socket.connect_ex

    def guarded(self: socket.socket, address: Any) -> Any:
        if not _loopback(address):
            refused.append(address)
            raise OSError(f"test guard: connection to {address!r} refused")
        return connect(self, address)

    def guarded_ex(self: socket.socket, address: Any) -> Any:
        if not _loopback(address):
            refused.append(address)
            raise OSError(f"test guard: connection to {address!r} refused")
        return connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_ex)
    return refused


@pytest.fixture
def ray_head() -> Iterator[str]:
    """A Ray head on 127.0.0.1 with the session's token (conftest.py), stopped with
    everything it started when the test ends."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ray_cli = shutil.which("ray", path=str(Path(sys.executable).parent)) or "ray"
    head = subprocess.Popen(
        [
            ray_cli,
            "start",
            "--head",
            "--block",
            "--node-ip-address=127.0.0.1",
            f"--port={port}",
            "--num-cpus=2",
            "--include-dashboard=false",
            "--disable-usage-stats",
        ],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if head.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the Ray head did not start") from None
                time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        head.terminate()
        try:
            head.wait(60)
        except subprocess.TimeoutExpired:
            head.kill()


def test_ray_executor_gives_the_serial_rows(
    ray_head: str, loopback_only: list[Any], tmp_path: Path
) -> None:
    ray.init(address=ray_head, log_to_driver=False)
    try:
        addresses = {node["NodeManagerAddress"] for node in ray.nodes()}
    finally:
        ray.shutdown()
    assert addresses == {"127.0.0.1"}

    plan = prepare_run(load_run_config(write_config(tmp_path)))
    strategy = signal_instance(plan.config, plan.strategy, plan.pairs, plan.timeframe)
    common: dict[str, Any] = {
        "config": plan.backtest,
        "warmup": plan.loaded.warmup_bars,
    }
    serial = sweep(strategy, plan.loaded.data, list(GRID), executor="serial", **common)
    on_ray = sweep(
        strategy,
        plan.loaded.data,
        list(GRID),
        executor="ray",
        ray_address=ray_head,
        workers=2,
        chunk_size=25,
        **common,
    )
    pd.testing.assert_frame_equal(serial, on_ray, check_exact=True)

    search: dict[str, Any] = {
        "search": "optuna",
        "trials": 24,
        "batch": 8,
        "seed": 3,
        "objective": "calmar",
        "constraints": ["liquidations==0"],
    }
    optuna_serial = sweep(
        strategy, plan.loaded.data, list(GRID), executor="serial", **search, **common
    )
    optuna_ray = sweep(
        strategy,
        plan.loaded.data,
        list(GRID),
        executor="ray",
        ray_address=ray_head,
        workers=2,
        **search,
        **common,
    )
    pd.testing.assert_frame_equal(optuna_serial, optuna_ray, check_exact=True)
    assert len(optuna_ray) == 24

    # a strategy from a file (no importable module) travels to the workers by value
    path = tmp_path / "file_cross.py"
    path.write_text(FILE_STRATEGY, "utf-8")
    loaded = load_strategy(f"{path}:FileCross")
    space = {"fast": [8, 16], "leverage": [1, 40]}
    from_file = sweep(loaded.cls, plan.loaded.data, space, executor="serial", **common)
    from_file_ray = sweep(
        loaded.cls, plan.loaded.data, space, executor="ray", ray_address=ray_head, **common
    )
    pd.testing.assert_frame_equal(from_file, from_file_ray, check_exact=True)
    assert loopback_only == []
