"""A limit order that fills in parts (the venue fills at most a share of each bar's volume),
then is cancelled: the filled part is kept — booked, in the position and the trade — and the
order ends cancelled with what it filled, on the venue, in the store and for the strategy."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from live_helpers import BTC, KEY, SECRET, Scripted, bar_time, drive, settings

from levtrade import localvenue
from levtrade.live.runner import Bot
from levtrade.live.store import Store
from levtrade.localvenue import VenueServer
from levtrade.model.orders import Order, OrderStatus

SHARE = 0.000005
"""The venue fills at most this share of a bar's volume (BTC volumes are 10⁴–10⁵ a bar)."""


@pytest.fixture
def thin() -> Iterator[VenueServer]:
    running = localvenue.serve(symbols=[BTC], api_keys={KEY: SECRET}, start="2024-01-05",
                               config={"participation": SHARE})  # fmt: skip
    yield running
    running.stop_thread()


def test_partial_fill_then_cancel(thin: VenueServer, sqlite_url: str) -> None:
    venue = thin.venue
    data = venue.data[BTC]
    c = venue.cursor
    limit = round(float(data.close[c - 1]) * 1.02, 1)  # above the price: reached at the open
    plan = {
        bar_time(thin): [("buy", (), {"size": 1.0, "price": limit})],
        int(venue.timestamps[c]): [("cancel_open", (), {})],
    }
    Scripted.seen.clear()

    async def scenario() -> None:
        bot = Bot(settings(thin, sqlite_url), Scripted, {"plan": plan})
        await bot.start()
        await drive(bot, thin, 2)
        await bot.close()

    asyncio.run(scenario())
    # the one part: SHARE × the volume of bar c, on the lot (0.0001), at bar c's open
    part = int(SHARE * float(data.volume[c]) / 0.0001) * 0.0001
    assert 0 < part < 1.0
    store = Store.open(sqlite_url)
    (order,) = store.orders(origin="strategy")
    assert order.state == "cancelled" and order.filled == pytest.approx(part, rel=1e-12)
    assert [e[0] for e in store.order_events(order.client_id)] == [
        "intent", "open", "partially_filled", "cancelled"
    ]  # fmt: skip
    (fill,) = store.fills()
    assert fill.amount == pytest.approx(part, rel=1e-12)
    assert fill.price == pytest.approx(float(data.open[c]), rel=1e-12)
    assert fill.fee == pytest.approx(part * float(data.open[c]) * 0.0002, rel=1e-9)  # maker
    (trade,) = store.trades()
    assert trade.is_open and trade.size == pytest.approx(part, rel=1e-12)
    assert store.book_positions() == {(BTC, "BOTH"): pytest.approx(part, rel=1e-12)}
    store.close()
    exchange = localvenue.client(thin.url, KEY, SECRET)
    exchange.load_markets()
    on_venue = exchange.fetch_order(order.venue_order_id, BTC)
    assert on_venue["status"] == "canceled" and on_venue["filled"] == pytest.approx(part)
    told = [o for o in Scripted.seen if isinstance(o, Order)]
    assert told[-1].status is OrderStatus.CANCELLED
    assert told[-1].filled_size == pytest.approx(part, rel=1e-12)
