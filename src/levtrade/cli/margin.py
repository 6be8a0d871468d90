"""``levtrade margin``: the margin calculator, and ``levtrade margin stress``.

``levtrade margin FILE`` (or ``--json < FILE``) runs the calculator: the group's default
command is ``calc``, so any first argument that is not a subcommand name goes to it. The
scenario is a file (one account, or an array of them), ccxt ``fetch_positions()`` output (with
``--venue`` and ``--wallet``), or the quick form on the command line:
``levtrade margin --venue binance --long 1@100000 --leverage 20 --wallet 10000``.
``levtrade margin stress FILE`` runs the stress tests of :mod:`levtrade.risk.stress`.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from typer.core import TyperGroup

from levtrade._jit import plain_calls
from levtrade._json import to_json_value
from levtrade.calculator import (
    Scenario,
    SpotScenario,
    evaluate,
    is_ccxt_positions,
    parse_scenarios,
    quick_scenario,
    read_document,
    scenario_from_ccxt,
    scenarios_from,
)
from levtrade.cli.failure import fail
from levtrade.errors import ConfigError, LevtradeError
from levtrade.report.terminal import render_margin, render_spot_stress, render_stress

DEFAULT_COMMAND = "calc"

MAX_MOVE_PERCENT = 10_000.0
"""The largest price move a ladder takes, in percent (a hundredfold price)."""


class _CalculatorByDefault(TyperGroup):
    """A group whose default command is the calculator: ``margin FILE`` is ``margin calc FILE``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # Typer's vendored click context
        first = args[0] if args else None
        if first is None or (first not in self.commands and first not in ctx.help_option_names):
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_CalculatorByDefault,
    help="Margin calculator (levtrade margin FILE, or one position: levtrade margin --venue "
    "binance --long 1@100000 --leverage 20 --wallet 10000; options: levtrade margin calc "
    "--help) and stress tests (levtrade margin stress FILE).",
    add_completion=False,
)

