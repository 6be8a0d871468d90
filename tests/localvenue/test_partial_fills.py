"""Partial fills by volume participation, through ccxt: a resting limit fills at most the
configured share of each bar's volume, reported as Binance does (PARTIALLY_FILLED, one user
trade per part, the order's average price)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from venue_helpers import KEY, SECRET, advance

from levtrade import localvenue
from levtrade.localvenue import VenueServer

BTC = "BTC/USDT:USDT"
SHARE = 0.000005


@pytest.fixture
def thin() -> Iterator[VenueServer]:
    running = localvenue.serve(
        symbols=[BTC], api_keys={KEY: SECRET}, start="2024-01-02",
        config={"participation": SHARE},
    )  # fmt: skip
    yield running
    running.stop_thread()


def test_a_large_limit_fills_in_parts(thin: VenueServer) -> None:
    exchange = localvenue.client(thin.url, KEY, SECRET)
    exchange.load_markets()
    venue = thin.venue
    data = venue.data[BTC]
    bar = venue.cursor
    limit = round(float(data.close[bar - 1]) * 1.02, 1)  # above the price: reached every bar
    order = exchange.create_order(BTC, "limit", "buy", 2.0, limit)
    advance(thin, 2)
    parts = [
        exchange.amount_to_precision(BTC, SHARE * float(data.volume[b])) for b in (bar, bar + 1)
    ]
    expected = [float(p) for p in parts]
    assert sum(expected) < 2.0
    state = exchange.fetch_order(order["id"], BTC)
    assert state["status"] == "open" and state["info"]["status"] == "PARTIALLY_FILLED"
    assert state["filled"] == pytest.approx(sum(expected), rel=1e-12)
    trades = exchange.fetch_my_trades(BTC)
    assert [t["amount"] for t in trades] == pytest.approx(expected, rel=1e-12)
    # each part fills at the bar's open (below the limit), the order at their average
    opens = [float(data.open[b]) for b in (bar, bar + 1)]
    assert [t["price"] for t in trades] == pytest.approx(opens, rel=1e-12)
    average = sum(q * p for q, p in zip(expected, opens, strict=True)) / sum(expected)
    assert state["average"] == pytest.approx(average, rel=1e-12)
