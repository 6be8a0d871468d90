"""``python -m benchmarks.freqtrade_parity``: FreqTrade and levtrade on the same strategy files,
configuration and data, compared trade by trade; writes ``benchmarks/FREQTRADE_PARITY.md``.

Run it with the project's interpreter (``.venv/bin/python -m benchmarks.freqtrade_parity``).
FreqTrade runs in the benchmark virtualenv ``.bench-venv`` (created or updated from
``benchmarks/requirements-peers.txt`` as ``python -m benchmarks`` does; ``--no-install`` uses it
as it is). In ``benchmarks/.cache/freqtrade-parity/`` the check lays out a FreqTrade user's
folder: ``user_data/data/binance/futures`` with real Binance USDT-M data
(:mod:`benchmarks.parity.data`), ``user_data/strategies`` with FreqTrade's own sample strategy
copied unchanged from the installed FreqTrade and the strategies of
``benchmarks/parity/strategies/``, and FreqTrade ``config.json`` files. From that folder it runs
``freqtrade backtesting -c config.json -s NAME`` (:mod:`benchmarks.parity.freqtrade_side`,
offline) and ``levtrade backtest -c config.json -s NAME``, matches the trades and attributes
every difference (:mod:`benchmarks.parity.compare`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks import workloads as wl
from benchmarks.__main__ import ensure_bench_venv, installed_versions, log
from benchmarks.parity import compare as cmp
from benchmarks.parity.data import available, pair_file, write_user_data
from benchmarks.parity.freqtrade_side import MARKETS

WORKDIR = wl.CACHE_DIR / "freqtrade-parity"
REPORT = wl.BENCH_DIR / "FREQTRADE_PARITY.md"
PARTIAL_REPORT = wl.CACHE_DIR / "FREQTRADE_PARITY.partial.md"
STRATEGIES = wl.BENCH_DIR / "parity" / "strategies"
PAIRS = tuple(MARKETS)
TIMERANGE = "20250101-20260201"
FEE = 0.0005
TARGET = 0.95


@dataclass(frozen=True)
class Case:
    """One strategy under one configuration file, run in both tools."""

    strategy: str
    config: str
    leverage: float
    counted: bool
    """Part of the 3x figure the check's target is about."""
    note: str


CASES = (
    Case(
        "SampleStrategy3x", "config.json", 3.0, True,
        "FreqTrade's `sample_strategy.py`, unchanged, with `leverage()` returning 3",
    ),
    Case(
        "ParityBands", "config.json", 3.0, True,
        "hyperopt parameters, `talib.abstract`, qtpylib bands, stepped ROI, stop, trailing stop",
    ),
    Case(
        "ParityTrend", "config.json", 3.0, True,
        "`@informative` 1h frames of the pair and of BTC, ROI, `ignore_roi_if_entry_signal`",
    ),
    Case(
        "ParityBreakout", "config.json", 3.0, True,
        "day-range breakouts held to the opposite signal, stop beyond liquidation",
    ),
    Case("ParityBreakout10x", "config.json", 10.0, False, "the same at 10x: liquidations"),
    Case(
        "ParityBreakout10x", "config-no-buffer.json", 10.0, False,
        "the same at 10x with a configuration that does not set `liquidation_buffer`",
    ),
)  # fmt: skip


def config(*, buffer: bool, wallet: float) -> dict[str, Any]:
    """The FreqTrade configuration both tools read (``buffer``: with ``liquidation_buffer``)."""
    document: dict[str, Any] = {
        "trading_mode": "futures",
        "margin_mode": "isolated",
        "max_open_trades": len(PAIRS),
        "stake_currency": "USDT",
        "stake_amount": 1000,
        "tradable_balance_ratio": 0.99,
        "dry_run": True,
        "dry_run_wallet": wallet,
        "fee": FEE,
        "timeframe": "5m",
        "timerange": TIMERANGE,
        "dataformat_ohlcv": "feather",
        "exchange": {
            "name": "binance",
            "key": "",
            "secret": "",
            "pair_whitelist": list(PAIRS),
            "pair_blacklist": [],
        },
        "pairlists": [{"method": "StaticPairList"}],
        "entry_pricing": {"price_side": "same", "use_order_book": True, "order_book_top": 1},
        "exit_pricing": {"price_side": "same", "use_order_book": True, "order_book_top": 1},
    }
    if buffer:
        document["liquidation_buffer"] = 0.05
    return document


