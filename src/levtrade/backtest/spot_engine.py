"""The event-driven engine for spot and spot-margin runs (``trading_mode = "spot"`` /
``"margin"``), on the margin engine's :class:`~levtrade.margin.SpotAccount`.

It keeps the bar order of docs/backtest.md. For bar *i* (open time *t*): (1) prices move to
the open and a margin pool already at or below the venue's liquidation level is liquidated at
the open; (2) pending market orders fill at the open, exits first; interest due at *t* is
charged to the loans still open; (3) the path is walked per symbol (O→L→H→C or O→H→L→C):
stops, take-profits and the liquidation price of the symbol's pool trigger in the order the
path reaches them (liquidation first at a tie); (4) at the close the interest due within the
bar is charged, a pool pushed to liquidation by it is liquidated at the close, the series are
recorded, and the driver decides.

Orders are sized as a futures run's are — ``stake × leverage`` at the fill price — and funded
as the venue's margin account funds them:

* spot: the pool spends what it holds; only longs;
* cross margin: a long borrows ``stake × (leverage − 1)`` of the quote and spends the stake of
  its own; a short borrows ``stake × (leverage − 1)`` of the base and sells it (the venue's
  borrow level caps a short at that: 2,000 on 1,000 at Binance's 3x); exits repay from their
  proceeds;
* isolated margin: the stake moves from the spot wallet into the pair's pool, which borrows
  what the venue's auto-borrow takes; everything left returns to the wallet at the exit.

A trade's PnL is its price move on the base it held or owed, less the fees and the interest
charged to it (valued in the account currency when charged; a pool's interest in an asset is
split over its open trades by the principal each borrowed). The compiled kernel trades
futures only; ``engine="auto"`` runs spot and margin here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np
import pandas as pd

from levtrade._jit import plain
from levtrade.backtest import path
from levtrade.backtest.driver import Driver
from levtrade.backtest.market import RunData, prepare
from levtrade.backtest.metrics import compute_metrics
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
from levtrade.margin import SpotAccount, SpotLiquidation
from levtrade.margin.account import Account
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
from levtrade.model.venue import MarginLevelRule, SpotMarginProfile
from levtrade.spec import RunSpec
from levtrade.strategy.context import PositionSync
from levtrade.strategy.signals import Signals

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
_BOTH = "BOTH"
_reach_fraction = plain(path.reach_fraction)
_price_at = plain(path.price_at)
_slipped = plain(path.slipped)
_low_first = plain(path.low_first)
_path_points = plain(path.path_points)
_stop_direction = plain(path.stop_direction)
_limit_direction = plain(path.limit_direction)
SPOT_NOTE = "spot and margin runs use the event-driven engine (the compiled kernel trades futures)"
SPOT_METRICS = ("interest_paid", "min_margin_level", "max_liabilities")
"""Metrics a spot or margin run adds to the futures ones."""


@dataclass(slots=True)
class _Open:
    """What the engine keeps of an open trade besides the :class:`Trade`."""

    trade: Trade
    pool: str
    loan_asset: str | None
    """The asset the trade borrowed (quote for a long, base for a short)."""
    loan: float
    """The principal it borrowed (its share of the pool's interest)."""
    interest: float = 0.0
    """Interest charged to it so far, in the account currency."""


class SpotEngine:
    """One spot or spot-margin run of a signal ``driver`` over ``data`` (module docstring)."""

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
        self.sizes: list[dict[str, float]] = [{} for _ in self.symbols]
        self.position_views: list[PositionSync] = []
        self.pending: list[Order] = []
        self.resting: list[list[Order]] = [[] for _ in self.symbols]
        self.orders: list[Order] = []
        self.trades: list[Trade] = []
        self._interest_of: dict[int, float] = {}
        """Interest charged to each closed trade (by ``id`` of its :class:`Trade`)."""
        self.open: dict[int, _Open] = {}
        """Open trades by symbol column."""
        self._next_id = 1
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
    # The driver's side (BarEngine)
    # ========================================================================================

    @property
    def t(self) -> int:
        return int(self._timestamps[self.i])

    @property
    def account(self) -> Account:
        """A spot run has no futures account; its account is :attr:`spot`."""
        _no_futures_account()

    def marks_at_close(self) -> Account:
        _no_futures_account()

    @property
    def open_trades(self) -> dict[PositionKey, Trade]:
        """The open trades by position (one ``BOTH`` leg per symbol)."""
        return {PositionKey(s.trade.symbol, Leg.BOTH): s.trade for s in self.open.values()}

    def liquidation_price(self, column: int, leg: str, *, at_fill: bool = False) -> float | None:
        """The price of the symbol's base at which its pool reaches the venue's liquidation
        level, every other price held (None for spot, or without a loan)."""
        instrument = self.instruments[column]
        pool = self.spot.pool_for(instrument)
        if self.spot.levels(pool) is None:
            return None
        return self.spot.liquidation_price(instrument.base, pool)

    def position_entry(self, symbol: str, leg: str) -> tuple[float, float, float]:
        j = self.symbols.index(symbol)
        state = self.open.get(j)
        if state is None:
            raise StrategyError(f"position: no open position in {symbol!r}")
        trade = state.trade
        return self.sizes[j].get(_BOTH, 0.0), trade.entry_price, trade.leverage

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def make_order(
        self, symbol: str, side: str, type_: OrderType, size: float, price: float, **fields: Any
    ) -> Order:
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

    def submit(self, order: Order) -> Order:
        """Queue an order: market orders wait for the next open, the others rest."""
        self.orders.append(order)
        if order.symbol not in self.symbols:
            raise StrategyError(f"data: {order.symbol!r} is not in this run")
        j = self.symbols.index(order.symbol)
        if order.leg not in (None, _BOTH):
            raise StrategyError(f"leg: a {self.config.trading_mode} run has no hedge legs")
        if order.type is not OrderType.MARKET and not order.managed:
            if not (math.isfinite(order.price) and order.price > 0):
                raise StrategyError(
                    f"price: a {order.type} order needs a price > 0, got {order.price!r}"
                )
            order.price = self.instruments[j].round_price(order.price)
        self.driver.on_order(order)
        if order.type is OrderType.MARKET:
            self.pending.append(order)
        else:
            self.resting[j].append(order)
        return order

    def cancel(self, order: Order, reason: Reason = Reason.CANCELLED_BY_STRATEGY) -> None:
        if not order.alive:
            return
        self._unqueue(order)
        self._finish(order, OrderStatus.CANCELLED, reason, "")

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
        queue.sort(key=lambda o: not (o.reduce_only or o.close_position))
        for order in queue:
            if not order.alive:
                continue
            j = self.symbols.index(order.symbol)
            if not self.run_data.active[i, j]:
                self.pending.append(order)
                continue
            self._execute(order, float(self.run_data.open[i, j]), i, j)

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
        for order in self.resting[j]:
            if order.alive and order.type is OrderType.TRAILING_STOP and order.managed:
                self.driver.trail(order, price)

    # ========================================================================================
    # Fills
    # ========================================================================================

    def _execute(self, order: Order, base_price: float, i: int, j: int) -> None:
        inst = self.instruments[j]
        current = self.sizes[j].get(_BOTH, 0.0)
        maker = order.type in MAKER_TYPES
        slip = 0.0 if maker else self.config.slippage
        if order.close_position or order.reduce_only:
            if current == 0.0:
                self._finish(order, OrderStatus.CANCELLED, Reason.NO_POSITION, "")
                return
            price = _slipped(base_price, current < 0, slip)
            self._exit(order, inst, price, i, j, current)
            return
        if current != 0.0:
            self._reject(
                order,
                Reason.REJECTED,
                f"size: {order.symbol} has an open position; a {self.config.trading_mode} run "
                "enters a flat pair only",
            )
            return
        buy = order.side == "buy"
        if not buy and not self.margin:
            self._reject(order, Reason.REJECTED, f"side: spot is long only ({order.symbol})")
            return
        limit = self.config.max_open_trades
        if limit is not None and len(self.open) >= limit:
            self._reject(
                order,
                Reason.MAX_OPEN_TRADES,
                f"max_open_trades: {len(self.open)} positions are open (limit {limit})",
            )
            return
        price = _slipped(base_price, buy, slip)
        self._enter(order, inst, price, i, j, buy, maker)

    def _stake(self, order: Order) -> float | None:
        stake: float | str = order.stake if order.stake is not None else self.config.stake_amount
        if stake == "unlimited":
            slots = (self.config.max_open_trades or self.m) - len(self.open)
            if slots <= 0:
                self._reject(order, Reason.MAX_OPEN_TRADES, "stake_amount: no free slot")
                return None
            free = self.spot.balance(self.currency, self.spot.main_pool)
            stake = free * self.config.tradable_balance_ratio / slots
        if not (isinstance(stake, float) and stake > 0):
            self._reject(order, Reason.INSUFFICIENT_MARGIN, f"stake: {stake!r} ({order.symbol})")
            return None
        return stake

    def _enter(
        self, order: Order, inst: Instrument, price: float, i: int, j: int, buy: bool, maker: bool
    ) -> None:
        stake = self._stake(order)
        if stake is None:
            return
        leverage = order.leverage if order.leverage is not None else self.config.leverage
        if not self.margin and leverage != 1.0:
            leverage = 1.0  # a spot entry spends its stake (the signal's leverage is moot)
        # a long spends stake × leverage (borrowing stake × (leverage − 1) of the quote); a
        # short sells what it borrows, stake × (leverage − 1) of the base: the borrow level
        # caps a short at (leverage − 1) × its collateral (Binance 3x: 2,000 on 1,000)
        exposure = leverage if buy else leverage - 1.0
        if exposure <= 0.0:
            self._reject(
                order,
                Reason.LEVERAGE,
                f"leverage: a short borrows stake × (leverage − 1); {leverage!r} borrows nothing "
                f"({order.symbol})",
            )
            return
        qty = inst.round_size(stake * exposure / price)
        if not qty > 0:
            self._reject(order, Reason.SIZE, f"size: {qty!r} at {price:.8g} ({order.symbol})")
            return
        if inst.min_notional and qty * price < inst.min_notional:
            self._reject(
                order, Reason.MIN_NOTIONAL, f"size: notional {qty * price:.8g} below the minimum"
            )
            return
        spot = self.spot
        pool = spot.pool_for(inst)
        borrow: float | None = None
        loan_asset: str | None = None
        loan = 0.0
        if not self.isolated and self.margin and buy and leverage > 1.0:
            borrow = stake * (leverage - 1.0)
        loans_before = spot.loans(pool)
        try:
            result = spot.try_fill(
                inst,
                qty if buy else -qty,
                price,
                liquidity="maker" if maker else "taker",
                borrow=borrow,
                leverage=leverage if self.margin else None,
                collateral=stake if self.isolated else None,
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
            return
        loans_after = spot.loans(pool)
        for asset, amount in loans_after.items():
            grown = amount - loans_before.get(asset, 0.0)
            if grown > 0.0:
                loan_asset, loan = asset, grown
        net = spot.net(inst.base, pool) if self.margin else spot.balance(inst.base, pool)
        trade = Trade(
            symbol=order.symbol,
            leg=_BOTH,
            side="long" if buy else "short",
            entry_time=self.t,
            entry_bar=i,
            leverage=float(leverage),
            margin_mode="spot" if not self.margin else self.config.margin_mode,
        )
        held = abs(net)
        trade.size = held
        trade.entry_value = held * price
        trade.fees = result.fee * (price if result.fee_asset == inst.base else 1.0)
        self.open[j] = _Open(trade, pool, loan_asset, loan)
        self._value_entries()  # the interest charged at the borrow is the new trade's
        self.sizes[j][_BOTH] = net
        self._filled(order, i, price, qty if buy else -qty, result.fee)
        self.driver.on_trade(trade)

    def _exit(
        self, order: Order, inst: Instrument, price: float, i: int, j: int, current: float
    ) -> None:
        spot = self.spot
        state = self.open[j]
        pool = state.pool
        size = spot.close_size(inst, pool)
        if current > 0:
            size = -min(spot.balance(inst.base, pool), current)
        try:
            result = spot.try_fill(inst, size, price, liquidity="taker")
        except OrderRejected as exc:
            result = exc
        if isinstance(result, OrderRejected):
            self._reject(order, Reason.INSUFFICIENT_MARGIN, str(result))
            return
        self._settle(state, inst)
        self._value_entries()
        fee = result.fee * (price if result.fee_asset == inst.base else 1.0)
        state.trade.fees += fee
        self._filled(order, i, price, size, result.fee)
        self._close_trade(j, price, order.origin)

    def _settle(self, state: _Open, inst: Instrument) -> None:
        """After an exit: the pool's debt beyond what other open trades borrowed is repaid
        from its free balance; an isolated pool returns everything to the spot wallet."""
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
        before = {j: self.sizes[j].get(_BOTH, 0.0) for j in columns}
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
            order = self.make_order(
                inst.symbol,
                "sell" if before[j] > 0 else "buy",
                OrderType.MARKET,
                abs(before[j]),
                math.nan,
                reduce_only=True,
                close_position=True,
                origin="liquidation",
            )
            self.orders.append(order)
            self.driver.on_order(order)
            self._filled(order, i, price, -before[j], 0.0)
            self._close_trade(j, price, "liquidation")
        if self.isolated:
            for asset, amount in spot.balances(pool).items():
                if amount > 0.0:
                    spot.transfer(asset, amount, source=pool, destination=SPOT_POOL)

    def _close_trade(self, j: int, price: float, reason: str) -> None:
        state = self.open.pop(j)
        trade = state.trade
        held = trade.size
        trade.closed = held
        trade.exit_value = held * price
        sign = 1.0 if trade.is_long else -1.0
        trade.realized += sign * (trade.exit_value - trade.entry_value)
        trade.exit_time = self.t
        trade.exit_reason = reason
        trade.open = False
        self._interest_of[id(trade)] = state.interest
        self.trades.append(trade)
        self.sizes[j].pop(_BOTH, None)
        for order in list(self.resting[j]) + [o for o in self.pending if o.symbol == trade.symbol]:
            if order.alive and (order.reduce_only or order.close_position):
                self._unqueue(order)
                self._finish(order, OrderStatus.CANCELLED, Reason.POSITION_CLOSED, "")
        self.driver.on_trade(trade)

    def _filled(self, order: Order, i: int, price: float, signed: float, fee: float) -> None:
        order.fill_time = self.t
        order.fill_bar = i
        order.fill_price = price
        order.filled_size = signed
        order.fee = fee
        for sibling in order.oco:
            if sibling.alive:
                self._unqueue(sibling)
                self._finish(sibling, OrderStatus.CANCELLED, Reason.OCO, f"#{order.id}")
        self._unqueue(order)
        self._finish(order, OrderStatus.FILLED, "", "")
        for child in order.children:
            child.active = True

    def _unqueue(self, order: Order) -> None:
        if order.type is OrderType.MARKET:
            if order in self.pending:
                self.pending.remove(order)
            return
        queue = self.resting[self.symbols.index(order.symbol)]
        if order in queue:
            queue.remove(order)

    def _finish(
        self, order: Order, status: OrderStatus, reason: Reason | str, message: str
    ) -> None:
        order.status = status
        order.reason = str(reason)
        order.message = message
        self.driver.on_order(order)

    def _reject(self, order: Order, reason: Reason, message: str) -> None:
        self._unqueue(order)
        self._finish(order, OrderStatus.REJECTED, reason, message)

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
                    self._charge_interest(entry.source.removeprefix("interest_due:"), asset, value)
                elif entry.kind == "fee":
                    self.fees_value += value
                elif entry.kind == "liquidation_fee":
                    self.liquidation_fees_value += value
                elif entry.kind == "insurance_fund":
                    self.covered_value += value
            self._seen[asset] = len(ledger)

    def _charge_interest(self, pool: str, asset: str, value: float) -> None:
        borrowers = [
            s for s in self.open.values() if s.pool == pool and s.loan_asset == asset and s.loan
        ]
        total = math.fsum(s.loan for s in borrowers)
        for state in borrowers:
            state.interest += value * state.loan / total

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
            levels = spot.levels(pool)
            if levels is None:
                continue
            owed = spot.total_liabilities(pool) + spot.interest_owed(pool)
            liabilities += owed
            if owed <= 0.0:
                continue
            level = spot.margin_level(pool)
            lowest = min(lowest, level)
            # the equity at which the venue liquidates: ML = T ⇔ equity = that
            if self.venue.margin_level_rule is MarginLevelRule.EQUITY_OVER_USED_MARGIN:
                floor = levels.liquidation * spot.used_margin(pool)
            else:
                floor = (levels.liquidation - 1.0) * owed
            maintenance += floor
            pool_equity = spot.equity(pool)
            ratio = math.inf if pool_equity <= 0 else floor / pool_equity
            worst_ratio = max(worst_ratio, ratio)
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
                self._finish(order, OrderStatus.CANCELLED, Reason.END_OF_DATA, "")
        last = self.n - 1
        self.i = last
        for j in list(self.open):
            inst = self.instruments[j]
            price = float(self.run_data.close[last, j])
            if math.isnan(price):
                price = self.spot.price(inst.base)
            current = self.sizes[j].get(_BOTH, 0.0)
            order = self.make_order(
                inst.symbol,
                "sell" if current > 0 else "buy",
                OrderType.MARKET,
                abs(current),
                math.nan,
                reduce_only=True,
                close_position=True,
                origin="end_of_data",
            )
            self.orders.append(order)
            self.driver.on_order(order)
            self._exit(order, inst, price, last, j, current)
            if order.status is not OrderStatus.FILLED:
                raise BacktestError(f"end_of_data: closing {inst.symbol} failed: {order.message}")
        self._record(last)

    def result(self, analyzers: Sequence[Analyzer] = ()) -> BacktestResult:
        """The run's :class:`BacktestResult`: the futures tables, the trades with the
        interest charged to each (``pnl`` net of it), the ledger of every asset (``currency``
        names the asset), the series with the margin level, interest and liabilities, and the
        metrics with interest paid, the lowest margin level and the largest liabilities."""
        rd = self.run_data
        rows = [
            (*_trade_values(trade), self._interest_of.get(id(trade), 0.0)) for trade in self.trades
        ]
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


def _no_futures_account() -> NoReturn:
    raise StrategyError(
        "account: a spot or margin run has no futures account (its SpotAccount is the "
        "engine's `spot`); event-driven strategies run on futures"
    )


def _trade_values(trade: Trade) -> tuple[object, ...]:
    """The trade's columns of :data:`TRADE_COLUMNS` (``pnl`` before interest)."""
    return (
        trade.symbol,
        trade.leg,
        trade.side,
        trade.entry_time,
        trade.exit_time,
        trade.entry_price,
        trade.exit_price,
        trade.size,
        trade.leverage,
        trade.margin_mode,
        trade.realized - trade.fees,
        trade.fees,
        0.0,
        trade.exit_reason,
    )


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
    driver: Driver = SignalDriver(signals)
    if progress is not None:
        driver = ProgressDriver(driver, len(data), progress)
    engine = SpotEngine(data, spec, driver)
    engine.run()
    if progress is not None:
        progress.advance(len(data))
    return engine.result(analyzers)
