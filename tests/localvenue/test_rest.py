"""The venue's REST API through the real ccxt 4.5.90 client (sync), over loopback.

Prices, fees and funding are checked against the market data the venue serves (the demo
perpetuals) and Binance's published rules: a market order fills at the next bar's open, a
limit where the path reaches it (maker fee 0.02 %), taker fee 0.05 %, funding payment
= −size × mark × rate at the funding time (a long pays a positive rate).
"""

from __future__ import annotations

import math
from typing import Any

import ccxt
import numpy as np
import pytest
from venue_helpers import KEY, SECRET, advance, control

from levtrade import localvenue
from levtrade.localvenue import VenueServer

BTC = "BTC/USDT:USDT"
ETH = "ETH/USDT:USDT"
TAKER, MAKER = 0.0005, 0.0002


def _data(server: VenueServer, column: str, symbol: str) -> np.ndarray:
    market = server.venue.data[symbol]
    values: np.ndarray = {
        "open": market.open,
        "low": market.low,
        "high": market.high,
        "close": market.close,
    }[column]
    return values


def _bar(server: VenueServer) -> int:
    return int(control(server, "/_venue/status", method="GET")["bar"])


def test_markets_carry_the_venue_filters(server: VenueServer, exchange: Any) -> None:
    market = exchange.market(BTC)
    first = float(_data(server, "close", BTC)[0])
    # the demo prices sit on no decimal grid: the tick is 10^(floor(log10 price) - 5), the lot
    # the power of ten worth 0.1 to 1 USDT at the first close (docs/localvenue.md)
    assert market["precision"]["price"] == 10.0 ** (math.floor(math.log10(first)) - 5)
    assert market["precision"]["amount"] == 10.0 ** math.ceil(math.log10(1.0 / first))
    assert market["limits"]["cost"]["min"] == 5.0
    assert market["linear"] and market["swap"] and market["settle"] == "USDT"
    assert exchange.fetch_time() > 1_700_000_000_000


def test_market_order_fills_at_the_next_open(server: VenueServer, exchange: Any) -> None:
    bar = _bar(server)
    order = exchange.create_order(BTC, "market", "buy", 0.01)
    assert order["status"] == "open" and order["filled"] == 0
    advance(server)
    filled = exchange.fetch_order(order["id"], BTC)
    price = float(_data(server, "open", BTC)[bar])
    assert filled["status"] == "closed"
    assert filled["average"] == price
    assert filled["filled"] == 0.01
    (trade,) = exchange.fetch_my_trades(BTC)
    assert trade["price"] == price and trade["amount"] == 0.01
    assert trade["fee"]["cost"] == pytest.approx(TAKER * 0.01 * price, rel=1e-12)
    assert trade["takerOrMaker"] == "taker"
    balance = exchange.fetch_balance()
    wallet = float(balance["info"]["totalWalletBalance"])
    assert wallet == pytest.approx(10_000 - TAKER * 0.01 * price, rel=1e-12)
    (position,) = exchange.fetch_positions([BTC])
    assert position["contracts"] == 0.01 and position["side"] == "long"
    assert position["entryPrice"] == price
    # marked at the last close's mark: equity = wallet + 0.01 × (mark − entry)
    mark = float(server.venue.data[BTC].mark.close[bar])  # type: ignore[union-attr]
    assert position["unrealizedPnl"] == pytest.approx(0.01 * (mark - price), rel=1e-9)
    assert balance["USDT"]["total"] == pytest.approx(wallet + 0.01 * (mark - price), rel=1e-12)
    # the fills show in the income history: the commission, signed
    (commission,) = exchange.fapiPrivateGetIncome({"incomeType": "COMMISSION"})
    assert float(commission["income"]) == pytest.approx(-TAKER * 0.01 * price, rel=1e-12)
    assert commission["symbol"] == "BTCUSDT" and commission["asset"] == "USDT"


