"""Spot and spot-margin accounts: balances per asset, margin loans with interest, the venue's
margin level, and liquidation (MARGIN_SPEC.md §11).

A :class:`SpotAccount` holds assets in *pools*:

* ``trading_mode = "spot"``: one pool, ``spot``. Buying spends quote, selling spends base; no
  borrowing, so it is long only and never liquidated. The fee is taken in the asset the trade
  delivers (Binance) or in the quote (Kraken), as the venue profile says.
* ``trading_mode = "margin"``, ``margin_mode = "cross"``: one pool, ``cross``, whose assets
  collateralise every loan.
* ``margin_mode = "isolated"``: a pool per pair, ``isolated:BTC/USDT``, holding that pair's two
  assets and loans; collateral moves in from the ``spot`` wallet with :meth:`transfer`.

A margin pool borrows and repays by asset (:meth:`borrow`, :meth:`repay`), or automatically
with its orders as the venues' auto-borrow and auto-repay modes do: a buy borrows the quote it
lacks (Binance) or its whole cost (Kraken), a sell borrows the base it does not hold (a short),
and what an order delivers first repays the loan in that asset, interest first. Interest is
charged by the venue's rule (:mod:`levtrade.margin.loans`) as unpaid interest, a liability
like the loan, and :meth:`accrue_interest` brings it up to a time.

The margin level is the venue's (:class:`~levtrade.model.venue.MarginLevelRule`): Binance's
total assets ÷ (liabilities + unpaid interest), Kraken's equity ÷ used margin; all values are
in the account's currency at the prices set with :meth:`set_price`. At or below the venue's
liquidation level the pool is liquidated: its assets are sold and its loans and interest
repaid, less the venue's liquidation fee; a shortfall is the venue's (insurance fund), never
more than the pool's assets.

Every balance change is a ledger entry, one :class:`~levtrade.margin.ledger.Ledger` per asset
(books in its module docstring), so the books of each asset always sum to zero. Public actions
are atomic: one that is rejected raises a :class:`~levtrade.errors.LevtradeError` naming the
field and value, and changes nothing.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from numbers import Real
from typing import TYPE_CHECKING, TypedDict, Unpack

import numpy as np

from levtrade._jit import plain
from levtrade.errors import (
    ConfigError,
    InsufficientMargin,
    LeverageError,
    LevtradeError,
    OrderRejected,
    TransferRejected,
    UnknownSymbolError,
)
from levtrade.margin import spot_formulas as sf
from levtrade.margin.checks import (
    Liquidity,
    check_fill_terms,
    check_finite,
    parse_choice,
    raised,
    time_ms,
)
from levtrade.margin.formulas import capped_fee, margin_ratio
from levtrade.margin.ledger import (
    EXTERNAL,
    FEES,
    INSURANCE_FUND,
    INTEREST,
    LIQUIDATION_FEES,
    MARKET,
    EntryKind,
    Ledger,
    SpotEntryKind,
    interest_book,
    loan_book,
)
from levtrade.margin.loans import InterestSchedule, Tranche, reduce_fifo
from levtrade.model.instrument import Instrument
from levtrade.model.positions import MarginMode, TradingMode
from levtrade.model.venue import (
    AutoBorrow,
    FeeAsset,
    InterestRule,
    MarginLevelRule,
    MarginLevels,
    SpotMarginProfile,
)

if TYPE_CHECKING:
    import pandas as pd

_MARGIN_LEVEL = plain(sf.margin_level)
_MARGIN_RATIO = plain(margin_ratio)
_LEVEL_PRICE = plain(sf.level_price)
_SIMPLE_INTEREST = plain(sf.simple_interest)
_MAX_BORROW_EQUITY_OVER_USED_MARGIN = plain(sf.max_borrow_equity_over_used_margin)
_MAX_BORROW_ASSETS_OVER_LIABILITIES = plain(sf.max_borrow_assets_over_liabilities)

SPOT_POOL = "spot"
CROSS_POOL = "cross"
_DUST = 1e-12
"""Relative size below which a remainder of a balance or a debt is float rounding."""


class SpotFillOptions(TypedDict, total=False):
    """The keywords of :meth:`SpotAccount.fill` (those of :meth:`SpotAccount.try_fill`, with
    its defaults)."""

    liquidity: Liquidity
    fee_rate: float | None
    borrow: float | None
    leverage: float | None
    auto_borrow: bool
    auto_repay: bool
    collateral: float | None
    time: int | None


def isolated_pool(symbol: str) -> str:
    """Pool name of an isolated-margin pair."""
    return f"isolated:{symbol}"


class MarginStatus(StrEnum):
    """Where a pool's margin level stands against the venue's thresholds."""

    NORMAL = "normal"
    NO_TRANSFER = "no_transfer"
    """At or below the transfer level: assets cannot leave the pool (Binance 2)."""
    NO_BORROW = "no_borrow"
    """At or below the borrow level: no new borrowing (Binance 1.5, Kraken 100 %)."""
    MARGIN_CALL = "margin_call"
    LIQUIDATION = "liquidation"


@dataclass(frozen=True, slots=True)
class SpotFill:
    pool: str
    symbol: str
    size: float
    """Base amount, buy > 0."""
    price: float
    fee: float
    fee_asset: str
    borrowed: tuple[tuple[str, float], ...]
    """(asset, amount) borrowed for the order."""
    repaid: tuple[tuple[str, float], ...]
    """(asset, amount) of debt (interest first) the order's proceeds repaid."""


@dataclass(frozen=True, slots=True)
class SpotLiquidation:
    time: int
    pool: str
    margin_level: float
    """The pool's margin level at the prices the liquidation executed at."""
    sold: tuple[tuple[str, float], ...]
    """(asset, amount) of collateral sold into the pool's currency."""
    bought: tuple[tuple[str, float], ...]
    """(asset, amount) bought back to repay loans in that asset."""
    repaid: tuple[tuple[str, float], ...]
    """(asset, amount) of principal and interest repaid."""
    fee: float
    """Liquidation fee, in the pool's currency."""
    insurance_fund: float
    """Shortfall the venue covered (the pool could not repay), in the pool's currency."""
    equity_before: float
    """Pool equity at the execution prices before the fee, in the account currency."""
    equity_after: float
    """What the pool holds after, in the account currency (≥ 0)."""


