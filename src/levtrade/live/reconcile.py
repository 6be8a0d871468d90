"""Reconciliation: make the store say what the venue did, or refuse to trade, naming why.

It runs at start, after every closed candle, after any ambiguous answer, and on demand
(``levtrade trade reconcile``). In three phases, so that no transaction waits on the network:

1. **gather** (reads only): every order the store holds as in flight, asked for by its client
   id; the fills and the income (funding, clearances, transfers) since the store's cursors;
   the open orders; the positions; the wallet.
2. **plan**: each fill is matched to its order — ours by venue id or client id; a venue's own
   close by its markers (Binance ``autoclose-`` = liquidation, ``adl_autoclose`` = ADL);
   anything else is external. Open orders the store does not know are adopted as external.
   The positions the fills build are compared with the venue's; the ledger's wallet with the
   venue's wallet. A difference it cannot explain is a discrepancy.
3. **apply** (skipped by a dry run): each booking its own transaction (a fill once by its
   venue id, its ledger entries, the trade it touches), then the cursors, the positions as
   reconciled, and one reconciliation event. A discrepancy raises
   :class:`~levtrade.live.errors.Discrepancy` after the event is recorded.

Positions on the venue that the store never knew stop the first start, unless the operator
adopts them (``--adopt``): a second bot on the same leveraged account breaks every margin
figure this one computes (FreqTrade's warning, made a check).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from levtrade.live import failpoints
from levtrade.live.adapter import IncomeItem, VenueAdapter, VenueFill, VenueOrder
from levtrade.live.errors import Discrepancy
from levtrade.live.ids import ClientIds, is_levtrade
from levtrade.live.store import (
    WALLET,
    Booked,
    FillRecord,
    OrderRow,
    OrderSpec,
    PositionRecord,
    Store,
)
from levtrade.live.trades import TradeState, apply_fill

logger = logging.getLogger("levtrade.live.reconcile")

GATHER_ATTEMPTS = 5
"""Reads of the venue before a reconciliation works with one whose balances moved meanwhile."""
SAFETY_MS = 3_600_000
"""Imports look back at least this far behind the venue's time (fills stamped late)."""


@dataclass
class Report:
    """What a reconciliation found and did."""

    trigger: str
    venue_time: int
    updated: list[OrderRow] = field(default_factory=list)
    unsent: list[OrderRow] = field(default_factory=list)
    """Intents the venue has no order for: never sent (the runner sends or abandons them)."""
    vanished: list[str] = field(default_factory=list)
    adopted_orders: list[OrderRow] = field(default_factory=list)
    fills: list[FillRecord] = field(default_factory=list)
    funding: list[IncomeItem] = field(default_factory=list)
    income: list[IncomeItem] = field(default_factory=list)
    adopted_positions: list[PositionRecord] = field(default_factory=list)
    positions: list[PositionRecord] = field(default_factory=list)
    wallet: float = 0.0
    ledger_wallet: float = 0.0
    discrepancies: list[str] = field(default_factory=list)
    booked: Booked = field(default_factory=Booked)
    dry_run: bool = False

    @property
    def outcome(self) -> str:
        if self.discrepancies:
            return "refused"
        if self.dry_run:
            return "dry_run"
        if self.fills or self.funding or self.income or self.updated or self.adopted_orders:
            return "booked"
        return "agrees"

    def details(self) -> dict[str, Any]:
        return {
            "orders_updated": [(o.client_id, o.state, o.filled) for o in self.updated],
            "unsent": [o.client_id for o in self.unsent],
            "vanished": self.vanished,
            "adopted_orders": [o.client_id for o in self.adopted_orders],
            "fills": [
                (f.venue_trade_id, f.symbol, f.side, f.amount, f.price, f.reason)
                for f in self.fills
            ],
            "funding": [(i.venue_id, i.symbol, i.amount) for i in self.funding],
            "income": [(i.venue_id, i.kind, i.symbol, i.amount) for i in self.income],
            "adopted_positions": [(p.symbol, p.leg, p.size) for p in self.adopted_positions],
            "positions": [(p.symbol, p.leg, p.size) for p in self.positions],
            "wallet": self.wallet,
            "ledger_wallet": self.ledger_wallet,
            "discrepancies": self.discrepancies,
        }


