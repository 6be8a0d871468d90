"""Terminal rendering with Rich: a backtest's summary (:func:`render_summary`), the margin
calculator's account and positions, pools or assets (:func:`render_margin`) and a stress test
(:func:`render_stress`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from levtrade.report.formatting import (
    MARGIN_NOTE,
    METRIC_LABELS,
    SYNTHETIC_LABEL,
    _number,
    fmt_duration,
    fmt_margin_ratio,
    fmt_metric,
    fmt_money,
    fmt_move,
    fmt_pct,
    fmt_price,
    fmt_ratio,
    fmt_time,
    leverage_text,
    margin_rows,
)


def _signed_style(value: Any) -> str:
    number = _number(value)
    if number is None or number == 0:
        return ""
    return "green" if number > 0 else "red"


# ============================================================================================
# Rendering
# ============================================================================================


def _header(summary: Mapping[str, Any]) -> Group:
    lines: list[Text] = []
    title = Text(f"levtrade backtest — {summary.get('strategy')}", style="bold")
    style = summary.get("strategy_style")
    if style:
        title.append(f"  ({style} strategy, {summary.get('engine')} engine)", style="dim")
    lines.append(title)
    if summary.get("synthetic"):
        lines.append(Text(f" {SYNTHETIC_LABEL} ", style="bold black on yellow"))
    facts = (
        f"{summary.get('venue')} · {summary.get('trading_mode')} · "
        f"{summary.get('margin_mode')} margin · {summary.get('position_mode')} · "
        f"{summary.get('timeframe')} · {fmt_time(summary.get('start'))} → "
        f"{fmt_time(summary.get('end'))} UTC ({summary.get('bars'):,} bars)"
    )
    lines.append(Text(facts))
    stake = summary.get("stake_amount")
    stake_text = stake if isinstance(stake, str) else fmt_money(stake)
    currency = summary.get("stake_currency") or ""
    lines.append(
        Text(
            f"pairs {', '.join(summary.get('pairs', []))} · wallet "
            f"{fmt_money(summary.get('wallet'))} {currency} · stake {stake_text} · "
            f"{leverage_text(summary)} · max open trades "
            f"{summary.get('max_open_trades') or 'no limit'}"
        )
    )
    if summary.get("data_source"):
        lines.append(Text(f"data: {summary.get('data_source')}", style="dim"))
    return Group(*lines)


def metrics_table(summary: Mapping[str, Any]) -> Table:
    metrics = summary.get("metrics", {})
    table = _table(
        "Metrics",
        (("metric", "left"), ("value", "right"), ("metric", "left"), ("value", "right")),
        show_header=False,
    )
    days = metrics.get("days")
    cells = [
        (label, fmt_metric(metrics.get(key), kind, days), key)
        for key, label, kind in METRIC_LABELS
        if key in metrics
    ]
    cells.append(
        ("Max effective leverage", f"{fmt_ratio(summary.get('max_effective_leverage'))}x", "")
    )
    half = (len(cells) + 1) // 2
    right_column = [*cells[half:], ("", "", "")][:half]  # the pad only for an odd count
    for left, right in zip(cells[:half], right_column, strict=True):
        left_style = _signed_style(metrics.get(left[2])) if left[2] == "total_return" else ""
        table.add_row(left[0], Text(left[1], style=left_style), right[0], right[1])
    return table


def _table(title: str, columns: Sequence[tuple[str, str]], **options: Any) -> Table:
    """A compact table (fits 80 columns for the usual widths): no cell wraps."""
    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
        **options,
    )
    for name, justify in columns:
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    return table


def pairs_table(summary: Mapping[str, Any]) -> Table:
    table = _table(
        "Per pair",
        (
            ("pair", "left"),
            ("trades", "right"),
            ("win %", "right"),
            ("PnL", "right"),
            ("avg %", "right"),
            ("funding", "right"),
            ("liq.", "right"),
            ("lev.", "right"),
        ),
        caption="avg %: mean PnL per trade as a share of its stake; lev.: the leverage traded",
        caption_justify="left",
        caption_style="dim",
    )
    for row in summary.get("per_pair", []):
        liquidations = int(row.get("liquidations") or 0)
        traded = _number(row.get("leverage"))
        table.add_row(
            str(row["pair"]),
            str(row["trades"]),
            fmt_ratio(100 * row["win_rate"]) if _number(row.get("win_rate")) is not None else "—",
            Text(fmt_money(row.get("pnl")), style=_signed_style(row.get("pnl"))),
            _pct(row.get("avg_pnl_pct")),
            Text(fmt_money(row.get("funding")), style=_signed_style(row.get("funding"))),
            Text(str(liquidations), style="bold red" if liquidations else ""),
            "—" if traded is None else f"{traded:g}x",
        )
    return table


def _pct(value: Any) -> Text:
    return Text(fmt_pct(value), style=_signed_style(value))


def comparison_table(summary: Mapping[str, Any]) -> Table | None:
    """The same run at several leverages (the demo), with the market's own move."""
    rows = summary.get("leverage_comparison") or []
    if not rows:
        return None
    market = (summary.get("market") or {}).get("buy_and_hold_return")
    table = _table(
        f"Leverage at work: one strategy at {len(rows)} leverages "
        f"({rows[0].get('margin_mode')} margin); buy & hold {fmt_pct(market)}",
        (
            ("lev.", "right"),
            ("return", "right"),
            ("max DD", "right"),
            ("liq.", "right"),
            ("funding paid", "right"),
            ("funding recv.", "right"),
            ("fees", "right"),
            ("refused", "right"),
        ),
        title_style="bold",
        caption="buy & hold: the wallet split equally over the pairs, held unleveraged; "
        "refused: entries the free margin could not carry",
        caption_justify="left",
        caption_style="dim",
    )
    for row in rows:
        liquidations = int(row.get("liquidations") or 0)
        table.add_row(
            f"{float(row['leverage']):g}x",
            _pct(row.get("total_return")),
            fmt_pct(row.get("max_drawdown")),
            Text(str(liquidations), style="bold red" if liquidations else ""),
            fmt_money(row.get("funding_paid")),
            fmt_money(row.get("funding_received")),
            fmt_money(row.get("fees")),
            str(row.get("rejected_entries", 0)),
        )
    return table


