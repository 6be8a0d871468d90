"""Orders placed by hand, rate limits and bans, the preflight of the account's settings, and the
protective stop on the venue."""

from __future__ import annotations

import asyncio
import math
from typing import Any

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

from levtrade.live.errors import Discrepancy, PreflightRefused, VenueBanned
from levtrade.live.runner import Bot
from levtrade.live.settings import ProtectiveStop
from levtrade.live.store import OrderSpec, Store
from levtrade.localvenue import VenueServer
from levtrade.model.orders import Order, OrderStatus, Trade
from levtrade.spec import BacktestConfig


def _by_hand(server: VenueServer, **params: Any) -> Any:
    return control(server, "/_venue/order", {"key": KEY, "params": {"symbol": "BTCUSDT", **params}})


def test_orders_placed_by_hand_are_adopted_and_the_strategy_is_told(
    server: VenueServer, sqlite_url: str
) -> None:
    Scripted.seen.clear()

    async def scenario() -> None:
        bot = Bot(settings(server, sqlite_url), Scripted, {"plan": {}})
        await bot.start()
        resting = _by_hand(server, side="BUY", type="LIMIT", quantity="0.01", price="20000",
                           timeInForce="GTC")  # fmt: skip
        market = _by_hand(server, side="BUY", type="MARKET", quantity="0.02")
        await drive(bot, server, 2)
        assert bot.store is not None
        rows = {r.venue_order_id: r for r in bot.store.orders(origin="external")}
        assert rows[str(resting["orderId"])].state == "open"
        assert rows[str(market["orderId"])].state == "filled"
        assert rows[str(resting["orderId"])].client_id == resting["clientOrderId"]
        # the fill of the order placed by hand is booked as external and makes the position
        assert bot.store.book_positions() == {(BTC, "BOTH"): pytest.approx(0.02)}
        (fill,) = bot.store.fills()
        assert fill.reason == "external" and fill.order_id == rows[str(market["orderId"])].id
        await bot.close()

    asyncio.run(scenario())
    told = [o for o in Scripted.seen if isinstance(o, Order)]
    assert {o.origin for o in told} == {"external"}
    assert {o.status for o in told} == {OrderStatus.SUBMITTED, OrderStatus.FILLED}
    opened = [t for t in Scripted.seen if isinstance(t, Trade)]
    assert len(opened) == 1 and opened[0].open and opened[0].size == pytest.approx(0.02)


def test_a_position_the_store_does_not_know_stops_the_start_unless_adopted(
    server: VenueServer, sqlite_url: str
) -> None:
    _by_hand(server, side="SELL", type="MARKET", quantity="0.01")
    advance(server)
    cross = BacktestConfig(leverage=5, margin_mode="cross")

    async def scenario() -> None:
        bot = Bot(settings(server, sqlite_url, account=cross), Scripted, {"plan": {}})
        with pytest.raises(
            Discrepancy, match=r"BTC/USDT:USDT BOTH: the venue holds -0.01 .*--adopt"
        ):
            await bot.start()
        await bot.close()
        adopting = Bot(
            settings(server, sqlite_url, adopt=True, account=cross), Scripted, {"plan": {}}
        )
        await adopting.start()
        assert adopting.store is not None
        assert adopting.store.book_positions() == {(BTC, "BOTH"): pytest.approx(-0.01)}
        await drive(adopting, server, 1)
        await adopting.close()

    asyncio.run(scenario())


def test_429_backs_off_without_a_duplicate_and_418_halts(
    server: VenueServer, sqlite_url: str
) -> None:
    plan = {bar_time(server): [("buy", (), {"size": 0.01})]}
    control(server, "/_venue/faults",
            {"kind": "rate_limit", "path": "/fapi/v1/order", "method": "POST", "count": 2,
             "retry_after": 1})  # fmt: skip
    control(server, "/_venue/faults", {"kind": "rate_limit", "path": "/fapi/v3/positionRisk",
                                       "count": 1})  # fmt: skip

    async def scenario() -> str:
        bot = Bot(settings(server, sqlite_url), Scripted, {"plan": plan})
        await bot.start()
        assert bot.store is not None
        (row,) = bot.store.orders(origin="strategy")
        assert row.state == "open"
        await drive(bot, server, 1)
        # an IP ban: the bot halts with the venue's answer and sends nothing more
        control(server, "/_venue/faults", {"kind": "ban", "count": -1, "retry_after": 60})
        advance(server)
        with pytest.raises(VenueBanned) as banned:
            await bot.step()
        await bot.close("halted", str(banned.value))
        return str(banned.value)

    message = asyncio.run(scenario())
    assert "HTTP 418" in message and "for about 60 s" in message and "stopped" in message
    control(server, "/_venue/faults", method="DELETE")
    exchange = venue_client(server)
    ours = [o for o in venue_orders(exchange) if o["clientOrderId"].startswith("lt")]
    assert len(ours) == 1 and ours[0]["status"] == "FILLED"
    store = Store.open(sqlite_url)
    run = store.last_run()
    assert run is not None and run.status == "halted" and "HTTP 418" in run.message
    store.close()


