"""The engine's two sides: the :class:`Driver` that decides at each close (a ``next()``
strategy or the signal rules) and the :class:`BarEngine` it drives.

The drivers are written against :class:`BarEngine`, the backtest engine's face toward them: the
strategies' :class:`~levtrade.strategy.context.TradingContext` plus the run's bars and a way to
stamp orders. The engine implements both and imports the drivers; the drivers never import the
engine.
"""

from __future__ import annotations

from typing import Any, Protocol

from levtrade.backtest.market import RunData
from levtrade.model.orders import Order, OrderType, Trade
from levtrade.model.positions import PositionKey
from levtrade.spec.config import BacktestConfig
from levtrade.strategy.context import TradingContext


class BarEngine(TradingContext, Protocol):
    """What a driver reads and calls on the backtest engine."""

    @property
    def n(self) -> int:
        """Number of bars in the run."""
        ...

    @property
    def run_data(self) -> RunData:
        """The run's arrays (candles, marks, funding) on one time axis."""
        ...

    @property
    def config(self) -> BacktestConfig:
        """The run's settings."""
        ...

    @property
    def open_trades(self) -> dict[PositionKey, Trade]:
        """The open trades by position (their fees and funding so far)."""
        ...

    def liquidation_price(self, column: int, leg: str, *, at_fill: bool = False) -> float | None:
        """Liquidation price of a position; ``at_fill`` solves it at the marks of the fill
        (for a buffer floor set as an entry fills) instead of the close."""
        ...

    def make_order(
        self, symbol: str, side: str, type_: OrderType, size: float, price: float, **fields: Any
    ) -> Order:
        """A new order stamped with the current bar (not yet submitted)."""
        ...


class Driver(Protocol):
    """What decides: a ``next()`` strategy or the signal rules. The engine calls these."""

    def start(self, engine: BarEngine) -> None: ...

    def before_path(self, i: int) -> None:
        """Bar *i*'s market orders have filled; the path is about to be walked."""

    def on_order(self, order: Order) -> None:
        """``order`` was submitted, filled, cancelled or rejected."""

    def on_trade(self, trade: Trade) -> None:
        """``trade`` opened or closed."""

    def trail(self, order: Order, price: float) -> None:
        """Move a trailing stop the driver manages (``order.managed``) at a path point."""

    def on_close(self, i: int) -> None:
        """Bar *i* has closed and been recorded: decide."""

    def finish(self) -> None: ...
