"""The event-driven engine for spot and spot-margin runs (``trading_mode = "spot"`` /
``"margin"``), on the margin engine's :class:`~levtrade.margin.SpotAccount`.

It runs both kinds of strategy: signal tables (the signal rules' driver) and event-driven
:class:`~levtrade.strategy.base.Strategy` classes, which trade through the same
:class:`~levtrade.strategy.context.TradingContext` port as on futures — position sizes per
symbol (the base held, or in margin owed), the account at the close
(:class:`~levtrade.strategy.accounts.SpotAccountView`), the liquidation price of a symbol's
pool, and the order model of :mod:`levtrade.model.orders` (market, limit, stop, take-profit,
trailing stop, brackets).

It keeps the bar order of docs/backtest.md. For bar *i* (open time *t*): (1) prices move to
the open and a margin pool already at or below the venue's liquidation level is liquidated at
the open; (2) pending market orders fill at the open, exits first; interest due at *t* is
charged to the loans still open; (3) the path is walked per symbol (O→L→H→C or O→H→L→C):
stops, take-profits and the liquidation price of the symbol's pool trigger in the order the
path reaches them (liquidation first at a tie); (4) at the close the interest due within the
bar is charged, a pool pushed to liquidation by it is liquidated at the close, the series are
recorded, and the driver decides.

An order sized by stake is sized as a futures run's is — ``stake × leverage`` at the fill
price; an order with a size trades that many base units. Each is funded as the venue's margin
account funds it, the order's own part being ``notional ÷ leverage`` for a long and
``notional ÷ (leverage − 1)`` for a short (for a stake-sized order: the stake):

* spot: the pool spends what it holds; only longs, at 1x;
* cross margin: a long borrows ``own × (leverage − 1)`` of the quote and spends its own part
  besides; a short borrows the base it sells (the venue's borrow level caps it: at Binance's
  3x, 2,000 on 1,000 of collateral); what an exit delivers repays the loan;
* isolated margin: the own part moves from the spot wallet into the pair's pool, which borrows
  what the venue's auto-borrow takes; everything left returns to the wallet at the exit.

A position grows with orders in its direction and shrinks with reduce-only or opposite ones;
it does not turn around in one order (a spot or margin position closes first). A trade's PnL is
its price move on the base it held or owed (average cost), less the fees and the interest
charged to it (valued in the account currency when charged; a pool's interest in an asset is
split over its open trades by the principal each borrowed). The compiled kernel trades futures
only; ``engine="auto"`` runs spot and margin here.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from levtrade._jit import plain
from levtrade.backtest import path
from levtrade.backtest.driver import Driver
from levtrade.backtest.event_driver import EventDriver
from levtrade.backtest.market import RunData, prepare
from levtrade.backtest.metrics import compute_metrics
from levtrade.backtest.order_book import OrderBook
from levtrade.backtest.progress import Progress, ProgressDriver
from levtrade.backtest.results import (
    LEDGER_COLUMNS,
    TRADE_COLUMNS,
    Analyzer,
    BacktestResult,
    ledger_frame,
    order_row,
    orders_frame,
    run_analyzers,
    run_metadata,
    series_frame,
    trade_row,
)
from levtrade.backtest.signal_exec import SignalDriver
from levtrade.data import MarketData, Portfolio
from levtrade.errors import (
    BacktestError,
    ConfigError,
    InsufficientMargin,
    LeverageError,
    OrderRejected,
    StrategyError,
)
from levtrade.margin import SpotAccount, SpotFill, SpotLiquidation
from levtrade.margin.ledger import INTEREST, SpotEntryKind
from levtrade.margin.spot import SPOT_POOL
from levtrade.model.instrument import Instrument
from levtrade.model.orders import (
    MAKER_TYPES,
    STOP_TYPES,
    Order,
    OrderStatus,
    OrderType,
    Reason,
    Trade,
)
from levtrade.model.positions import Leg, PositionKey
from levtrade.model.venue import FeeAsset, SpotMarginProfile
from levtrade.spec import RunSpec
from levtrade.strategy.accounts import SpotAccountView
from levtrade.strategy.base import Strategy
from levtrade.strategy.context import PositionSync
from levtrade.strategy.signals import Signals

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
_BOTH = "BOTH"
_reach_fraction = plain(path.reach_fraction)
_slipped = plain(path.slipped)
_trail_stop = plain(path.trail_stop)
_low_first = plain(path.low_first)
_path_points = plain(path.path_points)
_stop_direction = plain(path.stop_direction)
_limit_direction = plain(path.limit_direction)
_WHOLE = 1e-9
"""Relative shortfall below which a reduction is the whole position (lot-rounding dust)."""
SPOT_NOTE = "spot and margin runs use the event-driven engine (the compiled kernel trades futures)"
SPOT_METRICS = ("interest_paid", "min_margin_level", "max_liabilities")
"""Metrics a spot or margin run adds to the futures ones."""


@dataclass(slots=True)
class _Open:
    """What the engine keeps of an open trade besides the :class:`Trade`."""

    trade: Trade
    pool: str
    held: float
    """Signed base of the position: held (> 0) or sold short (< 0), interest owed apart."""
    entry: float
    """Average cost of :attr:`held` (what a reduction realizes its PnL against)."""
    loan_asset: str | None
    """The asset the trade borrowed (quote for a long, base for a short)."""
    loan: float
    """The principal it borrowed (its share of the pool's interest)."""
    interest: float = 0.0
    """Interest charged to it so far, in the account currency."""
    owed_interest: float = 0.0
    """Interest charged to it in the base (a short's), owed until the short is bought back."""
    owed_interest_value: float = 0.0
    """:attr:`owed_interest` valued as it was charged (part of :attr:`interest`)."""


class SpotEngine(OrderBook):
    """One spot or spot-margin run of a ``driver`` — the signal rules or a ``next()``
    strategy — over ``data`` (module docstring)."""

    def __init__(self, data: MarketData | Portfolio, spec: RunSpec, driver: Driver) -> None:
        config = spec.config
        venue = spec.spot_venue
        if venue is None:
            raise BacktestError("config: a spot engine runs trading_mode 'spot' or 'margin'")
        self.spec = spec
        self.config = config
        self.driver = driver
        self.run_data: RunData = prepare(data, config)
        rd = self.run_data
        if tuple(rd.symbols) != spec.symbols:
            raise BacktestError("symbols: the run specification and the data differ")
        self.symbols = list(rd.symbols)
        self._column = {s: j for j, s in enumerate(self.symbols)}
        self.instruments: list[Instrument] = list(spec.instruments)
        quotes = sorted({inst.quote for inst in self.instruments})
        if len(quotes) != 1:
            raise ConfigError(
                f"symbols: a spot run trades pairs of one quote currency, got {', '.join(quotes)}"
            )
        self.currency = quotes[0]
        self.venue: SpotMarginProfile = venue
        self.margin = config.trading_mode == "margin"
        self.isolated = self.margin and config.margin_mode == "isolated"
        self.n = rd.bars
        self.m = len(self.symbols)
        self.i = 0
        self.hedge = False
        self.liquidation_buffer = config.liquidation_buffer
        self._timestamps = rd.timestamps
        self.spot = SpotAccount(
            venue,
            {self.currency: config.wallet},
            currency=self.currency,
            trading_mode=config.trading_mode,
            margin_mode=config.margin_mode,
            interest_rates=config.interest_rates,
            time=int(rd.timestamps[0]),
        )
        self._view = SpotAccountView(self.spot)
        self._fee_in_base = venue.fee_asset is FeeAsset.RECEIVED
        """A buy's fee is taken in the base it delivers (Binance), so a long holds less."""
        self.sizes: list[dict[str, float]] = [{} for _ in self.symbols]
        self.position_views: list[PositionSync] = []
        self.pending: list[Order] = []
        self.resting: list[list[Order]] = [[] for _ in self.symbols]
        self.orders: list[Order] = []
        self._submitted: list[tuple[Order, float, float]] = []
        """Every order submitted, with its size and price then (see :attr:`decisions`)."""
        self.trades: list[Trade] = []
        self._interest_of: dict[int, float] = {}
        """Interest charged to each closed trade (by ``id`` of its :class:`Trade`)."""
        self.open: dict[int, _Open] = {}
        """Open trades by symbol column."""
        self._ids = itertools.count(1)
        self._seen: dict[str, int] = {}
        """Ledger rows of each asset already valued."""
        self.fees_value = 0.0
        self.interest_value = 0.0
        self.liquidation_fees_value = 0.0
        self.covered_value = 0.0
        self.liquidations: list[SpotLiquidation] = []
        n = self.n
        self._series: dict[str, FloatArray] = {
            name: np.full(n, np.nan)
            for name in (
                "equity",
                "cross_equity",
                "maintenance_margin",
                "margin_ratio",
                "wallet",
                "margin_level",
                "interest",
                "liabilities",
            )
        }
        for symbol in self.symbols:
            self._series[f"liq:{symbol}"] = np.full(n, np.nan)
            self._series[f"notional:{symbol}"] = np.zeros(n)

    # ========================================================================================
    # The strategy's side (the TradingContext port and the drivers' BarEngine)
    # ========================================================================================

    @property
    def t(self) -> int:
        return int(self._timestamps[self.i])

    @property
    def account(self) -> SpotAccountView:
        """The spot account's view (:mod:`levtrade.strategy.accounts`); prices are at the
        current close whenever a strategy runs."""
        return self._view

    def marks_at_close(self) -> SpotAccountView:
        return self._view

    @property
    def open_trades(self) -> dict[PositionKey, Trade]:
        """The open trades by position (one ``BOTH`` leg per symbol)."""
        return {PositionKey(s.trade.symbol, Leg.BOTH): s.trade for s in self.open.values()}

    def liquidation_price(self, column: int, leg: str, *, at_fill: bool = False) -> float | None:
        """The price of the symbol's base at which its pool reaches the venue's liquidation
        level, every other price held (None for spot, when flat, or without a loan)."""
        if column not in self.open:
            return None
        pool = self.open[column].pool
        if self.spot.levels(pool) is None:
            return None
        return self.spot.liquidation_price(self.instruments[column].base, pool)

    def position_entry(self, symbol: str, leg: str) -> tuple[float, float, float]:
        """(signed base held or owed, average cost, leverage) of the symbol's position."""
        state = self.open.get(self.symbols.index(symbol)) if symbol in self.symbols else None
        if state is None:
            raise StrategyError(f"position: no open position in {symbol!r}")
        return state.held, state.entry, state.trade.leverage

    def submit(self, order: Order) -> Order:
        """Check and queue an order: market orders wait for the next open, the others rest
        (good till cancelled). A size is rounded down to the lot."""
        j = self._register(order)
        mode = self.config.trading_mode
        if order.leg not in (None, _BOTH):
            raise StrategyError(f"leg: a {mode} run has no hedge legs, got {order.leg!r}")
        if order.time_in_force != "GTC" or order.trigger_direction:
            raise StrategyError(
                f"time_in_force: a {mode} run rests its orders good till cancelled, without a "
                f"trigger (got {order.time_in_force} on a {order.type} order)"
            )
        if not self._accept(order, self.instruments[j]):
            return order
        if order.type is OrderType.MARKET:
            self.pending.append(order)
        else:
            self.resting[j].append(order)
        return order

    # ========================================================================================
    # The run
    # ========================================================================================

    def run(self) -> None:
        rd = self.run_data
        self.driver.start(self)
        tf = rd.timeframe_ms
        for i in range(self.n):
            self.i = i
            t = int(rd.timestamps[i])
            self.spot.time = t
            self._set_prices(i, rd.open)
            if self.margin:
                for pool in self.spot.liquidatable_pools():
                    self._liquidate(pool, {}, i)
            if self.pending:
                self._fill_market(i)
            if self.margin:
                self._accrue(t)
            self.driver.before_path(i)
            self._walk(i)
            self._set_prices(i, rd.close)
            if self.margin:
                self._accrue(t + tf - 1)
                for pool in self.spot.liquidatable_pools():
                    self._liquidate(pool, {}, i)
            self._record(i)
            self.driver.on_close(i)
        self._end_of_data()
        self.driver.finish()

    def _set_prices(self, i: int, prices: FloatArray) -> None:
        active = self.run_data.active[i]
        for j, inst in enumerate(self.instruments):
            if active[j]:
                self.spot.set_price(inst.base, float(prices[i, j]))

    def _accrue(self, until: int) -> None:
        self.spot.accrue_interest(max(until, self.spot.time))
        self._value_entries()

    def _fill_market(self, i: int) -> None:
        queue, self.pending = self.pending, []
        # exits before entries, each in submission order
        queue.sort(key=lambda o: not self._reduces(o))
        for order in queue:
            if not order.alive:
                continue
            j = self.symbols.index(order.symbol)
            if not self.run_data.active[i, j]:
                self.pending.append(order)
                continue
            self._execute(order, float(self.run_data.open[i, j]), i, j)

    def _reduces(self, order: Order) -> bool:
        """Whether an order starts by reducing its symbol's position (exits fill first)."""
        if order.close_position or order.reduce_only:
            return True
        current = self.sizes[self.symbols.index(order.symbol)].get(_BOTH, 0.0)
        return current != 0.0 and (current > 0) != order.is_buy

    def _walk(self, i: int) -> None:
        rd = self.run_data
        for j, inst in enumerate(self.instruments):
            if not rd.active[i, j]:
                continue
            watch_liquidation = self.margin and j in self.open
            if not (self.resting[j] or watch_liquidation):
                continue
            o, h, lo, c = (float(a[i, j]) for a in (rd.open, rd.high, rd.low, rd.close))
            points = _path_points(o, h, lo, c, _low_first(o, c))
            for k in range(3):
                start, end = points[k], points[k + 1]
                self._trail(j, start)
                while True:
                    event = self._next_event(j, start, end)
                    if event is None:
                        break
                    fraction, _, order, level = event
                    price = start if fraction <= 0.0 else level
                    self.spot.set_price(inst.base, price)
                    if order is None:
                        self._liquidate(self.spot.pool_for(inst), {inst.base: price}, i)
                    else:
                        self._execute(order, price, i, j)
                    start = price
            self._trail(j, points[3])

    def _next_event(
        self, j: int, start: float, end: float
    ) -> tuple[float, int, Order | None, float] | None:
        """The first of the symbol's events on the leg ``start → end``: (fraction, rank,
        order or None for the liquidation, level)."""
        best: tuple[float, int, Order | None, float] | None = None
        inst = self.instruments[j]
        if self.margin and j in self.open:
            pool = self.spot.pool_for(inst)
            level = self.spot.liquidation_price(inst.base, pool)
            if level is not None:
                direction = self._liquidation_direction(pool, inst.base)
                fraction = _reach_fraction(start, end, level, direction)
                if fraction != path.NEVER:
                    best = (fraction, 0, None, level)
        for order in self.resting[j]:
            if not (order.alive and order.active) or math.isnan(order.price):
                continue
            buy = order.side == "buy"
            if order.type in STOP_TYPES:
                direction, rank = _stop_direction(buy), 1
            else:
                direction, rank = _limit_direction(buy), 2
            fraction = _reach_fraction(start, end, order.price, direction)
            if fraction == path.NEVER:
                continue
            if best is None or (fraction, rank) < (best[0], best[1]):
                best = (fraction, rank, order, order.price)
        return best

    def _liquidation_direction(self, pool: str, asset: str) -> int:
        """The path direction that reaches liquidation: down for a pool long the asset, up
        for one short it."""
        return -1 if self.spot.level_sign(asset, pool) > 0 else 1

    def _trail(self, j: int, price: float) -> None:
        """Move the symbol's trailing stops at a path point: the signal rules' own through
        the driver, a strategy's by its ratio or amount (they only tighten)."""
        for order in self.resting[j]:
            if not (order.alive and order.active) or order.type is not OrderType.TRAILING_STOP:
                continue
            if order.managed:
                self.driver.trail(order, price)
            else:
                order.price = _trail_stop(
                    order.price, price, not order.is_buy, order.trail_ratio, order.trail_amount
                )

    # ========================================================================================
    # Fills
    # ========================================================================================

    def _execute(self, order: Order, base_price: float, i: int, j: int) -> None:
        """Fill ``order`` at ``base_price`` (before slippage), or reject it with its reason."""
        inst = self.instruments[j]
        current = self.sizes[j].get(_BOTH, 0.0)
        maker = order.type in MAKER_TYPES
        slip = 0.0 if maker else self.config.slippage
        buy = order.is_buy
        if order.close_position:
            if current == 0.0:
                self._finish_order(order, OrderStatus.CANCELLED, Reason.NO_POSITION, "")
                return
            price = _slipped(base_price, current < 0, slip)
            self._reduce(order, inst, price, i, j, abs(current), maker)
            return
        reducing = current != 0.0 and (current > 0) != buy
        if order.reduce_only and not reducing:
            self._reject(
                order,
                Reason.REDUCE_ONLY,
                f"reduce_only: {order.side} would not reduce the {order.symbol} position "
                f"({current:g})",
            )
            return
        price = _slipped(base_price, buy, slip)
        if not reducing:
            if not buy and not self.margin:
                self._reject(order, Reason.REJECTED, f"side: spot is long only ({order.symbol})")
                return
            limit = self.config.max_open_trades
            if current == 0.0 and limit is not None and len(self.open) >= limit:
                self._reject(
                    order,
                    Reason.MAX_OPEN_TRADES,
                    f"max_open_trades: {len(self.open)} positions are open (limit {limit})",
                )
                return
            self._increase(order, inst, price, i, j, buy, maker)
            return
        qty = order.size
        if math.isnan(qty):
            sized = self._stake_size(order, inst, price, buy, reducing=True)
            if sized is None:
                return
            qty = sized[0]
        held = abs(current)
        # what a buy of qty delivers after a fee taken in the base: selling qty closes it
        delivered = qty * (1.0 - max(inst.maker_fee, inst.taker_fee))
        if self._fee_in_base and current > 0 and delivered <= held * (1.0 + _WHOLE):
            qty = min(qty, held)
        if qty > held * (1.0 + _WHOLE):
            if not order.reduce_only:
                self._reject(
                    order,
                    Reason.REJECTED,
                    f"size: {order.side} {qty:g} is more than the {order.symbol} position "
                    f"({current:g}); a {self.config.trading_mode} position closes before it "
                    "turns (close it, then enter)",
                )
                return
            qty = held
        self._reduce(order, inst, price, i, j, qty, maker)

    def _stake_size(
        self, order: Order, inst: Instrument, price: float, buy: bool, *, reducing: bool = False
    ) -> tuple[float, float, float] | None:
        """(base size, own part, leverage) of an order sized by stake: ``stake × leverage``
        of notional for a long (or a reduction), ``stake × (leverage − 1)`` for a short (what
        it borrows and sells), the stake being its own part. ``stake="all"`` stakes the free
        currency of the main pool (less the fee, where the venue takes it in the quote)."""
        leverage = self._leverage(order)
        exposure = leverage if buy or reducing else leverage - 1.0
        if exposure <= 0.0:
            self._reject(
                order,
                Reason.LEVERAGE,
                f"leverage: a short borrows stake × (leverage − 1); {leverage!r} borrows nothing "
                f"({order.symbol})",
            )
            return None
        stake: float | str = order.stake if order.stake is not None else self.config.stake_amount
        free = self.spot.balance(self.currency, self.spot.main_pool)
        if stake == "all":
            stake = free * (1.0 - 1e-12)
            if buy and self.venue.fee_asset is FeeAsset.QUOTE:
                stake /= 1.0 + leverage * inst.taker_fee
        elif stake == "unlimited":
            slots = (self.config.max_open_trades or self.m) - len(self.open)
            if slots <= 0:
                self._reject(order, Reason.MAX_OPEN_TRADES, "stake_amount: no free slot")
                return None
            stake = free * self.config.tradable_balance_ratio / slots
        if not (isinstance(stake, float) and stake > 0):
            self._reject(order, Reason.INSUFFICIENT_MARGIN, f"stake: {stake!r} ({order.symbol})")
            return None
        qty = inst.round_size(stake * exposure / price)
        if not qty > 0:
            self._reject(order, Reason.SIZE, f"size: {qty!r} at {price:.8g} ({order.symbol})")
            return None
        return qty, stake, leverage

    def _leverage(self, order: Order) -> float:
        """The order's leverage (the run's by default); 1 in spot, which does not borrow."""
        if not self.margin:
            return 1.0
        return order.leverage if order.leverage is not None else self.config.leverage

    def _increase(
        self, order: Order, inst: Instrument, price: float, i: int, j: int, buy: bool, maker: bool
    ) -> None:
        """Open or add to the symbol's position in the order's direction."""
        if math.isnan(order.size):
            sized = self._stake_size(order, inst, price, buy)
            if sized is None:
                return
            qty, own, leverage = sized
        else:
            qty, leverage = order.size, self._leverage(order)
            share = leverage if buy else leverage - 1.0
            if self.isolated and share <= 0.0:
                self._reject(
                    order,
                    Reason.LEVERAGE,
                    f"leverage: an isolated short's collateral is notional ÷ (leverage − 1); "
                    f"{leverage!r} leaves none ({order.symbol})",
                )
                return
            own = qty * price / share if share > 0.0 else qty * price
        if inst.min_notional and qty * price < inst.min_notional:
            self._reject(
                order, Reason.MIN_NOTIONAL, f"size: notional {qty * price:.8g} below the minimum"
            )
            return
        spot = self.spot
        pool = spot.pool_for(inst)
        borrow: float | None = None
        if self.margin and not self.isolated and buy and leverage > 1.0:
            borrow = own * (leverage - 1.0)
        loans_before = spot.loans(pool)
        result = self._fill(
            order,
            inst,
            qty if buy else -qty,
            price,
            maker,
            borrow=borrow,
            # a cross long borrows exactly its share; a short borrows the base it sells
            auto_borrow=not (self.margin and not self.isolated and buy),
            leverage=leverage if self.margin else None,
            collateral=own if self.isolated else None,
        )
        if result is None:
            return
        loan_asset, loan = None, 0.0
        for asset, amount in spot.loans(pool).items():
            grown = amount - loans_before.get(asset, 0.0)
            if grown > 0.0:
                loan_asset, loan = asset, grown
        received = qty - result.fee if result.fee_asset == inst.base else qty
        delta = received if buy else -qty
        state = self.open.get(j)
        opened = state is None
        if state is None:
            trade = Trade(
                symbol=order.symbol,
                leg=_BOTH,
                side="long" if buy else "short",
                entry_time=self.t,
                entry_bar=i,
                leverage=float(leverage),
                margin_mode="spot" if not self.margin else self.config.margin_mode,
            )
            state = self.open[j] = _Open(trade, pool, 0.0, price, loan_asset, 0.0)
        trade = state.trade
        held = abs(state.held)
        state.entry = (held * state.entry + abs(delta) * price) / (held + abs(delta))
        state.held += delta
        state.loan += loan
        if state.loan_asset is None:
            state.loan_asset = loan_asset
        trade.size += abs(delta)
        trade.entry_value += abs(delta) * price
        trade.fees += self._fee_value(result, inst, price)
        trade.leverage = float(leverage)
        self._value_entries()  # the interest charged at the borrow is the trade's
        self._set_size(j, state.held)
        self._filled(order, i, price, qty if buy else -qty, result.fee)
        if opened:
            self.driver.on_trade(trade)

    def _reduce(
        self, order: Order, inst: Instrument, price: float, i: int, j: int, qty: float, maker: bool
    ) -> None:
        """Reduce the symbol's position by ``qty`` base units, or close it (the whole size:
        what a long holds is sold; what a short owes, interest included, is bought back)."""
        spot = self.spot
        state = self.open[j]
        pool = state.pool
        long = state.held > 0
        whole = qty >= abs(state.held) * (1.0 - _WHOLE)
        if whole:  # all it holds net of its debt, or all it owes grossed up for the fee
            qty = abs(state.held)
            size = spot.close_size(inst, pool)
        elif long:
            size = -qty
        else:  # buy back qty of base net of a fee taken in it
            rate = inst.maker_fee if maker else inst.taker_fee
            size = qty / (1.0 - rate) if self._fee_in_base else qty
        repaid_before = spot.loan(state.loan_asset, pool) if state.loan_asset else 0.0
        result = self._fill(order, inst, size, price, maker)
        if result is None:
            return
        trade = state.trade
        trade.fees += self._fee_value(result, inst, price)
        self._book_reduction(state, qty, price)
        if whole:
            self._settle(state)
            self._value_entries()
            self._filled(order, i, price, size, result.fee)
            self._close_trade(j, order.origin)
            return
        if state.loan_asset is not None:
            repaid = repaid_before - spot.loan(state.loan_asset, pool)
            state.loan = max(0.0, state.loan - repaid)
        self._value_entries()
        self._set_size(j, state.held)
        self._filled(order, i, price, size, result.fee)

    def _fill(
        self,
        order: Order,
        inst: Instrument,
        size: float,
        price: float,
        maker: bool,
        **options: Any,
    ) -> SpotFill | None:
        """Book a fill on the account; None (the order rejected with its reason) when the
        account refuses it."""
        try:
            result = self.spot.try_fill(
                inst, size, price, liquidity="maker" if maker else "taker", **options
            )
        except OrderRejected as exc:
            result = exc
        if isinstance(result, OrderRejected):
            reason = (
                Reason.LEVERAGE
                if isinstance(result, LeverageError)
                else Reason.INSUFFICIENT_MARGIN
                if isinstance(result, InsufficientMargin)
                else Reason.REJECTED
            )
            self._reject(order, reason, str(result))
            return None
        return result

    def _fee_value(self, result: SpotFill, inst: Instrument, price: float) -> float:
        """A fill's fee in the account currency (a fee in the base at the fill price)."""
        return result.fee * (price if result.fee_asset == inst.base else 1.0)

    def _book_reduction(self, state: _Open, qty: float, price: float) -> None:
        """``qty`` of the position closed at ``price``: its PnL against the average cost.
        When that closes it, a short's interest owed in the base is bought back with it:
        interest counts at its value when charged, so the price move of what was owed since
        is PnL too (the trade's PnL then adds up to the cash it moved)."""
        trade = state.trade
        sign = 1.0 if state.held > 0 else -1.0
        trade.closed += qty
        trade.exit_value += qty * price
        trade.realized += sign * qty * (price - state.entry)
        state.held -= sign * qty
        if state.held == 0.0 and state.owed_interest:
            trade.realized += state.owed_interest_value - state.owed_interest * price

    def _set_size(self, j: int, size: float) -> None:
        """Record the symbol's position size and bring the strategy's views up to date."""
        if size == 0.0:
            self.sizes[j].pop(_BOTH, None)
        else:
            self.sizes[j][_BOTH] = size
        for view in self.position_views:
            view.sync()

    def _settle(self, state: _Open) -> None:
        """After a whole exit: the pool's debt beyond what other open trades borrowed is
        repaid from its free balance; an isolated pool returns everything to the spot
        wallet."""
        spot = self.spot
        pool = state.pool
        if not self.margin:
            return
        others: dict[str, float] = {}
        for other in self.open.values():
            if other is not state and other.pool == pool and other.loan_asset is not None:
                others[other.loan_asset] = others.get(other.loan_asset, 0.0) + other.loan
        for asset in list(spot.ledgers):
            excess = spot.debt(asset, pool) - others.get(asset, 0.0)
            free = spot.balance(asset, pool)
            if excess > 1e-12 and free > 0.0:
                spot.repay(asset, min(excess, free), pool=pool)
        if self.isolated and not spot.loans(pool) and spot.interest_owed(pool) == 0.0:
            for asset, amount in spot.balances(pool).items():
                if amount > 0.0:
                    spot.transfer(asset, amount, source=pool, destination=SPOT_POOL)

    def _liquidate(self, pool: str, prices: dict[str, float], i: int) -> None:
        spot = self.spot
        if not spot.liquidatable(pool):
            return
        columns = [j for j, state in self.open.items() if state.pool == pool]
        exits = {j: prices.get(self.instruments[j].base) for j in columns}
        before = {j: self.open[j].held for j in columns}
        result = spot.liquidate(
            pool, prices=prices or None, slippage=self.config.liquidation_slippage
        )
        self.liquidations.append(result)
        self._value_entries()
        gross = {j: abs(before[j]) * spot.price(self.instruments[j].base) for j in columns}
        total = math.fsum(gross.values()) or 1.0
        for j in columns:
            inst = self.instruments[j]
            given = exits[j]
            at = spot.price(inst.base) if given is None else given
            price = _slipped(at, before[j] < 0, self.config.liquidation_slippage)
            state = self.open[j]
            share = gross[j] / total
            state.trade.fees += result.fee * spot.price(self.currency) * share
            state.trade.realized += result.insurance_fund * spot.price(self.currency) * share
            self._book_reduction(state, abs(before[j]), price)
            order = self._closing_order(inst.symbol, before[j], "liquidation")
            self._filled(order, i, price, -before[j], 0.0)
            self._close_trade(j, "liquidation")
        if self.isolated:
            for asset, amount in spot.balances(pool).items():
                if amount > 0.0:
                    spot.transfer(asset, amount, source=pool, destination=SPOT_POOL)

    def _close_trade(self, j: int, reason: str) -> None:
        """The symbol's trade is over (its reductions booked): record it, cancel the exits
        still waiting for it."""
        state = self.open.pop(j)
        trade = state.trade
        trade.exit_time = self.t
        trade.exit_reason = reason
        trade.open = False
        self._interest_of[id(trade)] = state.interest
        self.trades.append(trade)
        self._set_size(j, 0.0)
        for order in list(self.resting[j]) + [o for o in self.pending if o.symbol == trade.symbol]:
            if order.alive and (order.reduce_only or order.close_position):
                self._unqueue(order)
                self._finish_order(order, OrderStatus.CANCELLED, Reason.POSITION_CLOSED, "")
        self.driver.on_trade(trade)

    def _filled(self, order: Order, i: int, price: float, signed: float, fee: float) -> None:
        order.fill_time = self.t
        order.fill_bar = i
        order.fill_price = price
        order.filled_size = signed
        order.fee = fee
        self._unqueue(order)
        self._complete(order)

    def _unqueue(self, order: Order) -> None:
        if order in self.pending:
            self.pending.remove(order)
            return
        queue = self.resting[self.symbols.index(order.symbol)]
        if order in queue:
            queue.remove(order)

    def _reject(self, order: Order, reason: Reason, message: str) -> None:
        self._unqueue(order)
        self._finish_order(order, OrderStatus.REJECTED, reason, message)

    # ========================================================================================
    # Money: fees, interest, liquidation outcomes, valued as they are posted
    # ========================================================================================

    def _value_entries(self) -> None:
        """Value the ledger rows posted since the last call at the current prices: interest
        (split over the open trades that borrowed the asset), fees, liquidation fees and what
        the venue covered."""
        spot = self.spot
        for asset, ledger in spot.ledgers.items():
            seen = self._seen.get(asset, 0)
            if len(ledger) == seen:
                continue
            price = spot.price(asset)
            for entry in ledger.since(seen):
                value = entry.amount * price
                if entry.kind is SpotEntryKind.INTEREST and entry.destination == INTEREST:
                    self.interest_value += value
                    pool = entry.source.removeprefix("interest_due:")
                    self._charge_interest(pool, asset, entry.amount, price)
                elif entry.kind == "fee":
                    self.fees_value += value
                elif entry.kind == "liquidation_fee":
                    self.liquidation_fees_value += value
                elif entry.kind == "insurance_fund":
                    self.covered_value += value
            self._seen[asset] = len(ledger)

    def _charge_interest(self, pool: str, asset: str, amount: float, price: float) -> None:
        """Split an interest charge of ``amount`` of ``asset`` over the pool's open trades
        that borrowed it, by principal."""
        borrowers = [
            s for s in self.open.values() if s.pool == pool and s.loan_asset == asset and s.loan
        ]
        total = math.fsum(s.loan for s in borrowers)
        for state in borrowers:
            share = amount * state.loan / total
            state.interest += share * price
            if asset != self.currency:
                state.owed_interest += share
                state.owed_interest_value += share * price

    # ========================================================================================
    # Series, end of data, result
    # ========================================================================================

    def _record(self, i: int) -> None:
        spot = self.spot
        columns = self._series
        equity = spot.total_equity()
        columns["equity"][i] = equity
        main = spot.main_pool
        columns["cross_equity"][i] = spot.equity(main)
        columns["wallet"][i] = spot.balance(self.currency, main)
        columns["interest"][i] = self.interest_value
        liabilities = 0.0
        maintenance = 0.0
        worst_ratio = 0.0
        lowest = math.inf
        for pool in spot.pools:
            if spot.levels(pool) is None:
                continue
            owed = spot.total_liabilities(pool) + spot.interest_owed(pool)
            liabilities += owed
            if owed <= 0.0:
                continue
            lowest = min(lowest, spot.margin_level(pool))
            maintenance += spot.liquidation_equity(pool)
            worst_ratio = max(worst_ratio, spot.margin_ratio(pool))
        columns["liabilities"][i] = liabilities
        columns["maintenance_margin"][i] = maintenance
        columns["margin_ratio"][i] = worst_ratio
        columns["margin_level"][i] = lowest if math.isfinite(lowest) else math.nan
        for j, inst in enumerate(self.instruments):
            if j not in self.open:
                continue
            pool = self.open[j].pool
            columns[f"notional:{inst.symbol}"][i] = spot.net(inst.base, pool) * spot.price(
                inst.base
            )
            if self.margin:
                lp = spot.liquidation_price(inst.base, pool)
                columns[f"liq:{inst.symbol}"][i] = math.nan if lp is None else lp

    def _end_of_data(self) -> None:
        for order in list(self.pending) + [o for q in self.resting for o in q]:
            if order.alive:
                self._unqueue(order)
                self._finish_order(order, OrderStatus.CANCELLED, Reason.END_OF_DATA, "")
        last = self.n - 1
        self.i = last
        for j in list(self.open):
            inst = self.instruments[j]
            price = float(self.run_data.close[last, j])
            if math.isnan(price):
                price = self.spot.price(inst.base)
            current = self.sizes[j].get(_BOTH, 0.0)
            order = self._closing_order(inst.symbol, current, "end_of_data")
            self._reduce(order, inst, price, last, j, abs(current), False)
            if order.status is not OrderStatus.FILLED:
                raise BacktestError(f"end_of_data: closing {inst.symbol} failed: {order.message}")
        self._record(last)

    def result(self, analyzers: Sequence[Analyzer] = ()) -> BacktestResult:
        """The run's :class:`BacktestResult`: the futures tables, the trades with the
        interest charged to each (``pnl`` net of it), the ledger of every asset (``currency``
        names the asset), the series with the margin level, interest and liabilities, and the
        metrics with interest paid, the lowest margin level and the largest liabilities."""
        rd = self.run_data
        rows = [(*trade_row(trade), self._interest_of.get(id(trade), 0.0)) for trade in self.trades]
        trades = _spot_trades(rows)
        frames = [ledger_frame(ledger) for ledger in self.spot.ledgers.values() if len(ledger)]
        ledger = (
            pd.concat(frames, ignore_index=True).sort_values("time", kind="stable")
            if frames
            else pd.DataFrame({c: [] for c in LEDGER_COLUMNS})
        ).reset_index(drop=True)
        series = series_frame(rd.timestamps, self._series)
        config = self.config
        metrics = compute_metrics(
            series, trades, ledger.iloc[0:0], initial=config.wallet, timeframe_ms=rd.timeframe_ms
        )
        levels = series["margin_level"].to_numpy(dtype=np.float64)
        finite = levels[np.isfinite(levels)]
        metrics["fees"] = self.fees_value
        metrics["liquidation_fees"] = self.liquidation_fees_value
        metrics["insurance_fund"] = -self.covered_value
        metrics["interest_paid"] = self.interest_value
        metrics["min_margin_level"] = float(finite.min()) if finite.size else math.nan
        metrics["max_liabilities"] = float(np.nanmax(series["liabilities"].to_numpy()))
        metadata = run_metadata("event", rd, self.venue.name, -self.covered_value)
        metadata["trading_mode"] = config.trading_mode
        metadata["notes"] = [SPOT_NOTE]
        result = BacktestResult(
            trades=trades,
            orders=orders_frame(order_row(o) for o in self.orders),
            ledger=ledger,
            series=series,
            metrics=metrics,
            config=config,
            metadata=metadata,
            spec=self.spec,
            spot_account=self.spot,
        )
        run_analyzers(result, analyzers)
        return result


def _spot_trades(rows: list[tuple[object, ...]]) -> pd.DataFrame:
    """The trades table with an ``interest`` column, ``pnl`` net of it."""
    columns = (*TRADE_COLUMNS, "interest")
    frame = pd.DataFrame(rows, columns=list(columns))
    for name in ("entry_time", "exit_time"):
        frame[name] = frame[name].astype(np.int64)
    for name in ("entry_price", "exit_price", "size", "leverage", "pnl", "fees", "funding"):
        frame[name] = frame[name].astype(np.float64)
    frame["interest"] = frame["interest"].astype(np.float64)
    frame["pnl"] = frame["pnl"] - frame["interest"]
    return frame


def run_spot_signals(
    data: MarketData | Portfolio,
    signals: Signals,
    spec: RunSpec,
    *,
    progress: Progress | None = None,
    analyzers: Sequence[Analyzer] = (),
) -> BacktestResult:
    """Execute a signal table in a spot or spot-margin account (module docstring). A margin
    run needs an interest rate for every asset it may borrow: the quote, and the bases when the
    rules allow shorts."""
    if spec.config.trading_mode == "margin" and spec.spot_venue is not None:
        borrowed = {inst.quote for inst in spec.instruments}
        if signals.rules.can_short:
            borrowed |= {inst.base for inst in spec.instruments}
        known = {**spec.spot_venue.interest_rates, **spec.config.interest_rates}
        missing = sorted(borrowed - set(known))
        if missing:
            raise ConfigError(
                f"interest_rates: no {spec.spot_venue.name} rate for {', '.join(missing)}; a "
                "margin run borrows them (give a rate per asset, per interest period)"
            )
    return _simulate(data, spec, SignalDriver(signals), progress, analyzers)


def run_spot_strategy(
    strategy: type[Strategy],
    data: MarketData | Portfolio,
    spec: RunSpec,
    *,
    params: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    analyzers: Sequence[Analyzer] = (),
) -> BacktestResult:
    """Run an event-driven :class:`Strategy` in a spot or spot-margin account: the class
    that runs on futures, through the same port (module docstring). An asset it borrows needs
    an interest rate (``interest_rates``); a borrow without one stops the run with that
    error."""
    return _simulate(data, spec, EventDriver(strategy, params), progress, analyzers)


def _simulate(
    data: MarketData | Portfolio,
    spec: RunSpec,
    driver: Driver,
    progress: Progress | None,
    analyzers: Sequence[Analyzer],
) -> BacktestResult:
    if progress is not None:
        driver = ProgressDriver(driver, len(data), progress)
    engine = SpotEngine(data, spec, driver)
    engine.run()
    if progress is not None:
        progress.advance(len(data))
    return engine.result(analyzers)
