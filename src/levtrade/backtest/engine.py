"""The event-driven engine: one bar at a time, in the order of docs/backtest.md.

For bar *i* (open time *t*): (1) funding settles for positions held at a funding time; a pool
whose liquidation price the mark opens beyond is liquidated at the mark open (the path's first
point, where liquidation wins ties); (2) pending market orders fill at the open, exits first;
(3) the path is walked, resting orders and liquidations triggering in the order it reaches
them (:mod:`levtrade.backtest.path`); (4) at the close the series are recorded and the driver
(a ``next()`` strategy or the signal rules) decides.

Every balance change goes through the :class:`~levtrade.margin.Account`. For speed, a bar
where nothing can happen costs a few comparisons: each pool's liquidation price is cached and
recomputed only after the account changes, marks are pushed to the account only when an
action needs them, and the equity/margin series are computed after the run from the account
state recorded at each change. Runs of such bars under a ``next()`` strategy go through a
short loop that only tests the liquidation price, stops at funding times and calls ``next()``
(:meth:`Engine._quiet_bars`).
"""

from __future__ import annotations

import gc
import itertools
import math
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from levtrade._jit import plain
from levtrade.backtest import path
from levtrade.backtest.driver import Driver
from levtrade.backtest.event_driver import EventDriver
from levtrade.backtest.market import FineData, RunData, prepare
from levtrade.backtest.order_book import OrderBook
from levtrade.backtest.progress import Progress, ProgressDriver
from levtrade.backtest.results import (
    Analyzer,
    BacktestResult,
    deferred_result,
    ledger_frame,
    order_row,
    orders_frame,
    run_metadata,
    series_frame,
    trade_row,
    trades_frame,
)
from levtrade.backtest.signal_exec import SignalDriver
from levtrade.data import MarketData, Portfolio
from levtrade.errors import (
    BacktestError,
    InsufficientMargin,
    LeverageError,
    OrderRejected,
    StrategyError,
)
from levtrade.margin import (
    CROSS_POOL,
    Account,
    FillResult,
    LiquidationResult,
    PositionKey,
    contracts,
    formulas,
    vectorised,
)
from levtrade.margin.account import Position
from levtrade.margin.funding import settlement_price
from levtrade.margin.tiers import TierTable
from levtrade.model.instrument import Instrument
from levtrade.model.orders import (
    MAKER_TYPES,
    STOP_TYPES,
    TIME_IN_FORCE,
    Order,
    OrderStatus,
    OrderType,
    Reason,
    Trade,
)
from levtrade.model.positions import Leg, MarginMode, PositionMode
from levtrade.spec import BacktestConfig, RunSpec, resolve
from levtrade.strategy.base import Strategy
from levtrade.strategy.context import PositionSync
from levtrade.strategy.signals import Signals

FloatArray = NDArray[np.float64]
_F = TypeVar("_F")
_T = TypeVar("_T")
NEVER = path.NEVER
_OPEN, _CLOSE = 0, 1
_LEGS = {leg.value: leg for leg in Leg}
_LEG_NAME = {leg: leg.value for leg in Leg}
"""``Leg`` member → its name, without the enum's ``value`` descriptor."""
_CROSS = MarginMode.CROSS
_MARKET, _TRAILING = OrderType.MARKET, OrderType.TRAILING_STOP
_BOTH, _LONG, _SHORT = Leg.BOTH.value, Leg.LONG.value, Leg.SHORT.value
_SUBMITTED, _FILLED = OrderStatus.SUBMITTED, OrderStatus.FILLED


_reach_fraction = plain(path.reach_fraction)
_price_at = plain(path.price_at)
_slipped = plain(path.slipped)
_participation_slippage = plain(path.participation_slippage)
_trail_stop = plain(path.trail_stop)
_low_first = plain(path.low_first)
_path_points = plain(path.path_points)
_stop_direction = plain(path.stop_direction)
_limit_direction = plain(path.limit_direction)
_LINEAR_FUNDING = plain(formulas.funding_payment)
_INVERSE_FUNDING = plain(formulas.inverse_funding_payment)
_LINEAR_NOTIONAL = plain(formulas.linear_notional)
_INVERSE_NOTIONAL = plain(formulas.inverse_notional)
_LINEAR_UPNL = plain(formulas.linear_upnl)
_INVERSE_UPNL = plain(formulas.inverse_upnl)
_SERIES_BLOCK = 1 << 16
"""Bars per block of :meth:`Engine.series`."""
# liquidation, then stop-type orders, then limit-type orders at one fraction of a leg
_RANK_LIQUIDATION, _RANK_STOP, _RANK_LIMIT = 0, 1, 2


def _view(array: np.ndarray[Any, Any]) -> Any:
    """A memoryview of a contiguous copy: indexing gives Python scalars without numpy
    boxing, the cheapest per-bar read."""
    return memoryview(np.ascontiguousarray(array))  # type: ignore[arg-type]


@contextmanager
def _frozen_heap() -> Iterator[None]:
    """Keep the cyclic garbage collector off the objects that exist before a run (or its
    result) while it lasts (:func:`gc.freeze`), and unfreeze them after.

    A run keeps what it allocates (orders, trades, ledger rows) to its end, so the collector
    promotes it and soon runs a full collection, which traverses every tracked object of the
    process: with pandas and Numba loaded, mostly objects the run never touches, at a cost
    that grows with the process rather than the run. Frozen, those are skipped. Nothing is
    frozen when the collector is off or the caller has frozen objects itself.
    """
    if not gc.isenabled() or gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _collected(build: Callable[[], _T]) -> Callable[[], _T]:
    """``build`` run under :func:`_frozen_heap`: a result's table is built after the run,
    from as many rows as the run kept."""

    def frozen() -> _T:
        with _frozen_heap():
            return build()

    return frozen


def _direction(order: Order) -> int:
    """``order.direction`` (the path trigger direction), with the plain path functions."""
    if order.type in STOP_TYPES:
        return _stop_direction(order.side == "buy")
    return _limit_direction(order.side == "buy")


@dataclass(slots=True)
class _Watch:
    """A pool whose liquidation the path tests: an isolated position, or the cross legs of
    the only symbol the cross pool holds."""

    j: int
    pool: str | PositionKey
    price: float
    direction: int


