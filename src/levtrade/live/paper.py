"""Paper trading: an in-process venue on levtrade's margin engine, fed by the market data the bot
reads, that the bot trades through ccxt exactly as it trades a real venue.

The paper venue is the local venue's core (:class:`levtrade.localvenue.exchange.Venue`: the
backtester's fills, funding and liquidations, bar for bar) served on a loopback port, so the
adapter, the store, the reconciliation and the protective stops are the ones a live run uses.
Its data is the closed candles the bot has read (from the exchange's public market data through
ccxt, or from a ``levtrade venue serve`` instance) plus the bar now forming — its open only, the
price a market order placed now fills at. When a candle closes, the venue is rebuilt on the
longer data and its journal replayed (the engine is deterministic: the same commands on the
same bars give the same state), then it walks the closed bar: fills, funding, liquidations.

The journal — every command the paper venue accepted — is kept in the bot's store, so a
restarted paper bot finds its paper account as it left it. The paper account's settings
(wallet, fees, slippage) are fixed at its first start; a store made with other settings is
refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from levtrade.data import MarketData, Portfolio
from levtrade.data.market import OHLC
from levtrade.data.series import FundingEvents
from levtrade.errors import ConfigError
from levtrade.live.feed import MarketFeed
from levtrade.live.store import Store
from levtrade.localvenue.clock import Clock
from levtrade.localvenue.exchange import Venue, VenueSettings
from levtrade.localvenue.server import VenueServer


class StoreJournal:
    """The paper venue's journal, in the bot's store (the venue's ``journal`` interface)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def append(self, kind: str, payload: Mapping[str, Any], bar: int) -> None:
        self.store.append_paper_command(kind, dict(payload), bar)

    def close(self) -> None:
        return None


class PaperVenue:
    """The paper venue of one bot (module docstring)."""

    def __init__(
        self,
        store: Store,
        *,
        wallet: float,
        config: Mapping[str, Any],
        key: str,
        secret: str,
    ) -> None:
        self.store = store
        self.settings = VenueSettings(wallet=wallet, api_keys={key: secret}, config=dict(config))
        self.server: VenueServer | None = None
        self.bars = 0
        identity = json.dumps(self.settings.identity(), sort_keys=True, default=str)
        known = store.cursor("paper:settings")
        if known is None:
            store.set_cursor("paper:settings", identity)
        elif known != identity:
            raise ConfigError(
                "dry_run: this store's paper account was opened with other settings "
                f"({known[:200]}); use those, or another db_url for a new paper account"
            )

    @property
    def start(self) -> int | None:
        """Open time of the paper venue's first bar (fixed at its first start)."""
        value = self.store.cursor("paper:start")
        return None if value is None else int(value)

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def open(self, feed: MarketFeed) -> str:
        """Start the paper venue on ``feed``'s candles; return its URL."""
        if self.start is None:
            first = min(s.times[0] for s in feed.series.values() if s.times)
            self.store.set_cursor("paper:start", str(first))
        venue = self._build(feed)
        timer = Clock("manual", venue.timeframe_ms, int(venue.timestamps[0]))
        self.server = VenueServer(venue, timer, host="127.0.0.1", port=0)
        self.server.start_in_thread()
        return self.server.url

    def update(self, feed: MarketFeed) -> None:
        """Rebuild on ``feed``'s candles when a candle has closed, and walk it."""
        assert self.server is not None
        if self._length(feed) == self.bars:
            return
        server = self.server
        server.call(lambda: server.replace_venue(self._build(feed)))

    def close(self) -> None:
        if self.server is not None:
            self.server.stop_thread()
            self.server = None

    def _length(self, feed: MarketFeed) -> int:
        return len(feed.series[feed.symbols[0]].times) + 1

    def _build(self, feed: MarketFeed) -> Venue:
        portfolio = self._portfolio(feed)
        venue = Venue(portfolio, self.settings, timeframe=feed.timeframe)
        venue.replay(self.store.paper_commands())
        venue.journal = StoreJournal(self.store)
        forming = portfolio.timestamps.shape[0] - 1
        if venue.cursor < forming:
            venue.execute("advance", {"to_bar": forming})
        self.bars = portfolio.timestamps.shape[0]
        return venue

    def _portfolio(self, feed: MarketFeed) -> Portfolio:
        start = self.start
        markets = []
        for symbol in feed.symbols:
            closed = feed.market_data(symbol)
            series = feed.series[symbol]
            if series.forming is None:
                raise ConfigError(f"{symbol}: the market data shows no bar forming")
            keep = closed.timestamps >= (start if start is not None else closed.timestamps[0])
            time, price, mark_price = series.forming
            times = np.append(closed.timestamps[keep], time)
            mark = closed.mark

            def joined(
                values: np.ndarray[Any, Any], last: float, keep: Any = keep
            ) -> np.ndarray[Any, Any]:
                return np.append(values[keep], last)

            marks = None
            if mark is not None:
                marks = OHLC(
                    joined(mark.open, mark_price),
                    joined(mark.high, mark_price),
                    joined(mark.low, mark_price),
                    joined(mark.close, mark_price),
                )
            funding = closed.funding
            inside = funding.timestamps >= times[0]
            markets.append(
                MarketData(
                    symbol=symbol,
                    timeframe_ms=closed.timeframe_ms,
                    timestamps=times,
                    open=joined(closed.open, price),
                    high=joined(closed.high, price),
                    low=joined(closed.low, price),
                    close=joined(closed.close, price),
                    volume=joined(closed.volume, 0.0),
                    mark=marks,
                    funding=FundingEvents(
                        funding.timestamps[inside], funding.rates[inside], funding.source
                    ),
                    metadata={"source": "paper"},
                )
            )
        return Portfolio.from_markets(markets)
