"""The store's operations: each state change is one transaction, and none makes a network call.

:class:`Store` is what the bot writes and reads. Every method that changes something opens a
session, makes the change and commits before it returns (a crash leaves the change wholly in or
wholly out); the venue is asked before or after, never inside. Booking is idempotent: a fill,
funding payment or income the store already holds (by the venue's id) is not booked twice, and
an order intent recorded again (the same client id) is the same intent.

The ledger is double entry (:mod:`levtrade.margin.ledger`'s kinds): ``wallet`` is the venue
account's wallet balance, ``external`` the world outside it, ``market`` the counterparty of
realized PnL and funding, ``fees`` the trading fees and ``insurance_fund`` a liquidation's
clearance. The books always sum to zero, and ``wallet`` equals the venue's wallet balance once
everything the venue booked is imported.
"""

from __future__ import annotations

import json
import math
import secrets
import string
import time as _time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from levtrade.live.store import models
from levtrade.live.store.database import migrate, open_engine
from levtrade.live.trades import (
    FillFacts,
    TradeState,
    apply_fill,
    attribute,
    cleared_by,
    exit_reason,
    holders_at,
)
from levtrade.margin.ledger import EXTERNAL, FEES, INSURANCE_FUND, MARKET, EntryKind

WALLET = "wallet"
"""The ledger book of the venue account's wallet balance."""

OPEN_STATES = frozenset({"intent", "ambiguous", "open", "partially_filled"})
"""Order states that may still change on the venue."""
FINAL_STATES = frozenset({"filled", "cancelled", "expired", "rejected", "abandoned"})


def wall_ms() -> int:
    return _time.time_ns() // 1_000_000


@dataclass(frozen=True)
class OrderSpec:
    """An order intent as the broker hands it to the store."""

    client_id: str
    symbol: str
    side: str
    type: str
    amount: float
    origin: str
    decision_time: int
    price: float | None = None
    trigger_price: float | None = None
    time_in_force: str = "GTC"
    reduce_only: bool = False
    close_position: bool = False
    leg: str = "BOTH"
    leverage: float | None = None
    purpose: str = "order"
    local_id: int | None = None
    tag: str | None = None
    state: str = "intent"
    venue_order_id: str | None = None
    filled: float = 0.0
    average: float | None = None
    message: str = ""


@dataclass(frozen=True)
class OrderRow:
    """An order as the store holds it (a detached copy)."""

    id: int
    client_id: str
    venue_order_id: str | None
    symbol: str
    side: str
    type: str
    amount: float
    price: float | None
    trigger_price: float | None
    time_in_force: str
    reduce_only: bool
    close_position: bool
    leg: str
    leverage: float | None
    origin: str
    purpose: str
    state: str
    filled: float
    average: float | None
    decision_time: int
    local_id: int | None
    tag: str | None
    message: str

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def is_trigger(self) -> bool:
        """A conditional order (the venue's algo service on Binance)."""
        return self.trigger_price is not None


@dataclass(frozen=True)
class FillRecord:
    """A venue execution to book."""

    venue_trade_id: str
    venue_order_id: str
    symbol: str
    leg: str
    side: str
    amount: float
    price: float
    fee: float
    realized_pnl: float
    reason: str
    time: int
    order_id: int | None = None

    def facts(self, purpose: str | None) -> FillFacts:
        """What the fill tells the trade it books on, its reason named as that trade's exit
        reason (``purpose``: the purpose of our order it filled, None for none)."""
        return FillFacts(
            self.symbol, self.leg, self.side, self.amount, self.price, self.fee,
            self.realized_pnl, exit_reason(self.reason, purpose), self.time,
        )  # fmt: skip


@dataclass(frozen=True)
class PositionRecord:
    """A position as the venue reports it."""

    symbol: str
    leg: str
    size: float
    entry_price: float
    leverage: float
    margin_mode: str
    isolated_margin: float = 0.0
    liquidation_price: float | None = None
    mark_price: float | None = None
    adopted: bool = False


_POSITION_FIELDS = tuple(f.name for f in fields(PositionRecord))
"""The columns a position row shares with :class:`PositionRecord`."""


