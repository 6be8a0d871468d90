"""Terminal rendering with Rich: a backtest's summary (:func:`render_summary`), the margin
calculator's account and positions (:func:`render_margin`) and a stress test
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
    fmt_margin_ratio,
    fmt_metric,
    fmt_money,
    fmt_move,
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


def rejections_table(summary: Mapping[str, Any]) -> Table | None:
    """Rejected orders by reason (None when no order was rejected)."""
    orders = summary.get("orders")
    if not isinstance(orders, Mapping) or not orders.get("rejected"):
        return None
    table = Table(title="Rejected orders", show_header=True, header_style="bold")
    table.add_column("reason")
    table.add_column("orders", justify="right")
    for reason, count in (orders.get("rejected_by_reason") or {}).items():
        table.add_row(str(reason), str(count))
    table.add_row(
        "entries rejected",
        f"{orders.get('entries_rejected', 0)} of {orders.get('entries', 0)}",
        style="dim",
    )
    return table


def metrics_table(summary: Mapping[str, Any]) -> Table:
    metrics = summary.get("metrics", {})
    table = _table(
        "Metrics",
        (("metric", "left"), ("value", "right"), ("metric", "left"), ("value", "right")),
        show_header=False,
    )
    cells = [
        (label, fmt_metric(metrics.get(key), kind), key)
        for key, label, kind in METRIC_LABELS
        if key in metrics
    ]
    cells.append(
        ("Max effective leverage", f"{fmt_ratio(summary.get('max_effective_leverage'))}x", "")
    )
    half = (len(cells) + 1) // 2
    for left, right in zip(cells[:half], [*cells[half:], ("", "", "")], strict=True):
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
            ("fees", "right"),
            ("funding", "right"),
            ("liq.", "right"),
            ("max lev.", "right"),
        ),
    )
    for row in summary.get("per_pair", []):
        liquidations = int(row.get("liquidations") or 0)
        table.add_row(
            str(row["pair"]),
            str(row["trades"]),
            fmt_ratio(100 * row["win_rate"]) if _number(row.get("win_rate")) is not None else "—",
            Text(fmt_money(row.get("pnl")), style=_signed_style(row.get("pnl"))),
            fmt_money(row.get("fees")),
            Text(fmt_money(row.get("funding")), style=_signed_style(row.get("funding"))),
            Text(str(liquidations), style="bold red" if liquidations else ""),
            f"{fmt_ratio(row.get('max_effective_leverage'))}x",
        )
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
    for warning in summary.get("warnings") or []:
        console.print(Text(f"WARNING: {warning}", style="bold red"))
    console.print(metrics_table(summary))
    rejected = rejections_table(summary)
    if rejected is not None:
        console.print(rejected)
    console.print(pairs_table(summary))
    console.print(liquidations_table(summary))
    console.print(funding_table(summary))
    margin = margin_table(summary)
    if margin is not None:
        console.print(margin)
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
    """The margin calculator's result (``levtrade margin``): the account, then one column per
    position."""
    account = result["account"]
    ratio = account["margin_ratio"]
    summary = Table(title=f"Account ({venue})", show_header=False)
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
    table.add_row(
        "liquidatable",
        *("[bold red]yes[/]" if p["liquidatable"] else "no" for p in result["positions"]),
    )
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
