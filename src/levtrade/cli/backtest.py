"""``levtrade backtest``: run a strategy from a configuration, print the summary, write the HTML
report and the exported results.

With no arguments it runs the demo: the starter strategy (:mod:`levtrade.templates.strategy`)
on the recorded Binance sample shipped with levtrade (:mod:`levtrade.data.samples`: BTC, ETH
and SOL around the crash of 2025-10-10) at three leverages, printing their comparison beside
the market's own move and the summary of the highest, and writing ``levtrade-report.html`` and
``levtrade-results/`` in the current directory. ``--demo synthetic`` runs the seeded synthetic
data instead. Errors are one line on stderr (a strategy's own exception adds the
strategy's part of the traceback) and exit code 1; no output file is written unless the whole
run succeeded.
"""

from __future__ import annotations

import json
import os
import traceback
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from typer.core import TyperCommand

from levtrade._json import to_json_value
from levtrade.cli.failure import fail
from levtrade.configuration import (
    DEFAULT_REPORT,
    DEFAULT_RESULTS,
    DEMO_LEVERAGES,
    RunConfig,
    StrategyFailure,
    execute,
    load_run_config,
    prepare_run,
)
from levtrade.errors import LevtradeError
from levtrade.report.atomic import stage_text
from levtrade.report.files import StagedResults, check_output_file, check_results_dir
from levtrade.report.summary import bundle_from_result
from levtrade.report.terminal import render_summary

ConfigOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--config",
        "-c",
        help="Run configuration (.toml or .json; FreqTrade keys accepted). Several are "
        "merged in order, each over the ones before.",
    ),
]
StrategyOption = Annotated[
    str | None,
    typer.Option(
        "--strategy",
        "-s",
        help="Strategy: a class name (looked up in --strategy-path and user_data/strategies) "
        "or path.py:ClassName (overrides the config's).",
    ),
]
StrategyPathOption = Annotated[
    Path | None,
    typer.Option("--strategy-path", help="Folder to look for the strategy class in first."),
]
TimeframeDetailOption = Annotated[
    str | None,
    typer.Option("--timeframe-detail", help="Finer candles for the intrabar path, e.g. 1m."),
]
FeeOption = Annotated[
    float | None, typer.Option("--fee", help="Fee rate of both sides, e.g. 0.0005.")
]
WalletOption = Annotated[
    float | None,
    typer.Option("--dry-run-wallet", "--wallet", help="Starting wallet in the stake currency."),
]
StakeOption = Annotated[
    str | None,
    typer.Option("--stake-amount", help="Margin per trade, or 'unlimited'."),
]
MaxOpenOption = Annotated[
    int | None,
    typer.Option("--max-open-trades", help="At most this many open positions (-1: no limit)."),
]
SignalsOption = Annotated[
    Path | None,
    typer.Option("--signals", help="A signal table (.parquet, .feather or .csv) to execute."),
]
TimerangeOption = Annotated[
    str | None,
    typer.Option("--timerange", help="FreqTrade timerange START-STOP, e.g. 20250101-20251231."),
]
PairsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--pairs",
        "-p",
        help="Pairs such as BTC/USDT:USDT (space- or comma-separated, or repeated).",
    ),
]

LIST_OPTIONS = frozenset({"--pairs", "-p"})
"""Options that take several values after one flag, as FreqTrade's ``--pairs A B``."""


