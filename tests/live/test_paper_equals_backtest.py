"""Paper = backtest: the same strategy over the same candles gives, on paper, the trades, fees,
funding and liquidations the backtester gives, to 1e-9.

The paper bot reads its candles from the local venue (manual clock, walked bar by bar) and
trades on its in-process paper venue through ccxt; the backtest runs the same strategy on the
same candles (the local venue's data from the bot's first candle to its last). The strategy
sizes its orders explicitly: an order sized by stake is sized live at submission, from the
last close, and in the backtest at its fill, from the next open (docs/trading.md), so only
explicit sizes can agree to the bit. At 100x isolated the demo's moves liquidate positions:
the liquidations are part of what must agree.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any, ClassVar

import pytest
from live_helpers import BTC, KEY, SECRET, drive, settings

from levtrade import localvenue
from levtrade.backtest import run
from levtrade.live.runner import Bot
from levtrade.live.store import WALLET, Store
from levtrade.localvenue import VenueServer
from levtrade.spec import BacktestConfig
from levtrade.strategy import indicators as ind
from levtrade.strategy.base import Strategy

pytestmark = pytest.mark.slow
BARS = 72
WALLET_START = 1_000.0


class Cross(Strategy):
    """Long when the fast average is above the slow one, short below: always in the market,
    0.05 BTC, reversing at each cross."""

    params: ClassVar[Any] = {"fast": 4, "slow": 12, "size": 0.05}

    def __init__(self) -> None:
        self.fast = ind.SMA(self.data.close, self.p.fast)
        self.slow = ind.SMA(self.data.close, self.p.slow)

    def next(self) -> None:
        size = self.position.size
        if self.fast[0] > self.slow[0] and size <= 0:
            self.buy(size=self.p.size - size)
        elif self.fast[0] < self.slow[0] and size >= 0:
            self.sell(size=self.p.size + size)


def test_paper_trades_as_the_backtester_does(server: VenueServer, sqlite_url: str) -> None:
    venue = server.venue
    start = venue.cursor
    warmup = Cross.params["slow"]
    first = int(venue.timestamps[start - warmup])
    account = BacktestConfig(leverage=100, margin_mode="isolated", wallet=WALLET_START)
    # the first decision is at the close of the bar before the venue's "now", in both runs:
    # the slow average's first value is at the bar `warmup` bars into the data
    paper = settings(
        server, sqlite_url, dry_run=True, account=account, startup_candle_count=warmup,
        history_start=first, key=None, secret=None,
    )  # fmt: skip

    async def scenario() -> None:
        bot = Bot(paper, Cross)
        await bot.start()
        await drive(bot, server, BARS)
        await bot.close()

    asyncio.run(scenario())
    last = int(venue.timestamps[start + BARS - 1])
    data = venue.data.between(first, last + 1)
    instrument = venue.instruments[BTC]
    config = BacktestConfig(
        leverage=100, margin_mode="isolated", wallet=WALLET_START,
        instruments={BTC: {"tick_size": instrument.tick_size, "lot_size": instrument.lot_size,
                           "min_notional": instrument.min_notional}},
    )  # fmt: skip
    backtest = run(Cross, data, config).trades
    store = Store.open(sqlite_url)
    trades = store.trades()
    closed = backtest[backtest["exit_reason"] != "end_of_data"]
    assert len(closed) >= 5 and (closed["exit_reason"] == "liquidation").sum() >= 1
    assert len(trades) == len(backtest)
    for row, trade in zip(closed.itertuples(), trades, strict=False):
        assert (trade.side, trade.opened_at, trade.closed_at, trade.exit_reason) == (
            row.side, row.entry_time, row.exit_time, row.exit_reason
        )  # fmt: skip
        assert trade.size == pytest.approx(row.size, rel=1e-9)
        assert trade.entry_price == pytest.approx(row.entry_price, rel=1e-9)
        assert trade.exit_value / trade.closed == pytest.approx(row.exit_price, rel=1e-9)
        assert trade.fees == pytest.approx(row.fees, rel=1e-9)
        assert trade.funding == pytest.approx(row.funding, rel=1e-9, abs=1e-12)
        assert trade.pnl == pytest.approx(row.pnl, rel=1e-9, abs=1e-9)
    # the trade still open on paper is the one the backtest closes at the end of its data
    still = trades[-1]
    end = backtest.iloc[-1]
    assert still.is_open and end["exit_reason"] == "end_of_data"
    assert (still.side, still.opened_at) == (end["side"], end["entry_time"])
    assert still.entry_price == pytest.approx(end["entry_price"], rel=1e-9)
    # the paper wallet: the start, every closed trade's PnL, the open trade's entry fee and
    # funding (its entry fee is the taker rate on its notional)
    entry_fee = instrument.taker_fee * still.size * still.entry_price
    expected = WALLET_START + math.fsum(closed["pnl"]) - entry_fee + still.funding
    assert store.ledger_balances()[WALLET] == pytest.approx(expected, rel=1e-9)
    store.close()
    # the paper account is not the local venue's: nothing was traded there
    exchange = localvenue.client(server.url, KEY, SECRET)
    exchange.load_markets()
    assert exchange.fetch_positions([BTC]) == []
