"""``levtrade trade``: run a strategy on paper or live (``run``), see what the store and the
venue say (``status``), stop a running bot (``stop``, optionally closing every position), and
reconcile the store with the venue by hand (``reconcile``). See docs/trading.md.

``levtrade``'s ``-v`` (info), ``-vv`` (debug) and ``--logfile FILE`` apply; a trading run writes
its log file structured, one JSON object a line. ``run`` shows a live status table on a
terminal (``--no-view`` to turn it off). Errors are one line on stderr and exit code 1.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from levtrade._json import to_json_value
from levtrade.cli.failure import fail
from levtrade.configuration import StrategyFailure, load_strategy
from levtrade.configuration.plan import signal_instance
from levtrade.configuration.trade import TradeConfig, load_trade_config
from levtrade.errors import LevtradeError
from levtrade.live.runner import Bot
from levtrade.live.status import pid_alive, run_summary, status
from levtrade.live.store import Store
from levtrade.strategy.base import Strategy
from levtrade.strategy.signal_strategy import SignalStrategy

app = typer.Typer(
    help="Paper and live trading through ccxt (docs/trading.md).", no_args_is_help=True
)

ConfigOption = Annotated[
    list[Path],
    typer.Option("--config", "-c", help="Configuration (.toml or .json; FreqTrade keys accepted)."),
]


class JsonLines(logging.Formatter):
    """One JSON object per log line: time, level, logger, message."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def _structured() -> None:
    """The log file of a trading run (``levtrade --logfile``): one JSON object a line."""
    for handler in logging.getLogger("levtrade").handlers:
        if isinstance(handler, logging.FileHandler):
            handler.setFormatter(JsonLines())


def _config(paths: list[Path]) -> TradeConfig:
    try:
        return load_trade_config(paths)
    except LevtradeError as exc:
        fail(exc)


@app.command("run")
def run(
    config: ConfigOption,
    adopt: Annotated[
        bool, typer.Option("--adopt", help="Take over positions and orders found on the venue.")
    ] = False,
    view: Annotated[bool, typer.Option("--view/--no-view", help="Live status table.")] = True,
) -> None:
    """Run the configuration's strategy on paper (dry_run = true) or live, until SIGINT or
    SIGTERM (``levtrade trade stop``)."""
    _structured()
    cfg = _config(config)
    try:
        if cfg.strategy is None:
            raise LevtradeError('strategy: set strategy = "path.py:ClassName" in the config')
        search = [] if cfg.strategy_path is None else [cfg.path(cfg.strategy_path)]
        loaded = load_strategy(cfg.strategy, base_dir=cfg.base_dir, search=search)
        strategy: type[Strategy] | SignalStrategy = loaded.cls
        stoploss = None
        if not issubclass(loaded.cls, Strategy):
            if cfg.timeframe is None:
                raise LevtradeError("timeframe: required for trading")
            strategy = signal_instance(
                cfg, loaded, cfg.resolved_pairs(), cfg.timeframe,
                "dry_run" if cfg.dry_run else "live",
            )  # fmt: skip
            stoploss = strategy.stoploss
        settings = cfg.trade_settings(
            strategy_name=loaded.name, adopt=adopt, strategy_stoploss=stoploss
        )
    except StrategyFailure as exc:
        fail(exc.message, exc.details)
    except LevtradeError as exc:
        fail(exc)
    bot = Bot(settings, strategy, cfg.params if isinstance(strategy, type) else None)
    console = Console(stderr=True)
    live = Live(console=console, auto_refresh=False) if view and console.is_terminal else None

    def show(running: Bot) -> None:
        if live is not None:
            live.update(_view(running), refresh=True)

    try:
        if live is not None:
            live.start()
        asyncio.run(bot.run(on_step=show))
    except LevtradeError as exc:
        fail(exc)
    except KeyboardInterrupt:
        fail("interrupted")
    finally:
        if live is not None:
            live.stop()


def _view(bot: Bot) -> Group:
    """The live status table: the account, positions with liquidation prices, open orders."""
    broker = bot.broker
    report = bot.last_report
    head = Table(show_header=False, box=None)
    head.add_row("mode", bot.settings.mode, "venue", bot.dialect.name)
    if broker is None or report is None:
        return Group(head)
    account = broker.marks_at_close()
    head.add_row(
        "equity", f"{account.total_equity:,.2f}", "margin ratio", f"{account.margin_ratio:.4f}"
    )
    head.add_row("wallet", f"{report.wallet:,.2f}", "reconciled", report.outcome)
    positions = Table("symbol", "leg", "size", "entry", "liquidation")
    for p in report.positions:
        price = broker.liquidation_price(broker.spec.column(p.symbol), p.leg)
        positions.add_row(p.symbol, p.leg, f"{p.size:g}", f"{p.entry_price:,.2f}",
                          "—" if price is None else f"{price:,.2f}")  # fmt: skip
    orders = Table("client id", "symbol", "side", "type", "amount", "state")
    store = bot.store
    if store is not None:
        for row in store.orders(("open", "partially_filled", "intent", "ambiguous")):
            orders.add_row(
                row.client_id, row.symbol, row.side, row.type, f"{row.amount:g}", row.state
            )
    return Group(head, positions, orders)


