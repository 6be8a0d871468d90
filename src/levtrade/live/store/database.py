"""Opening the store: the SQLAlchemy engine for a ``db_url``, and the schema brought to the
newest revision by the shipped Alembic migrations before anything else touches it.

SQLite (the default, one file) runs in WAL mode with ``synchronous=FULL``: every commit is on
disk before it returns, so an order intent survives ``kill -9`` and a power cut (LIVE.md §3);
readers (``levtrade trade status``) do not block the bot. PostgreSQL is reached through
psycopg 3 (``postgresql+psycopg://user@host/db``; a plain ``postgresql://`` URL is read as
that).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from levtrade.live.errors import StoreError

SQLITE_BUSY_MS = 30_000


def normalise_url(db_url: str) -> str:
    """``db_url`` with PostgreSQL pointed at psycopg 3; a bare path is a SQLite file."""
    text = db_url.strip()
    if "://" not in text:
        return f"sqlite:///{Path(text).expanduser()}"
    if text.startswith("postgresql://") or text.startswith("postgres://"):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    return text


def open_engine(db_url: str) -> Engine:
    """An engine for ``db_url`` (SQLite files get WAL, ``synchronous=FULL``, foreign keys)."""
    url_text = normalise_url(db_url)
    try:
        url = make_url(url_text)
    except ArgumentError:
        raise StoreError(f"db_url: not a database URL: {db_url!r}") from None
    options: dict[str, Any] = {}
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:"):
            raise StoreError(
                f"db_url: {db_url!r} is an in-memory database; the store must survive a "
                "restart (give a file: sqlite:///levtrade-trade.sqlite)"
            )
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        options["connect_args"] = {"timeout": SQLITE_BUSY_MS / 1000}
    try:
        engine = create_engine(url, **options)
    except (ArgumentError, ImportError) as exc:
        raise StoreError(f"db_url: cannot open {db_url!r}: {exc}") from None
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(connection: Any, record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cursor.close()


def _alembic_config() -> Config:
    config = Config()
    location = resources.files("levtrade.live.store") / "migrations"
    config.set_main_option("script_location", str(location))
    return config


def head_revision() -> str:
    """The newest schema revision this version of levtrade ships."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The schema revision of the database (None: never migrated)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (the newest by default), in one transaction."""
    config = _alembic_config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except OperationalError as exc:
        raise StoreError(
            f"db_url: cannot reach or migrate the database {engine.url!r}: {exc.orig}"
        ) from None