def test_limit_order_rests_then_fills_where_the_path_reaches_it(
    server: VenueServer, exchange: Any
) -> None:
    bar = _bar(server)
    low = _data(server, "low", BTC)
    level = round(float(np.min(low[bar : bar + 48])) + 50.0, 1)
    hit = bar + int(np.argmax(low[bar:] <= level))
    order = exchange.create_order(BTC, "limit", "buy", 0.01, level)
    assert order["status"] == "open" and order["price"] == level
    assert [o["id"] for o in exchange.fetch_open_orders(BTC)] == [order["id"]]
    advance(server, hit - bar)
    assert exchange.fetch_order(order["id"], BTC)["status"] == "open"
    advance(server)
    filled = exchange.fetch_order(order["id"], BTC)
    opened = float(_data(server, "open", BTC)[hit])
    price = min(level, opened)  # a bar opening below the limit fills at its open
    assert filled["status"] == "closed" and filled["average"] == pytest.approx(price, rel=1e-12)
    (trade,) = exchange.fetch_my_trades(BTC)
    assert trade["fee"]["cost"] == pytest.approx(MAKER * 0.01 * price, rel=1e-12)
    assert exchange.fetch_open_orders(BTC) == []


def test_cancel_and_order_lists(server: VenueServer, exchange: Any) -> None:
    price = round(float(_data(server, "close", BTC)[_bar(server) - 1]) * 0.5, 1)
    first = exchange.create_order(BTC, "limit", "buy", 0.01, price, {"clientOrderId": "mine-1"})
    assert first["clientOrderId"] == "mine-1"
    by_client = exchange.fetch_order(None, BTC, {"clientOrderId": "mine-1"})
    assert by_client["id"] == first["id"]
    cancelled = exchange.cancel_order(first["id"], BTC)
    assert cancelled["status"] == "canceled"
    with pytest.raises(ccxt.OrderNotFound):
        exchange.cancel_order(first["id"], BTC)
    with pytest.raises(ccxt.OrderNotFound):
        exchange.fetch_order("123456", BTC)
    # the id is free again once the order is closed
    again = exchange.create_order(BTC, "limit", "buy", 0.01, price, {"clientOrderId": "mine-1"})
    statuses = {o["id"]: o["status"] for o in exchange.fetch_orders(BTC)}
    assert statuses == {first["id"]: "canceled", again["id"]: "open"}


def test_funding_income_is_the_margin_engine_settlement(server: VenueServer, exchange: Any) -> None:
    bar = _bar(server)
    exchange.create_order(ETH, "market", "sell", 1.0)
    advance(server, 30)
    rd = server.venue._run_data
    j = server.venue.symbols.index(ETH)
    times = [b for b in range(bar + 1, bar + 30) if rd.funding[b, j]]
    assert len(times) >= 3  # every 8 h
    history = exchange.fetch_funding_history(ETH)
    assert [h["timestamp"] for h in history] == [int(rd.timestamps[b]) for b in times]
    for item, b in zip(history, times, strict=True):
        # a short of 1 ETH receives size × mark × rate (mark at the funding time's open)
        assert item["amount"] == pytest.approx(1.0 * rd.mark_open[b, j] * rd.funding_rate[b, j],
                                               rel=1e-12)  # fmt: skip
    ledger = server.venue.accounts[KEY].account.ledger.to_frame()
    settled = ledger[ledger.kind == "funding"]
    assert math.fsum(h["amount"] for h in history) == pytest.approx(
        math.fsum(np.where(settled.destination == "market", -1, 1) * settled.amount), abs=1e-12
    )


def test_leverage_margin_type_and_position_mode(server: VenueServer, exchange: Any) -> None:
    assert exchange.set_leverage(10, BTC)["leverage"] == 10
    exchange.set_margin_mode("isolated", BTC)
    with pytest.raises(ccxt.MarginModeAlreadySet):
        exchange.set_margin_mode("isolated", BTC)
    exchange.create_order(BTC, "market", "buy", 0.02)
    advance(server)
    (position,) = exchange.fetch_positions([BTC])
    assert position["marginMode"] == "isolated"
    entry = position["entryPrice"]
    assert position["collateral"] == pytest.approx(0.02 * entry / 10 + position["unrealizedPnl"])
    with pytest.raises(ccxt.ExchangeError, match="-4048"):
        exchange.set_margin_mode("cross", BTC)
    with pytest.raises(ccxt.ExchangeError, match="-4068"):
        exchange.set_position_mode(True)
    exchange.add_margin(BTC, 100.0)
    (position,) = exchange.fetch_positions([BTC])
    assert float(position["info"]["isolatedWallet"]) == pytest.approx(0.02 * entry / 10 + 100.0)
    exchange.reduce_margin(BTC, 50.0)
    (position,) = exchange.fetch_positions([BTC])
    assert float(position["info"]["isolatedWallet"]) == pytest.approx(0.02 * entry / 10 + 50.0)
    exchange.create_order(BTC, "market", "sell", 0.02, None, {"reduceOnly": True})
    advance(server)
    assert exchange.fetch_positions([BTC]) == []
    exchange.set_position_mode(True)
    assert exchange.fetch_position_mode(BTC)["hedged"] is True
    exchange.create_order(BTC, "market", "buy", 0.01, None, {"positionSide": "LONG"})
    exchange.create_order(BTC, "market", "sell", 0.01, None, {"positionSide": "SHORT"})
    advance(server)
    sides = sorted(p["side"] for p in exchange.fetch_positions([BTC]))
    assert sides == ["long", "short"]


