"""A ``SignalStrategy`` (``populate_*``, FreqTrade's attributes) runs unchanged on the bot: the
same signals on the same candles give the backtest's entries and exits (sides, bars, reasons);
the sizes follow the stake rule at submission (stake × leverage ÷ the last close, down to the
lot) where the backtest sizes at the fill's open; ``minimal_roi`` exits at the first close
beyond its level."""

from __future__ import annotations

import asyncio
import math
from typing import Any, ClassVar

import pandas as pd
import pytest
import talib
from live_helpers import BTC, drive, settings

from levtrade._jit import plain
from levtrade.backtest import path, run
from levtrade.live.runner import Bot
from levtrade.live.store import Store
from levtrade.live.trades import TradeState
from levtrade.localvenue import VenueServer
from levtrade.spec import BacktestConfig
from levtrade.strategy.signal_strategy import SignalStrategy

pytestmark = pytest.mark.slow
STAKE = 200.0


class CrossSignals(SignalStrategy):
    """Long above the slow average, short below; exits on the opposite cross."""

    can_short: ClassVar[bool] = True
    stoploss: ClassVar[float] = -0.9
    minimal_roi: ClassVar[dict[str, float]] = {"0": 10.0}

    def populate_indicators(
        self, dataframe: pd.DataFrame, metadata: dict[str, Any]
    ) -> pd.DataFrame:
        dataframe["fast"] = talib.SMA(dataframe["close"], 4)
        dataframe["slow"] = talib.SMA(dataframe["close"], 12)
        return dataframe

    def populate_entry_trend(
        self, dataframe: pd.DataFrame, metadata: dict[str, Any]
    ) -> pd.DataFrame:
        dataframe["enter_long"] = dataframe["fast"] > dataframe["slow"]
        dataframe["enter_short"] = dataframe["fast"] < dataframe["slow"]
        return dataframe

    def populate_exit_trend(
        self, dataframe: pd.DataFrame, metadata: dict[str, Any]
    ) -> pd.DataFrame:
        dataframe["exit_long"] = dataframe["fast"] < dataframe["slow"]
        dataframe["exit_short"] = dataframe["fast"] > dataframe["slow"]
        return dataframe


class QuickRoi(CrossSignals):
    can_short: ClassVar[bool] = False
    minimal_roi: ClassVar[dict[str, float]] = {"0": 0.01}


def _account() -> BacktestConfig:
    return BacktestConfig(leverage=5, margin_mode="isolated", stake_amount=STAKE, wallet=5000)


def _trade(
    server: VenueServer, sqlite_url: str, strategy: SignalStrategy, bars: int, warmup: int = 12
) -> int:
    """Run ``strategy`` on the bot for ``bars`` bars from the venue's cursor, its history
    starting ``warmup`` bars before; returns the open time of the history's first bar."""
    venue = server.venue
    first = int(venue.timestamps[venue.cursor - warmup])
    bot_settings = settings(server, sqlite_url, account=_account(), startup_candle_count=warmup,
                            history_start=first)  # fmt: skip

    async def scenario() -> None:
        bot = Bot(bot_settings, strategy)
        await bot.start()
        await drive(bot, server, bars)
        await bot.close()

    asyncio.run(scenario())
    return first


def _exits(
    server: VenueServer, sqlite_url: str, strategy: SignalStrategy, bars: int, reason: str
) -> list[TradeState]:
    """The trades ``strategy`` closed with ``reason`` in ``bars`` bars on the bot."""
    _trade(server, sqlite_url, strategy, bars)
    store = Store.open(sqlite_url)
    try:
        return [t for t in store.trades() if t.exit_reason == reason]
    finally:
        store.close()


def test_signals_enter_and_exit_where_the_backtest_does(
    server: VenueServer, sqlite_url: str
) -> None:
    venue = server.venue
    start = venue.cursor
    warmup = 12
    bars = 48
    first = _trade(server, sqlite_url, CrossSignals(), bars, warmup)
    last = int(venue.timestamps[start + bars - 1])
    data = venue.data.between(first, last + 1)
    instrument = venue.instruments[BTC]
    config = BacktestConfig(
        leverage=5, margin_mode="isolated", stake_amount=STAKE, wallet=5000,
        instruments={BTC: {"tick_size": instrument.tick_size, "lot_size": instrument.lot_size,
                           "min_notional": instrument.min_notional}},
    )  # fmt: skip
    # the backtest decides from the same first close: the bars before it only warm up
    result = run(CrossSignals(), data.select([BTC]), config, warmup=warmup - 1, engine="event")
    backtest = result.trades
    store = Store.open(sqlite_url)
    trades = store.trades()
    assert len(trades) == len(backtest) >= 4
    closes = data[BTC].close
    times = list(data.timestamps)
    for row, trade in zip(backtest.itertuples(), trades, strict=True):
        assert (trade.side, trade.opened_at) == (row.side, row.entry_time)
        if row.exit_reason != "end_of_data":
            assert (trade.closed_at, trade.exit_reason) == (row.exit_time, "signal")
        # sized at submission: the stake × 5 at the close before the fill, down to the lot
        decided = times.index(trade.opened_at) - 1
        expected = math.floor(STAKE * 5 / float(closes[decided]) / instrument.lot_size + 1e-9)
        assert trade.size == pytest.approx(expected * instrument.lot_size, rel=1e-12)
    store.close()


def test_minimal_roi_exits_at_the_first_close_beyond_its_level(
    server: VenueServer, sqlite_url: str
) -> None:
    exits = _exits(server, sqlite_url, QuickRoi(), 48, "roi")
    assert exits
    data = server.venue.data[BTC]
    times = list(data.timestamps)
    for trade in exits:
        # ROI 1 % of the stake net of both fees and the funding booked: the price it needs
        level = plain(path.roi_level)(trade.entry_price, True, 0.01, 5.0, trade.size, trade.funding,
                                      0.0005, 0.0002)  # fmt: skip
        fill = times.index(trade.closed_at)
        held = range(times.index(trade.opened_at), fill - 1)
        assert float(data.close[fill - 1]) >= level  # the close that decided the exit
        assert all(float(data.close[k]) < level for k in held)  # and none before it


class Trailing(CrossSignals):
    can_short: ClassVar[bool] = False
    minimal_roi: ClassVar[dict[str, float]] = {}
    stoploss: ClassVar[float] = -0.02
    trailing_stop: ClassVar[bool] = True

    def populate_exit_trend(
        self, dataframe: pd.DataFrame, metadata: dict[str, Any]
    ) -> pd.DataFrame:
        dataframe["exit_long"] = False
        return dataframe


def test_the_trailing_stop_exits_at_the_first_close_below_it(
    server: VenueServer, sqlite_url: str
) -> None:
    exits = _exits(server, sqlite_url, Trailing(), 72, "trailing_stop")
    assert exits
    data = server.venue.data[BTC]
    times = list(data.timestamps)
    for trade in exits:
        # the stop trails the best high since the entry by |stoploss| / leverage = 0.4 %
        opened = times.index(trade.opened_at)
        decided = times.index(trade.closed_at) - 1
        for k in range(opened, decided + 1):
            level = float(max(data.high[opened : k + 1])) * (1 - 0.02 / 5)
            below = float(data.close[k]) <= level
            assert below == (k == decided), (k, decided)
