"""The ambiguous submit: the venue commits the order and the answer never arrives. The bot asks
the venue for its client id instead of sending again: exactly one order with that id exists,
the store holds its true state, and neither retries nor a restart make a second one."""

from __future__ import annotations

import asyncio

from live_helpers import (
    BTC,
    KEY,
    SECRET,
    Scripted,
    advance,
    bar_time,
    control,
    drive,
    settings,
    venue_orders,
)

from levtrade import localvenue
from levtrade.live.runner import Bot
from levtrade.localvenue import VenueServer


def test_a_dropped_answer_leaves_one_order_and_the_store_knows_it(
    server: VenueServer, db_url: str
) -> None:
    """On each store backend (SQLite, PostgreSQL)."""
    plan = {bar_time(server): [("buy", (), {"size": 0.01})]}
    # the venue carries out the next order request, then drops the connection after 3 s; the
    # client gives up after 2 s (RequestTimeout)
    control(server, "/_venue/faults",
            {"kind": "drop", "path": "/fapi/v1/order", "method": "POST", "ms": 3000})  # fmt: skip

    async def scenario() -> None:
        bot = Bot(settings(server, db_url), Scripted, {"plan": plan})
        await bot.start()
        assert bot.store is not None
        (row,) = bot.store.orders(origin="strategy")
        assert row.state == "open" and row.venue_order_id is not None
        events = [state for state, _, _ in bot.store.order_events(row.client_id)]
        assert events == ["intent", "ambiguous", "open"]
        await drive(bot, server, 1)
        filled = bot.store.order(row.client_id)
        assert filled is not None and filled.state == "filled" and filled.filled == 0.01
        await bot.close()
        # a restart reconciles and sends nothing again
        again = Bot(settings(server, db_url), Scripted, {"plan": plan})
        await again.start()
        await drive(again, server, 2)
        await again.close()

    asyncio.run(scenario())
    exchange = localvenue.client(server.url, KEY, SECRET)
    exchange.load_markets()
    ours = [o for o in venue_orders(exchange) if o.get("clientOrderId", "").startswith("lt")]
    assert len(ours) == 1 and ours[0]["status"] == "FILLED"
    assert float(exchange.fetch_positions([BTC])[0]["contracts"]) == 0.01


def test_a_gateway_error_means_not_placed_and_the_same_id_is_sent_again(
    server: VenueServer, sqlite_url: str
) -> None:
    plan = {bar_time(server): [("buy", (), {"size": 0.01})]}
    # two 503 pages from a gateway: the request never reached the venue
    control(server, "/_venue/faults",
            {"kind": "error", "path": "/fapi/v1/order", "method": "POST", "count": 2})  # fmt: skip

    async def scenario() -> str:
        bot = Bot(settings(server, sqlite_url), Scripted, {"plan": plan})
        await bot.start()
        assert bot.store is not None
        (row,) = bot.store.orders(origin="strategy")
        await bot.close()
        return row.client_id

    client_id = asyncio.run(scenario())
    advance(server)
    exchange = localvenue.client(server.url, KEY, SECRET)
    exchange.load_markets()
    same = [o for o in venue_orders(exchange) if o.get("clientOrderId") == client_id]
    assert len(same) == 1 and same[0]["status"] == "FILLED"
