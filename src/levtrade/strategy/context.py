"""TradingContext: the port between a strategy and whatever runs it.

A :class:`~levtrade.strategy.base.Strategy`, its position views and its ``broker`` see the
run only through this protocol, so the same strategy class runs on the backtest engine, on the
paper venue and live: each of them implements it. It holds what a ``next()`` reads — time and
bar, the symbols and their instruments, the position sizes and entry prices, the account at
the close, liquidation prices — and what it does: create, submit and cancel orders.

The account is the trading mode's own (:mod:`levtrade.strategy.accounts`): a futures run's
:class:`~levtrade.margin.Account`, a spot or spot-margin run's
:class:`~levtrade.strategy.accounts.SpotAccountView`. Position figures do not go through it:
:meth:`TradingContext.position_entry` gives them in every mode.

Two members are plain attributes for speed, because ``next()`` reads them on every bar:
``sizes`` (per symbol column, the signed size of each open leg) and the position views the
context keeps current (:meth:`PositionView.sync` after every change of the positions).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from levtrade.model.instrument import Instrument
    from levtrade.model.orders import Order
    from levtrade.strategy.accounts import AccountView


class PositionSync(Protocol):
    """A view the context brings up to date whenever the positions change."""

    def sync(self) -> None: ...


class TradingContext(Protocol):
    """What a strategy needs from the engine or broker that runs it (module docstring)."""

    @property
    def symbols(self) -> Sequence[str]:
        """The run's symbols; a symbol's index is its column everywhere below."""
        ...

    @property
    def instruments(self) -> Sequence[Instrument]:
        """Per column, the instrument traded (fees, contract size, lot and tick)."""
        ...

    @property
    def hedge(self) -> bool:
        """Hedge mode: ``LONG`` and ``SHORT`` legs; otherwise one ``BOTH`` leg per symbol."""
        ...

    @property
    def liquidation_buffer(self) -> float:
        """The run's ``liquidation_buffer`` (FreqTrade's), for buffered liquidation prices."""
        ...

    @property
    def sizes(self) -> Sequence[Mapping[str, float]]:
        """Per column, the signed size (contracts) of each open leg by leg name: one mapping per
        column for the whole run, changed in place (views keep a reference to it)."""
        ...

    @property
    def position_views(self) -> list[PositionSync]:
        """Views the context syncs after every change of the positions."""
        ...

    @property
    def account(self) -> AccountView:
        """The account: a futures :class:`~levtrade.margin.Account`, or the view of a spot
        or spot-margin account."""
        ...

    @property
    def i(self) -> int:
        """Index of the current bar (the bar whose close the strategy is deciding at)."""
        ...

    @property
    def t(self) -> int:
        """Open time (ms) of the current bar."""
        ...

    def marks_at_close(self) -> AccountView:
        """The account marked at the current close."""
        ...

    def position_entry(self, symbol: str, leg: str) -> tuple[float, float, float]:
        """(signed size, average entry price, leverage) of an open position."""
        ...

    def liquidation_price(self, column: int, leg: str) -> float | None:
        """Liquidation price of a position (None when flat or when it has none)."""
        ...

    def new_id(self) -> int:
        """A fresh order id."""
        ...

    def submit(self, order: Order) -> Order:
        """Accept an order (it may be rejected at once, with a reason)."""
        ...

    def cancel(self, order: Order) -> None:
        """Cancel a live order."""
        ...
