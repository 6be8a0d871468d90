"""``levtrade margin``: the margin calculator on a scenario file or standard input."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from levtrade.calculator import evaluate, parse_scenarios
from levtrade.errors import LevtradeError


def margin(
    scenario: Annotated[
        Path | None,
        typer.Argument(
            help="Scenario JSON (DESIGN.md §5 schema), or an array of scenarios. "
            "Read from standard input when omitted or '-'.",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Compute equity, margins, liquidation and bankruptcy prices as the venue does."""
    try:
        text = _read(scenario)
        scenarios, is_array = parse_scenarios(text)
        results = [evaluate(s) for s in scenarios]
    except LevtradeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    if as_json:
        payload: Any = results if is_array else results[0]
        typer.echo(json.dumps(payload, indent=2))
        return
    console = Console()
    for scenario_model, result in zip(scenarios, results, strict=True):
        _render(console, scenario_model.venue, result)


def _read(path: Path | None) -> str:
    if path is None or str(path) == "-":
        if sys.stdin.isatty():
            raise LevtradeError("scenario: give a file or pipe a scenario on standard input")
        return sys.stdin.read()
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LevtradeError(f"scenario: file not found: {str(path)!r}") from None
    except (IsADirectoryError, UnicodeDecodeError, PermissionError) as exc:
        raise LevtradeError(f"scenario: cannot read {str(path)!r}: {exc}") from None


def _money(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


def _render(console: Console, venue: str, result: dict[str, Any]) -> None:
    account = result["account"]
    ratio = account["margin_ratio"]
    summary = Table(title=f"Account ({venue})", show_header=False)
    summary.add_column("")
    summary.add_column("", justify="right")
    summary.add_row("equity", _money(account["equity"]))
    summary.add_row("initial margin", _money(account["initial_margin"]))
    summary.add_row("maintenance margin", _money(account["maintenance_margin"]))
    summary.add_row("margin ratio", "—" if ratio is None else f"{ratio:.2%}")
    summary.add_row("withdrawable", _money(account["withdrawable"]))
    summary.add_row("liquidatable", "[bold red]yes[/]" if account["liquidatable"] else "no")
    console.print(summary)
    if not result["positions"]:
        return
    # one column per position keeps the table readable in a narrow terminal
    table = Table(title="Positions", show_header=True, header_style="bold")
    table.add_column("")
    for p in result["positions"]:
        table.add_column(f"{p['symbol']} {p['side']}", justify="right")
    rows: list[tuple[str, str]] = [
        ("notional", "notional"),
        ("unrealized PnL", "unrealized_pnl"),
        ("initial margin", "initial_margin"),
        ("maintenance margin", "maintenance_margin"),
        ("liquidation price", "liquidation_price"),
        ("bankruptcy price", "bankruptcy_price"),
        ("buffered liq. price", "buffered_liquidation_price"),
        ("max removable margin", "max_removable_margin"),
    ]
    for label, key in rows:
        table.add_row(label, *(_money(p[key]) for p in result["positions"]))
    table.add_row("tier", *(str(p["tier"]) for p in result["positions"]))
    table.add_row(
        "liquidatable",
        *("[bold red]yes[/]" if p["liquidatable"] else "no" for p in result["positions"]),
    )
    console.print(table)
