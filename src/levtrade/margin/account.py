"""The margin account: a cross wallet, positions, and every venue rule applied to them.

One :class:`Account` is what a venue sub-account is: a cross wallet in one settle currency
and positions in ``one_way`` (one ``BOTH`` position per symbol) or ``hedge`` mode (``LONG`` and
``SHORT`` legs). Each position is ``cross`` (it shares the cross wallet), ``isolated`` (it holds
its own margin, which can be topped up or partly removed under the venue's rule) or
``strict_isolated`` (like isolated, but margin can only be added; it is released pro rata as
the position closes).

Every margin number comes from :mod:`levtrade.margin.formulas`; every balance change is a
:class:`~levtrade.margin.ledger.Ledger` entry, and the cross wallet and each isolated margin are
exactly the balances of their books. Public actions are atomic: one that is rejected raises a
:class:`~levtrade.errors.LevtradeError` naming the field and value, and changes nothing.

Per-position figures (notional, uPnL, IM, MM, tier, liquidation and bankruptcy prices, ...)
are methods of the account taking a position reference: a :class:`Position`, a
:class:`PositionKey` / ``(symbol, leg)`` tuple, or a symbol with one open leg.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from numbers import Real
from typing import Any, NamedTuple, TypeVar

import numpy as np

from levtrade._jit import plain
from levtrade._validation import (
    MAX_AMOUNT,
    MAX_FUNDING_RATE,
    MAX_LEVERAGE,
    MAX_PRICE,
    MAX_QUANTITY,
    MIN_AMOUNT,
    MIN_PRICE,
    MIN_QUANTITY,
    number_problem,
)
from levtrade.errors import (
    ConfigError,
    InsufficientMargin,
    LeverageError,
    LevtradeError,
    OrderRejected,
    TransferRejected,
    UnknownSymbolError,
)
from levtrade.margin import contracts, formulas
from levtrade.margin.checks import Liquidity, check_fill_terms, parse_choice, time_ms
from levtrade.margin.cross_sums import CrossSums
from levtrade.margin.funding import settlement_price
from levtrade.margin.ledger import (
    CROSS,
    EXTERNAL,
    FEES,
    INSURANCE_FUND,
    LIQUIDATOR_VAULT,
    MARKET,
    Checkpoint,
    EntryKind,
    Ledger,
    _not_finite,
    isolated_book,
)
from levtrade.margin.liquidation import (
    InsuranceFund,
    LegAtExecution,
    LiquidationOutcome,
    plan_liquidation,
)
from levtrade.margin.tiers import TierTable
from levtrade.model.instrument import Instrument
from levtrade.model.positions import Leg, MarginMode, MarketMarginRule, PositionKey, PositionMode
from levtrade.model.venue import LiquidationPriceRule, TransferRule, VenueProfile

CROSS_POOL = "cross"
"""Name of the cross pool in :meth:`Account.liquidate` and :class:`LiquidationResult`."""

TierProvider = Callable[[Instrument], TierTable]
_F = TypeVar("_F", bound=Callable[..., Any])
_INF = math.inf


_LINEAR_NOTIONAL = plain(formulas.linear_notional)
_INVERSE_NOTIONAL = plain(formulas.inverse_notional)
_LINEAR_UPNL = plain(formulas.linear_upnl)
_INVERSE_UPNL = plain(formulas.inverse_upnl)
_LINEAR_FUNDING = plain(formulas.funding_payment)
_INVERSE_FUNDING = plain(formulas.inverse_funding_payment)
_LINEAR_AVERAGE = plain(formulas.average_entry)
_INVERSE_AVERAGE = plain(formulas.inverse_average_entry)
_INITIAL_MARGIN = plain(formulas.initial_margin)


# enum members as module constants: identity tests against them skip the class look-up
_CROSS = MarginMode.CROSS
_BOTH = Leg.BOTH
_LONG = Leg.LONG
_REALIZED_PNL, _FEE, _TRANSFER = EntryKind.REALIZED_PNL, EntryKind.FEE, EntryKind.TRANSFER
_MM_AT_ENTRY = LiquidationPriceRule.MM_AT_ENTRY
_ANY_MODE = MarketMarginRule.ANY
_new_tuple = tuple.__new__


class PositionNotFound(LevtradeError, LookupError):
    """A reference to a position the account does not hold."""


@dataclass(frozen=True, slots=True)
class Position:
    """An open position's state. Immutable: the account replaces it on every change, so a
    held object is a snapshot; the account's per-position methods give live figures."""

    instrument: Instrument
    leg: Leg
    size: float
    """Signed contracts (long > 0)."""
    entry_price: float
    leverage: float
    margin_mode: MarginMode
    isolated_margin: float = 0.0
    """Balance of the position's isolated book (0 for cross)."""
    opened_at: int = 0

    @property
    def symbol(self) -> str:
        return self.instrument.symbol

    @property
    def key(self) -> PositionKey:
        # = PositionKey(symbol, leg), without the named tuple's Python-level __new__
        return _new_tuple(PositionKey, (self.instrument.symbol, self.leg))

    @property
    def side(self) -> str:
        return "long" if self.size > 0 else "short"

    @property
    def is_isolated(self) -> bool:
        return self.margin_mode is not _CROSS

    @property
    def book(self) -> str:
        """The ledger book the position's margin, PnL, fees and funding go through."""
        if self.is_isolated:
            return isolated_book(self.instrument.symbol, self.leg.value)
        return CROSS


PositionRef = Position | PositionKey | tuple[str, str] | str


@dataclass(frozen=True, slots=True)
class FillResult:
    key: PositionKey
    size: float
    price: float
    fee: float
    realized_pnl: float
    closed: float
    """Contracts of the fill that reduced the existing position (signed as the fill)."""
    opened: float
    """Contracts of the fill that opened or increased (signed as the fill)."""
    position: Position | None
    """The position after the fill (None when it was closed)."""


@dataclass(frozen=True, slots=True)
class LiquidatedLeg:
    key: PositionKey
    size_closed: float
    execution_price: float
    realized_pnl: float
    """PnL realized into the pool (0 for positions the liquidator vault took over)."""


@dataclass(frozen=True, slots=True)
class LiquidationResult:
    time: int
    pool: str
    """``"cross"`` or the isolated position's book name."""
    outcome: LiquidationOutcome
    legs: tuple[LiquidatedLeg, ...]
    margin_before: float
    """The pool's margin before: the cross wallet or the isolated margin."""
    realized_pnl: float
    fee: float
    insurance_fund: float
    """Net change of the insurance fund (surplus and penalty in, shortfall out)."""
    liquidator_vault: float
    margin_after: float
    """The pool's margin after (an isolated position's residual is released to cross)."""
    released: float
    """Residual of a fully liquidated isolated position returned to the cross wallet."""

    @property
    def trader_loss(self) -> float:
        """What the trader's pool lost: never more than ``margin_before``."""
        return self.margin_before - self.margin_after - self.released


@dataclass(frozen=True, slots=True)
class _Settings:
    leverage: float
    margin_mode: MarginMode


class _Spec:
    """An instrument's contract arithmetic, resolved once: contract size and the plain scalar
    formulas of its kind (linear or inverse)."""

    __slots__ = ("average", "contract_size", "funding", "instrument", "inverse", "notional", "upnl")

    def __init__(self, instrument: Instrument) -> None:
        inverse = instrument.is_inverse
        self.instrument = instrument
        self.inverse = inverse
        self.contract_size: float = instrument.contract_size
        self.notional: Callable[[float, float, float], float] = (
            _INVERSE_NOTIONAL if inverse else _LINEAR_NOTIONAL
        )
        self.upnl: Callable[[float, float, float, float], float] = (
            _INVERSE_UPNL if inverse else _LINEAR_UPNL
        )
        self.funding: Callable[[float, float, float, float], float] = (
            _INVERSE_FUNDING if inverse else _LINEAR_FUNDING
        )
        self.average: Callable[[float, float, float, float], float] = (
            _INVERSE_AVERAGE if inverse else _LINEAR_AVERAGE
        )


@dataclass(frozen=True, slots=True)
class _Snapshot:
    time: int
    currency: str | None
    wallet: float
    positions: dict[PositionKey, Position]
    settings: dict[PositionKey, _Settings]
    marks: dict[str, float]
    oracles: dict[str, float]
    instruments: dict[str, Instrument]
    tiers: dict[str, TierTable]
    ledger: Checkpoint
    fund: dict[str, float]
    last_partial: int | None


