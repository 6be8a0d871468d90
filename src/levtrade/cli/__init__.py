"""The ``levtrade`` command: one Typer sub-application per concern.

``--version``, ``-v``/``--verbose`` (repeat for more) and ``--logfile FILE`` belong to every
command: written before the command or after it (``levtrade backtest -v`` is
``levtrade -v backtest``), they set what the run logs and where (:mod:`levtrade.cli.logs`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from levtrade._version import __version__
from levtrade.cli.lazy import LazyCommand, LazyGroup
from levtrade.cli.logs import GLOBAL_FLAGS, GLOBAL_OPTIONS, configure_logging, hoist

BACKTEST_COMMAND = "levtrade.cli.backtest:BacktestCommand"


class Levtrade(LazyGroup):
    """The root group: each command's module is imported when that command runs."""

    lazy = (
        LazyCommand(
            "backtest",
            "levtrade.cli.backtest:backtest",
            "Backtest a strategy (without arguments: the demo on recorded data at 3x, 10x, 25x).",
            cls=BACKTEST_COMMAND,
        ),
        LazyCommand(
            "lookahead",
            "levtrade.cli.lookahead:check",
            "Check a strategy for look-ahead (it reruns on shortened data and compares decisions).",
            cls=BACKTEST_COMMAND,
        ),
        LazyCommand(
            "report",
            "levtrade.cli.report:report",
            "Regenerate the HTML report (Plotly charts, one self-contained file) from saved "
            "results.",
        ),
        LazyCommand(
            "init",
            "levtrade.cli.init:init",
            "Write a starter config and strategy; then run levtrade backtest --config "
            "DIR/config.toml.",
        ),
        LazyCommand(
            "margin",
            "levtrade.cli.margin:app",
            "Margin calculator (levtrade margin FILE, or one position: levtrade margin --venue "
            "binance --long 1@100000 --leverage 20 --wallet 10000; options: levtrade margin calc "
            "--help) and stress tests (levtrade margin stress FILE).",
        ),
        LazyCommand(
            "data",
            "levtrade.cli.data:app",
            "Market data: list, info, validate, convert, download; tier tables.",
        ),
        LazyCommand(
            "sweep",
            "levtrade.cli.sweep:app",
            "Backtest many variants of a strategy (grid, random or optuna search; local cores "
            "or Ray) into one table; `levtrade sweep show TABLE` ranks it.",
        ),
        LazyCommand(
            "venue",
            "levtrade.cli.venue:app",
            "A local exchange (Binance USD-M API) for ccxt bots.",
        ),
        LazyCommand(
            "trade",
            "levtrade.cli.trade:app",
            "Paper and live trading through ccxt (docs/trading.md).",
        ),
    )


app = typer.Typer(
    cls=Levtrade,
    name="levtrade",
    help="Leveraged crypto trading: backtests with liquidations and funding, the margin "
    "calculator and stress tests, market data, paper and live trading.",
    no_args_is_help=True,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"levtrade {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose", "-v", count=True, help="Log more: -v progress notes, -vv debugging."
        ),
    ] = 0,
    logfile: Annotated[
        Path | None,
        typer.Option("--logfile", help="Also write the log, with times, to this file."),
    ] = None,
) -> None:
    """Leveraged crypto trading: backtests with liquidations and funding, the margin
    calculator and stress tests, market data."""
    configure_logging(verbose, logfile)


__all__ = ["GLOBAL_FLAGS", "GLOBAL_OPTIONS", "app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    app(args=hoist(sys.argv[1:] if argv is None else argv), prog_name="levtrade")
