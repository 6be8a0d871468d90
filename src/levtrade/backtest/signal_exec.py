"""Signal strategies in the event engine: the reference for the compiled kernel.

:class:`SignalDriver` executes a :class:`~levtrade.strategy.signals.Signals` table with the
rules of docs/backtest.md, "Signal strategies": at bar *i*'s close it reads the signals and
queues market orders for bar *i+1*'s open (exits before entries); an entry that fills gets its
rule orders — the stop-loss (trailing when ``trailing_stop``), the ROI take-profit — which the
engine walks on the path like any resting order while this driver moves their levels. In hedge
mode each symbol has a LONG leg (driven by ``enter_long``/``exit_long``) and a SHORT leg
(``enter_short``/``exit_short``), each with its own orders and rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from levtrade._jit import plain
from levtrade.backtest import path
from levtrade.errors import ConfigError
from levtrade.margin.formulas import buffered_liquidation_price
from levtrade.model.orders import Order, OrderStatus, OrderType, Trade
from levtrade.model.positions import Leg, PositionKey
from levtrade.strategy.signals import SignalRules, Signals, SymbolSignals

if TYPE_CHECKING:
    from levtrade.backtest.driver import BarEngine

MS_PER_MINUTE = 60_000.0


_profit_ratio = plain(path.profit_ratio)
_roi_level = plain(path.roi_level)
_trailing_ratio = plain(path.trailing_ratio)
_trail_stop = plain(path.trail_stop)


def _view(array: Any) -> Any:
    """A memoryview of a contiguous copy: indexing gives Python scalars (the array itself
    where its dtype has no buffer format)."""
    contiguous = np.ascontiguousarray(array)
    try:
        return memoryview(contiguous)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return contiguous


@dataclass(slots=True)
class _RuleOrders:
    """The open trade of a symbol's leg and the exits its rules placed."""

    is_long: bool
    entry: float
    leverage: float
    entry_time: int
    stop: Order | None
    initial_stop: float
    roi: Order | None
    key: PositionKey
    """The position (its open trade's funding so far moves the ROI exit)."""
    quantity: float
    """Base quantity held (contracts × contract size)."""
    open_fee: float
    close_fee: float
    column: int


