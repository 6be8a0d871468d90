"""``levtrade lookahead``: does the strategy read bars it could not have seen yet?

FreqTrade's ``lookahead-analysis`` counterpart, on :func:`levtrade.backtest.check_lookahead`:
the strategy runs on the whole data, then again on the data cut after each of ``--cuts``
evenly spaced bars; a decision before a cut that changes when the later bars are gone (an
order, an indicator, a signal) used those bars. It takes the run's options of ``levtrade
backtest`` (the config, the strategy, the data); exit code 1 when look-ahead is found.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from levtrade.cli.failure import fail
from levtrade.configuration import RunConfig, load_run_config, lookahead, prepare_run
from levtrade.errors import LevtradeError


def check(
    config: Annotated[
        list[Path] | None,
        typer.Option(
            "--config", "-c", help="Run configuration (.toml or .json); several are merged."
        ),
    ] = None,
    strategy: Annotated[
        str | None,
        typer.Option("--strategy", "-s", help="Strategy as path.py:ClassName (overrides)."),
    ] = None,
    timerange: Annotated[
        str | None, typer.Option("--timerange", help="FreqTrade timerange START-STOP.")
    ] = None,
    pairs: Annotated[
        list[str] | None,
        typer.Option("--pairs", "-p", help="Pairs (repeat or comma-separate)."),
    ] = None,
    timeframe: Annotated[
        str | None, typer.Option("--timeframe", "-i", help="Candle timeframe such as 1h.")
    ] = None,
    datadir: Annotated[Path | None, typer.Option("--datadir", help="Data directory.")] = None,
    cuts: Annotated[int, typer.Option("--cuts", help="How many cut points to test.")] = 4,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
) -> None:
    """Check a strategy for look-ahead (it reruns on shortened data and compares decisions).

    Without --config: the starter strategy on the bundled sample. Exit code 1 when a decision
    before a cut changes once the later bars are gone."""
    try:
        run_config = load_run_config(config) if config else RunConfig.demo()
        listed = [p.strip() for item in pairs or [] for p in item.split(",") if p.strip()]
        run_config = run_config.with_overrides(
            timerange=timerange,
            pairs=listed or None,
            timeframe=timeframe,
            datadir=None if datadir is None else str(datadir.expanduser().resolve()),
        )
        plan = prepare_run(run_config, strategy=strategy)
        report = lookahead(plan, cuts=cuts)
    except LevtradeError as exc:
        fail(exc)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "strategy": plan.strategy_name,
                    "ok": report.ok,
                    "cuts": list(report.cuts),
                    "bar": report.bar,
                    "detail": report.detail,
                }
            )
        )
    elif report.ok:
        typer.echo(
            f"{plan.strategy_name}: no look-ahead found (the data cut after "
            f"{', '.join(str(k) for k in report.cuts)} of {len(plan.loaded.data)} bars)"
        )
    if not report.ok:
        fail(f"{plan.strategy_name}: look-ahead: {report.detail}")