class SpotAccount:
    """A spot or spot-margin account on one venue (see the module docstring).

    ``currency`` is the asset every value is counted in (USDT); ``balances`` are deposited into
    the main pool (``spot``, or ``cross`` for cross margin). ``interest_rates`` (per asset, per
    interest period of the venue: per hour on Binance, per 4-hour rollover on Kraken) add to or
    override the venue's published rates; ``opening_fee_rates`` likewise (Kraken).
    """

    def __init__(
        self,
        venue: SpotMarginProfile,
        balances: Mapping[str, float] | None = None,
        *,
        currency: str,
        trading_mode: TradingMode | str = TradingMode.SPOT,
        margin_mode: MarginMode | str = MarginMode.CROSS,
        interest_rates: Mapping[str, float] | None = None,
        opening_fee_rates: Mapping[str, float] | None = None,
        time: int = 0,
    ) -> None:
        self.venue = venue
        self.trading_mode = parse_choice(TradingMode, trading_mode, "trading_mode")
        if self.trading_mode is TradingMode.FUTURES:
            raise ConfigError(
                "trading_mode: a spot account trades 'spot' or 'margin', got 'futures' "
                "(futures use levtrade.margin.Account)"
            )
        self.margin_mode = parse_choice(MarginMode, margin_mode, "margin_mode")
        if self.is_margin:
            if self.margin_mode not in (MarginMode.CROSS, MarginMode.ISOLATED):
                raise ConfigError(
                    f"margin_mode: spot margin is 'cross' or 'isolated', got {margin_mode!r}"
                )
            if venue.levels(self.margin_mode is MarginMode.ISOLATED) is None:
                raise ConfigError(
                    f"margin_mode: {venue.name} has no {self.margin_mode.value} margin account"
                )
        if not isinstance(currency, str) or not currency.strip():
            raise ConfigError(f"currency: expected an asset name, got {currency!r}")
        self.currency = currency.strip()
        self.time = time_ms(time)
        self.main_pool = (
            CROSS_POOL if self.is_margin and self.margin_mode is MarginMode.CROSS else SPOT_POOL
        )
        self._schedule = InterestSchedule(venue)
        self._ledgers: dict[str, Ledger] = {}
        self._prices: dict[str, float] = {self.currency: 1.0}
        self._rates: dict[str, float] = dict(venue.interest_rates)
        self._rates.update(_rates(interest_rates, "interest_rates"))
        self._opening: dict[str, float] = dict(venue.opening_fee_rates)
        self._opening.update(_rates(opening_fee_rates, "opening_fee_rates"))
        self._loans: dict[tuple[str, str], list[Tranche]] = {}
        self._pools: dict[str, str] = {self.main_pool: self.currency}
        """Every pool and the currency its liquidation sells into."""
        self._pairs: dict[str, Instrument] = {}
        """The pair of each isolated pool."""
        for asset, amount in (balances or {}).items():
            _nonnegative(amount, f"balances[{asset!r}]", ConfigError)
            self._post(asset, EntryKind.DEPOSIT, EXTERNAL, self.main_pool, float(amount))

    # ========================================================================================
    # Market state
    # ========================================================================================

    @property
    def is_margin(self) -> bool:
        return self.trading_mode is TradingMode.MARGIN

    def set_price(self, asset: str, price: float, *, time: int | None = None) -> None:
        """Price of ``asset`` in the account currency."""
        _positive(price, f"prices[{asset!r}]", ConfigError)
        if asset == self.currency and price != 1.0:
            raise ConfigError(f"prices[{asset!r}]: the account currency is worth 1, got {price!r}")
        if time is not None:
            self.time = time_ms(time)
        self._prices[asset] = float(price)

    def set_prices(self, prices: Mapping[str, float], *, time: int | None = None) -> None:
        for asset, price in prices.items():
            self.set_price(asset, price)
        if time is not None:
            self.time = time_ms(time)

    def set_mark(self, instrument: Instrument, price: float, *, time: int | None = None) -> None:
        """Price a pair's base from its price in the quote (the quote must be priced)."""
        _positive(price, "price", ConfigError)
        self.set_price(instrument.base, price * self.price(instrument.quote), time=time)

    def price(self, asset: str) -> float:
        value = self._prices.get(asset)
        if value is None:
            raise UnknownSymbolError(f"prices: no price set for {asset!r}")
        return value

    def interest_rate(self, asset: str) -> float | None:
        """The asset's interest rate per period (None when the account has none)."""
        return self._rates.get(asset)

    def set_interest_rate(self, asset: str, rate: float, *, time: int | None = None) -> None:
        """Set the rate per period charged from ``time`` on: charges before it use the old one
        (Binance rates may change every hour; Kraken locks the rate at each borrow)."""
        _nonnegative(rate, f"interest_rates[{asset!r}]", ConfigError)
        with self._transaction(time):
            self._accrue(self.time, before_repayments=True)
            self._rates[asset] = float(rate)

    # ========================================================================================
    # Pools and their figures
    # ========================================================================================

    @property
    def pools(self) -> list[str]:
        return list(self._pools)

    def pool_for(self, instrument: Instrument) -> str:
        """The pool that trades ``instrument`` (an isolated pair's pool is created on demand)."""
        if instrument.is_derivative:
            raise ConfigError(
                f"instrument: {instrument.symbol} is a derivative; a spot account trades spot pairs"
            )
        if self.is_margin and self.margin_mode is MarginMode.ISOLATED:
            name = isolated_pool(instrument.symbol)
            if name not in self._pools:
                self._pools[name] = instrument.quote
                self._pairs[name] = instrument
            return name
        return self.main_pool

    def balance(self, asset: str, pool: str | None = None) -> float:
        """What ``pool`` holds of ``asset`` (free, not netted against its loans)."""
        ledger = self._ledgers.get(asset)
        return 0.0 if ledger is None else ledger.balance(self._pool(pool))

    def balances(self, pool: str | None = None) -> dict[str, float]:
        name = self._pool(pool)
        held = {asset: ledger.balance(name) for asset, ledger in self._ledgers.items()}
        return {asset: amount for asset, amount in held.items() if amount != 0.0}

    def loan(self, asset: str, pool: str | None = None) -> float:
        """Principal owed in ``asset``."""
        ledger = self._ledgers.get(asset)
        return 0.0 if ledger is None else 0.0 - ledger.balance(loan_book(self._pool(pool)))

    def loans(self, pool: str | None = None) -> dict[str, float]:
        name = self._pool(pool)
        owed = {a: 0.0 - ledger.balance(loan_book(name)) for a, ledger in self._ledgers.items()}
        return {asset: amount for asset, amount in owed.items() if amount != 0.0}

    def unpaid_interest(self, asset: str, pool: str | None = None) -> float:
        ledger = self._ledgers.get(asset)
        return 0.0 if ledger is None else 0.0 - ledger.balance(interest_book(self._pool(pool)))

    def debt(self, asset: str, pool: str | None = None) -> float:
        """Principal plus unpaid interest owed in ``asset``."""
        return self.loan(asset, pool) + self.unpaid_interest(asset, pool)

    def net(self, asset: str, pool: str | None = None) -> float:
        """Holding minus debt in ``asset``: > 0 long, < 0 short."""
        return self.balance(asset, pool) - self.debt(asset, pool)

    def total_assets(self, pool: str | None = None) -> float:
        """Σ holdings × price, in the account currency."""
        name = self._pool(pool)
        return math.fsum(
            ledger.balance(name) * self.price(asset)
            for asset, ledger in self._ledgers.items()
            if ledger.balance(name) != 0.0
        )

    def total_liabilities(self, pool: str | None = None) -> float:
        """Σ principal × price (unpaid interest apart)."""
        return math.fsum(a * self.price(asset) for asset, a in self.loans(pool).items())

    def interest_owed(self, pool: str | None = None) -> float:
        """Σ unpaid interest × price."""
        name = self._pool(pool)
        return math.fsum(
            -ledger.balance(interest_book(name)) * self.price(asset)
            for asset, ledger in self._ledgers.items()
            if ledger.balance(interest_book(name)) != 0.0
        )

    def equity(self, pool: str | None = None) -> float:
        """Assets − liabilities − unpaid interest."""
        return self.total_assets(pool) - self.total_liabilities(pool) - self.interest_owed(pool)

    def total_equity(self) -> float:
        """Σ equity over every pool."""
        return math.fsum(self.equity(pool) for pool in self._pools)

    def used_margin(self, pool: str | None = None) -> float:
        """Σ borrowed × price ÷ the leverage of the position each loan funds (Kraken)."""
        name = self._pool(pool)
        return math.fsum(
            t.amount * self.price(asset) / t.leverage
            for (p, asset), tranches in self._loans.items()
            if p == name
            for t in tranches
        )

    def margin_level(self, pool: str | None = None) -> float:
        """The venue's margin level (infinite with nothing borrowed)."""
        name = self._pool(pool)
        if self.venue.margin_level_rule is MarginLevelRule.EQUITY_OVER_USED_MARGIN:
            return _MARGIN_LEVEL(self.equity(name), self.used_margin(name))
        return _MARGIN_LEVEL(
            self.total_assets(name), self.total_liabilities(name) + self.interest_owed(name)
        )

    def levels(self, pool: str | None = None) -> MarginLevels | None:
        """The venue's thresholds for ``pool`` (None for a spot account)."""
        name = self._pool(pool)
        if not self.is_margin or name == SPOT_POOL:
            return None
        return self.venue.levels(name != CROSS_POOL)

    def liquidation_equity(self, pool: str | None = None) -> float:
        """The pool's equity at which its margin level reaches the venue's liquidation level,
        at its current loans (0 when it owes nothing or is not a margin pool): Binance's
        assets ÷ owed = T ⇔ equity = (T − 1) × owed; Kraken's equity ÷ used margin = T ⇔
        equity = T × used margin. It plays the futures maintenance margin's part."""
        name = self._pool(pool)
        levels = self.levels(name)
        if levels is None or not self._owes(name):
            return 0.0
        if self.venue.margin_level_rule is MarginLevelRule.EQUITY_OVER_USED_MARGIN:
            return levels.liquidation * self.used_margin(name)
        owed = self.total_liabilities(name) + self.interest_owed(name)
        return (levels.liquidation - 1.0) * owed

    def margin_ratio(self, pool: str | None = None) -> float:
        """:meth:`liquidation_equity` ÷ equity: 1 exactly at the venue's liquidation level,
        as a futures margin ratio is (0 when the pool owes nothing, inf at equity ≤ 0)."""
        name = self._pool(pool)
        return _MARGIN_RATIO(self.liquidation_equity(name), self.equity(name))

    def status(self, pool: str | None = None) -> MarginStatus:
        levels = self.levels(pool)
        if levels is None:
            return MarginStatus.NORMAL
        level = self.margin_level(pool)
        if level <= levels.liquidation:
            return MarginStatus.LIQUIDATION
        if level <= levels.margin_call:
            return MarginStatus.MARGIN_CALL
        if level <= levels.borrow:
            return MarginStatus.NO_BORROW
        if levels.transfer_out is not None and level <= levels.transfer_out:
            return MarginStatus.NO_TRANSFER
        return MarginStatus.NORMAL

    def liquidatable(self, pool: str | None = None) -> bool:
        """The pool owes something and its margin level is at or below the venue's level."""
        name = self._pool(pool)
        return self._owes(name) and self.status(name) is MarginStatus.LIQUIDATION

    def liquidatable_pools(self) -> list[str]:
        return [pool for pool in self._pools if self.liquidatable(pool)]

    def level_price(self, asset: str, level: float, pool: str | None = None) -> float | None:
        """Price of ``asset`` at which the pool's margin level equals ``level``, every other
        price held; None when there is none (nothing borrowed, or no positive price)."""
        name = self._pool(pool)
        if asset == self.currency:
            raise ConfigError(f"asset: {asset!r} is the account currency; its price is fixed")
        self.price(asset)  # an unpriced asset is an error, not a missing answer
        if not self._owes(name):
            return None
        n1, n0, d1, d0 = self._coefficients(name, asset)
        value = _LEVEL_PRICE(n1, n0, d1, d0, float(level))
        return None if math.isnan(value) else value

    def liquidation_price(self, asset: str, pool: str | None = None) -> float | None:
        """Price of ``asset`` at the venue's liquidation level, other prices held."""
        levels = self._require_levels(pool)
        return self.level_price(asset, levels.liquidation, pool)

    def margin_call_price(self, asset: str, pool: str | None = None) -> float | None:
        """Price of ``asset`` at the venue's margin-call level, other prices held."""
        levels = self._require_levels(pool)
        return self.level_price(asset, levels.margin_call, pool)

    def level_sign(self, asset: str, pool: str | None = None) -> int:
        """+1 when the pool's margin level rises with the price of ``asset`` (it is long the
        asset), −1 when it falls (short), 0 when the price does not move it."""
        n1, n0, d1, d0 = self._coefficients(self._pool(pool), asset)
        slope = n1 * d0 - n0 * d1  # the sign of d/dP of (n1·P + n0) / (d1·P + d0)
        return 1 if slope > 0 else -1 if slope < 0 else 0

    def interest_per_hour(
        self, pool: str | None = None, *, asset: str | None = None
    ) -> float | None:
        """Interest the loans (in ``asset``, or all) cost per hour at the current rates and
        prices, in the account currency (a rollover fee spread over its period); None when a
        loan has no rate."""
        name = self._pool(pool)
        period = self.venue.interest_period_hours
        total = []
        for (p, owed), tranches in self._loans.items():
            if p != name or (asset is not None and owed != asset):
                continue
            for t in tranches:
                rate = t.rate if t.rate is not None else self._rates.get(owed)
                if rate is None:
                    return None
                total.append(t.amount * rate * self.price(owed) / period)
        return math.fsum(total)

    def max_borrowable(
        self, asset: str, pool: str | None = None, *, leverage: float | None = None
    ) -> float:
        """Most of ``asset`` a borrow can take, keeping the margin level at the borrow level."""
        name = self._pool(pool)
        levels = self._require_levels(name)
        value = self._borrowable_value(name, levels, leverage or levels.max_leverage)
        return value / self.price(asset)

    # ========================================================================================
    # Actions
    # ========================================================================================

    def deposit(
        self, asset: str, amount: float, *, pool: str | None = None, time: int | None = None
    ) -> None:
        """Add ``amount`` of ``asset`` to a pool from outside."""
        _positive(amount, "amount", TransferRejected)
        with self._transaction(time):
            self._post(asset, EntryKind.DEPOSIT, EXTERNAL, self._pool(pool), float(amount))

    def withdraw(
        self, asset: str, amount: float, *, pool: str | None = None, time: int | None = None
    ) -> None:
        """Take ``amount`` of ``asset`` out of a pool (see :meth:`transfer` for the limit)."""
        _positive(amount, "amount", TransferRejected)
        with self._transaction(time):
            name = self._pool(pool)
            self._accrue(self.time, before_repayments=True)
            self._post(asset, EntryKind.WITHDRAWAL, name, EXTERNAL, float(amount))
            self._check_transfer(name, asset, amount)

    def transfer(
        self,
        asset: str,
        amount: float,
        *,
        source: str | None = None,
        destination: str | Instrument,
        time: int | None = None,
    ) -> None:
        """Move ``amount`` of ``asset`` between pools (collateral into an isolated pair:
        ``destination=instrument``). Within a free balance, and a margin pool that owes must
        keep its margin level above the venue's transfer level (Binance 2; where none is
        published, the borrow level)."""
        _positive(amount, "amount", TransferRejected)
        with self._transaction(time):
            target = (
                self.pool_for(destination)
                if isinstance(destination, Instrument)
                else self._pool(destination)
            )
            name = self._pool(source)
            if target == name:
                raise TransferRejected(f"destination: {target!r} is the source pool")
            self._accrue(self.time, before_repayments=True)
            self._post(asset, EntryKind.TRANSFER, name, target, float(amount))
            self._check_transfer(name, asset, amount)

    def load_loan(
        self,
        asset: str,
        amount: float,
        *,
        pool: str | None = None,
        leverage: float | None = None,
        interest: float = 0.0,
        time: int | None = None,
    ) -> None:
        """Place a loan already taken (its proceeds are in the balances as given), with its
        unpaid ``interest``: no charge, no threshold check (a calculator or a live sync)."""
        _positive(amount, f"loans[{asset!r}]", ConfigError)
        _nonnegative(interest, f"interest[{asset!r}]", ConfigError)
        with self._transaction(time):
            self._require_margin("loans")
            name = self._pool(pool)
            levels = self._require_levels(name)
            lev = self._leverage(levels, leverage)
            self._post(asset, SpotEntryKind.BORROW, loan_book(name), EXTERNAL, float(amount))
            self._post(
                asset, SpotEntryKind.INTEREST, interest_book(name), EXTERNAL, float(interest)
            )
            rate = (
                self._rates.get(asset)
                if self.venue.interest_rule is InterestRule.ROLLOVER
                else None
            )
            self._loans.setdefault((name, asset), []).append(
                Tranche(
                    float(amount),
                    self.time,
                    self._schedule.first_charge_after(self.time),
                    rate,
                    lev,
                )
            )

    def borrow(
        self,
        asset: str,
        amount: float,
        *,
        pool: str | None = None,
        leverage: float | None = None,
        time: int | None = None,
    ) -> None:
        """Borrow ``amount`` of ``asset`` into a margin pool, if its margin level stays at or
        above the venue's borrow level afterwards; charges what the venue charges at once."""
        _positive(amount, "amount", OrderRejected)
        with self._transaction(time):
            self._require_margin("borrow")
            name = self._pool(pool)
            self._accrue(self.time, before_repayments=True)
            self._borrow(name, asset, float(amount), leverage)

    def repay(
        self,
        asset: str,
        amount: float | None = None,
        *,
        pool: str | None = None,
        time: int | None = None,
    ) -> float:
        """Repay ``amount`` (default: all the free balance can) of the debt in ``asset``,
        unpaid interest first; returns what was repaid."""
        if amount is not None:
            _positive(amount, "amount", OrderRejected)
        with self._transaction(time):
            name = self._pool(pool)
            self._accrue(self.time, before_repayments=True)
            free = self.balance(asset, name)
            if amount is not None and amount > free * (1.0 + _DUST):
                raise OrderRejected(
                    f"amount: repaying {amount!r} {asset} exceeds the {free:.8g} free in {name}"
                )
            return self._repay(name, asset, free if amount is None else min(amount, free))

    def settle(self, pool: str | None = None, *, time: int | None = None) -> dict[str, float]:
        """Repay every debt of a pool as far as its free balance in that asset allows."""
        with self._transaction(time):
            name = self._pool(pool)
            self._accrue(self.time, before_repayments=True)
            paid = {}
            for asset in list(self._ledgers):
                if self.debt(asset, name) > 0.0 and self.balance(asset, name) > 0.0:
                    paid[asset] = self._repay(name, asset, self.balance(asset, name))
            return paid

    def accrue_interest(self, time: int | None = None) -> float:
        """Charge every interest charge due up to ``time`` (inclusive: the start of the hour
        that begins at ``time`` too); returns what was charged, in the account currency."""
        with self._transaction(time):
            return self._accrue(self.time, before_repayments=False)

    def fill(
        self, instrument: Instrument, size: float, price: float, **options: Unpack[SpotFillOptions]
    ) -> SpotFill:
        """Book a fill of ``size`` base units (buy > 0) of a spot pair at ``price`` (quote).

        A spot account spends what it holds. A margin pool first borrows ``borrow`` of the
        asset the order spends when given, else (``auto_borrow``) what the venue's auto-borrow
        mode takes; a borrow that would leave the margin level below the venue's borrow level
        is refused. What the order delivers then repays the debt in that asset
        (``auto_repay``), interest first. ``leverage`` is the position's (Kraken's used margin;
        at most the venue's maximum). ``collateral``: quote moved from the spot wallet into an
        isolated pair's pool first, as part of the same action.
        """
        return raised(self.try_fill(instrument, size, price, **options))

    def try_fill(
        self,
        instrument: Instrument,
        size: float,
        price: float,
        *,
        liquidity: Liquidity = "taker",
        fee_rate: float | None = None,
        borrow: float | None = None,
        leverage: float | None = None,
        auto_borrow: bool = True,
        auto_repay: bool = True,
        collateral: float | None = None,
        time: int | None = None,
    ) -> SpotFill | OrderRejected:
        """:meth:`fill`, with a rejection returned (the account unchanged), not raised."""
        check_finite(size, "size", OrderRejected)
        if size == 0:
            raise OrderRejected(f"size: must be non-zero, got {size!r} ({instrument.symbol})")
        _positive(price, "price", OrderRejected)
        check_fill_terms(liquidity, fee_rate)
        if borrow is not None:
            _positive(borrow, "borrow", OrderRejected)
            self._require_margin("borrow")
        if collateral is not None:
            _positive(collateral, "collateral", OrderRejected)
            if not (self.is_margin and self.margin_mode is MarginMode.ISOLATED):
                raise OrderRejected(
                    "collateral: only an isolated margin pair takes collateral with its order"
                )
        try:
            with self._transaction(time):
                if collateral is not None:
                    self._collateral(instrument, float(collateral))
                return self._fill(
                    instrument,
                    float(size),
                    float(price),
                    liquidity,
                    fee_rate,
                    borrow,
                    leverage,
                    auto_borrow,
                    auto_repay,
                )
        except OrderRejected as error:
            return error

    def close_size(self, instrument: Instrument, pool: str | None = None) -> float:
        """The order size that flattens the pool's exposure to the pair's base: sell what it
        holds net of debt, or buy back the base it owes, grossed up for a fee taken in it."""
        name = self.pool_for(instrument) if pool is None else self._pool(pool)
        base = instrument.base
        net = self.net(base, name)
        if net >= 0.0:
            return -net
        fee = instrument.taker_fee if self.venue.fee_asset is FeeAsset.RECEIVED else 0.0
        return -net / (1.0 - fee)

    def liquidate(
        self,
        pool: str | None = None,
        *,
        prices: Mapping[str, float] | None = None,
        slippage: float = 0.0,
        time: int | None = None,
    ) -> SpotLiquidation:
        """Liquidate a pool that is liquidatable at the current prices: sell its assets into
        its currency at ``prices`` (default: the current ones) moved ``slippage`` against it,
        charge the venue's fee on what is liquidated (capped at the equity left), buy back and
        repay every loan with its interest; a shortfall is covered by the venue."""
        if not (math.isfinite(slippage) and 0.0 <= slippage < 1.0):
            raise ConfigError(f"slippage: must be in [0, 1), got {slippage!r}")
        for asset, value in (prices or {}).items():
            _positive(value, f"prices[{asset!r}]", ConfigError)
        with self._transaction(time):
            name = self._pool(pool)
            self._accrue(self.time, before_repayments=True)
            if not self.liquidatable(name):
                raise OrderRejected(
                    f"pool: {name} is not liquidatable: margin level "
                    f"{self.margin_level(name):.6g} is above the venue's liquidation level"
                )
            return self._liquidate(name, prices or {}, slippage)

    def process_liquidations(
        self,
        *,
        prices: Mapping[str, float] | None = None,
        slippage: float = 0.0,
        time: int | None = None,
    ) -> list[SpotLiquidation]:
        """Liquidate every pool that is liquidatable at the current prices."""
        if time is not None:
            self.time = time_ms(time)
        return [
            self.liquidate(pool, prices=prices, slippage=slippage)
            for pool in self.liquidatable_pools()
        ]

    # ========================================================================================
    # Ledgers
    # ========================================================================================

    def ledger(self, asset: str) -> Ledger:
        """The ledger of ``asset`` (an empty one when the account never held or owed it)."""
        ledger = self._ledgers.get(asset)
        return ledger if ledger is not None else Ledger(asset)

    @property
    def ledgers(self) -> dict[str, Ledger]:
        return dict(self._ledgers)

    def books_balance(self, tolerance: float = 1e-9) -> bool:
        """Whether each asset's books sum to zero (up to float rounding of its entries)."""
        for ledger in self._ledgers.values():
            scale = max([1.0, *(abs(v) for v in ledger.balances.values())])
            if abs(ledger.total()) > tolerance * scale:
                return False
        return True

    def ledger_frame(self) -> pd.DataFrame:
        """Every asset's entries in one table (``currency`` names the asset), by time. (pandas
        is imported here: the account itself does not need it.)"""
        import pandas as pd

        frames = [ledger.to_frame() for ledger in self._ledgers.values() if len(ledger)]
        if not frames:
            return Ledger(self.currency).to_frame()
        table = pd.concat(frames, ignore_index=True)
        order = np.argsort(table["time"].to_numpy(), kind="stable")
        return table.iloc[order].reset_index(drop=True)

    # ========================================================================================
    # Internals
    # ========================================================================================

    def _fill(
        self,
        instrument: Instrument,
        size: float,
        price: float,
        liquidity: Liquidity,
        fee_rate: float | None,
        borrow: float | None,
        leverage: float | None,
        auto_borrow: bool,
        auto_repay: bool,
    ) -> SpotFill:
        name = self.pool_for(instrument)
        symbol = instrument.symbol
        base, quote = instrument.base, instrument.quote
        self._accrue(self.time, before_repayments=True)
        if base not in self._prices and quote in self._prices:
            self._prices[base] = price * self._prices[quote]
        rate = fee_rate
        if rate is None:
            rate = instrument.taker_fee if liquidity == "taker" else instrument.maker_fee
        buy = size > 0
        qty = abs(size)
        notional = qty * price
        spend_asset, spend = (quote, notional) if buy else (base, qty)
        get_asset, get = (base, qty) if buy else (quote, notional)
        if self.venue.fee_asset is FeeAsset.RECEIVED:
            fee_asset, fee = get_asset, rate * get
        else:
            fee_asset, fee = quote, rate * notional
        needed = spend + (fee if fee_asset == spend_asset else 0.0)

        borrowed: list[tuple[str, float]] = []
        if self.is_margin:
            levels = self._require_levels(name)
            lev = self._leverage(levels, leverage)
            amount = borrow
            if amount is None and auto_borrow:
                amount = self._auto_borrow_amount(name, buy, spend_asset, needed, qty, price, base)
            if amount:
                self._borrow(name, spend_asset, amount, lev)
                borrowed.append((spend_asset, amount))
        elif leverage is not None and leverage != 1.0:
            raise LeverageError(f"leverage: spot trades at 1x, got {leverage!r} ({symbol})")

        held = self.balance(spend_asset, name)
        if needed > held * (1.0 + _DUST) + _DUST * needed:
            what = "sell" if not buy else "buy"
            if not self.is_margin:
                raise OrderRejected(
                    f"size: a {what} of {qty:.8g} {base} at {price!r} needs {needed:.8g} "
                    f"{spend_asset}, the {name} pool holds {held:.8g} (spot trades what it holds)"
                )
            raise InsufficientMargin(
                f"size: a {what} of {qty:.8g} {base} at {price!r} needs {needed:.8g} "
                f"{spend_asset}, the {name} pool holds {held:.8g} after borrowing"
            )
        if held < needed:
            needed = held  # the last hair of a balance spent in full
            spend = needed - (fee if fee_asset == spend_asset else 0.0)
        self._post(spend_asset, SpotEntryKind.TRADE, name, MARKET, spend, symbol)
        self._post(get_asset, SpotEntryKind.TRADE, MARKET, name, get, symbol)
        self._post(fee_asset, EntryKind.FEE, name, FEES, fee, symbol)
        repaid: list[tuple[str, float]] = []
        if self.is_margin and auto_repay:
            delivered = get - (fee if fee_asset == get_asset else 0.0)
            owed = self.debt(get_asset, name)
            if owed > 0.0 and delivered > 0.0:
                paid = self._repay(name, get_asset, min(delivered, self.balance(get_asset, name)))
                if paid:
                    repaid.append((get_asset, paid))
        return SpotFill(name, symbol, size, price, fee, fee_asset, tuple(borrowed), tuple(repaid))

    def _collateral(self, instrument: Instrument, amount: float) -> None:
        """Move ``amount`` of the quote from the spot wallet into the pair's pool."""
        quote = instrument.quote
        free = self.balance(quote, SPOT_POOL)
        if amount > free * (1.0 + _DUST):
            raise InsufficientMargin(
                f"collateral: {amount:.8g} {quote} exceeds the {free:.8g} free in the spot wallet"
            )
        self._post(quote, EntryKind.TRANSFER, SPOT_POOL, self.pool_for(instrument), amount)

    def _auto_borrow_amount(
        self,
        pool: str,
        buy: bool,
        asset: str,
        needed: float,
        qty: float,
        price: float,
        base: str,
    ) -> float:
        """What the venue's auto-borrow mode borrows for an order needing ``needed`` of
        ``asset``: the shortfall of the free balance, or (``full``, buys) the whole cost of the
        part of the order that does not buy back a base loan."""
        free = self.balance(asset, pool)
        shortfall = max(0.0, needed - free)
        if self.venue.auto_borrow is AutoBorrow.FULL and buy:
            closing = min(qty, max(0.0, self.debt(base, pool) - self.balance(base, pool)))
            opening_cost = (qty - closing) * price
            if opening_cost > 0.0:
                return opening_cost + max(0.0, needed - opening_cost - free)
        return shortfall if shortfall > _DUST * needed else 0.0

    def _borrow(self, pool: str, asset: str, amount: float, leverage: float | None) -> None:
        levels = self._require_levels(pool)
        lev = self._leverage(levels, leverage)
        rate = self._rates.get(asset)
        if rate is None:
            raise ConfigError(
                f"interest_rates: no {self.venue.name} interest rate for {asset}; give one "
                "per asset (per interest period)"
            )
        value = amount * self.price(asset)
        room = self._borrowable_value(pool, levels, lev)
        if value > room * (1.0 + 1e-9) + 1e-9:
            raise InsufficientMargin(
                f"amount: borrowing {amount:.8g} {asset} ({value:.8g} {self.currency}) exceeds "
                f"the {room:.8g} that keeps the margin level at {self.venue.name}'s borrow "
                f"level {levels.borrow:g}"
            )
        self._post(asset, SpotEntryKind.BORROW, loan_book(pool), pool, amount)
        now = self.time
        if self.venue.interest_rule is InterestRule.ROLLOVER:
            opening = self._opening.get(asset, rate)
            self._charge(pool, asset, _SIMPLE_INTEREST(amount, opening, 1.0), now)
        if self._schedule.at_borrow:
            self._charge(pool, asset, _SIMPLE_INTEREST(amount, rate, 1.0), now)
        locked = rate if self.venue.interest_rule is InterestRule.ROLLOVER else None
        self._loans.setdefault((pool, asset), []).append(
            Tranche(amount, now, self._schedule.first_charge_after(now), locked, lev)
        )

    def _borrowable_value(self, pool: str, levels: MarginLevels, leverage: float) -> float:
        if self.venue.margin_level_rule is MarginLevelRule.EQUITY_OVER_USED_MARGIN:
            return _MAX_BORROW_EQUITY_OVER_USED_MARGIN(
                self.equity(pool), self.used_margin(pool), leverage, levels.borrow
            )
        return _MAX_BORROW_ASSETS_OVER_LIABILITIES(
            self.total_assets(pool),
            self.total_liabilities(pool) + self.interest_owed(pool),
            levels.borrow,
        )

    def _repay(self, pool: str, asset: str, amount: float) -> float:
        """Pay up to ``amount`` of the debt in ``asset`` from the pool, interest first."""
        if amount <= 0.0:
            return 0.0
        interest = self.unpaid_interest(asset, pool)
        owed_principal = self.loan(asset, pool)
        to_interest = min(amount, interest)
        if amount >= interest * (1.0 - _DUST):
            to_interest = interest
        self._post(asset, SpotEntryKind.REPAY, pool, interest_book(pool), to_interest)
        rest = amount - to_interest
        key = (pool, asset)
        if rest >= owed_principal * (1.0 - _DUST):
            to_principal = owed_principal
            self._loans.pop(key, None)
        else:
            to_principal = max(rest, 0.0)
            self._loans[key] = reduce_fifo(self._loans.get(key, []), to_principal)
        self._post(asset, SpotEntryKind.REPAY, pool, loan_book(pool), to_principal)
        return to_interest + to_principal

    def _charge(self, pool: str, asset: str, amount: float, time: int) -> None:
        if not (math.isfinite(amount) and amount >= 0.0):
            raise ConfigError(f"interest: a charge must be ≥ 0, got {amount!r} ({asset})")
        self._post(asset, SpotEntryKind.INTEREST, interest_book(pool), INTEREST, amount, time=time)

    def _accrue(self, until: int, *, before_repayments: bool) -> float:
        """Post every scheduled charge due by ``until``, each at its own instant."""
        schedule = self._schedule
        period = schedule.period_ms
        charged = []
        for (pool, asset), tranches in self._loans.items():
            for tranche in tranches:
                while schedule.due(tranche.next_charge, until, before_repayments):
                    at = tranche.next_charge
                    rate = tranche.rate if tranche.rate is not None else self._rates.get(asset)
                    if rate is None:
                        raise ConfigError(
                            f"interest_rates: no {self.venue.name} interest rate for {asset}"
                        )
                    amount = _SIMPLE_INTEREST(tranche.amount, rate, 1.0)
                    self._charge(pool, asset, amount, at)
                    charged.append(amount * self.price(asset))
                    tranche.next_charge = at + period
        return math.fsum(charged)

    def _liquidate(
        self, pool: str, prices: Mapping[str, float], slippage: float
    ) -> SpotLiquidation:
        """Close out the pool: in each asset the holding first repays the debt; the rest is
        sold into the pool's currency, or the missing part bought back with it; the fee; the
        venue covers what the currency cannot repay; every debt is repaid."""
        currency = self._pools[pool]
        symbol = self._pairs[pool].symbol if pool in self._pairs else None
        level = self.margin_level(pool)
        unit = prices.get(currency, self.price(currency))

        def at(asset: str) -> float:
            """Execution price of ``asset`` in the pool's currency, before slippage."""
            return prices.get(asset, self.price(asset)) / unit

        rate = (
            self.venue.liquidation_fee_rate
            if pool == CROSS_POOL
            else self.venue.isolated_liquidation_fee_rate
        )
        assets = [
            a for a in self._ledgers if self.balance(a, pool) > 0.0 or self.debt(a, pool) > 0.0
        ]
        gross = math.fsum(self.balance(a, pool) * at(a) for a in assets)
        trades: list[tuple[str, float, float]] = []  # (asset, base amount ±, currency amount ∓)
        for asset in assets:
            if asset == currency:
                continue
            excess = self.balance(asset, pool) - self.debt(asset, pool)
            if excess > 0.0:
                trades.append((asset, -excess, excess * at(asset) * (1.0 - slippage)))
            elif excess < 0.0:
                trades.append((asset, -excess, excess * at(asset) * (1.0 + slippage)))
        cash = self.balance(currency, pool) - self.debt(currency, pool)
        equity = cash + math.fsum(amount for _, _, amount in trades)
        sold, bought = [], []
        for asset, base, amount in trades:
            if base < 0.0:
                self._post(asset, SpotEntryKind.TRADE, pool, MARKET, -base, symbol)
                self._post(currency, SpotEntryKind.TRADE, MARKET, pool, amount, symbol)
                sold.append((asset, -base))
            else:
                self._post(currency, SpotEntryKind.TRADE, pool, MARKET, -amount, symbol)
                self._post(asset, SpotEntryKind.TRADE, MARKET, pool, base, symbol)
                bought.append((asset, base))
        fee = capped_fee(rate * gross, max(equity, 0.0))
        self._post(currency, EntryKind.LIQUIDATION_FEE, pool, LIQUIDATION_FEES, fee, symbol)
        shortfall = self.debt(currency, pool) - self.balance(currency, pool)
        covered = max(shortfall, 0.0)
        self._post(currency, EntryKind.INSURANCE_FUND, INSURANCE_FUND, pool, covered, symbol)
        repaid = []
        for asset in assets:
            owed = self.debt(asset, pool)
            if owed > 0.0:
                repaid.append((asset, self._repay(pool, asset, owed)))
        value_of = self.price(currency)
        return SpotLiquidation(
            time=self.time,
            pool=pool,
            margin_level=level,
            sold=tuple(sold),
            bought=tuple(bought),
            repaid=tuple(repaid),
            fee=fee,
            insurance_fund=covered,
            equity_before=equity * value_of,
            equity_after=self.total_assets(pool),
        )

    def _coefficients(self, pool: str, asset: str) -> tuple[float, float, float, float]:
        """(n1, n0, d1, d0) of the pool's margin level in the price of ``asset``."""
        n1 = n0 = d1 = d0 = 0.0
        equity_rule = self.venue.margin_level_rule is MarginLevelRule.EQUITY_OVER_USED_MARGIN
        for name in self._ledgers:
            held = self.balance(name, pool)
            owed = self.debt(name, pool)
            if equity_rule:
                num = held - owed
                den = math.fsum(t.amount / t.leverage for t in self._loans.get((pool, name), []))
            else:
                num, den = held, owed
            if name == asset:
                n1 += num
                d1 += den
            elif num or den:
                price = self.price(name)
                n0 += num * price
                d0 += den * price
        return n1, n0, d1, d0

    def _owes(self, pool: str) -> bool:
        return any(self.debt(asset, pool) > 0.0 for asset in self._ledgers)

    def _check_transfer(self, pool: str, asset: str, amount: float) -> None:
        """After moving ``amount`` of ``asset`` out of ``pool``: no negative balance, and a
        pool that owes keeps its margin level above the transfer (else borrow) level."""
        left = self.balance(asset, pool)
        if left < -_DUST * amount:
            raise TransferRejected(
                f"amount: {amount!r} {asset} exceeds the {left + amount:.8g} free in {pool}"
            )
        levels = self.levels(pool)
        if levels is None or not self._owes(pool):
            return
        floor = levels.transfer_out if levels.transfer_out is not None else levels.borrow
        level = self.margin_level(pool)
        if level <= floor:
            raise TransferRejected(
                f"amount: moving {amount!r} {asset} out of {pool} leaves its margin level at "
                f"{level:.6g}, at or below {self.venue.name}'s transfer level {floor:g}"
            )

    def _leverage(self, levels: MarginLevels, leverage: float | None) -> float:
        if leverage is None:
            return levels.max_leverage
        if isinstance(leverage, bool) or not (
            isinstance(leverage, Real) and math.isfinite(leverage) and leverage >= 1
        ):
            raise LeverageError(f"leverage: must be ≥ 1, got {leverage!r}")
        if leverage > levels.max_leverage:
            raise LeverageError(
                f"leverage: {leverage!r} is above {self.venue.name}'s margin maximum "
                f"{levels.max_leverage:g}"
            )
        return float(leverage)

    def _require_margin(self, field: str) -> None:
        if not self.is_margin:
            raise OrderRejected(
                f"{field}: a {self.trading_mode.value} account does not borrow "
                "(trading_mode 'margin' does)"
            )

    def _require_levels(self, pool: str | None) -> MarginLevels:
        levels = self.levels(pool)
        if levels is None:
            raise OrderRejected(
                f"pool: {self._pool(pool)} is not a margin pool (it neither borrows nor is "
                "liquidated)"
            )
        return levels

    def _pool(self, pool: str | None) -> str:
        if pool is None:
            return self.main_pool
        if pool in self._pools:
            return pool
        if isolated_pool(pool) in self._pools:
            return isolated_pool(pool)
        raise ConfigError(f"pool: unknown pool {pool!r}; this account has {', '.join(self._pools)}")

    def _post(
        self,
        asset: str,
        kind: EntryKind | SpotEntryKind,
        source: str,
        destination: str,
        amount: float,
        symbol: str | None = None,
        *,
        time: int | None = None,
    ) -> None:
        ledger = self._ledgers.get(asset)
        if ledger is None:
            if amount == 0.0:
                return
            ledger = self._ledgers[asset] = Ledger(asset)
        ledger._record(
            self.time if time is None else time, kind, source, destination, amount, symbol
        )

    @contextmanager
    def _transaction(self, time: int | None) -> Iterator[None]:
        """Run a compound change atomically: on any error every piece of state is restored."""
        saved = (
            self.time,
            {asset: ledger._save() for asset, ledger in self._ledgers.items()},
            copy.deepcopy(self._loans),
            dict(self._pools),
            dict(self._pairs),
            dict(self._prices),
            dict(self._rates),
        )
        if time is not None:
            self.time = time_ms(time)
        try:
            yield
        except BaseException:
            self.time = saved[0]
            for asset in [a for a in self._ledgers if a not in saved[1]]:
                del self._ledgers[asset]
            for asset, state in saved[1].items():
                self._ledgers[asset]._restore(state)
            self._loans = saved[2]
            self._pools = saved[3]
            self._pairs = saved[4]
            self._prices = saved[5]
            self._rates = saved[6]
            raise


# ============================================================================================
# Helpers
# ============================================================================================


def _rates(rates: Mapping[str, float] | None, field: str) -> dict[str, float]:
    checked = {}
    for asset, rate in (rates or {}).items():
        _nonnegative(rate, f"{field}[{asset!r}]", ConfigError)
        checked[asset] = float(rate)
    return checked


def _positive(value: float, field: str, error: type[LevtradeError]) -> None:
    check_finite(value, field, error)
    if value <= 0:
        raise error(f"{field}: must be > 0, got {value!r}")


def _nonnegative(value: float, field: str, error: type[LevtradeError]) -> None:
    check_finite(value, field, error)
    if value < 0:
        raise error(f"{field}: must be ≥ 0, got {value!r}")
