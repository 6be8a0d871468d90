"""The ``levtrade`` command: one Typer sub-application per concern."""

from __future__ import annotations

import typer

from levtrade.cli import backtest as backtest_cli
from levtrade.cli import data as data_cli
from levtrade.cli import init as init_cli
from levtrade.cli import margin as margin_cli
from levtrade.cli import report as report_cli

app = typer.Typer(
    name="levtrade",
    help="Leveraged crypto trading: margin calculator, market data, backtests.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(margin_cli.app, name="margin")
app.add_typer(data_cli.app, name="data")
app.command("backtest", cls=backtest_cli.BacktestCommand)(backtest_cli.backtest)
app.command("report")(report_cli.report)
app.command("init")(init_cli.init)


def main() -> None:
    """Console-script entry point."""
    app()
