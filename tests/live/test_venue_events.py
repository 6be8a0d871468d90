"""What the venue does on its own, with the bot running or stopped: resting orders that fill,
a forced liquidation, an auto-deleveraging, funding. The restarted (or running) bot books each
once, as the venue booked it, closes the trade with the venue's reason, and sends nothing more
for a position the venue closed."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import numpy as np
import pytest
from live_helpers import (
    BTC,
    KEY,
    Scripted,
    advance,
    bar_time,
    control,
    drive,
    settings,
    venue_client,
    venue_orders,
)

from levtrade.live.runner import Bot
from levtrade.live.settings import ProtectiveStop
from levtrade.live.store import WALLET, Store
from levtrade.localvenue import VenueServer
from levtrade.model.orders import Order, OrderStatus, Trade
from levtrade.spec import BacktestConfig


def _check_books(store: Store, exchange: Any) -> None:
    """Every venue fill booked once with the venue's fee and PnL; the ledger's wallet is the
    venue's wallet."""
    since = 1_704_400_000_000  # the venue starts at 2024-01-05 00:00; a week from just before
    trades = exchange.fetch_my_trades(BTC, since, None, {"endTime": since + 7 * 86_400_000 - 1})
    booked = {f.venue_trade_id: f for f in store.fills()}
    assert sorted(booked) == sorted(t["id"] for t in trades)
    for trade in trades:
        fill = booked[trade["id"]]
        assert fill.fee == trade["fee"]["cost"]
        assert fill.realized_pnl == float(trade["info"]["realizedPnl"])
    wallet = float(exchange.fapiPrivateV3GetAccount()["totalWalletBalance"])
    balances = store.ledger_balances()
    assert balances[WALLET] == pytest.approx(wallet, rel=1e-12)
    assert math.fsum(balances.values()) == pytest.approx(0.0, abs=1e-6)


def test_resting_orders_that_fill_while_the_bot_is_down(
    server: VenueServer, sqlite_url: str
) -> None:
    venue = server.venue
    data = venue.data[BTC]
    c = venue.cursor
    # a limit above the market that the bar c+2..c+4 highs reach, and a stop below it that the
    # lows reach later: both wait at the venue while the bot is stopped
    limit = math.floor((float(np.max(data.high[c + 2 : c + 5])) - 5.0) * 10) / 10
    first_limit = c + 2 + int(np.argmax(data.high[c + 2 :] >= limit))
    stop = math.ceil((float(np.min(data.low[first_limit + 1 : c + 40])) + 5.0) * 10) / 10
    first_stop = first_limit + 1 + int(np.argmax(data.low[first_limit + 1 :] <= stop))
    assert data.open[c + 1] < limit and data.open[c + 1] > stop and first_stop < c + 40
    plan = {
        bar_time(server): [("buy", (), {"size": 0.02})],
        int(venue.timestamps[c]): [
            ("sell", (), {"size": 0.01, "price": limit, "reduce_only": True}),
            ("sell", (), {"size": 0.01, "price": stop, "exectype": "stop", "reduce_only": True}),
        ],
    }
    Scripted.seen.clear()

    async def scenario() -> None:
        bot = Bot(settings(server, sqlite_url), Scripted, {"plan": plan})
        await bot.start()
        await drive(bot, server, 1)
        await bot.close()
        advance(server, first_stop - venue.cursor + 2)
        Scripted.seen.clear()
        again = Bot(settings(server, sqlite_url), Scripted, {"plan": plan})
        await again.start()
        await again.close()

    asyncio.run(scenario())
    exchange = venue_client(server)
    store = Store.open(sqlite_url)
    _check_books(store, exchange)
    exits = [f for f in store.fills() if f.side == "sell"]
    assert [f.price for f in exits] == [
        pytest.approx(limit),
        pytest.approx(min(stop, data.open[first_stop])),
    ]
    assert all(f.fee > 0 for f in exits) and all(f.realized_pnl != 0 for f in exits)
    (trade,) = store.trades()
    assert not trade.is_open and trade.exit_reason == "stop_loss"
    assert trade.realized == pytest.approx(math.fsum(f.realized_pnl for f in exits), rel=1e-12)
    told = {o.client_id: o for o in Scripted.seen if isinstance(o, Order)}
    filled = [o for o in told.values() if o.status is OrderStatus.FILLED and o.side == "sell"]
    assert len(filled) == 2
    assert [t.exit_reason for t in Scripted.seen if isinstance(t, Trade) and not t.open] == [
        "stop_loss"
    ]
    store.close()


