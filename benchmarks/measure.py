"""Subprocess timing: every measurement is a separate process.

The parent (``measure``) starts ``python -m benchmarks.measure --tool ... --workload ...
--out ...`` once per repetition with the tool's interpreter (the project virtualenv for
levtrade, the benchmark virtualenv for peers). The child imports the tool, runs the workload
(the tool's function measures its own warm-up, JIT compilation included, separately from the
timed run) and writes its result plus its peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) as JSON. The parent reports medians.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.workloads import CACHE_DIR, ROOT, Workload

# The module with levtrade's side of each workload; LEVTRADE_BENCH_MODULE names another one
# (e.g. a draft on PYTHONPATH) without touching the tree.
LEVTRADE_MODULE = os.environ.get("LEVTRADE_BENCH_MODULE", "benchmarks.levtrade_workloads")
LEVTRADE_FILE = ROOT / "benchmarks" / "levtrade_workloads.py"
LOG_DIR = CACHE_DIR / "logs"
CHILD_TIMEOUT_S = 3_600.0

# How the child calls benchmarks/levtrade_workloads.py for each workload kind.
LEVTRADE_CALLS: dict[str, tuple[str, Callable[[Any, Workload], dict[str, Any]]]] = {
    "signal": (
        "signal_sma_cross",
        lambda m, w: m.signal_sma_cross(w, funding=False, liquidation=False),
    ),
    "funding": (
        "signal_sma_cross",
        lambda m, w: m.signal_sma_cross(w, funding=True, liquidation=True),
    ),
    "event": ("event_sma_cross", lambda m, w: m.event_sma_cross(w)),
    "portfolio": ("portfolio_cross", lambda m, w: m.portfolio_cross(w)),
    "sweep": ("sweep_sma", lambda m, w: m.sweep_sma(w)),
    "calc_vectorised": ("calculator_vectorised", lambda m, w: m.calculator_vectorised(w.items)),
    "calc_cli": ("calculator_cli", lambda m, w: m.calculator_cli(w.items)),
    "data_parquet": ("data_parquet_1m", lambda m, w: m.data_parquet_1m()),
    "data_freqtrade": ("data_freqtrade_dir", lambda m, w: m.data_freqtrade_dir()),
}


@dataclass(frozen=True)
class Tool:
    """What a child process runs: levtrade's function for a kind, or a peer's entry point."""

    key: str
    label: str
    python: Path
    peer: str = ""  # peer key; empty for levtrade

    @property
    def is_levtrade(self) -> bool:
        return not self.peer


@dataclass
class Measurement:
    """The runs of one tool on one workload and their medians."""

    tool: Tool
    workload: Workload
    runs: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    log: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.runs) and not self.error

    def median(self, key: str) -> float:
        values = [float(run[key]) for run in self.runs if run.get(key) is not None]
        return statistics.median(values) if values else float("nan")

    @property
    def wall_s(self) -> float:
        return self.median("wall_s")

    @property
    def warmup_s(self) -> float:
        return self.median("warmup_s")

    @property
    def peak_mb(self) -> float:
        return self.median("peak_rss_kb") / 1024.0

    @property
    def trades(self) -> int | None:
        value = self.runs[0].get("trades") if self.runs else None
        return None if value is None else int(value)

    @property
    def final_equity(self) -> float | None:
        value = self.runs[0].get("final_equity") if self.runs else None
        return None if value is None else float(value)

    @property
    def consistent(self) -> bool:
        """Whether every run produced the same trades and final equity."""
        first = self.runs[0] if self.runs else {}
        return all(
            run.get("trades") == first.get("trades")
            and run.get("final_equity") == first.get("final_equity")
            for run in self.runs
        )


def measure(
    tool: Tool,
    workload: Workload,
    repeats: int,
    log: Callable[[str], None] = print,
    timeout_s: float = CHILD_TIMEOUT_S,
) -> Measurement:
    """Run ``tool`` on ``workload`` in ``repeats`` separate processes, one after another."""
    result = Measurement(tool, workload)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    variant = hashlib.sha256(workload.to_json().encode()).hexdigest()[:8]
    log_path = LOG_DIR / f"{workload.key}--{tool.key}--{variant}.log"
    result.log = str(log_path)
    with tempfile.TemporaryDirectory(prefix="levtrade-bench-") as tmp:
        spec = Path(tmp) / "workload.json"
        spec.write_text(workload.to_json())
        with log_path.open("w") as log_file:
            for repetition in range(repeats):
                out = Path(tmp) / f"result-{repetition}.json"
                command = [
                    str(tool.python),
                    "-m",
                    "benchmarks.measure",
                    "--tool",
                    tool.peer or "levtrade",
                    "--workload",
                    str(spec),
                    "--out",
                    str(out),
                ]
                log_file.write(f"$ {' '.join(command)}\n")
                log_file.flush()
                started = time.perf_counter()
                try:
                    completed = subprocess.run(
                        command,
                        cwd=ROOT,
                        env=_child_env(),
                        stdin=subprocess.DEVNULL,
                        stdout=log_file,
                        stderr=subprocess.STDOUT,
                        timeout=timeout_s,
                        check=False,
                    )
                except subprocess.TimeoutExpired:
                    result.error = f"timed out after {timeout_s:.0f} s"
                    break
                elapsed = time.perf_counter() - started
                if completed.returncode != 0 or not out.is_file():
                    result.error = _last_error(log_path) or f"exit code {completed.returncode}"
                    break
                run = json.loads(out.read_text())
                run["process_s"] = elapsed
                if run.get("pending"):
                    result.error = f"pending: {run['pending']}"
                    break
                result.runs.append(run)
                log(
                    f"  {tool.label:<32} {workload.key:<22} run {repetition + 1}/{repeats}: "
                    f"{run['wall_s']:.3f} s (warm-up {run['warmup_s']:.3f} s)"
                )
    return result


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    env["PYTHONWARNINGS"] = "ignore"
    env["TQDM_DISABLE"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _last_error(log_path: Path) -> str:
    lines = [line.strip() for line in log_path.read_text(errors="replace").splitlines()]
    lines = [line for line in lines if line and not line.startswith("$ ")]
    return lines[-1][:300] if lines else ""


# ------------------------------------------------------------------------------------ child


def levtrade_module_present() -> bool:
    """Whether the levtrade side of the workloads can be imported."""
    return importlib.util.find_spec(LEVTRADE_MODULE) is not None


def _run_levtrade(workload: Workload) -> dict[str, Any]:
    name, call = LEVTRADE_CALLS[workload.kind]
    if not levtrade_module_present():
        return {"pending": f"{LEVTRADE_MODULE} is not in the tree yet"}
    module = importlib.import_module(LEVTRADE_MODULE)
    if not hasattr(module, name):
        return {"pending": f"{LEVTRADE_MODULE} has no {name}()"}
    return dict(call(module, workload))


def _run_peer(key: str, workload: Workload) -> dict[str, Any]:
    from benchmarks.peers import find

    peer = find(key)
    module = importlib.import_module(peer.module)
    return dict(getattr(module, peer.function)(workload, **peer.options))


def child_main(argv: list[str] | None = None) -> int:
    """Entry point of a measurement process."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tool", required=True, help="'levtrade' or a peer key")
    parser.add_argument("--workload", required=True, type=Path, help="workload JSON file")
    parser.add_argument("--out", required=True, type=Path, help="result JSON file")
    args = parser.parse_args(argv)
    workload = Workload.from_json(args.workload.read_text())
    levtrade = args.tool == "levtrade"
    result = _run_levtrade(workload) if levtrade else _run_peer(args.tool, workload)
    result["peak_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result["python"] = sys.version.split()[0]
    args.out.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(child_main())