def market_line(summary: Mapping[str, Any]) -> Text | None:
    """The strategy's return beside the market's (buy and hold)."""
    market = summary.get("market") or {}
    if market.get("buy_and_hold_return") is None:
        return None
    metrics = summary.get("metrics", {})
    line = Text("Strategy ")
    line.append_text(_pct(metrics.get("total_return")))
    line.append(" vs. buy & hold ")
    line.append_text(_pct(market.get("buy_and_hold_return")))
    moves = ", ".join(
        f"{_short(pair)} {fmt_move(change)}" for pair, change in market.get("by_pair", {}).items()
    )
    line.append(f" (market change: {moves})", style="dim")
    return line


def exit_reasons_table(summary: Mapping[str, Any]) -> Table | None:
    rows = (summary.get("trade_stats") or {}).get("exit_reasons") or []
    if not rows:
        return None
    table = _table(
        "Exit reasons",
        (
            ("reason", "left"),
            ("trades", "right"),
            ("wins", "right"),
            ("losses", "right"),
            ("PnL", "right"),
            ("avg %", "right"),
            ("avg duration", "right"),
        ),
    )
    for row in rows:
        liquidation = row.get("reason") == "liquidation"
        table.add_row(
            Text(str(row["reason"]), style="bold red" if liquidation else ""),
            str(row["trades"]),
            str(row["wins"]),
            str(row["losses"]),
            Text(fmt_money(row.get("pnl")), style=_signed_style(row.get("pnl"))),
            _pct(row.get("avg_pnl_pct")),
            fmt_duration(row.get("avg_duration_ms")),
        )
    return table