def test_preflight_sets_what_differs_and_refuses_what_a_position_blocks(
    server: VenueServer, sqlite_url: str, tmp_path: Any
) -> None:
    exchange = venue_client(server)
    # the venue: hedge mode, cross (Binance's default), 20x; the configuration: one-way,
    # isolated, 5x
    exchange.set_position_mode(True, BTC)
    assert exchange.fapiPrivateV2GetPositionRisk({"symbol": "BTCUSDT"})[0]["leverage"] == "20"

    async def scenario() -> None:
        bot = Bot(settings(server, sqlite_url), Scripted, {"plan": {}})
        await bot.start()
        await bot.close()
        # everything already set: "no need to change" is not an error
        again = Bot(settings(server, sqlite_url), Scripted, {"plan": {}})
        await again.start()
        await again.close()

    asyncio.run(scenario())
    assert exchange.fetch_position_mode(BTC)["hedged"] is False
    risk = exchange.fapiPrivateV2GetPositionRisk({"symbol": "BTCUSDT"})[0]
    assert (risk["marginType"], risk["leverage"]) == ("isolated", "5")

    # a position in cross margin blocks the switch to isolated
    exchange.set_margin_mode("cross", BTC)
    _by_hand(server, side="BUY", type="MARKET", quantity="0.01")
    advance(server)
    other = f"sqlite:///{tmp_path / 'other.sqlite'}"

    async def blocked() -> None:
        bot = Bot(settings(server, other, adopt=True), Scripted, {"plan": {}})
        with pytest.raises(
            PreflightRefused, match=r"margin_mode: BTC/USDT:USDT is cross .* wants isolated"
        ):
            await bot.start()
        await bot.close()

    asyncio.run(blocked())
    assert exchange.fapiPrivateV2GetPositionRisk({"symbol": "BTCUSDT"})[0]["marginType"] == "cross"


def test_preflight_refuses_hedge_mode_under_a_position(
    server: VenueServer, sqlite_url: str
) -> None:
    exchange = venue_client(server)
    exchange.set_position_mode(True, BTC)
    _by_hand(server, side="BUY", type="MARKET", quantity="0.01", positionSide="LONG")
    advance(server)

    async def scenario() -> None:
        bot = Bot(settings(server, sqlite_url, adopt=True), Scripted, {"plan": {}})
        with pytest.raises(PreflightRefused, match="position mode: the venue is in hedge mode"):
            await bot.start()
        await bot.close()

    asyncio.run(scenario())
    assert exchange.fetch_position_mode(BTC)["hedged"] is True


def _protective(exchange: Any) -> list[dict[str, Any]]:
    return [o for o in exchange.fapiPrivateGetOpenAlgoOrders({"symbol": "BTCUSDT"})
            if o["clientAlgoId"].startswith("lt")]  # fmt: skip


def test_the_protective_stop_follows_the_position(server: VenueServer, sqlite_url: str) -> None:
    venue = server.venue
    c = venue.cursor
    plan = {
        bar_time(server): [("buy", (), {"size": 0.01})],
        int(venue.timestamps[c + 1]): [("buy", (), {"size": 0.01})],
    }
    stop = ProtectiveStop(stoploss=-0.10, working_type="MARK_PRICE")
    exchange = venue_client(server)

    def expected(entry: float) -> float:
        # −10 % of the stake at 5x: the price 2 % below the entry, on the tick (0.1)
        return round(entry * (1 - 0.10 / 5) * 10) / 10

    async def scenario() -> None:
        bot = Bot(settings(server, sqlite_url, protective_stop=stop), Scripted, {"plan": plan})
        await bot.start()
        await drive(bot, server, 1)
        (armed,) = _protective(exchange)
        entry = float(exchange.fetch_positions([BTC])[0]["entryPrice"])
        assert (armed["quantity"], armed["reduceOnly"], armed["workingType"]) == (
            "0.01", True, "MARK_PRICE"
        )  # fmt: skip
        assert float(armed["triggerPrice"]) == pytest.approx(expected(entry), abs=1e-9)
        await drive(bot, server, 2)  # the position grows to 0.02: re-armed for 0.02
        (rearmed,) = _protective(exchange)
        entry = float(exchange.fetch_positions([BTC])[0]["entryPrice"])
        assert rearmed["quantity"] == "0.02" and rearmed["clientAlgoId"] != armed["clientAlgoId"]
        assert float(rearmed["triggerPrice"]) == pytest.approx(expected(entry), abs=1e-9)
        await bot.close()
        # a crash between arming a new stop and cancelling the old one leaves two: the intent
        # of the next arming was committed and sent, then the bot died
        store = Store.open(sqlite_url)
        (old,) = store.orders(("open",), origin="protective")
        generation = int(store.cursor("protective:BTC/USDT:USDT:BOTH") or 0) + 1
        client_id = old.client_id.rsplit(".", 1)[0] + f".{generation}"
        level = float(rearmed["triggerPrice"]) - 100.0
        store.record_intents(
            [OrderSpec(client_id=client_id, symbol=BTC, side="sell", type="stop", amount=0.02,
                       origin="protective", decision_time=old.decision_time, trigger_price=level,
                       reduce_only=True, purpose="stop_loss")],
            None,
            cursor=("protective:BTC/USDT:USDT:BOTH", str(generation)),
        )  # fmt: skip
        store.close()
        exchange.create_order(BTC, "market", "sell", 0.02, None,
                              {"stopLossPrice": level, "reduceOnly": True,
                               "clientOrderId": client_id})  # fmt: skip
        assert len(_protective(exchange)) == 2
        again = Bot(settings(server, sqlite_url, protective_stop=stop), Scripted, {"plan": plan})
        await again.start()
        (kept,) = _protective(exchange)
        assert kept["clientAlgoId"] == rearmed["clientAlgoId"]
        await drive(again, server, 1)
        assert len(_protective(exchange)) == 1
        await again.close()

    asyncio.run(scenario())
    assert math.isfinite(float(exchange.fetch_positions([BTC])[0]["contracts"]))
