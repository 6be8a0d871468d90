"""Fixtures: the demo venue served in-process on an ephemeral loopback port, manual clock."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from venue_helpers import KEY, OTHER_KEY, OTHER_SECRET, SECRET

from levtrade import localvenue
from levtrade.localvenue import VenueServer

DEMO = ["BTC/USDT:USDT", "ETH/USDT:USDT"]


@pytest.fixture
def server() -> Iterator[VenueServer]:
    """The demo venue (BTC, ETH, 1h) started 24 bars in, two accounts, no slippage."""
    running = localvenue.serve(
        symbols=DEMO,
        api_keys={KEY: SECRET, OTHER_KEY: OTHER_SECRET},
        start="2024-01-02",
    )
    yield running
    running.stop_thread()


@pytest.fixture
def exchange(server: VenueServer) -> Any:
    """A sync ccxt client of ``server``."""
    client = localvenue.client(server.url, KEY, SECRET)
    client.load_markets()
    return client
