"""The compiled signal kernel: ``run_signals(data, signals, config) -> BacktestResult``.

The same contract and the same result as the event engine's
:func:`levtrade.backtest.engine.run_signals` (docs/backtest.md; the agreement tests hold the
two to 1e-9), at compiled speed: this module turns the market data, the signal table and the
config into plain arrays (read as the event engine reads them: its
:func:`levtrade.backtest.market.prepare`, or for one market :func:`single_run`, which the tests
hold to the same arrays), runs :func:`levtrade.backtest.kernel_core.simulate` (its
ahead-of-time build, :mod:`levtrade.backtest.kernel_aot`, where installed), and builds the
trades, orders, ledger and series tables from the core's arrays on their first read
(:func:`build`).

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

import functools
import math
import time
from collections.abc import Callable
from typing import Any, Final

import numpy as np
import pandas as pd

from levtrade.backtest import kernel_aot, kernel_core
from levtrade.backtest import kernel_layout as layout
from levtrade.backtest.kernel_core import ByteArray, FloatArray
from levtrade.backtest.market import HOUR_MS, RunData, prepare
from levtrade.backtest.metrics import (
    held_bars,
    is_fund_book,
    is_trader_book,
    ledger_flows,
    summary,
)
from levtrade.backtest.results import (
    LEDGER_COLUMNS,
    ORDER_COLUMNS,
    TRADE_COLUMNS,
    BacktestResult,
    RunFigures,
    orders_frame,
    run_metadata,
    series_frame,
    text_column,
    text_dtype,
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
from levtrade.strategy.signals import SignalRules, Signals, SymbolSignals, unset_column

__all__ = [
    "KINDS",
    "KernelInputs",
    "book_names",
    "build",
    "first_capacity",
    "prepare_inputs",
    "run_figures",
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
        entries: int,
    ) -> None:
        self.run = run
        self.spec = spec
        self.config = spec.config
        self.venue = spec.venue
        self.instruments = list(spec.instruments)
        self.market = market
        self.signals = signals
        self.context = context
        self.entries = entries
        """Bars with an executed entry signal, over every symbol (the tables' first guess)."""
        funding = run.funding
        # one symbol's column is the bars' flags as they are (a view where the core may take
        # it: contiguous and writable, as its signature asks); several are reduced
        self.funded_bars = np.require(
            funding[:, 0] if funding.shape[1] == 1 else funding.any(axis=1),
            dtype=np.bool_,
            requirements=["C", "W"],
        )

    def simulate(
        self, simulate: Callable[..., Any] | None = None
    ) -> tuple[np.ndarray[Any, Any], ...]:
        """Run the compiled core (``simulate``: a build of it, by default the one
        :func:`kernel_aot.simulate_function` picks): (ledger, trades, orders, state log,
        account scalars). A table that overflowed its first guess is sized exactly and the
        run repeated."""
        if simulate is None:
            _, simulate = kernel_aot.simulate_function()
        sizes = list(first_capacity(self))
        while True:
            out = (
                np.empty((sizes[0], layout.N_LEDGER)),
                np.empty((sizes[1], layout.N_TRADES)),
                np.empty((sizes[2], layout.N_ORDERS)),
                np.zeros(layout.N_COUNTERS, dtype=np.int64),
                np.empty((sizes[3], layout.N_LOG)),
            )
            account = simulate(
                np.ascontiguousarray(self.run.timestamps, dtype=np.int64),
                self.market,
                self.funded_bars,
                self.signals,
                self.context,
                out,
            )
            counts = [int(c) for c in out[3]]
            if all(c <= size for c, size in zip(counts, sizes, strict=True)):
                break
            sizes = [max(c, size) for c, size in zip(counts, sizes, strict=True)]
        tables = (out[0], out[1], out[2], out[4])
        ledger, trades, orders, log = (t[:c] for t, c in zip(tables, counts, strict=True))
        return ledger, trades, orders, log, account

    def series(
        self, log: np.ndarray[Any, Any], replay: Callable[..., Any] | None = None
    ) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """The per-bar series of a run from its state ``log`` (``replay``: a build of
        :func:`kernel_core.replay_series`, by default the one of the chosen backend):
        (account columns ``S_*``, liquidation prices per position row, notionals per
        symbol)."""
        if replay is None:
            replay = kernel_aot.series_function()
        n, m = self.run.bars, self.run.width
        rows = m * (2 if self.config.position_mode == "hedge" else 1)
        series = (np.empty((n, layout.N_SERIES)), np.empty((n, rows)), np.empty((n, m)))
        carried = _read_only(_carried(self.run.mark_close))
        replay(np.ascontiguousarray(log), self.market, carried, self.context, series)
        return series


def first_capacity(inputs: KernelInputs) -> tuple[int, int, int, int]:
    """First guess of the ledger, trades, orders and state log sizes: a few rows per entry
    signal (each trade opens on one; its orders are the entry, the exit and the rules' stop
    and take-profit) and per funding event. A run that needs more is repeated with the exact
    sizes."""
    entries = inputs.entries
    funding_events = int(np.count_nonzero(inputs.market[kernel_core.MK_FUNDED]))
    return (
        64 + 8 * entries + funding_events,
        16 + entries,
        64 + 4 * entries,
        64 + 4 * entries + 2 * funding_events,
    )


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
    leverage: list[np.ndarray[Any, Any]] = []
    stake: list[np.ndarray[Any, Any]] = []
    hedge = config.position_mode == "hedge"
    executed = _executed_bits(signals.rules, hedge)
    entries = 0
    for j, symbol in enumerate(run.symbols):
        table = signals.by_symbol.get(symbol)
        if table is None:
            leverage.append(unset_column(n))
            stake.append(unset_column(n))
            continue
        if table.bars != n:
            raise ConfigError(f"signals[{symbol!r}]: {table.bars} bars, the market data has {n}")
        entries += _signal_bits(table, executed, bits, j)
        leverage.append(table.leverage)
        stake.append(table.stake)

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
        _read_only(funding_price),
        _read_only(run.funding_rate),
        _read_only(run.funding),
        _read_only(run.active),
    )
    last_active = [_last_true(market[-1][:, j]) for j in range(m)]
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
    per_bar = (bits, _columns(leverage, n), _columns(stake, n))
    return KernelInputs(run, spec, market, per_bar, context, entries)