def prepare(peer_python: Path) -> None:
    """Lay out the user folder (data, strategies, configurations) in :data:`WORKDIR`."""
    write_user_data(WORKDIR, PAIRS)
    strategies = WORKDIR / "user_data" / "strategies"
    strategies.mkdir(parents=True, exist_ok=True)
    template = subprocess.run(
        [
            str(peer_python),
            "-c",
            "import freqtrade, pathlib; "
            "print(pathlib.Path(freqtrade.__file__).parent / 'templates' / 'sample_strategy.py')",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    shutil.copyfile(template, strategies / "sample_strategy.py")
    for source in sorted(STRATEGIES.glob("*.py")):
        shutil.copyfile(source, strategies / source.name)
    # a wallet no run can exhaust: stakes are never refused, so sizes do not depend on profits
    for name, buffer in (("config.json", True), ("config-no-buffer.json", False)):
        text = json.dumps(config(buffer=buffer, wallet=1_000_000.0), indent=2)
        (WORKDIR / name).write_text(text + "\n")


def run_freqtrade(peer_python: Path, case: Case, out: Path) -> list[dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": str(wl.ROOT)}
    command = [
        str(peer_python), "-m", "benchmarks.parity.freqtrade_side", "--config", case.config,
        "--strategy", case.strategy, "--fee", str(FEE), "--out", str(out),
    ]  # fmt: skip
    _run(command, env, out.with_suffix(".log"))
    rows: list[dict[str, Any]] = json.loads(out.read_text())
    return rows


def run_levtrade(case: Case, out: Path) -> pd.DataFrame:
    script = Path(sys.executable).parent / "levtrade"
    entry = [str(script)] if script.is_file() else [sys.executable, "-m", "levtrade.cli"]
    command = [
        *entry, "backtest", "-c", case.config, "-s", case.strategy,
        "--export", str(out), "--no-report",
    ]  # fmt: skip
    _run(command, dict(os.environ), out.with_suffix(".log"))
    return pd.read_csv(out / "trades.csv")


def _run(command: Sequence[str], env: dict[str, str], log_file: Path) -> None:
    with log_file.open("w") as handle:
        done = subprocess.run(
            list(command), cwd=WORKDIR, env=env, stdout=handle, stderr=subprocess.STDOUT
        )
    if done.returncode != 0:
        tail = log_file.read_text().strip().splitlines()[-5:]
        raise SystemExit(f"{' '.join(command[:6])} failed: " + " | ".join(tail))


def markets() -> dict[str, cmp.Market]:
    """The candles and funding times the attribution reads, from the files both tools read."""
    futures = WORKDIR / "user_data" / "data" / "binance" / "futures"
    found = {}
    for pair in PAIRS:
        stem = pair_file(pair)
        candles = pd.read_feather(futures / f"{stem}-5m-futures.feather")
        funding = pd.read_feather(futures / f"{stem}-1h-funding_rate.feather")
        stamps = candles["date"].astype("datetime64[ms, UTC]").astype("int64").to_numpy()
        # FreqTrade floors funding times to the second (they carry Binance's ms jitter)
        times = funding["date"].dt.floor("s").astype("datetime64[ms, UTC]").astype("int64")
        found[pair] = cmp.Market(
            stamps,
            candles["open"].to_numpy(np.float64),
            candles["high"].to_numpy(np.float64),
            candles["low"].to_numpy(np.float64),
            candles["close"].to_numpy(np.float64),
            frozenset(int(t) for t in times),
        )
    return found


@dataclass
class Outcome:
    case: Case
    comparison: cmp.Comparison
    seconds: dict[str, float]


def run_case(peer_python: Path, case: Case, data: dict[str, cmp.Market]) -> Outcome:
    tag = f"{case.strategy}-{Path(case.config).stem}"
    seconds = {}
    start = time.perf_counter()
    ft_rows = run_freqtrade(peer_python, case, WORKDIR / f"freqtrade-{tag}.json")
    seconds["freqtrade"] = time.perf_counter() - start
    start = time.perf_counter()
    lt_rows = run_levtrade(case, WORKDIR / f"levtrade-{tag}")
    seconds["levtrade"] = time.perf_counter() - start
    buffer = 0.05 if case.config == "config.json" else 0.0
    comparison = cmp.compare(
        cmp.freqtrade_trades(ft_rows), cmp.levtrade_trades(lt_rows), data, levtrade_buffer=buffer
    )
    return Outcome(case, comparison, seconds)


# --------------------------------------------------------------------------------- report


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.2f} %" if whole else "n/a"


def _ts(ms: float) -> str:
    if ms != ms:  # NaN: the trade is missing in that tool
        return "—"
    return pd.Timestamp(int(ms), unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M")


def _price(value: float) -> str:
    return "—" if value != value else f"{value:.6g}"


def report(outcomes: Sequence[Outcome], versions: dict[str, str], elapsed: float) -> str:
    counted = [o for o in outcomes if o.case.counted]
    total = sum(o.comparison.freqtrade_count for o in counted)
    agreeing = sum(o.comparison.agreeing for o in counted)
    share = agreeing / total if total else 0.0
    lines = [
        "# FreqTrade parity: the same files in FreqTrade and levtrade, trade by trade",
        "",
        f"Generated by `python -m benchmarks.freqtrade_parity` on "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC ({elapsed / 60:.1f} min). "
        f"FreqTrade {versions.get('freqtrade', '?')} (benchmark virtualenv, Python "
        f"{versions.get('python', '?')}), levtrade {versions.get('levtrade', '?')} "
        f"(Python {platform.python_version()}).",
        "",
        f"**At 3x, {agreeing} of FreqTrade's {total} trades ({_pct(agreeing, total)}) have a "
        f"levtrade trade with the same entry, the same exit candle and the same exit reason** "
        f"(target {TARGET:.0%}: {'met' if share >= TARGET else 'NOT met'}). Every other trade "
        "is listed below with its cause.",
        "",
        "## What runs",
        "",
        "A FreqTrade user's folder in `benchmarks/.cache/freqtrade-parity/`, used unchanged by "
        "both tools from that working directory: `freqtrade backtesting -c CONFIG -s NAME` and "
        "`levtrade backtest -c CONFIG -s NAME`.",
        "",
        f"* **Data**: real Binance USDT-M perpetuals {', '.join(PAIRS)}, 5m candles, 1h mark "
        "candles and funding events, from `shared/data/binance_um_freqtrade_harthor` (a "
        "FreqTrade download) written back in FreqTrade 2026.9's layout "
        "(`user_data/data/binance/futures/*-5m-futures.feather`, `*-1h-mark.feather`, "
        "`*-1h-funding_rate.feather`, and the `*-1h-futures.feather` candles FreqTrade reads "
        f"for 1h informative frames). Timerange `{TIMERANGE}`.",
        "* **Configuration** (`config.json`): futures, isolated margin, stake 1,000 USDT per "
        f"trade, {len(PAIRS)} open trades at most, fee {FEE:.2%}, `liquidation_buffer` 0.05 "
        "(FreqTrade's default, which levtrade needs to be told; `config-no-buffer.json` leaves "
        "it out), a wallet no run exhausts. levtrade lists the keys it ignores (pricing, "
        "pairlists, ...) and uses its defaults otherwise: the shipped Binance tier table of "
        "the same FreqTrade release, the 1h mark candles basis-adjusted to 5m.",
        "* **FreqTrade** runs offline: its one ccxt market load is replaced by static Binance "
        "markets with each contract's tick and step ("
        + ", ".join(f"{p} {t:g}/{s:g}" for p, (t, s) in MARKETS.items())
        + "), as FreqTrade's own tests do; tiers come from the file FreqTrade ships.",
        "* **Strategies** (`user_data/strategies/`): FreqTrade's own `sample_strategy.py` from "
        "the installed FreqTrade (its `from technical import qtpylib` included) and the "
        "FreqTrade-style strategies of `benchmarks/parity/strategies/`.",
        "",
        "Trades are matched on pair, side and entry candle. FreqTrade's `exit_signal`, "
        "`trailing_stop_loss` and `force_exit` are levtrade's `signal`, `trailing_stop` and "
        "`end_of_data`.",
        "",
        "## Results",
        "",
        "| strategy | config | leverage | what it uses | FreqTrade trades | levtrade trades "
        "| same entry | same exit candle and reason | differences by cause |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        c = o.comparison
        causes = ", ".join(
            f"{cmp.CAUSES.get(k, (k,))[0]} {n}" for k, n in sorted(c.causes().items())
        )
        lines.append(
            f"| {o.case.strategy} | `{o.case.config}` | {o.case.leverage:g}x | {o.case.note} "
            f"| {c.freqtrade_count} | {c.levtrade_count} | {len(c.matched)} "
            f"| {c.agreeing} ({_pct(c.agreeing, c.freqtrade_count)}) | {causes or 'none'} |"
        )
    lines += [
        f"| **all at 3x** | | 3x | | {total} | "
        f"{sum(o.comparison.levtrade_count for o in counted)} | "
        f"{sum(len(o.comparison.matched) for o in counted)} | **{agreeing} "
        f"({_pct(agreeing, total)})** | |",
        "",
        "## The causes",
        "",
        "Each is a rule where FreqTrade simplifies and levtrade keeps the venue's (or its "
        "intrabar path); [docs/from-freqtrade.md](../docs/from-freqtrade.md) works an example "
        "of each.",
        "",
    ]
    totals: dict[str, int] = {}
    for o in outcomes:
        for key, count in o.comparison.causes().items():
            totals[key] = totals.get(key, 0) + count
    for key, (title, text) in cmp.CAUSES.items():
        lines.append(f"* **{title}** (`{key}`, {totals.get(key, 0)} in these runs): {text}")
    lines.append(
        f"* **{cmp.UNEXPLAINED}** ({totals.get(cmp.UNEXPLAINED, 0)} in these runs): a "
        "difference none of these explains (a defect to find)."
    )
    lines += ["", "## Every difference", ""]
    any_difference = False
    for o in outcomes:
        diffs = o.comparison.differences()
        if diffs.empty:
            continue
        any_difference = True
        lines += [
            f"### {o.case.strategy} (`{o.case.config}`, {o.case.leverage:g}x)",
            "",
            "| pair | side | entry | FreqTrade exit | reason | price | levtrade exit | reason "
            "| price | cause |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in diffs.itertuples(index=False):
            lines.append(
                f"| {row.pair} | {row.side} | {_ts(row.entry)} | {_ts(row.exit_ft)} "
                f"| {_text(row.reason_ft)} | {_price(row.exit_price_ft)} | {_ts(row.exit_lt)} "
                f"| {_text(row.reason_lt)} | {_price(row.exit_price_lt)} "
                f"| {cmp.CAUSES.get(row.status, (row.status,))[0]} |"
            )
        lines.append("")
    if not any_difference:
        lines += ["None.", ""]
    lines += ["## Prices of the agreeing trades", "", *price_notes(outcomes), ""]
    lines += [
        "## Run times",
        "",
        "Wall time of each backtest (FreqTrade in its own process, data loading and strategy "
        "included; levtrade as the `levtrade backtest` command, interpreter start and exports "
        "included). A shared 2-core machine; not a benchmark.",
        "",
        "| strategy | config | FreqTrade | levtrade |",
        "|---|---|---|---|",
    ]
    for o in outcomes:
        lines.append(
            f"| {o.case.strategy} | `{o.case.config}` | {o.seconds['freqtrade']:.0f} s "
            f"| {o.seconds['levtrade']:.0f} s |"
        )
    return "\n".join(lines) + "\n"


def _text(value: Any) -> str:
    return "—" if not isinstance(value, str) else value


def price_notes(outcomes: Sequence[Outcome]) -> list[str]:
    """How far the agreeing trades' exit prices are apart, by exit reason."""
    rows = []
    ratios = []
    for o in outcomes:
        matched = o.comparison.matched
        ratios.append(matched["size_ft"] / matched["size_lt"])
        same = matched[matched["status"] == "same"]
        for reason, group in same.groupby("reason_ft"):
            gap = (group["exit_price_lt"] / group["exit_price_ft"] - 1.0).abs()
            rows.append((o.case.strategy, o.case.config, str(reason), len(group), gap))
    ratio = pd.concat(ratios) if ratios else pd.Series(dtype=float)
    sizes = "n/a" if ratio.empty else f"{ratio.median():.4f} (smallest {ratio.min():.4f})"
    lines = [
        "Exit price of levtrade relative to FreqTrade's, for the trades with the same exit "
        "candle and reason. Entries fill at the same candle open in both tools.",
        "",
        "| strategy | config | reason | trades | median difference | largest |",
        "|---|---|---|---|---|---|",
    ]
    for strategy, config_name, reason, count, gap in rows:
        lines.append(
            f"| {strategy} | `{config_name}` | {reason} | {count} "
            f"| {gap.median():.2e} | {gap.max():.2e} |"
        )
    lines += [
        "",
        "Signal exits fill at the next open in both. Stop and ROI exits differ by FreqTrade's "
        "tick rounding (at most a tick) and, for ROI, by the funding FreqTrade books at the "
        "entry candle. End-of-data exits differ by the last candle's move: FreqTrade closes at "
        "that candle's open, levtrade at its close. A liquidation at the buffered price is a "
        "stop at the same level in both; without the buffer levtrade liquidates at the venue's "
        "price on the mark and loses the whole isolated margin.",
        "",
        "Sizes differ by FreqTrade's amount step: it rounds each entry's amount down to the "
        "market's step (0.001 BTC is about 100 USDT of a 1,000 USDT stake at 3x), levtrade sizes "
        "exactly unless the instrument sets a `lot_size`. Median size of FreqTrade's trades "
        "relative to levtrade's: " + sizes + ".",
    ]
    return lines


# ----------------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.freqtrade_parity", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help=f"report file (default {REPORT.name}; {PARTIAL_REPORT.name} in the cache with --only)",
    )
    parser.add_argument(
        "--no-install", action="store_true", help="use .bench-venv as it is (no pip)"
    )
    parser.add_argument("--only", action="append", default=[], help="strategy name (repeatable)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    if not available(PAIRS):
        log(f"no data: {wl.HARTHOR} not found")
        return 1
    peer_python, note = ensure_bench_venv(install=not args.no_install)
    if peer_python is None:
        log(note or "no benchmark virtualenv")
        return 1
    versions = installed_versions(peer_python, ["freqtrade"])
    if not versions.get("freqtrade"):
        log(f"FreqTrade is not installed in {peer_python}")
        return 1
    versions["levtrade"] = importlib.metadata.version("levtrade")
    log(f"preparing {WORKDIR}")
    prepare(peer_python)
    data = markets()
    chosen = [c for c in CASES if not args.only or c.strategy in args.only]
    outcomes = []
    for case in chosen:
        log(f"{case.strategy} ({case.config}): FreqTrade, then levtrade")
        outcome = run_case(peer_python, case, data)
        c = outcome.comparison
        log(
            f"  {c.agreeing}/{c.freqtrade_count} FreqTrade trades the same "
            f"({_pct(c.agreeing, c.freqtrade_count)}); differences {c.causes() or 'none'}"
        )
        outcomes.append(outcome)
    text = report(outcomes, versions, time.perf_counter() - started)
    output = args.output or (PARTIAL_REPORT if args.only else REPORT)
    output.write_text(text)
    log(f"wrote {output}")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