class Account:
    """A venue account: cross wallet, positions, marks, ledger (see the module docstring).

    ``tier_provider`` maps an instrument to its tier table; ``tiers=`` on :meth:`register` or
    :meth:`load_position` overrides it per symbol. New positions take the symbol's (leg's)
    leverage and margin mode set by :meth:`set_leverage`/:meth:`set_margin_mode`, or
    ``default_leverage``/``default_margin_mode``. Money is in ``currency``, the settle currency
    of every instrument traded (taken from the first one when not given).
    """

    def __init__(
        self,
        venue: VenueProfile,
        wallet_balance: float,
        *,
        position_mode: PositionMode | str = PositionMode.ONE_WAY,
        tier_provider: TierProvider | None = None,
        currency: str | None = None,
        default_leverage: float = 1.0,
        default_margin_mode: MarginMode | str = MarginMode.CROSS,
        insurance_fund: InsuranceFund | None = None,
        time: int = 0,
    ) -> None:
        self.venue = venue
        self.position_mode = parse_choice(PositionMode, position_mode, "position_mode")
        if self.position_mode is PositionMode.HEDGE and not venue.supports_hedge_mode:
            raise ConfigError(f"position_mode: {venue.name} has no hedge mode, got 'hedge'")
        _amount(wallet_balance, "wallet_balance", ConfigError)
        if number_problem(default_leverage, 1.0, MAX_LEVERAGE) is not None:
            raise ConfigError(f"default_leverage: must be ≥ 1, got {default_leverage!r}")
        self.default_leverage = float(default_leverage)
        self.default_margin_mode = parse_choice(
            MarginMode, default_margin_mode, "default_margin_mode"
        )
        self.currency = currency
        self.time = time_ms(time)
        self.ledger = Ledger(currency)
        self.insurance_fund = insurance_fund if insurance_fund is not None else InsuranceFund()
        self._tier_provider = tier_provider
        self._wallet = 0.0
        self._positions: dict[PositionKey, Position] = {}
        self._settings: dict[PositionKey, _Settings] = {}
        self._marks: dict[str, float] = {}
        self._oracles: dict[str, float] = {}
        self._instruments: dict[str, Instrument] = {}
        self._tiers: dict[str, TierTable] = {}
        self._mm_tables: dict[str, dict[float, TierTable]] = {}
        self._book_keys: dict[str, PositionKey] = {}
        self._last_partial: int | None = None
        # -- caches (derived from the state above; never part of it) --
        self._version = 0
        """Bumped on every change of ``_positions``: caches of derived figures check it."""
        self._cross_list: list[Position] = []
        self._cross_specs: list[tuple[Position, _Spec, str]] = []
        self._cross_version = -1
        self._inputs_version = 0
        """Bumped when marks or tier tables change: with ``_version`` it keys ``_sums``."""
        self._sums: CrossSums[Position] | None = None
        self._specs: dict[int, _Spec] = {}
        self._key_cache: dict[tuple[str, Leg | str | None], PositionKey] = {}
        self._key_mode = self.position_mode
        self._leverage_caps: dict[str, tuple[TierTable, list[float], list[float], float]] = {}
        self._buffers: dict[int, tuple[formulas.FloatArray, formulas.FloatArray]] = {}
        self._post(EntryKind.DEPOSIT, EXTERNAL, CROSS, float(wallet_balance))

    # ========================================================================================
    # Market state and configuration
    # ========================================================================================

    def register(self, instrument: Instrument, *, tiers: TierTable | None = None) -> None:
        """Make ``instrument`` tradable here, with ``tiers`` or the provider's table."""
        with self._transaction(None):
            self._register(instrument, tiers)

    def tiers(self, symbol: str | Instrument) -> TierTable:
        """The tier table the account uses for ``symbol``."""
        return self._tiers[self._instrument(symbol).symbol]

    def set_mark(
        self,
        symbol: str | Instrument,
        price: float,
        *,
        oracle: float | None = None,
        time: int | None = None,
    ) -> None:
        """Set the mark (and optionally the oracle) price of ``symbol``."""
        name = symbol.symbol if isinstance(symbol, Instrument) else symbol
        _positive(price, "mark_price", ConfigError)
        if oracle is not None:
            _positive(oracle, "oracle_price", ConfigError)
        if time is not None:
            self.time = time_ms(time)
        self._marks[name] = float(price)
        self._inputs_version += 1
        if oracle is not None:
            self._oracles[name] = float(oracle)

    def set_oracle(self, symbol: str | Instrument, price: float) -> None:
        """Set the oracle price of ``symbol`` (funding price on Hyperliquid and dYdX)."""
        name = symbol.symbol if isinstance(symbol, Instrument) else symbol
        _positive(price, "oracle_price", ConfigError)
        self._oracles[name] = float(price)

    def mark_price(self, symbol: str | Instrument) -> float:
        name = symbol.symbol if isinstance(symbol, Instrument) else symbol
        if name not in self._marks:
            raise UnknownSymbolError(f"symbol: no mark price set for {name!r}")
        return self._marks[name]

    def oracle_price(self, symbol: str | Instrument) -> float | None:
        name = symbol.symbol if isinstance(symbol, Instrument) else symbol
        return self._oracles.get(name)

    def leverage(self, symbol: str | Instrument, leg: Leg | str | None = None) -> float:
        """The leverage new fills on ``symbol`` (``leg``) use."""
        settings = self._settings.get(self._key(self._instrument(symbol).symbol, leg))
        return self.default_leverage if settings is None else settings.leverage

    def margin_mode(self, symbol: str | Instrument, leg: Leg | str | None = None) -> MarginMode:
        settings = self._settings.get(self._key(self._instrument(symbol).symbol, leg))
        return self.default_margin_mode if settings is None else settings.margin_mode

    def set_leverage(
        self,
        symbol: str | Instrument,
        leverage: float,
        *,
        leg: Leg | str | None = None,
        time: int | None = None,
    ) -> None:
        """Set the leverage of ``symbol`` (one leg, or both legs in hedge mode with no ``leg``).

        On an open position the leverage must stay within the tier maximum at its current
        notional; lowering it needs the margin for the higher IM (isolated margin ≥ new IM;
        cross: available balance ≥ 0 afterwards). Raising it is always allowed.
        """
        with self._transaction(time):
            if isinstance(symbol, Instrument):
                self._register(symbol, None)
            name = self._instrument(symbol).symbol
            for key in self._keys(name, leg):
                self._apply_leverage(key, leverage)

    def set_margin_mode(
        self,
        symbol: str | Instrument,
        mode: MarginMode | str,
        *,
        leg: Leg | str | None = None,
    ) -> None:
        """Set the margin mode new positions on ``symbol`` (``leg``) open in; only while flat."""
        with self._transaction(None):
            if isinstance(symbol, Instrument):
                self._register(symbol, None)
            name = self._instrument(symbol).symbol
            parsed = parse_choice(MarginMode, mode, "margin_mode")
            for key in self._keys(name, leg):
                self._apply_margin_mode(key, parsed)

    # ========================================================================================
    # Positions
    # ========================================================================================

    @property
    def positions(self) -> list[Position]:
        """Open positions, in the order they were opened."""
        return list(self._positions.values())

    def position(self, ref: PositionRef) -> Position:
        """The current state of the position ``ref`` names."""
        if type(ref) is PositionKey:
            held = self._positions.get(ref)
            if held is not None:
                return held
        return self._positions[self._resolve(ref)]

    def has_position(self, symbol: str, leg: Leg | str | None = None) -> bool:
        """Whether ``symbol`` has an open position (on ``leg``; in hedge mode, on either leg
        when none is named)."""
        if leg is None and self.position_mode is PositionMode.HEDGE:
            return any(key.symbol == symbol for key in self._positions)
        return self._key(symbol, leg) in self._positions

    # -- per-position figures, at the current marks ----------------------------------------

    def notional(self, ref: PositionRef) -> float:
        """|size|·cs·mark (inverse: |size|·cs/mark, in coin)."""
        return self._notional(self.position(ref))

    def unrealized_pnl(self, ref: PositionRef) -> float:
        return self._upnl(self.position(ref))

    def initial_margin_of(self, ref: PositionRef) -> float:
        """Notional at mark / leverage."""
        return self._im(self.position(ref))

    def maintenance_margin_of(self, ref: PositionRef) -> float:
        """Tiered MM at the mark (OKX: rate + taker fee; Bybit isolated: at the entry value)."""
        return self._mm(self.position(ref))

    def tier(self, ref: PositionRef) -> int:
        """1-based number of the tier holding the notional at the mark."""
        pos = self.position(ref)
        return self._tiers[pos.symbol].index(self._notional(pos)) + 1

    def position_equity(self, ref: PositionRef) -> float:
        """Equity of the position's pool: isolated margin + uPnL, or the cross equity."""
        pos = self.position(ref)
        return self._iso_equity(pos) if pos.is_isolated else self.equity

    def is_liquidatable(self, ref: PositionRef) -> bool:
        """The trigger test of the position's pool (itself if isolated, else the account)."""
        pos = self.position(ref)
        return self._iso_liquidatable(pos) if pos.is_isolated else self.liquidatable

    def liquidation_price(self, ref: PositionRef) -> float | None:
        """Mark at which the pool's equity equals its MM, other symbols' marks held (tier at
        that price; hedge cross legs share it); None when there is none."""
        return _price(self._liquidation_price(self.position(ref)))

    def bankruptcy_price(self, ref: PositionRef) -> float | None:
        """Mark at which the pool's equity is zero, other marks held; None when there is none."""
        return _price(self._bankruptcy_price(self.position(ref)))

    def backstop_price(self, ref: PositionRef) -> float | None:
        """Mark at which equity falls to the venue's backstop fraction of MM (Hyperliquid ⅔);
        None where the venue has no backstop or there is no such price."""
        fraction = self.venue.backstop_mm_fraction
        if fraction is None:
            return None
        return _price(self._liquidation_price(self.position(ref), fraction))

    def buffered_liquidation_price(self, ref: PositionRef, buffer: float) -> float | None:
        """FreqTrade's ``liquidation_buffer``: liq moved ``buffer``·|entry − liq| toward entry."""
        if not _in_unit_interval(buffer):
            raise ConfigError(f"liquidation_buffer: must be in [0, 1), got {buffer!r}")
        pos = self.position(ref)
        lp = self._liquidation_price(pos)
        return _price(formulas.buffered_liquidation_price(lp, pos.entry_price, buffer))

    def max_removable_margin(self, ref: PositionRef) -> float:
        """Isolated margin removable under the venue rule (0 for cross and strict isolated)."""
        return self._max_removable(self.position(ref))

    def max_addable_margin(self, ref: PositionRef) -> float:
        """Cross funds that can move into this isolated position (0 for cross)."""
        return self._max_addable(self.position(ref))

    def fill(
        self,
        instrument: Instrument,
        size: float,
        price: float,
        *,
        leg: Leg | str | None = None,
        leverage: float | None = None,
        margin_mode: MarginMode | str | None = None,
        liquidity: Liquidity = "taker",
        fee_rate: float | None = None,
        time: int | None = None,
    ) -> FillResult:
        """Book a fill of ``size`` contracts (buy > 0) at ``price``.

        It opens, increases (weighted-average entry; harmonic for inverse contracts), reduces,
        closes, or in one-way mode flips the position (closing it, then opening the rest). The
        fee is ``fee_rate`` (default: the instrument's taker or maker rate) × fill notional:
        opening fees come from the cross wallet, which also funds an isolated position's IM;
        closing fees and realized PnL go through the position's own book. ``leverage`` and
        ``margin_mode`` change the leg's settings first, under the same rules as
        :meth:`set_leverage` and :meth:`set_margin_mode`.

        Rejected with :class:`~levtrade.errors.LeverageError` above the tier maximum at the
        post-fill notional, :class:`~levtrade.errors.InsufficientMargin` when the available
        balance cannot cover the IM and fee, and :class:`~levtrade.errors.OrderRejected` when
        the fill would leave its pool below zero equity (a position past its bankruptcy price
        must be liquidated, not traded).
        """
        outcome = self.try_fill(
            instrument,
            size,
            price,
            leg=leg,
            leverage=leverage,
            margin_mode=margin_mode,
            liquidity=liquidity,
            fee_rate=fee_rate,
            time=time,
        )
        if isinstance(outcome, OrderRejected):
            raise outcome
        return outcome

    def try_fill(
        self,
        instrument: Instrument,
        size: float,
        price: float,
        *,
        leg: Leg | str | None = None,
        leverage: float | None = None,
        margin_mode: MarginMode | str | None = None,
        liquidity: Liquidity = "taker",
        fee_rate: float | None = None,
        time: int | None = None,
    ) -> FillResult | OrderRejected:
        """:meth:`fill`, with a rejection (the account unchanged) returned, not raised.

        For callers that expect many rejections, such as a backtest whose strategy keeps
        ordering what it cannot afford: an order refused for margin is then a returned error,
        without raising, catching and unwinding an exception. Invalid arguments still raise.
        """
        if size == 0:
            raise OrderRejected(f"size: must be non-zero, got {size!r} ({instrument.symbol})")
        _size(size, "size", OrderRejected)
        _positive(price, "price", OrderRejected)
        check_fill_terms(liquidity, fee_rate)
        moment = None if time is None else time_ms(time)
        symbol = instrument.symbol
        # an instrument registered as this very object needs no registration: skip it, and
        # with it the snapshot of the registry
        registered = (
            self._instruments.get(symbol) is instrument
            and instrument.margin_currency == self.currency
        )
        # what a fill can change, saved so that a rejection restores it exactly
        saved = _new_tuple(  # = _Saved(...), without the named tuple's Python-level __new__
            _Saved,
            (
                self.time,
                self._wallet,
                self._positions.copy(),
                self.ledger._save(),
                symbol if symbol not in self._marks else None,
                self._settings.copy()
                if leverage is not None
                or margin_mode is not None
                or (not registered and instrument.margin_rule is not _ANY_MODE)
                else None,
                None
                if registered
                else (self.currency, self._instruments.copy(), self._tiers.copy()),
                (self._cross_list, self._cross_specs)
                if self._cross_version == self._version
                else None,
            ),
        )
        if moment is not None:
            self.time = moment
        try:
            if not registered:
                self._register(instrument, None)
            key = self._key(symbol, leg)
            self._marks.setdefault(symbol, float(price))
            if margin_mode is not None:
                self._apply_margin_mode(key, parse_choice(MarginMode, margin_mode, "margin_mode"))
            if leverage is not None:
                self._apply_leverage(key, leverage)
            rate = fee_rate
            if rate is None:
                rate = instrument.taker_fee if liquidity == "taker" else instrument.maker_fee

            held = self._positions.get(key)
            if held is not None:
                current = held.size
                mode = held.margin_mode
            else:
                current = 0.0
                settings = self._settings.get(key)
                mode = settings.margin_mode if settings is not None else self.default_margin_mode
            cross_pool = mode is _CROSS
            closing = 0.0
            if current != 0.0 and (current > 0) != (size > 0):
                closing = -current if abs(size) >= abs(current) else size
            opening = size - closing
            wrong_side = (opening > 0) != (key.leg is _LONG)
            if opening != 0.0 and key.leg is not _BOTH and wrong_side:
                raise OrderRejected(
                    f"size: {size!r} on the {key.leg} leg of {symbol} would cross zero "
                    f"(open {current!r}); hedge legs do not flip"
                )
            # The available balance before the fill is only quoted when an opening fill is
            # refused for margin. Without a leverage change, nothing done so far moves it (a
            # new mark or instrument touches no open position), so it is read after the
            # rollback then; with one, it is read here.
            available_before = (
                self.available_balance if opening != 0.0 and leverage is not None else None
            )
            realized = fee = 0.0
            if closing != 0.0:
                realized, fee = self._reduce(key, closing, price, rate)
            if opening != 0.0:
                open_fee, margin_needed = self._increase(key, opening, price, rate)
                fee += open_fee
                if not self._affordable(key, price):
                    position = self._positions[key]
                    self._restore(saved)
                    if available_before is None:
                        # the state is back to before the fill: its available balance is the one
                        available_before = self.available_balance
                    return _insufficient(position, margin_needed, open_fee, available_before)
            if closing != 0.0 and cross_pool and self.equity < 0.0:
                raise OrderRejected(
                    f"price: the fill on {symbol} at {price!r} leaves the cross pool with equity "
                    f"{self.equity:.8g} < 0: it is past its bankruptcy price and must be "
                    "liquidated"
                )
            return FillResult(
                key,
                float(size),
                float(price),
                fee,
                realized,
                closing,
                opening,
                self._positions.get(key),
            )
        except OrderRejected as error:  # InsufficientMargin, LeverageError, ...
            self._restore(saved)
            return error
        except BaseException:
            self._restore(saved)
            raise

    def preview_fill(
        self,
        instrument: Instrument,
        size: float,
        price: float,
        *,
        leg: Leg | str | None = None,
        liquidity: Liquidity = "taker",
        time: int | None = None,
    ) -> FillResult | OrderRejected:
        """What :meth:`try_fill` would do, with the account left exactly as it was: a venue's
        check of an order before it accepts it."""
        symbol = instrument.symbol
        saved = _Saved(
            self.time,
            self._wallet,
            self._positions.copy(),
            self.ledger._save(),
            symbol if symbol not in self._marks else None,
            self._settings.copy(),
            (self.currency, self._instruments.copy(), self._tiers.copy()),
            None,
        )
        try:
            return self.try_fill(instrument, size, price, leg=leg, liquidity=liquidity, time=time)
        finally:
            self._restore(saved)

    def _restore(self, saved: _Saved) -> None:
        """Undo a fill that is rejected half-way: back to the state ``saved`` before it."""
        self.time = saved.time
        self._wallet = saved.wallet
        self._positions = saved.positions
        self._version += 1
        self.ledger._restore(saved.ledger)
        if saved.new_mark is not None:
            self._marks.pop(saved.new_mark, None)
        if saved.settings is not None:
            self._settings = saved.settings
        if saved.registry is not None:
            self.currency, self._instruments, self._tiers = saved.registry
        self.ledger.currency = self.currency
        self._mm_tables.clear()
        if saved.cross is not None:
            # the cross positions cached before the fill are those of the restored state
            self._cross_list, self._cross_specs = saved.cross
            self._cross_version = self._version

    def close(
        self,
        ref: PositionRef,
        price: float,
        *,
        liquidity: Liquidity = "taker",
        fee_rate: float | None = None,
        time: int | None = None,
    ) -> FillResult:
        """Close the whole position ``ref`` at ``price``."""
        pos = self.position(ref)
        return self.fill(
            pos.instrument,
            -pos.size,
            price,
            leg=pos.leg,
            liquidity=liquidity,
            fee_rate=fee_rate,
            time=time,
        )

    def load_position(
        self,
        instrument: Instrument,
        *,
        size: float,
        entry_price: float,
        leverage: float,
        margin_mode: MarginMode | str,
        isolated_margin: float | None = None,
        mark_price: float | None = None,
        oracle_price: float | None = None,
        tiers: TierTable | None = None,
        leg: Leg | str | None = None,
        time: int | None = None,
    ) -> Position:
        """Place an already-open position (no fill, no fee), as a calculator or a live sync.

        An isolated position's margin is booked in as a deposit into its own book (the cross
        wallet is left as given). ``mark_price`` defaults to the symbol's mark, or the entry
        price when there is none; ``oracle_price`` sets the symbol's oracle. In hedge mode
        ``leg`` (``LONG``/``SHORT``, any case, or ``long``/``short``) defaults to the side of
        ``size``.
        """
        with self._transaction(time):
            return self._load_position(
                instrument,
                size=size,
                entry_price=entry_price,
                leverage=leverage,
                margin_mode=margin_mode,
                isolated_margin=isolated_margin,
                mark_price=mark_price,
                oracle_price=oracle_price,
                tiers=tiers,
                leg=leg,
            )

    def load_positions(
        self, positions: Iterable[Mapping[str, Any]], *, time: int | None = None
    ) -> list[Position]:
        """Place many already-open positions at once (a calculator scenario, a live sync of a
        whole account): each mapping holds :meth:`load_position`'s arguments, ``instrument``
        included. One transaction, so the cost is linear in the positions: all are placed, or
        none, and the error of the first refused one names its index (``positions[3]: ...``)."""
        placed = []
        with self._transaction(time):
            for index, arguments in enumerate(positions):
                try:
                    placed.append(self._load_position(**arguments))
                except LevtradeError as exc:
                    raise type(exc)(f"positions[{index}]: {exc}") from None
        return placed

    def _load_position(
        self,
        instrument: Instrument,
        *,
        size: float,
        entry_price: float,
        leverage: float,
        margin_mode: MarginMode | str,
        isolated_margin: float | None = None,
        mark_price: float | None = None,
        oracle_price: float | None = None,
        tiers: TierTable | None = None,
        leg: Leg | str | None = None,
    ) -> Position:
        if size == 0:
            raise ConfigError(f"size: must be non-zero, got {size!r} ({instrument.symbol})")
        _size(size, "size", ConfigError)
        _positive(entry_price, "entry_price", ConfigError)
        mode = parse_choice(MarginMode, margin_mode, "margin_mode")
        if mode is _CROSS:
            if isolated_margin is not None:
                raise ConfigError(
                    f"isolated_margin: a cross position has none, got {isolated_margin!r} "
                    f"({instrument.symbol})"
                )
        elif isolated_margin is None:
            raise ConfigError(
                f"isolated_margin: required for a {mode} position ({instrument.symbol})"
            )
        else:
            _amount(isolated_margin, "isolated_margin", ConfigError)
        if mark_price is not None:
            _positive(mark_price, "mark_price", ConfigError)
        if oracle_price is not None:
            _positive(oracle_price, "oracle_price", ConfigError)
        self._register(instrument, tiers)
        symbol = instrument.symbol
        if leg is None and self.position_mode is PositionMode.HEDGE:
            leg = Leg.LONG if size > 0 else Leg.SHORT
        key = self._key(symbol, leg)
        if key.leg is not Leg.BOTH and (size > 0) != (key.leg is Leg.LONG):
            raise ConfigError(f"size: {size!r} does not match the {key.leg} leg of {symbol}")
        if key in self._positions:
            raise ConfigError(f"size: {symbol} {key.leg} already has an open position")
        if mark_price is not None:
            self._marks[symbol] = float(mark_price)
        else:
            self._marks.setdefault(symbol, float(entry_price))
        if oracle_price is not None:
            self._oracles[symbol] = float(oracle_price)
        notional = contracts.notional(instrument, size, self._marks[symbol])
        self._validate_leverage(symbol, leverage, notional)
        self._check_market_mode(symbol, mode)
        self._settings[key] = _Settings(float(leverage), mode)
        self._add_position(
            Position(
                instrument,
                key.leg,
                float(size),
                float(entry_price),
                float(leverage),
                mode,
                0.0,
                self.time,
            )
        )
        if isolated_margin is not None:
            self._post(
                EntryKind.DEPOSIT,
                EXTERNAL,
                self._positions[key].book,
                float(isolated_margin),
                symbol,
            )
        return self._positions[key]

    # ========================================================================================
    # Transfers
    # ========================================================================================

    def deposit(self, amount: float, *, time: int | None = None) -> None:
        """Add ``amount`` to the cross wallet from outside."""
        _positive(amount, "amount", TransferRejected, MIN_AMOUNT, MAX_AMOUNT)
        with self._transaction(time):
            self._post(EntryKind.DEPOSIT, EXTERNAL, CROSS, float(amount))

    def withdraw(self, amount: float, *, time: int | None = None) -> None:
        """Take ``amount`` out of the cross wallet, up to :attr:`withdrawable`."""
        _positive(amount, "amount", TransferRejected, MIN_AMOUNT, MAX_AMOUNT)
        limit = self.withdrawable
        if amount > limit:
            raise TransferRejected(
                f"amount: {amount!r} exceeds the withdrawable {limit:.8g} ({self.venue.name} rule)"
            )
        with self._transaction(time):
            self._post(EntryKind.WITHDRAWAL, CROSS, EXTERNAL, float(amount))

    def add_margin(self, ref: PositionRef, amount: float, *, time: int | None = None) -> None:
        """Move ``amount`` from the cross wallet into an isolated position's margin."""
        _positive(amount, "amount", TransferRejected, MIN_AMOUNT, MAX_AMOUNT)
        pos = self.position(ref)
        if not pos.is_isolated:
            raise TransferRejected(f"position: {_label(pos)} is cross; it has no margin of its own")
        limit = self._max_addable(pos)
        if amount > limit:
            raise TransferRejected(
                f"amount: {amount!r} exceeds the {limit:.8g} addable to {_label(pos)}"
            )
        with self._transaction(time):
            self._post(EntryKind.TRANSFER, CROSS, pos.book, float(amount), pos.symbol)

    def remove_margin(self, ref: PositionRef, amount: float, *, time: int | None = None) -> None:
        """Move ``amount`` from an isolated position's margin back to the cross wallet."""
        _positive(amount, "amount", TransferRejected, MIN_AMOUNT, MAX_AMOUNT)
        pos = self.position(ref)
        if pos.margin_mode is MarginMode.STRICT_ISOLATED:
            raise TransferRejected(
                f"position: {_label(pos)} is strict_isolated; its margin cannot be removed"
            )
        if not pos.is_isolated:
            raise TransferRejected(f"position: {_label(pos)} is cross; it has no margin of its own")
        limit = self._max_removable(pos)
        if amount > limit:
            raise TransferRejected(
                f"amount: {amount!r} exceeds the {limit:.8g} removable from {_label(pos)} "
                f"({self.venue.transfer_rule} rule)"
            )
        with self._transaction(time):
            self._post(EntryKind.TRANSFER, pos.book, CROSS, float(amount), pos.symbol)

    # ========================================================================================
    # Funding
    # ========================================================================================

    def settle_funding(
        self,
        symbol: str | Instrument,
        rate: float,
        *,
        price: float | None = None,
        time: int | None = None,
    ) -> float:
        """Settle one funding payment of ``rate`` on every position in ``symbol``.

        Each position receives −size·cs·price·rate (a long pays when the rate is positive)
        at ``price``, by default the venue's funding price (mark, or oracle where the venue
        uses it and one is set). An isolated position's funding goes through its isolated
        margin. Returns the total received (negative when paid).
        """
        if type(rate) is not float or not -MAX_FUNDING_RATE <= rate <= MAX_FUNDING_RATE:
            problem = number_problem(rate, 0.0, MAX_FUNDING_RATE, signed=True, zero=True)
            if problem is not None:
                raise ConfigError(f"rate: {problem} (a funding rate per interval)")
        if price is not None:
            _positive(price, "price", ConfigError)
        instrument = self._instrument(symbol)
        moment = None if time is None else time_ms(time)
        # every payment is worked out and checked before the first is booked, so a rejected
        # settlement changes nothing
        name = instrument.symbol
        spec = self._spec(instrument)
        payments = []
        for pos in self._positions.values():
            if pos.instrument.symbol != name:
                continue
            at = price
            if at is None:
                at = settlement_price(self.venue, self._marks[name], self._oracles.get(name))
            amount = spec.funding(pos.size, spec.contract_size, at, rate)
            book = pos.book
            if not math.isfinite(amount):  # what posting it would raise
                raise _not_finite(EntryKind.FUNDING, MARKET, book, amount)
            payments.append((book, amount))
        if moment is not None:
            self.time = moment
        total = 0.0
        for book, amount in payments:
            self._post(EntryKind.FUNDING, MARKET, book, amount, name)
            total += amount
        return total

    # ========================================================================================
    # Liquidation
    # ========================================================================================

    def liquidatable_pools(self) -> list[str | PositionKey]:
        """Pools whose equity is at or below their maintenance margin at the marks: the key of
        each such isolated position, then ``"cross"``."""
        pools: list[str | PositionKey] = [
            p.key for p in self._positions.values() if p.is_isolated and self._iso_liquidatable(p)
        ]
        if self.liquidatable:
            pools.append(CROSS_POOL)
        return pools

    def liquidate(
        self,
        pool: str | PositionRef = CROSS_POOL,
        *,
        prices: Mapping[str, float] | None = None,
        slippage: float = 0.0,
        time: int | None = None,
    ) -> LiquidationResult:
        """Liquidate a pool that is liquidatable at the marks, per the venue's outcome model.

        ``pool`` is ``"cross"`` or an isolated position. Each position's liquidation executes
        at ``prices[symbol]`` (default: its mark; give a worse price for a gap), moved against
        the position by ``slippage`` (a fraction).
        """
        if not _in_unit_interval(slippage):
            raise ConfigError(f"slippage: must be in [0, 1), got {slippage!r}")
        for name, value in (prices or {}).items():
            _positive(value, f"prices[{name!r}]", ConfigError)
        with self._transaction(time):
            if isinstance(pool, str) and pool == CROSS_POOL:
                legs = [p for p in self._positions.values() if not p.is_isolated]
                if not legs:
                    raise OrderRejected("pool: the cross pool has no positions to liquidate")
                if not self.liquidatable:
                    raise OrderRejected(
                        f"pool: the cross pool is not liquidatable: equity {self.equity:.8g} > "
                        f"maintenance margin {self.maintenance_margin:.8g}"
                    )
                book = CROSS
            else:
                pos = self.position(pool)
                if not pos.is_isolated:
                    raise OrderRejected(
                        f"pool: {_label(pos)} is cross; liquidate the 'cross' pool instead"
                    )
                if not self._iso_liquidatable(pos):
                    raise OrderRejected(
                        f"pool: {_label(pos)} is not liquidatable: equity "
                        f"{self._iso_equity(pos):.8g} > maintenance margin {self._mm(pos):.8g}"
                    )
                legs = [pos]
                book = pos.book
            return self._liquidate(book, legs, prices or {}, slippage)

    def process_liquidations(
        self,
        *,
        prices: Mapping[str, float] | None = None,
        slippage: float = 0.0,
        time: int | None = None,
    ) -> list[LiquidationResult]:
        """Test every pool at the marks and liquidate those that trigger: isolated positions
        first (a residual they return may rescue the cross pool), then the cross pool."""
        results = []
        for key in [p.key for p in self._positions.values() if p.is_isolated]:
            pos = self._positions.get(key)
            if pos is not None and self._iso_liquidatable(pos):
                results.append(self.liquidate(key, prices=prices, slippage=slippage, time=time))
        if self.liquidatable:
            results.append(self.liquidate(CROSS_POOL, prices=prices, slippage=slippage, time=time))
        return results

    # ========================================================================================
    # Account figures (cross pool)
    # ========================================================================================

    @property
    def wallet_balance(self) -> float:
        """The cross wallet (excluding isolated margins)."""
        return self._wallet

    @property
    def cross_unrealized_pnl(self) -> float:
        """Σ uPnL of cross positions at their marks."""
        return self._cross_sums().upnl.total

    @property
    def equity(self) -> float:
        """Cross wallet + uPnL of cross positions."""
        return self._wallet + self._cross_sums().upnl.total

    @property
    def initial_margin(self) -> float:
        """Σ IM of cross positions (notional at mark / leverage)."""
        marks = self._marks
        ims = []
        for p, spec, symbol in self._cross_items():
            notional = spec.notional(p.size, spec.contract_size, marks[symbol])
            ims.append(_INITIAL_MARGIN(notional, p.leverage))
        return math.fsum(ims)

    @property
    def maintenance_margin(self) -> float:
        """Σ tiered MM of cross positions at their marks."""
        return self._cross_sums().mm().total

    @property
    def margin_ratio(self) -> float:
        """Cross MM ÷ cross equity: liquidation at ≥ 1 (0 without cross positions, inf at
        equity ≤ 0)."""
        return formulas.margin_ratio(self.maintenance_margin, self.equity)

    @property
    def liquidatable(self) -> bool:
        """The cross pool's trigger test: it holds positions and equity ≤ Σ cross MM."""
        return bool(self._cross()) and self.equity <= self.maintenance_margin

    @property
    def available_balance(self) -> float:
        """Cross equity not tied up as cross initial margin: what new positions can use."""
        marks = self._marks
        upnls = []
        ims = []
        for p, spec, symbol in self._cross_items():
            size = p.size
            mark = marks[symbol]
            upnls.append(spec.upnl(size, spec.contract_size, p.entry_price, mark))
            notional = spec.notional(size, spec.contract_size, mark)
            ims.append(_INITIAL_MARGIN(notional, p.leverage))
        # = self.equity - self.initial_margin
        return (self._wallet + math.fsum(upnls)) - math.fsum(ims)

    @property
    def withdrawable(self) -> float:
        """What can leave the cross wallet under the venue's rule (MARGIN_SPEC §1.4, §2.8)."""
        cross = self._cross()
        if self.venue.transfer_rule is TransferRule.HYPERLIQUID:
            return formulas.hyperliquid_max_removable(
                self.equity, self.initial_margin, math.fsum([self._notional(p) for p in cross])
            )
        return formulas.binance_cross_withdrawable(
            self._wallet,
            self.cross_unrealized_pnl,
            self.initial_margin,
            self.maintenance_margin,
            0.0,
        )

    @property
    def total_equity(self) -> float:
        """Cross equity plus every isolated position's margin + uPnL."""
        return self.equity + math.fsum(
            [self._iso_equity(p) for p in self._positions.values() if p.is_isolated]
        )

    # ========================================================================================
    # Internals: per-position arithmetic (all through formulas)
    # ========================================================================================

    def _cross(self) -> list[Position]:
        """Cross positions in opening order (cached until the positions change; read only)."""
        if self._cross_version != self._version:
            self._refresh_cross()
        return self._cross_list

    def _cross_items(self) -> list[tuple[Position, _Spec, str]]:
        """:meth:`_cross` with each position's contract arithmetic and symbol."""
        if self._cross_version != self._version:
            self._refresh_cross()
        return self._cross_specs

    def _refresh_cross(self) -> None:
        self._cross_list = [p for p in self._positions.values() if p.margin_mode is _CROSS]
        self._cross_specs = [
            (p, self._spec(p.instrument), p.instrument.symbol) for p in self._cross_list
        ]
        self._cross_version = self._version

    def _cross_sums(self) -> CrossSums[Position]:
        """The cross positions' uPnL and MM with their exact sums, kept until the positions,
        the marks or the tier tables change (so figures of many positions are linear)."""
        key = (self._version, self._inputs_version)
        sums = self._sums
        if sums is None or sums.key != key:
            sums = self._sums = CrossSums(
                key, self._cross(), _symbol_of, self._upnl, self._mm_with_factor
            )
        return sums

    def _mm_with_factor(self, pos: Position, factor: float) -> float:
        return self._mm(pos, factor=factor)

    def _spec(self, instrument: Instrument) -> _Spec:
        """The contract arithmetic of ``instrument`` (cached per instrument object; the
        identity check guards against an id reused after a copy of the account)."""
        spec = self._specs.get(id(instrument))
        if spec is None or spec.instrument is not instrument:
            if len(self._specs) >= 2 * len(self._instruments) + 256:
                self._specs.clear()  # bounded: instruments replaced or passed as copies
            spec = self._specs[id(instrument)] = _Spec(instrument)
        return spec

    def _notional(self, pos: Position, price: float | None = None) -> float:
        instrument = pos.instrument
        at = self._marks[instrument.symbol] if price is None else price
        spec = self._spec(instrument)
        return spec.notional(pos.size, spec.contract_size, at)

    def _upnl(self, pos: Position, price: float | None = None) -> float:
        instrument = pos.instrument
        at = self._marks[instrument.symbol] if price is None else price
        spec = self._spec(instrument)
        return spec.upnl(pos.size, spec.contract_size, pos.entry_price, at)

    def _im(self, pos: Position) -> float:
        return _INITIAL_MARGIN(self._notional(pos), pos.leverage)

    def _mm_table(self, symbol: str, factor: float = 1.0) -> TierTable:
        """The table maintenance margin is tested with: the symbol's tiers, plus the taker fee
        rate where the venue adds it (OKX), scaled by ``factor`` (Hyperliquid's backstop)."""
        cached = self._mm_tables.get(symbol, _NO_TABLES).get(factor)
        if cached is not None:
            return cached
        table = self._tiers[symbol]
        if self.venue.mm_adds_taker_fee:
            table = table.with_extra_rate(self._instruments[symbol].taker_fee)
        if factor != 1.0:
            table = table.scaled(factor)
        self._mm_tables.setdefault(symbol, {})[factor] = table
        return table

    def _mm(self, pos: Position, price: float | None = None, factor: float = 1.0) -> float:
        """Maintenance margin at ``price`` (mark); at the entry value for isolated positions on
        venues that fix it there (Bybit)."""
        if self._mm_at_entry(pos):
            notional = self._notional(pos, pos.entry_price)
        else:
            notional = self._notional(pos, price)
        table = self._mm_table(pos.instrument.symbol, factor)
        # = table.maintenance_margin(notional)
        return formulas.maintenance_margin(float(notional), table.floors, table.mmrs, table.amounts)

    def _mm_at_entry(self, pos: Position) -> bool:
        return pos.margin_mode is not _CROSS and self.venue.liquidation_price_rule is _MM_AT_ENTRY

    def _iso_equity(self, pos: Position) -> float:
        return pos.isolated_margin + self._upnl(pos)

    def _iso_liquidatable(self, pos: Position) -> bool:
        return self._iso_equity(pos) <= self._mm(pos)

    def _pool(self, pos: Position, factor: float) -> tuple[float, list[Position], float]:
        """(equity constant, legs, MM constant) of the pool ``pos`` is valued in.

        Isolated: the position's margin alone. Cross: the wallet plus the other symbols' uPnL
        at their marks, and the other symbols' MM; the symbol's cross legs move together.
        """
        if pos.margin_mode is not _CROSS:
            return pos.isolated_margin, [pos], 0.0
        symbol = pos.instrument.symbol
        cross = self._cross()
        if len(cross) <= _FEW_CROSS:  # summing the others directly is cheaper
            legs: list[Position] = []
            others: list[Position] = []
            for p in cross:
                (legs if p.instrument.symbol == symbol else others).append(p)
            if not others:  # math.fsum([]) is 0.0
                return self._wallet + 0.0, legs, 0.0
            const = self._wallet + math.fsum([self._upnl(p) for p in others])
            return const, legs, math.fsum([self._mm(p, factor=factor) for p in others])
        sums = self._cross_sums()
        own = sums.groups[symbol]
        legs = [sums.positions[i] for i in own]
        if len(own) == len(sums.positions):  # no others: math.fsum([]) is 0.0
            return self._wallet + 0.0, legs, 0.0
        # = wallet + fsum(the others' uPnL), fsum(the others' MM)
        const = self._wallet + sums.upnl.without(own)
        return const, legs, sums.mm(factor).without(own)

    def _liquidation_price(self, pos: Position, factor: float = 1.0) -> float:
        """Price where the pool's equity equals ``factor``·MM, with the tier at that price."""
        const, legs, other_mm = self._pool(pos, factor)
        if self._mm_at_entry(pos):
            return self._bankruptcy_of(const - self._mm(pos, factor=factor), legs)
        symbol = pos.instrument.symbol
        table = self._mm_table(symbol, factor)
        qtys, entries = self._leg_arrays(legs)
        mark = self._marks[symbol]
        if self._spec(pos.instrument).inverse:
            return formulas.inverse_liquidation_price(
                const - other_mm, qtys, entries, table.floors, table.mmrs, table.amounts, mark
            )
        return formulas.solve_equity_equals_mm(
            const - other_mm, qtys, entries, table.floors, table.mmrs, table.amounts, mark
        )

    def _bankruptcy_price(self, pos: Position) -> float:
        const, legs, _ = self._pool(pos, 1.0)
        return self._bankruptcy_of(const, legs)

    def _bankruptcy_of(self, const: float, legs: list[Position]) -> float:
        qtys, entries = self._leg_arrays(legs)
        if self._spec(legs[0].instrument).inverse:
            return formulas.inverse_bankruptcy_price(const, qtys, entries)
        return formulas.bankruptcy_price(const, qtys, entries)

    def _leg_arrays(self, legs: list[Position]) -> tuple[formulas.FloatArray, formulas.FloatArray]:
        """Signed base quantities (inverse: contract values) and entries of one symbol's legs,
        written into arrays kept per leg count (the compiled formulas only read them)."""
        buffers = self._buffers.get(len(legs))
        if buffers is None:
            buffers = self._buffers[len(legs)] = (np.empty(len(legs)), np.empty(len(legs)))
        qtys, entries = buffers
        for i, p in enumerate(legs):
            qtys[i] = p.size * p.instrument.contract_size
            entries[i] = p.entry_price
        return qtys, entries

    def _max_removable(self, pos: Position) -> float:
        if pos.margin_mode is not MarginMode.ISOLATED:
            return 0.0
        if self.venue.transfer_rule is TransferRule.HYPERLIQUID:
            return formulas.hyperliquid_max_removable(
                self._iso_equity(pos), self._im(pos), self._notional(pos)
            )
        mark = self._marks[pos.symbol]
        qty = pos.size * pos.instrument.contract_size
        if pos.instrument.is_inverse:
            return formulas.inverse_binance_max_removable(
                pos.isolated_margin, qty, pos.entry_price, mark, self._mm(pos), pos.leverage
            )
        return formulas.binance_max_removable(
            pos.isolated_margin, qty, pos.entry_price, mark, self._mm(pos), pos.leverage
        )

    def _max_addable(self, pos: Position) -> float:
        if not pos.is_isolated:
            return 0.0
        if self.venue.transfer_rule is TransferRule.HYPERLIQUID:
            return self.withdrawable
        return formulas.binance_max_addable(
            self._wallet, self.maintenance_margin, 0.0, self.available_balance
        )

    # ========================================================================================
    # Internals: state changes
    # ========================================================================================

    def _post(
        self,
        kind: EntryKind,
        source: str,
        destination: str,
        amount: float,
        symbol: str | None = None,
    ) -> None:
        """Post one ledger entry and apply it to the balances the account mirrors."""
        row = self.ledger._record(self.time, kind, source, destination, amount, symbol)
        if row is not None:
            # the stored row: (time, kind, source, destination, amount, symbol), amount > 0
            moved = row[4]
            self._apply(row[2], -moved)
            self._apply(row[3], moved)

    def _apply(self, book: str, delta: float) -> None:
        if book == CROSS:
            self._wallet += delta
        elif book == INSURANCE_FUND:
            self.insurance_fund.apply(self.currency or "", delta)
        elif book in self._book_keys:
            key = self._book_keys[book]
            pos = self._positions[key]
            self._set_position(
                key,
                Position(
                    pos.instrument,
                    pos.leg,
                    pos.size,
                    pos.entry_price,
                    pos.leverage,
                    pos.margin_mode,
                    pos.isolated_margin + delta,
                    pos.opened_at,
                ),
            )

    def _set_position(self, key: PositionKey, pos: Position) -> None:
        """Put ``pos`` at ``key`` (every change of ``_positions`` goes through here or
        :meth:`_drop_position`, so caches see it)."""
        self._positions[key] = pos
        self._version += 1

    def _drop_position(self, key: PositionKey) -> None:
        del self._positions[key]
        self._version += 1

    def _add_position(self, pos: Position, key: PositionKey | None = None) -> None:
        """Open ``pos`` (at ``key``, its key when given)."""
        if key is None:
            key = pos.key
        self._set_position(key, pos)
        if pos.margin_mode is not _CROSS:
            self._book_keys[pos.book] = key

    def _reduce(
        self, key: PositionKey, closing: float, price: float, rate: float
    ) -> tuple[float, float]:
        """Close ``-closing`` contracts of the position: PnL and fee through its book; an
        isolated position then releases the closed fraction of its margin to cross."""
        pos = self._positions[key]
        spec = self._spec(pos.instrument)
        symbol = pos.instrument.symbol
        book = pos.book
        closed = -closing
        fraction = abs(closed) / abs(pos.size)
        remaining = pos.size + closing
        pnl = spec.upnl(closed, spec.contract_size, pos.entry_price, price)
        fee = rate * spec.notional(closed, spec.contract_size, price)
        self._post(_REALIZED_PNL, MARKET, book, pnl, symbol)
        self._post(_FEE, book, FEES, fee, symbol)
        if pos.margin_mode is not _CROSS:
            margin = self._positions[key].isolated_margin
            if margin < 0:
                raise OrderRejected(
                    f"price: closing {closed!r} of {_label(pos)} at {price!r} loses "
                    f"{-(pnl - fee):.8g}, more than its isolated margin "
                    f"{pos.isolated_margin:.8g}: the position is past its bankruptcy price "
                    "and must be liquidated"
                )
            release = margin if remaining == 0.0 else margin * fraction
            self._post(_TRANSFER, book, CROSS, release, symbol)
        if remaining == 0.0:
            self._drop_position(key)
        else:
            now = self._positions[key]
            self._set_position(
                key,
                Position(
                    now.instrument,
                    now.leg,
                    remaining,
                    now.entry_price,
                    now.leverage,
                    now.margin_mode,
                    now.isolated_margin,
                    now.opened_at,
                ),
            )
        return pnl, fee

    def _increase(
        self, key: PositionKey, opening: float, price: float, rate: float
    ) -> tuple[float, float]:
        """Open or add ``opening`` contracts; returns (fee, IM moved into isolated margin)."""
        instrument = self._instruments[key.symbol]
        spec = self._spec(instrument)
        pos = self._positions.get(key)
        if pos is None:
            settings = self._settings.get(key)
            if settings is None:
                leverage, mode = self.default_leverage, self.default_margin_mode
            else:
                leverage, mode = settings.leverage, settings.margin_mode
            pos = Position(
                instrument, key.leg, opening, float(price), leverage, mode, 0.0, self.time
            )
            self._add_position(pos, key)
        else:
            pos = Position(
                pos.instrument,
                pos.leg,
                pos.size + opening,
                spec.average(pos.size, pos.entry_price, opening, price),
                pos.leverage,
                pos.margin_mode,
                pos.isolated_margin,
                pos.opened_at,
            )
            self._set_position(key, pos)
        added = spec.notional(opening, spec.contract_size, price)
        fee = rate * added
        margin = _INITIAL_MARGIN(added, pos.leverage)
        if pos.margin_mode is not _CROSS:
            self._post(_TRANSFER, CROSS, pos.book, margin, key.symbol)
        self._post(_FEE, CROSS, FEES, fee, key.symbol)
        return fee, margin

    def _affordable(self, key: PositionKey, price: float) -> bool:
        """After an opening fill: its leverage within the tier maximum at the new notional
        (else :class:`LeverageError`), and whether the available balance is still ≥ 0."""
        pos = self._positions[key]
        spec = self._spec(pos.instrument)
        notional = spec.notional(pos.size, spec.contract_size, price)
        self._validate_leverage(pos.instrument.symbol, pos.leverage, notional)
        return not self.available_balance < 0.0

    def _apply_leverage(self, key: PositionKey, leverage: float) -> None:
        pos = self._positions.get(key)
        notional = self._notional(pos) if pos is not None else 0.0
        self._validate_leverage(key.symbol, leverage, notional)
        self._settings[key] = replace(self._settings_for(key), leverage=float(leverage))
        if pos is None:
            return
        updated = replace(pos, leverage=float(leverage))
        self._set_position(key, updated)
        if leverage >= pos.leverage:
            return
        if pos.is_isolated:
            needed = self._im(updated)
            if pos.isolated_margin < needed:
                raise InsufficientMargin(
                    f"leverage: {leverage!r} on {_label(pos)} needs isolated margin ≥ "
                    f"{needed:.8g}, it holds {pos.isolated_margin:.8g}"
                )
        elif self.available_balance < 0.0:
            raise InsufficientMargin(
                f"leverage: {leverage!r} on {_label(pos)} raises cross initial margin beyond "
                f"the available balance ({self.available_balance:.8g} after)"
            )

    def _apply_margin_mode(self, key: PositionKey, mode: MarginMode) -> None:
        self._check_market_mode(key.symbol, mode)
        pos = self._positions.get(key)
        if pos is not None and pos.margin_mode is not mode:
            raise OrderRejected(
                f"margin_mode: {_label(pos)} is open in {pos.margin_mode}; close it before "
                f"switching to {mode}"
            )
        self._settings[key] = replace(self._settings_for(key), margin_mode=mode)

    def _check_market_mode(self, symbol: str, mode: MarginMode) -> None:
        """A market's own rule (a no-cross or strict-isolated market) before the account's."""
        rule = self._instruments[symbol].margin_rule
        if rule is not _ANY_MODE and not rule.allows(mode):
            raise OrderRejected(
                f"margin_mode: {symbol} is a {rule.value} market, it never takes {mode.value!r}"
            )

    def _validate_leverage(self, symbol: str, leverage: float, notional: float) -> None:
        if not (type(leverage) is float and 1.0 <= leverage < _INF) and (
            isinstance(leverage, bool)
            or not (isinstance(leverage, Real) and math.isfinite(leverage) and leverage >= 1)
        ):
            raise LeverageError(f"leverage: must be ≥ 1, got {leverage!r} ({symbol})")
        if self.venue.integer_leverage and leverage != int(leverage):
            raise LeverageError(
                f"leverage: {self.venue.name} takes whole numbers, got {leverage!r} ({symbol})"
            )
        maximum = self._max_leverage_at(symbol, notional)
        if leverage > maximum:
            raise LeverageError(
                f"leverage: {leverage!r} is above the tier maximum {maximum!r} at notional "
                f"{notional:.8g} ({symbol})"
            )

    def _max_leverage_at(self, symbol: str, notional: float) -> float:
        """``self._tiers[symbol].max_leverage_at(notional)``, with the table's floors, maximum
        leverages and last cap kept as Python lists: ``bisect_right(floors, n) - 1`` is
        :func:`formulas.tier_index` (``searchsorted(..., side="right") - 1``, at least 0)."""
        table = self._tiers[symbol]
        cached = self._leverage_caps.get(symbol)
        if cached is None or cached[0] is not table:
            tiers = table.tiers
            cached = (
                table,
                [float(t.floor) for t in tiers],
                [t.max_leverage for t in tiers],
                tiers[-1].cap,
            )
            self._leverage_caps[symbol] = cached
        n = abs(notional)
        if n >= cached[3]:
            return 0.0
        k = bisect_right(cached[1], float(n)) - 1
        return cached[2][k if k > 0 else 0]

    def _liquidate(
        self,
        book: str,
        legs: list[Position],
        prices: Mapping[str, float],
        slippage: float,
    ) -> LiquidationResult:
        """Value the pool's legs at execution, let the venue's outcome model decide, book it.

        Positions leave the account only after every entry on their book is posted.
        """
        currency = self.currency or ""
        margin_before = self._book_balance(book)
        fund_before = self.insurance_fund.balance(currency)
        at_execution = []
        for pos in legs:
            base = prices.get(pos.symbol, self._marks[pos.symbol])
            price = formulas.slipped_price(base, pos.size, slippage)
            at_execution.append(
                LegAtExecution(
                    pos.symbol,
                    pos.size,
                    price,
                    self._upnl(pos, price),
                    self._notional(pos, price),
                    self._mm(pos, price),
                )
            )
        plan = plan_liquidation(
            self.venue,
            margin_before,
            at_execution,
            time=self.time,
            last_partial_time=self._last_partial,
        )
        done: list[LiquidatedLeg] = []
        vault = 0.0
        if plan.backstop:
            done = [
                LiquidatedLeg(pos.key, pos.size, leg.execution_price, 0.0)
                for pos, leg in zip(legs, at_execution, strict=True)
            ]
            vault = margin_before
            self._post(EntryKind.LIQUIDATION, book, LIQUIDATOR_VAULT, margin_before)
        else:
            for pos, leg, fraction in zip(legs, at_execution, plan.fractions, strict=True):
                closed = pos.size if fraction == 1.0 else pos.size * fraction
                pnl = contracts.upnl(pos.instrument, closed, pos.entry_price, leg.execution_price)
                self._post(EntryKind.REALIZED_PNL, MARKET, book, pnl, pos.symbol)
                done.append(LiquidatedLeg(pos.key, closed, leg.execution_price, pnl))
            self._post(EntryKind.LIQUIDATION_FEE, book, plan.fee_book, plan.fee)
        released = 0.0
        if plan.outcome is LiquidationOutcome.PARTIAL:
            self._last_partial = self.time
        else:
            residual = self._book_balance(book)
            if residual < 0.0:
                self._post(EntryKind.INSURANCE_FUND, INSURANCE_FUND, book, -residual)
            elif plan.residual_to_fund:
                self._post(EntryKind.LIQUIDATION, book, INSURANCE_FUND, residual)
            if book != CROSS:
                released = self._book_balance(book)
                self._post(EntryKind.TRANSFER, book, CROSS, released)
        margin_after = self._book_balance(book)
        for pos, liquidated in zip(legs, done, strict=True):
            remaining = pos.size - liquidated.size_closed
            if liquidated.size_closed == pos.size:
                self._drop_position(pos.key)
            else:
                self._set_position(pos.key, replace(self._positions[pos.key], size=remaining))
        return LiquidationResult(
            time=self.time,
            pool=CROSS_POOL if book == CROSS else book,
            outcome=plan.outcome,
            legs=tuple(done),
            margin_before=margin_before,
            realized_pnl=math.fsum(leg.realized_pnl for leg in done),
            fee=plan.fee,
            insurance_fund=self.insurance_fund.balance(currency) - fund_before,
            liquidator_vault=vault,
            margin_after=margin_after,
            released=released,
        )

    def _book_balance(self, book: str) -> float:
        """The balance the account mirrors for ``book``: the wallet or an isolated margin."""
        if book == CROSS:
            return self._wallet
        return self._positions[self._book_keys[book]].isolated_margin

    # ========================================================================================
    # Internals: look-ups, keys, transactions
    # ========================================================================================

    def _register(self, instrument: Instrument, tiers: TierTable | None) -> None:
        symbol = instrument.symbol
        if not instrument.is_derivative:
            raise ConfigError(f"instrument: {symbol} is spot; a margin account trades swaps")
        currency = instrument.margin_currency
        if self.currency is None:
            self.currency = currency
            self.ledger.currency = currency
        elif currency != self.currency:
            raise ConfigError(
                f"instrument: {symbol} settles in {currency}, this account in {self.currency}"
            )
        known = self._instruments.get(symbol)
        if known is not None and known != instrument:
            if any(p.symbol == symbol for p in self._positions.values()):
                raise ConfigError(
                    f"instrument: {symbol} has open positions under a different specification"
                )
            self._forget_tables(symbol)
        self._instruments[symbol] = instrument
        if instrument.margin_rule is not _ANY_MODE:
            self._default_market_mode(instrument)
        if tiers is not None:
            self._tiers[symbol] = tiers
            self._forget_tables(symbol)
        elif symbol not in self._tiers:
            if self._tier_provider is None:
                raise UnknownSymbolError(
                    f"tiers: no tier table for {symbol}; pass tiers= or a tier_provider"
                )
            self._tiers[symbol] = self._tier_provider(instrument)

    def _default_market_mode(self, instrument: Instrument) -> None:
        """Legs of a market whose rule excludes the account's mode open in the market's own
        default (a no-cross market opens isolated), so they never join the cross pool."""
        rule = instrument.margin_rule
        default = rule.default_mode
        for key in self._keys(instrument.symbol, None):
            settings = self._settings_for(key)
            if rule.allows(settings.margin_mode) or default is None:
                continue
            held = self._positions.get(key)
            if held is not None:
                raise ConfigError(
                    f"instrument: {instrument.symbol} is a {rule.value} market with a "
                    f"{held.margin_mode.value} position open"
                )
            self._settings[key] = replace(settings, margin_mode=default)

    def _forget_tables(self, symbol: str) -> None:
        self._mm_tables.pop(symbol, None)
        self._inputs_version += 1

    def _instrument(self, symbol: str | Instrument) -> Instrument:
        name = symbol.symbol if isinstance(symbol, Instrument) else symbol
        instrument = self._instruments.get(name)
        if instrument is None:
            raise UnknownSymbolError(
                f"symbol: {name!r} is not registered with this account (register it or fill it)"
            )
        return instrument

    def _settings_for(self, key: PositionKey) -> _Settings:
        settings = self._settings.get(key)
        if settings is None:
            return _Settings(self.default_leverage, self.default_margin_mode)
        return settings

    def _key(self, symbol: str, leg: Leg | str | None) -> PositionKey:
        cache = self._key_cache
        if self._key_mode is not self.position_mode:
            cache.clear()
            self._key_mode = self.position_mode
        if type(symbol) is str and (leg is None or type(leg) is str or type(leg) is Leg):
            key = cache.get((symbol, leg))
            if key is None:
                key = self._parse_key(symbol, leg)
                if len(cache) < 4096:
                    cache[(symbol, leg)] = key
            return key
        return self._parse_key(symbol, leg)

    def _parse_key(self, symbol: str, leg: Leg | str | None) -> PositionKey:
        if self.position_mode is PositionMode.ONE_WAY:
            parsed = Leg.BOTH if leg is None else _parse_leg(leg)
            if parsed is not Leg.BOTH:
                raise ConfigError(f"leg: one_way positions use BOTH, got {leg!r} ({symbol})")
            return PositionKey(symbol, Leg.BOTH)
        if leg is None:
            raise ConfigError(f"leg: hedge mode needs LONG or SHORT ({symbol})")
        parsed = _parse_leg(leg)
        if parsed is Leg.BOTH:
            raise ConfigError(f"leg: hedge mode needs LONG or SHORT, got {leg!r} ({symbol})")
        return PositionKey(symbol, parsed)

    def _keys(self, symbol: str, leg: Leg | str | None) -> list[PositionKey]:
        """The keys a setting applies to: in hedge mode with no ``leg``, both legs."""
        if self.position_mode is PositionMode.HEDGE and leg is None:
            return [PositionKey(symbol, Leg.LONG), PositionKey(symbol, Leg.SHORT)]
        return [self._key(symbol, leg)]

    def _resolve(self, ref: PositionRef) -> PositionKey:
        if type(ref) is PositionKey and self._positions.get(ref) is not None:
            return ref  # an open position's key (legs compare equal to their names)
        if isinstance(ref, Position):
            key = ref.key
        elif isinstance(ref, tuple):
            key = PositionKey(ref[0], _parse_leg(ref[1]))
        else:
            open_legs = [k for k in self._positions if k.symbol == ref]
            if len(open_legs) == 1:
                key = open_legs[0]
            elif not open_legs:
                raise PositionNotFound(f"position: no open position in {ref!r}")
            else:
                raise PositionNotFound(
                    f"position: {ref!r} has both legs open; name the leg as ({ref!r}, 'LONG')"
                )
        if key not in self._positions:
            raise PositionNotFound(f"position: no open position {key.symbol} {key.leg}")
        return key

    @contextmanager
    def _transaction(self, time: int | None) -> Iterator[None]:
        """Run a compound change atomically: on any error every piece of state is restored."""
        saved = _Snapshot(
            self.time,
            self.currency,
            self._wallet,
            dict(self._positions),
            dict(self._settings),
            dict(self._marks),
            dict(self._oracles),
            dict(self._instruments),
            dict(self._tiers),
            self.ledger.checkpoint(),
            self.insurance_fund.balances,
            self._last_partial,
        )
        if time is not None:
            self.time = time_ms(time)
        try:
            yield
        except BaseException:
            self.time = saved.time
            self.currency = saved.currency
            self.ledger.currency = saved.currency
            self._wallet = saved.wallet
            self._positions = saved.positions
            self._version += 1
            self._settings = saved.settings
            self._marks = saved.marks
            self._oracles = saved.oracles
            self._instruments = saved.instruments
            self._tiers = saved.tiers
            self._mm_tables.clear()
            self.ledger.rollback(saved.ledger)
            self.insurance_fund.reset(saved.fund)
            self._last_partial = saved.last_partial
            raise


