"""What a strategy reads of its account in each trading mode.

A futures run hands a strategy its :class:`~levtrade.margin.Account` (positions, wallet, margin
ratio, liquidation prices), or with collateral pooled by an account type its
:class:`~levtrade.margin.scopes.ScopedAccount`, which answers the same names over its pools. A
spot or spot-margin run has no such account: it holds assets and owes loans in a
:class:`~levtrade.margin.SpotAccount`. :class:`SpotAccountView` reads that account for a
strategy. It carries the figures whose meaning is the same in both modes under the futures
names — ``total_equity``, ``wallet_balance``, ``available_balance``, ``margin_ratio`` (1 at the
venue's liquidation level) — so a strategy that sizes from its equity or steps back from
liquidation reads them unchanged, and it adds what only a spot account has (``margin_level``,
``liabilities``, ``interest_owed``, balances and loans by asset). It has no positions: a
position is the strategy's ``self.position``.
"""

from __future__ import annotations

import math

from levtrade.margin import Account, SpotAccount
from levtrade.margin.scopes import ScopedAccount
from levtrade.margin.spot import MarginStatus

_STATUS_ORDER = tuple(MarginStatus)
"""Margin statuses from the healthiest to liquidation."""


class SpotAccountView:
    """A live, read-only view of a spot or spot-margin account for a strategy (module
    docstring). Every value is in the account's currency (the pairs' quote) at the prices of
    the current close."""

    __slots__ = ("spot",)

    def __init__(self, spot: SpotAccount) -> None:
        self.spot = spot
        """The account itself: balances, loans and ledgers by asset and pool."""

    @property
    def trading_mode(self) -> str:
        return self.spot.trading_mode.value

    @property
    def currency(self) -> str:
        return self.spot.currency

    @property
    def total_equity(self) -> float:
        """Σ over the pools of assets − loans − unpaid interest."""
        return self.spot.total_equity()

    @property
    def wallet_balance(self) -> float:
        """The currency held in the main pool (``spot``, or ``cross`` in cross margin)."""
        return self.spot.balance(self.spot.currency)

    @property
    def available_balance(self) -> float:
        """The currency an order can spend without borrowing: the main pool's free balance
        (in isolated margin, the spot wallet that funds each pair's pool)."""
        return max(0.0, self.spot.balance(self.spot.currency))

    @property
    def liabilities(self) -> float:
        """Σ loans + unpaid interest over the pools."""
        spot = self.spot
        return math.fsum(spot.total_liabilities(p) + spot.interest_owed(p) for p in spot.pools)

    @property
    def interest_owed(self) -> float:
        """Σ unpaid interest over the pools."""
        return math.fsum(self.spot.interest_owed(p) for p in self.spot.pools)

    @property
    def margin_level(self) -> float:
        """The venue's margin level of the weakest pool that owes (inf when nothing is
        borrowed): Binance's assets ÷ (liabilities + interest), Kraken's equity ÷ used
        margin."""
        spot = self.spot
        levels = [spot.margin_level(p) for p in spot.pools if spot.levels(p) is not None]
        return min(levels, default=math.inf)

    @property
    def margin_ratio(self) -> float:
        """The weakest pool's equity at liquidation ÷ its equity: 1 at the venue's liquidation
        level, as a futures margin ratio (0 when nothing is borrowed)."""
        spot = self.spot
        return max((spot.margin_ratio(p) for p in spot.pools), default=0.0)

    @property
    def status(self) -> MarginStatus:
        """The weakest pool's status against the venue's thresholds (borrow, call,
        liquidation)."""
        found = [self.spot.status(p) for p in self.spot.pools]
        return max(found, key=_STATUS_ORDER.index, default=MarginStatus.NORMAL)

    @property
    def notional(self) -> float:
        """Σ |holding − debt| × price over every asset but the currency, in every pool: what
        the positions are worth, long or short."""
        spot = self.spot
        return math.fsum(
            abs(spot.net(asset, pool)) * spot.price(asset)
            for pool in spot.pools
            for asset in spot.ledgers
            if asset != spot.currency and spot.net(asset, pool) != 0.0
        )

    def balances(self, pool: str | None = None) -> dict[str, float]:
        """What a pool (default the main one) holds, by asset."""
        return self.spot.balances(pool)

    def loans(self, pool: str | None = None) -> dict[str, float]:
        """What a pool (default the main one) owes in principal, by asset."""
        return self.spot.loans(pool)

    def __repr__(self) -> str:
        return (
            f"SpotAccountView({self.trading_mode}, equity={self.total_equity:g}, "
            f"margin_level={self.margin_level:g})"
        )


AccountView = Account | ScopedAccount | SpotAccountView
"""What ``Strategy.account`` is: the futures account (its pools', when collateral is scoped by
an account type across DEXs), or a spot account's view."""
