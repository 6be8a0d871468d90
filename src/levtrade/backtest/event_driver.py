"""Event-driven strategies in the backtest engine: :class:`EventDriver` builds the strategy
over the run's data feeds, delivers its order and trade notifications and calls
``prenext()``/``next()`` at each close. (The engine inlines the per-bar call of
:meth:`EventDriver.on_close` in its loop; the two are kept in step.)"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from levtrade.backtest.driver import BarEngine
from levtrade.errors import StrategyError
from levtrade.model.orders import Order, Trade
from levtrade.strategy.base import Strategy, warmup_bars
from levtrade.strategy.lines import Clock, DataFeed


class EventDriver:
    """Runs a :class:`Strategy` in the engine: notifications, ``prenext``/``next``."""

    def __init__(self, strategy_cls: type[Strategy], params: Mapping[str, Any] | None) -> None:
        if not (isinstance(strategy_cls, type) and issubclass(strategy_cls, Strategy)):
            raise StrategyError(f"strategy: expected a Strategy subclass, got {strategy_cls!r}")
        self.strategy_cls = strategy_cls
        self.params = params
        self.queue: list[tuple[bool, Any]] = []
        self.minperiod = 0
        self.wants_orders = self.wants_trades = False
        self.no_before_path = type(self).before_path is EventDriver.before_path
        """The engine skips :meth:`before_path` (nothing to do before a bar's path)."""

    def start(self, engine: BarEngine) -> None:
        clock = Clock(engine.n)
        self.clock = clock
        feeds = [
            DataFeed(symbol, j, clock, engine.run_data.columns(j))
            for j, symbol in enumerate(engine.symbols)
        ]
        self.strategy = self.strategy_cls.bind(engine, feeds, clock, self.params)
        cls = type(self.strategy)
        self.wants_orders = cls.notify_order is not Strategy.notify_order
        self.wants_trades = cls.notify_trade is not Strategy.notify_trade
        self.minperiod = warmup_bars(self.strategy)
        self.strategy.start()

    def before_path(self, i: int) -> None:
        return None

    def on_order(self, order: Order) -> None:
        if self.wants_orders:
            self.queue.append((True, copy.copy(order)))

    def on_trade(self, trade: Trade) -> None:
        if self.wants_trades:
            self.queue.append((False, copy.copy(trade)))

    def trail(self, order: Order, price: float) -> None:
        raise StrategyError(f"order #{order.id}: strategies do not manage trailing stops")

    def deliver(self) -> None:
        """Hand the queued order and trade notifications to the strategy."""
        queue, self.queue = self.queue, []
        strategy = self.strategy
        for is_order, item in queue:
            if is_order:
                strategy.notify_order(item)
            else:
                strategy.notify_trade(item)

    def on_close(self, i: int) -> None:
        # Engine.run runs this body itself for an EventDriver (one call less per bar): keep
        # the two in step
        self.clock.i = i
        if self.queue:
            self.deliver()
        strategy = self.strategy
        if i >= self.minperiod:
            strategy.next()
        else:
            strategy.prenext()

    def finish(self) -> None:
        self.deliver()
        self.strategy.stop()
