"""``python -m benchmarks``: measure levtrade and its peers and write ``benchmarks/RESULTS.md``.

Run it with the project's interpreter (``.venv/bin/python -m benchmarks``). It creates or
updates the benchmark virtualenv ``.bench-venv`` from ``benchmarks/requirements-peers.txt``
(skipped when the installed requirements are current), writes the workload data to
``benchmarks/.cache/``, measures every workload for levtrade and each peer in separate
processes, prints the report and writes it. ``--quick`` runs one repetition and leaves out the
1M-bar datasets; ``--only`` selects workloads; ``--small-pages`` measures every process with
NumPy's huge-page advice off. Such runs write ``benchmarks/.cache/RESULTS.partial.md`` unless
``--output`` says otherwise.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from benchmarks import bench_startup
from benchmarks import workloads as wl
from benchmarks.bench_startup import StartupTime
from benchmarks.measure import (
    LEVTRADE_CALLS,
    LEVTRADE_MODULE,
    Measurement,
    Tool,
    levtrade_module_present,
    measure,
)
from benchmarks.peers import PEERS, PeerSpec, peers_for

BENCH_VENV = wl.ROOT / ".bench-venv"
REQUIREMENTS = wl.BENCH_DIR / "requirements-peers.txt"
RESULTS = wl.BENCH_DIR / "RESULTS.md"
PARTIAL_RESULTS = wl.CACHE_DIR / "RESULTS.partial.md"
STARTUP = "startup"
"""``--only startup``: the whole-process times alone (a full run measures them too)."""
STAMP = ".levtrade-requirements.sha256"
PROJECT_PACKAGES = ("levtrade", "numpy", "numba", "pandas", "pyarrow")
THP_SETTING = Path("/sys/kernel/mm/transparent_hugepage/enabled")
NUMPY_HUGEPAGE_VARIABLE = "NUMPY_MADVISE_HUGEPAGE"
"""NumPy's switch for advising the kernel to back its arrays of 4 MB or more with huge pages
(on by default on Linux); ``--small-pages`` sets it to ``0`` for every measured process."""


def log(message: str) -> None:
    """Progress output (stderr, so stdout carries only the report)."""
    print(message, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------- environments


def base_python() -> Path:
    """The interpreter the benchmark virtualenv is created from."""
    return Path(getattr(sys, "_base_executable", sys.executable))


def ensure_bench_venv(install: bool) -> tuple[Path | None, str]:
    """Create/update ``.bench-venv`` from the pinned requirements; (python, note)."""
    python = BENCH_VENV / "bin" / "python"
    digest = hashlib.sha256(
        REQUIREMENTS.read_bytes() + platform.python_version().encode()
    ).hexdigest()
    stamp = BENCH_VENV / STAMP
    if python.is_file() and stamp.is_file() and stamp.read_text().strip() == digest:
        return python, ""
    if not install:
        if python.is_file():
            return python, "benchmark virtualenv not updated (--no-install)"
        return None, "no benchmark virtualenv (--no-install): peers skipped"
    try:
        if python.is_file() and venv_python_version(python) != platform.python_version():
            log(f"{BENCH_VENV.name} was made with another Python: recreating it")
            subprocess.run(
                [str(base_python()), "-m", "venv", "--clear", str(BENCH_VENV)], check=True
            )
        if not python.is_file():
            log(f"creating {BENCH_VENV} with {base_python()}")
            subprocess.run([str(base_python()), "-m", "venv", str(BENCH_VENV)], check=True)
        log(f"installing the peers from {REQUIREMENTS.name} into {BENCH_VENV.name}")
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--quiet",
                "-r",
                str(REQUIREMENTS),
            ],
            check=True,
        )
    except (OSError, subprocess.CalledProcessError) as error:
        return (python if python.is_file() else None), f"peer installation failed: {error}"
    stamp.write_text(digest + "\n")
    return python, ""


def venv_python_version(python: Path) -> str:
    """The Python version of another interpreter ('' if it does not run)."""
    completed = subprocess.run(
        [str(python), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=False,
    )
    return completed.stdout.strip() if completed.returncode == 0 else ""


def installed_versions(python: Path, distributions: Iterable[str]) -> dict[str, str]:
    """Versions of the given distributions in another interpreter ('' when missing)."""
    script = (
        "import importlib.metadata as m, json, sys\n"
        "out = {}\n"
        "for name in json.loads(sys.argv[1]):\n"
        "    try:\n"
        "        out[name] = m.version(name)\n"
        "    except m.PackageNotFoundError:\n"
        "        out[name] = ''\n"
        "out['python'] = sys.version.split()[0]\n"
        "print(json.dumps(out))\n"
    )
    names = sorted(set(distributions))
    completed = subprocess.run(
        [str(python), "-c", script, json.dumps(names)],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        return dict.fromkeys(names, "")
    versions: dict[str, str] = json.loads(completed.stdout)
    return versions


def levtrade_python() -> Path | None:
    """An interpreter that can import levtrade: this one, else the project virtualenv's."""
    if importlib.util.find_spec("levtrade") is not None:
        return Path(sys.executable)
    candidate = wl.ROOT / ".venv" / "bin" / "python"
    return candidate if candidate.is_file() else None


