"""The exports of a run survive a kill at any instant, and the next run clears what a killed
one left: a results directory and a report are the complete old or the complete new ones.

A child process (which has not used Arrow's threads) forks one process per case; each saves
results version 1, then writes version 2 and kills itself with SIGKILL at the n-th step of the
write (a table written, a rename, a directory removed, the report renamed into place). The next
run's checks (``check_results_dir``, ``check_output_file``) run before its own writes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from levtrade.report.files import (
    RESULTS_MARKER,
    check_output_file,
    check_results_dir,
    is_report,
    load_results,
)

CHILD = textwrap.dedent(
    """
    import json, os, shutil, signal, sys
    import pandas as pd
    from levtrade.report import atomic, files
    from levtrade.report.tables import ResultBundle

    root, count_only = sys.argv[1], sys.argv[2] == "count"
    steps = int(sys.argv[3])

    def bundle(version):
        frame = pd.DataFrame({"time": [0, 3_600_000], "equity": [1.0 * version, 2.0 * version]})
        trades = pd.DataFrame(
            {"symbol": ["X/Y:Y"], "side": ["long"], "entry_time": [0], "exit_time": [1], "pnl": [1]}
        )
        prices = pd.DataFrame({"time": [0], "symbol": ["X/Y:Y"], "close": [1.0 * version]})
        return ResultBundle(
            summary={"levtrade": "test", "version": version},
            trades=trades,
            orders=frame.copy(),
            ledger=frame.copy(),
            series=frame,
            prices=prices,
            analyzers={"margin_history": frame.copy()},
        )

    def page(version):
        return f'<!DOCTYPE html><html><head><meta name="generator" content="levtrade">' \\
            f"</head><body>version {version}</body></html>"

    def export(folder, version):
        # what levtrade backtest does: stage both, then put them in place
        staged = files.StagedResults(bundle(version), folder / "results")
        report = atomic.stage_text(folder / "report.html", page(version))
        staged.commit()
        os.replace(report, folder / "report.html")

    def case(folder, at):
        folder.mkdir(parents=True)
        export(folder, 1)
        count = 0
        def deadly(owner, name):
            real = getattr(owner, name)
            def call(*args, **kwargs):
                nonlocal count
                count += 1
                if count == at:
                    os.kill(os.getpid(), signal.SIGKILL)
                return real(*args, **kwargs)
            setattr(owner, name, call)
        deadly(os, "replace")
        deadly(shutil, "rmtree")
        deadly(pd.DataFrame, "to_parquet")
        deadly(pd.DataFrame, "to_csv")
        export(folder, 2)
        return count

    cases = [-1] if count_only else list(range(1, steps + 1))
    outcome = {}
    for at in cases:
        pid = os.fork()
        if pid == 0:
            print(json.dumps({"count": case(__import__("pathlib").Path(root) / f"case{at}", at)}))
            sys.stdout.flush()
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        outcome[at] = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    print(json.dumps(outcome), flush=True)
    """
)


def _run(root: Path, mode: str, steps: int) -> tuple[dict[int, bool], list[str]]:
    root.mkdir(parents=True, exist_ok=True)
    script = root / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script), str(root), mode, str(steps)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    lines = done.stdout.strip().splitlines()
    return {int(k): v for k, v in json.loads(lines[-1]).items()}, lines[:-1]


@pytest.mark.slow
def test_exports_killed_at_every_step_are_whole_after_the_next_run(tmp_path: Path) -> None:
    killed, lines = _run(tmp_path / "count", "count", 0)
    steps = json.loads(lines[0])["count"]
    # seven tables and the CSV, two renames of the results swap, the cleanup, the report
    assert steps >= 10
    killed, _ = _run(tmp_path, "kill", steps)
    assert killed == dict.fromkeys(range(1, steps + 1), True)
    versions = set()
    for at in range(1, steps + 1):
        folder = tmp_path / f"case{at}"
        results, report = folder / "results", folder / "report.html"
        # the next run's checks, before it writes anything
        check_results_dir(results)
        check_output_file(report, "report")
        assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []
        version = load_results(results).summary["version"]
        assert (results / RESULTS_MARKER).is_file()
        assert is_report(report)
        assert report.read_text("utf-8").endswith(
            ("version 1</body></html>", "version 2</body></html>")
        )
        versions.add(version)
    assert versions == {1, 2}
