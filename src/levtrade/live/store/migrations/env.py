"""Alembic's environment for the store: migrations run on the connection the caller opened
(:func:`levtrade.live.store.database.migrate`), inside its transaction."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from levtrade.live.store.models import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("the store's migrations run through levtrade.live.store.migrate")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