def trades_overview(summary: Mapping[str, Any]) -> Table | None:
    """Durations, best and worst trade and pair, long/short, expectancy, refused entries."""
    stats = summary.get("trade_stats") or {}
    if not stats.get("best_trade"):
        return None
    metrics = summary.get("metrics", {})
    table = _table("Trades", (("", "left"), ("", "left")), show_header=False)
    durations = stats.get("durations") or {}
    table.add_row(
        "avg duration",
        f"{fmt_duration(durations.get('all'))} (winners {fmt_duration(durations.get('winners'))}"
        f", losers {fmt_duration(durations.get('losers'))})",
    )
    for label, key in (("best trade", "best_trade"), ("worst trade", "worst_trade")):
        trade = stats[key]
        table.add_row(
            label,
            f"{_short(trade['pair'])} {trade['side']} {fmt_pct(trade['pnl_pct'])} "
            f"({fmt_money(trade['pnl'])}, {trade['exit_reason']}, {fmt_time(trade['exit_time'])})",
        )
    for label, key in (("best pair", "best_pair"), ("worst pair", "worst_pair")):
        pair = stats.get(key)
        if pair:
            table.add_row(label, f"{pair['pair']} {fmt_money(pair['pnl'])}")
    for side in stats.get("sides") or []:
        table.add_row(
            f"{side['side']}s",
            f"{side['trades']} trades, {side['wins']} won ({fmt_pct(side['win_rate'])}), "
            f"PnL {fmt_money(side['pnl'])}",
        )
    table.add_row(
        "expectancy",
        f"{fmt_money(metrics.get('expectancy'))} per trade "
        f"(ratio {fmt_ratio(metrics.get('expectancy_ratio'))})",
    )
    refused = summary.get("rejected_entries") or {}
    text = ", ".join(f"{count} {reason.replace('_', ' ')}" for reason, count in refused.items())
    table.add_row("entries refused", text or "none")
    return table


def liquidations_table(summary: Mapping[str, Any]) -> Table | Text:
    rows = summary.get("liquidations", [])
    if not rows:
        return Text("Liquidations: none", style="green")
    modes = sorted({str(r.get("margin_mode")) for r in rows})
    table = _table(
        f"Liquidations ({len(rows)}, {'/'.join(modes)} margin)",
        (
            ("time (UTC)", "left"),
            ("pair", "left"),
            ("position", "left"),
            ("entry", "right"),
            ("liq. at", "right"),
            ("PnL", "right"),
        ),
        title_style="bold red",
    )
    for row in rows:
        table.add_row(
            fmt_time(row.get("time")),
            str(row["pair"]),
            f"{row['side']} {float(row.get('leverage') or 0):g}x",
            fmt_price(row.get("entry_price")),
            fmt_price(row.get("price")),
            Text(fmt_money(row.get("pnl")), style="red"),
        )
    return table


def funding_table(summary: Mapping[str, Any]) -> Table:
    funding = summary.get("funding", {})
    rate = summary.get("futures_funding_rate")
    hours = summary.get("funding_interval_hours")
    table = _table(
        "Funding",
        (
            ("pair", "left"),
            ("source", "left"),
            ("paid", "right"),
            ("received", "right"),
            ("net", "right"),
        ),
    )
    for pair, row in funding.get("by_pair", {}).items():
        source = str(row.get("source", "data"))
        if source == "constant" and rate is not None:
            source = f"constant {float(rate) * 100:g} % / {float(hours or 8):g} h"
        table.add_row(
            str(pair),
            source,
            fmt_money(row.get("paid")),
            fmt_money(row.get("received")),
            Text(fmt_money(row.get("net")), style=_signed_style(row.get("net"))),
        )
    table.add_row(
        "total",
        "",
        fmt_money(funding.get("paid")),
        fmt_money(funding.get("received")),
        Text(fmt_money(funding.get("net")), style=_signed_style(funding.get("net"))),
        style="bold",
    )
    return table