ScenarioArgument = Annotated[
    Path | None,
    typer.Argument(
        help="Scenario JSON (schema: docs/margin.md), an array of scenarios, or ccxt "
        "fetch_positions() output (with --venue and --wallet). Read from standard input when "
        "omitted or '-'.",
        show_default=False,
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")]
VenueOption = Annotated[
    str | None, typer.Option("--venue", help="binance, bybit, okx, hyperliquid or dydx.")
]
LongOption = Annotated[
    list[str] | None,
    typer.Option("--long", help="A long position SIZE@PRICE, e.g. 1@100000 (repeatable)."),
]
ShortOption = Annotated[
    list[str] | None,
    typer.Option("--short", help="A short position SIZE@PRICE (repeatable)."),
]
LeverageOption = Annotated[
    float | None, typer.Option("--leverage", help="Leverage of the quick form's positions.")
]
WalletOption = Annotated[
    float | None,
    typer.Option("--wallet", help="Cross wallet balance (quick form, ccxt positions)."),
]
SymbolOption = Annotated[
    str, typer.Option("--symbol", help="Symbol of the quick form's positions.")
]
MarginModeOption = Annotated[
    str, typer.Option("--margin-mode", help="cross or isolated (quick form).")
]
MarkOption = Annotated[
    float | None, typer.Option("--mark", help="Mark price (quick form; default: the entry).")
]


@app.command(DEFAULT_COMMAND)
def margin(
    scenario: ScenarioArgument = None,
    as_json: JsonFlag = False,
    venue: VenueOption = None,
    longs: LongOption = None,
    shorts: ShortOption = None,
    leverage: LeverageOption = None,
    wallet: WalletOption = None,
    symbol: SymbolOption = "BTC/USDT:USDT",
    margin_mode: MarginModeOption = "cross",
    mark: MarkOption = None,
) -> None:
    """Compute equity, margins, liquidation and bankruptcy prices as the venue does; for spot
    margin, the margin level and the prices of the margin call and liquidation."""
    try:
        with plain_calls():  # a few figures: the formulas' originals, no Numba
            if longs or shorts:
                if scenario is not None:
                    raise ConfigError("scenario: give a scenario file or --long/--short, not both")
                missing = [
                    n for n, v in (("--venue", venue), ("--leverage", leverage)) if v is None
                ]
                if missing:
                    raise ConfigError(
                        f"{missing[0].lstrip('-')}: the quick form needs {missing[0]}"
                    )
                assert venue is not None and leverage is not None
                scenarios = [
                    quick_scenario(
                        venue=venue,
                        wallet=0.0 if wallet is None else wallet,
                        leverage=leverage,
                        longs=longs,
                        shorts=shorts,
                        symbol=symbol,
                        margin_mode=margin_mode,
                        mark=mark,
                    )
                ]
                is_array = False
            else:
                scenarios, is_array = _scenarios(_read(scenario), venue, wallet)
            results = [evaluate(s) for s in scenarios]
    except LevtradeError as exc:
        fail(exc)
    if as_json:
        payload: Any = results if is_array else results[0]
        typer.echo(json.dumps(to_json_value(payload), indent=2, allow_nan=False))
        return
    console = Console()
    for scenario_model, result in zip(scenarios, results, strict=True):
        render_margin(console, scenario_model.venue, result)


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
    # the stress tests' modules (pandas, the bootstrap) load only for this command
    from levtrade.risk.spot_stress import spot_stress_report
    from levtrade.risk.stress import PriceHistory, check_bootstrap, stress_report

    stderr = Console(stderr=True)
    bar = Progress(
        TextColumn("bootstrap paths"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=stderr,
        transient=True,
        disable=as_json or not stderr.is_terminal,
    )
    task = bar.add_task("paths", total=paths)

    def advance(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    try:
        if data is not None:
            check_bootstrap(horizon, paths, block)
        scenarios, is_array = parse_scenarios(_read(scenario))
        ladder = _parse_moves(moves)
        mapping = _parse_aliases(aliases or [])
        reports = []
        for item in scenarios:
            if isinstance(item, SpotScenario):
                if replay is not None:
                    raise ConfigError("replay: the crash replay stresses futures accounts")
                reports.append(
                    spot_stress_report(
                        item,
                        moves=ladder,
                        data_dir=data,
                        timeframe=timeframe,
                        aliases=mapping,
                        window=window,
                    )
                )
                continue
            if not isinstance(item, Scenario):
                raise ConfigError(
                    "scenario: stress tests take one account (a futures account, or a spot "
                    "margin one); an account pooled across DEXs is stressed pool by pool"
                )
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
            with bar:
                report = stress_report(
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
                    progress=advance,
                )
            reports.append(report)
    except LevtradeError as exc:
        fail(exc)
    if as_json:
        payload = to_json_value(reports if is_array else reports[0])
        typer.echo(json.dumps(payload, indent=2, allow_nan=False))
        return
    console = Console()
    for report in reports:
        if "ladders" in report and "assets" in report:
            render_spot_stress(console, report)
        else:
            render_stress(console, report)


def _scenarios(text: str, venue: str | None, wallet: float | None) -> tuple[list[Any], bool]:
    """Scenarios from a document: levtrade's own, or ccxt ``fetch_positions()`` output."""
    raw = read_document(text)
    if is_ccxt_positions(raw):
        if venue is None or wallet is None:
            raise ConfigError(
                "scenario: ccxt fetch_positions() output needs --venue and --wallet (the "
                "positions do not carry them)"
            )
        return [scenario_from_ccxt(raw, venue=venue, wallet=wallet)], False
    return scenarios_from(raw)


def _read(path: Path | None) -> str:
    """The scenario's text: the file's, or standard input's; bytes that are not UTF-8 are an
    error naming where they are (never decoded into a venue or symbol name)."""
    if path is None or str(path) == "-":
        if sys.stdin.isatty():
            raise LevtradeError("scenario: give a file or pipe a scenario on standard input")
        stream = getattr(sys.stdin, "buffer", None)
        data = stream.read() if stream is not None else sys.stdin.read().encode("utf-8")
        where = "standard input"
    else:
        where = repr(str(path))
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise LevtradeError(f"scenario: file not found: {where}") from None
        except IsADirectoryError:
            raise LevtradeError(f"scenario: {where} is a directory, not a scenario file") from None
        except OSError as exc:
            raise LevtradeError(f"scenario: cannot read {where}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LevtradeError(
            f"scenario: {where} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start})"
        ) from None


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
    for number in numbers:
        if not (math.isfinite(number) and abs(number) <= MAX_MOVE_PERCENT):
            raise ConfigError(
                f"moves: {number!r} % is not a price move; moves lie within "
                f"±{MAX_MOVE_PERCENT:g} % (got {text!r})"
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