class SignalDriver:
    """Executes a signal table (module docstring)."""

    def __init__(self, signals: Signals) -> None:
        if not isinstance(signals, Signals):
            raise ConfigError(f"signals: expected a Signals table, got {type(signals).__name__}")
        self.signals = signals
        self.rules: SignalRules = signals.rules
        keys = sorted(self.rules.minimal_roi)
        self.roi_minutes = np.array([float(k) for k in keys], dtype=np.float64)
        self.roi_ratios = np.array([self.rules.minimal_roi[k] for k in keys], dtype=np.float64)
        self.open: dict[tuple[int, str], _RuleOrders] = {}
        """The open trades with rules, by (symbol column, leg name)."""

    def start(self, engine: BarEngine) -> None:
        self.engine = engine
        unknown = sorted(set(self.signals.by_symbol) - set(engine.symbols))
        if unknown:
            raise ConfigError(
                f"signals: symbol(s) {', '.join(unknown)} are not in the market data "
                f"({', '.join(engine.symbols)})"
            )
        self.columns: list[SymbolSignals | None] = []
        # the entry signals as set: ignore_roi_if_entry_signal reads them (per column)
        self._entries: dict[int, tuple[Any, Any]] = {}
        for j, symbol in enumerate(engine.symbols):
            table = self.signals.by_symbol.get(symbol)
            if table is not None and table.bars != engine.n:
                raise ConfigError(
                    f"signals[{symbol!r}]: {table.bars} bars, the market data has {engine.n}"
                )
            if table is not None:
                self._entries[j] = (_view(table.enter_long), _view(table.enter_short))
                table = table.executed(self.rules, hedge=engine.hedge)
            self.columns.append(table)
        # per symbol with signals: (column, active, enter/exit long, enter/exit short,
        # leverage, stake) as memoryviews, read per bar without numpy scalars
        self._views: list[tuple[int, Any, Any, Any, Any, Any, Any, Any]] = [
            (
                j,
                _view(engine.run_data.active[:, j]),
                _view(table.enter_long),
                _view(table.exit_long),
                _view(table.enter_short),
                _view(table.exit_short),
                _view(table.leverage),
                _view(table.stake),
            )
            for j, table in enumerate(self.columns)
            if table is not None
        ]
        rules = self.rules
        # the rules' numbers as the compiled path functions take them (floats)
        self._stoploss = math.nan if rules.stoploss is None else float(rules.stoploss)
        self._positive = (
            math.nan
            if rules.trailing_stop_positive is None
            else float(rules.trailing_stop_positive)
        )
        self._offset = float(rules.trailing_stop_positive_offset)
        self._only_offset = bool(rules.trailing_only_offset_is_reached)

    # -- decisions at the close -----------------------------------------------------------------
    def on_close(self, i: int) -> None:
        if self.engine.hedge:
            self._on_close_hedge(i)
            return
        engine = self.engine
        rules = self.rules
        for j, active, enter_long, exit_long, enter_short, exit_short, lev, stakes in self._views:
            if not active[i]:
                continue
            current = engine.sizes[j].get("BOTH", 0.0)
            exiting = (current > 0 and exit_long[i]) or (current < 0 and exit_short[i])
            symbol = engine.symbols[j]
            if exiting:
                self._close_leg(symbol, None, current)
            if current != 0.0 and not exiting:
                continue
            long_entry = bool(enter_long[i])
            short_entry = bool(enter_short[i]) and rules.can_short
            if long_entry == short_entry:
                continue
            self._enter(symbol, long_entry, float(lev[i]), float(stakes[i]), None)

    def _on_close_hedge(self, i: int) -> None:
        """Hedge mode: per symbol, exit LONG, exit SHORT, enter LONG, enter SHORT (each leg
        only by its own columns; both entries on one bar open both legs)."""
        engine = self.engine
        can_short = self.rules.can_short
        for j, active, enter_long, exit_long, enter_short, exit_short, lev, stakes in self._views:
            if not active[i]:
                continue
            sizes = engine.sizes[j]
            symbol = engine.symbols[j]
            long_size = sizes.get("LONG", 0.0)
            short_size = sizes.get("SHORT", 0.0)
            exit_l = long_size != 0.0 and bool(exit_long[i])
            exit_s = short_size != 0.0 and bool(exit_short[i])
            if exit_l:
                self._close_leg(symbol, "LONG", long_size)
            if exit_s:
                self._close_leg(symbol, "SHORT", short_size)
            enter_l = bool(enter_long[i]) and (long_size == 0.0 or exit_l)
            enter_s = can_short and bool(enter_short[i]) and (short_size == 0.0 or exit_s)
            if enter_l:
                self._enter(symbol, True, float(lev[i]), float(stakes[i]), "LONG")
            if enter_s:
                self._enter(symbol, False, float(lev[i]), float(stakes[i]), "SHORT")

    def _close_leg(self, symbol: str, leg: str | None, size: float) -> None:
        """Queue the exit of the position of signed ``size`` (``leg`` None in one-way mode)."""
        engine = self.engine
        is_long = size > 0
        engine.submit(
            engine.make_order(
                symbol,
                "sell" if is_long else "buy",
                OrderType.MARKET,
                abs(size),
                math.nan,
                leg=leg,
                reduce_only=True,
                close_position=True,
                origin="signal",
                tag="exit_long" if is_long else "exit_short",
            )
        )

    def _enter(
        self, symbol: str, is_long: bool, leverage: float, stake: float, leg: str | None
    ) -> None:
        """Queue an entry (``leg`` None in one-way mode) with the row's leverage and stake."""
        engine = self.engine
        engine.submit(
            engine.make_order(
                symbol,
                "buy" if is_long else "sell",
                OrderType.MARKET,
                math.nan,
                math.nan,
                leg=leg,
                leverage=engine.config.leverage if math.isnan(leverage) else leverage,
                stake=None if math.isnan(stake) else stake,
                origin="signal",
                tag="enter_long" if is_long else "enter_short",
            )
        )

    # -- the rule orders -----------------------------------------------------------------------
    def on_order(self, order: Order) -> None:
        if order.status is not OrderStatus.FILLED or order.tag not in ("enter_long", "enter_short"):
            return
        engine = self.engine
        rules = self.rules
        j = engine.symbols.index(order.symbol)
        leg = order.leg or "BOTH"
        size, entry, leverage = engine.position_entry(order.symbol, leg)
        is_long = size > 0
        stop = math.nan
        origin = "stop_loss"
        if rules.stoploss is not None:
            stop = path.stoploss_level(entry, is_long, rules.stoploss, leverage)
        buffer = engine.config.liquidation_buffer
        if buffer > 0:
            liquidation = engine.liquidation_price(j, leg, at_fill=True)
            # hedge cross legs share one price, which can lie on a leg's favourable side
            # (the other leg is larger): that bounds nothing for this leg
            if liquidation is not None and (
                order.leg is None or (liquidation < entry if is_long else liquidation > entry)
            ):
                floor = buffered_liquidation_price(liquidation, entry, buffer)
                if math.isnan(stop) or (floor > stop if is_long else floor < stop):
                    stop = floor
                    # FreqTrade's name for an exit at the buffered liquidation price
                    origin = "liquidation"
        exit_side = "sell" if is_long else "buy"
        stop_order = None
        if not math.isnan(stop) or rules.trailing_stop:
            kind = OrderType.TRAILING_STOP if rules.trailing_stop else OrderType.STOP
            stop_order = self._exit(order.symbol, order.leg, exit_side, kind, stop, origin)
        roi_order = None
        instrument = engine.instruments[j]
        state = _RuleOrders(
            is_long, entry, leverage, engine.t, stop_order, stop, None,
            PositionKey(order.symbol, Leg(leg)),
            abs(size) * instrument.contract_size, instrument.taker_fee,
            instrument.maker_fee, j,
        )  # fmt: skip
        if len(self.roi_minutes):
            ratio = path.roi_ratio(self.roi_minutes, self.roi_ratios, 0.0)
            roi_order = self._exit(
                order.symbol, order.leg, exit_side, OrderType.TAKE_PROFIT,
                self._roi_level(state, ratio), "roi",
            )  # fmt: skip
        state.roi = roi_order
        self.open[j, leg] = state

    def _roi_level(self, state: _RuleOrders, ratio: float) -> float:
        """The ROI exit price for ``ratio``, net of both fees and the funding booked so far."""
        trade = self.engine.open_trades.get(state.key)
        funding = 0.0 if trade is None else trade.funding
        return _roi_level(
            state.entry, state.is_long, ratio, state.leverage, state.quantity, funding,
            state.open_fee, state.close_fee,
        )  # fmt: skip

    def _exit(
        self, symbol: str, leg: str | None, side: str, kind: OrderType, level: float, origin: str
    ) -> Order:
        engine = self.engine
        return engine.submit(
            engine.make_order(
                symbol,
                side,
                kind,
                math.nan,
                level,
                leg=leg,
                reduce_only=True,
                close_position=True,
                managed=True,
                origin=origin,
            )
        )

    def on_trade(self, trade: Trade) -> None:
        if not trade.open:
            self.open.pop((self.engine.symbols.index(trade.symbol), trade.leg), None)

    def before_path(self, i: int) -> None:
        """Set each ROI take-profit to the ratio in force for the trade's age at this open,
        net of the funding booked so far; with ``ignore_roi_if_entry_signal`` a trade whose
        side's entry signal was set at the last close has no ROI exit on this bar."""
        if not self.open or not len(self.roi_minutes):
            return
        t = self.engine.t
        hold = self.rules.ignore_roi_if_entry_signal and i > 0
        for state in self.open.values():
            if state.roi is None or not state.roi.alive:
                continue
            if hold:
                entries = self._entries.get(state.column)
                if entries is not None and entries[0 if state.is_long else 1][i - 1]:
                    state.roi.price = math.nan
                    continue
            age = (t - state.entry_time) / MS_PER_MINUTE
            ratio = path.roi_ratio(self.roi_minutes, self.roi_ratios, age)
            state.roi.price = self._roi_level(state, ratio)

    def trail(self, order: Order, price: float) -> None:
        """FreqTrade's trailing stop at a path point (ratios of the stake, / leverage; the
        offset against the profit ratio net of both taker fees and the funding booked so far,
        FreqTrade's ``calc_profit_ratio``)."""
        state = self.open.get((self.engine.symbols.index(order.symbol), order.leg or "BOTH"))
        if state is None:
            return
        trade = self.engine.open_trades.get(state.key)
        funding = 0.0 if trade is None else trade.funding
        profit = _profit_ratio(
            state.entry, price, state.is_long, state.leverage, state.quantity, funding,
            state.open_fee, state.open_fee,
        )  # fmt: skip
        ratio = _trailing_ratio(
            profit, self._stoploss, self._positive, self._offset, self._only_offset
        )
        if math.isnan(ratio):
            return
        moved = _trail_stop(order.price, price, state.is_long, ratio / state.leverage, 0.0)
        if moved != order.price:
            order.price = moved
            if moved != state.initial_stop:
                order.origin = "trailing_stop"

    def finish(self) -> None:
        return None
