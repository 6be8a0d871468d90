"""Start-up time of the ``levtrade`` command: each command run in fresh processes.

Run from the repository root with the project's interpreter::

    .venv/bin/python -m benchmarks.bench_startup               # every command, 5 processes each
    .venv/bin/python -m benchmarks.bench_startup --repeats 9 --only help,margin

The commands: ``levtrade --help``; ``levtrade init`` into an empty temporary directory;
``levtrade margin`` on one position (the quick form of README.md) and on the scenario file
``examples/scenarios/binance_cross_btc_eth.json``; ``levtrade backtest`` with no arguments (the
demo, the README's main job). ``python -m benchmarks`` measures them too and reports them in
its machine section. Every process runs in a new temporary directory,
where the demo writes its report and results.
Each run is a new process of the installed console script (Python's start-up, the imports and
the command's work: what a user waits for), with the on-disk Numba cache already filled by one
unmeasured run. Wall seconds, median and spread over ``--repeats`` processes, and the median
CPU seconds (user + system; steadier than wall on a loaded machine). Nothing is
asserted: this is a measuring tool; which modules a command imports is checked by
``tests/cli/test_import_weight.py``.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(sys.executable).with_name("levtrade")
REPOSITORY = Path(__file__).resolve().parents[1]
SCENARIO = REPOSITORY / "examples" / "scenarios" / "binance_cross_btc_eth.json"


COMMANDS = {
    "help": ["--help"],
    "init": ["init", "starter"],
    "margin": [
        "margin",
        "--venue",
        "binance",
        "--long",
        "1@100000",
        "--leverage",
        "20",
        "--wallet",
        "10000",
    ],
    "scenario": ["margin", str(SCENARIO)],
    "backtest": ["backtest"],
}


@dataclass(frozen=True)
class StartupTime:
    """One command's wall seconds over fresh processes, and their median CPU seconds."""

    name: str
    command: str
    median: float
    fastest: float
    slowest: float
    cpu: float
    processes: int


def _cpu() -> float:
    """CPU seconds (user + system) of this process's finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(argv: list[str], scratch: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one process running ``levtrade argv`` in a new directory of
    ``scratch``."""
    folder = Path(tempfile.mkdtemp(dir=scratch))
    cpu = _cpu()
    start = time.perf_counter()
    subprocess.run([str(SCRIPT), *argv], check=True, capture_output=True, cwd=folder)
    return time.perf_counter() - start, _cpu() - cpu


def measure(names: list[str], repeats: int) -> list[StartupTime]:
    """Each command of ``names`` run ``repeats`` times in fresh processes, after one
    unmeasured run (it fills the on-disk caches)."""
    scratch = Path(tempfile.mkdtemp(prefix="levtrade-startup-"))
    try:
        times = []
        for name in names:
            argv = COMMANDS[name]
            _run(argv, scratch)
            runs = [_run(argv, scratch) for _ in range(repeats)]
            walls = sorted(wall for wall, _ in runs)
            shown = [SCENARIO.relative_to(REPOSITORY).as_posix() if a == str(SCENARIO) else a
                     for a in argv]  # fmt: skip
            times.append(
                StartupTime(
                    name=name,
                    command=" ".join(["levtrade", *shown]),
                    median=statistics.median(walls),
                    fastest=walls[0],
                    slowest=walls[-1],
                    cpu=statistics.median(c for _, c in runs),
                    processes=repeats,
                )
            )
        return times
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main(args: list[str] | None = None) -> None:
    """Print each command's median wall time over fresh processes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="processes per command")
    parser.add_argument("--only", default="", help="comma list of commands (default: all)")
    options = parser.parse_args(args)
    chosen = [c for c in options.only.split(",") if c] or list(COMMANDS)
    for time_ in measure(chosen, options.repeats):
        print(
            f"{time_.name:9s} median {time_.median:6.3f} s   min {time_.fastest:6.3f}   "
            f"max {time_.slowest:6.3f}   CPU {time_.cpu:6.3f} s   ({time_.processes} processes)"
            f"   {time_.command}"
        )


if __name__ == "__main__":
    main()
