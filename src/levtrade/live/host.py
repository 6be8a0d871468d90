"""Running a ``Strategy`` on growing data: ``next()`` at each closed candle, as in a backtest.

A backtest builds a strategy's data lines and indicators once, over the whole run. Live, the
data grows by a bar at each close, so at each close the strategy's ``__init__`` runs again on a
fresh instance bound to the closed candles so far (built exactly as the backtester builds them:
:func:`levtrade.backtest.market.prepare`), and the lines, feeds and arrays it builds replace
those of the running instance. Everything else the running instance holds — what ``next()``
keeps in attributes — stays. Indicators only look back, so every value the strategy reads
equals the backtest's on the same candles; ``len(self)`` counts the bars since the first
candle the bot loaded (the configured warm-up).

Order and trade notifications are delivered before ``next()``, as the backtester delivers
them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from levtrade.backtest.market import prepare
from levtrade.data import Portfolio
from levtrade.live.broker import LiveBroker
from levtrade.model.orders import Order
from levtrade.spec import BacktestConfig
from levtrade.strategy.base import Strategy, warmup_bars
from levtrade.strategy.lines import Clock, DataFeed, Line

_BOUND = frozenset({"datas", "data", "_clock"})


def _rebuilt(value: Any) -> bool:
    """Whether ``__init__`` built ``value`` from the data (and a fresh one replaces it)."""
    if isinstance(value, Line | DataFeed | np.ndarray):
        return True
    return isinstance(value, tuple | list) and any(isinstance(v, Line | DataFeed) for v in value)


class StrategyHost:
    """One strategy instance through the bot's life (module docstring)."""

    def __init__(
        self,
        strategy_cls: type[Strategy],
        params: Mapping[str, Any] | None,
        broker: LiveBroker,
        config: BacktestConfig,
    ) -> None:
        self.strategy_cls = strategy_cls
        self.params = params
        self.broker = broker
        self.config = config
        self.strategy: Strategy | None = None
        self.minperiod = 0

    def decide(self, portfolio: Portfolio) -> None:
        """Deliver the notifications, then ``next()`` (or ``prenext()`` while warming up) at
        the close of the last bar of ``portfolio``."""
        data = prepare(portfolio, self.config)
        clock = Clock(data.bars)
        clock.i = data.bars - 1
        feeds = [
            DataFeed(symbol, j, clock, data.columns(j)) for j, symbol in enumerate(data.symbols)
        ]
        broker = self.broker
        broker.bar = clock.i
        broker.time = int(data.timestamps[-1])
        views = len(broker.position_views)
        fresh = self.strategy_cls.bind(broker, feeds, clock, self.params)
        if self.strategy is None:
            self.strategy = fresh
            fresh.start()
        else:
            del broker.position_views[views:]
            running = self.strategy
            for name, value in vars(fresh).items():
                if name in _BOUND or _rebuilt(value):
                    setattr(running, name, value)
        self.minperiod = warmup_bars(self.strategy)
        self.deliver()
        if clock.i >= self.minperiod:
            self.strategy.next()
        else:
            self.strategy.prenext()

    def deliver(self) -> None:
        """Hand the queued order and trade notifications to the strategy."""
        strategy = self.strategy
        if strategy is None:
            return
        queue, self.broker.notifications = self.broker.notifications, []
        for item in queue:
            if isinstance(item, Order):
                strategy.notify_order(item)
            else:
                strategy.notify_trade(item)

    def stop(self) -> None:
        if self.strategy is not None:
            self.deliver()
            self.strategy.stop()