@pytest.mark.parametrize("kind", ["liquidate", "adl"])
@pytest.mark.parametrize("while_down", [False, True])
def test_the_venue_closes_the_position(
    server: VenueServer, sqlite_url: str, kind: str, while_down: bool
) -> None:
    venue = server.venue
    c = venue.cursor
    later = {int(venue.timestamps[c + k]): [("close", (), {})] for k in range(1, 5)}
    plan = {bar_time(server): [("buy", (), {"size": 0.01})], **later}
    stop = ProtectiveStop(stoploss=-0.9)
    Scripted.seen.clear()

    async def scenario() -> int:
        bot = Bot(settings(server, sqlite_url, protective_stop=stop), Scripted, {"plan": plan})
        await bot.start()
        advance(server)
        await bot.step()  # the entry filled; the protective stop armed
        assert bot.store is not None and len(bot.store.orders(("open",), origin="protective")) == 1
        if while_down:
            await bot.close()
        control(server, f"/_venue/{kind}", {"key": KEY, "symbol": "BTCUSDT"})
        closed_at = int(venue.now())
        if while_down:
            advance(server)
            bot = Bot(settings(server, sqlite_url, protective_stop=stop), Scripted, {"plan": plan})
            await bot.start()
        await drive(bot, server, 3)
        await bot.close()
        return closed_at

    closed_at = asyncio.run(scenario())
    exchange = venue_client(server)
    store = Store.open(sqlite_url)
    _check_books(store, exchange)
    (trade,) = store.trades()
    reason = "liquidation" if kind == "liquidate" else "adl"
    assert not trade.is_open and trade.exit_reason == reason
    # the loss the venue booked: its realized PnL and its clearance (INSURANCE_CLEAR)
    income = exchange.fapiPrivateGetIncome({"symbol": "BTCUSDT", "limit": 1000})
    booked = math.fsum(
        float(i["income"]) for i in income if i["incomeType"] in ("REALIZED_PNL", "INSURANCE_CLEAR")
    )
    assert trade.realized + trade.clearance == pytest.approx(booked, rel=1e-12)
    assert (trade.clearance < 0) == (kind == "liquidate")
    # nothing was sent for the position afterwards: no order of ours after the venue closed it
    # (the strategy's close() found it flat; the protective stop was not re-armed)
    ours = [
        o
        for o in venue_orders(exchange)
        if str(o.get("clientOrderId") or o.get("clientAlgoId", "")).startswith("lt")
    ]
    later_orders = [o for o in ours if int(o.get("time") or o.get("createTime")) > closed_at]
    assert later_orders == []
    assert exchange.fetch_positions([BTC]) == []
    told = [t for t in Scripted.seen if isinstance(t, Trade) and not t.open]
    assert [t.exit_reason for t in told] == [reason]
    store.close()


