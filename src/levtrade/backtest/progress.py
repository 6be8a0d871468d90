"""Progress of a run for whoever shows it (the CLI's progress bar): named phases, and bars
done while the event engine simulates.

The engine reports bars through :class:`ProgressDriver`, a wrapper around its driver that
counts closes; it is only put in place when a caller asks for progress, so a plain run pays
nothing for it.
"""

from __future__ import annotations

from typing import Protocol

from levtrade.backtest.driver import BarEngine, Driver
from levtrade.model.orders import Order, Trade


class Progress(Protocol):
    """Receives a run's phases and, in the ``simulating`` phase, the bars done."""

    def phase(self, name: str, total: int | None = None) -> None: ...

    def advance(self, done: int) -> None: ...


class ProgressDriver:
    """Wraps the engine's driver to report bars done (the engine calls ``on_close`` once per
    bar), about 200 times over a run."""

    def __init__(self, inner: Driver, bars: int, sink: Progress) -> None:
        self.inner = inner
        self.sink = sink
        self.every = max(1, bars // 200)

    def start(self, engine: BarEngine) -> None:
        self.inner.start(engine)

    def before_path(self, i: int) -> None:
        self.inner.before_path(i)

    def on_order(self, order: Order) -> None:
        self.inner.on_order(order)

    def on_trade(self, trade: Trade) -> None:
        self.inner.on_trade(trade)

    def trail(self, order: Order, price: float) -> None:
        self.inner.trail(order, price)

    def on_close(self, i: int) -> None:
        self.inner.on_close(i)
        if (i + 1) % self.every == 0:
            self.sink.advance(i + 1)

    def finish(self) -> None:
        self.inner.finish()