def margin_table(summary: Mapping[str, Any]) -> Table | None:
    rows = margin_rows(summary)
    if not rows:
        return None
    table = Table(
        title="Margin",
        title_justify="left",
        caption=MARGIN_NOTE,
        caption_justify="left",
        caption_style="dim",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
        show_header=False,
    )
    table.add_column("figure", justify="left", no_wrap=True)
    table.add_column("value", justify="left", overflow="fold")
    for label, value, style in rows:
        table.add_row(label, Text(value, style="bold red" if style == "bad" else ""))
    return table


def render_summary(summary: Mapping[str, Any], console: Console) -> None:
    """Print the summary: header, metrics, per-pair table, liquidations, funding, the margin
    analyzers' figures, notes and where the outputs went."""
    console.print(Panel(_header(summary), expand=False))
    for warning in summary.get("warnings", []):
        console.print(Text(f"warning: {warning}", style="bold red"))
    comparison = comparison_table(summary)
    if comparison is not None:
        console.print(comparison)
        console.print(
            Text(f"Below: the {float(summary.get('leverage') or 1):g}x run in full.", style="dim")
        )
    market = market_line(summary)
    if market is not None:
        console.print(market)
    console.print(metrics_table(summary))
    console.print(pairs_table(summary))
    console.print(liquidations_table(summary))
    console.print(funding_table(summary))
    for table in (exit_reasons_table(summary), trades_overview(summary), margin_table(summary)):
        if table is not None:
            console.print(table)
    for note in summary.get("notes", []):
        console.print(Text(f"note: {note}", style="yellow"))
    outputs = summary.get("outputs") or {}
    if outputs.get("report"):
        console.print(Text(f"Report:  {outputs['report']}", style="bold"))
    if outputs.get("results"):
        console.print(Text(f"Results: {outputs['results']}", style="bold"))
    if summary.get("synthetic"):
        console.print(Text(SYNTHETIC_LABEL, style="bold yellow"))


def render_margin(console: Console, venue: str, result: Mapping[str, Any]) -> None:
    """The margin calculator's result (``levtrade margin``): a futures account and one column
    per position; each pool of an account pooled across DEXs; or a spot-margin account and one
    column per asset."""
    if "pools" in result:
        console.print(Text(f"{venue} · {result['account_type']} account", style="bold"))
        for pool in result["pools"]:
            currency = pool["currency"] or "—"
            _render_futures(console, f"Pool {pool['pool']} ({currency})", pool)
        worst = result["worst_pool"]
        verdict = "[bold red]liquidatable[/]" if result["liquidatable"] else "not liquidatable"
        console.print(f"worst pool: {worst or '—'}; the account is {verdict}")
        return
    if "assets" in result:
        _render_spot(console, venue, result)
        return
    _render_futures(console, f"Account ({venue})", result)


def _render_futures(console: Console, title: str, result: Mapping[str, Any]) -> None:
    account = result["account"]
    ratio = account["margin_ratio"]
    summary = Table(title=title, show_header=False)
    summary.add_column("")
    summary.add_column("", justify="right")
    summary.add_row("equity", fmt_money(account["equity"]))
    summary.add_row("initial margin", fmt_money(account["initial_margin"]))
    summary.add_row("maintenance margin", fmt_money(account["maintenance_margin"]))
    summary.add_row("margin ratio", "—" if ratio is None else f"{ratio:.2%}")
    summary.add_row("withdrawable", fmt_money(account["withdrawable"]))
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
        table.add_row(label, *(fmt_money(p[key]) for p in result["positions"]))
    table.add_row("tier", *(str(p["tier"]) for p in result["positions"]))
    if "margin_mode" in result["positions"][0]:
        table.add_row("margin mode", *(p["margin_mode"] for p in result["positions"]))
    table.add_row(
        "liquidatable",
        *("[bold red]yes[/]" if p["liquidatable"] else "no" for p in result["positions"]),
    )
    console.print(table)