def test_funding_is_booked_once_as_the_venue_paid_it(server: VenueServer, sqlite_url: str) -> None:
    venue = server.venue
    data = venue.data[BTC]
    c = venue.cursor
    plan = {bar_time(server): [("buy", (), {"size": 0.05})]}

    async def scenario() -> None:
        bot = Bot(settings(server, sqlite_url), Scripted, {"plan": plan})
        await bot.start()
        await drive(bot, server, 10)
        await bot.close()
        advance(server, 10)  # a settlement (bar c + 16) while it is down
        again = Bot(settings(server, sqlite_url), Scripted, {"plan": plan})
        await again.start()
        await drive(again, server, 9)  # and one more (c + 24) while it runs
        await again.close()
        # and a third start books nothing twice
        third = Bot(settings(server, sqlite_url), Scripted, {"plan": plan})
        await third.start()
        await third.close()

    asyncio.run(scenario())
    exchange = venue_client(server)
    store = Store.open(sqlite_url)
    income = exchange.fapiPrivateGetIncome({"incomeType": "FUNDING_FEE", "limit": 1000})
    payments = store.funding_payments()
    assert len(payments) == len(income) == 3
    assert math.fsum(p.amount for p in payments) == pytest.approx(
        math.fsum(float(i["income"]) for i in income), rel=1e-12
    )
    # each settlement is −size × mark at the funding time × rate (a long pays a positive rate)
    assert data.mark is not None
    for payment in payments:
        bar = int(np.searchsorted(data.timestamps, payment.time))
        assert bar > c and data.funding_rate[bar] != 0.0
        expected = -0.05 * float(data.mark.open[bar]) * float(data.funding_rate[bar])
        assert payment.amount == pytest.approx(expected, rel=1e-9)
    (trade,) = store.trades()
    assert trade.funding == pytest.approx(math.fsum(p.amount for p in payments), rel=1e-12)
    _check_books(store, exchange)
    store.close()


def test_hedge_mode_legs_are_booked_apart(server: VenueServer, sqlite_url: str) -> None:
    venue = server.venue
    c = venue.cursor
    plan = {
        bar_time(server): [
            ("buy", (), {"size": 0.02, "leg": "LONG"}),
            ("sell", (), {"size": 0.01, "leg": "SHORT"}),
        ],
        int(venue.timestamps[c + 1]): [("close", (), {"leg": "LONG"})],
    }
    hedge = BacktestConfig(leverage=5, margin_mode="isolated", position_mode="hedge")

    async def scenario() -> None:
        bot = Bot(settings(server, sqlite_url, account=hedge), Scripted, {"plan": plan})
        await bot.start()
        await drive(bot, server, 1)
        assert bot.store is not None
        assert bot.store.book_positions() == {
            (BTC, "LONG"): pytest.approx(0.02),
            (BTC, "SHORT"): pytest.approx(-0.01),
        }
        await drive(bot, server, 2)
        await bot.close()

    asyncio.run(scenario())
    exchange = venue_client(server)
    assert exchange.fetch_position_mode(BTC)["hedged"] is True
    (short,) = exchange.fetch_positions([BTC])
    assert (short["side"], short["contracts"]) == ("short", 0.01)
    store = Store.open(sqlite_url)
    assert store.book_positions() == {(BTC, "SHORT"): pytest.approx(-0.01)}
    long_trade = next(t for t in store.trades() if t.leg == "LONG")
    assert not long_trade.is_open and long_trade.side == "long"
    _check_books(store, exchange)
    store.close()


def test_the_user_stream_wakes_the_bot_between_polls(server: VenueServer, sqlite_url: str) -> None:
    """Polling every 10 minutes, the running bot still books a liquidation at once: the
    venue's user stream (ccxt.pro) announces it, the reconciliation books it."""
    plan = {bar_time(server): [("buy", (), {"size": 0.01})]}
    slow = settings(server, sqlite_url, poll_interval=600.0)

    async def scenario() -> None:
        bot = Bot(slow, Scripted, {"plan": plan})
        running = asyncio.create_task(bot.run(signals=False))
        database = Store.open(sqlite_url)
        try:
            await _until(lambda: bool(database.orders(("open",))))
            # the bot's user stream is connected (a message sent before would be missed, and
            # found by the next poll instead)
            await _until(lambda: any(s.account == KEY for s in server._streams.values()))
            advance(server)  # the entry fills: the stream announces it
            await _until(lambda: bool(database.book_positions()))
            control(server, "/_venue/liquidate", {"key": KEY, "symbol": "BTCUSDT"})
            await _until(lambda: any(t.exit_reason == "liquidation" for t in database.trades()))
        finally:
            bot.request_stop()
            await asyncio.wait_for(running, 60)
            database.close()

    asyncio.run(scenario())


async def _until(condition: Any, seconds: float = 60.0) -> None:
    """Wait for ``condition`` (far less than the bot's poll interval when the stream works)."""
    for _ in range(int(seconds / 0.1)):
        if condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the bot did not react before its next poll")