@dataclass
class Booked:
    """What one booking call added (for the reconciliation's report and the strategy)."""

    fills: list[FillRecord] = field(default_factory=list)
    funding: float = 0.0
    funding_count: int = 0
    income: list[tuple[str, str, float]] = field(default_factory=list)
    closed_trades: list[TradeState] = field(default_factory=list)
    opened_trades: list[TradeState] = field(default_factory=list)


def _copy(order: models.Order) -> OrderRow:
    return OrderRow(
        id=order.id,
        client_id=order.client_id,
        venue_order_id=order.venue_order_id,
        symbol=order.symbol,
        side=order.side,
        type=order.type,
        amount=order.amount,
        price=order.price,
        trigger_price=order.trigger_price,
        time_in_force=order.time_in_force,
        reduce_only=order.reduce_only,
        close_position=order.close_position,
        leg=order.leg,
        leverage=order.leverage,
        origin=order.origin,
        purpose=order.purpose,
        state=order.state,
        filled=order.filled,
        average=order.average,
        decision_time=order.decision_time,
        local_id=order.local_id,
        tag=order.tag,
        message=order.message,
    )


def _state(trade: models.Trade) -> TradeState:
    return TradeState(
        symbol=trade.symbol,
        leg=trade.leg,
        side=trade.side,
        opened_at=trade.opened_at,
        size=trade.size,
        entry_value=trade.entry_value,
        closed=trade.closed,
        exit_value=trade.exit_value,
        realized=trade.realized,
        fees=trade.fees,
        funding=trade.funding,
        clearance=trade.clearance,
        exit_reason=trade.exit_reason,
        closed_at=trade.closed_at,
        is_open=trade.is_open,
        id=trade.id,
    )


def _write(trade: models.Trade, state: TradeState) -> None:
    for name in (
        "size",
        "entry_value",
        "closed",
        "exit_value",
        "realized",
        "fees",
        "funding",
        "clearance",
        "exit_reason",
        "closed_at",
        "is_open",
    ):
        setattr(trade, name, getattr(state, name))