def _render_spot(console: Console, venue: str, result: Mapping[str, Any]) -> None:
    """A spot or spot-margin account: its margin level against the venue's thresholds, then
    per asset what it holds and owes and the prices of the margin call and liquidation."""
    account = result["account"]
    mode = account["trading_mode"]
    if account["margin_mode"]:
        mode = f"{mode}, {account['margin_mode']}"
    summary = Table(title=f"Account ({venue}, {mode}, in {account['currency']})", show_header=False)
    summary.add_column("")
    summary.add_column("", justify="right")
    summary.add_row("total assets", fmt_money(account["total_assets"]))
    summary.add_row("liabilities", fmt_money(account["total_liabilities"]))
    summary.add_row("unpaid interest", fmt_money(account["unpaid_interest"]))
    summary.add_row("equity", fmt_money(account["equity"]))
    if account["margin_call_level"] is not None:
        level = account["margin_level"]
        summary.add_row("margin level", "∞ (no loans)" if level is None else f"{level:.4f}")
        summary.add_row(
            "thresholds",
            f"borrow {account['borrow_level']:g} · call {account['margin_call_level']:g} · "
            f"liquidation {account['liquidation_level']:g}",
        )
        summary.add_row("status", account["status"].replace("_", " "))
        summary.add_row("interest per hour", fmt_money(account["interest_per_hour"]))
        if account["asset"] is not None:
            summary.add_row(
                f"{account['asset']} margin-call price", fmt_price(account["margin_call_price"])
            )
            summary.add_row(
                f"{account['asset']} liquidation price", fmt_price(account["liquidation_price"])
            )
        summary.add_row("liquidatable", "[bold red]yes[/]" if account["liquidatable"] else "no")
    console.print(summary)
    if not result["assets"]:
        return
    table = Table(title="Assets", show_header=True, header_style="bold")
    table.add_column("")
    for row in result["assets"]:
        table.add_column(row["asset"], justify="right")
    assets = result["assets"]
    table.add_row("price", *(fmt_price(r["price"]) for r in assets))
    table.add_row("holding", *(fmt_price(r["holding"]) for r in assets))
    table.add_row("loan", *(fmt_price(r["loan"]) for r in assets))
    table.add_row("unpaid interest", *(fmt_price(r["unpaid_interest"]) for r in assets))
    table.add_row("net value", *(fmt_money(r["value"]) for r in assets))
    if account["margin_call_level"] is not None:
        table.add_row("margin-call price", *(fmt_price(r["margin_call_price"]) for r in assets))
        table.add_row("move to margin call", *(fmt_move(r["move_to_margin_call"]) for r in assets))
        table.add_row("liquidation price", *(fmt_price(r["liquidation_price"]) for r in assets))
        table.add_row("move to liquidation", *(fmt_move(r["move_to_liquidation"]) for r in assets))
        table.add_row("interest per hour", *(fmt_money(r["interest_per_hour"]) for r in assets))
    console.print(table)


