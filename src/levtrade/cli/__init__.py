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
from levtrade.cli import backtest as backtest_cli
from levtrade.cli import data as data_cli
from levtrade.cli import init as init_cli
from levtrade.cli import lookahead as lookahead_cli
from levtrade.cli import margin as margin_cli
from levtrade.cli import report as report_cli
from levtrade.cli import trade as trade_cli
from levtrade.cli import venue as venue_cli
from levtrade.cli.logs import GLOBAL_FLAGS, GLOBAL_OPTIONS, configure_logging, hoist

app = typer.Typer(
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


app.add_typer(margin_cli.app, name="margin")
app.add_typer(data_cli.app, name="data")
app.add_typer(venue_cli.app, name="venue")
app.add_typer(trade_cli.app, name="trade")
app.command("backtest", cls=backtest_cli.BacktestCommand)(backtest_cli.backtest)
app.command("lookahead", cls=backtest_cli.BacktestCommand)(lookahead_cli.check)
app.command("report")(report_cli.report)
app.command("init")(init_cli.init)

__all__ = ["GLOBAL_FLAGS", "GLOBAL_OPTIONS", "app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    app(args=hoist(sys.argv[1:] if argv is None else argv), prog_name="levtrade")
