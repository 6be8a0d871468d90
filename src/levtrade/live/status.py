"""What ``levtrade trade status`` reports: what the store and the venue say, side by side.

Positions as the venue holds them, with levtrade's margin figures (the margin engine loaded
with those positions and the wallet, marked at the last close: equity, margin ratio, each
position's liquidation price next to the venue's own), the open orders, the last
reconciliation, and whether the store agrees with the venue now (a dry-run reconciliation:
nothing is booked or sent).
"""

from __future__ import annotations

import os
from typing import Any

from levtrade.live.runner import Bot
from levtrade.live.settings import TradeSettings
from levtrade.live.store import Store
from levtrade.strategy.base import Strategy


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_summary(store: Store) -> dict[str, Any] | None:
    """The last run: its id, status, pid, whether the process is alive."""
    run = store.last_run()
    if run is None:
        return None
    alive = run.status == "running" and pid_alive(run.pid)
    return {
        "id": run.id,
        "mode": run.mode,
        "strategy": run.strategy,
        "status": run.status if alive or run.status != "running" else "died",
        "pid": run.pid,
        "running": alive,
        "started_at": run.started_at,
        "stopped_at": run.stopped_at,
        "message": run.message,
    }


async def status(settings: TradeSettings) -> dict[str, Any]:
    """The status report (module docstring)."""
    bot = Bot(settings, Strategy)
    try:
        store = await bot.connect()
        reconciler = bot.need(bot.reconciler)
        feed = bot.need(bot.feed)
        adapter = bot.need(bot.adapter)
        broker = bot.need(bot.broker)
        now = feed.now or 0
        report = await reconciler.run("status", now, dry_run=True)
        marks = {s: feed.last_mark(s) for s in settings.symbols}
        closes = {s: feed.last_close(s) for s in settings.symbols}
        broker.load(report.positions, report.wallet, marks, closes)
        account = broker.marks_at_close()
        positions = []
        for p in report.positions:
            key = (p.symbol, p.leg)
            positions.append(
                {
                    "symbol": p.symbol,
                    "leg": p.leg,
                    "size": p.size,
                    "entry_price": p.entry_price,
                    "mark_price": marks.get(p.symbol),
                    "unrealized_pnl": account.unrealized_pnl(key),
                    "margin_mode": p.margin_mode,
                    "leverage": broker.leverage.get(p.symbol),
                    "liquidation_price": account.liquidation_price(key),
                    "venue_liquidation_price": p.liquidation_price,
                }
            )
        orders = [
            {
                "client_id": o.client_id,
                "symbol": o.symbol,
                "side": o.side,
                "type": o.type,
                "amount": o.amount,
                "price": o.price,
                "trigger_price": o.trigger_price,
                "state": o.state,
                "filled": o.filled,
            }
            for o in await adapter.open_orders(settings.symbols)
        ]
        events = store.reconciliations()
        last = events[-1] if events else None
        return {
            "mode": settings.mode,
            "exchange": bot.dialect.name,
            "venue_time": now,
            "run": run_summary(store),
            "wallet": report.wallet,
            "ledger_wallet": report.ledger_wallet,
            "equity": account.total_equity,
            "margin_ratio": account.margin_ratio,
            "positions": positions,
            "open_orders": orders,
            "last_reconciliation": None
            if last is None
            else {
                "venue_time": last.venue_time,
                "recorded_at": last.recorded_at,
                "trigger": last.trigger,
                "outcome": last.outcome,
            },
            "agrees": not report.discrepancies,
            "discrepancies": report.discrepancies,
            "to_book": {
                "fills": len(report.fills),
                "funding": len(report.funding),
                "income": len(report.income),
                "orders": len(report.updated) + len(report.adopted_orders),
            },
        }
    finally:
        await bot.close_connections()
