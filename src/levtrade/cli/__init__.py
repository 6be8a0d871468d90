"""The ``levtrade`` command: one Typer sub-application per concern."""

from __future__ import annotations

import typer

from levtrade.cli import data as data_cli
from levtrade.cli import margin as margin_cli

app = typer.Typer(
    name="levtrade",
    help="Leveraged crypto trading: margin calculator, market data, backtests.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("margin")(margin_cli.margin)
app.add_typer(data_cli.app, name="data")


def main() -> None:
    """Console-script entry point."""
    app()
