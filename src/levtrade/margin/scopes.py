"""Collateral scopes: which positions share a cross pool, by the venue's account type.

Hyperliquid (MARGIN_SPEC.md §12) runs several perp DEXs, the main one and builder-deployed
(HIP-3) ones such as ``xyz``, each settling in its collateral token. Its account types decide
which positions share collateral:

* ``standard``: each DEX keeps its own balance and its own cross pool. Positions on the main
  DEX and on ``xyz`` never share collateral, even when both settle in USDC.
* ``unified``: one balance per collateral token, shared by every cross position settled in it
  across DEXs (and the same balance as spot in that token). Health is taken per token; the
  account is liquidatable when the worst token's pool is.
* ``portfolio_margin``: unified plus cross-asset margining, whose rules are not published; it
  is refused rather than guessed.

A :class:`ScopedAccount` keeps one :class:`~levtrade.margin.Account` per pool — per DEX or per
token — so every figure of a pool (equity, maintenance margin, liquidation prices, the
liquidation itself) is the account model's own. Markets that never join a cross pool (a
no-cross or strict-isolated HIP-3 market) are the instrument's ``margin_rule``, which the
account enforces within every scope.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from levtrade.errors import ConfigError
from levtrade.margin.account import Account, FillResult, LiquidationResult, Position, TierProvider
from levtrade.model.instrument import Instrument
from levtrade.model.positions import AccountType, MarginMode, PositionKey, PositionMode
from levtrade.model.venue import VenueProfile

MAIN_DEX = "main"
"""Name of a venue's main DEX in a standard account's pools."""


class ScopedAccount:
    """One venue account whose positions are pooled by its account type (module docstring).

    ``balances`` gives each pool's cross wallet: by DEX (``main``, ``xyz``) for ``standard``,
    by collateral token (``USDC``) for ``unified``. Other keyword arguments go to every pool's
    :class:`~levtrade.margin.Account`.
    """

    def __init__(
        self,
        venue: VenueProfile,
        account_type: AccountType | str,
        balances: Mapping[str, float] | None = None,
        *,
        tier_provider: TierProvider | None = None,
        position_mode: PositionMode | str = PositionMode.ONE_WAY,
        default_leverage: float = 1.0,
        default_margin_mode: MarginMode | str = MarginMode.CROSS,
        time: int = 0,
    ) -> None:
        try:
            kind = AccountType(account_type)
        except ValueError:
            choices = ", ".join(repr(t.value) for t in AccountType)
            raise ConfigError(
                f"account_type: must be one of {choices}, got {account_type!r}"
            ) from None
        if kind is AccountType.PORTFOLIO_MARGIN:
            raise ConfigError(
                "account_type: portfolio_margin's cross-asset rules are not published "
                "(MARGIN_SPEC.md §12); use 'unified' or 'standard'"
            )
        self.venue = venue
        self.account_type = kind
        self._options: dict[str, Any] = {
            "tier_provider": tier_provider,
            "position_mode": position_mode,
            "default_leverage": default_leverage,
            "default_margin_mode": default_margin_mode,
            "time": time,
        }
        self._accounts: dict[str, Account] = {}
        for pool, amount in (balances or {}).items():
            self._new_pool(self._pool_name(pool), float(amount), None)

    # -- pools ------------------------------------------------------------------------------

    def pool_of(self, instrument: Instrument) -> str:
        """The pool a position in ``instrument`` belongs to: its DEX (standard) or its
        collateral token (unified)."""
        if not instrument.is_derivative:
            raise ConfigError(f"instrument: {instrument.symbol} is spot; the pools hold perps")
        if self.account_type is AccountType.STANDARD:
            return instrument.dex or MAIN_DEX
        return instrument.margin_currency

    @property
    def pools(self) -> dict[str, Account]:
        """Every pool's account, by pool name."""
        return dict(self._accounts)

    def account(self, pool: str) -> Account:
        name = self._pool_name(pool)
        if name not in self._accounts:
            raise ConfigError(
                f"pool: no pool {pool!r}; this account has {', '.join(self._accounts) or 'none'}"
            )
        return self._accounts[name]

    def account_for(self, instrument: Instrument) -> Account:
        """The pool account of ``instrument`` (an empty one is opened on first use)."""
        pool = self.pool_of(instrument)
        account = self._accounts.get(pool)
        if account is None:
            account = self._new_pool(pool, 0.0, instrument.margin_currency)
        currency = account.currency
        if currency is not None and currency != instrument.margin_currency:
            raise ConfigError(
                f"instrument: {instrument.symbol} settles in {instrument.margin_currency}, "
                f"its pool {pool!r} holds {currency}"
            )
        return account

    # -- actions, delegated to the pool's account -------------------------------------------

    def deposit(self, pool: str, amount: float, *, time: int | None = None) -> None:
        name = self._pool_name(pool)
        account = self._accounts.get(name) or self._new_pool(name, 0.0, None)
        account.deposit(amount, time=time)

    def fill(self, instrument: Instrument, size: float, price: float, **kwargs: Any) -> FillResult:
        return self.account_for(instrument).fill(instrument, size, price, **kwargs)

    def load_position(self, instrument: Instrument, **kwargs: Any) -> Position:
        return self.account_for(instrument).load_position(instrument, **kwargs)

    def set_mark(self, instrument: Instrument, price: float, *, time: int | None = None) -> None:
        self.account_for(instrument).set_mark(instrument, price, time=time)

    def liquidatable_pools(self) -> dict[str, list[Any]]:
        """Each pool's liquidatable sub-pools (isolated positions, then ``cross``)."""
        found = {name: acct.liquidatable_pools() for name, acct in self._accounts.items()}
        return {name: pools for name, pools in found.items() if pools}

    def process_liquidations(
        self, *, slippage: float = 0.0, time: int | None = None
    ) -> dict[str, list[LiquidationResult]]:
        """Liquidate what triggers in every pool, each pool on its own collateral."""
        done = {
            name: acct.process_liquidations(slippage=slippage, time=time)
            for name, acct in self._accounts.items()
        }
        return {name: results for name, results in done.items() if results}

    # -- figures ----------------------------------------------------------------------------

    def margin_ratios(self) -> dict[str, float]:
        """Each pool's cross margin ratio (maintenance margin ÷ equity; liquidation at 1)."""
        return {name: acct.margin_ratio for name, acct in self._accounts.items()}

    @property
    def worst_pool(self) -> str | None:
        """The pool with the highest cross margin ratio (None without pools)."""
        ratios = self.margin_ratios()
        return max(ratios, key=lambda name: ratios[name]) if ratios else None

    @property
    def liquidatable(self) -> bool:
        """Whether any pool (the worst one) is at or past liquidation."""
        return any(acct.liquidatable_pools() for acct in self._accounts.values())

    @property
    def total_equity(self) -> float:
        """Σ every pool's equity, isolated positions included (tokens added at face value)."""
        return math.fsum(acct.total_equity for acct in self._accounts.values())

    # -- the account as a strategy reads it: a single account's names, over the pools ------

    @property
    def wallet_balance(self) -> float:
        """Σ every pool's cross wallet."""
        return math.fsum(acct.wallet_balance for acct in self._accounts.values())

    @property
    def available_balance(self) -> float:
        """Σ every pool's available balance (each funds only the markets of its own pool)."""
        return math.fsum(acct.available_balance for acct in self._accounts.values())

    @property
    def margin_ratio(self) -> float:
        """The worst pool's cross margin ratio: 1 when that pool is liquidated."""
        return max(self.margin_ratios().values(), default=0.0)

    @property
    def positions(self) -> list[Position]:
        """Every pool's open positions, pool by pool."""
        return [p for acct in self._accounts.values() for p in acct.positions]

    def position(self, ref: Position | PositionKey) -> Position:
        return self._holder(ref).position(ref)

    def notional(self, ref: Position | PositionKey) -> float:
        return self._holder(ref).notional(ref)

    def liquidation_price(self, ref: Position | PositionKey) -> float | None:
        return self._holder(ref).liquidation_price(ref)

    # -- internals --------------------------------------------------------------------------

    def _holder(self, ref: Position | PositionKey) -> Account:
        """The pool account that holds the position ``ref`` names."""
        key = ref.key if isinstance(ref, Position) else ref
        for acct in self._accounts.values():
            if acct.has_position(key.symbol, key.leg):
                return acct
        raise ConfigError(f"position: no open position {key.symbol} {key.leg} in any pool")

    def _pool_name(self, pool: str) -> str:
        if not isinstance(pool, str):
            raise ConfigError(f"pool: expected a DEX or token name, got {pool!r}")
        name = pool.strip()
        if self.account_type is AccountType.STANDARD:
            return name.lower() if name else MAIN_DEX
        if not name:
            raise ConfigError("pool: a unified account's pools are collateral tokens, got ''")
        return name

    def _new_pool(self, pool: str, wallet: float, currency: str | None) -> Account:
        if self.account_type is AccountType.UNIFIED:
            currency = pool
        account = Account(self.venue, wallet, currency=currency, **self._options)
        self._accounts[pool] = account
        return account
