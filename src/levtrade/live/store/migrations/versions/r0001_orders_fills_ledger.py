"""The store's first schema: runs, orders and their states, fills, funding, income, positions
as reconciled, the ledger, cursors and reconciliation events.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("started_at", sa.BigInteger(), nullable=False),
        sa.Column("stopped_at", sa.BigInteger()),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("exchange", sa.String(64), nullable=False),
        sa.Column("strategy", sa.String(256), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("venue_order_id", sa.String(64)),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("runs.id", name="fk_orders_run_id_runs")),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("price", sa.Float()),
        sa.Column("trigger_price", sa.Float()),
        sa.Column("time_in_force", sa.String(8), nullable=False),
        sa.Column("reduce_only", sa.Boolean(), nullable=False),
        sa.Column("close_position", sa.Boolean(), nullable=False),
        sa.Column("leg", sa.String(8), nullable=False),
        sa.Column("leverage", sa.Float()),
        sa.Column("origin", sa.String(32), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("filled", sa.Float(), nullable=False),
        sa.Column("average", sa.Float()),
        sa.Column("decision_time", sa.BigInteger(), nullable=False),
        sa.Column("local_id", sa.Integer()),
        sa.Column("tag", sa.String(128)),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("client_id", name="uq_orders_client_id"),
    )
    op.create_index("ix_orders_venue_order_id", "orders", ["venue_order_id"])
    op.create_index("ix_orders_state", "orders", ["state"])
    op.create_table(
        "order_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "order_id",
            sa.Integer(),
            sa.ForeignKey("orders.id", name="fk_order_events_order_id_orders"),
            nullable=False,
        ),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("filled", sa.Float(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_order_events_order_id", "order_events", ["order_id"])
    op.create_table(
        "fills",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("venue_trade_id", sa.String(64), nullable=False),
        sa.Column("venue_order_id", sa.String(64), nullable=False),
        sa.Column(
            "order_id", sa.Integer(), sa.ForeignKey("orders.id", name="fk_fills_order_id_orders")
        ),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("leg", sa.String(8), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("price", sa.Float(), nullable=False),
        sa.Column("fee", sa.Float(), nullable=False),
        sa.Column("realized_pnl", sa.Float(), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("time", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("venue_trade_id", name="uq_fills_venue_trade_id"),
    )
    op.create_index("ix_fills_venue_order_id", "fills", ["venue_order_id"])
    op.create_index("ix_fills_order_id", "fills", ["order_id"])
    op.create_index("ix_fills_time", "fills", ["time"])
    op.create_index("ix_fills_symbol_time", "fills", ["symbol", "time"])
    op.create_table(
        "funding",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("venue_id", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("time", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("venue_id", name="uq_funding_venue_id"),
    )
    op.create_index("ix_funding_time", "funding", ["time"])
    op.create_table(
        "income",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("venue_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("time", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("venue_id", name="uq_income_venue_id"),
    )
    op.create_table(
        "positions",
        sa.Column("symbol", sa.String(64), primary_key=True),
        sa.Column("leg", sa.String(8), primary_key=True),
        sa.Column("size", sa.Float(), nullable=False),
        sa.Column("entry_price", sa.Float(), nullable=False),
        sa.Column("leverage", sa.Float(), nullable=False),
        sa.Column("margin_mode", sa.String(16), nullable=False),
        sa.Column("isolated_margin", sa.Float(), nullable=False),
        sa.Column("liquidation_price", sa.Float()),
        sa.Column("mark_price", sa.Float()),
        sa.Column("adopted", sa.Boolean(), nullable=False),
        sa.Column("time", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "ledger",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("time", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("destination", sa.String(64), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("reference", sa.String(96), nullable=False),
        sa.UniqueConstraint("reference", name="uq_ledger_reference"),
    )
    op.create_table(
        "cursors",
        sa.Column("name", sa.String(96), primary_key=True),
        sa.Column("value", sa.String(256), nullable=False),
    )
    op.create_table(
        "reconciliations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "run_id", sa.Integer(), sa.ForeignKey("runs.id", name="fk_reconciliations_run_id_runs")
        ),
        sa.Column("trigger", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("venue_time", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "reconciliations",
        "cursors",
        "ledger",
        "positions",
        "income",
        "funding",
        "fills",
        "order_events",
        "orders",
        "runs",
    ):
        op.drop_table(table)