_RAW_FLAGS: Final = ("enter_long", "exit_long", "enter_short", "exit_short")
"""A table's flags in the order of their bits in a raw code (bit k: flag k)."""


def _executed_bits(rules: SignalRules, hedge: bool) -> np.ndarray[Any, Any]:
    """The core's signal bits (``SIG_*``) for each of the 16 raw codes of a bar's four flags:
    what :meth:`SymbolSignals.executed` keeps of them under ``rules``, and the ROI holds
    (the bar's own entry signals). Read off ``executed`` itself, applied to a table of the
    16 combinations, so the rule has one definition."""
    codes = np.arange(16)
    raw = {name: (codes >> k) & 1 == 1 for k, name in enumerate(_RAW_FLAGS)}
    acted = SymbolSignals.from_arrays(16, **raw).executed(rules, hedge=hedge)
    table = np.zeros(16, dtype=np.uint8)
    for values, bit in (
        (acted.enter_long, layout.SIG_ENTER_LONG),
        (acted.exit_long, layout.SIG_EXIT_LONG),
        (acted.enter_short, layout.SIG_ENTER_SHORT),
        (acted.exit_short, layout.SIG_EXIT_SHORT),
        (raw["enter_long"], layout.SIG_ROI_HOLD_LONG),
        (raw["enter_short"], layout.SIG_ROI_HOLD_SHORT),
    ):
        table[values] |= bit
    return table


def _signal_bits(
    table: SymbolSignals, executed: np.ndarray[Any, Any], bits: np.ndarray[Any, Any], j: int
) -> int:
    """Write symbol ``j``'s column of the run's signal bits (:func:`kernel_core.code_signals`
    of the chosen build: each bar's four flags mapped through ``executed``,
    :func:`_executed_bits`). Returns the bars with an executed entry."""
    flags = [np.ascontiguousarray(getattr(table, name), dtype=np.bool_) for name in _RAW_FLAGS]
    code = kernel_aot.signals_function()
    return int(code(*flags, executed, bits, j))


