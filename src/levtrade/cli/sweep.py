"""``levtrade sweep``: backtest many variants of a strategy from its run configuration (local
cores or a Ray cluster) into one Parquet table and an HTML page; ``levtrade sweep show`` ranks
a table.

Every row reruns alone with ``levtrade backtest --config CFG --param name=value ...`` (the
same names and values). Bad input — an unknown parameter, an empty range, a constraint on an
unknown metric, a Ray address nothing answers at — is one line on stderr and exit code 1
before any variant runs.
"""

from __future__ import annotations

import json
import math
import shlex
import traceback
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from levtrade._json import to_json_value
from levtrade.cli.failure import fail
from levtrade.configuration import (
    RunConfig,
    StrategyFailure,
    load_run_config,
    prepare_run,
    signal_instance,
)
from levtrade.errors import LevtradeError
from levtrade.optimize import ranked, read_table, sweep
from levtrade.optimize.html import write_sweep_report

app = typer.Typer(
    help="Backtest many variants of a strategy (grid, random or optuna search; local cores "
    "or Ray) into one table; `levtrade sweep show TABLE` ranks it.",
    invoke_without_command=True,
    no_args_is_help=False,
)

DEFAULT_OUT = "sweep.parquet"


class RateColumn(ProgressColumn):
    """Variants per second over the run so far."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        if not elapsed or not task.completed:
            return Text("– variants/s", style="progress.data.speed")
        return Text(f"{task.completed / elapsed:,.1f} variants/s", style="progress.data.speed")


class SweepBar:
    """The sweep's progress on stderr: variants done, variants/s, ETA."""

    def __init__(self, enabled: bool) -> None:
        self.progress = Progress(
            TextColumn("sweeping"),
            BarColumn(),
            MofNCompleteColumn(),
            RateColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
            disable=not enabled,
        )
        self.task: TaskID | None = None

    def __enter__(self) -> SweepBar:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)

    def start(self, total: int) -> None:
        self.task = self.progress.add_task("sweep", total=total)

    def advance(self, done: int) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=done)


@app.callback()
def run_sweep(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Run configuration (.toml or .json).")
    ] = None,
    strategy: Annotated[
        str | None, typer.Option("--strategy", "-s", help="Strategy as path.py:ClassName.")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            help="name=values: 5:50:5 (a stepped range), 0.01:0.1 (continuous), 1,2,3 (a "
            "list); a strategy parameter or leverage, margin_mode, stake_amount, "
            "max_open_trades, stoploss, roi, trailing_stop_positive. Repeatable.",
        ),
    ] = None,
    search: Annotated[str, typer.Option(help="grid, random or optuna.")] = "grid",
    trials: Annotated[
        int | None, typer.Option(help="Variants of a random or optuna search.")
    ] = None,
    sampler: Annotated[
        str, typer.Option(help="optuna's sampler: tpe, random, nsgaii, qmc, cmaes or gp.")
    ] = "tpe",
    seed: Annotated[int, typer.Option(help="Seed of the random and optuna searches.")] = 0,
    objective: Annotated[
        str,
        typer.Option(help="Metric to optimise and rank by (sharpe, calmar, total_return, ...)."),
    ] = "sharpe",
    direction: Annotated[
        str, typer.Option(help="maximize, minimize or auto (by the metric).")
    ] = "auto",
    constraint: Annotated[
        list[str] | None,
        typer.Option("--constraint", help='METRIC OP NUMBER, e.g. "max_drawdown<0.3". Repeatable.'),
    ] = None,
    executor: Annotated[str, typer.Option(help="local (process pool), ray or serial.")] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option("--ray-address", help="Ray cluster HOST:PORT (default: a local Ray)."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: all cores).")
    ] = None,
    chunk_size: Annotated[
        int | None, typer.Option("--chunk-size", help="Variants per task (default: by the count).")
    ] = None,
    batch: Annotated[int | None, typer.Option(help="optuna trials per ask/tell round.")] = None,
    oos: Annotated[
        float | None, typer.Option(help="Score in sample and on this last share of the bars.")
    ] = None,
    walk_forward: Annotated[
        int | None, typer.Option("--walk-forward", help="Rolling walk-forward folds.")
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="The sweep's Parquet table.")] = Path(
        DEFAULT_OUT
    ),
    resume: Annotated[
        bool, typer.Option("--resume", help="Finish a stopped sweep: compute only missing chunks.")
    ] = False,
    report: Annotated[
        Path | None, typer.Option("--report", help="HTML page (default: OUT with .html).")
    ] = None,
    no_report: Annotated[bool, typer.Option("--no-report", help="No HTML page.")] = False,
    top: Annotated[int, typer.Option(help="Rows printed and equity curves on the page.")] = 10,
    timerange: Annotated[str | None, typer.Option(help="FreqTrade timerange START-STOP.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the top rows as JSON.")] = False,
) -> None:
    """Backtest every variant of --param (grid) or --trials of them (random, optuna)."""
    if ctx.invoked_subcommand is not None:
        return
    try:
        run_config = load_run_config(config) if config is not None else RunConfig.demo()
        run_config = run_config.with_overrides(timerange=timerange)
        stderr = Console(stderr=True)
        if not param:
            raise LevtradeError("param: a sweep needs at least one --param name=values")
        plan = prepare_run(run_config, strategy=strategy)
        if plan.strategy is None:
            raise LevtradeError("strategy: a sweep varies a strategy; a signals file has none")
        signal = plan.strategy.style == "signal"
        source: Any = (
            signal_instance(plan.config, plan.strategy, plan.pairs, plan.timeframe)
            if signal
            else plan.strategy.cls
        )
        target = out.expanduser()
        page = None if no_report else (report or target.with_suffix(".html")).expanduser()
        rerun = ["levtrade", "backtest"]
        if config is not None:
            rerun += ["--config", str(config)]
        if strategy is not None:
            rerun += ["--strategy", strategy]
        if timerange is not None:
            rerun += ["--timerange", timerange]
        with SweepBar(enabled=stderr.is_terminal and not as_json) as bar:
            table = sweep(
                source,
                plan.loaded.data,
                list(param),
                config=plan.backtest,
                search=search,
                trials=trials,
                seed=seed,
                sampler=sampler,
                objective=objective,
                direction=direction,
                constraints=list(constraint or ()),
                executor=executor,
                workers=workers,
                ray_address=ray_address,
                chunk_size=chunk_size,
                batch=batch,
                out=target,
                resume=resume,
                oos=oos,
                walk_forward=walk_forward,
                warmup=plan.loaded.warmup_bars,
                engine=plan.engine,
                params=None if signal else dict(plan.config.params),
                progress=bar,
                info={
                    "rerun": shlex.join(rerun),
                    "config_path": None if config is None else str(config),
                },
            )
        if page is not None:
            write_sweep_report(table, page, source=source, data=plan.loaded.data, top=min(top, 10))
    except StrategyFailure as exc:
        fail(exc.message, exc.details)
    except LevtradeError as exc:
        fail(exc)
    except OSError as exc:
        fail(f"cannot write output: {exc}")
    except KeyboardInterrupt:
        fail("interrupted; finished chunks are kept: rerun with --resume")
    except Exception as exc:
        fail(
            f"internal error ({type(exc).__name__}: {exc}); this is a levtrade bug",
            traceback.format_exc().rstrip(),
        )
    _print_top(table, top, as_json=as_json, by=None)
    if not as_json:
        info = table.attrs["levtrade.sweep"]
        Console().print(
            f"{len(table)} rows in {info['seconds']:.1f} s → {target}"
            + ("" if page is None else f"; report {page}")
        )