class Store:
    """The bot's store over one database (see the module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, db_url: str) -> Store:
        """Open ``db_url`` and bring its schema to the newest revision."""
        engine = open_engine(db_url)
        migrate(engine)
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self._sessions() as session, session.begin():
            yield session

    # -- identity and runs ---------------------------------------------------------------------
    def bot_tag(self) -> str:
        """The bot's short identity (4 characters, created once): every client order id it
        makes starts with it, so that its orders are told apart from another bot's."""
        existing = self.cursor("bot")
        if existing is not None:
            return existing
        alphabet = string.ascii_lowercase + string.digits
        tag = "".join(secrets.choice(alphabet) for _ in range(4))
        with self.transaction() as session:
            row = session.get(models.Cursor, "bot")
            if row is not None:
                return row.value
            session.add(models.Cursor(name="bot", value=tag))
        return tag

    def start_run(self, *, mode: str, exchange: str, strategy: str, pid: int) -> int:
        with self.transaction() as session:
            run = models.Run(
                started_at=wall_ms(),
                mode=mode,
                exchange=exchange,
                strategy=strategy,
                pid=pid,
                status="running",
                message="",
            )
            session.add(run)
            session.flush()
            return run.id

    def end_run(self, run_id: int, status: str, message: str = "") -> None:
        with self.transaction() as session:
            run = session.get(models.Run, run_id)
            if run is not None:
                run.stopped_at = wall_ms()
                run.status = status
                run.message = message

    def last_run(self) -> models.Run | None:
        with self._sessions() as session:
            return session.scalars(select(models.Run).order_by(models.Run.id.desc())).first()

    # -- cursors --------------------------------------------------------------------------------
    def cursor(self, name: str) -> str | None:
        with self._sessions() as session:
            row = session.get(models.Cursor, name)
            return None if row is None else row.value

    def set_cursor(self, name: str, value: str) -> None:
        with self.transaction() as session:
            _set_cursor(session, name, value)

    # -- orders ---------------------------------------------------------------------------------
    def record_intents(
        self,
        specs: Sequence[OrderSpec],
        run_id: int | None,
        *,
        cursor: tuple[str, str] | None = None,
    ) -> list[OrderRow]:
        """Commit order intents (and ``cursor``) in one transaction, before anything is sent.
        An intent whose client id is already recorded is that order (returned as it is)."""
        now = wall_ms()
        rows = []
        with self.transaction() as session:
            for spec in specs:
                existing = session.scalars(
                    select(models.Order).where(models.Order.client_id == spec.client_id)
                ).first()
                if existing is not None:
                    rows.append(existing)
                    continue
                order = models.Order(
                    client_id=spec.client_id,
                    venue_order_id=spec.venue_order_id,
                    run_id=run_id,
                    symbol=spec.symbol,
                    side=spec.side,
                    type=spec.type,
                    amount=spec.amount,
                    price=spec.price,
                    trigger_price=spec.trigger_price,
                    time_in_force=spec.time_in_force,
                    reduce_only=spec.reduce_only,
                    close_position=spec.close_position,
                    leg=spec.leg,
                    leverage=spec.leverage,
                    origin=spec.origin,
                    purpose=spec.purpose,
                    state=spec.state,
                    filled=spec.filled,
                    average=spec.average,
                    decision_time=spec.decision_time,
                    local_id=spec.local_id,
                    tag=spec.tag,
                    message=spec.message,
                    recorded_at=now,
                    updated_at=now,
                )
                session.add(order)
                session.flush()
                session.add(
                    models.OrderEvent(
                        order_id=order.id,
                        state=spec.state,
                        filled=spec.filled,
                        detail=spec.message or spec.origin,
                        recorded_at=now,
                    )
                )
                rows.append(order)
            if cursor is not None:
                _set_cursor(session, *cursor)
            return [_copy(r) for r in rows]

    def update_order(
        self,
        client_id: str,
        state: str,
        *,
        venue_order_id: str | None = None,
        filled: float | None = None,
        average: float | None = None,
        message: str | None = None,
    ) -> OrderRow | None:
        """Record the order's new state (and an event when anything changed). A final state is
        never left (a late answer cannot reopen a filled or cancelled order)."""
        now = wall_ms()
        with self.transaction() as session:
            order = session.scalars(
                select(models.Order).where(models.Order.client_id == client_id)
            ).first()
            if order is None:
                return None
            if order.state in FINAL_STATES and state != order.state:
                return _copy(order)
            changed = state != order.state
            if venue_order_id is not None and venue_order_id != order.venue_order_id:
                order.venue_order_id = venue_order_id
                changed = True
            if filled is not None and not math.isclose(filled, order.filled, abs_tol=1e-15):
                order.filled = filled
                changed = True
            if average is not None and average != order.average:
                order.average = average
            if message is not None and message != order.message:
                order.message = message
                changed = True
            if changed:
                order.state = state
                order.updated_at = now
                session.add(
                    models.OrderEvent(
                        order_id=order.id,
                        state=state,
                        filled=order.filled,
                        detail=message or "",
                        recorded_at=now,
                    )
                )
            return _copy(order)

    def order(self, client_id: str) -> OrderRow | None:
        with self._sessions() as session:
            row = session.scalars(
                select(models.Order).where(models.Order.client_id == client_id)
            ).first()
            return None if row is None else _copy(row)

    def order_by_venue_id(self, venue_order_id: str) -> OrderRow | None:
        with self._sessions() as session:
            row = session.scalars(
                select(models.Order).where(models.Order.venue_order_id == venue_order_id)
            ).first()
            return None if row is None else _copy(row)

    def orders(
        self, states: Iterable[str] | None = None, *, origin: str | None = None
    ) -> list[OrderRow]:
        query = select(models.Order).order_by(models.Order.id)
        if states is not None:
            query = query.where(models.Order.state.in_(list(states)))
        if origin is not None:
            query = query.where(models.Order.origin == origin)
        with self._sessions() as session:
            return [_copy(o) for o in session.scalars(query)]

    def order_events(self, client_id: str) -> list[tuple[str, float, str]]:
        with self._sessions() as session:
            rows = session.execute(
                select(models.OrderEvent.state, models.OrderEvent.filled, models.OrderEvent.detail)
                .join(models.Order, models.Order.id == models.OrderEvent.order_id)
                .where(models.Order.client_id == client_id)
                .order_by(models.OrderEvent.id)
            )
            return [(s, f, d) for s, f, d in rows]

    # -- fills, funding, income -----------------------------------------------------------------
    def book_fill(self, fill: FillRecord) -> Booked:
        """Book one execution once: the fill, its ledger entries (realized PnL and fee) and the
        trade it opens, adds to or closes. A fill already booked changes nothing."""
        booked = Booked()
        now = wall_ms()
        try:
            with self.transaction() as session:
                known = session.scalars(
                    select(models.Fill.id).where(models.Fill.venue_trade_id == fill.venue_trade_id)
                ).first()
                if known is not None:
                    return booked
                purpose = None
                if fill.order_id is not None:
                    order = session.get(models.Order, fill.order_id)
                    purpose = order.purpose if order is not None else None
                row = models.Fill(**asdict(fill), recorded_at=now)
                session.add(row)
                session.flush()
                reference = f"fill:{fill.venue_trade_id}"
                _post(session, fill.time, EntryKind.REALIZED_PNL, MARKET, WALLET,
                      fill.realized_pnl, fill.symbol, reference + ":pnl")  # fmt: skip
                _post(session, fill.time, EntryKind.FEE, WALLET, FEES, fill.fee, fill.symbol,
                      reference + ":fee")  # fmt: skip
                facts = fill.facts(purpose)
                current = session.scalars(
                    select(models.Trade).where(
                        models.Trade.symbol == fill.symbol,
                        models.Trade.leg == fill.leg,
                        models.Trade.is_open.is_(True),
                    )
                ).first()
                state = None if current is None else _state(current)
                for touched in apply_fill(state, facts):
                    if touched.id is None:
                        trade = models.Trade(
                            symbol=touched.symbol,
                            leg=touched.leg,
                            side=touched.side,
                            opened_at=touched.opened_at,
                            adopted=False,
                        )
                        _write(trade, touched)
                        session.add(trade)
                        session.flush()
                        touched.id = trade.id
                        booked.opened_trades.append(touched)
                    else:
                        assert current is not None
                        _write(current, touched)
                    if not touched.is_open:
                        booked.closed_trades.append(touched)
        except IntegrityError:  # booked by a concurrent reconciliation
            return Booked()
        booked.fills.append(fill)
        return booked

    def book_funding(self, venue_id: str, symbol: str, amount: float, time: int) -> Booked:
        """Book one funding settlement once (ledger and the trade holding then)."""
        booked = Booked()
        try:
            with self.transaction() as session:
                known = session.scalars(
                    select(models.FundingPayment.id).where(
                        models.FundingPayment.venue_id == venue_id
                    )
                ).first()
                if known is not None:
                    return booked
                session.add(
                    models.FundingPayment(
                        venue_id=venue_id,
                        symbol=symbol,
                        amount=amount,
                        time=time,
                        recorded_at=wall_ms(),
                    )
                )
                _post(session, time, EntryKind.FUNDING, MARKET, WALLET, amount, symbol,
                      f"funding:{venue_id}")  # fmt: skip
                self._attribute(session, symbol, time, amount, "funding")
        except IntegrityError:
            return booked
        booked.funding = amount
        booked.funding_count = 1
        return booked

    def book_income(
        self, venue_id: str, kind: str, symbol: str, amount: float, time: int
    ) -> Booked:
        """Book a balance change that is neither a fill nor funding, once: ``clearance`` (a
        liquidation's insurance clearance) or ``transfer`` (into or out of the account)."""
        booked = Booked()
        try:
            with self.transaction() as session:
                known = session.scalars(
                    select(models.Income.id).where(models.Income.venue_id == venue_id)
                ).first()
                if known is not None:
                    return booked
                session.add(
                    models.Income(
                        venue_id=venue_id,
                        kind=kind,
                        symbol=symbol,
                        amount=amount,
                        time=time,
                        recorded_at=wall_ms(),
                    )
                )
                reference = f"income:{venue_id}"
                if kind == "clearance":
                    _post(session, time, EntryKind.LIQUIDATION_FEE, INSURANCE_FUND, WALLET,
                          amount, symbol, reference)  # fmt: skip
                    self._attribute(session, symbol, time, amount, "clearance")
                else:
                    entry_kind = EntryKind.DEPOSIT if amount >= 0 else EntryKind.WITHDRAWAL
                    _post(session, time, entry_kind, EXTERNAL, WALLET, amount, symbol, reference)
        except IntegrityError:
            return booked
        booked.income.append((kind, symbol, amount))
        return booked

    def _attribute(
        self, session: Session, symbol: str, time: int, amount: float, field_name: str
    ) -> None:
        rows = list(session.scalars(select(models.Trade).where(models.Trade.symbol == symbol)))
        states = [_state(r) for r in rows]
        chosen = (
            holders_at(states, symbol, time)
            if field_name == "funding"
            else cleared_by(states, symbol, time)
        )
        attribute(chosen, amount, field_name)
        by_id = {r.id: r for r in rows}
        for state in chosen:
            assert state.id is not None
            _write(by_id[state.id], state)

    def book_opening_balance(self, amount: float, time: int) -> None:
        """The wallet the venue held before the bot's first booked event (once)."""
        with self.transaction() as session:
            _post(session, time, EntryKind.DEPOSIT, EXTERNAL, WALLET, amount, "", "opening")

    def has_opening_balance(self) -> bool:
        with self._sessions() as session:
            return (
                session.scalars(
                    select(models.LedgerEntry.id).where(models.LedgerEntry.reference == "opening")
                ).first()
                is not None
            )

    def adopt_position(self, position: PositionRecord, time: int) -> None:
        """Take a position found on the venue as a trade of the bot (``--adopt``)."""
        with self.transaction() as session:
            trade = models.Trade(
                symbol=position.symbol,
                leg=position.leg,
                side="long" if position.size > 0 else "short",
                opened_at=time,
                size=abs(position.size),
                entry_value=abs(position.size) * position.entry_price,
                closed=0.0,
                exit_value=0.0,
                realized=0.0,
                fees=0.0,
                funding=0.0,
                clearance=0.0,
                exit_reason="",
                is_open=True,
                adopted=True,
            )
            session.add(trade)

    # -- what the store knows -------------------------------------------------------------------
    def fills(self) -> list[models.Fill]:
        with self._sessions() as session:
            query = select(models.Fill).order_by(models.Fill.time, models.Fill.id)
            return list(session.scalars(query))

    def known(self, table: str, venue_ids: Iterable[str]) -> set[str]:
        """Which of ``venue_ids`` the store has booked: ``fills`` (venue trade ids),
        ``funding`` or ``income`` (venue ids)."""
        column = {
            "fills": models.Fill.venue_trade_id,
            "funding": models.FundingPayment.venue_id,
            "income": models.Income.venue_id,
        }[table]
        wanted = list(dict.fromkeys(venue_ids))
        found: set[str] = set()
        with self._sessions() as session:
            for k in range(0, len(wanted), 500):
                chunk = wanted[k : k + 500]
                found.update(session.scalars(select(column).where(column.in_(chunk))))
        return found

    def order_money(self, order_id: int) -> tuple[float, float]:
        """The fees and the realized PnL of an order's fills."""
        with self._sessions() as session:
            row = session.execute(
                select(func.sum(models.Fill.fee), func.sum(models.Fill.realized_pnl)).where(
                    models.Fill.order_id == order_id
                )
            ).one()
        return float(row[0] or 0.0), float(row[1] or 0.0)

    def funding_payments(self) -> list[models.FundingPayment]:
        with self._sessions() as session:
            return list(
                session.scalars(
                    select(models.FundingPayment).order_by(
                        models.FundingPayment.time, models.FundingPayment.id
                    )
                )
            )

    def income(self) -> list[models.Income]:
        with self._sessions() as session:
            return list(session.scalars(select(models.Income).order_by(models.Income.id)))

    def trades(self, *, open_only: bool = False) -> list[TradeState]:
        query = select(models.Trade).order_by(models.Trade.id)
        if open_only:
            query = query.where(models.Trade.is_open.is_(True))
        with self._sessions() as session:
            return [_state(t) for t in session.scalars(query)]

    def book_positions(self) -> dict[tuple[str, str], float]:
        """Signed size per (symbol, leg) from the trades the fills built (what the store says
        the positions are)."""
        return {
            (t.symbol, t.leg): t.signed_remaining
            for t in self.trades(open_only=True)
            if t.remaining > 0
        }

    def save_positions(self, positions: Sequence[PositionRecord], time: int) -> None:
        """Replace the positions as reconciled with the venue's report."""
        now = wall_ms()
        with self.transaction() as session:
            for row in session.scalars(select(models.Position)):
                session.delete(row)
            session.flush()
            for p in positions:
                session.add(models.Position(**asdict(p), time=time, recorded_at=now))

    def positions(self) -> list[PositionRecord]:
        with self._sessions() as session:
            return [
                PositionRecord(**{name: getattr(p, name) for name in _POSITION_FIELDS})
                for p in session.scalars(select(models.Position))
            ]

    def ledger_balances(self) -> dict[str, float]:
        """Balance of every book (money in − money out)."""
        balances: dict[str, list[float]] = {}
        with self._sessions() as session:
            for source, destination, amount in session.execute(
                select(
                    models.LedgerEntry.source,
                    models.LedgerEntry.destination,
                    models.LedgerEntry.amount,
                )
            ):
                balances.setdefault(destination, []).append(amount)
                balances.setdefault(source, []).append(-amount)
        return {book: math.fsum(values) for book, values in balances.items()}

    # -- reconciliation events ------------------------------------------------------------------
    def record_reconciliation(
        self,
        run_id: int | None,
        trigger: str,
        outcome: str,
        details: dict[str, Any],
        venue_time: int,
    ) -> None:
        with self.transaction() as session:
            session.add(
                models.Reconciliation(
                    run_id=run_id,
                    trigger=trigger,
                    outcome=outcome,
                    details=json.dumps(details, sort_keys=True, default=str),
                    venue_time=venue_time,
                    recorded_at=wall_ms(),
                )
            )

    def reconciliations(self) -> list[models.Reconciliation]:
        with self._sessions() as session:
            return list(
                session.scalars(select(models.Reconciliation).order_by(models.Reconciliation.id))
            )

    # -- the paper venue's journal --------------------------------------------------------------
    def paper_commands(self) -> list[tuple[str, dict[str, Any]]]:
        with self._sessions() as session:
            return [
                (c.kind, json.loads(c.payload))
                for c in session.scalars(
                    select(models.PaperCommand).order_by(models.PaperCommand.seq)
                )
            ]

    def append_paper_command(self, kind: str, payload: dict[str, Any], bar: int) -> None:
        with self.transaction() as session:
            session.add(
                models.PaperCommand(kind=kind, payload=json.dumps(payload, sort_keys=True), bar=bar)
            )


def _set_cursor(session: Session, name: str, value: str) -> None:
    row = session.get(models.Cursor, name)
    if row is None:
        session.add(models.Cursor(name=name, value=value))
    else:
        row.value = value


def _post(
    session: Session,
    time: int,
    kind: EntryKind,
    source: str,
    destination: str,
    amount: float,
    symbol: str,
    reference: str,
) -> None:
    """Move ``amount`` from ``source`` to ``destination`` (a negative amount the other way;
    zero books nothing)."""
    if amount == 0.0:
        return
    if amount < 0:
        source, destination, amount = destination, source, -amount
    session.add(
        models.LedgerEntry(
            time=time,
            kind=str(kind),
            source=source,
            destination=destination,
            amount=amount,
            symbol=symbol,
            reference=reference,
        )
    )