def _columns(columns: list[np.ndarray[Any, Any]], n: int) -> np.ndarray[Any, Any]:
    """The symbols' per-bar values as the array of floats the core takes: (1, m) when every
    symbol's column is one value repeated (a zero stride: no per-bar values were given; the
    core then reads row 0 at every bar), else (n, m): one symbol's column as it is when it
    can be (the core only reads it, but its signature asks for a writable array), several
    stacked."""
    if all(column.strides == (0,) for column in columns):
        return np.array([[float(column[0]) if n else math.nan for column in columns]])
    if len(columns) > 1:
        return np.column_stack(columns).astype(np.float64, copy=False)
    column = np.ascontiguousarray(columns[0], dtype=np.float64)
    return (column if column.flags.writeable else column.copy()).reshape(n, 1)


def _last_true(column: np.ndarray[Any, Any]) -> int:
    """The last bar where ``column`` is set (−1: none), searched from the end (a symbol
    listed to the last bar is found at once)."""
    if not column.size:
        return -1
    if column[-1]:
        return int(column.shape[0]) - 1
    backwards = column[::-1]
    k = int(np.argmax(backwards))
    return column.shape[0] - 1 - k if backwards[k] else -1


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
    # without mark candles the trade candles stand in for them: the same (read-only) arrays
    marks = {k: column(getattr(data.mark, k)) if data.mark is not None else trade[k] for k in trade}
    # without index candles no oracle price: one NaN seen through zero strides (the kernel
    # reads the oracle only on venues that fund at it, through np.where)
    oracle = (
        np.broadcast_to(np.float64(np.nan), (n, 1))
        if data.index is None
        else column(data.index.open)
    )
    rate = column(data.funding_rate)
    events = column(data.funding_mask)
    constant: tuple[str, ...] = ()
    if config.funding_rate is not None and len(data.funding) == 0:
        interval = round(config.funding_interval_hours * HOUR_MS)
        ts = data.timestamps
        count = (ts + data.timeframe_ms - 1) // interval - (ts - 1) // interval
        rate = (count * config.funding_rate).astype(np.float64).reshape(n, 1)
        events = (count > 0).reshape(n, 1)
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
    """Mark closes carried through bars a symbol has no data for (as Engine.series); without
    a gap the closes themselves (the carry is then the identity)."""
    n = mark_close.shape[0]
    gaps = np.isnan(mark_close)
    if not gaps.any():
        return mark_close
    out = np.empty_like(mark_close)
    for j in range(mark_close.shape[1]):
        column = mark_close[:, j]
        valid = ~gaps[:, j]
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
    start = time.perf_counter()
    inputs = prepare_inputs(data, signals, config)
    laid_out = time.perf_counter()
    outputs = inputs.simulate()
    simulated = time.perf_counter()
    result = build(KernelRun(inputs, outputs))
    result.timings.update(prepare_s=laid_out - start, simulate_s=simulated - laid_out)
    return result


def run_figures(
    data: MarketData | Portfolio, signals: Signals, config: BacktestConfig | RunSpec
) -> RunFigures:
    """The figures of :func:`run_signals` (its metrics and rejected orders by reason) from
    the kernel's arrays, without building a table: a sweep's run."""
    inputs = prepare_inputs(data, signals, config)
    return figures(KernelRun(inputs, inputs.simulate()))


class KernelRun:
    """A finished kernel run: the tables :func:`kernel_core.simulate` wrote, and its series
    replayed from the state log on first use (a caller who reads neither the series nor the
    metrics never computes them)."""

    def __init__(self, inputs: KernelInputs, outputs: tuple[np.ndarray[Any, Any], ...]) -> None:
        ledger, trades, orders, log, account = outputs
        if account[layout.A_POSITIONS] > 0:  # no figure of the run would be whole
            raise BacktestError("end_of_data: the kernel could not close every position")
        self.inputs = inputs
        self.ledger = ledger
        self.trades = trades
        self.orders = orders
        self.log = log
        self.account = account

    @functools.cached_property
    def series(self) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """(account columns ``S_*``, liquidation prices, notionals) per bar."""
        return self.inputs.series(self.log)


