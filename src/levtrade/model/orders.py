"""Orders and trades: their types, their life cycle, and the fill-price rule.

An :class:`Order` is created by a strategy (or by the signal rules), waits (``submitted``) and
ends ``filled``, ``cancelled`` or ``rejected`` with a reason. Market orders fill at the next
bar's open; the others rest and trigger on the intrabar path (docs/backtest.md, step 3):

* ``limit`` / ``take_profit``: fill at their price (maker), or at the leg's start when the leg
  opens beyond it (a better price);
* ``stop`` / ``trailing_stop``: market orders once the price reaches them, filled at the
  price (or the gapped leg start) with adverse slippage (taker);
* ``take_profit_market``: a market order once the price reaches it from the favourable side
  (a take-profit's trigger), filled as a stop is (taker, slippage).

A stop-type order with ``mark_trigger`` triggers on the mark price path and fills at the trade
price at that point of the path (a venue's ``workingType=MARK_PRICE``). A limit order's time in
force is ``GTC`` (rests until filled or cancelled) or, decided at the next bar's open, ``IOC`` /
``FOK`` (fill there as a taker when the open is at or better than the limit, else expire) or
``GTX`` (post-only: expire when the open would fill it, else rest as ``GTC``). A limit with a
``trigger_direction`` is conditional (a venue's stop-limit or take-profit-limit): it becomes a
limit where the path reaches its ``trigger_price``, and can fill from that point on.

A :class:`Trade` is one position from open to flat, per symbol and leg.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from levtrade.errors import StrategyError


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    TAKE_PROFIT = "take_profit"
    TRAILING_STOP = "trailing_stop"
    TAKE_PROFIT_MARKET = "take_profit_market"


_ALIASES = {
    "market": OrderType.MARKET,
    "limit": OrderType.LIMIT,
    "stop": OrderType.STOP,
    "stop_market": OrderType.STOP,
    "stoploss": OrderType.STOP,
    "take_profit": OrderType.TAKE_PROFIT,
    "takeprofit": OrderType.TAKE_PROFIT,
    "trailing_stop": OrderType.TRAILING_STOP,
    "stoptrail": OrderType.TRAILING_STOP,
    "stop_trail": OrderType.TRAILING_STOP,
    "take_profit_market": OrderType.TAKE_PROFIT_MARKET,
}


def parse_order_type(value: OrderType | str) -> OrderType:
    """An order type from its name (backtrader's ``Market``/``Limit``/``Stop``/``StopTrail``
    are accepted)."""
    if isinstance(value, OrderType):
        return value
    key = str(value).strip().lower() if isinstance(value, str) else ""
    if key not in _ALIASES:
        choices = ", ".join(t.value for t in OrderType)
        raise StrategyError(f"exectype: must be one of {choices}, got {value!r}")
    return _ALIASES[key]


class OrderStatus(StrEnum):
    SUBMITTED = "submitted"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    """An IOC/FOK limit the open did not reach, a post-only limit the open would have filled."""


class Reason(StrEnum):
    """Why an order was rejected or cancelled (the ``reason`` column of the orders table)."""

    INSUFFICIENT_MARGIN = "insufficient_margin"
    LEVERAGE = "leverage_above_tier"
    REDUCE_ONLY = "reduce_only"
    MIN_NOTIONAL = "min_notional"
    SIZE = "size_below_lot"
    MAX_OPEN_TRADES = "max_open_trades"
    BANKRUPT = "past_bankruptcy"
    NO_POSITION = "no_position"
    OCO = "oco"
    CANCELLED_BY_STRATEGY = "cancelled"
    POSITION_CLOSED = "position_closed"
    LIQUIDATION = "liquidation"
    END_OF_DATA = "end_of_data"
    REJECTED = "rejected"
    POST_ONLY = "post_only"
    NOT_REACHED = "not_reached"


TIME_IN_FORCE = ("GTC", "IOC", "FOK", "GTX")
STOP_TYPES = frozenset({OrderType.STOP, OrderType.TRAILING_STOP})
MAKER_TYPES = frozenset({OrderType.LIMIT, OrderType.TAKE_PROFIT})


@dataclass(eq=False, slots=True)
class Order:
    """One order. ``size`` is in contracts (> 0; NaN for an order sized at its fill: a whole
    position close or a stake-sized entry); ``price`` is the limit/trigger level (NaN for a
    market order)."""

    id: int
    symbol: str
    side: str
    """``"buy"`` or ``"sell"``."""
    type: OrderType
    size: float
    price: float
    created_time: int
    created_bar: int
    leg: str | None = None
    reduce_only: bool = False
    close_position: bool = False
    """Fill the whole position of the leg, whatever its size at the fill."""
    leverage: float | None = None
    stake: float | None = None
    """Margin for an order sized at its fill (signal entries, ``size=None``)."""
    trail_ratio: float = 0.0
    trail_amount: float = 0.0
    managed: bool = False
    """Its level belongs to the signal rules (stop-loss, trailing stop, ROI): not rounded to
    the tick, NaN while no level applies, and moved by the driver."""
    origin: str = "order"
    """What the order is for; the exit reason of a trade it closes (``signal``, ``stop_loss``,
    ``take_profit``, ``roi``, ``trailing_stop``, ``close`` for a strategy's ``close()``,
    ``order`` for its other orders; the engine's own exits are ``liquidation`` and
    ``end_of_data``)."""
    tag: str | None = None
    parent: Order | None = None
    """Bracket entry this order waits for (inactive until it fills)."""
    children: tuple[Order, ...] = ()
    """A bracket entry's exits, activated when it fills (tuples, not lists: most orders have
    none, and a shared empty tuple costs no allocation per order)."""
    oco: tuple[Order, ...] = ()
    """Orders cancelled when this one fills (bracket stop and target)."""
    active: bool = True
    status: OrderStatus = OrderStatus.SUBMITTED
    reason: str = ""
    message: str = ""
    fill_time: int | None = None
    fill_bar: int | None = None
    fill_price: float = math.nan
    filled_size: float = 0.0
    """Signed contracts filled (buy > 0)."""
    fee: float = 0.0
    realized_pnl: float = 0.0
    """PnL the fill realized on the position it reduced (before fees)."""
    client_id: str | None = None
    """The caller's own id for the order (a venue's client order id)."""
    time_in_force: str = "GTC"
    """``GTC``, or for limit orders ``IOC``, ``FOK``, ``GTX`` (see the module docstring)."""
    mark_trigger: bool = False
    """Trigger on the mark price path (stop-type and take-profit-market orders, and the
    trigger of a conditional limit)."""
    trigger_price: float = math.nan
    trigger_direction: int = 0
    """A conditional limit (stop-limit, take-profit-limit): it waits until the path reaches
    ``trigger_price`` in this direction (+1 rising to it, -1 falling to it; 0: no trigger, or
    triggered), then rests as a limit at ``price``."""

    @property
    def is_buy(self) -> bool:
        return self.side == "buy"

    @property
    def alive(self) -> bool:
        return self.status is OrderStatus.SUBMITTED

    @property
    def liquidity(self) -> str:
        """Fee side: maker for limit and take-profit fills, taker otherwise."""
        return "maker" if self.type in MAKER_TYPES else "taker"

    @property
    def slips(self) -> bool:
        """Whether the fill takes adverse slippage: market and stop-type orders."""
        return self.type not in MAKER_TYPES

    def __repr__(self) -> str:
        level = "" if math.isnan(self.price) else f" @ {self.price:g}"
        size = "close" if self.close_position else f"{self.size:g}"
        return (
            f"Order(#{self.id} {self.side} {size} {self.symbol} {self.type}{level} "
            f"{self.status}{' ' + self.reason if self.reason else ''})"
        )


@dataclass(eq=False, slots=True)
class Trade:
    """A position from open to flat (one symbol and leg). Money figures are in the settle
    currency; ``pnl`` = realized PnL − fees + funding (+ a liquidation's outcome)."""

    symbol: str
    leg: str
    side: str
    entry_time: int
    entry_bar: int
    leverage: float
    margin_mode: str
    size: float = 0.0
    """Contracts opened over the trade's life (= closed, when it is over)."""
    entry_value: float = 0.0
    """Σ contracts × price of the opening fills (entry price = entry_value / size)."""
    closed: float = 0.0
    exit_value: float = 0.0
    realized: float = 0.0
    fees: float = 0.0
    funding: float = 0.0
    exit_time: int | None = None
    exit_reason: str = ""
    open: bool = True

    @property
    def entry_price(self) -> float:
        return self.entry_value / self.size if self.size else math.nan

    @property
    def exit_price(self) -> float:
        return self.exit_value / self.closed if self.closed else math.nan

    @property
    def pnl(self) -> float:
        return self.realized - self.fees + self.funding

    @property
    def is_long(self) -> bool:
        return self.side == "long"
