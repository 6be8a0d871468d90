"""The store's tables (SQLAlchemy 2 declarative models).

What the bot knows, as it knows it: the runs, every order with its client id (unique) and each
state it went through, the fills (unique by the venue's trade id), the funding payments
(unique by the venue's id), the positions as last reconciled, the trades built from the fills,
the levtrade ledger (double entry: every balance change moves money between two books), the
cursors the imports resume from, and the reconciliation events. Times are venue times in
milliseconds (the venue's clock, not this machine's); ``recorded_at`` columns are this
machine's wall clock, for the audit trail. The schema is created and upgraded by the Alembic
migrations beside this module, never by ``create_all``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Run(Base):
    """One process lifetime of the bot on this store."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[int] = mapped_column(BigInteger)
    stopped_at: Mapped[int | None] = mapped_column(BigInteger)
    mode: Mapped[str] = mapped_column(String(16))
    """``live`` or ``paper``."""
    exchange: Mapped[str] = mapped_column(String(64))
    strategy: Mapped[str] = mapped_column(String(256))
    pid: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(32))
    """``running``, ``stopped``, ``halted`` (with ``message``)."""
    message: Mapped[str] = mapped_column(Text, default="")


class Order(Base):
    """An order as the store knows it: its intent, then the venue's answers."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    venue_order_id: Mapped[str | None] = mapped_column(String(64), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    symbol: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(8))
    type: Mapped[str] = mapped_column(String(32))
    """levtrade's order type (``market``, ``limit``, ``stop``, ``take_profit_market`` ...)."""
    amount: Mapped[float] = mapped_column(Float)
    """Contracts; 0.0 for a close-position stop (the whole position when it triggers)."""
    price: Mapped[float | None] = mapped_column(Float)
    trigger_price: Mapped[float | None] = mapped_column(Float)
    time_in_force: Mapped[str] = mapped_column(String(8), default="GTC")
    reduce_only: Mapped[bool] = mapped_column(Boolean, default=False)
    close_position: Mapped[bool] = mapped_column(Boolean, default=False)
    leg: Mapped[str] = mapped_column(String(8), default="BOTH")
    leverage: Mapped[float | None] = mapped_column(Float)
    """The leverage the symbol is set to before the order is sent (None: as it is)."""
    origin: Mapped[str] = mapped_column(String(32))
    """``strategy``, ``protective``, ``flatten``, ``emergency``, ``external``, ``liquidation``,
    ``adl``."""
    purpose: Mapped[str] = mapped_column(String(32), default="order")
    """The exit reason of a trade this order closes (``order``, ``stop_loss`` ...)."""
    state: Mapped[str] = mapped_column(String(24), index=True)
    """``intent`` (committed, maybe sent), ``ambiguous`` (sent, answer lost), ``open``,
    ``partially_filled``, ``filled``, ``cancelled``, ``expired``, ``rejected``,
    ``abandoned`` (an intent never sent, given up)."""
    filled: Mapped[float] = mapped_column(Float, default=0.0)
    average: Mapped[float | None] = mapped_column(Float)
    decision_time: Mapped[int] = mapped_column(BigInteger)
    """Venue time of the bar close the order was decided at."""
    local_id: Mapped[int | None] = mapped_column(Integer)
    """The strategy's order id (``Order.id``) in the run that decided it."""
    tag: Mapped[str | None] = mapped_column(String(128))
    message: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class OrderEvent(Base):
    """One state an order went through (the audit trail of :class:`Order`)."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    state: Mapped[str] = mapped_column(String(24))
    filled: Mapped[float] = mapped_column(Float, default=0.0)
    detail: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[int] = mapped_column(BigInteger)


class Fill(Base):
    """One execution on the venue (a user trade), booked once."""

    __tablename__ = "fills"
    __table_args__ = (UniqueConstraint("venue_trade_id", name="uq_fills_venue_trade_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    venue_trade_id: Mapped[str] = mapped_column(String(64))
    venue_order_id: Mapped[str] = mapped_column(String(64), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    symbol: Mapped[str] = mapped_column(String(64))
    leg: Mapped[str] = mapped_column(String(8), default="BOTH")
    side: Mapped[str] = mapped_column(String(8))
    amount: Mapped[float] = mapped_column(Float)
    price: Mapped[float] = mapped_column(Float)
    fee: Mapped[float] = mapped_column(Float)
    realized_pnl: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(32))
    """What the fill was: ``order`` (ours), ``external``, ``liquidation``, ``adl``."""
    time: Mapped[int] = mapped_column(BigInteger, index=True)
    recorded_at: Mapped[int] = mapped_column(BigInteger)


class FundingPayment(Base):
    """One funding settlement the venue booked (> 0 received, < 0 paid), booked once."""

    __tablename__ = "funding"
    __table_args__ = (UniqueConstraint("venue_id", name="uq_funding_venue_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    venue_id: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(64))
    amount: Mapped[float] = mapped_column(Float)
    time: Mapped[int] = mapped_column(BigInteger, index=True)
    recorded_at: Mapped[int] = mapped_column(BigInteger)


class Income(Base):
    """A balance change the venue booked that is neither a fill nor funding (a liquidation's
    clearance, a transfer), booked once."""

    __tablename__ = "income"
    __table_args__ = (UniqueConstraint("venue_id", name="uq_income_venue_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    venue_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(64), default="")
    amount: Mapped[float] = mapped_column(Float)
    time: Mapped[int] = mapped_column(BigInteger)
    recorded_at: Mapped[int] = mapped_column(BigInteger)


class Position(Base):
    """A position as the venue reported it at the last reconciliation."""

    __tablename__ = "positions"

    symbol: Mapped[str] = mapped_column(String(64), primary_key=True)
    leg: Mapped[str] = mapped_column(String(8), primary_key=True)
    size: Mapped[float] = mapped_column(Float)
    entry_price: Mapped[float] = mapped_column(Float)
    leverage: Mapped[float] = mapped_column(Float)
    margin_mode: Mapped[str] = mapped_column(String(16))
    isolated_margin: Mapped[float] = mapped_column(Float, default=0.0)
    liquidation_price: Mapped[float | None] = mapped_column(Float)
    mark_price: Mapped[float | None] = mapped_column(Float)
    adopted: Mapped[bool] = mapped_column(Boolean, default=False)
    """Found on the venue and adopted (``--adopt``), not opened by the bot's fills."""
    time: Mapped[int] = mapped_column(BigInteger)
    recorded_at: Mapped[int] = mapped_column(BigInteger)


