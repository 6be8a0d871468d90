"""Helpers of the trading tests: the local venue's control API, a scripted strategy, and a bot
driven bar by bar against the venue (in-process, through the real ccxt client)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Mapping
from typing import Any, ClassVar

from levtrade import localvenue
from levtrade.live.adapter import RetryPolicy
from levtrade.live.runner import Bot
from levtrade.live.settings import TradeSettings
from levtrade.localvenue import VenueServer
from levtrade.model.orders import Order, Trade
from levtrade.spec import BacktestConfig
from levtrade.strategy.base import Strategy

KEY, SECRET = "bot-key", "bot-secret"
OTHER_KEY, OTHER_SECRET = "other-key", "other-secret"
BTC = "BTC/USDT:USDT"
ETH = "ETH/USDT:USDT"
FAST = RetryPolicy(
    rate_limit=(0.05, 0.05, 0.05, 0.05, 0.05),
    network=(0.05, 0.05, 0.05),
    lookups=(0.05, 0.05),
    max_retry_after=2.0,
)


def control(server: VenueServer | str, path: str, body: Mapping[str, Any] | None = None,
            method: str = "POST") -> Any:  # fmt: skip
    url = server if isinstance(server, str) else server.url
    data = None if body is None else json.dumps(dict(body)).encode()
    request = urllib.request.Request(url + path, data=data, method=method)
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def advance(server: VenueServer | str, bars: int = 1) -> Any:
    return control(server, "/_venue/advance", {"bars": bars})


def bar_time(server: VenueServer, ago: int = 1) -> int:
    """Open time of the bar closed ``ago`` bars back (1: the last closed bar)."""
    venue = server.venue
    return int(venue.timestamps[venue.cursor - ago])


def settings(server: VenueServer | str, db_url: str, **overrides: Any) -> TradeSettings:
    """A live bot on the venue's BTC market: isolated 5x, one-way, fast retries."""
    url = server if isinstance(server, str) else server.url
    values: dict[str, Any] = {
        "exchange": "binance",
        "symbols": (BTC,),
        "timeframe": "1h",
        "db_url": db_url,
        "account": BacktestConfig(leverage=5, margin_mode="isolated"),
        "dry_run": False,
        "key": KEY,
        "secret": SECRET,
        "venue_url": url,
        "ccxt_config": {"timeout": 2000},
        "startup_candle_count": 30,
        "poll_interval": 0.02,
        "reconcile_interval": 3600.0,
        "retry": FAST,
    }
    values.update(overrides)
    return TradeSettings(**values)


class Scripted(Strategy):
    """Does at each close what ``plan`` says for that bar's open time: a list of
    ``(method, args, options)`` (``("buy", (), {"size": 0.01})``; ``("cancel_open", (), {})``
    cancels what it placed and is still alive). Every notification is kept in :attr:`seen`
    (class-wide, cleared by the tests)."""

    params: ClassVar[Any] = {"plan": {}}
    seen: ClassVar[list[Order | Trade]] = []

    def next(self) -> None:
        for method, args, options in self.p.plan.get(int(self.data.datetime[0]), ()):
            if method == "cancel_open":
                for order in getattr(self, "placed", []):
                    if order.alive:
                        self.cancel(order)
                continue
            placed = getattr(self, method)(*args, **options)
            if isinstance(placed, Order):
                self.placed = [*getattr(self, "placed", []), placed]

    def notify_order(self, order: Order) -> None:
        Scripted.seen.append(order)

    def notify_trade(self, trade: Trade) -> None:
        Scripted.seen.append(trade)


async def drive(bot: Bot, server: VenueServer | str, bars: int) -> None:
    """Walk the venue ``bars`` bars, the bot stepping after each."""
    for _ in range(bars):
        advance(server)
        await bot.step()


def venue_client(server: VenueServer) -> Any:
    """A ccxt client of the bot's account on the local venue, its markets loaded."""
    exchange = localvenue.client(server.url, KEY, SECRET)
    exchange.load_markets()
    return exchange


def venue_orders(exchange: Any, symbol: str = BTC) -> list[dict[str, Any]]:
    """Every order of the account on the venue (plain and conditional), Binance's fields."""
    market = symbol.replace("/", "").split(":")[0]
    plain = exchange.fapiPrivateGetAllOrders({"symbol": market})
    algo = exchange.fapiPrivateGetAllAlgoOrders({"symbol": market})
    return [*plain, *algo]
