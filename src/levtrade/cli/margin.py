"""``levtrade margin``: the margin calculator, and ``levtrade margin stress``.

``levtrade margin FILE`` (or ``--json < FILE``) runs the calculator: the group's default
command is ``calc``, so any first argument that is not a subcommand name goes to it.
``levtrade margin stress FILE`` runs the stress tests of :mod:`levtrade.risk.stress`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from levtrade.calculator import evaluate, parse_scenarios
from levtrade.errors import ConfigError, LevtradeError
from levtrade.risk.stress import PriceHistory, stress_report

DEFAULT_COMMAND = "calc"


class _CalculatorByDefault(TyperGroup):
    """A group whose default command is the calculator: ``margin FILE`` is ``margin calc FILE``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # Typer's vendored click context
        first = args[0] if args else None
        if first is None or (first not in self.commands and first not in ctx.help_option_names):
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_CalculatorByDefault,
    help="Margin calculator (default: levtrade margin FILE) and stress tests "
    "(levtrade margin stress FILE).",
    add_completion=False,
)

ScenarioArgument = Annotated[
    Path | None,
    typer.Argument(
        help="Scenario JSON (DESIGN.md §5 schema), or an array of scenarios. "
        "Read from standard input when omitted or '-'.",
        show_default=False,
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")]


@app.command(DEFAULT_COMMAND)
def margin(scenario: ScenarioArgument = None, as_json: JsonFlag = False) -> None:
    """Compute equity, margins, liquidation and bankruptcy prices as the venue does."""
    try:
        text = _read(scenario)
        scenarios, is_array = parse_scenarios(text)
        results = [evaluate(s) for s in scenarios]
    except LevtradeError as exc:
        _fail(exc)
    if as_json:
        payload: Any = results if is_array else results[0]
        typer.echo(json.dumps(payload, indent=2))
        return
    console = Console()
    for scenario_model, result in zip(scenarios, results, strict=True):
        _render(console, scenario_model.venue, result)


@app.command("stress")
def stress(
    scenario: ScenarioArgument = None,
    moves: Annotated[
        str,
        typer.Option(
            "--moves",
            help="Ladder moves in percent: START:STOP:STEP (inclusive) or a list like "
            "-30,-10,10. Use --moves=-50:50:10 when the value starts with '-'.",
        ),
    ] = "-50:50:10",
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Directory of candles (<BASEQUOTE>-<tf>-mark/-perp files, or a FreqTrade "
            "futures dir) for historical shocks, the crash replay and the probability of "
            "liquidation.",
        ),
    ] = None,
    timeframe: Annotated[
        str, typer.Option("--timeframe", help="Candle timeframe read from --data.")
    ] = "1h",
    replay: Annotated[
        tuple[str, str] | None,
        typer.Option(
            "--replay",
            help="Crash window START END (UTC, ISO 8601) to replay; default 2025-10-10 "
            "18:00 to 2025-10-11 00:00 when --data covers it.",
        ),
    ] = None,
    replay_timeframe: Annotated[
        str | None,
        typer.Option("--replay-timeframe", help="Timeframe of the replay (default --timeframe)."),
    ] = None,
    window: Annotated[int, typer.Option("--window", help="Bars per historical joint move.")] = 24,
    horizon: Annotated[
        int, typer.Option("--horizon", help="Bars ahead for the probability of liquidation.")
    ] = 24,
    paths: Annotated[int, typer.Option("--paths", help="Bootstrap paths.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Bootstrap seed.")] = 0,
    block: Annotated[int, typer.Option("--block", help="Bootstrap block length in bars.")] = 1,
    aliases: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="SYMBOL=STEM: read SYMBOL's history from STEM's files "
            "(e.g. BTC/USDC:USDC=BTCUSDT). Repeatable.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Stress a scenario: liquidating moves, ladders, shocks, crash replay, P(liquidation).

    Without --data: the moves that liquidate each position and the account, and the ladders
    (jointly and per symbol). With --data: also the worst historical joint moves, the replay of
    a crash window and the bootstrapped probability of liquidation within --horizon bars.
    """
    try:
        scenarios, is_array = parse_scenarios(_read(scenario))
        ladder = _parse_moves(moves)
        mapping = _parse_aliases(aliases or [])
        reports = []
        for item in scenarios:
            symbols = list(dict.fromkeys(p.symbol for p in item.positions))
            history = replay_history = None
            if data is not None and symbols:
                history = PriceHistory.from_dir(data, symbols, timeframe=timeframe, aliases=mapping)
                if replay_timeframe is not None and replay_timeframe != timeframe:
                    replay_history = PriceHistory.from_dir(
                        data, symbols, timeframe=replay_timeframe, aliases=mapping
                    )
            elif replay is not None:
                raise ConfigError("replay: needs --data with the window's candles")
            reports.append(
                stress_report(
                    item,
                    moves=ladder,
                    history=history,
                    replay_history=replay_history,
                    replay=replay,
                    window=window,
                    horizon=horizon,
                    paths=paths,
                    seed=seed,
                    block=block,
                )
            )
    except LevtradeError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps(reports if is_array else reports[0], indent=2))
        return
    console = Console()
    for report in reports:
        _render_stress(console, report)


def _fail(exc: LevtradeError) -> NoReturn:
    """One line on stderr naming the field and value, exit code 2."""
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(code=2) from None


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


def _parse_moves(text: str) -> list[float]:
    """Percent moves: ``START:STOP:STEP`` (inclusive) or a comma list, as fractions."""
    spec = text.strip()
    parts = spec.split(":") if ":" in spec else [p for p in spec.split(",") if p.strip()]
    try:
        numbers = [float(part) for part in parts]
    except ValueError:
        numbers = []
    if not numbers or (":" in spec and len(numbers) != 3):
        raise ConfigError(
            f"moves: expected START:STOP:STEP or a comma list of percents, got {text!r}"
        )
    if ":" not in spec:
        return [n / 100.0 for n in numbers]
    start, stop, step = numbers
    if step <= 0:
        raise ConfigError(f"moves: the step must be > 0, got {text!r}")
    count = round((stop - start) / step)
    if count < 0 or count > 10_000:
        raise ConfigError(f"moves: {text!r} gives no moves from START to STOP by STEP")
    return [round(start + step * i, 10) / 100.0 for i in range(count + 1)]


def _parse_aliases(items: list[str]) -> dict[str, str]:
    mapping = {}
    for item in items:
        symbol, sep, stem = item.partition("=")
        if not sep or not symbol.strip() or not stem.strip():
            raise ConfigError(f"map: expected SYMBOL=STEM, got {item!r}")
        mapping[symbol.strip()] = stem.strip()
    return mapping


# ============================================================================================
# Rendering
# ============================================================================================


def _money(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:+.2%}"


def _ratio(value: float | None) -> str:
    return "∞ (equity ≤ 0)" if value is None else f"{value:.2%}"


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


def _render_stress(console: Console, report: dict[str, Any]) -> None:
    account = report["account"]
    summary = Table(title=f"Stress test ({account['venue']})", show_header=False)
    summary.add_column("")
    summary.add_column("", justify="right")
    summary.add_row("equity", _money(account["equity"]))
    summary.add_row("maintenance margin (cross)", _money(account["maintenance_margin"]))
    summary.add_row("margin ratio", _ratio(account["margin_ratio"]))
    move = account["liquidation_move"]
    first = account["first_liquidation_move"]
    summary.add_row("joint move liquidating the cross pool", _both(move))
    summary.add_row("joint move of the first liquidation", _both(first))
    console.print(summary)

    table = Table(title="Liquidating moves", header_style="bold")
    for name in ("position", "mode", "mark", "liq. price", "own move", "joint move"):
        table.add_column(name, justify="left" if name in ("position", "mode") else "right")
    for p in report["positions"]:
        table.add_row(
            _short(p["label"]),
            p["margin_mode"],
            _money(p["mark_price"]),
            _money(p["liquidation_price"]),
            _percent(p["move"]),
            _percent(p["joint_move"]),
        )
    console.print(table)

    for ladder in report["ladders"]:
        title = (
            "Ladder: all symbols together"
            if ladder["name"] == "joint"
            else (f"Ladder: {ladder['name']} alone")
        )
        table = Table(title=title, header_style="bold")
        for name in ("move", "equity", "PnL", "capped equity", "margin ratio", "liquidated"):
            table.add_column(name, justify="left" if name == "liquidated" else "right")
        for row in ladder["rows"]:
            table.add_row(
                _percent(row["move"]),
                _money(row["equity"]),
                _money(row["pnl"]),
                _money(row["capped_equity"]),
                _ratio(row["margin_ratio"]),
                _liquidated(row["liquidated"]),
            )
        console.print(table)

    shocks = report["historical_shocks"]
    if shocks is not None:
        history = shocks["history"]
        table = Table(
            title=f"Worst historical {shocks['window']}-bar joint moves "
            f"({history['timeframe']} {_kinds(history)}, {history['start']} to {history['end']}): "
            f"{shocks['liquidating_windows']:,} of {shocks['windows']:,} windows liquidate "
            "at their adverse extremes",
            header_style="bold",
        )
        for name in ("from", "to", "moves", "equity", "margin ratio", "liquidated"):
            table.add_column(
                name, justify="right" if name in ("equity", "margin ratio") else "left"
            )
        for shock in shocks["worst"]:
            table.add_row(
                _when(shock["start_utc"]),
                _when(shock["end_utc"]),
                ", ".join(f"{_short(s)} {_percent(m)}" for s, m in shock["moves"].items()),
                _money(shock["equity"]),
                _ratio(shock["margin_ratio"]),
                _liquidated(shock["liquidated"]),
            )
        console.print(table)

    replayed = report["replay"]
    if replayed is not None:
        history = replayed["history"]
        table = Table(
            title=f"Crash replay {replayed['start_utc']} to {replayed['end_utc']} "
            f"({history['timeframe']} {_kinds(history)}, scaled to the marks)",
            header_style="bold",
        )
        for name in ("bar", "equity at extreme", "equity at close", "margin ratio", "liquidated"):
            table.add_column(name, justify="left" if name in ("bar", "liquidated") else "right")
        for bar in replayed["bars"]:
            table.add_row(
                _when(bar["time_utc"]),
                _money(bar["equity_at_extreme"]),
                _money(bar["equity"]),
                _ratio(bar["margin_ratio"]),
                _liquidated(bar["liquidated"]),
            )
        console.print(table)
        console.print(
            f"replay: equity {_money(replayed['initial_equity'])} → "
            f"{_money(replayed['final_equity'])}, minimum {_money(replayed['min_equity'])}; "
            f"liquidated: {', '.join(map(_short, replayed['liquidated'])) or 'none'}"
        )

    probability = report["liquidation_probability"]
    if probability is not None:
        history = probability["history"]
        console.print(
            f"P(liquidation within {probability['horizon']} × {history['timeframe']} bars) = "
            f"{probability['probability']:.2%} ± {probability['standard_error']:.2%} "
            f"(bootstrap of {history['bars']:,} bars, {probability['paths']:,} paths, "
            f"block {probability['block']}, seed {probability['seed']})"
        )
        for label, value in probability["by_position"].items():
            console.print(f"  {_short(label)}: {value:.2%}")
    for note in report["notes"]:
        console.print(f"[yellow]note:[/] {note}")


def _both(moves: dict[str, float | None]) -> str:
    return f"down {_percent(moves['down'])}, up {_percent(moves['up'])}"


def _kinds(history: dict[str, Any]) -> str:
    kinds = set(history["kinds"].values())
    return "mark" if kinds == {"mark"} else "trade" if kinds == {"trade"} else "mark/trade"


def _short(symbol: str) -> str:
    """``BTC/USDT:USDT`` → ``BTC``; ``BTC/USDT:USDT long`` → ``BTC long``."""
    head, _, rest = symbol.partition("/")
    side = rest.partition(" ")[2]
    return f"{head} {side}" if side else head


def _liquidated(labels: list[str]) -> str:
    return f"[bold red]{', '.join(_short(label) for label in labels)}[/]" if labels else ""


def _when(utc: str) -> str:
    """``2025-10-10T21:00:00Z`` → ``2025-10-10 21:00``."""
    return utc.replace("T", " ")[:16]