def figures(run: KernelRun) -> RunFigures:
    """The :class:`RunFigures` of a kernel run."""
    orders = run.orders
    rejected = orders[orders[:, layout.O_STATUS] == layout.STATUS_REJECTED, layout.O_REASON]
    codes, counts = np.unique(rejected.astype(np.int64), return_counts=True)
    by_reason = {_REASONS[int(c)]: int(k) for c, k in zip(codes, counts, strict=True)}
    return RunFigures(_metrics(run), dict(sorted(by_reason.items())))


def _metrics(run: KernelRun) -> dict[str, Any]:
    """The metrics :func:`~levtrade.backtest.metrics.compute_metrics` reads from the result's
    tables, read from the kernel's arrays."""
    inputs = run.inputs
    ledger, trades = run.ledger, run.trades
    series, _, notional = run.series
    books = book_names(_positions(inputs.run.symbols, inputs.config))
    trader = np.array([is_trader_book(book) for book in books], dtype=np.bool_)
    fund = np.array([is_fund_book(book) for book in books], dtype=np.bool_)
    into = ledger[:, layout.L_DESTINATION].astype(np.intp)
    out_of = ledger[:, layout.L_SOURCE].astype(np.intp)
    kinds = ledger[:, layout.L_KIND]

    def is_kind(kind: str) -> np.ndarray[Any, Any]:
        return np.asarray(kinds == KINDS.index(kind))

    flows = ledger_flows(
        np.ascontiguousarray(ledger[:, layout.L_AMOUNT]),
        is_kind,
        into_trader=trader[into],
        from_trader=trader[out_of],
        to_fund=fund[into],
        from_fund=fund[out_of],
    )
    reasons = trades[:, layout.T_REASON]
    return summary(
        np.asarray(inputs.run.timestamps, dtype=np.int64),
        series[:, layout.S_EQUITY],
        held=held_bars([notional[:, j] for j in range(notional.shape[1])]),
        pnl=np.ascontiguousarray(trades[:, layout.T_PNL]),
        liquidations=int(np.count_nonzero(reasons == layout.ORIGIN_LIQUIDATION)),
        flows=flows,
        initial=inputs.config.wallet,
        timeframe_ms=inputs.run.timeframe_ms,
    )


def build(run: KernelRun) -> BacktestResult:
    """The :class:`BacktestResult` of a kernel run: each table, the series and the metrics
    built from the arrays on their first read."""
    inputs = run.inputs
    config = inputs.config
    positions = _positions(inputs.run.symbols, config)
    currency = inputs.instruments[0].margin_currency
    fund = float(run.account[layout.A_FUND])
    return BacktestResult.deferred(
        {
            "trades": lambda: _trades(run.trades, positions, config),
            "orders": lambda: _orders(run.orders, positions),
            "ledger": lambda: _ledger(run.ledger, positions, currency),
            "series": lambda: _series(inputs.run, positions, *run.series),
            "metrics": lambda: pd.Series(_metrics(run), dtype=object),
        },
        config=config,
        # no position is left open (KernelRun checks): the equity is the cross wallet
        metadata=run_metadata(
            "compiled", inputs.run, inputs.venue.name, fund, float(run.account[layout.A_WALLET])
        ),
        spec=inputs.spec,
    )


def _series(
    run: RunData,
    positions: list[tuple[str, str]],
    series: np.ndarray[Any, Any],
    liq: np.ndarray[Any, Any],
    notional: np.ndarray[Any, Any],
) -> pd.DataFrame:
    columns: dict[str, np.ndarray[Any, Any]] = {
        "equity": series[:, layout.S_EQUITY],
        "cross_equity": series[:, layout.S_CROSS_EQUITY],
        "maintenance_margin": series[:, layout.S_MAINTENANCE],
        "margin_ratio": series[:, layout.S_MARGIN_RATIO],
        "wallet": series[:, layout.S_WALLET],
    }
    columns.update(
        {
            f"liq:{s}" if leg == "BOTH" else f"liq:{s}:{leg}": liq[:, r]
            for r, (s, leg) in enumerate(positions)
        }
    )
    columns.update({f"notional:{s}": notional[:, j] for j, s in enumerate(run.symbols)})
    # the kernel's arrays are this frame's alone: taken over, not copied into one block
    return series_frame(run.timestamps, columns, copy=False)


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