class BacktestCommand(TyperCommand):
    """The backtest command: ``--pairs A B C`` reads every value up to the next option."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, spread_list_options(args))


def spread_list_options(args: list[str]) -> list[str]:
    """``--pairs A B`` → ``--pairs A --pairs B`` (values run to the next ``-`` word)."""
    out: list[str] = []
    k = 0
    while k < len(args):
        word = args[k]
        out.append(word)
        k += 1
        if word in LIST_OPTIONS and k < len(args):
            out.append(args[k])
            k += 1
            while k < len(args) and not args[k].startswith("-"):
                out.extend([word, args[k]])
                k += 1
    return out


TimeframeOption = Annotated[
    str | None, typer.Option("--timeframe", "-i", help="Candle timeframe such as 1h.")
]
DatadirOption = Annotated[
    Path | None, typer.Option("--datadir", help="Data directory (overrides the config's).")
]
EngineOption = Annotated[
    str | None,
    typer.Option(
        "--engine",
        help="auto (default: the compiled kernel for signal strategies, the event engine for "
        "the others), event or compiled.",
    ),
]
ReportOption = Annotated[
    Path | None,
    typer.Option("--report", help=f"HTML report path (default: config's, else {DEFAULT_REPORT})."),
]
ResultsOption = Annotated[
    Path | None,
    typer.Option(
        "--export",
        "--results",
        help=f"Results directory for the exports (default: config's, else {DEFAULT_RESULTS}).",
    ),
]
NoReportFlag = Annotated[bool, typer.Option("--no-report", help="Do not write the HTML report.")]
ForceFlag = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Overwrite the --report file even when it is not an earlier levtrade report.",
    ),
]
NoExportFlag = Annotated[bool, typer.Option("--no-export", help="Do not write the exports.")]
JsonFlag = Annotated[
    bool, typer.Option("--json", help="Print the summary as one JSON document on stdout.")
]
LeverageOption = Annotated[
    float | None,
    typer.Option("--leverage", help="Leverage of every trade (overrides the config's)."),
]
MarginModeOption = Annotated[
    str | None, typer.Option("--margin-mode", help="isolated or cross (overrides the config's).")
]
VenueOption = Annotated[
    str | None,
    typer.Option(
        "--venue", help="binance, bybit, okx, hyperliquid or dydx (overrides the config's)."
    ),
]
ParamOption = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        help="name=value, repeatable: a strategy parameter (the config's [params]), e.g. "
        "--param fast=24, or a run setting as levtrade sweep names it (leverage, margin_mode, "
        "stake_amount, max_open_trades, stoploss, roi, trailing_stop_positive).",
    ),
]
DemoOption = Annotated[
    str | None,
    typer.Option(
        "--demo",
        help="Without --config: sample (default; recorded Binance data around 2025-10-10, "
        "three leverages) or synthetic (the seeded synthetic data).",
    ),
]


class RichProgress:
    """Progress on stderr: one line per phase, a bar over the bars of the simulation."""

    def __init__(self, enabled: bool) -> None:
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
            disable=not enabled,
        )
        self.task: TaskID | None = None

    def __enter__(self) -> RichProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._finish()
        self.progress.__exit__(None, None, None)

    def _finish(self) -> None:
        if self.task is not None:
            task = self.progress.tasks[-1]
            self.progress.update(self.task, completed=task.total or 1, total=task.total or 1)

    def phase(self, name: str, total: int | None = None) -> None:
        self._finish()
        self.task = self.progress.add_task(name, total=total)

    def advance(self, done: int) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=done)


def _pairs(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    pairs = [p.strip() for value in values for p in value.split(",") if p.strip()]
    return pairs or None


def _params(values: list[str] | None) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """``name=value`` pairs, a value read as JSON where it parses (numbers, true, lists), else
    kept as text (as ``levtrade sweep`` reads them): (the strategy parameters, None without
    any; the run settings ``levtrade sweep`` names — leverage, margin_mode, stake_amount,
    max_open_trades, stoploss, roi, trailing_stop_positive — by their configuration key), so
    a sweep's row reruns alone."""
    if not values:
        return None, {}
    from levtrade.optimize import SETTINGS, read_value  # the sweep's vocabulary: only for --param

    params: dict[str, Any] = {}
    settings: dict[str, Any] = {}
    for item in values:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise LevtradeError(f"param: expected name=value, got {item!r}")
        value = read_value(text)
        setting = SETTINGS.get(name)
        if setting is None:
            params[name] = value
        else:
            settings[setting.key] = setting.value(value)
    return params or None, settings