def local_versions(names: Iterable[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = ""
    return out


# ---------------------------------------------------------------------------- machine


def machine_info() -> list[tuple[str, str]]:
    """CPU, cores, memory, OS and load, read from this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
                break
    except OSError:
        pass
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return [
        ("CPU", cpu),
        ("cores", str(os.cpu_count())),
        ("memory", memory),
        ("OS", platform.platform()),
        ("load average at start (1, 5, 15 min)", load),
        ("memory pages", page_policy()),
    ]


def small_pages() -> bool:
    """Whether the measured processes (which inherit this environment) have NumPy's huge-page
    advice off: set by ``--small-pages``, or already in the environment."""
    return os.environ.get(NUMPY_HUGEPAGE_VARIABLE) == "0"


def page_policy() -> str:
    """The kernel's transparent-huge-page mode and whether the measured processes' NumPy asks
    for huge pages: on a virtual machine first-touch costs differ by page size (see the
    README's "Memory pages"), so the report says which applied."""
    try:
        modes = THP_SETTING.read_text().split()
        thp = next((m.strip("[]") for m in modes if m.startswith("[")), " ".join(modes))
    except OSError:
        thp = "unknown"
    setting = os.environ.get(NUMPY_HUGEPAGE_VARIABLE)
    if small_pages():
        advice = f"off ({NUMPY_HUGEPAGE_VARIABLE}=0 in every measured process)"
    elif setting is None:
        advice = "on (NumPy's default on Linux 4.6 and newer)"
    else:
        advice = f"on ({NUMPY_HUGEPAGE_VARIABLE}={setting})"
    return (
        f"transparent huge pages: {thp}; NumPy's huge-page advice for arrays of 4 MB or more: "
        f"{advice}"
    )


# ---------------------------------------------------------------------------- running


@dataclass
class PeerRow:
    """A peer's measurement with what it is compared against."""

    spec: PeerSpec
    measurement: Measurement
    model: wl.Workload  # the workload as the peer models it
    levtrade: Measurement | None  # levtrade in the peer's mode (None: pending/unavailable)
    reference: wl.ReferenceResult | None


@dataclass
class WorkloadResult:
    workload: wl.Workload
    levtrade: Measurement | None
    peers: list[PeerRow] = field(default_factory=list)
    reference: wl.ReferenceResult | None = None


def peer_matching(spec: PeerSpec, workload: wl.Workload) -> wl.Workload:
    """The workload as the peer models it (its module's ``matching``, if any)."""
    module = importlib.import_module(spec.module)
    matching: Callable[[wl.Workload], wl.Workload] | None = getattr(module, "matching", None)
    return matching(workload) if matching is not None else workload


def levtrade_mode(workload: wl.Workload, model: wl.Workload) -> wl.Workload:
    """The levtrade run that matches a peer's model: the settings levtrade can follow."""
    return replace(workload, leverage=model.leverage, first_decision=model.first_decision)


def model_differences(workload: wl.Workload, model: wl.Workload) -> list[str]:
    """Human-readable differences between the benchmark's rules and a peer's model."""
    notes = []
    if model.leverage != workload.leverage:
        notes.append(f"{model.leverage:g}x (no leverage)")
    if model.decision_start != workload.decision_start:
        notes.append(f"first decision at bar {model.decision_start}")
    if model.fill_at != workload.fill_at:
        notes.append("fills at the signal bar's close")
    return notes


def run_workloads(
    chosen: list[wl.Workload],
    repeats: int,
    lev_python: Path | None,
    peer_python: Path | None,
    available: set[str],
) -> list[WorkloadResult]:
    results = []
    lev_tool = Tool("levtrade", "levtrade", lev_python) if lev_python else None
    mode_cache: dict[str, Measurement] = {}
    for workload in chosen:
        log(f"workload {workload.key}: {workload.title}")
        levtrade = measure(lev_tool, workload, repeats, log) if lev_tool else None
        result = WorkloadResult(workload, levtrade)
        bar_workload = workload.kind in ("signal", "event")
        if bar_workload:
            result.reference = wl.reference_for(workload)
        for spec in peers_for(workload.kind):
            if peer_python is None or spec.key not in available:
                continue
            tool = Tool(spec.key, spec.label, peer_python, peer=spec.key)
            peer = measure(tool, workload, repeats, log)
            model = peer_matching(spec, workload) if bar_workload else workload
            mode = levtrade_mode(workload, model)
            lev_mode: Measurement | None = levtrade
            if lev_tool and mode != workload:
                key = mode.to_json()
                if key not in mode_cache:
                    label = f"levtrade ({', '.join(model_differences(workload, mode))})"
                    mode_tool = replace(lev_tool, label=label)
                    mode_cache[key] = measure(mode_tool, mode, 1, log)
                lev_mode = mode_cache[key]
            reference = wl.reference_for(model) if bar_workload else None
            result.peers.append(PeerRow(spec, peer, model, lev_mode, reference))
        results.append(result)
    return results


# ----------------------------------------------------------------------------- report


def fmt_s(value: float) -> str:
    if math.isnan(value):
        return "—"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def fmt_rate(items: int, seconds: float) -> str:
    if math.isnan(seconds) or seconds <= 0 or not items:
        return "—"
    rate = items / seconds
    for scale, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if rate >= scale:
            return f"{rate / scale:.3g}{suffix}"
    return f"{rate:.3g}"


def fmt_money(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


def fmt_rel(value: float | None) -> str:
    """A relative difference in percent; tiny ones in scientific notation."""
    if value is None:
        return "—"
    percent = value * 100
    if percent == 0:
        return "0 %"
    if abs(percent) < 1e-3:
        return f"{percent:+.1e} %"
    return f"{percent:+.4f} %"


def relative(peer: float | None, base: float | None) -> float | None:
    if peer is None or base is None or base == 0:
        return None
    return peer / base - 1.0


def verdict(trades_equal: bool, rel: float | None) -> str:
    if rel is None:
        return "—"
    if trades_equal and abs(rel) <= wl.AGREEMENT_TOLERANCE:
        return "agree"
    return "differ"


def status(measurement: Measurement | None) -> str:
    if measurement is None:
        return "levtrade not importable"
    if measurement.error:
        return measurement.error
    return ""


def tool_cells(m: Measurement) -> list[str]:
    items = m.workload.items
    flag = "" if m.consistent else " (runs differ)"
    return [
        fmt_s(m.wall_s),
        fmt_rate(items, m.wall_s),
        fmt_s(m.warmup_s),
        f"{m.peak_mb:.0f}",
        ("—" if m.trades is None else str(m.trades)) + flag,
        fmt_money(m.final_equity),
    ]


def run_details(measurement: Measurement | None) -> str:
    """What levtrade's run of a funding or portfolio workload used and met (its first run's
    descriptive keys), so the report says what marked the bars; '' for other workloads."""
    if measurement is None or not measurement.ok:
        return ""
    if measurement.workload.kind not in ("funding", "portfolio"):
        return ""
    run = measurement.runs[0]
    parts = [f"mark: {run['mark']}"] if run.get("mark") else []
    if run.get("symbols") is not None:
        parts.append(f"{run['symbols']} symbols")
    if run.get("left_out"):
        parts.append(f"left out (no bars in the window): {', '.join(run['left_out'])}")
    if run.get("funding_events") is not None:
        parts.append(f"{run['funding_events']:,} funding events in the file")
    for key, label in (("liquidations", "liquidations"), ("rejected", "rejected orders")):
        if run.get(key) is not None:
            parts.append(f"{run[key]:,} {label}")
    if run.get("funding") is not None:
        parts.append(f"net funding {run['funding']:+,.2f} (negative: paid)")
    if run.get("fees") is not None:
        parts.append(f"fees {run['fees']:,.2f}")
    return f"levtrade's run: {'; '.join(parts)}." if parts else ""


def stages_note(measurement: Measurement | None) -> str:
    """levtrade's timed run by stage (``levtrade_workloads.Stages``): each stage's median over
    the processes, and the bar loop's share of the median wall time; '' without stages."""
    if measurement is None or not measurement.ok:
        return ""
    runs = [run["stages"] for run in measurement.runs if run.get("stages")]
    if len(runs) != len(measurement.runs):
        return ""
    ms = {key: 1e3 * statistics.median(run[key] for run in runs) for key in runs[0]}
    # the part of run() after the bar loop: the result, its tables deferred to their reads
    ms["result_s"] = ms["run_s"] - ms["prepare_s"] - ms["simulate_s"]
    if measurement.workload.kind == "event":
        loop = "event engine"
        layout = ("prepare_s", "run: engine set-up")
        core = ("simulate_s", "run: event engine (the strategy's set-up, the bars)")
    else:
        loop = "compiled core"
        layout = ("prepare_s", "run: the core's inputs laid out")
        core = ("simulate_s", "run: compiled core")
    labels = (
        ("market_s", "market data (conversion, validation)"),
        ("strategy_s", "strategy (indicators, signal table)"),
        layout,
        core,
        ("result_s", "run: result"),
        ("figures_s", "trade table and final equity"),
    )
    parts = [f"{label} {ms[key]:.1f}" for key, label in labels if key in ms]
    share = ms["simulate_s"] / (1e3 * measurement.wall_s)
    return (
        "levtrade's timed run by stage (each stage's median over the processes, ms): "
        f"{'; '.join(parts)}. The {loop} is {share:.0%} of the median wall time."
    )


def sweep_section(result: WorkloadResult) -> list[str]:
    """Workload 7: variants per second of each tool, per variant against levtrade's, and
    levtrade's local executor against its single-core rate."""
    w = result.workload
    dataset = wl.DATASETS[w.dataset].title if w.dataset in wl.DATASETS else ""
    lines = [f"### {w.title} — {dataset}", "", f"`{w.key}`; {w.items:,} variants.", ""]
    lines += [note for n in w.notes for note in (n, "")]
    lev = result.levtrade
    if lev is not None and lev.ok:
        run = lev.runs[0]
        rates = [float(r["variants_per_s"]) for r in lev.runs]
        serial = [float(r["serial_variants_per_s"]) for r in lev.runs]
        efficiency = [float(r["efficiency"]) for r in lev.runs]
        loads = "; ".join(
            f"{', '.join(f'{x:.2f}' for x in r['load_before'])} → "
            f"{', '.join(f'{x:.2f}' for x in r['load_after'])}"
            for r in lev.runs
        )
        lines += [
            f'levtrade: {run["workers"]} local workers; single core (`executor="serial"`, '
            f"{run['serial_variants']} variants of the grid's first 4 × 5 averages): "
            f"{statistics.median(serial):,.1f} variants/s; local executor "
            f"{statistics.median(rates):,.1f} variants/s = "
            f"{statistics.median(efficiency):.2f} × workers × single core (goal ≥ 0.8); "
            f"{run['liquidated_variants']:,} variants liquidated at least once, "
            f"{run['rejected_variants']:,} with rejected orders; best by Sharpe: "
            f"{run['best']}. Load average (1, 5, 15 min) before → after each run: {loads}.",
            "",
        ]
    lines += [
        "| tool | model | wall s (10,000 variants) | variants/s | bars/s | ms per variant "
        "| warm-up s | peak MB | levtrade/peer per variant |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def cells(m: Measurement, model: str, ratio: str) -> str:
        per = m.wall_s / w.items
        bars = wl.DATASETS[w.dataset].bars if w.dataset in wl.DATASETS else 0
        wall = fmt_s(m.wall_s) + (" (projected)" if m.runs[0].get("projected") else "")
        return (
            f"| {m.tool.label} | {model} | {wall} | {fmt_rate(w.items, m.wall_s)} | "
            f"{fmt_rate(w.items * bars, m.wall_s)} | {per * 1000:.3g} | {fmt_s(m.warmup_s)} | "
            f"{m.peak_mb:.0f} | {ratio} |"
        )

    if lev is not None and lev.ok:
        lines.append(cells(lev, "3x, cross, funding, mark liquidation", ""))
    else:
        lines.append(f"| **levtrade** | | {status(lev)} | | | | | | |")
    for row in result.peers:
        m = row.measurement
        if not m.ok:
            lines.append(f"| {row.spec.label} | | failed: {m.error} | | | | | | |")
            continue
        ratio = f"{lev.wall_s / m.wall_s:.3g}" if lev is not None and lev.ok else "—"
        model = "1x, no margin" if "vectorbt" in row.spec.key else "3x, one backtest per epoch"
        if m.runs[0].get("per_backtest_s") is not None:
            model += (
                f"; {m.runs[0]['per_backtest_s']:.2f} s per backtest ({m.runs[0]['epochs']} epochs)"
            )
        lines.append(cells(m, model, ratio))
    lines.append("")
    return lines


def workload_section(result: WorkloadResult) -> list[str]:
    w = result.workload
    if w.kind == "sweep":
        return sweep_section(result)
    dataset = wl.DATASETS[w.dataset].title if w.dataset in wl.DATASETS else ""
    title = f"### {w.title}" + (f" — {dataset}" if dataset else "")
    unit = w.rate_unit
    lines = [title, "", f"`{w.key}`; {w.items:,} {unit.split('/')[0]}.", ""]
    for note in (*w.notes, run_details(result.levtrade), stages_note(result.levtrade)):
        if note:
            lines += [note, ""]
    lines += [
        f"| tool | model | wall s | {unit} | warm-up s | peak MB | trades | final equity "
        "| vs levtrade (trades, equity) | agreement | levtrade/peer |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    lev = result.levtrade
    if lev is not None and lev.ok:
        cells = " | ".join(tool_cells(lev))
        lines.append(f"| **levtrade** | benchmark rules | {cells} | | | |")
    else:
        lines.append(f"| **levtrade** | | {status(lev)} | | | | | | | | |")
    for row in result.peers:
        m = row.measurement
        model = ", ".join(model_differences(w, row.model)) or "benchmark rules"
        if not m.ok:
            lines.append(f"| {row.spec.label} | {model} | failed: {m.error} | | | | | | | | |")
            continue
        compare, agreement, ratio = "pending", "—", "—"
        mode = row.levtrade
        if mode is not None and mode.ok and m.trades is not None:
            rel = relative(m.final_equity, mode.final_equity)
            trades_equal = m.trades == mode.trades
            compare = f"{m.trades - (mode.trades or 0):+d}, {fmt_rel(rel)}"
            if mode.workload != w:
                compare += " (levtrade in the peer's mode)"
            agreement = verdict(trades_equal, rel)
            if row.model.fill_at != w.fill_at and agreement == "agree":
                agreement = "agree (models differ)"
        elif mode is not None and mode.ok:
            compare = "rows: " + str(m.runs[0].get("rows", "—"))
        if lev is not None and lev.ok:
            ratio = f"{lev.wall_s / m.wall_s:.3g}"
        lines.append(
            f"| {row.spec.label} | {model} | "
            + " | ".join(tool_cells(m))
            + f" | {compare} | {agreement} | {ratio} |"
        )
    lines.append("")
    spread = process_times([lev, *(row.measurement for row in result.peers)])
    if spread:
        lines += [spread, ""]
    return lines


def process_times(measurements: Sequence[Measurement | None]) -> str:
    """Each tool's timed runs, process by process (s), in the order they ran: the medians'
    spread, which on a virtual machine can be two clusters (see "memory pages" above); ''
    when no tool ran more than one process."""
    parts = [
        f"{m.tool.label} " + ", ".join(f"{run['wall_s']:.3f}" for run in m.runs)
        for m in measurements
        if m is not None and m.ok and len(m.runs) > 1
    ]
    return f"Timed run of each process (s): {'; '.join(parts)}." if parts else ""


def cross_check_section(results: list[WorkloadResult]) -> list[str]:
    lines = [
        "## Peer cross-check against the reference model",
        "",
        "`benchmarks/workloads.py` simulates the strategy directly (`reference_sma_cross`), in "
        "the model each peer follows. A peer whose trades and final equity match it implements "
        "the benchmark rules; the peers agree among themselves through it. The last column is "
        "what the peer's model alone changes: the reference in the peer's model against the "
        "reference under the benchmark rules (— where the leverage differs).",
        "",
        "| workload | tool | model | trades (peer / reference) | final equity "
        "(peer / reference) | rel. diff | agreement | model's effect on equity |",
        "|---|---|---|---|---|---:|---|---:|",
    ]
    for result in results:
        w = result.workload
        if result.reference is not None:
            ref = result.reference
            lines.append(
                f"| {w.key} | reference | benchmark rules | — / {ref.trades} | "
                f"— / {fmt_money(ref.final_equity)} | | | |"
            )
        for row in result.peers:
            m, peer_ref = row.measurement, row.reference
            if peer_ref is None or not m.ok:
                continue
            rel = relative(m.final_equity, peer_ref.final_equity)
            model = ", ".join(model_differences(w, row.model)) or "benchmark rules"
            effect = "—"
            canonical = result.reference
            if canonical is not None and row.model.leverage == w.leverage:
                effect = fmt_rel(relative(peer_ref.final_equity, canonical.final_equity))
            lines.append(
                f"| {w.key} | {row.spec.label} | {model} | {m.trades} / {peer_ref.trades} | "
                f"{fmt_money(m.final_equity)} / {fmt_money(peer_ref.final_equity)} "
                f"| {fmt_rel(rel)} | {verdict(m.trades == peer_ref.trades, rel)} | {effect} |"
            )
    lines.append("")
    return lines


def summary_section(results: list[WorkloadResult]) -> list[str]:
    """levtrade's two engines against every peer, per dataset."""
    by_dataset: dict[str, dict[str, Measurement]] = {}
    engines: dict[str, dict[str, Measurement]] = {}
    for result in results:
        w = result.workload
        if w.kind not in ("signal", "event") or w.dataset is None:
            continue
        if result.levtrade is not None and result.levtrade.ok:
            engines.setdefault(w.dataset, {})[w.kind] = result.levtrade
        for row in result.peers:
            if row.measurement.ok:
                by_dataset.setdefault(w.dataset, {})[row.spec.label] = row.measurement
    if not by_dataset:
        return []
    lines = [
        "## Summary: levtrade against every peer on the same bars",
        "",
        "levtrade/peer is levtrade's median wall time over the peer's (below 1: levtrade is "
        "faster), for the compiled kernel (signal strategy, workload 1) and the event-driven "
        "engine (`next()`, workload 3).",
        "",
        "| data | tool | wall s | bars/s | kernel/peer | event engine/peer |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for dataset, tools in by_dataset.items():
        title = wl.DATASETS[dataset].title
        kernel = engines.get(dataset, {}).get("signal")
        event = engines.get(dataset, {}).get("event")
        for label, m in tools.items():
            k = f"{kernel.wall_s / m.wall_s:.3g}" if kernel else "pending"
            e = f"{event.wall_s / m.wall_s:.3g}" if event else "pending"
            lines.append(
                f"| {title} | {label} | {fmt_s(m.wall_s)} | "
                f"{fmt_rate(m.workload.items, m.wall_s)} | {k} | {e} |"
            )
    lines.append("")
    return lines


def report(
    results: list[WorkloadResult],
    *,
    repeats: int,
    mode: str,
    machine: list[tuple[str, str]],
    project: dict[str, str],
    peers: dict[str, str],
    notes: list[str],
    startup: Sequence[StartupTime] = (),
) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    peer_names = sorted({name for spec in PEERS for name in spec.packages} - {"pandas", "pyarrow"})
    peer_line = ", ".join(f"{n} {peers[n]}" for n in peer_names if peers.get(n)) or "none"
    missing = [n for n in peer_names if not peers.get(n)]
    lines = [
        "# levtrade benchmarks",
        "",
        f"Generated by `python -m benchmarks` on {now} ({mode}; {repeats} process"
        f"{'es' if repeats > 1 else ''} per measurement). Every figure below was measured in "
        "this run; the file is rewritten by each run.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *[f"| {key} | {value} |" for key, value in machine],
        f"| Python (levtrade) | {project.get('python', '—')} |",
        f"| Python (peers, `.bench-venv`) | {peers.get('python', '—')} |",
        "| levtrade side | "
        + ", ".join(f"{n} {project[n]}" for n in PROJECT_PACKAGES if project.get(n))
        + " |",
        f"| peers | {peer_line}"
        + (f"; not installed: {', '.join(missing)}" if missing else "")
        + " |",
        *[
            f"| `{t.command}` (whole process) | {t.median:.3f} s median of {t.processes} fresh "
            f"processes ({t.fastest:.3f}–{t.slowest:.3f} s; CPU {t.cpu:.3f} s) |"
            for t in startup
        ],
        "",
        "## How to read the tables",
        "",
        f"- **wall s**: median over {repeats} separate process"
        f"{'es' if repeats > 1 else ''} of the timed run: from the candles in memory "
        "(a pandas frame read from the cached Parquet file) to the result's trades and final "
        "equity, including the tool's own conversion of the frame into its input structures. "
        "Reading the file is not included (workload 6 measures loading). A tool that builds "
        "its other result tables (orders, ledger, per-bar series) or its metrics only when "
        "read (levtrade, vectorbt) does not build them inside the timer; one that builds them "
        "with every run (backtesting.py's statistics) does.",
        "- **warm-up s**: measured separately in the same process, before the timed run: "
        "the first run on a 2,000-bar prefix (JIT compilation, caches) or the tool's set-up "
        "(see each peer module's docstring).",
        "- **peak MB**: peak resident memory of the measuring process "
        "(`getrusage(RUSAGE_SELF).ru_maxrss`), imports and data included.",
        "- **bars/s** (or positions/s, scenarios/s, rows/s): items over the median wall time.",
        "- **vs levtrade**: the peer's trades minus levtrade's and the relative difference of "
        "the final equity, against levtrade run in the peer's mode (no funding, no "
        "liquidation, same sizing; the peer's leverage and first decision bar when they "
        f"differ). **agree**: equal trades and |difference| ≤ {wl.AGREEMENT_TOLERANCE:.1%}.",
        "- **levtrade/peer**: levtrade's median wall time over the peer's, both from this run "
        "(below 1: levtrade is faster).",
        "- **Memory pages** (machine section): NumPy asks for huge pages for arrays of 4 MB or "
        "more. On a virtual machine whose host takes freed memory back, touching such pages "
        "for the first time can cost more than ten times as much as otherwise, so a 1M-bar "
        "run of any NumPy-based tool can land in one of two clusters, tens of ms apart, by "
        "chance. Each table is followed by every process's time; `--small-pages` measures "
        'every tool with 4 KiB pages instead (benchmarks/README.md, "Memory pages").',
        "- The strategy, the sizing rule and the data are defined in "
        "[`workloads.py`](workloads.py); each peer's idiom and deviations in its module in "
        "[`peers/`](peers/).",
        "",
    ]
    if notes:
        lines += ["## Notes from this run", "", *[f"- {note}" for note in notes], ""]
    lines += summary_section(results)
    numbers = sorted({r.workload.number for r in results})
    titles = {
        1: "Workload 1 — signal strategy, single symbol",
        2: "Workload 2 — funding from data and liquidation on mark candles (levtrade only)",
        3: "Workload 3 — event-driven Python strategy (`next()`)",
        4: "Workload 4 — portfolio, cross margin",
        5: "Workload 5 — margin calculator",
        6: "Workload 6 — data loading",
        7: "Workload 7 — a sweep of 10,000 variants",
    }
    for number in numbers:
        lines += [f"## {titles[number]}", ""]
        for result in results:
            if result.workload.number == number:
                lines += workload_section(result)
    if results:
        lines += cross_check_section(results)
    return "\n".join(lines).rstrip() + "\n"


# ------------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="one repetition, 100k-bar datasets only"
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="WORKLOAD",
        help="workload number (1-7), key prefix (e.g. 1-signal-100k), kind, or "
        f"{STARTUP!r} (the levtrade command's whole-process times); repeatable",
    )
    parser.add_argument("--repeats", type=int, help="processes per measurement (default 3)")
    parser.add_argument("--peers", help="comma-separated peer keys to run (default: all)")
    parser.add_argument(
        "--no-install", action="store_true", help="do not create or update .bench-venv"
    )
    parser.add_argument(
        "--small-pages",
        action="store_true",
        help=f"set {NUMPY_HUGEPAGE_VARIABLE}=0 in every measured process (4 KiB pages for "
        "NumPy's arrays), for figures that do not depend on the host's huge pages",
    )
    parser.add_argument("--output", type=Path, help="report file (default: see module doc)")
    parser.add_argument("--list", action="store_true", help="list workloads and peers, then exit")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for w in wl.all_workloads():
            tools = ", ".join(p.key for p in peers_for(w.kind)) or "levtrade only"
            print(f"{w.key:<24} {w.title}  [{tools}]")
        return 0
    repeats = args.repeats or (1 if args.quick else 3)
    if repeats < 1:
        raise SystemExit("--repeats must be at least 1")
    if args.small_pages:
        # inherited by every measured process, levtrade's and the peers' alike
        os.environ[NUMPY_HUGEPAGE_VARIABLE] = "0"
    machine = machine_info()
    notes: list[str] = []

    peer_python, note = ensure_bench_venv(install=not args.no_install)
    if note:
        notes.append(note)
    all_packages = {name for spec in PEERS for name in spec.packages}
    peer_versions = installed_versions(peer_python, all_packages) if peer_python else {}
    wanted = set(args.peers.split(",")) if args.peers else {spec.key for spec in PEERS}
    available = set()
    for spec in PEERS:
        if spec.key not in wanted:
            continue
        lacking = [name for name in spec.packages if not peer_versions.get(name)]
        if lacking:
            notes.append(f"{spec.label} skipped: {', '.join(lacking)} not installed")
        else:
            available.add(spec.key)

    lev_python = levtrade_python()
    project = installed_versions(lev_python, PROJECT_PACKAGES) if lev_python else {}
    if lev_python is None:
        notes.append("levtrade is not importable here: its rows are missing")
    elif not levtrade_module_present():
        names = sorted({name for name, _ in LEVTRADE_CALLS.values()})
        notes.append(
            f"levtrade rows pending: `{LEVTRADE_MODULE}` (functions "
            f"{', '.join(names)}) is not in the tree yet"
        )

    startup: list[StartupTime] = []
    if lev_python is not None and (not args.only or STARTUP in args.only):
        log("whole-process times of the levtrade command")
        startup = bench_startup.measure(list(bench_startup.COMMANDS), max(repeats, 5))
    only = [o for o in args.only if o != STARTUP]
    chosen = [] if args.only and not only else wl.prepare(wl.select(args.quick, only), log)
    if not chosen and not startup:
        log("no workload selected (or no data for them)")
        return 1
    for key in sorted(wl.DATASETS):
        if not wl.DATASETS[key].available and any(w.dataset == key for w in wl.all_workloads()):
            notes.append(f"{key}: real data not found at {wl.HARTHOR}; its workloads skipped")

    results = run_workloads(chosen, repeats, lev_python, peer_python, available)
    options = (
        (["--quick"] if args.quick else [])
        + [f"--only {o}" for o in args.only]
        + ([f"--peers {args.peers}"] if args.peers else [])
    )
    mode = "partial run: " + " ".join(options) if options else "full run"
    if small_pages():
        mode += (
            f", 4 KiB pages for NumPy's arrays in every measured process "
            f"({NUMPY_HUGEPAGE_VARIABLE}=0)"
        )
    text = report(
        results,
        repeats=repeats,
        mode=mode,
        machine=machine,
        project=project,
        peers=peer_versions,
        notes=notes,
        startup=startup,
    )
    # RESULTS.md holds full runs in the default page policy only
    output = args.output or (PARTIAL_RESULTS if options or small_pages() else RESULTS)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    print(text)
    log(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
