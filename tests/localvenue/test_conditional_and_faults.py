"""Conditional (algo) orders, the venue acting on a position (forced liquidation, ADL, an order
placed by hand) with Binance's markers on the user stream, and the remaining endpoints, all
through ccxt."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from typing import Any

import ccxt
import numpy as np
import pytest
from venue_helpers import KEY, SECRET, advance, control

from levtrade import localvenue
from levtrade.localvenue import VenueServer

BTC = "BTC/USDT:USDT"
ETH = "ETH/USDT:USDT"


def _long(server: VenueServer, exchange: Any, size: float = 0.1) -> float:
    """Open a long at the next open and return its entry price."""
    price = float(server.venue.data[BTC].open[server.venue.cursor])
    exchange.create_order(BTC, "market", "buy", size)
    advance(server)
    return price


def test_stop_loss_on_the_algo_service(server: VenueServer, exchange: Any) -> None:
    _long(server, exchange)
    bar = server.venue.cursor
    low = server.venue.data[BTC].low
    level = round(float(np.min(low[bar : bar + 100])) + 100.0, 1)
    hit = bar + int(np.argmax(low[bar:] <= level))
    stop = exchange.create_order(
        BTC, "market", "sell", 0.1, None, {"stopLossPrice": level, "reduceOnly": True}
    )
    assert stop["triggerPrice"] == level and stop["status"] == "open"
    (listed,) = exchange.fetch_open_orders(BTC, None, None, {"trigger": True})
    assert listed["id"] == stop["id"] and listed["info"]["algoType"] == "CONDITIONAL"
    assert exchange.fetch_open_orders(BTC) == []  # not among the plain orders
    advance(server, hit - bar + 1)
    done = exchange.fetch_order(stop["id"], BTC, {"trigger": True})
    assert done["status"] == "closed" and done["info"]["algoStatus"] == "FINISHED"
    actual = exchange.fetch_order(done["info"]["actualOrderId"], BTC)
    opened = float(server.venue.data[BTC].open[hit])
    # a stop reached inside the bar fills at its level; one the bar opens beyond, at the open
    assert actual["average"] == pytest.approx(min(level, opened), rel=1e-12)
    assert exchange.fetch_positions([BTC]) == []


def test_take_profit_and_cancel_on_the_algo_service(server: VenueServer, exchange: Any) -> None:
    entry = _long(server, exchange)
    target = exchange.create_order(
        BTC, "market", "sell", 0.1, None,
        {"takeProfitPrice": round(entry * 1.5, 1), "reduceOnly": True, "workingType": "MARK_PRICE"},
    )  # fmt: skip
    assert target["info"]["orderType"] == "TAKE_PROFIT_MARKET"
    assert target["info"]["workingType"] == "MARK_PRICE"
    cancelled = exchange.cancel_order(target["id"], BTC, {"trigger": True})
    assert cancelled["info"]["msg"] == "success"
    assert exchange.fetch_order(target["id"], BTC, {"trigger": True})["status"] == "canceled"
    with pytest.raises(ccxt.OrderNotFound):
        exchange.cancel_order(target["id"], BTC, {"trigger": True})


def _watch_user_stream(server: VenueServer, act: Any) -> list[dict[str, Any]]:
    """The raw ORDER_TRADE_UPDATE messages the user stream carries while ``act`` runs."""

    async def run() -> list[dict[str, Any]]:
        exchange = localvenue.client(server.url, KEY, SECRET, pro=True)
        try:
            await exchange.load_markets()
            watching = asyncio.ensure_future(exchange.watch_orders(BTC))
            await asyncio.sleep(0.3)
            await asyncio.to_thread(act)
            orders = await asyncio.wait_for(watching, 10)
            return [o["info"] for o in orders]
        finally:
            await exchange.close()

    return asyncio.run(run())


def test_forced_liquidation_is_reported_as_binance_does(server: VenueServer, exchange: Any) -> None:
    exchange.set_margin_mode("isolated", BTC)
    _long(server, exchange)
    (position,) = exchange.fetch_positions([BTC])
    messages = _watch_user_stream(
        server, lambda: control(server, "/_venue/liquidate", {"key": KEY, "symbol": "BTCUSDT"})
    )
    (update,) = messages
    assert update["c"].startswith("autoclose-") and update["o"] == "LIQUIDATION"
    assert update["x"] == "CALCULATED" and update["X"] == "FILLED"
    (forced,) = exchange.fetch_my_liquidations(BTC)
    assert forced["price"] == pytest.approx(position["liquidationPrice"], rel=1e-9)
    assert exchange.fetch_positions([BTC]) == []
    # the whole isolated margin is gone: realized PnL at the liquidation price, then the
    # clearance fee and the rest to the insurance fund (INSURANCE_CLEAR)
    income = exchange.fapiPrivateGetIncome({"symbol": "BTCUSDT"})
    lost = sum(float(i["income"]) for i in income if i["incomeType"] != "COMMISSION")
    assert lost == pytest.approx(-float(position["info"]["isolatedWallet"]), rel=1e-9)


def test_adl_and_an_order_placed_by_hand(server: VenueServer, exchange: Any) -> None:
    _long(server, exchange)
    mark = exchange.fetch_positions([BTC])[0]["markPrice"]
    messages = _watch_user_stream(
        server, lambda: control(server, "/_venue/adl", {"key": KEY, "symbol": "BTCUSDT"})
    )
    filled = [m for m in messages if m["X"] == "FILLED"]
    assert [m["c"] for m in filled] == ["adl_autoclose"]
    (adl,) = exchange.fetch_my_liquidations(BTC, None, None, {"autoCloseType": "ADL"})
    assert adl["price"] == mark  # closed at the mark, no fee
    assert exchange.fetch_my_trades(BTC)[-1]["fee"]["cost"] == 0.0
    manual = control(
        server, "/_venue/order",
        {"key": KEY, "params": {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT",
                                "quantity": "0.01", "price": "1000", "timeInForce": "GTC"}},
    )  # fmt: skip
    (seen,) = exchange.fetch_open_orders(BTC)
    assert seen["id"] == str(manual["orderId"]) and seen["clientOrderId"].startswith("web_")


def test_market_data_endpoints(server: VenueServer, exchange: Any) -> None:
    venue = server.venue
    bar = venue.cursor
    data = venue.data[BTC]
    assert data.mark is not None
    mark = exchange.fetch_mark_ohlcv(BTC, "1h", limit=3)
    assert mark[-2][1:5] == [data.mark.open[bar - 1], data.mark.high[bar - 1],
                             data.mark.low[bar - 1], data.mark.close[bar - 1]]  # fmt: skip
    rate = exchange.fetch_funding_rate(BTC)
    assert rate["markPrice"] == data.mark.close[bar - 1]
    assert rate["fundingTimestamp"] > int(data.timestamps[bar - 1])
    history = exchange.fetch_funding_rate_history(BTC)
    events = [int(t) for t in data.timestamps[:bar][data.funding_rate[:bar] != 0]]
    assert [h["timestamp"] for h in history][-3:] == events[-3:]
    tiers = exchange.fetch_leverage_tiers([BTC])[BTC]
    assert tiers[0]["maxLeverage"] == 150 and tiers[0]["maintenanceMarginRate"] == 0.004
    with pytest.raises(ccxt.BadRequest, match="-1120"):
        exchange.fetch_ohlcv(BTC, "5m")
    assert exchange.fapiPrivateGetMultiAssetsMargin()["multiAssetsMargin"] is False
    with pytest.raises(ccxt.ExchangeError, match="-4171"):
        exchange.fapiPrivatePostMultiAssetsMargin({"multiAssetsMargin": "true"})
    with pytest.raises(ccxt.ExchangeError, match="-4166"):
        exchange.fetch_my_trades(BTC, 1_704_067_200_000, None, {"endTime": 1_704_067_200_000
                                                               + 8 * 86_400_000})  # fmt: skip


def test_latency_and_listen_key(server: VenueServer, exchange: Any) -> None:
    control(server, "/_venue/faults", {"kind": "latency", "ms": 300, "count": 1})
    slow = localvenue.client(server.url, KEY, SECRET, timeout=100)
    with pytest.raises(ccxt.RequestTimeout):
        slow.fetch_time()
    key = exchange.fapiPrivatePostListenKey()["listenKey"]
    assert exchange.fapiPrivatePutListenKey() == {}
    assert exchange.fapiPrivateDeleteListenKey() == {}
    with urllib.request.urlopen(server.url + "/_venue/status") as response:
        assert json.loads(response.read())["clock"] == "manual"
    assert key not in server.listen_keys


def test_stop_limit_becomes_a_limit_at_its_trigger(server: VenueServer, exchange: Any) -> None:
    # a buy stop-limit: triggered when the price rises to the stop, then a buy limit at the
    # limit price 0.5 % above it; the first bar whose high reaches the stop triggers it
    bar = server.venue.cursor
    data = server.venue.data[BTC]
    trigger = round(float(np.max(data.high[bar : bar + 60])) - 50.0, 1)
    hit = bar + int(np.argmax(data.high[bar:] >= trigger))
    limit = round(trigger * 1.005, 1)
    order = exchange.create_order(BTC, "limit", "buy", 0.01, limit, {"triggerPrice": trigger})
    assert order["info"]["orderType"] == "STOP"
    advance(server, hit - bar)
    assert exchange.fetch_order(order["id"], BTC, {"trigger": True})["status"] == "open"
    advance(server)
    done = exchange.fetch_order(order["id"], BTC, {"trigger": True})
    assert done["status"] == "closed"
    fill = exchange.fetch_my_trades(BTC)[-1]
    # the bar opens below the stop and rises through it: there the limit (above the price)
    # is marketable and fills at the price the path is at, the stop
    assert float(data.open[hit]) < trigger
    assert fill["price"] == pytest.approx(trigger, rel=1e-12)


def test_tickers_and_book(server: VenueServer, exchange: Any) -> None:
    bar = server.venue.cursor
    data = server.venue.data[BTC]
    last = float(data.close[bar - 1])
    ticker = exchange.fetch_ticker(BTC)
    assert ticker["last"] == last
    assert ticker["open"] == float(data.open[bar - 24])  # the 24 hours of closed bars
    assert ticker["high"] == float(np.max(data.high[bar - 24 : bar]))
    book = exchange.fetch_order_book(BTC)
    assert book["bids"][0][0] == book["asks"][0][0] == last
    assert exchange.fetch_bids_asks([BTC])[BTC]["bid"] == last