# ============================================================================================
# Helpers
# ============================================================================================


class _Saved(NamedTuple):
    """What :meth:`Account.try_fill` can change, saved so that a rejection restores it."""

    time: int
    wallet: float
    positions: dict[PositionKey, Position]
    ledger: tuple[int, dict[str, float]]
    new_mark: str | None
    """The symbol whose mark the fill sets first (None when it had one)."""
    settings: dict[PositionKey, _Settings] | None
    registry: tuple[str | None, dict[str, Instrument], dict[str, TierTable]] | None
    cross: tuple[list[Position], list[tuple[Position, _Spec, str]]] | None
    """The cached cross positions, when the cache was current."""


def _insufficient(
    pos: Position, margin_needed: float, fee: float, available_before: float
) -> InsufficientMargin:
    return InsufficientMargin(
        f"size: {_label(pos)} needs initial margin {margin_needed:.8g} + fee {fee:.8g}; "
        f"available balance is {available_before:.8g}"
    )


def _price(value: float) -> float | None:
    return None if math.isnan(value) else value


_NO_TABLES: dict[float, TierTable] = {}
_FEW_CROSS = 8
"""Up to this many cross positions a liquidation price sums the other symbols' figures
directly; beyond it, from the account's exact sums (the same floats, in linear time)."""