@dataclass
class _Gathered:
    orders: list[tuple[OrderRow, VenueOrder | None]]
    fills: list[VenueFill]
    fill_orders: dict[str, VenueOrder | None]
    income: list[IncomeItem]
    open_orders: list[VenueOrder]
    positions: list[PositionRecord]
    wallet: float
    until: int


class Reconciler:
    """Reconciles one store with one venue account (module docstring)."""

    def __init__(
        self,
        store: Store,
        adapter: VenueAdapter,
        ids: ClientIds,
        symbols: Sequence[str],
        *,
        currency: str,
        timeframe_ms: int,
        run_id: int | None = None,
    ) -> None:
        self.store = store
        self.adapter = adapter
        self.ids = ids
        self.symbols = tuple(symbols)
        self.currency = currency
        self.timeframe_ms = timeframe_ms
        self.run_id = run_id

    async def run(
        self, trigger: str, venue_time: int, *, adopt: bool = False, dry_run: bool = False
    ) -> Report:
        """Reconcile (module docstring); raise :class:`Discrepancy` on what it cannot
        explain (a dry run reports it instead)."""
        report = Report(trigger, venue_time, dry_run=dry_run)
        first = not self.store.has_opening_balance()
        if first and not dry_run:
            for name in (*(f"fills:{s}" for s in self.symbols), "income"):
                if self.store.cursor(name) is None:
                    self.store.set_cursor(name, str(venue_time))
        gathered = await self._gather(venue_time)
        self._plan_orders(gathered, report)
        fills = self._plan_fills(gathered, report)
        self._plan_income(gathered, report)
        self._plan_external(gathered, report)
        if not dry_run:
            self._apply(gathered, report, fills)
        self._compare(gathered, report, first=first, adopt=adopt, fills=fills)
        if not dry_run:
            self._finish(gathered, report)
        if report.discrepancies and not dry_run:
            raise Discrepancy(
                "the store and the venue disagree: " + "; ".join(report.discrepancies)
            )
        return report

    # -- 1. gather ------------------------------------------------------------------------------
    async def _gather(self, venue_time: int) -> _Gathered:
        """Read the venue. It keeps trading while it is read (a fill, a funding settlement), so
        the positions and the wallet are read before and after the orders, fills and income:
        a read is kept when both agree (nothing moved in between), else it is read again
        (:data:`GATHER_ATTEMPTS` times at most; a difference left is then compared, and
        reported if it is real)."""
        adapter = self.adapter
        for attempt in range(GATHER_ATTEMPTS):
            before = _balance_state(
                await adapter.positions(self.symbols), await adapter.wallet(self.currency)
            )
            gathered = await self._gather_once(venue_time)
            if _balance_state(gathered.positions, gathered.wallet) == before:
                return gathered
            logger.info("the venue moved while it was read (read %d); again", attempt + 1)
        return gathered

    async def _gather_once(self, venue_time: int) -> _Gathered:
        adapter = self.adapter
        orders = []
        for row in self.store.orders(("intent", "ambiguous", "open", "partially_filled")):
            found = await adapter.find(row, patient=row.state == "ambiguous")
            orders.append((row, found))
        until = venue_time + max(2 * self.timeframe_ms, 60_000)
        fills: list[VenueFill] = []
        for symbol in self.symbols:
            since = int(self.store.cursor(f"fills:{symbol}") or venue_time)
            fills.extend(await adapter.fills(symbol, since, until))
        fills.sort(key=lambda f: (f.time, f.venue_trade_id))
        fill_orders: dict[str, VenueOrder | None] = {}
        for fill in fills:
            vid = fill.venue_order_id
            if vid in fill_orders or self.store.order_by_venue_id(vid) is not None:
                continue
            fill_orders[vid] = await adapter.order_by_id(fill.symbol, vid)
        since = int(self.store.cursor("income") or venue_time)
        income = await adapter.income(self.currency, since, until)
        failpoints.reach("during_reconciliation")
        open_orders = await adapter.open_orders(self.symbols)
        positions = await adapter.positions(self.symbols)
        wallet = await adapter.wallet(self.currency)
        return _Gathered(orders, fills, fill_orders, income, open_orders, positions, wallet, until)

    # -- 2. plan --------------------------------------------------------------------------------
    def _plan_orders(self, gathered: _Gathered, report: Report) -> None:
        for row, found in gathered.orders:
            if found is None:
                if row.state in ("intent", "ambiguous"):
                    report.unsent.append(row)
                else:
                    report.vanished.append(row.client_id)
            elif (found.state, found.filled) != (row.state, row.filled) or (
                row.venue_order_id != found.venue_order_id
            ):
                report.updated.append(_with(row, found))

    def _plan_fills(self, gathered: _Gathered, report: Report) -> list[FillRecord]:
        known = self.store.known("fills", (f.venue_trade_id for f in gathered.fills))
        records = []
        for fill in gathered.fills:
            if fill.venue_trade_id in known:
                continue
            reason, order_id = self._classify(fill, gathered)
            record = FillRecord(
                venue_trade_id=fill.venue_trade_id,
                venue_order_id=fill.venue_order_id,
                symbol=fill.symbol,
                leg=fill.leg,
                side=fill.side,
                amount=fill.amount,
                price=fill.price,
                fee=fill.fee,
                realized_pnl=fill.realized_pnl,
                reason=reason,
                time=fill.time,
                order_id=order_id,
            )
            records.append(record)
            report.fills.append(record)
        return records

    def _classify(self, fill: VenueFill, gathered: _Gathered) -> tuple[str, int | None]:
        """``order`` (ours, with the store's order id), ``liquidation``, ``adl`` or
        ``external``."""
        row = self.store.order_by_venue_id(fill.venue_order_id)
        if row is not None:
            return ("external" if row.origin == "external" else "order"), row.id
        venue_order = gathered.fill_orders.get(fill.venue_order_id)
        account = getattr(self.adapter.exchange, "walletAddress", None) or None
        forced = self.adapter.dialect.forced_kind(
            {"info": fill.info},
            None
            if venue_order is None
            else {"clientOrderId": venue_order.client_id, "info": venue_order.info or {}},
            account,
        )
        if forced is not None:
            return forced, None
        if venue_order is not None and venue_order.client_id:
            row = self.store.order(venue_order.client_id)
            if row is not None:
                reason = "external" if row.origin == "external" else "order"
                return reason, row.id
        return "external", None

    def _plan_income(self, gathered: _Gathered, report: Report) -> None:
        ids = [i.venue_id for i in gathered.income]
        known_funding = self.store.known("funding", ids)
        known_income = self.store.known("income", ids)
        for item in gathered.income:
            if item.kind == "funding":
                if item.venue_id not in known_funding:
                    report.funding.append(item)
            elif item.venue_id not in known_income:
                report.income.append(item)

    def _plan_external(self, gathered: _Gathered, report: Report) -> None:
        """Orders the store does not know: open ones on the venue, and the orders of fills
        that are neither ours nor the venue's own closes (filled before they were seen)."""
        filled = [
            o
            for o in gathered.fill_orders.values()
            if o is not None
            and self.adapter.dialect.forced_kind({}, {"clientOrderId": o.client_id}) is None
        ]
        seen: set[str] = set()
        for venue_order in [*gathered.open_orders, *filled]:
            if venue_order.venue_order_id in seen:
                continue
            seen.add(venue_order.venue_order_id)
            client = venue_order.client_id or f"venue-{venue_order.venue_order_id}"
            if self.store.order(client) is not None:
                continue
            if self.store.order_by_venue_id(venue_order.venue_order_id) is not None:
                continue
            note = "placed outside this bot"
            if self.ids.is_ours(client):
                note = "carries this bot's id but the store has no record of it"
            elif is_levtrade(client):
                note = "placed by another levtrade bot on this account"
            report.adopted_orders.append(
                OrderRow(
                    id=0,
                    client_id=client,
                    venue_order_id=venue_order.venue_order_id,
                    symbol=venue_order.symbol,
                    side=venue_order.side,
                    type=_store_type(venue_order),
                    amount=venue_order.amount,
                    price=venue_order.price,
                    trigger_price=venue_order.trigger_price,
                    time_in_force="GTC",
                    reduce_only=venue_order.reduce_only,
                    close_position=False,
                    leg=venue_order.leg,
                    leverage=None,
                    origin="external",
                    purpose="external",
                    state=venue_order.state,
                    filled=venue_order.filled,
                    average=venue_order.average,
                    decision_time=report.venue_time,
                    local_id=None,
                    tag=None,
                    message=note,
                )
            )

    # -- 3. apply ---------------------------------------------------------------------------------
    def _apply(self, gathered: _Gathered, report: Report, fills: list[FillRecord]) -> None:
        store = self.store
        for row in report.adopted_orders:
            store.record_intents(
                [
                    OrderSpec(
                        client_id=row.client_id,
                        symbol=row.symbol,
                        side=row.side,
                        type=row.type,
                        amount=row.amount,
                        origin="external",
                        decision_time=row.decision_time,
                        price=row.price,
                        trigger_price=row.trigger_price,
                        reduce_only=row.reduce_only,
                        leg=row.leg,
                        purpose="external",
                        state=row.state,
                        venue_order_id=row.venue_order_id,
                        filled=row.filled,
                        average=row.average,
                        message=row.message,
                    )
                ],
                self.run_id,
            )
            logger.warning("adopted an external order %s (%s)", row.client_id, row.message)
        adopted = {r.venue_order_id: r.client_id for r in report.adopted_orders}
        for k, fill in enumerate(fills):
            if fill.order_id is None and fill.venue_order_id in adopted:
                recorded = store.order(adopted[fill.venue_order_id])
                if recorded is not None:
                    fills[k] = replace(fill, order_id=recorded.id)
        for row in report.updated:
            store.update_order(
                row.client_id,
                row.state,
                venue_order_id=row.venue_order_id,
                filled=row.filled,
                average=row.average,
            )
        for client_id in report.vanished:
            store.update_order(client_id, "expired", message="the venue no longer knows this order")
        booked = report.booked
        for fill in fills:
            _merge(booked, store.book_fill(fill))
            failpoints.reach("after_fill")
            store.set_cursor(f"fills:{fill.symbol}", str(fill.time))
        for item in report.funding:
            _merge(booked, store.book_funding(item.venue_id, item.symbol, item.amount, item.time))
        for item in report.income:
            _merge(
                booked,
                store.book_income(item.venue_id, item.kind, item.symbol, item.amount, item.time),
            )
        if gathered.income:
            store.set_cursor("income", str(gathered.income[-1].time))

    # -- comparisons ------------------------------------------------------------------------------
    def _compare(
        self,
        gathered: _Gathered,
        report: Report,
        *,
        first: bool,
        adopt: bool,
        fills: list[FillRecord],
    ) -> None:
        store = self.store
        report.positions = gathered.positions
        report.wallet = gathered.wallet
        if report.dry_run:
            book = _simulated_book(store.trades(open_only=True), fills)
        else:
            book = store.book_positions()
        venue = {(p.symbol, p.leg): p for p in gathered.positions}
        for key in sorted(set(book) | set(venue)):
            held = venue[key].size if key in venue else 0.0
            known = book.get(key, 0.0)
            lot = self.adapter.markets[key[0]].lot_size if key[0] in self.adapter.markets else 0.0
            if math.isclose(held, known, rel_tol=1e-9, abs_tol=max(lot * 1e-6, 1e-12)):
                continue
            symbol, leg = key
            if known == 0.0 and key in venue and (first or adopt):
                if adopt:
                    report.adopted_positions.append(venue[key])
                    if not report.dry_run:
                        store.adopt_position(venue[key], report.venue_time)
                    continue
                report.discrepancies.append(
                    f"{symbol} {leg}: the venue holds {held:g} that this bot did not open "
                    "(another bot or a hand on this account?); close it, or start with --adopt "
                    "to take it over"
                )
                continue
            report.discrepancies.append(
                f"{symbol} {leg}: the venue holds {held:g}, the store's fills make {known:g}"
            )
        ledger = store.ledger_balances().get(WALLET, 0.0)
        if report.dry_run:
            ledger += math.fsum(f.realized_pnl - f.fee for f in fills)
            ledger += math.fsum(i.amount for i in (*report.funding, *report.income))
        if first and not report.dry_run:
            store.book_opening_balance(gathered.wallet - ledger, report.venue_time)
            ledger = gathered.wallet
        report.ledger_wallet = ledger
        if not first and not math.isclose(ledger, gathered.wallet, rel_tol=1e-9, abs_tol=1e-6):
            report.discrepancies.append(
                f"wallet: the venue holds {gathered.wallet:.8f} {self.currency}, the ledger "
                f"{ledger:.8f} (a balance change of {gathered.wallet - ledger:+.8f} the venue "
                "has not reported as fill, funding or income)"
            )

    def _finish(self, gathered: _Gathered, report: Report) -> None:
        store = self.store
        floor = report.venue_time - max(SAFETY_MS, 2 * self.timeframe_ms)
        for symbol in self.symbols:
            name = f"fills:{symbol}"
            current = int(store.cursor(name) or floor)
            store.set_cursor(name, str(max(current, floor)))
        current = int(store.cursor("income") or floor)
        store.set_cursor("income", str(max(current, floor)))
        store.save_positions(gathered.positions, report.venue_time)
        store.record_reconciliation(
            self.run_id, report.trigger, report.outcome, report.details(), report.venue_time
        )