def _demo_config(demo: str | None, starter: bool) -> RunConfig:
    if demo in (None, "sample"):
        return RunConfig.demo(starter=starter)
    if demo == "synthetic":
        return RunConfig.synthetic_demo()
    raise LevtradeError(f"demo: sample or synthetic, got {demo!r}")


def _comparison_row(summary: dict[str, Any]) -> dict[str, Any]:
    """One line of the leverage comparison: what the run made and what it paid."""
    metrics = summary["metrics"]
    return {
        "leverage": summary["leverage"],
        "margin_mode": summary["margin_mode"],
        "total_return": metrics.get("total_return"),
        "max_drawdown": metrics.get("max_drawdown"),
        "final_equity": metrics.get("final_equity"),
        "trades": metrics.get("trades"),
        "liquidations": metrics.get("liquidations"),
        "funding_paid": metrics.get("funding_paid"),
        "funding_received": metrics.get("funding_received"),
        "fees": metrics.get("fees"),
        "rejected_entries": sum(summary.get("rejected_entries", {}).values()),
    }


def _stake(value: str | None) -> float | str | None:
    """``--stake-amount``: a number, or ``unlimited``."""
    if value is None or value == "unlimited":
        return value
    try:
        return float(value)
    except ValueError:
        raise LevtradeError(f"--stake-amount: a number or 'unlimited', got {value!r}") from None


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def _outputs(
    config: RunConfig,
    report: Path | None,
    results: Path | None,
    no_report: bool,
    no_export: bool,
    force: bool,
) -> tuple[Path | None, Path | None]:
    report_path: Path | None = None
    if not no_report:
        if report is not None:
            report_path = report.expanduser()
        elif config.report is not None:
            report_path = config.path(config.report)
        else:
            report_path = Path(DEFAULT_REPORT)
        check_output_file(report_path, "report", force=force)
    results_path: Path | None = None
    if not no_export:
        if results is not None:
            results_path = results.expanduser()
        elif config.results_dir is not None:
            results_path = config.path(config.results_dir)
        else:
            results_path = Path(DEFAULT_RESULTS)
        check_results_dir(results_path)
    inside = (
        report_path is not None
        and results_path is not None
        and report_path.resolve().parent == results_path.resolve()
    )
    if inside:
        raise LevtradeError(
            f"report: {report_path} would be inside the results directory {results_path}, "
            "which is replaced whole; write the report elsewhere"
        )
    return report_path, results_path


