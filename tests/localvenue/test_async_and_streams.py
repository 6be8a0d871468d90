"""The venue through ccxt's async client and ccxt.pro's websockets (market and user streams).

Each stream is watched while the venue's manual clock moves on; the messages must carry the
bar that closed (its open, high, low, close from the data), the mark, and the account's order
updates, fills, positions and balance as the REST API reports them.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from typing import Any

import pytest
from venue_helpers import KEY, SECRET

from levtrade import localvenue
from levtrade.localvenue import VenueServer

BTC = "BTC/USDT:USDT"


async def _control(server: VenueServer, path: str, body: dict[str, Any]) -> Any:
    """The control API from a worker thread (the test's loop keeps the websockets alive)."""

    def call() -> Any:
        request = urllib.request.Request(
            server.url + path, data=json.dumps(body).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    return await asyncio.to_thread(call)


def test_async_client_trades(server: VenueServer) -> None:
    async def run() -> None:
        exchange = localvenue.client(server.url, KEY, SECRET, async_=True)
        try:
            await exchange.load_markets()
            bar = server.venue.cursor
            order = await exchange.create_order(BTC, "market", "buy", 0.01)
            await _control(server, "/_venue/advance", {"bars": 1})
            filled = await exchange.fetch_order(order["id"], BTC)
            assert filled["average"] == float(server.venue.data[BTC].open[bar])
            (position,) = await exchange.fetch_positions([BTC])
            assert position["contracts"] == 0.01
            balance = await exchange.fetch_balance()
            assert balance["USDT"]["used"] > 0
        finally:
            await exchange.close()

    asyncio.run(run())


def test_market_streams(server: VenueServer) -> None:
    async def run() -> None:
        exchange = localvenue.client(server.url, KEY, SECRET, pro=True)
        try:
            await exchange.load_markets()
            bar = server.venue.cursor
            candles = asyncio.ensure_future(exchange.watch_ohlcv(BTC, "1h"))
            await asyncio.sleep(0.3)  # subscribed before the bar closes
            await _control(server, "/_venue/advance", {"bars": 1})
            closed = (await asyncio.wait_for(candles, 10))[-1]
            data = server.venue.data[BTC]
            assert closed[0] == int(data.timestamps[bar])
            assert closed[1:5] == [data.open[bar], data.high[bar], data.low[bar], data.close[bar]]
            marks = asyncio.ensure_future(exchange.watch_mark_price(BTC))
            await asyncio.sleep(0.3)
            await _control(server, "/_venue/advance", {"bars": 1})
            ticker = await asyncio.wait_for(marks, 10)
            assert data.mark is not None
            assert ticker["markPrice"] == data.mark.close[bar + 1]
        finally:
            await exchange.close()

    asyncio.run(run())


def test_user_data_stream(server: VenueServer) -> None:
    async def run() -> None:
        exchange = localvenue.client(server.url, KEY, SECRET, pro=True)
        try:
            await exchange.load_markets()
            orders = asyncio.ensure_future(exchange.watch_orders(BTC))
            await asyncio.sleep(0.3)
            bar = server.venue.cursor
            order = await exchange.create_order(BTC, "market", "buy", 0.01)
            (new,) = await asyncio.wait_for(orders, 10)
            assert new["id"] == order["id"] and new["status"] == "open"
            trades = asyncio.ensure_future(exchange.watch_my_trades(BTC))
            positions = asyncio.ensure_future(exchange.watch_positions([BTC]))
            balance = asyncio.ensure_future(exchange.watch_balance())
            await asyncio.sleep(0.3)
            await _control(server, "/_venue/advance", {"bars": 1})
            price = float(server.venue.data[BTC].open[bar])
            (fill,) = await asyncio.wait_for(trades, 10)
            assert fill["price"] == price and fill["amount"] == 0.01
            assert fill["fee"]["cost"] == pytest.approx(0.0005 * 0.01 * price, rel=1e-12)
            watched = await asyncio.wait_for(positions, 10)
            assert [(p["symbol"], p["contracts"]) for p in watched] == [(BTC, 0.01)]
            wallet = await asyncio.wait_for(balance, 10)
            assert wallet["USDT"]["total"] == pytest.approx(10_000 - 0.0005 * 0.01 * price)
        finally:
            await exchange.close()

    asyncio.run(run())