class Engine(OrderBook):
    """One backtest run over ``data`` with ``config``; ``driver`` decides at each close."""

    def __init__(
        self,
        data: MarketData | Portfolio | RunData,
        config: BacktestConfig | RunSpec,
        driver: Driver,
        *,
        fine: FineData | None = None,
        account: Account | None = None,
        order_ids: Iterator[int] | None = None,
    ) -> None:
        """``data`` may be prepared already (one collateral pool's columns of a run);
        ``account`` is then the pool's own and ``order_ids`` the run's one id sequence
        (:mod:`levtrade.backtest.scoped`). Otherwise the engine opens its account from the
        config and numbers its orders from 1."""
        if not isinstance(config, BacktestConfig | RunSpec):
            raise BacktestError(f"config: expected a BacktestConfig, got {type(config).__name__}")
        settings = config.config if isinstance(config, RunSpec) else config
        self.data = data
        self.run_data: RunData = (
            data if isinstance(data, RunData) else prepare(data, settings, fine)
        )
        rd = self.run_data
        self.spec = spec = resolve(config, rd.symbols)
        self.config = config = spec.config
        self.driver = driver
        self.symbols = rd.symbols
        self.n = rd.bars
        self.m = rd.width
        self.venue = spec.venue
        self.instruments: list[Instrument] = list(spec.instruments)
        self._column = {s: j for j, s in enumerate(self.symbols)}
        self.hedge = config.position_mode == "hedge"
        self.liquidation_buffer = config.liquidation_buffer
        self.account = (
            account
            if account is not None
            else Account(
                self.venue,
                config.wallet,
                position_mode=config.position_mode,
                tier_provider=spec.tier_table,
                default_leverage=config.leverage,
                default_margin_mode=config.margin_mode,
                time=int(rd.timestamps[0]),
            )
        )
        for instrument in self.instruments:
            self.account.register(instrument)
        self._mm_tables = [self._mm_table(inst) for inst in self.instruments]

        def cols(array: FloatArray) -> list[Sequence[float]]:
            return [_view(array[:, j]) for j in range(self.m)]

        self._open, self._low, self._high = cols(rd.open), cols(rd.low), cols(rd.high)
        self._close = cols(rd.close)
        self._mo, self._mh = cols(rd.mark_open), cols(rd.mark_high)
        self._ml, self._mc = cols(rd.mark_low), cols(rd.mark_close)
        self._active: list[Sequence[bool]] = [_view(rd.active[:, j]) for j in range(self.m)]
        funding_bar = np.asarray(rd.funding.any(axis=1))
        self._funding_bar: Sequence[bool] = _view(funding_bar)
        self._funding_bars: list[int] = np.flatnonzero(funding_bar).tolist()
        """The bars funding settles at, in order (where a quiet stretch must stop)."""
        self._ts: Sequence[int] = _view(rd.timestamps)
        self._fund: list[Sequence[bool]] = [_view(rd.funding[:, j]) for j in range(self.m)]
        self._rate, self._oracle = cols(rd.funding_rate), cols(rd.oracle_open)
        self._volume = cols(rd.volume)
        self._slippage = config.slippage
        self._volume_slippage = config.volume_slippage
        self._participation = config.participation
        self._max_open_trades = config.max_open_trades
        self._keys: list[dict[str, PositionKey]] = [
            {leg.value: PositionKey(symbol, leg) for leg in Leg} for symbol in self.symbols
        ]
        """Per symbol, the key of each leg (by the leg's name)."""
        self._funders: list[Any] = [
            _INVERSE_FUNDING if inst.is_inverse else _LINEAR_FUNDING for inst in self.instruments
        ]
        self._notionals: list[Any] = [
            _INVERSE_NOTIONAL if inst.is_inverse else _LINEAR_NOTIONAL for inst in self.instruments
        ]
        """Per symbol, ``instrument.notional`` as ``f(size, contract_size, price)``: the plain
        formula (the instrument's method goes through Numba's dispatch)."""
        self._upnls: list[Any] = [
            _INVERSE_UPNL if inst.is_inverse else _LINEAR_UPNL for inst in self.instruments
        ]
        """Per symbol, ``instrument.upnl`` as ``f(size, contract_size, entry, price)``."""
        self._always_active = [bool(rd.active[:, j].all()) for j in range(self.m)]
        """Per symbol, whether it has every bar of the run."""
        self._last_active = [
            self.n - 1 - int(rd.active[::-1, j].argmax()) if rd.active[:, j].any() else -1
            for j in range(self.m)
        ]

        self.i = -1
        self._next_bar = 0
        self._stop = self.n
        self._started = self._finished = False
        self.orders: list[Order] = []
        self.pending: list[Order] = []
        self.resting: list[list[Order]] = [[] for _ in range(self.m)]
        self.n_resting = 0
        self.open_trades: dict[PositionKey, Trade] = {}
        self.trades: list[Trade] = []
        self.liquidations: list[LiquidationResult] = []
        self.sizes: list[dict[str, float]] = [{} for _ in range(self.m)]
        """Per symbol, the signed size of each open leg (kept in step with the account)."""
        self.position_views: list[PositionSync] = []
        """The strategy's position views, brought up to date at each refresh."""
        self.n_positions = 0
        self._watches: list[list[_Watch]] = [[] for _ in range(self.m)]
        self._watch_list: list[_Watch] = []
        self._reach: list[tuple[Sequence[bool], Sequence[float], Sequence[float], float, int]] = []
        """Per watch: (active, mark low, mark high, price, direction) of its symbol."""
        self._lps: dict[str | PositionKey, float] = {}
        """Liquidation price of each watched pool."""
        self._refreshed: list[Position] = []
        """The positions at the last refresh."""
        self._size_slots: list[tuple[dict[str, float], str]] = []
        self._pools: list[tuple[int, str | PositionKey, PositionKey, int, list[Position]]] = []
        """Per pool the path tests: (symbol column, pool, a position key of it, liquidation
        direction or 0 when it depends on the price, its legs)."""
        self._cross_multi = False
        self._stale = False
        self._dirty = True
        self._marks_at: tuple[int, int] | None = None
        self._snap_bars: list[int] = []
        self._snap_wallets: list[float] = []
        """The account state recorded after each change (a snapshot): bar, cross wallet ..."""
        self._snap_first: list[int] = []
        self._leg_snap: list[int] = []
        self._leg_key: list[tuple[int, str]] = []
        self._leg_state: list[float] = []
        """... and per open position (flat over the snapshots, from ``_snap_first[k]`` for
        snapshot k): its snapshot, (symbol column, leg), and 5 numbers: size, entry price,
        isolated (1.0/0.0), isolated margin, liquidation price."""
        self._multi_lps: dict[int, dict[str, float]] = {}
        self._ids = itertools.count(1) if order_ids is None else order_ids
        self._submitted: list[tuple[Order, float, float]] = []
        """Every order submitted, with its size and price then (see :attr:`decisions`)."""
        self._exposed = False
        self._ledger_length = len(self.account.ledger)
        """Ledger length at the last change, kept once the strategy has seen the account."""

    @property
    def t(self) -> int:
        """Open time (ms) of the current bar (of the first bar before the run): read from the
        timestamps when asked, not stored at every bar."""
        i = self.i
        return self._ts[i if i >= 0 else 0]

    # ========================================================================================
    # The run
    # ========================================================================================

    def run(self) -> None:
        """Walk every bar, then close what is open at the last close."""
        with _frozen_heap():
            self._run(self.n)
            self.finish()

    def run_until(self, bar: int) -> None:
        """Walk the bars before ``bar`` that are not walked yet, and stop after ``bar − 1``'s
        close: the run resumes from there at the next call. Orders submitted in between are
        decided at that close (a market order fills at ``bar``'s open). Nothing is closed at
        the end of the data: :meth:`finish` does that."""
        self._run(max(self._next_bar, min(bar, self.n)))

    @property
    def next_bar(self) -> int:
        """The first bar not walked yet (``n`` when the run has walked every bar)."""
        return self._next_bar

    def finish(self) -> None:
        """Close what is still open at the last close of the data and end the run (once)."""
        if self._finished:
            return
        if self._next_bar < self.n:
            self._run(self.n)
        self._finished = True
        self._end_of_data()
        self.driver.finish()

    def account_changed(self) -> None:
        """Tell the engine that the account was changed from outside between bars (a margin
        transfer, a leverage or mode change): its cached liquidation prices are recomputed."""
        self._changed()

    def _run(self, stop: int) -> None:
        driver = self.driver
        if not self._started:
            self._started = True
            driver.start(self)
        funding_bar = self._funding_bar
        driver_close = driver.on_close
        before_path = None if getattr(driver, "no_before_path", False) else driver.before_path
        ledger = self.account.ledger
        # a strategy's next() is called here directly (EventDriver.on_close, inlined)
        events = (
            driver
            if isinstance(driver, EventDriver) and type(driver).on_close is EventDriver.on_close
            else None
        )
        if events is not None:
            clock, strategy, minperiod = events.clock, events.strategy, events.minperiod
        quiet = events if before_path is None else None
        self._stop = stop
        i = self._next_bar
        while i < stop:
            self.i = i
            # `reach`: the bar's mark range reaches a cached liquidation price (or fills at
            # the open changed the positions): only then is the path walked for them
            reach = False
            if self.n_positions:
                if funding_bar[i]:
                    self._funding(i)
                if self._stale:
                    self._refresh()
                if self._cross_multi:
                    reach = True
                else:
                    for active, low, high, price, direction in self._reach:
                        if active[i] and (
                            (direction < 0 and low[i] <= price)
                            or (direction > 0 and high[i] >= price)
                        ):
                            reach = True
                            break
                if reach:
                    self._open_liquidations(i)
            if self.pending:
                self._fill_market(i)
                reach = True
            if before_path is not None:
                before_path(i)
            if self.n_resting or self._cross_multi or (reach and self.n_positions):
                self._walk(i)
            if self._dirty:
                self._snapshot(i)
            elif self._cross_multi:
                self._record_multi_lps(i)
            if self._stale:
                self._refresh()
            if events is not None:
                clock.i = i
                if events.queue:
                    events.deliver()
                if i >= minperiod:
                    strategy.next()
                else:
                    strategy.prenext()
            else:
                driver_close(i)
            if self._exposed and len(ledger) != self._ledger_length:
                self._changed()
            i += 1
            if quiet is not None:
                i = self._quiet_bars(i, quiet)
        self._next_bar = i

    def _quiet_bars(self, start: int, events: EventDriver) -> int:
        """Run the bars from ``start`` on which only the strategy has anything to do, while
        they stay so, and return the first bar the full step of :meth:`_run` must take.

        A bar is quiet when no order waits or rests, the account is as last refreshed and
        recorded, and with a position open, no funding settles and the mark range stays clear
        of the cached liquidation price: the full step then only calls ``next()``, so this
        loop does just that, without re-testing what a quiet bar cannot change. It stops
        before a bar that needs the full step, and after a ``next()`` that made one needed
        (an order, a notification, a change to the account).
        """
        if (
            self.pending
            or self.n_resting
            or self._cross_multi
            or self._stale
            or self._dirty
            or events.queue
            or start < events.minperiod
        ):
            return start
        reach = self._reach
        positions = self.n_positions
        watched = positions and len(reach) == 1
        if positions and len(reach) > 1:
            return start
        if watched:
            ((active, low, high, price, direction),) = reach
            level = low if direction < 0 else high
            below = direction < 0
            gaps = not self._always_active[self._watch_list[0].j]
        # with a position open the stretch ends at the next funding time (and always where
        # the walk is to stop)
        stop = self._stop
        if positions:
            funding = self._funding_bars
            k = bisect_left(funding, start)
            if k < len(funding) and funding[k] < stop:
                stop = funding[k]
        clock, strategy = events.clock, events.strategy
        ledger = self.account.ledger
        for i in range(start, stop):
            if (
                watched
                and (level[i] <= price if below else level[i] >= price)
                and (not gaps or active[i])
            ):
                return i
            self.i = i
            clock.i = i
            strategy.next()
            # (next() cannot leave the account stale or unrecorded: only _changed() does, which
            # strategy code reaches through the ledger test below)
            if self.pending or self.n_resting or events.queue:
                return i + 1
            if self._exposed and len(ledger) != self._ledger_length:
                self._changed()
                return i + 1
        return stop

    # -- step 1: funding ---------------------------------------------------------------------
    def _funding(self, i: int) -> None:
        account = self.account
        venue = self.venue
        trades = self.open_trades
        for j, sizes in enumerate(self.sizes):
            if not sizes or not self._fund[j][i]:
                continue
            symbol = self.symbols[j]
            mark = self._mo[j][i]
            oracle = self._oracle[j][i]
            known = oracle if math.isfinite(oracle) else None
            account.set_mark(symbol, mark, oracle=known)
            self._marks_at = None
            price = settlement_price(venue, mark, known)
            rate = self._rate[j][i]
            payment = self._funders[j]
            contract_size = self.instruments[j].contract_size
            keys = self._keys[j]
            for leg, size in sizes.items():
                trades[keys[leg]].funding += payment(size, contract_size, price, rate)
            account.settle_funding(symbol, rate, price=price, time=self.t)
            self._changed()

    # -- the open: pools past their liquidation price ------------------------------------------
    def _open_liquidations(self, i: int) -> None:
        if self._stale:
            self._refresh()
        if self._cross_multi:
            self._set_marks(i, _OPEN)
            if self.account.liquidatable:
                prices = {
                    self.symbols[j]: self._mo[j][i]
                    for j in self._cross_symbols()
                    if self._active[j][i]
                }
                self._liquidate(CROSS_POOL, prices, prices)
        for j in range(self.m):
            if not self._active[j][i]:
                continue
            mark = self._mo[j][i]
            prices = {self.symbols[j]: mark}
            while True:
                hit = next(
                    (
                        w
                        for w in self._watches[j]
                        if _reach_fraction(mark, mark, w.price, w.direction) == 0.0
                    ),
                    None,
                )
                if hit is None or not self._liquidate(hit.pool, prices, prices):
                    break
                if self._stale:
                    self._refresh()

    # -- step 2: market orders at the open ------------------------------------------------------
    def _fill_market(self, i: int) -> None:
        column, active = self._column, self._active
        ready: list[Order] = []
        waiting: list[Order] = []
        for o in self.pending:
            (ready if active[column[o.symbol]][i] else waiting).append(o)
        if not ready:
            return
        self.pending = waiting
        if len(ready) > 1:
            ready.sort(key=lambda o: (0 if self._reduces(o) else 1, o.id))
        self._set_marks(i, _OPEN)
        for order in ready:
            if order.status is _SUBMITTED:
                j = column[order.symbol]
                if order.type is _MARKET:
                    self._execute(order, self._open[j][i], i, j)
                else:
                    self._limit_at_open(order, self._open[j][i], i, j)

    def _limit_at_open(self, order: Order, price: float, i: int, j: int) -> None:
        """An IOC/FOK/GTX limit at the first open after it was placed (orders.py)."""
        reached = price <= order.price if order.is_buy else price >= order.price
        if order.time_in_force == "GTX":
            if reached:
                self._finish_order(order, OrderStatus.EXPIRED, Reason.POST_ONLY, "")
            else:
                self.resting[j].append(order)
                self.n_resting += 1
        elif reached:
            self._execute(order, price, i, j, taker=True)
        else:
            self._finish_order(order, OrderStatus.EXPIRED, Reason.NOT_REACHED, "")

    def _reduces(self, order: Order) -> bool:
        """Whether a market order starts by reducing its leg (exits fill before entries)."""
        if order.close_position or order.reduce_only:
            return True
        current = self.sizes[self._column[order.symbol]].get(self._leg(order), 0.0)
        return current != 0.0 and (current > 0) != order.is_buy

    # -- step 3: the path ----------------------------------------------------------------------
    def _walk(self, i: int) -> None:
        if self._stale:
            self._refresh()
        if self.m == 1:  # (a cross pool over several symbols needs several)
            if self._active[0][i] and self._may_trigger(i, 0):
                self._walk_symbol(i, 0, only_open=False)
            return
        walk = [j for j in range(self.m) if self._active[j][i] and self._may_trigger(i, j)]
        if self._cross_multi:
            for j in walk:
                self._walk_symbol(i, j, only_open=True)
            self._adverse_extremes(i)
            walk = [j for j in range(self.m) if self._active[j][i] and self._may_trigger(i, j)]
        for j in walk:
            self._walk_symbol(i, j, only_open=False)

    def _may_trigger(self, i: int, j: int) -> bool:
        """Cheap test: can anything on symbol j happen inside bar i? A resting order only
        when the trade range reaches its level (a trailing stop moves: always)."""
        trade_low, trade_high = self._low[j][i], self._high[j][i]
        low, high = self._ml[j][i], self._mh[j][i]
        for order in self.resting[j]:
            trigger = order.trigger_direction
            if trigger:
                lo, hi = (low, high) if order.mark_trigger else (trade_low, trade_high)
                if lo <= order.trigger_price if trigger < 0 else hi >= order.trigger_price:
                    return True
            elif order.mark_trigger:
                if low <= order.price if _direction(order) < 0 else high >= order.price:
                    return True
            elif order.type is _TRAILING or (
                trade_low <= order.price if _direction(order) < 0 else trade_high >= order.price
            ):
                return True
        for watch in self._watches[j]:
            if (watch.direction < 0 and low <= watch.price) or (
                watch.direction > 0 and high >= watch.price
            ):
                return True
        return False

    def _adverse_extremes(self, i: int) -> None:
        """Multi-symbol cross pool: test every cross position at its adverse mark extreme —
        of the bar, or of each finer step in time order when the run has sub-bars, the pool
        liquidated at the first step whose extremes break it."""
        if self._stale:
            self._refresh()
        if not self._cross_multi:
            return
        self._set_marks(i, _OPEN)
        columns = [j for j in self._cross_symbols() if self._active[j][i]]
        longs = {j: sum(self._cross_sizes(j)) > 0 for j in columns}
        for step in self._adverse_steps(i, columns):
            prices = {self.symbols[j]: low if longs[j] else high for j, (low, high) in step.items()}
            for symbol, price in prices.items():
                self.account.set_mark(symbol, price)
            self._marks_at = None
            if self.account.liquidatable:
                self._liquidate(CROSS_POOL, prices, prices)
                break
        self._set_marks(i, _OPEN)

    def _adverse_steps(self, i: int, columns: list[int]) -> list[dict[int, tuple[float, float]]]:
        """Each symbol's (mark low, mark high) per step of bar i: one step of the bars' own
        extremes, or with sub-bars one per finer open time of any symbol — a symbol's sub-bar
        at that time, in a gap its last sub-bar's close (its bar's mark open before the
        first), and its whole bar's extremes at every step when it has no sub-bars."""
        subs = self.run_data.sub_bars
        fine = {
            j: (sub, int(sub.start[i]), int(sub.end[i]))
            for j in columns
            if (sub := subs[j]) is not None and sub.end[i] > sub.start[i]
        }
        whole = {j: (self._ml[j][i], self._mh[j][i]) for j in columns}
        if not fine:
            return [whole]
        times = np.unique(np.concatenate([s.timestamps[a:b] for s, a, b in fine.values()]))
        held = {j: (self._mo[j][i], self._mo[j][i]) for j in fine}
        steps = []
        for t in times:
            step = dict(whole)
            for j, (sub, start, end) in fine.items():
                k = start + int(np.searchsorted(sub.timestamps[start:end], t))
                if k < end and sub.timestamps[k] == t:
                    step[j] = (float(sub.mark_low[k]), float(sub.mark_high[k]))
                    held[j] = (float(sub.mark_close[k]), float(sub.mark_close[k]))
                else:
                    step[j] = held[j]
            steps.append(step)
        return steps

    def _legs(self, i: int, j: int) -> list[tuple[float, float, float, float, bool]]:
        """(trade start, trade end, mark start, mark end, opens a (sub-)bar) of each leg."""
        rd = self.run_data
        sub = rd.sub_bars[j]
        if sub is not None and sub.end[i] > sub.start[i]:
            bars = [
                (
                    (sub.open[k], sub.high[k], sub.low[k], sub.close[k]),
                    (sub.mark_open[k], sub.mark_high[k], sub.mark_low[k], sub.mark_close[k]),
                )
                for k in range(int(sub.start[i]), int(sub.end[i]))
            ]
        else:
            bars = [
                (
                    (self._open[j][i], self._high[j][i], self._low[j][i], self._close[j][i]),
                    (self._mo[j][i], self._mh[j][i], self._ml[j][i], self._mc[j][i]),
                )
            ]
        legs = []
        for (o, h, lo, c), (mo, mh, ml, mc) in bars:
            lows_first = _low_first(float(o), float(c))
            tp = _path_points(float(o), float(h), float(lo), float(c), lows_first)
            mp = _path_points(float(mo), float(mh), float(ml), float(mc), lows_first)
            for k in range(3):
                legs.append((tp[k], tp[k + 1], mp[k], mp[k + 1], k == 0))
        return legs

    def _walk_symbol(self, i: int, j: int, *, only_open: bool) -> None:
        """Walk symbol j's path; with ``only_open``, only the events at its first point."""
        touched = False
        unconfirmed: set[str | PositionKey] = set()
        exhausted: set[int] = set()
        """Orders that filled their share of this bar's volume (partial fills)."""
        participation = self._participation
        for ts0, te0, ms0, me0, opens_bar in self._legs(i, j):
            f0 = 0.0
            opened = not opens_bar
            while True:
                if self._stale:
                    self._refresh()
                st = _price_at(ts0, te0, f0)
                sm = _price_at(ms0, me0, f0)
                best_f, best_rank, best_id = NEVER, 3, 0
                best: _Watch | Order | None = None
                for watch in self._watches[j]:
                    if watch.pool in unconfirmed:
                        continue
                    fr = _reach_fraction(sm, me0, watch.price, watch.direction)
                    if fr != NEVER:
                        f = f0 + (1.0 - f0) * fr
                        if f < best_f or (f == best_f and best_rank > _RANK_LIQUIDATION):
                            best_f, best_rank, best = f, _RANK_LIQUIDATION, watch
                for order in self.resting[j]:
                    if not order.active or (exhausted and order.id in exhausted):
                        continue
                    trigger = order.trigger_direction
                    if trigger:  # a stop-limit or take-profit-limit before its trigger
                        if order.mark_trigger:
                            fr = _reach_fraction(sm, me0, order.trigger_price, trigger)
                        else:
                            fr = _reach_fraction(st, te0, order.trigger_price, trigger)
                    elif order.mark_trigger:
                        fr = _reach_fraction(sm, me0, order.price, _direction(order))
                    else:
                        fr = _reach_fraction(st, te0, order.price, _direction(order))
                    if fr == NEVER:
                        continue
                    f = f0 + (1.0 - f0) * fr
                    rank = _RANK_STOP if trigger or order.type in STOP_TYPES else _RANK_LIMIT
                    if (
                        f < best_f
                        or (f == best_f and rank < best_rank)
                        or (f == best_f and rank == best_rank and order.id < best_id)
                    ):
                        best_f, best_rank, best_id, best = f, rank, order.id, order
                if not opened and (best is None or best_f > 0.0):
                    if only_open:
                        return
                    self._trail(j, ts0)
                    opened = True
                    continue
                if best is None:
                    break
                touched = True
                gap = best_f == f0
                if isinstance(best, _Watch):
                    mark = sm if gap else best.price
                    prices = {self.symbols[j]: mark}
                    if not self._liquidate(best.pool, prices, prices):
                        unconfirmed.add(best.pool)
                elif best.trigger_direction:  # triggered: a limit at its price from here
                    best.trigger_direction = 0
                    best.mark_trigger = False
                else:
                    self._set_marks(i, _OPEN)
                    self.account.set_mark(self.symbols[j], _price_at(ms0, me0, best_f))
                    self._marks_at = None
                    if best.mark_trigger:  # the trade price where the mark reached it
                        price = st if gap else _price_at(ts0, te0, best_f)
                    else:
                        price = st if gap else best.price
                    self.resting[j].remove(best)
                    self.n_resting -= 1
                    if participation is not None and best.type in MAKER_TYPES:
                        if not self._fill_share(best, price, i, j, participation):
                            self.resting[j].append(best)
                            self.n_resting += 1
                            exhausted.add(best.id)
                    else:
                        self._execute(best, price, i, j)
                f0 = best_f
            self._trail(j, te0)
        if touched:
            self.account.set_mark(self.symbols[j], self._mo[j][i])
            self._marks_at = None

    def _trail(self, j: int, price: float) -> None:
        """Move the trailing stops of symbol j at a path point."""
        for order in self.resting[j]:
            if order.type is not OrderType.TRAILING_STOP or not order.active:
                continue
            if order.managed:
                self.driver.trail(order, price)
            else:
                order.price = _trail_stop(
                    order.price, price, not order.is_buy, order.trail_ratio, order.trail_amount
                )

    # ========================================================================================
    # Orders
    # ========================================================================================

    def position_entry(self, symbol: str, leg: str) -> tuple[float, float, float]:
        position = self.account.position((symbol, leg))
        return position.size, position.entry_price, position.leverage

    def submit(self, order: Order) -> Order:
        """Check and queue an order: market orders wait for the next open, the others rest."""
        j = self._register(order)
        if not self._accept(order, self.instruments[j]):
            return order
        if order.type is _MARKET:
            self.pending.append(order)
        elif order.time_in_force != "GTC":
            if order.type is not OrderType.LIMIT or order.time_in_force not in TIME_IN_FORCE:
                raise StrategyError(
                    f"time_in_force: {order.time_in_force!r} is for limit orders (GTC, IOC, FOK, "
                    f"GTX), got it on a {order.type} order"
                )
            self.pending.append(order)
        else:
            self.resting[j].append(order)
            self.n_resting += 1
        return order

    def _unqueue(self, order: Order) -> None:
        if order.type is OrderType.MARKET or order in self.pending:
            if order in self.pending:
                self.pending.remove(order)
            return
        queue = self.resting[self._column[order.symbol]]
        if order in queue:
            queue.remove(order)
            self.n_resting -= 1

    def _reject(self, order: Order, reason: Reason, message: str) -> None:
        self._finish_order(order, OrderStatus.REJECTED, reason, message)

    def _leg(self, order: Order) -> str:
        if not self.hedge:
            return _BOTH
        if order.leg is not None:
            return order.leg
        if order.reduce_only or order.close_position:
            return _LONG if order.side != "buy" else _SHORT
        return _LONG if order.side == "buy" else _SHORT

    def _execute(self, order: Order, base: float, i: int, j: int, *, taker: bool = False) -> None:
        """Fill ``order`` at ``base`` (before slippage), or reject it with its reason; ``taker``
        fills a limit order as a taker (an IOC/FOK limit at the open)."""
        instrument = self.instruments[j]
        leg = self._leg(order) if self.hedge else _BOTH
        current = self.sizes[j].get(leg, 0.0)
        # = order.liquidity == "maker", not order.slips
        maker = not taker and order.type in MAKER_TYPES
        if order.close_position:
            if current == 0.0:
                self._finish_order(order, OrderStatus.CANCELLED, Reason.NO_POSITION, "")
                return
            signed = -current
        else:
            size = order.size
            if math.isnan(size):
                sized = self._stake_size(order, instrument, base, j, leg)
                if sized is None:
                    return
                size = sized
            signed = size if order.side == "buy" else -size
            if order.reduce_only:
                if current == 0.0 or (current > 0) == (signed > 0):
                    self._reject(
                        order,
                        Reason.REDUCE_ONLY,
                        f"reduce_only: {order.side} {size:g} would not reduce the "
                        f"{order.symbol} {leg} position ({current:g})",
                    )
                    return
                if abs(signed) > abs(current):
                    signed = -current
        reducing = current != 0.0 and (current > 0) != (signed > 0)
        opening = abs(signed) - (min(abs(signed), abs(current)) if reducing else 0.0)
        limit = self._max_open_trades
        if current == 0.0 and limit is not None and self.n_positions >= limit:
            self._reject(
                order,
                Reason.MAX_OPEN_TRADES,
                f"max_open_trades: {self.n_positions} positions are open (limit {limit})",
            )
            return
        price = base
        if not maker and (self._slippage or self._volume_slippage):  # (no slippage: base)
            slip = _participation_slippage(
                self._slippage,
                self._volume_slippage,
                abs(signed) * instrument.contract_size,
                self._volume[j][i],
            )
            price = _slipped(base, signed > 0, slip)
        if opening > 0 and instrument.min_notional > 0:
            notional = self._notionals[j](opening, instrument.contract_size, price)
            if notional < instrument.min_notional:
                self._reject(
                    order,
                    Reason.MIN_NOTIONAL,
                    f"size: notional {notional:.8g} is below the minimum "
                    f"{instrument.min_notional:g} ({order.symbol})",
                )
                return
        # try_fill returns a rejection rather than raising it: strategies that keep ordering
        # what they cannot afford make rejections as common as fills
        try:
            result: FillResult | OrderRejected = self.account.try_fill(
                instrument,
                signed,
                price,
                leg=leg,
                leverage=order.leverage,
                liquidity="maker" if maker else "taker",
                time=self.t,
            )
        except OrderRejected as exc:  # a size or price the account refuses outright
            result = exc
        if isinstance(result, OrderRejected):
            if isinstance(result, InsufficientMargin):
                self._reject(order, Reason.INSUFFICIENT_MARGIN, str(result))
            elif isinstance(result, LeverageError):
                self._reject(order, Reason.LEVERAGE, str(result))
            else:
                self._reject(order, Reason.BANKRUPT, str(result))
            return
        order.fill_time = self.t
        order.fill_bar = i
        order.fill_price = price
        order.filled_size = signed
        order.fee = result.fee
        order.realized_pnl = result.realized_pnl
        self._changed()
        self._book_fill(order, result, instrument, i, j)
        self._complete(order)

    def _fill_share(self, order: Order, price: float, i: int, j: int, share: float) -> bool:
        """Fill a resting maker order at ``price`` up to ``share`` of bar i's volume (in
        contracts, rounded down to the lot); True when the order has ended (filled, or
        refused), False when the rest of it rests on. Each part books its own fill; the
        order's fill price is their volume-weighted average."""
        instrument = self.instruments[j]
        cs = instrument.contract_size
        done = abs(order.filled_size)
        if order.close_position or math.isnan(order.size):  # sized at the fill: fills whole
            self._execute(order, price, i, j)
            return True
        remaining = order.size - done
        cap = instrument.round_size(share * self._volume[j][i] / cs)
        if not math.isfinite(cap) or cap <= 0.0:
            return False
        if remaining <= cap and done == 0.0:
            self._execute(order, price, i, j)
            return True
        part = min(remaining, cap)
        leg = self._leg(order) if self.hedge else _BOTH
        current = self.sizes[j].get(leg, 0.0)
        signed = part if order.is_buy else -part
        if order.reduce_only:
            if current == 0.0 or (current > 0) == (signed > 0):
                self._reject(order, Reason.REDUCE_ONLY, "reduce_only: no position left to reduce")
                return True
            if abs(signed) > abs(current):
                signed = -current
        result = self.account.try_fill(
            instrument, signed, price, leg=leg, leverage=order.leverage, liquidity="maker",
            time=self.t,
        )  # fmt: skip
        if isinstance(result, OrderRejected):
            reason = (
                Reason.INSUFFICIENT_MARGIN if isinstance(result, InsufficientMargin) else
                Reason.LEVERAGE if isinstance(result, LeverageError) else Reason.BANKRUPT
            )  # fmt: skip
            self._reject(order, reason, str(result))
            return True
        filled = done + abs(signed)
        order.fill_price = price if done == 0.0 else (
            (order.fill_price * done + price * abs(signed)) / filled
        )  # fmt: skip
        order.filled_size += signed
        order.fee += result.fee
        order.realized_pnl += result.realized_pnl
        order.fill_time = self.t
        order.fill_bar = i
        self._changed()
        self._book_fill(order, result, instrument, i, j)
        if order.size - filled <= 1e-9 * order.size or not order.alive:  # (lot sums' dust)
            if order.alive:
                self._complete(order)
            return True
        self.driver.on_order(order)  # a part filled: the order is still live
        return False

    def _stake_size(
        self, order: Order, instrument: Instrument, base: float, j: int, leg: str
    ) -> float | None:
        """Contracts for an order sized by stake: ``stake × leverage / price`` at the fill
        price with the fixed slippage, rounded down to the lot. ``stake="all"`` spends the
        whole available balance on initial margin plus the entry fee:
        ``available × L / (price·cs·(1 + L·fee))`` (less 1e-12 so rounding cannot overdraw)."""
        config = self.config
        account = self.account
        symbol = self.symbols[j]
        key = leg if self.hedge else None
        leverage = order.leverage
        if leverage is None:
            leverage = account.leverage(symbol, key)
        maker = order.type in MAKER_TYPES
        is_buy = order.side == "buy"
        price = base if maker else _slipped(base, is_buy, config.slippage)
        stake: float | str = order.stake if order.stake is not None else config.stake_amount
        if stake == "all":
            return self._all_in_size(order, instrument, price, leverage, j, key, maker, is_buy)
        if stake == "unlimited":
            slots = (config.max_open_trades or self.m * (2 if self.hedge else 1)) - self.n_positions
            if slots <= 0:
                self._reject(
                    order,
                    Reason.MAX_OPEN_TRADES,
                    f"stake_amount: 'unlimited' with no free slot ({self.n_positions} open)",
                )
                return None
            stake = account.available_balance * config.tradable_balance_ratio / slots
        assert isinstance(stake, float)
        if not stake > 0:
            self._reject(
                order,
                Reason.INSUFFICIENT_MARGIN,
                f"stake: {stake:.8g} of available balance for {order.symbol}",
            )
            return None
        cs = instrument.contract_size
        size = instrument.round_size(stake * leverage / self._notionals[j](1.0, cs, price))
        return self._at_least_a_lot(order, instrument, size, price)

    def _all_in_size(
        self,
        order: Order,
        instrument: Instrument,
        price: float,
        leverage: float,
        j: int,
        key: str | None,
        maker: bool,
        is_buy: bool,
    ) -> float | None:
        """The largest size the available balance A pays for: per contract the initial
        margin (at the mark for cross, at the price for isolated), the fee, and for cross the
        new position's uPnL at the mark: ``A / cost`` (less 1e-12 so rounding cannot
        overdraw). With mark = price it is ``A·L / (price·cs·(1 + L·fee))``."""
        account = self.account
        symbol = self.symbols[j]
        notional = self._notionals[j]
        cs = instrument.contract_size
        rate = instrument.maker_fee if maker else instrument.taker_fee
        at_price = notional(1.0, cs, price)
        if account.margin_mode(symbol, key) is _CROSS:
            mark = account.mark_price(symbol)
            unit = 1.0 if is_buy else -1.0
            cost = (
                notional(1.0, cs, mark) / leverage
                + rate * at_price
                - self._upnls[j](unit, cs, price, mark)
            )
        else:
            cost = at_price / leverage + rate * at_price
        available = account.available_balance
        if not (available > 0 and cost > 0):
            self._reject(
                order,
                Reason.INSUFFICIENT_MARGIN,
                f"stake: 'all' of an available balance of {available:.8g} ({order.symbol})",
            )
            return None
        size = instrument.round_size(available * (1.0 - 1e-12) / cost)
        return self._at_least_a_lot(order, instrument, size, price)

    def _at_least_a_lot(
        self, order: Order, instrument: Instrument, size: float, price: float
    ) -> float | None:
        if not size > 0:
            self._reject(
                order,
                Reason.SIZE,
                f"size: {size!r} at {price:.8g} is below one lot ({instrument.lot_size!r}) of "
                f"{order.symbol}",
            )
            return None
        return size

    # ========================================================================================
    # Trades and liquidations
    # ========================================================================================

    def _book_fill(
        self, order: Order, result: FillResult, instrument: Instrument, i: int, j: int
    ) -> None:
        key = result.key
        price = result.price
        leg = _LEG_NAME[key.leg]
        rate = instrument.maker_fee if order.type in MAKER_TYPES else instrument.taker_fee
        close_fee = 0.0
        if result.closed:
            trade = self.open_trades[key]
            close_fee = rate * self._notionals[j](result.closed, instrument.contract_size, price)
            trade.closed += abs(result.closed)
            trade.exit_value += abs(result.closed) * price
            trade.realized += result.realized_pnl
            trade.fees += close_fee
            if result.position is None or (result.position.size > 0) != trade.is_long:
                self._close_trade(key, order.origin)
        position = result.position
        if position is None:
            self.sizes[j].pop(leg, None)
        else:
            self.sizes[j][leg] = position.size
        if result.opened and position is not None:
            trade_or_none = self.open_trades.get(key)
            if trade_or_none is None:
                trade = Trade(
                    symbol=key.symbol,
                    leg=leg,
                    side=position.side,
                    entry_time=self.t,
                    entry_bar=i,
                    leverage=position.leverage,
                    margin_mode=str(position.margin_mode),
                )
                self.open_trades[key] = trade
                opened_now = True
            else:
                trade = trade_or_none
                opened_now = False
            trade.size += abs(result.opened)
            trade.entry_value += abs(result.opened) * price
            trade.fees += result.fee - close_fee
            trade.leverage = position.leverage
            if opened_now:
                self.driver.on_trade(trade)
        self.n_positions = sum(map(len, self.sizes))

    def _close_trade(self, key: PositionKey, reason: str) -> None:
        trade = self.open_trades.pop(key)
        trade.exit_time = self.t
        trade.exit_reason = reason
        trade.open = False
        self.trades.append(trade)
        j = self._column[key.symbol]
        if self.resting[j] or self.pending:
            waiting = list(self.resting[j]) + [o for o in self.pending if o.symbol == key.symbol]
            leg = _LEG_NAME[key.leg]
            for order in waiting:
                closes = order.reduce_only or order.close_position
                if order.alive and closes and self._leg(order) == leg:
                    self._unqueue(order)
                    self._finish_order(order, OrderStatus.CANCELLED, Reason.POSITION_CLOSED, "")
        self.driver.on_trade(trade)

    def _liquidate(
        self, pool: str | PositionKey, marks: Mapping[str, float], prices: Mapping[str, float]
    ) -> bool:
        """Liquidate a pool that the marks put at or past its liquidation price; execute at
        ``prices``. The outcome model decides the trader's result (docs/margin.md). False
        when the account does not confirm the trigger (nothing happens)."""
        account = self.account
        self._set_marks(self.i, _OPEN)
        for symbol, mark in marks.items():
            account.set_mark(symbol, mark)
        self._marks_at = None
        if not self._triggered(pool, marks):
            return False
        result = account.liquidate(
            pool, prices=prices, slippage=self.config.liquidation_slippage, time=self.t
        )
        self.liquidations.append(result)
        outcome = -result.trader_loss
        weights = [
            contracts.notional(
                self.instruments[self._column[leg.key.symbol]],
                leg.size_closed,
                leg.execution_price,
            )
            for leg in result.legs
        ]
        total_weight = math.fsum(weights)
        rest = outcome - result.realized_pnl
        for leg, weight in zip(result.legs, weights, strict=True):
            trade = self.open_trades[leg.key]
            share = rest * weight / total_weight if total_weight > 0 else rest / len(weights)
            trade.realized += leg.realized_pnl + share
            trade.closed += abs(leg.size_closed)
            trade.exit_value += abs(leg.size_closed) * leg.execution_price
            j = self._column[leg.key.symbol]
            name = leg.key.leg.value
            remaining = self.sizes[j].get(name, 0.0) - leg.size_closed
            if account.has_position(leg.key.symbol, leg.key.leg):
                self.sizes[j][name] = remaining
            else:
                self.sizes[j].pop(name, None)
                for order in list(self.resting[j]):
                    if order.alive and self._leg(order) == name:
                        self._unqueue(order)
                        self._finish_order(order, OrderStatus.CANCELLED, Reason.LIQUIDATION, "")
                self._close_trade(leg.key, "liquidation")
        self.n_positions = sum(map(len, self.sizes))
        self._changed()
        return True

    def _triggered(self, pool: str | PositionKey, marks: Mapping[str, float]) -> bool:
        """The account's trigger test at the marks; a mark exactly at the liquidation price can
        miss it by rounding, so it is nudged by up to a millionth in the adverse direction."""
        account = self.account

        def test() -> bool:
            if pool == CROSS_POOL:
                return account.liquidatable
            assert isinstance(pool, PositionKey)
            return account.has_position(pool.symbol, pool.leg) and account.is_liquidatable(pool)

        if test():
            return True
        for step in (1e-12, 1e-10, 1e-8, 1e-6):
            for symbol, mark in marks.items():
                j = self._column[symbol]
                net = sum(self.sizes[j].values())
                account.set_mark(symbol, mark * (1.0 - step if net > 0 else 1.0 + step))
            if test():
                return True
        for symbol, mark in marks.items():
            account.set_mark(symbol, mark)
        return False

    def close_at(
        self,
        symbol: str,
        leg: str,
        price: float,
        *,
        origin: str,
        fee_rate: float | None = None,
    ) -> Order:
        """Close the whole position of ``symbol``'s ``leg`` now, at exactly ``price`` (no
        slippage), with ``fee_rate`` (default: the taker fee): a venue closing a position
        itself between bars, as auto-deleveraging does."""
        j = self._column[symbol]
        current = self.sizes[j].get(leg, 0.0)
        if current == 0.0:
            raise OrderRejected(f"position: {symbol} {leg} has no open position to close")
        instrument = self.instruments[j]
        order = self._closing_order(symbol, current, origin, leg=leg if self.hedge else None)
        result = self.account.try_fill(
            instrument, -current, price, leg=leg, fee_rate=fee_rate, time=self.t
        )
        self._marks_at = None
        if isinstance(result, OrderRejected):
            self._reject(order, Reason.BANKRUPT, str(result))
            return order
        i = max(self.i, 0)
        order.fill_time = self.t
        order.fill_bar = i
        order.fill_price = price
        order.filled_size = -current
        order.fee = result.fee
        order.realized_pnl = result.realized_pnl
        self._changed()
        self._book_fill(order, result, instrument, i, j)
        self._finish_order(order, _FILLED, "", "")
        return order

    def set_position_mode(self, mode: str) -> None:
        """Switch between one-way and hedge mode, as a venue allows it: only with no position
        open and no order waiting."""
        if mode not in ("one_way", "hedge"):
            raise StrategyError(f"position_mode: must be 'one_way' or 'hedge', got {mode!r}")
        if self.n_positions or self.pending or self.n_resting:
            raise OrderRejected("position_mode: positions or orders are open")
        self.account.position_mode = PositionMode(mode)
        self.hedge = mode == "hedge"
        self._changed()

    def force_liquidation(self, symbol: str, leg: str, mark: float) -> LiquidationResult | None:
        """Liquidate the pool holding ``symbol``'s ``leg`` with the mark at ``mark`` (a venue's
        forced liquidation, a wick the data does not show): None when the account does not
        find the pool liquidatable at that mark."""
        j = self._column[symbol]
        if leg not in self.sizes[j]:
            raise OrderRejected(f"position: {symbol} {leg} has no open position")
        key = self._keys[j][leg]
        pool: str | PositionKey = key if self.account.position(key).is_isolated else CROSS_POOL
        count = len(self.liquidations)
        self._liquidate(pool, {symbol: mark}, {symbol: mark})
        self._marks_at = None
        return self.liquidations[-1] if len(self.liquidations) > count else None

    # ========================================================================================
    # Cached account state
    # ========================================================================================

    def _changed(self) -> None:
        self._stale = True
        self._dirty = True
        if self._exposed:
            self._ledger_length = len(self.account.ledger)

    def _cross_symbols(self) -> list[int]:
        return sorted({self._column[p.symbol] for p in self.account.positions if not p.is_isolated})

    def _cross_sizes(self, j: int) -> list[float]:
        symbol = self.symbols[j]
        return [p.size for p in self.account.positions if p.symbol == symbol and not p.is_isolated]

    def _refresh(self) -> None:
        """Recompute the liquidation price of every pool the path tests.

        The pools follow from the open positions (symbol, leg, size, margin mode); when those
        are as at the last refresh (only balances changed: funding, a fill that left the
        size), the pools are kept and only their prices are recomputed."""
        account = self.account
        positions = account.positions
        previous = self._refreshed
        same = len(positions) == len(previous)
        if same:
            for p, q in zip(positions, previous, strict=True):
                if p is not q and (
                    p.size != q.size
                    or p.leg is not q.leg
                    or p.margin_mode is not q.margin_mode
                    or p.instrument.symbol != q.instrument.symbol
                ):
                    same = False
                    break
        if same:
            # the sizes as the account has them (the same as at the last refresh)
            for sizes in self.sizes:
                sizes.clear()
            for (sizes, name), p in zip(self._size_slots, positions, strict=True):
                sizes[name] = p.size
        else:
            self._restructure(positions)
        self._refreshed = positions
        for view in self.position_views:
            view.sync()
        m = self.m
        watches: list[list[_Watch]] = [[]] if m == 1 else [[] for _ in range(m)]
        for j, pool, key, direction, legs in self._pools:
            price = account.liquidation_price(key)
            if price is None:
                continue
            if not direction:
                direction = self._cross_direction(j, legs, price)
            watches[j].append(_Watch(j, pool, price, direction))
        watch_list: list[_Watch] = watches[0] if m == 1 else []
        if m > 1:
            for ws in watches:
                watch_list.extend(ws)
        lps: dict[str | PositionKey, float] = {}
        reach = []
        active, low, high = self._active, self._ml, self._mh
        for w in watch_list:
            lps[w.pool] = w.price
            j = w.j
            reach.append((active[j], low[j], high[j], w.price, w.direction))
        self._watches = watches
        self._watch_list = watch_list
        self._reach = reach
        self._lps = lps
        self._stale = False

    def _restructure(self, positions: list[Position]) -> None:
        """The sizes and the pools (what :meth:`_refresh` prices) of ``positions``."""
        all_sizes = self.sizes
        for sizes in all_sizes:
            sizes.clear()
        column = self._column
        slots = []
        pools: list[tuple[int, str | PositionKey, PositionKey, int, list[Position]]] = []
        cross: dict[int, list[Position]] = {}
        for p in positions:
            j = column[p.instrument.symbol]
            name = _LEG_NAME[p.leg]
            all_sizes[j][name] = p.size
            slots.append((all_sizes[j], name))
            if p.margin_mode is not _CROSS:
                key = p.key
                pools.append((j, key, key, -1 if p.size > 0.0 else 1, [p]))
            else:
                legs = cross.get(j)
                if legs is None:
                    cross[j] = [p]
                else:
                    legs.append(p)
        self.n_positions = len(positions)
        self._cross_multi = len(cross) > 1
        if len(cross) == 1:
            ((j, legs),) = cross.items()
            # a single leg's side is fixed; hedged legs' side depends on the price (0)
            direction = (-1 if legs[0].size > 0.0 else 1) if len(legs) == 1 else 0
            pools.append((j, CROSS_POOL, legs[0].key, direction, legs))
        self._size_slots = slots
        self._pools = pools

    def _cross_direction(self, j: int, legs: list[Any], price: float) -> int:
        """Side of the liquidation price the mark must reach: where equity − MM falls, i.e.
        down when ``Σ size − Σ |size|·mmr`` (the slope at that price) is positive."""
        instrument = self.instruments[j]
        table = self._mm_tables[j]
        slope = 0.0
        for p in legs:
            qty = p.size * instrument.contract_size
            rate = table.tier_at(contracts.notional(instrument, p.size, price)).mmr
            slope += qty - abs(qty) * rate
        if instrument.is_inverse:
            slope = -slope
        return -1 if slope > 0 else 1

    def _mm_table(self, instrument: Instrument) -> TierTable:
        """The table the account tests maintenance margin with (OKX adds the taker fee)."""
        table = self.account.tiers(instrument.symbol)
        if self.venue.mm_adds_taker_fee:
            table = table.with_extra_rate(instrument.taker_fee)
        return table

    def _set_marks(self, i: int, phase: int) -> None:
        """Give the account every active symbol's mark at the open or close of bar i."""
        if self._marks_at == (i, phase):
            return
        marks = self._mo if phase == _OPEN else self._mc
        for j in range(self.m):
            if self._active[j][i]:
                self.account.set_mark(self.symbols[j], marks[j][i], time=self.t)
        self._marks_at = (i, phase)

    def marks_at_close(self) -> Account:
        """The account with the marks of the current bar's close (for strategy views). From
        then on each bar checks whether the strategy changed the account itself."""
        if not self._exposed:
            # every change the engine makes is followed by _changed(), so this is the ledger
            # length at the last one (what _changed() keeps from now on)
            self._exposed = True
            self._ledger_length = len(self.account.ledger)
        if self.i >= 0:
            self._set_marks(self.i, _CLOSE)
        return self.account

    def liquidation_price(self, j: int, leg: str, *, at_fill: bool = False) -> float | None:
        """Cached liquidation price of a position (None when flat or there is none). A cross
        pool over several symbols has no cached price: it is solved at the bar's close marks
        (strategy views), or with ``at_fill`` at the marks of the fill being handled — the
        open's, for an entry at the open, never a later price of the bar."""
        if self._stale:
            self._refresh()
        key = self._keys[j].get(leg) or PositionKey(self.symbols[j], Leg(leg))
        for watch in self._watches[j]:
            if watch.pool == key or (watch.pool == CROSS_POOL and leg in self.sizes[j]):
                return watch.price
        if leg in self.sizes[j]:
            account = self.account if at_fill else self.marks_at_close()
            return account.liquidation_price(key)
        return None

    # ========================================================================================
    # Series and the end of the run
    # ========================================================================================

    def _snapshot(self, i: int) -> None:
        if self._stale:
            self._refresh()
        bars = self._snap_bars
        if bars and bars[-1] == i:  # a second snapshot of the bar replaces the first
            del self._leg_snap[self._snap_first[-1] :]
            del self._leg_key[self._snap_first[-1] :]
            del self._leg_state[5 * self._snap_first[-1] :]
            self._snap_wallets[-1] = self.account.wallet_balance
        else:
            bars.append(i)
            self._snap_first.append(len(self._leg_snap))
            self._snap_wallets.append(self.account.wallet_balance)
        # the account's positions as of the last refresh: every change since would have made
        # the state stale (and no strategy code runs between a refresh and the snapshot)
        positions = self._refreshed
        if positions:
            k = len(bars) - 1
            lps = self._lps
            cross_price = lps.get(CROSS_POOL, math.nan)
            column = self._column
            state = self._leg_state
            for p in positions:
                isolated = p.margin_mode is not _CROSS
                self._leg_snap.append(k)
                self._leg_key.append((column[p.instrument.symbol], _LEG_NAME[p.leg]))
                state += (
                    p.size,
                    p.entry_price,
                    1.0 if isolated else 0.0,
                    p.isolated_margin,
                    lps.get(p.key, math.nan if isolated else cross_price),
                )
        if self._multi_lps:
            self._multi_lps.pop(i, None)
        if self._cross_multi:
            self._record_multi_lps(i)
        self._dirty = False

    def _record_multi_lps(self, i: int) -> None:
        """Cross liquidation prices when the pool spans symbols: they move with the other
        symbols' marks, so they are read from the account at each close."""
        account = self.marks_at_close()
        self._multi_lps[i] = {
            self._series_name(self._column[p.symbol], p.leg.value): (
                account.liquidation_price(p.key) or math.nan
            )
            for p in account.positions
            if not p.is_isolated
        }

    def _series_name(self, j: int, leg: str) -> str:
        return self.symbols[j] if not self.hedge else f"{self.symbols[j]}:{leg}"

    def _end_of_data(self) -> None:
        """Cancel what is still waiting; close open positions at their last close."""
        for order in list(self.pending) + [o for q in self.resting for o in q]:
            if order.alive:
                self._unqueue(order)
                self._finish_order(order, OrderStatus.CANCELLED, Reason.END_OF_DATA, "")
        last = self.n - 1
        self._set_marks(last, _CLOSE)
        for p in list(self.account.positions):
            j = self._column[p.symbol]
            at = self._last_active[j]
            self.account.set_mark(p.symbol, self._mc[j][at])
            leg = p.leg.value if self.hedge else None
            order = self._closing_order(p.symbol, p.size, "end_of_data", leg=leg)
            self._execute(order, float(self.run_data.close[at, j]), last, j)
            if order.status is not OrderStatus.FILLED:
                raise BacktestError(
                    f"end_of_data: closing {p.symbol} {p.leg} failed: {order.message}"
                )
        self._snapshot(last)

    def series(self) -> dict[str, FloatArray]:
        """Per-bar equity, margin and position columns, from the recorded account states.

        The per-bar arithmetic runs over blocks of :data:`_SERIES_BLOCK` bars, written into
        the preallocated columns: every temporary is then a block, which stays in the cache
        and reuses the allocator's memory, where whole-run temporaries (a dozen arrays of the
        run's length per position) would each be fresh memory for the system to fault in.
        """
        rd = self.run_data
        n = self.n
        # marks carried through bars a symbol has no data for
        marks: list[FloatArray] = []
        for j in range(self.m):
            column = rd.mark_close[:, j]
            missing = np.isnan(column)
            if missing.any():
                column = column[np.maximum.accumulate(np.where(~missing, np.arange(n), 0))]
            marks.append(column)
        bars = self._snap_bars
        count = len(bars)
        # the snapshot in force at each bar; snapshots are recorded in bar order, at most one
        # per bar and the first at bar 0, so each holds until the next one
        if count and bars[0] == 0:
            seg = np.repeat(np.arange(count), np.diff(bars, append=n))
        else:
            seg = np.searchsorted(bars, np.arange(n), side="right") - 1
        wallets = np.array(self._snap_wallets)
        # per position (symbol, leg), in order of first appearance: its state (size, entry,
        # isolated, margin, liquidation price; zeros where it is not open) in each recorded
        # snapshot, then per bar
        keys = self._leg_key
        state: dict[tuple[int, str], FloatArray] = {}
        if keys:
            snap = np.array(self._leg_snap, dtype=np.intp)
            values = np.array(self._leg_state, dtype=np.float64).reshape(len(keys), 5).T
            order = dict.fromkeys(keys)
            if len(order) == 1:
                codes = None
            else:
                number = {key: g for g, key in enumerate(order)}
                codes = np.fromiter(map(number.__getitem__, keys), np.intp, len(keys))
            for g, key in enumerate(order):
                rows = np.zeros((5, count))
                if codes is None:
                    rows[:, snap] = values
                else:
                    mine = codes == g
                    rows[:, snap[mine]] = values[:, mine]
                state[key] = rows
        names = [
            self._series_name(j, leg)
            for j in range(self.m)
            for leg in (("LONG", "SHORT") if self.hedge else ("BOTH",))
        ]
        liq = {name: np.full(n, np.nan) for name in names}
        notional = {symbol: np.zeros(n) for symbol in self.symbols}
        wallet, cross, equity, mm, ratio = (np.empty(n) for _ in range(5))
        for start in range(0, n, _SERIES_BLOCK):
            end = min(start + _SERIES_BLOCK, n)
            block = seg[start:end]
            cross_upnl = np.zeros(end - start)
            isolated = np.zeros(end - start)
            block_mm = np.zeros(end - start)
            for (j, leg_name), rows in state.items():
                size, entry, iso, margin, lp = rows[:, block]
                held = size != 0.0
                iso_held = held & (iso != 0.0)
                cross_held = held & (iso == 0.0)
                instrument = self.instruments[j]
                cs, inverse = instrument.contract_size, instrument.is_inverse
                mark = marks[j][start:end]
                with np.errstate(divide="ignore", invalid="ignore"):
                    upnl = vectorised.upnls(size, cs, entry, mark, inverse=inverse)
                    signed = vectorised.signed_notionals(size, cs, mark, inverse=inverse)
                table = self._mm_tables[j]
                position_mm = vectorised.maintenance_margins(
                    signed, table.floors, table.mmrs, table.amounts
                )
                cross_upnl += np.where(cross_held, upnl, 0.0)
                isolated += np.where(iso_held, margin + upnl, 0.0)
                block_mm += np.where(cross_held, position_mm, 0.0)
                notional[self.symbols[j]][start:end] += np.where(held, signed, 0.0)
                liq[self._series_name(j, leg_name)][start:end] = np.where(held, lp, np.nan)
            block_wallet = wallets[block]
            block_cross = block_wallet + cross_upnl
            wallet[start:end] = block_wallet
            cross[start:end] = block_cross
            equity[start:end] = block_cross + isolated
            mm[start:end] = block_mm
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio[start:end] = np.where(
                    block_mm <= 0,
                    0.0,
                    np.where(block_cross <= 0, np.inf, block_mm / block_cross),
                )
        for i, prices in self._multi_lps.items():
            for name, price in prices.items():
                liq[name][i] = price
        columns: dict[str, FloatArray] = {
            "equity": equity,
            "cross_equity": cross,
            "maintenance_margin": mm,
            "margin_ratio": ratio,
            "wallet": wallet,
        }
        columns.update({f"liq:{k}": v for k, v in liq.items()})
        columns.update({f"notional:{k}": v for k, v in notional.items()})
        return columns

    def result(self, analyzers: Sequence[Analyzer] = (), engine: str = "event") -> BacktestResult:
        """The run's :class:`BacktestResult`."""
        with _frozen_heap():
            return self._result(analyzers, engine)

    def _result(self, analyzers: Sequence[Analyzer], engine: str) -> BacktestResult:
        rd = self.run_data
        metadata = run_metadata(
            engine,
            rd,
            self.venue.name,
            self.account.insurance_fund.balance(self.account.currency or ""),
            # the end of data closed every position: the equity is the cross wallet, as the
            # series' last bar has it
            self.account.wallet_balance,
        )
        # each table is built on its first read from what the run holds at its end: the
        # trades and orders it kept, the ledger's entries so far (the result's account may be
        # used afterwards), the per-bar columns it wrote
        trades, orders = list(self.trades), list(self.orders)
        ledger, posted = self.account.ledger, len(self.account.ledger)
        return deferred_result(
            trades=_collected(lambda: trades_frame(trade_row(t) for t in trades)),
            orders=_collected(lambda: orders_frame(order_row(o) for o in orders)),
            ledger=_collected(lambda: ledger_frame(ledger, end=posted)),
            series=_collected(lambda: series_frame(rd.timestamps, self.series(), copy=False)),
            spec=self.spec,
            timeframe_ms=rd.timeframe_ms,
            metadata=metadata,
            analyzers=analyzers,
            account=self.account,
        )