def test_error_codes_map_to_ccxt_exceptions(server: VenueServer, exchange: Any) -> None:
    wrong = localvenue.client(server.url, KEY, "not-the-secret")
    with pytest.raises(ccxt.AuthenticationError, match="-1022"):
        wrong.fetch_balance()
    stranger = localvenue.client(server.url, "no-such-key", SECRET)
    with pytest.raises(ccxt.AuthenticationError, match="-2015"):
        stranger.fetch_balance()
    control(server, "/_venue/skew", {"ms": 60_000})  # the server's clock a minute ahead
    with pytest.raises(ccxt.InvalidNonce, match="-1021"):
        exchange.fetch_balance()
    control(server, "/_venue/faults", method="DELETE")
    exchange.create_order(BTC, "limit", "buy", 0.01, 1000.0, {"clientOrderId": "dup"})
    with pytest.raises(ccxt.InvalidOrder, match="-4116"):
        exchange.create_order(BTC, "limit", "buy", 0.01, 1000.0, {"clientOrderId": "dup"})
    with pytest.raises(ccxt.InsufficientFunds, match="-2019"):
        exchange.create_order(BTC, "market", "buy", 10.0)  # 400k of notional at 20x on 10k
    with pytest.raises(ccxt.InvalidOrder, match="-2022"):
        exchange.create_order(BTC, "market", "sell", 0.01, None, {"reduceOnly": True})
    with pytest.raises(ccxt.InvalidOrder, match="-4164"):
        exchange.create_order(BTC, "market", "buy", 0.0001)  # 4 USDT < 5


def test_rate_limits_and_bans(server: VenueServer, exchange: Any) -> None:
    control(server, "/_venue/faults", {"kind": "rate_limit", "retry_after": 7})
    with pytest.raises(ccxt.DDoSProtection, match="429"):
        exchange.fetch_balance()
    exchange.fetch_balance()  # one request only
    control(server, "/_venue/faults", {"kind": "ban"})
    with pytest.raises(ccxt.DDoSProtection, match="418"):
        exchange.fetch_balance()
    control(server, "/_venue/faults", {"kind": "rate_limit", "status": 400})
    with pytest.raises(ccxt.RateLimitExceeded, match="-1003"):
        exchange.fetch_balance()
    control(server, "/_venue/faults", {"kind": "error", "path": "/fapi/v1/order"})
    with pytest.raises(ccxt.ExchangeNotAvailable):
        exchange.create_order(BTC, "market", "buy", 0.01)
    assert exchange.fetch_open_orders() == []  # a 5xx changes nothing


def test_dropped_answer_leaves_the_order_committed(server: VenueServer) -> None:
    impatient = localvenue.client(server.url, KEY, SECRET, timeout=500)
    impatient.load_markets()
    control(server, "/_venue/faults", {"kind": "drop", "path": "/fapi/v1/order", "ms": 1500})
    with pytest.raises(ccxt.RequestTimeout):
        impatient.create_order(BTC, "market", "buy", 0.01, None, {"clientOrderId": "lost-1"})
    found = impatient.fetch_order(None, BTC, {"clientOrderId": "lost-1"})
    assert found["status"] == "open"
    with pytest.raises(ccxt.InvalidOrder, match="-4116"):  # a blind resend is refused
        impatient.create_order(BTC, "market", "buy", 0.01, None, {"clientOrderId": "lost-1"})
