"""The compiled signal kernel: ``run_signals(data, signals, config) -> BacktestResult``.

The same contract and the same result as the event engine's
:func:`levtrade.backtest.engine.run_signals` (docs/backtest.md; the agreement tests hold the
two to 1e-9), at compiled speed: this module turns the market data, the signal table and the
config into plain arrays (read as the event engine reads them: its
:func:`levtrade.backtest.market.prepare`, or for one market :func:`single_run`, which the tests
hold to the same arrays), runs :func:`levtrade.backtest.kernel_core.simulate` (its
ahead-of-time build, :mod:`levtrade.backtest.kernel_aot`, where installed), and builds the
trades, orders, ledger and series tables with :func:`levtrade.backtest.results.build_result`.

Supported: every venue profile (bankruptcy close with clearance fee, Hyperliquid market close
with partial liquidation and backstop, dYdX penalty), cross and isolated margin, one-way and
hedge mode (a LONG and a SHORT leg per symbol, on the venues that have it), one or many
symbols (a cross pool spanning symbols tested at the adverse mark extremes), funding from data
or the configured constant, stop-loss, trailing stop, ROI, liquidation buffer, slippage and
volume slippage, stake and ``unlimited`` sizing, ``max_open_trades``. Not supported, with a
:class:`~levtrade.errors.ConfigError` saying so: inverse contracts, finer-timeframe sub-bar
paths.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from levtrade.backtest import kernel_aot, kernel_core
from levtrade.backtest import kernel_layout as layout
from levtrade.backtest.kernel_core import ByteArray, FloatArray
from levtrade.backtest.market import HOUR_MS, RunData, prepare
from levtrade.backtest.results import (
    LEDGER_COLUMNS,
    BacktestResult,
    build_result,
    orders_frame,
    run_metadata,
    series_frame,
    trades_frame,
)
from levtrade.data import MarketData, Portfolio
from levtrade.errors import BacktestError, ConfigError
from levtrade.margin.ledger import (
    CROSS,
    EXTERNAL,
    FEES,
    INSURANCE_FUND,
    LIQUIDATION_FEES,
    LIQUIDATOR_VAULT,
    MARKET,
    EntryKind,
    isolated_book,
)
from levtrade.model.orders import OrderStatus, OrderType, Reason
from levtrade.model.venue import FundingPrice, LiquidationPriceRule, OutcomeModel, VenueProfile
from levtrade.spec import BacktestConfig, RunSpec, resolve
from levtrade.strategy.signals import Signals

__all__ = [
    "KINDS",
    "KernelInputs",
    "book_names",
    "build",
    "first_capacity",
    "prepare_inputs",
    "run_signals",
    "single_run",
]

_BOOKS = (EXTERNAL, CROSS, MARKET, FEES, LIQUIDATION_FEES, INSURANCE_FUND, LIQUIDATOR_VAULT)
KINDS = tuple(str(kind) for kind in EntryKind)
"""Ledger entry kinds by the code the core writes (``K_*``)."""
_OUTCOMES = {
    OutcomeModel.BANKRUPTCY_CLOSE: layout.M_BANKRUPTCY_CLOSE,
    OutcomeModel.MARKET_CLOSE: layout.M_MARKET_CLOSE,
    OutcomeModel.PENALTY_CLOSE: layout.M_PENALTY_CLOSE,
}
_ORIGINS = {
    layout.ORIGIN_SIGNAL: "signal",
    layout.ORIGIN_STOP_LOSS: "stop_loss",
    layout.ORIGIN_ROI: "roi",
    layout.ORIGIN_TRAILING_STOP: "trailing_stop",
    layout.ORIGIN_LIQUIDATION: "liquidation",
    layout.ORIGIN_END_OF_DATA: "end_of_data",
}
_TYPES = {
    layout.TYPE_MARKET: OrderType.MARKET,
    layout.TYPE_STOP: OrderType.STOP,
    layout.TYPE_TAKE_PROFIT: OrderType.TAKE_PROFIT,
    layout.TYPE_TRAILING_STOP: OrderType.TRAILING_STOP,
}
_TAGS = {
    layout.TAG_NONE: None,
    layout.TAG_ENTER_LONG: "enter_long",
    layout.TAG_ENTER_SHORT: "enter_short",
    layout.TAG_EXIT_LONG: "exit_long",
    layout.TAG_EXIT_SHORT: "exit_short",
}
_STATUSES = {
    layout.STATUS_FILLED: OrderStatus.FILLED,
    layout.STATUS_CANCELLED: OrderStatus.CANCELLED,
    layout.STATUS_REJECTED: OrderStatus.REJECTED,
}
_REASONS = {
    layout.REASON_NONE: "",
    layout.REASON_INSUFFICIENT_MARGIN: str(Reason.INSUFFICIENT_MARGIN),
    layout.REASON_LEVERAGE: str(Reason.LEVERAGE),
    layout.REASON_MIN_NOTIONAL: str(Reason.MIN_NOTIONAL),
    layout.REASON_SIZE: str(Reason.SIZE),
    layout.REASON_MAX_OPEN_TRADES: str(Reason.MAX_OPEN_TRADES),
    layout.REASON_BANKRUPT: str(Reason.BANKRUPT),
    layout.REASON_NO_POSITION: str(Reason.NO_POSITION),
    layout.REASON_POSITION_CLOSED: str(Reason.POSITION_CLOSED),
    layout.REASON_LIQUIDATION: str(Reason.LIQUIDATION),
    layout.REASON_END_OF_DATA: str(Reason.END_OF_DATA),
}


class KernelInputs:
    """The arrays :func:`~levtrade.backtest.kernel_core.simulate` takes, and what the result
    tables need to name them (the run's data, config, venue and instruments)."""

    def __init__(
        self,
        run: RunData,
        spec: RunSpec,
        market: kernel_core.Market,
        signals: tuple[ByteArray, FloatArray, FloatArray],
        context: kernel_core.Context,
    ) -> None:
        self.run = run
        self.spec = spec
        self.config = spec.config
        self.venue = spec.venue
        self.instruments = list(spec.instruments)
        self.market = market
        self.signals = signals
        self.context = context

    def simulate(
        self, simulate: Callable[..., Any] | None = None
    ) -> tuple[np.ndarray[Any, Any], ...]:
        """Run the compiled core (``simulate``: a build of it, by default the one
        :func:`kernel_aot.simulate_function` picks); a result table that overflowed its first
        guess is sized exactly and the run repeated."""
        n, m = self.run.bars, self.run.width
        if simulate is None:
            _, simulate = kernel_aot.simulate_function()
        sizes = list(first_capacity(self))
        while True:
            out = (
                np.empty((sizes[0], layout.N_LEDGER)),
                np.empty((sizes[1], layout.N_TRADES)),
                np.empty((sizes[2], layout.N_ORDERS)),
                np.zeros(layout.N_COUNTERS, dtype=np.int64),
            )
            rows = m * (2 if self.config.position_mode == "hedge" else 1)
            series = (np.empty((n, layout.N_SERIES)), np.empty((n, rows)), np.empty((n, m)))
            account = simulate(
                np.ascontiguousarray(self.run.timestamps, dtype=np.int64),
                self.market,
                np.ascontiguousarray(self.run.funding.any(axis=1)),
                self.signals,
                self.context,
                out,
                series,
            )
            counts = [int(c) for c in out[3]]
            if all(c <= size for c, size in zip(counts, sizes, strict=True)):
                break
            sizes = [max(c, size) for c, size in zip(counts, sizes, strict=True)]
        ledger, trades, orders = (table[:count] for table, count in zip(out, counts, strict=False))
        return (*series, ledger, trades, orders, account)


def first_capacity(inputs: KernelInputs) -> tuple[int, int, int]:
    """First guess of the ledger, trades and orders table sizes: a few rows per signal bar
    and one per funding event (a run that needs more is repeated with the exact sizes)."""
    signal_bars = int(np.count_nonzero(inputs.signals[0]))
    funding_events = int(np.count_nonzero(inputs.market[kernel_core.MK_FUNDED]))
    return 64 + 8 * signal_bars + funding_events, 16 + signal_bars, 64 + 4 * signal_bars


def _check(data: MarketData | Portfolio, signals: Signals, spec: RunSpec) -> None:
    if not isinstance(signals, Signals):
        raise ConfigError(f"signals: expected a Signals table, got {type(signals).__name__}")
    if spec.config.position_mode == "hedge" and not spec.venue.supports_hedge_mode:
        # as the event engine's Account refuses it
        raise ConfigError(f"position_mode: {spec.venue.name} has no hedge mode, got 'hedge'")
    symbols = data.symbols
    unknown = sorted(set(signals.by_symbol) - set(symbols))
    if unknown:
        raise ConfigError(
            f"signals: symbol(s) {', '.join(unknown)} are not in the market data "
            f"({', '.join(symbols)})"
        )


def prepare_inputs(
    data: MarketData | Portfolio, signals: Signals, config: BacktestConfig | RunSpec
) -> KernelInputs:
    """Check the run and lay it out as the compiled core's arrays."""
    if not isinstance(config, BacktestConfig | RunSpec):
        raise BacktestError(f"config: expected a BacktestConfig, got {type(config).__name__}")
    spec = resolve(config, data.symbols)
    config = spec.config
    _check(data, signals, spec)
    run = single_run(data, config) if isinstance(data, MarketData) else prepare(data, config)
    venue = spec.venue
    instruments = list(spec.instruments)
    inverse = [inst.symbol for inst in instruments if inst.is_inverse]
    if inverse:
        raise ConfigError(
            f"instrument: the compiled kernel trades linear contracts; {', '.join(inverse)} "
            "is inverse (use the event engine)"
        )
    n, m = run.bars, run.width
    bits = np.zeros((n, m), dtype=np.uint8)
    leverage = np.full((n, m), np.nan)
    stake = np.full((n, m), np.nan)
    for j, symbol in enumerate(run.symbols):
        table = signals.by_symbol.get(symbol)
        if table is None:
            continue
        if table.bars != n:
            raise ConfigError(f"signals[{symbol!r}]: {table.bars} bars, the market data has {n}")
        acted = table.executed(signals.rules, hedge=config.position_mode == "hedge")
        bits[:, j] = (
            acted.enter_long * layout.SIG_ENTER_LONG
            + acted.exit_long * layout.SIG_EXIT_LONG
            + acted.enter_short * layout.SIG_ENTER_SHORT
            + acted.exit_short * layout.SIG_EXIT_SHORT
            + table.enter_long * layout.SIG_ROI_HOLD_LONG
            + table.enter_short * layout.SIG_ROI_HOLD_SHORT
        ).astype(np.uint8)
        leverage[:, j] = table.leverage
        stake[:, j] = table.stake

    funding_price = run.mark_open
    if venue.funding_price is FundingPrice.ORACLE:
        funding_price = np.where(np.isfinite(run.oracle_open), run.oracle_open, run.mark_open)
    market: kernel_core.Market = (
        _read_only(run.open),
        _read_only(run.high),
        _read_only(run.low),
        _read_only(run.close),
        _read_only(run.volume),
        _read_only(run.mark_open),
        _read_only(run.mark_high),
        _read_only(run.mark_low),
        _read_only(run.mark_close),
        _read_only(_carried(run.mark_close)),
        _read_only(funding_price),
        _read_only(run.funding_rate),
        _read_only(run.funding),
        _read_only(run.active),
    )
    active = market[-1]
    last_active = [
        int(np.flatnonzero(active[:, j])[-1]) if active[:, j].any() else -1 for j in range(m)
    ]
    symbol_params = np.array(
        [
            [
                inst.contract_size,
                inst.lot_size,
                inst.min_notional,
                inst.maker_fee,
                inst.taker_fee,
                venue.clearance_fee_for(inst.symbol),
                last,
            ]
            for inst, last in zip(instruments, last_active, strict=True)
        ],
        dtype=np.float64,
    ).reshape(m, layout.N_SYMBOL_PARAMS)
    context = (
        symbol_params,
        _params(config, venue, signals),
        _tiers(spec),
        _roi(signals),
    )
    return KernelInputs(run, spec, market, (bits, leverage, stake), context)


def _read_only(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """A C-contiguous read-only view (a copy only when ``values`` is not contiguous)."""
    view = np.ascontiguousarray(values).view()
    view.flags.writeable = False
    return view


def single_run(data: MarketData, config: BacktestConfig) -> RunData:
    """:func:`~levtrade.backtest.market.prepare` for one market, without building a
    one-member :class:`Portfolio` (its union axis costs a hash of every timestamp); the
    tests hold the two to equal arrays."""
    n = len(data)
    if n == 0:
        raise BacktestError("data: the market data has no bars")

    def column(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        return np.ascontiguousarray(values).reshape(n, 1)

    trade = {k: column(getattr(data, k)) for k in ("open", "high", "low", "close")}
    marks = {
        k: column(getattr(data.mark, k)) if data.mark is not None else trade[k].copy()
        for k in trade
    }
    oracle = np.full((n, 1), np.nan) if data.index is None else column(data.index.open)
    rate = column(data.funding_rate).copy()
    events = column(data.funding_mask).copy()
    constant: tuple[str, ...] = ()
    if config.funding_rate is not None and len(data.funding) == 0:
        interval = round(config.funding_interval_hours * HOUR_MS)
        ts = data.timestamps
        count = (ts + data.timeframe_ms - 1) // interval - (ts - 1) // interval
        rate[:, 0] = count * config.funding_rate
        events[:, 0] = count > 0
        constant = (data.symbol,)
    return RunData(
        symbols=(data.symbol,),
        timeframe_ms=data.timeframe_ms,
        timestamps=data.timestamps,
        volume=column(data.volume),
        **trade,
        mark_open=marks["open"],
        mark_high=marks["high"],
        mark_low=marks["low"],
        mark_close=marks["close"],
        oracle_open=oracle,
        funding_rate=rate,
        funding=events,
        active=np.ones((n, 1), dtype=np.bool_),
        funding_constant=constant,
        synthetic=data.synthetic,
        sub_bars=(None,),
    )


def _carried(mark_close: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Mark closes carried through bars a symbol has no data for (as Engine.series); a
    column without gaps is copied as it is (the carry is then the identity)."""
    n = mark_close.shape[0]
    out = np.empty_like(mark_close)
    for j in range(mark_close.shape[1]):
        column = mark_close[:, j]
        valid = ~np.isnan(column)
        if valid.all():
            out[:, j] = column
            continue
        index = np.maximum.accumulate(np.where(valid, np.arange(n), 0))
        out[:, j] = column[index] if valid.any() else np.nan
    return out


def _params(config: BacktestConfig, venue: VenueProfile, signals: Signals) -> np.ndarray[Any, Any]:
    rules = signals.rules

    def opt(value: float | None) -> float:
        return math.nan if value is None else float(value)

    prm = np.zeros(layout.N_PARAMS)
    prm[layout.P_WALLET] = config.wallet
    prm[layout.P_ISOLATED] = config.margin_mode == "isolated"
    prm[layout.P_LEVERAGE] = config.leverage
    prm[layout.P_SLIPPAGE] = config.slippage
    prm[layout.P_VOLUME_SLIPPAGE] = config.volume_slippage
    prm[layout.P_LIQ_SLIPPAGE] = config.liquidation_slippage
    prm[layout.P_STAKE] = math.nan if config.stake_amount == "unlimited" else config.stake_amount
    prm[layout.P_TRADABLE_RATIO] = config.tradable_balance_ratio
    prm[layout.P_MAX_OPEN] = opt(config.max_open_trades)
    prm[layout.P_BUFFER] = config.liquidation_buffer
    prm[layout.P_OUTCOME] = _OUTCOMES[venue.outcome_model]
    prm[layout.P_PENALTY] = venue.liquidation_penalty_rate
    prm[layout.P_PARTIAL_NOTIONAL] = opt(venue.partial_liquidation_notional)
    prm[layout.P_PARTIAL_FRACTION] = venue.partial_liquidation_fraction
    prm[layout.P_BACKSTOP] = opt(venue.backstop_mm_fraction)
    prm[layout.P_MM_AT_ENTRY] = venue.liquidation_price_rule is LiquidationPriceRule.MM_AT_ENTRY
    prm[layout.P_INTEGER_LEVERAGE] = venue.integer_leverage
    prm[layout.P_CAN_SHORT] = rules.can_short
    prm[layout.P_STOPLOSS] = opt(rules.stoploss)
    prm[layout.P_TRAILING] = rules.trailing_stop
    prm[layout.P_TRAIL_POSITIVE] = opt(rules.trailing_stop_positive)
    prm[layout.P_TRAIL_OFFSET] = rules.trailing_stop_positive_offset
    prm[layout.P_TRAIL_ONLY_OFFSET] = rules.trailing_only_offset_is_reached
    prm[layout.P_HEDGE] = config.position_mode == "hedge"
    prm[layout.P_IGNORE_ROI] = rules.ignore_roi_if_entry_signal
    return prm


def _tiers(spec: RunSpec) -> tuple[Any, ...]:
    """Tier tables flattened with offsets: floors, caps, MM rates (OKX: + taker fee),
    maintenance amounts, maximum leverage."""
    floors, caps, mmrs, amounts, maxlev, offsets = [], [], [], [], [], [0]
    extra = spec.venue.mm_adds_taker_fee
    for inst, table in zip(spec.instruments, spec.tiers, strict=True):
        mm_table = table.with_extra_rate(inst.taker_fee) if extra else table
        floors.append(table.floors)
        caps.append(table.caps)
        mmrs.append(mm_table.mmrs)
        amounts.append(mm_table.amounts)
        maxlev.append(table.max_leverages)
        offsets.append(offsets[-1] + len(table.tiers))
    return (
        np.concatenate(floors),
        np.concatenate(caps),
        np.concatenate(mmrs),
        np.concatenate(amounts),
        np.concatenate(maxlev),
        np.array(offsets, dtype=np.int64),
    )


def _roi(signals: Signals) -> np.ndarray[Any, Any]:
    keys = sorted(signals.rules.minimal_roi)
    roi = np.empty((2, len(keys)))
    roi[0] = [float(k) for k in keys]
    roi[1] = [signals.rules.minimal_roi[k] for k in keys]
    return roi


def run_signals(
    data: MarketData | Portfolio, signals: Signals, config: BacktestConfig | RunSpec
) -> BacktestResult:
    """Execute a signal table in the compiled kernel (docs/backtest.md, "Signal
    strategies"); the same result as :func:`levtrade.backtest.engine.run_signals`."""
    inputs = prepare_inputs(data, signals, config)
    return build(inputs, inputs.simulate())


def build(inputs: KernelInputs, outputs: tuple[np.ndarray[Any, Any], ...]) -> BacktestResult:
    """The :class:`BacktestResult` of a kernel run."""
    series, liq, notional, ledger, trades, orders, account = outputs
    run = inputs.run
    config = inputs.config
    symbols = run.symbols
    if account[layout.A_POSITIONS] > 0:
        raise BacktestError("end_of_data: the kernel could not close every position")
    currency = inputs.instruments[0].margin_currency
    columns: dict[str, np.ndarray[Any, Any]] = {
        "equity": series[:, layout.S_EQUITY],
        "cross_equity": series[:, layout.S_CROSS_EQUITY],
        "maintenance_margin": series[:, layout.S_MAINTENANCE],
        "margin_ratio": series[:, layout.S_MARGIN_RATIO],
        "wallet": series[:, layout.S_WALLET],
    }
    positions = _positions(symbols, config)
    columns.update(
        {
            f"liq:{s}" if leg == "BOTH" else f"liq:{s}:{leg}": liq[:, r]
            for r, (s, leg) in enumerate(positions)
        }
    )
    columns.update({f"notional:{s}": notional[:, j] for j, s in enumerate(symbols)})
    metadata = run_metadata("compiled", run, inputs.venue.name, float(account[layout.A_FUND]))
    return build_result(
        trades=_trades(trades, positions, config),
        orders=_orders(orders, positions),
        ledger=_ledger(ledger, positions, currency),
        series=series_frame(run.timestamps, columns),
        spec=inputs.spec,
        timeframe_ms=run.timeframe_ms,
        metadata=metadata,
    )


def _positions(symbols: tuple[str, ...], config: BacktestConfig) -> list[tuple[str, str]]:
    """(symbol, leg) of each state row of the core: a symbol's, or its LONG and SHORT legs'."""
    legs = ("LONG", "SHORT") if config.position_mode == "hedge" else ("BOTH",)
    return [(s, leg) for s in symbols for leg in legs]


def book_names(positions: tuple[str, ...] | list[tuple[str, str]]) -> list[str]:
    """Ledger book names by the code the core writes (``B_*``; the isolated books of the
    state rows follow): ``positions`` are symbols (one-way) or (symbol, leg) pairs."""
    pairs = [(p, "BOTH") if isinstance(p, str) else p for p in positions]
    return [*_BOOKS, *(isolated_book(s, leg) for s, leg in pairs)]


def _ledger(
    rows: np.ndarray[Any, Any], positions: list[tuple[str, str]], currency: str
) -> pd.DataFrame:
    books = np.array(book_names(positions), dtype=object)
    kinds = np.array(KINDS, dtype=object)
    names = np.array([*(s for s, _ in positions), None], dtype=object)
    symbol_index = rows[:, layout.L_SYMBOL].astype(np.int64)
    frame = pd.DataFrame(
        {
            "time": rows[:, layout.L_TIME].astype(np.int64),
            "kind": pd.Series(kinds[rows[:, layout.L_KIND].astype(np.int64)], dtype=object),
            "symbol": pd.Series(names[symbol_index], dtype=object),
            "debit": pd.Series(books[rows[:, layout.L_DESTINATION].astype(np.int64)], dtype=object),
            "credit": pd.Series(books[rows[:, layout.L_SOURCE].astype(np.int64)], dtype=object),
            "amount": rows[:, layout.L_AMOUNT].astype(np.float64),
            "currency": pd.Series([currency] * len(rows), dtype=object),
        }
    )
    return frame[list(LEDGER_COLUMNS)]


def _trades(
    rows: np.ndarray[Any, Any], positions: list[tuple[str, str]], config: BacktestConfig
) -> pd.DataFrame:
    return trades_frame(
        (
            *positions[int(r[layout.T_SYMBOL])],
            "long" if r[layout.T_SIDE] > 0 else "short",
            int(r[layout.T_ENTRY_TIME]),
            int(r[layout.T_EXIT_TIME]),
            r[layout.T_ENTRY_PRICE],
            r[layout.T_EXIT_PRICE],
            r[layout.T_SIZE],
            r[layout.T_LEVERAGE],
            config.margin_mode,
            r[layout.T_PNL],
            r[layout.T_FEES],
            r[layout.T_FUNDING],
            _ORIGINS[int(r[layout.T_REASON])],
        )
        for r in rows
    )


def _orders(rows: np.ndarray[Any, Any], positions: list[tuple[str, str]]) -> pd.DataFrame:
    ordered = rows[np.argsort(rows[:, layout.O_ID], kind="stable")] if len(rows) else rows
    symbol_leg = [(s, None if leg == "BOTH" else leg) for s, leg in positions]
    return orders_frame(
        (
            int(r[layout.O_ID]),
            *symbol_leg[int(r[layout.O_SYMBOL])],
            "buy" if r[layout.O_SIDE] > 0 else "sell",
            str(_TYPES[int(r[layout.O_TYPE])]),
            r[layout.O_SIZE],
            r[layout.O_PRICE],
            bool(r[layout.O_REDUCE_ONLY]),
            _ORIGINS[int(r[layout.O_ORIGIN])],
            _TAGS[int(r[layout.O_TAG])],
            None,
            int(r[layout.O_CREATED]),
            str(_STATUSES[int(r[layout.O_STATUS])]),
            _REASONS[int(r[layout.O_REASON])],
            "",
            None if math.isnan(r[layout.O_FILL_TIME]) else int(r[layout.O_FILL_TIME]),
            r[layout.O_FILL_PRICE],
            r[layout.O_FILLED_SIZE],
            r[layout.O_FEE],
        )
        for r in ordered
    )