class LedgerEntry(Base):
    """``amount`` (> 0) moved from book ``source`` to book ``destination``."""

    __tablename__ = "ledger"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    time: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(64))
    destination: Mapped[str] = mapped_column(String(64))
    amount: Mapped[float] = mapped_column(Float)
    symbol: Mapped[str] = mapped_column(String(64), default="")
    reference: Mapped[str] = mapped_column(String(96), unique=True)
    """What booked it (``fill:<id>:pnl``, ``funding:<id>``, ...): an entry is booked once."""


class Cursor(Base):
    """Where an import resumes (``fills:BTC/USDT:USDT`` → venue time), and the bot's
    identity (``bot``)."""

    __tablename__ = "cursors"

    name: Mapped[str] = mapped_column(String(96), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))


class Reconciliation(Base):
    """One reconciliation: why it ran, what it found and did."""

    __tablename__ = "reconciliations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    trigger: Mapped[str] = mapped_column(String(32))
    """``start``, ``periodic``, ``ambiguous``, ``manual``, ``bar``."""
    outcome: Mapped[str] = mapped_column(String(32))
    """``agrees``, ``booked`` (it booked what the venue did), ``refused`` (a discrepancy it
    cannot explain), ``dry_run``."""
    details: Mapped[str] = mapped_column(Text)
    """JSON: what was found and booked."""
    venue_time: Mapped[int] = mapped_column(BigInteger)
    recorded_at: Mapped[int] = mapped_column(BigInteger)


class Trade(Base):
    """A position from open to flat (one symbol and leg), built from the fills (schema
    revision 2). ``pnl`` = realized − fees + funding (+ a liquidation's clearance)."""

    __tablename__ = "trades"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    symbol: Mapped[str] = mapped_column(String(64))
    leg: Mapped[str] = mapped_column(String(8))
    side: Mapped[str] = mapped_column(String(8))
    """``long`` or ``short``."""
    opened_at: Mapped[int] = mapped_column(BigInteger)
    closed_at: Mapped[int | None] = mapped_column(BigInteger)
    size: Mapped[float] = mapped_column(Float, default=0.0)
    """Contracts opened over the trade's life."""
    entry_value: Mapped[float] = mapped_column(Float, default=0.0)
    closed: Mapped[float] = mapped_column(Float, default=0.0)
    exit_value: Mapped[float] = mapped_column(Float, default=0.0)
    realized: Mapped[float] = mapped_column(Float, default=0.0)
    fees: Mapped[float] = mapped_column(Float, default=0.0)
    funding: Mapped[float] = mapped_column(Float, default=0.0)
    clearance: Mapped[float] = mapped_column(Float, default=0.0)
    """What a liquidation took beyond the realized PnL (the venue's insurance clearance)."""
    exit_reason: Mapped[str] = mapped_column(String(32), default="")
    is_open: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    adopted: Mapped[bool] = mapped_column(Boolean, default=False)
    """A position found on the venue and adopted (``--adopt``), not opened by our fills."""


class PaperCommand(Base):
    """One command the paper venue accepted (schema revision 2): its journal, replayed when
    the paper venue is rebuilt on new candles or after a restart."""

    __tablename__ = "paper_commands"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)
    bar: Mapped[int] = mapped_column(Integer)


Index("ix_fills_symbol_time", Fill.symbol, Fill.time)