def render_stress(console: Console, report: Mapping[str, Any]) -> None:
    """A stress test (``levtrade margin stress``): liquidating moves, ladders, historical
    shocks, the crash replay and the probability of liquidation."""
    account = report["account"]
    summary = Table(title=f"Stress test ({account['venue']})", show_header=False)
    summary.add_column("")
    summary.add_column("", justify="right")
    summary.add_row("equity", fmt_money(account["equity"]))
    summary.add_row("maintenance margin (cross)", fmt_money(account["maintenance_margin"]))
    summary.add_row("margin ratio", fmt_margin_ratio(account["margin_ratio"]))
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
            fmt_money(p["mark_price"]),
            fmt_money(p["liquidation_price"]),
            fmt_move(p["move"]),
            fmt_move(p["joint_move"]),
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
                fmt_move(row["move"]),
                fmt_money(row["equity"]),
                fmt_money(row["pnl"]),
                fmt_money(row["capped_equity"]),
                fmt_margin_ratio(row["margin_ratio"]),
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
                ", ".join(f"{_short(s)} {fmt_move(m)}" for s, m in shock["moves"].items()),
                fmt_money(shock["equity"]),
                fmt_margin_ratio(shock["margin_ratio"]),
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
                fmt_money(bar["equity_at_extreme"]),
                fmt_money(bar["equity"]),
                fmt_margin_ratio(bar["margin_ratio"]),
                _liquidated(bar["liquidated"]),
            )
        console.print(table)
        console.print(
            f"replay: equity {fmt_money(replayed['initial_equity'])} → "
            f"{fmt_money(replayed['final_equity'])}, minimum {fmt_money(replayed['min_equity'])}; "
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


def render_spot_stress(console: Console, report: Mapping[str, Any]) -> None:
    """A spot-margin stress test (``levtrade margin stress`` of a margin scenario)."""
    account = report["account"]
    summary = Table(title=f"Stress test ({account['venue']}, margin)", show_header=False)
    summary.add_column("")
    summary.add_column("", justify="right")
    summary.add_row("equity", fmt_money(account["equity"]))
    level = account["margin_level"]
    summary.add_row("margin level", "∞ (no loans)" if level is None else f"{level:.4f}")
    summary.add_row(
        "thresholds",
        f"call {account['margin_call_level']:g} · liquidation {account['liquidation_level']:g}",
    )
    summary.add_row("joint move liquidating the account", _both(account["liquidation_move"]))
    console.print(summary)
    table = Table(title="Liquidating moves", header_style="bold")
    for name in ("asset", "price", "call price", "move to call", "liq. price", "move to liq."):
        table.add_column(name, justify="left" if name == "asset" else "right")
    for row in report["assets"]:
        table.add_row(
            row["asset"],
            fmt_price(row["price"]),
            fmt_price(row["margin_call_price"]),
            fmt_move(row["move_to_margin_call"]),
            fmt_price(row["liquidation_price"]),
            fmt_move(row["move_to_liquidation"]),
        )
    console.print(table)
    for ladder in report["ladders"]:
        title = (
            "Ladder: all assets together"
            if ladder["name"] == "joint"
            else f"Ladder: {ladder['name']} alone"
        )
        table = Table(title=title, header_style="bold")
        for name in ("move", "equity", "margin level", "status"):
            table.add_column(name, justify="left" if name == "status" else "right")
        for row in ladder["rows"]:
            level = row["margin_level"]
            status = row["status"].replace("_", " ")
            table.add_row(
                fmt_move(row["move"]),
                fmt_money(row["equity"]),
                "∞" if level is None else f"{level:.4f}",
                f"[bold red]{status}[/]" if row["liquidated"] else status,
            )
        console.print(table)
    shocks = report["historical_shocks"]
    if shocks is not None:
        history = shocks["history"]
        table = Table(
            title=f"Worst historical {shocks['window']}-bar moves ({history['timeframe']}, "
            f"{history['start']} to {history['end']}): {shocks['liquidating_windows']:,} of "
            f"{shocks['windows']:,} windows liquidate at their adverse extremes",
            header_style="bold",
        )
        for name in ("from", "to", "moves", "equity", "margin level"):
            table.add_column(
                name, justify="right" if name in ("equity", "margin level") else "left"
            )
        for shock in shocks["worst"]:
            level = shock["margin_level"]
            table.add_row(
                _when(shock["start_utc"]),
                _when(shock["end_utc"]),
                ", ".join(f"{a} {fmt_move(m)}" for a, m in shock["moves"].items()),
                fmt_money(shock["equity"]),
                "∞" if level is None else f"{level:.4f}",
            )
        console.print(table)


def _both(moves: dict[str, float | None]) -> str:
    return f"down {fmt_move(moves['down'])}, up {fmt_move(moves['up'])}"


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