def _coded(names: dict[int, Any], codes: np.ndarray[Any, Any], text: Any) -> Any:
    """The text column of the names of ``codes`` (a code table of the layout)."""
    lookup = [names.get(code) for code in range(max(names) + 1)]
    return text_column([None if name is None else str(name) for name in lookup], codes, text)


def _trades(
    rows: np.ndarray[Any, Any], positions: list[tuple[str, str]], config: BacktestConfig
) -> pd.DataFrame:
    if not len(rows):
        return trades_frame([])
    row = rows[:, layout.T_SYMBOL].astype(np.intp)
    text = text_dtype()
    columns = {
        "symbol": text_column([s for s, _ in positions], row, text),
        "leg": text_column([leg for _, leg in positions], row, text),
        "side": text_column(["short", "long"], rows[:, layout.T_SIDE] > 0, text),
        "entry_time": rows[:, layout.T_ENTRY_TIME].astype(np.int64),
        "exit_time": rows[:, layout.T_EXIT_TIME].astype(np.int64),
        "entry_price": rows[:, layout.T_ENTRY_PRICE].copy(),
        "exit_price": rows[:, layout.T_EXIT_PRICE].copy(),
        "size": rows[:, layout.T_SIZE].copy(),
        "leverage": rows[:, layout.T_LEVERAGE].copy(),
        "margin_mode": text_column([config.margin_mode], np.zeros(len(rows), dtype=np.intp), text),
        "pnl": rows[:, layout.T_PNL].copy(),
        "fees": rows[:, layout.T_FEES].copy(),
        "funding": rows[:, layout.T_FUNDING].copy(),
        "exit_reason": _coded(_ORIGINS, rows[:, layout.T_REASON].astype(np.intp), text),
    }
    return pd.DataFrame({name: columns[name] for name in TRADE_COLUMNS}, copy=False)


def _orders(rows: np.ndarray[Any, Any], positions: list[tuple[str, str]]) -> pd.DataFrame:
    if not len(rows):
        return orders_frame([])
    ordered = rows[np.argsort(rows[:, layout.O_ID], kind="stable")]
    n = len(ordered)
    row = ordered[:, layout.O_SYMBOL].astype(np.intp)
    fill_time = ordered[:, layout.O_FILL_TIME]
    unfilled = np.isnan(fill_time)
    text = text_dtype()
    columns = {
        "id": ordered[:, layout.O_ID].astype(np.int64),
        "symbol": text_column([s for s, _ in positions], row, text),
        "leg": text_column([None if leg == "BOTH" else leg for _, leg in positions], row, text),
        "side": text_column(["sell", "buy"], ordered[:, layout.O_SIDE] > 0, text),
        "type": _coded(_TYPES, ordered[:, layout.O_TYPE].astype(np.intp), text),
        "size": ordered[:, layout.O_SIZE].copy(),
        "price": ordered[:, layout.O_PRICE].copy(),
        "reduce_only": ordered[:, layout.O_REDUCE_ONLY].astype(np.bool_),
        "origin": _coded(_ORIGINS, ordered[:, layout.O_ORIGIN].astype(np.intp), text),
        "tag": _coded(_TAGS, ordered[:, layout.O_TAG].astype(np.intp), text),
        "parent": pd.arrays.IntegerArray(np.zeros(n, np.int64), np.ones(n, np.bool_)),
        "created_time": ordered[:, layout.O_CREATED].astype(np.int64),
        "status": _coded(_STATUSES, ordered[:, layout.O_STATUS].astype(np.intp), text),
        "reason": _coded(_REASONS, ordered[:, layout.O_REASON].astype(np.intp), text),
        "message": text_column([""], np.zeros(n, dtype=np.intp), text),
        "fill_time": pd.arrays.IntegerArray(
            np.where(unfilled, 0.0, fill_time).astype(np.int64), unfilled
        ),
        "fill_price": ordered[:, layout.O_FILL_PRICE].copy(),
        "filled_size": ordered[:, layout.O_FILLED_SIZE].copy(),
        "fee": ordered[:, layout.O_FEE].copy(),
    }
    return pd.DataFrame({name: columns[name] for name in ORDER_COLUMNS}, copy=False)
