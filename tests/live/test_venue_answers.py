"""The trading layer's inputs: venue answers that are malformed, cut off, out of order or
repeated, and trade configurations with bad keys. A bad answer stops the bot with a message
naming the call, the row, the field and the value; it never books a wrong amount. A cut-off
answer to a read is asked again; to an order, it is ambiguous and the order is looked up by its
client id, never sent twice."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import pytest
from live_helpers import BTC, FAST, KEY, SECRET, Scripted, bar_time, control, settings, venue_orders

from levtrade import localvenue
from levtrade.configuration import load_run_config
from levtrade.configuration.trade import TradeConfig
from levtrade.errors import LevtradeError
from levtrade.live.adapter import VenueAdapter, _fill
from levtrade.live.answers import MalformedAnswer, Row, candle, unique_by
from levtrade.live.dialects import BINANCE
from levtrade.live.errors import VenueUnavailable
from levtrade.live.feed import _in_order
from levtrade.live.runner import Bot
from levtrade.localvenue import VenueServer

TRADE: dict[str, Any] = {
    "id": "7",
    "order": "12",
    "symbol": BTC,
    "side": "buy",
    "amount": 0.01,
    "price": 42_000.5,
    "timestamp": 1_704_412_800_000,
    "fee": {"cost": 0.21},
    "info": {"positionSide": "BOTH", "realizedPnl": "0"},
}


def trade(**fields: Any) -> dict[str, Any]:
    return {**TRADE, **fields}


# -- malformed rows -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"price": "abc"}, "fetch_my_trades 7: price must be a number, got 'abc'"),
        ({"price": math.nan}, "fetch_my_trades 7: price must be a finite number, got nan"),
        ({"price": -1.0}, "fetch_my_trades 7: price must be > 0, got -1.0"),
        ({"price": 1e300}, "fetch_my_trades 7: price must be at most 1e+12, got 1e+300"),
        ({"amount": 0.0}, "fetch_my_trades 7: amount must be > 0, got 0.0"),
        ({"amount": True}, "fetch_my_trades 7: amount must be a number, got True"),
        ({"side": "hold"}, "fetch_my_trades 7: side must be one of buy, sell, got 'hold'"),
        ({"symbol": None}, "fetch_my_trades 7: symbol is missing"),
        (
            {"timestamp": "yesterday"},
            "fetch_my_trades 7: timestamp must be a time in epoch milliseconds, got 'yesterday'",
        ),
        ({"fee": {"cost": "n/a"}}, "fetch_my_trades 7: fee.cost must be a number, got 'n/a'"),
    ],
)
def test_a_malformed_trade_names_the_row_the_field_and_the_value(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(MalformedAnswer) as caught:
        _fill(trade(**fields), "realizedPnl")
    assert str(caught.value) == message


def test_numbers_sent_as_text_are_read() -> None:
    fill = _fill(trade(price="42000.5", amount="0.01"), "realizedPnl")
    assert (fill.price, fill.amount, fill.fee, fill.realized_pnl) == (42_000.5, 0.01, 0.21, 0.0)


def test_a_row_that_is_not_an_object() -> None:
    with pytest.raises(MalformedAnswer, match=r"^fetch_my_trades: a row is list, not an object"):
        _fill(["7", 42_000.5], "realizedPnl")  # type: ignore[arg-type]


# -- repeated and out of order ------------------------------------------------------------------


def test_a_repeated_row_counts_once_and_a_conflicting_repeat_stops() -> None:
    first = _fill(trade(), "realizedPnl")
    again = _fill(trade(), "realizedPnl")
    assert list(unique_by([first, again], lambda f: f.venue_trade_id, "trades")) == ["7"]
    other = _fill(trade(amount=0.02), "realizedPnl")
    with pytest.raises(MalformedAnswer, match=r"^trades: 7 appears twice with different contents"):
        unique_by([first, other], lambda f: f.venue_trade_id, "trades")


def test_candles_out_of_order_and_repeated_come_back_in_order_once() -> None:
    hour = 3_600_000
    rows = [
        [3 * hour, 101.0, 103.0, 100.0, 102.0, 5.0],
        [1 * hour, 99.0, 101.0, 98.0, 100.0, 7.0],
        [2 * hour, 100.0, 102.0, 99.0, 101.0, 6.0],
        [1 * hour, 99.0, 101.0, 98.0, 100.0, 7.0],  # a page overlap
    ]
    assert [c[0] for c in _in_order(rows, "candles BTC")] == [hour, 2 * hour, 3 * hour]
    changed = [*rows, [2 * hour, 100.0, 102.0, 99.0, 101.5, 6.0]]
    with pytest.raises(MalformedAnswer, match=r"^candles BTC: 7200000 appears twice"):
        _in_order(changed, "candles BTC")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ([3_600_000, 100.0, 99.0, 98.0, 100.0, 1.0],
         "candles 3600000: high 99.0 and low 98.0 must bound the open 100.0 and the close 100.0"),
        ([3_600_000, 100.0, 101.0, 0.0, 100.0, 1.0], "candles 3600000: low must be > 0, got 0.0"),
        ([3_600_000, 100.0], "candles: a candle must be [time, open, high, low, close, volume]"),
        ([-5, 100.0, 101.0, 99.0, 100.0, 1.0],
         "candles: time must be a time in epoch milliseconds, got -5"),
    ],
)  # fmt: skip
def test_a_malformed_candle_is_named(row: list[float], message: str) -> None:
    with pytest.raises(MalformedAnswer) as caught:
        candle(row, "candles")
    assert str(caught.value).startswith(message)


def test_a_position_twice_in_one_answer_stops(server: VenueServer) -> None:
    async def scenario() -> None:
        adapter = VenueAdapter.connect(BINANCE, key=KEY, secret=SECRET, venue_url=server.url)
        row = {"symbol": BTC, "side": "long", "contracts": 0.01, "entryPrice": 42_000.0,
               "marginMode": "isolated", "info": {"positionSide": "BOTH"}}  # fmt: skip

        async def twice(symbols: list[str]) -> list[dict[str, Any]]:
            return [row, dict(row)]

        adapter.exchange.fetch_positions = twice
        try:
            expected = rf"^fetch_positions: {BTC} BOTH appears twice"
            with pytest.raises(MalformedAnswer, match=expected):
                await adapter.positions([BTC])
        finally:
            await adapter.close()

    asyncio.run(scenario())


# -- cut-off answers through the real client -----------------------------------------------------


def test_a_cut_off_read_is_asked_again_then_named(server: VenueServer) -> None:
    async def scenario() -> None:
        adapter = VenueAdapter.connect(
            BINANCE, key=KEY, secret=SECRET, venue_url=server.url, policy=FAST
        )
        try:
            await adapter.load_markets([BTC])
            # two answers cut in half: the read is asked again and the third answer is whole
            control(server, "/_venue/faults",
                    {"kind": "truncate", "path": "/fapi/v3/account", "count": 2})  # fmt: skip
            assert await adapter.wallet("USDT") == pytest.approx(10_000.0)
            # every answer cut: a clear message once the retries are spent
            control(server, "/_venue/faults",
                    {"kind": "truncate", "path": "/fapi/v3/account", "count": -1})  # fmt: skip
            with pytest.raises(VenueUnavailable) as caught:
                await adapter.wallet("USDT")
            assert str(caught.value).startswith(
                "fetch_balance: the venue's answer could not be read (truncated or malformed) "
                "after every retry"
            )
        finally:
            control(server, "/_venue/faults", method="DELETE")
            await adapter.close()

    asyncio.run(scenario())


def test_a_cut_off_order_answer_is_looked_up_never_sent_twice(
    server: VenueServer, sqlite_url: str
) -> None:
    plan = {bar_time(server): [("buy", (), {"size": 0.01})]}
    # the venue commits the order, then its answer arrives cut in half
    control(server, "/_venue/faults",
            {"kind": "truncate", "path": "/fapi/v1/order", "method": "POST"})  # fmt: skip

    async def scenario() -> list[str]:
        bot = Bot(settings(server, sqlite_url), Scripted, {"plan": plan})
        await bot.start()
        assert bot.store is not None
        (row,) = bot.store.orders(origin="strategy")
        events = [state for state, _, _ in bot.store.order_events(row.client_id)]
        await bot.close()
        return events

    events = asyncio.run(scenario())
    assert events == ["intent", "ambiguous", "open"]
    exchange = localvenue.client(server.url, KEY, SECRET)
    exchange.load_markets()
    ours = [o for o in venue_orders(exchange) if o.get("clientOrderId", "").startswith("lt")]
    assert len(ours) == 1


# -- trade configurations -----------------------------------------------------------------------


def test_a_misspelt_trade_key_is_named_with_the_closest_one(tmp_path: Path) -> None:
    config = tmp_path / "trade.json"
    config.write_text(
        '{"dry_run": true, "venue_urll": "http://127.0.0.1:1", "pairs": ["BTC/USDT:USDT"]}'
    )
    with pytest.raises(LevtradeError) as caught:
        load_run_config(config, TradeConfig)
    assert "unknown key 'venue_urll' (did you mean 'venue_url'?)" in str(caught.value)


def test_a_zero_leverage_from_the_venue_is_refused() -> None:
    row = Row({"leverage": "0"}, "positionRisk BTC")
    with pytest.raises(MalformedAnswer, match=r"^positionRisk BTC: leverage must be > 0, got 0.0$"):
        row.number("leverage", zero=False)
