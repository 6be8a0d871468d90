"""Fixtures of the trading tests: the demo local venue served in-process on a loopback port
(manual clock), and stores on SQLite files and on the machine's PostgreSQL server (a fresh
schema per test, dropped after it, so that parallel workers never meet)."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from live_helpers import KEY, OTHER_KEY, OTHER_SECRET, SECRET

from levtrade import localvenue
from levtrade.localvenue import VenueServer

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEMO = ["BTC/USDT:USDT", "ETH/USDT:USDT"]


@pytest.fixture
def server() -> Iterator[VenueServer]:
    """The demo venue (BTC, ETH, 1h) at 2024-01-05 00:00, two accounts, manual clock."""
    running = localvenue.serve(
        symbols=DEMO, api_keys={KEY: SECRET, OTHER_KEY: OTHER_SECRET}, start="2024-01-05"
    )
    yield running
    running.stop_thread()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'bot.sqlite'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema on the local PostgreSQL server (``.ci/run`` starts it), dropped after."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    schema = f"lt_{uuid.uuid4().hex[:16]}"
    admin = create_engine(POSTGRES)
    try:
        with admin.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
    except OperationalError as exc:
        admin.dispose()
        pytest.fail(f"PostgreSQL at 127.0.0.1:5432 is not reachable (.ci/run starts it): {exc}")
    yield f"{POSTGRES}?options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    url: str = request.getfixturevalue("postgres_url")
    return url