def backtest(
    config: ConfigOption = None,
    strategy: StrategyOption = None,
    strategy_path: StrategyPathOption = None,
    timeframe_detail: TimeframeDetailOption = None,
    fee: FeeOption = None,
    dry_run_wallet: WalletOption = None,
    stake_amount: StakeOption = None,
    max_open_trades: MaxOpenOption = None,
    signals: SignalsOption = None,
    timerange: TimerangeOption = None,
    pairs: PairsOption = None,
    timeframe: TimeframeOption = None,
    datadir: DatadirOption = None,
    engine: EngineOption = None,
    report: ReportOption = None,
    results: ResultsOption = None,
    no_report: NoReportFlag = False,
    no_export: NoExportFlag = False,
    force: ForceFlag = False,
    as_json: JsonFlag = False,
    leverage: LeverageOption = None,
    margin_mode: MarginModeOption = None,
    venue: VenueOption = None,
    param: ParamOption = None,
    demo_data: DemoOption = None,
) -> None:
    """Backtest a strategy (without arguments: the demo on recorded data at 3x, 10x, 25x).

    The demo runs the starter strategy on the Binance sample bundled with levtrade (BTC, ETH
    and SOL around the crash of 2025-10-10) at three leverages and compares them with buy and
    hold; --demo synthetic runs the seeded synthetic data instead."""
    demo = not config and strategy is None and signals is None
    staged: StagedResults | None = None
    page_file: Path | None = None
    try:
        if demo_data is not None and config:
            raise LevtradeError("demo: --demo chooses the data of a run without --config")
        run_config = load_run_config(config) if config else _demo_config(demo_data, starter=demo)
        params, settings = _params(param)
        run_config = run_config.with_overrides(**settings)
        run_config = run_config.with_overrides(
            timerange=timerange,
            pairs=_pairs(pairs),
            timeframe=timeframe,
            datadir=None if datadir is None else str(datadir.expanduser().resolve()),
            engine=engine,
            leverage=leverage,
            margin_mode=margin_mode,
            venue=venue,
            params=None if params is None else {**run_config.params, **params},
            strategy_path=(
                None if strategy_path is None else str(strategy_path.expanduser().resolve())
            ),
            timeframe_detail=timeframe_detail,
            fee=fee,
            wallet=dry_run_wallet,
            stake_amount=_stake(stake_amount),
            max_open_trades=max_open_trades,
        )
        report_path, results_path = _outputs(
            run_config, report, results, no_report, no_export, force
        )
        stderr = Console(stderr=True)
        compare = demo and demo_data in (None, "sample") and leverage is None
        if demo and not as_json:
            what = (
                "the starter strategy on recorded Binance data around 2025-10-10 at "
                + ", ".join(f"{lev:g}x" for lev in DEMO_LEVERAGES)
                if compare
                else f"the starter strategy on {run_config.source.strip('<>')} data"
            )
            stderr.print(
                f"No --config given: running the demo, {what}. Start your own with "
                "[bold]levtrade init DIR[/bold].",
                style="dim",
            )
        levels = DEMO_LEVERAGES if compare else (None,)
        comparison: list[dict[str, Any]] = []
        with RichProgress(enabled=stderr.is_terminal) as progress:
            for level in levels:
                current = run_config.with_overrides(leverage=level)
                plan = prepare_run(current, strategy=strategy, signals=signals, progress=progress)
                outcome = execute(plan, progress=progress)
                progress.phase("summarising")
                bundle = bundle_from_result(
                    outcome.result, outcome.data, outcome.info(), outcome.indicators
                )
                comparison.append(_comparison_row(bundle.summary))
            progress.phase("writing report and exports")
            if compare:
                bundle.summary["leverage_comparison"] = comparison
            bundle.summary["outputs"] = {
                "report": None if report_path is None else _display(report_path),
                "results": None if results_path is None else _display(results_path),
            }
            page = None
            if report_path is not None:
                from levtrade.report.html import render_report  # Plotly: only for a report

                page = render_report(bundle)
            if results_path is not None:
                staged = StagedResults(bundle, results_path)
            if page is not None and report_path is not None:
                page_file = stage_text(report_path, page)
            if staged is not None:
                staged.commit()
                staged = None
            if page_file is not None and report_path is not None:
                os.replace(page_file, report_path)
                page_file = None
    except StrategyFailure as exc:
        fail(exc.message, exc.details)
    except LevtradeError as exc:
        fail(exc)
    except OSError as exc:
        fail(f"cannot write output: {exc}")
    except KeyboardInterrupt:
        fail("interrupted; no output written")
    except Exception as exc:
        fail(
            f"internal error ({type(exc).__name__}: {exc}); this is a levtrade bug",
            traceback.format_exc().rstrip(),
        )
    finally:
        if staged is not None:
            staged.discard()
        if page_file is not None:
            page_file.unlink(missing_ok=True)
    summary: dict[str, Any] = bundle.summary
    if as_json:
        for warning in summary.get("warnings") or []:  # the terminal summary shows them
            typer.echo(f"warning: {warning}", err=True)
        typer.echo(json.dumps(to_json_value(summary), indent=2, allow_nan=False))
        return
    render_summary(summary, Console())
