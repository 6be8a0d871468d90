"""The trading store: SQLAlchemy 2 models, the database (SQLite in WAL mode with
``synchronous=FULL``, or PostgreSQL), the Alembic migrations run at open, and the operations
the bot commits one transaction at a time."""

from __future__ import annotations

from levtrade.live.store.database import current_revision, head_revision, migrate, open_engine
from levtrade.live.store.repository import (
    FINAL_STATES,
    OPEN_STATES,
    WALLET,
    Booked,
    FillRecord,
    OrderRow,
    OrderSpec,
    PositionRecord,
    Store,
)

__all__ = [
    "FINAL_STATES",
    "OPEN_STATES",
    "WALLET",
    "Booked",
    "FillRecord",
    "OrderRow",
    "OrderSpec",
    "PositionRecord",
    "Store",
    "current_revision",
    "head_revision",
    "migrate",
    "open_engine",
]