def _with(row: OrderRow, found: VenueOrder) -> OrderRow:
    return replace(
        row,
        state=found.state,
        filled=found.filled,
        average=found.average if found.average is not None else row.average,
        venue_order_id=found.venue_order_id,
    )


def _merge(total: Booked, part: Booked) -> None:
    total.fills.extend(part.fills)
    total.funding += part.funding
    total.funding_count += part.funding_count
    total.income.extend(part.income)
    total.opened_trades.extend(part.opened_trades)
    total.closed_trades.extend(part.closed_trades)


def _store_type(order: VenueOrder) -> str:
    if order.trigger:
        return "take_profit_market" if "take" in order.type.lower() else "stop"
    return "limit" if order.type == "limit" else "market"


def _simulated_book(
    trades: list[TradeState], fills: list[FillRecord]
) -> dict[tuple[str, str], float]:
    """The positions the store would hold after booking ``fills`` (a dry run books none)."""
    open_trades = {(t.symbol, t.leg): t for t in trades}
    for fill in fills:
        for touched in apply_fill(open_trades.get((fill.symbol, fill.leg)), fill.facts(None)):
            if touched.is_open:
                open_trades[(touched.symbol, touched.leg)] = touched
            else:
                open_trades.pop((touched.symbol, touched.leg), None)
    return {k: t.signed_remaining for k, t in open_trades.items() if t.remaining > 0}


def _balance_state(positions: Sequence[PositionRecord], wallet: float) -> tuple[object, ...]:
    """What a fill or a settlement changes: each position's size and entry, and the wallet
    (marks and liquidation prices move on their own and do not count)."""
    held = sorted((p.symbol, p.leg, p.size, p.entry_price) for p in positions)
    return (tuple(held), wallet)
