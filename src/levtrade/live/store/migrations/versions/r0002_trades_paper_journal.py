"""Trades (a position from open to flat, built from the fills) and the paper venue's journal.

The trades of a database written by revision 0001 are built here from its fills, funding and
clearances, with the rules the store applies to every new fill (:mod:`levtrade.live.trades`):
nothing recorded before is lost or changed.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from levtrade.live.trades import (
    FillFacts,
    TradeState,
    apply_fill,
    attribute,
    cleared_by,
    exit_reason,
    holders_at,
)

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    trades = op.create_table(
        "trades",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("leg", sa.String(8), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("opened_at", sa.BigInteger(), nullable=False),
        sa.Column("closed_at", sa.BigInteger()),
        sa.Column("size", sa.Float(), nullable=False),
        sa.Column("entry_value", sa.Float(), nullable=False),
        sa.Column("closed", sa.Float(), nullable=False),
        sa.Column("exit_value", sa.Float(), nullable=False),
        sa.Column("realized", sa.Float(), nullable=False),
        sa.Column("fees", sa.Float(), nullable=False),
        sa.Column("funding", sa.Float(), nullable=False),
        sa.Column("clearance", sa.Float(), nullable=False),
        sa.Column("exit_reason", sa.String(32), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("adopted", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_trades_is_open", "trades", ["is_open"])
    op.create_table(
        "paper_commands",
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("bar", sa.Integer(), nullable=False),
    )
    built = _build_trades(op.get_bind())
    if built:
        op.bulk_insert(
            trades,
            [
                {
                    "symbol": t.symbol,
                    "leg": t.leg,
                    "side": t.side,
                    "opened_at": t.opened_at,
                    "closed_at": t.closed_at,
                    "size": t.size,
                    "entry_value": t.entry_value,
                    "closed": t.closed,
                    "exit_value": t.exit_value,
                    "realized": t.realized,
                    "fees": t.fees,
                    "funding": t.funding,
                    "clearance": t.clearance,
                    "exit_reason": t.exit_reason,
                    "is_open": t.is_open,
                    "adopted": False,
                }
                for t in built
            ],
        )


def _build_trades(connection: sa.Connection) -> list[TradeState]:
    """Every trade of the fills recorded so far, with the funding and clearances booked."""
    fills = connection.execute(
        sa.text(
            "SELECT f.symbol, f.leg, f.side, f.amount, f.price, f.fee, f.realized_pnl, "
            "f.reason, f.time, o.purpose FROM fills f LEFT JOIN orders o ON o.id = f.order_id "
            "ORDER BY f.time, f.id"
        )
    )
    built: list[TradeState] = []
    open_trades: dict[tuple[str, str], TradeState] = {}
    for symbol, leg, side, amount, price, fee, pnl, reason, time, purpose in fills:
        facts = FillFacts(
            symbol, leg, side, amount, price, fee, pnl, exit_reason(reason, purpose), time
        )
        for trade in apply_fill(open_trades.get((symbol, leg)), facts):
            if not any(trade is t for t in built):
                built.append(trade)
            if trade.is_open:
                open_trades[(symbol, leg)] = trade
            else:
                open_trades.pop((symbol, leg), None)
    funding = connection.execute(sa.text("SELECT symbol, amount, time FROM funding"))
    for symbol, amount, time in funding:
        attribute(holders_at(built, symbol, time), amount, "funding")
    clearances = connection.execute(
        sa.text("SELECT symbol, amount, time FROM income WHERE kind = 'clearance'")
    )
    for symbol, amount, time in clearances:
        attribute(cleared_by(built, symbol, time), amount, "clearance")
    return built


def downgrade() -> None:
    op.drop_table("paper_commands")
    op.drop_index("ix_trades_is_open", table_name="trades")
    op.drop_table("trades")