def run_strategy(
    strategy: type[Strategy],
    data: MarketData | Portfolio,
    config: BacktestConfig | RunSpec,
    *,
    params: Mapping[str, Any] | None = None,
    fine: FineData | None = None,
    analyzers: Sequence[Analyzer] = (),
    progress: Progress | None = None,
) -> BacktestResult:
    """Run an event-driven :class:`~levtrade.strategy.base.Strategy` subclass."""
    return _simulate(data, config, EventDriver(strategy, params), fine, progress, analyzers)


def run_signals(
    data: MarketData | Portfolio,
    signals: Signals,
    config: BacktestConfig | RunSpec,
    *,
    fine: FineData | None = None,
    progress: Progress | None = None,
) -> BacktestResult:
    """Execute a signal table with the rules of docs/backtest.md, "Signal strategies".

    The compiled kernel (:func:`levtrade.backtest.kernel.run_signals`) has this signature and
    is tested against this function.
    """
    return _simulate(data, config, SignalDriver(signals), fine, progress, ())


def _simulate(
    data: MarketData | Portfolio,
    config: BacktestConfig | RunSpec,
    driver: Driver,
    fine: FineData | None,
    progress: Progress | None,
    analyzers: Sequence[Analyzer],
) -> BacktestResult:
    """One engine run; with ``progress``, the bars done are reported as the run goes."""
    if progress is not None:
        driver = ProgressDriver(driver, len(data), progress)
    start = time.perf_counter()
    engine = Engine(data, config, driver, fine=fine)
    set_up = time.perf_counter()
    engine.run()
    ran = time.perf_counter()
    if progress is not None:
        progress.advance(len(data))
    result = engine.result(analyzers)
    result.timings.update(prepare_s=set_up - start, simulate_s=ran - set_up)
    return result