def _symbol_of(pos: Position) -> str:
    return pos.instrument.symbol


def _label(pos: Position) -> str:
    return f"{pos.symbol} {pos.leg}"


_LEGS: dict[str, Leg] = {
    **{leg.value: leg for leg in Leg},
    **{leg.value.lower(): leg for leg in Leg},
}
"""Exact spellings :func:`_parse_leg` accepts without the enum look-up."""


def _parse_leg(value: Leg | str) -> Leg:
    if type(value) is str or type(value) is Leg:
        known = _LEGS.get(value)
        if known is not None:
            return known
    return parse_choice(Leg, value.upper() if isinstance(value, str) else value, "leg")


def _positive(
    value: float,
    field: str,
    error: type[LevtradeError],
    low: float = MIN_PRICE,
    high: float = MAX_PRICE,
) -> None:
    """A price (or, with its range, an amount) where it enters: within the range every
    figure computed from it stays a normal float (:mod:`levtrade._validation`)."""
    if type(value) is float and low <= value <= high:
        return
    problem = number_problem(value, low, high)
    if problem is not None:
        raise error(f"{field}: {problem}")


def _size(value: float, field: str, error: type[LevtradeError]) -> None:
    """A signed size in contracts, of magnitude in [MIN_QUANTITY, MAX_QUANTITY]."""
    if type(value) is float and MIN_QUANTITY <= abs(value) <= MAX_QUANTITY:
        return
    problem = number_problem(value, MIN_QUANTITY, MAX_QUANTITY, signed=True)
    if problem is not None:
        raise error(f"{field}: {problem}")


def _amount(value: float, field: str, error: type[LevtradeError]) -> None:
    """An amount of money that may be 0 (a wallet, an isolated margin)."""
    if type(value) is float and 0.0 <= value <= MAX_AMOUNT:
        return
    problem = number_problem(value, 0.0, MAX_AMOUNT, zero=True)
    if problem is not None:
        raise error(f"{field}: {problem}")


def _in_unit_interval(value: float) -> bool:
    """Whether ``value`` is a number in [0, 1)."""
    return number_problem(value, 0.0, 1.0, zero=True) is None and value < 1.0
