"""Futures runs whose collateral is pooled by the venue's account type (``account_type``).

Hyperliquid's *standard* account keeps a cross pool per DEX, its *unified* account one per
collateral token (MARGIN_SPEC.md §12): a position's collateral, its liquidation price and its
liquidation are its pool's alone. :class:`~levtrade.margin.scopes.ScopedAccount` decides the
pools and holds each pool's :class:`~levtrade.margin.Account`. Here each pool's symbols run in
an event :class:`~levtrade.backtest.engine.Engine` of their own, on that pool's account and
the run's one time axis, and the engines walk each bar together
(:meth:`~levtrade.backtest.engine.Engine.run_until`): within a pool the bar order of
docs/backtest.md, across pools nothing shared but the clock and one sequence of order ids.

A signal table runs the signal rules in each pool on the pool's symbols: an entry is funded by
its own pool, so ``stake_amount = "unlimited"`` and ``max_open_trades`` count per pool. A
:class:`~levtrade.strategy.base.Strategy` sees one run through :class:`ScopedContext`, the
trading port over the pools' engines: an order goes to the engine of its symbol, the account
is the ScopedAccount (total equity, the worst pool's margin ratio, every pool's positions), and
``next()`` runs once per bar after every pool has walked it.

The result joins the pools: the trades, orders and ledger rows of every pool, by time; equity,
wallet and maintenance margin summed over the pools, the margin ratio the worst pool's. The
compiled kernel holds one account, so it does not run these (``engine="auto"`` runs them here).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from levtrade.backtest.driver import Driver
from levtrade.backtest.engine import Engine
from levtrade.backtest.event_driver import EventDriver
from levtrade.backtest.market import RunData, prepare
from levtrade.backtest.metrics import compute_metrics
from levtrade.backtest.progress import Progress
from levtrade.backtest.results import (
    LEDGER_COLUMNS,
    Analyzer,
    BacktestResult,
    decision,
    ledger_frame,
    order_row,
    orders_frame,
    run_analyzers,
    run_metadata,
    series_frame,
    trade_row,
    trades_frame,
)
from levtrade.backtest.signal_exec import SignalDriver
from levtrade.data import MarketData, Portfolio
from levtrade.errors import ConfigError, StrategyError
from levtrade.margin.scopes import ScopedAccount
from levtrade.model.instrument import Instrument
from levtrade.model.orders import Order, OrderType, Trade
from levtrade.model.positions import PositionKey
from levtrade.spec import BacktestConfig, RunSpec
from levtrade.strategy.base import Strategy
from levtrade.strategy.context import PositionSync
from levtrade.strategy.signals import Signals

SCOPED_NOTE = (
    "collateral pooled by account type: each pool runs on the event engine with its own "
    "balance (the compiled kernel holds one account)"
)


class _PoolDriver:
    """One pool engine's driver in a Strategy run: it hands the engine's order and trade
    notifications to the strategy's driver; the strategy decides once per bar for every pool
    (:meth:`ScopedContext.run`)."""

    no_before_path = True

    def __init__(self, strategy: Driver) -> None:
        self.strategy = strategy

    def start(self, engine: Any) -> None:
        return None

    def before_path(self, i: int) -> None:
        return None

    def on_order(self, order: Order) -> None:
        self.strategy.on_order(order)

    def on_trade(self, trade: Trade) -> None:
        self.strategy.on_trade(trade)

    def trail(self, order: Order, price: float) -> None:
        self.strategy.trail(order, price)

    def on_close(self, i: int) -> None:
        return None

    def finish(self) -> None:
        return None


class ScopedContext:
    """A futures run over collateral pools (module docstring): the pools' engines, stepped
    together, and the trading port a strategy sees over them."""

    def __init__(
        self,
        data: MarketData | Portfolio,
        spec: RunSpec,
        *,
        strategy: EventDriver | None = None,
        signals: Signals | None = None,
    ) -> None:
        config = spec.config
        if config.account_type is None:
            raise ConfigError("account_type: a scoped run needs one ('standard' or 'unified')")
        self.spec = spec
        self.config: BacktestConfig = config
        self.run_data: RunData = prepare(data, config)
        rd = self.run_data
        self.n = rd.bars
        self.symbols: tuple[str, ...] = rd.symbols
        self.instruments: tuple[Instrument, ...] = spec.instruments
        self.hedge = config.position_mode == "hedge"
        self.liquidation_buffer = config.liquidation_buffer
        self.driver = strategy
        self.account = ScopedAccount(
            spec.venue,
            config.account_type,
            config.wallet_balances,
            tier_provider=spec.tier_table,
            position_mode=config.position_mode,
            default_leverage=config.leverage,
            default_margin_mode=config.margin_mode,
            time=int(rd.timestamps[0]),
        )
        """The pools (a strategy's ``self.account``)."""
        funded = set(self.account.pools)
        groups: dict[str, list[int]] = {}
        for j, instrument in enumerate(self.instruments):
            pool = self.account.pool_of(instrument)
            if pool not in funded:
                raise ConfigError(
                    f"wallet_balances: no balance for pool {pool!r}, where {instrument.symbol} "
                    f"trades in a {config.account_type} account (pools: {', '.join(funded)})"
                )
            self.account.account_for(instrument)  # its collateral is the pool's
            groups.setdefault(pool, []).append(j)
        idle = sorted(funded - set(groups))
        if idle:
            raise ConfigError(
                f"wallet_balances: pool(s) {', '.join(idle)} trade none of the run's symbols"
            )
        self.pools = {pool: [self.symbols[j] for j in columns] for pool, columns in groups.items()}
        unknown = sorted(set(signals.by_symbol) - set(self.symbols)) if signals is not None else []
        if unknown:
            raise ConfigError(
                f"signals: symbol(s) {', '.join(unknown)} are not in the market data "
                f"({', '.join(self.symbols)})"
            )
        ids = itertools.count(1)
        self.engines: list[Engine] = []
        self._where: dict[str, tuple[Engine, int]] = {}
        self.sizes: list[dict[str, float]] = [{} for _ in self.symbols]
        self.position_views: list[PositionSync] = []
        for pool, columns in groups.items():
            names = [self.symbols[j] for j in columns]
            driver: Driver
            if strategy is not None:
                driver = _PoolDriver(strategy)
            elif signals is not None:
                driver = SignalDriver(
                    Signals(
                        {s: t for s, t in signals.by_symbol.items() if s in names}, signals.rules
                    )
                )
            else:
                raise ConfigError("strategy: a scoped run needs a strategy or a signal table")
            engine = Engine(
                rd.select(columns),
                config,
                driver,
                account=self.account.account(pool),
                order_ids=ids,
            )
            engine.position_views = self.position_views
            for k, j in enumerate(columns):
                self.sizes[j] = engine.sizes[k]
                self._where[self.symbols[j]] = (engine, k)
            self.engines.append(engine)
        self._ids = ids
        self._submitted: list[tuple[Order, float, float]] = []
        self.i = -1

    # -- the trading port ---------------------------------------------------------------------

    @property
    def t(self) -> int:
        return int(self.run_data.timestamps[max(self.i, 0)])

    def marks_at_close(self) -> ScopedAccount:
        for engine in self.engines:
            engine.marks_at_close()
        return self.account

    def liquidation_price(self, column: int, leg: str, *, at_fill: bool = False) -> float | None:
        engine, k = self._where[self.symbols[column]]
        return engine.liquidation_price(k, leg, at_fill=at_fill)

    def position_entry(self, symbol: str, leg: str) -> tuple[float, float, float]:
        return self._engine(symbol).position_entry(symbol, leg)

    def new_id(self) -> int:
        return next(self._ids)

    def make_order(
        self, symbol: str, side: str, type_: OrderType, size: float, price: float, **fields: Any
    ) -> Order:
        return self._engine(symbol).make_order(symbol, side, type_, size, price, **fields)

    def submit(self, order: Order) -> Order:
        self._submitted.append((order, order.size, order.price))
        return self._engine(order.symbol).submit(order)

    @property
    def decisions(self) -> list[tuple[Any, ...]]:
        """Every order the strategy submitted, as submitted (for the look-ahead check)."""
        return [decision(order, size, price) for order, size, price in self._submitted]

    def cancel(self, order: Order) -> None:
        self._engine(order.symbol).cancel(order)

    @property
    def open_trades(self) -> dict[PositionKey, Trade]:
        return {key: t for engine in self.engines for key, t in engine.open_trades.items()}

    def _engine(self, symbol: str) -> Engine:
        where = self._where.get(symbol)
        if where is None:
            raise StrategyError(f"data: {symbol!r} is not in this run")
        return where[0]

    # -- the run ------------------------------------------------------------------------------

    def run(self, progress: Progress | None = None) -> None:
        """Walk every bar in every pool, the strategy deciding after each; then close what is
        open at the last close, pool by pool."""
        strategy = self.driver
        if strategy is not None:
            strategy.start(self)
        every = max(1, self.n // 200)
        for i in range(self.n):
            for engine in self.engines:
                engine.run_until(i + 1)
            if strategy is not None:
                self.i = i
                before = [len(engine.account.ledger) for engine in self.engines]
                strategy.on_close(i)
                for engine, length in zip(self.engines, before, strict=True):
                    if len(engine.account.ledger) != length:  # the strategy changed it
                        engine.account_changed()
            if progress is not None and (i + 1) % every == 0:
                progress.advance(i + 1)
        for engine in self.engines:
            engine.finish()
        if strategy is not None:
            strategy.finish()

    def result(self, analyzers: Sequence[Analyzer] = ()) -> BacktestResult:
        """The pools' tables joined (module docstring)."""
        rd = self.run_data
        engines = self.engines
        trades = trades_frame(
            trade_row(t)
            for t in sorted((t for e in engines for t in e.trades), key=lambda t: t.exit_time or 0)
        )
        orders = orders_frame(
            order_row(o) for o in sorted((o for e in engines for o in e.orders), key=_id)
        )
        frames = [ledger_frame(e.account.ledger) for e in engines]
        ledger = (
            pd.concat(frames, ignore_index=True).sort_values("time", kind="stable")
            if frames
            else pd.DataFrame({c: [] for c in LEDGER_COLUMNS})
        ).reset_index(drop=True)
        parts = [e.series() for e in engines]
        columns: dict[str, np.ndarray[Any, Any]] = {
            name: np.sum([p[name] for p in parts], axis=0)
            for name in ("equity", "cross_equity", "maintenance_margin", "wallet")
        }
        columns["margin_ratio"] = np.max([p["margin_ratio"] for p in parts], axis=0)
        of = {engine: part for engine, part in zip(engines, parts, strict=True)}
        for prefix in ("liq:", "notional:"):
            for symbol in self.symbols:
                part = of[self._where[symbol][0]]
                name = prefix + symbol
                mine = {k: v for k, v in part.items() if k == name or k.startswith(name + ":")}
                columns.update(mine)
        series = series_frame(rd.timestamps, columns, copy=False)
        config = self.config
        metrics = compute_metrics(
            series, trades, ledger, initial=config.wallet, timeframe_ms=rd.timeframe_ms
        )
        covered = math.fsum(
            e.account.insurance_fund.balance(e.account.currency or "") for e in engines
        )
        metadata = run_metadata("event", rd, self.spec.venue.name, covered)
        metadata["account_type"] = config.account_type
        metadata["pools"] = dict(self.pools)
        metadata["notes"] = [SCOPED_NOTE]
        result = BacktestResult(
            trades=trades,
            orders=orders,
            ledger=ledger,
            series=series,
            metrics=metrics,
            config=config,
            metadata=metadata,
            spec=self.spec,
            scoped_account=self.account,
        )
        run_analyzers(result, analyzers)
        return result


def _id(order: Order) -> int:
    return order.id


def run_scoped(
    strategy: type[Strategy] | Signals,
    data: MarketData | Portfolio,
    spec: RunSpec,
    *,
    params: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    analyzers: Sequence[Analyzer] = (),
) -> BacktestResult:
    """Run a :class:`Strategy` class or a signal table with collateral pooled by the config's
    ``account_type`` (module docstring)."""
    if isinstance(strategy, Signals):
        context = ScopedContext(data, spec, signals=strategy)
    else:
        context = ScopedContext(data, spec, strategy=EventDriver(strategy, params))
    context.run(progress)
    if progress is not None:
        progress.advance(len(data))
    return context.result(analyzers)
