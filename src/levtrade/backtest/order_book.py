"""The order bookkeeping the event-driven engines share: order ids, making and admitting
orders, ending them (with their OCO siblings and bracket children), and the record of what
was submitted for the look-ahead check.

The futures :class:`~levtrade.backtest.engine.Engine` and the spot
:class:`~levtrade.backtest.spot_engine.SpotEngine` keep their own queues (how an order waits
and leaves its queue differs between them) and fill orders their own way; what an order *is*
and how its life ends is the same in both, and lives here.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

from levtrade.backtest.driver import Driver
from levtrade.backtest.results import decision
from levtrade.errors import StrategyError
from levtrade.model.instrument import Instrument
from levtrade.model.orders import Order, OrderStatus, OrderType, Reason

_FILLED = OrderStatus.FILLED
_MARKET = OrderType.MARKET


class OrderBook(ABC):
    """Base of an engine that trades :class:`Order` objects for a :class:`Driver`."""

    driver: Driver
    i: int
    orders: list[Order]
    """Every order of the run, in the order it was made or submitted."""
    _ids: Iterator[int]
    _column: dict[str, int]
    _submitted: list[tuple[Order, float, float]]
    """Every order submitted, with its size and price then (see :attr:`decisions`)."""

    @property
    @abstractmethod
    def t(self) -> int:
        """Open time (ms) of the current bar."""

    @abstractmethod
    def _unqueue(self, order: Order) -> None:
        """Take ``order`` off the queue it waits in (if any)."""

    @property
    def decisions(self) -> list[tuple[Any, ...]]:
        """Every order as submitted (bar, symbol, side, type, size, price, ...): what was
        decided when, for the look-ahead check (built when asked: most runs never do)."""
        return [decision(order, size, price) for order, size, price in self._submitted]

    def new_id(self) -> int:
        return next(self._ids)

    def make_order(
        self,
        symbol: str,
        side: str,
        type_: OrderType,
        size: float,
        price: float,
        **fields: Any,
    ) -> Order:
        """A new order stamped with the current bar (not yet submitted)."""
        if side not in ("buy", "sell"):
            raise StrategyError(f"side: must be 'buy' or 'sell', got {side!r}")
        return Order(
            id=self.new_id(),
            symbol=symbol,
            side=side,
            type=type_,
            size=size,
            price=price,
            created_time=self.t,
            created_bar=self.i,
            **fields,
        )

    def _closing_order(
        self, symbol: str, current: float, origin: str, *, leg: str | None = None
    ) -> Order:
        """A market order the engine itself places to close a position of signed size
        ``current`` (a liquidation, the end of the data): recorded and announced to the
        driver, for the caller to fill at once."""
        order = self.make_order(
            symbol,
            "sell" if current > 0 else "buy",
            _MARKET,
            abs(current),
            math.nan,
            leg=leg,
            reduce_only=True,
            close_position=True,
            origin=origin,
        )
        self.orders.append(order)
        self.driver.on_order(order)
        return order

    def _register(self, order: Order) -> int:
        """Record a submitted order (with its size and price as submitted) and return its
        symbol's column."""
        self.orders.append(order)
        self._submitted.append((order, order.size, order.price))
        j = self._column.get(order.symbol)
        if j is None:
            raise StrategyError(f"data: {order.symbol!r} is not in this run")
        return j

    def _accept(self, order: Order, instrument: Instrument) -> bool:
        """Round a submitted order's size down to the lot and its prices to the tick, and
        announce it to the driver; False (the order rejected) when its size rounds to
        nothing."""
        if not order.close_position and not math.isnan(order.size):
            rounded = instrument.round_size(order.size)
            if not (math.isfinite(rounded) and rounded > 0):
                self._finish_order(
                    order,
                    OrderStatus.REJECTED,
                    Reason.SIZE,
                    f"size: {order.size!r} rounds to {rounded!r} at lot "
                    f"{instrument.lot_size!r} ({order.symbol})",
                )
                return False
            order.size = rounded
        if order.type is not _MARKET and not order.managed:
            if not (math.isfinite(order.price) and order.price > 0):
                raise StrategyError(
                    f"price: a {order.type} order needs a price > 0, got {order.price!r}"
                )
            order.price = instrument.round_price(order.price)
            if order.trigger_direction:
                order.trigger_price = instrument.round_price(order.trigger_price)
        self.driver.on_order(order)
        return True

    def cancel(self, order: Order, reason: Reason = Reason.CANCELLED_BY_STRATEGY) -> None:
        """Cancel a live order (and the bracket children waiting for it)."""
        if not order.alive:
            return
        self._unqueue(order)
        self._finish_order(order, OrderStatus.CANCELLED, reason, "")

    def _finish_order(
        self, order: Order, status: OrderStatus, reason: Reason | str, message: str
    ) -> None:
        """End ``order`` with ``status``; an order that ends unfilled cancels the bracket
        children waiting for it."""
        order.status = status
        order.reason = str(reason)
        order.message = message
        self.driver.on_order(order)
        if status is not _FILLED and order.children:
            for child in order.children:
                if child.alive:
                    self._unqueue(child)
                    self._finish_order(child, OrderStatus.CANCELLED, Reason.OCO, "parent ended")

    def _complete(self, order: Order) -> None:
        """``order`` has filled: its OCO siblings are cancelled, its bracket children armed."""
        for sibling in order.oco:
            if sibling.alive:
                self._unqueue(sibling)
                self._finish_order(sibling, OrderStatus.CANCELLED, Reason.OCO, f"#{order.id}")
        self._finish_order(order, _FILLED, "", "")
        for child in order.children:
            child.active = True