@app.command("status")
def status_command(
    config: ConfigOption,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """What the store and the venue say: positions, open orders, equity, margin ratio,
    liquidation prices, the last reconciliation, and whether the store agrees with the venue."""
    cfg = _config(config)
    try:
        report = asyncio.run(status(cfg.trade_settings()))
    except LevtradeError as exc:
        fail(exc)
    if as_json:
        typer.echo(json.dumps(to_json_value(report)))
        return
    console = Console()
    run_info = report["run"] or {}
    console.print(
        f"[bold]{report['mode']}[/bold] on {report['exchange']}: "
        f"run {run_info.get('id', '—')} {run_info.get('status', 'never run')}"
    )
    console.print(
        f"wallet {report['wallet']:,.2f}  equity {report['equity']:,.2f}  "
        f"margin ratio {report['margin_ratio']:.4f}"
    )
    positions = Table(
        "symbol", "leg", "size", "entry", "mark", "uPnL", "liq. (levtrade)", "liq. (venue)"
    )
    for p in report["positions"]:
        positions.add_row(
            p["symbol"], p["leg"], f"{p['size']:g}", f"{p['entry_price']:,.2f}",
            f"{p['mark_price']:,.2f}", f"{p['unrealized_pnl']:,.2f}",
            _price(p["liquidation_price"]), _price(p["venue_liquidation_price"]),
        )  # fmt: skip
    console.print(positions)
    orders = Table("client id", "symbol", "side", "type", "amount", "price", "trigger", "state")
    for o in report["open_orders"]:
        orders.add_row(o["client_id"] or "", o["symbol"], o["side"], o["type"], f"{o['amount']:g}",
                       _price(o["price"]), _price(o["trigger_price"]), o["state"])  # fmt: skip
    console.print(orders)
    last = report["last_reconciliation"]
    if last is not None:
        console.print(f"last reconciliation: {last['trigger']} → {last['outcome']}")
    if report["agrees"]:
        console.print("the store agrees with the venue")
    else:
        for line in report["discrepancies"]:
            console.print(f"[red]discrepancy[/red]: {line}")


def _price(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


@app.command("stop")
def stop(
    config: ConfigOption,
    flatten: Annotated[
        bool, typer.Option("--flatten", help="Cancel the bot's orders and close every position.")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the bot to stop.")] = 60.0,
) -> None:
    """Stop the running bot gracefully (SIGTERM); with --flatten it closes every position
    reduce-only first. With no bot running, --flatten does it here."""
    cfg = _config(config)
    try:
        settings = cfg.trade_settings()
        store = Store.open(settings.db_url)
    except LevtradeError as exc:
        fail(exc)
    summary = run_summary(store)
    running = summary is not None and summary["running"]
    if flatten:
        store.set_cursor("stop:flatten", "requested")
    store.close()
    if running and summary is not None:
        pid = int(summary["pid"])
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while not _ended(settings.db_url, pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not _ended(settings.db_url, pid):
            fail(f"the bot (pid {pid}) did not stop within {timeout:g} s")
        typer.echo(f"stopped run {summary['id']} (pid {pid})")
        return
    if not flatten:
        typer.echo("no bot is running")
        return
    try:
        asyncio.run(_flatten(settings))
    except LevtradeError as exc:
        fail(exc)
    typer.echo("flattened: the bot's orders cancelled, every position closing reduce-only")


def _ended(db_url: str, pid: int) -> bool:
    """The bot recorded the end of its run, or its process is gone."""
    if not pid_alive(pid):
        return True
    store = Store.open(db_url)
    try:
        summary = run_summary(store)
    finally:
        store.close()
    return summary is None or summary["status"] != "running"


async def _flatten(settings: Any) -> None:
    bot = Bot(settings, Strategy)
    try:
        store = await bot.connect()
        bot.run_id = store.start_run(mode=settings.mode, exchange=bot.dialect.name,
                                     strategy="flatten", pid=os.getpid())  # fmt: skip
        bot.need(bot.reconciler).run_id = bot.run_id
        await bot.flatten()
        store.set_cursor("stop:flatten", "done")
    finally:
        await bot.close("stopped", "flatten")


@app.command("reconcile")
def reconcile(
    config: ConfigOption,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what it would book; change nothing.")
    ] = False,
    adopt: Annotated[
        bool, typer.Option("--adopt", help="Take over positions found on the venue.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Reconcile the store with the venue now: book the fills, funding and liquidations it
    does not have, adopt orders placed outside the bot, and name any discrepancy."""
    cfg = _config(config)
    try:
        details = asyncio.run(_reconcile(cfg.trade_settings(), dry_run=dry_run, adopt=adopt))
    except LevtradeError as exc:
        fail(exc)
    if as_json:
        typer.echo(json.dumps(to_json_value(details)))
        return
    console = Console()
    console.print(f"reconciliation: {details['outcome']}")
    for name in ("fills", "funding", "income", "orders_updated", "adopted_orders",
                 "adopted_positions"):  # fmt: skip
        if details.get(name):
            console.print(f"{name}: {len(details[name])}")
    for line in details.get("discrepancies", []):
        console.print(f"[red]discrepancy[/red]: {line}")


async def _reconcile(settings: Any, *, dry_run: bool, adopt: bool) -> dict[str, Any]:
    bot = Bot(settings, Strategy)
    try:
        await bot.connect()
        feed = bot.need(bot.feed)
        report = await bot.need(bot.reconciler).run(
            "manual", feed.now or 0, adopt=adopt, dry_run=dry_run
        )
        return {"outcome": report.outcome, **report.details()}
    finally:
        await bot.close_connections()