def _print_top(table: pd.DataFrame, top: int, *, as_json: bool, by: str | None) -> None:
    info = table.attrs.get("levtrade.sweep", {})
    best = ranked(table, by).head(top)
    if as_json:
        typer.echo(json.dumps(to_json_value(best.to_dict("records")), indent=2, allow_nan=False))
        return
    prefix = info.get("score_prefix", "")
    metrics = [
        prefix + m
        for m in ("sharpe", "calmar", "total_return", "max_drawdown", "liquidations", "trades")
    ]
    if by and (prefix + by) not in metrics and by not in metrics:
        metrics.insert(0, by if by in table.columns else prefix + by)
    oos = [c.replace("is_", "oos_", 1) for c in metrics if c.startswith("is_")]
    columns = [
        c
        for c in [
            "variant",
            *(["fold"] if "fold" in table.columns else []),
            *info.get("params", []),
            *metrics,
            *oos[:2],
            "feasible",
        ]
        if c in table.columns
    ]
    grid = Table(
        title=f"Top {len(best)} of {len(table)} by {by or info.get('objective', 'sharpe')}"
    )
    for column in columns:
        grid.add_column(column, justify="left" if column in info.get("params", []) else "right")
    for row in best[columns].to_dict("records"):
        grid.add_row(*(_cell(row[c]) for c in columns))
    console = Console()
    console.print(grid)
    rerun = info.get("rerun")
    if rerun and len(best):
        first = best.iloc[0]
        flags = " ".join(
            f"--param {shlex.quote(f'{n}={_text(first[n])}')}" for n in info.get("params", [])
        )
        console.print(f"rerun the best: {rerun} {flags}", soft_wrap=True)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(to_json_value(value))


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return str(value)


@app.command("show")
def show(
    table_path: Annotated[Path, typer.Argument(help="A sweep table (levtrade sweep --out).")],
    top: Annotated[int, typer.Option(help="Rows to print.")] = 20,
    by: Annotated[
        str | None, typer.Option(help="Metric to rank by (default: the objective).")
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Also write the sweep's HTML page (no equity curves)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
) -> None:
    """Rank a sweep's table: the best rows (meeting the constraints first) by a metric."""
    try:
        table, info = read_table(table_path.expanduser())
        table.attrs["levtrade.sweep"] = info
        ranked(table, by)  # an unknown metric is refused before anything is printed
        if html is not None:
            write_sweep_report(table, html.expanduser(), source=None, data=None, top=0)
    except LevtradeError as exc:
        fail(exc)
    except OSError as exc:
        fail(f"cannot write output: {exc}")
    _print_top(table, top, as_json=as_json, by=by)
