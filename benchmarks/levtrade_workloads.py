"""levtrade's side of the peer benchmark: one function per workload kind (see ``README.md``).

The runner (``python -m benchmarks``) imports this module in a child process of the project's
interpreter and calls one function per measurement; each returns ``trades``, ``final_equity``,
``wall_s`` (the timed run) and ``warmup_s`` (the first, JIT/cache-loading call, measured
separately before it in the same process), plus a few descriptive keys the report ignores.

How levtrade is set up to follow the benchmark's rules (``workloads.py``):

* **Instrument**: every symbol trades with a lot of 1e-8, no minimum notional, maker = taker =
  the workload's fee on the notional, no slippage, cross margin, the workload's leverage and
  starting wallet.
* **Signal strategies** (workloads 1, 2 and 4) build the :class:`Signals` table from TA-Lib
  SMAs (``levtrade.strategy.indicators``) as levtrade's starter strategy does: ``enter_long``
  on the bar where fast > slow starts (``enter_short``: fast < slow), ``exit_long`` on every
  bar with fast < slow (``exit_short``: fast > slow), nothing before the workload's first
  decision bar (``cross_signals``). They run in the **compiled kernel**
  (``run(..., engine="compiled")``) with ``stake_amount="unlimited"`` and
  ``tradable_balance_ratio = (1 - 1e-12) / (1 + L·f)``: the margin is the available balance E
  (all of it: the account is flat after the exit) times that ratio, so the size is
  ``L·E / (P·(1 + L·f))``, the benchmark's rule.
* **Event engine** (workload 3): a :class:`Strategy` with SMA lines and ``next()`` that closes
  the position and opens the opposite one with ``stake="all"`` (the same size).
* **Funding and liquidation**: levtrade always tests liquidation (it has no switch to turn it
  off); without mark candles the trade candles stand in for the mark. Funding settles only
  when the data has funding events, so workloads 1 and 3 pay none. Workload 2 adds the data's
  funding events and its mark candles. The shared data has **1h mark candles for its 5m trade
  candles**; they come in with ``MarketData.build(..., coarse_mark="basis")``: inside each hour
  the 5m trade candles times the basis at the hour's open (mark open / trade open), so the
  mark is the published one at the hour (where funding settles) and the hour's later mark
  high/low/close is never used early. The result's ``mark`` key says what marked the bars.
  With a real mark the whole-balance stake has no room for the basis: a cross position's
  initial margin is taken at the mark (less its uPnL at the mark), so an entry filled on the
  wrong side of the mark needs a little more than the balance and is rejected
  (``insufficient_margin``, counted in ``rejected``); the symbol then waits for the next cross.
* **Portfolio** (workload 4): the symbols of ``workloads.portfolio_paths()`` (the harthor
  symbols with 5m candles inside the window), with their funding and their 1h mark candles
  (basis-adjusted as in workload 2), on one union axis, cross margin; tier tables from
  FreqTrade's Binance tier file in the shared data (levtrade ships BTC and ETH only). Each
  symbol runs the same SMA cross on its own bars. Sizing: ``stake_amount="unlimited"``
  (``max_open_trades`` unset) makes each entry's margin the available balance ×
  ``tradable_balance_ratio`` / the number of symbols without an open position, so the starting
  wallet is split equally among the symbols (listed yet or not) and an entry later takes its
  equal share of what is available then (after a flip: the symbol's freed margin and profit,
  plus the idle shares of symbols not listed yet).

Timed runs start from the candles in memory (workloads 1-3: the frame read from the cached
Parquet file; workload 4: the loaded members) and end with the :class:`BacktestResult`'s
trade table and final equity (``with_figures``: what the peers' timed runs end with),
including levtrade's conversion into ``MarketData``/``Portfolio``. Both engines build their
other tables (orders, ledger, series) and the metrics on first read, after the timer.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from benchmarks import workloads as wl
from levtrade.backtest import BacktestConfig, BacktestResult, InstrumentOverrides, Strategy, run
from levtrade.data import (
    Candles,
    FundingEvents,
    MarketData,
    Portfolio,
    load_freqtrade,
    load_market,
    make_candles,
    read_candles,
    read_funding,
)
from levtrade.errors import UnknownSymbolError
from levtrade.margin.vectorised import isolated_liquidation_prices
from levtrade.optimize import sweep
from levtrade.strategy import SignalStrategy
from levtrade.strategy import indicators as ind
from levtrade.strategy.signals import SignalRules, Signals, SymbolSignals
from levtrade.venues import default_tiers, load_tier_file

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
Result = dict[str, Any]
T = TypeVar("T")

WARMUP_BARS = 2_000
"""Bars of the warm-up run (the peers use the same prefix)."""
LOT = 1e-8
STAKE_ROUNDING = 1e-12
"""Kept back from the stake so the margin-plus-fee check never fails on rounding."""
MARK_BALANCE_SHARE = 0.99
"""Share of the balance staked when entries are margined on a mark (FreqTrade's default
``tradable_balance_ratio``)."""
TIERS_FILE = (
    wl.SHARED_DATA / "exchange_leverage_tiers" / "binance_leverage_tiers_freqtrade-2026.9.json"
)
"""Binance tier tables for the portfolio's symbols (levtrade ships BTC and ETH only)."""
CALC_SEED = 5
CALC_WARMUP = 1_000
"""Positions of the vectorised calculator's warm-up call (JIT/cache loading)."""
CLI_WARMUP = 10
"""Scenarios of the CLI's warm-up call (interpreter, imports, compiled-function cache)."""
CALC_VENUES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("binance", ("BTC/USDT:USDT", "ETH/USDT:USDT")),
    ("okx", ("BTC/USDT:USDT", "ETH/USDT:USDT")),
    ("bybit", ("BTC/USDT:USDT",)),
    ("hyperliquid", ("BTC/USDC:USDC", "ETH/USDC:USDC")),
    ("dydx", ("BTC/USDC:USDC", "ETH/USDC:USDC")),
)
"""Venues and symbols of the random scenarios: the tier tables levtrade ships."""
BASE_PRICE = {"BTC": 100_000.0, "ETH": 3_000.0}


# ----------------------------------------------------------------------------------- helpers


def timed(call: Callable[[], T]) -> tuple[T, float]:
    """``call()`` and its wall time in seconds."""
    start = time.perf_counter()
    value = call()
    return value, time.perf_counter() - start


class Stages:
    """Wall seconds of a timed run's stages, marked as it goes (one clock read per stage):
    ``market_s`` the candles into levtrade's structures (validation included), ``strategy_s``
    the strategy's indicators and signal table, ``run_s`` levtrade's ``run`` (of which
    ``prepare_s`` and ``simulate_s``, from :attr:`BacktestResult.timings`: the run's layout and
    its bar loop, the compiled core or the event engine), ``figures_s`` the trade table and
    the final equity."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def mark(self, name: str) -> None:
        """The stage ``name`` ends now (it began where the last one ended)."""
        now = time.perf_counter()
        self.seconds[f"{name}_s"] = now - self._last
        self._last = now

    def of(self, result: BacktestResult) -> dict[str, float]:
        """The stages, with the run's own from ``result``."""
        return {**self.seconds, **result.timings}


def outcome(result: BacktestResult, wall: float, warmup: float, **extra: Any) -> Result:
    """The runner's fields from a backtest result (final equity after the end-of-data close)."""
    return {
        "trades": len(result.trades),
        "final_equity": result.final_equity,
        "wall_s": wall,
        "warmup_s": warmup,
        **extra,
    }


def matching_config(
    workload: wl.Workload,
    symbols: Sequence[str],
    tiers: dict[str, list[dict[str, float]]] | None = None,
    *,
    balance_share: float = 1.0,
) -> BacktestConfig:
    """The run that follows the benchmark's model: lot 1e-8, no minimum notional, the taker fee
    as maker and taker fee, no slippage, the unlimited stake sized by the benchmark's rule on
    ``balance_share`` of the balance."""
    fee = workload.fee
    leverage = workload.leverage
    spec = InstrumentOverrides(lot_size=LOT, min_notional=0.0, maker_fee=fee, taker_fee=fee)
    return BacktestConfig(
        wallet=workload.equity,
        margin_mode="cross",
        leverage=leverage,
        slippage_bps=0.0,
        maker_fee=fee,
        taker_fee=fee,
        stake_amount="unlimited",
        tradable_balance_ratio=balance_share * (1.0 - STAKE_ROUNDING) / (1.0 + leverage * fee),
        instruments=dict.fromkeys(symbols, spec),
        tiers=tiers or {},
    )


def market_from_frame(
    frame: pd.DataFrame,
    workload: wl.Workload,
    *,
    mark: Candles | None = None,
    funding: FundingEvents | None = None,
) -> MarketData:
    """The frame's candles (UTC index; open, high, low, close, volume) as ``MarketData``."""
    trade = make_candles(
        frame.index,
        frame["open"].to_numpy(np.float64),
        frame["high"].to_numpy(np.float64),
        frame["low"].to_numpy(np.float64),
        frame["close"].to_numpy(np.float64),
        frame["volume"].to_numpy(np.float64),
        timeframe=workload.timeframe,
    )
    return MarketData.build(workload.symbol, trade, mark=mark, funding=funding, coarse_mark="basis")


def read_mark(path: str) -> Candles | None:
    """The mark candles in ``path`` (None without a mark file)."""
    return read_candles(path, kind="mark") if path else None


def mark_note(data: MarketData) -> str:
    """What marked ``data``'s bars, from what ``MarketData.build`` recorded."""
    if data.mark is None:
        return "trade candles (no mark file)"
    if data.metadata.get("mark_rule") == "basis":
        return f"{data.metadata['mark_timeframe']} mark candles, basis-adjusted to {data.timeframe}"
    return f"{data.timeframe} mark candles"


def sma_sides(close: FloatArray, workload: wl.Workload) -> tuple[BoolArray, BoolArray]:
    """Long and short targets at each bar's close (fast above / below slow), none before the
    workload's first decision bar."""
    fast = ind.SMA(close, workload.fast)
    slow = ind.SMA(close, workload.slow)
    long = np.asarray(fast > slow)
    short = np.asarray(fast < slow)
    long[: workload.decision_start] = False
    short[: workload.decision_start] = False
    return long, short


def cross_signals(bars: int, long: BoolArray, short: BoolArray, rows: Any = None) -> SymbolSignals:
    """The SMA cross as signals, as levtrade's starter strategy writes it: an entry on the bar
    where the target changes side (or first exists; a bar with equal averages keeps it), the
    exits on every bar of the other side. While every entry fills these are the trades of the
    level signals the peers use; after a liquidation or a rejected entry the symbol waits for
    the next cross instead of retrying at every bar. ``rows`` places a symbol's own bars on a
    portfolio axis."""
    # the side held, built in place: the target (+1 long, -1 short, 0 with equal averages or
    # before the first decision), where it is 0 the last non-zero target before it (0 before
    # the first); such bars are few, so they are filled run by run from the bar before each
    held = np.subtract(
        np.asarray(long, np.bool_).view(np.int8), np.asarray(short, np.bool_).view(np.int8)
    )
    ties = np.flatnonzero(held == 0)
    if ties.size:
        first = np.ones(ties.size, np.bool_)
        np.not_equal(ties[1:], ties[:-1] + 1, out=first[1:])
        # the bar before each run holds a non-zero target (or is -1): read before any write
        before = ties[first][np.cumsum(first) - 1] - 1
        held[ties] = np.where(before >= 0, held[np.maximum(before, 0)], 0)
    changed = np.empty(held.size, np.bool_)
    changed[:1] = held[:1] != 0
    np.not_equal(held[1:], held[:-1], out=changed[1:])
    enter_long = np.equal(held, 1)
    np.logical_and(enter_long, changed, out=enter_long)
    enter_short = np.equal(held, -1)
    np.logical_and(enter_short, changed, out=enter_short)
    columns = {
        "enter_long": enter_long,
        "enter_short": enter_short,
        "exit_long": short,
        "exit_short": long,
    }
    if rows is not None:
        for name, values in columns.items():
            on_axis = np.zeros(bars, np.bool_)
            on_axis[rows] = values
            columns[name] = on_axis
    # handed over read-only (``long`` and ``short`` too, as the exits of one symbol): the
    # table shares flags nothing can write instead of copying them
    for values in columns.values():
        values.flags.writeable = False
    return SymbolSignals.from_arrays(bars, **columns)


# ------------------------------------------------------------------ workloads 1 and 2: kernel


def with_figures(result: BacktestResult) -> None:
    """Read the figures the peers' timed runs end with: build the trade table (a run builds
    its tables on first read) and read the final equity. The other tables (orders, ledger,
    series) and the metrics stay unread inside the timer, as the peers' do."""
    if result.trades.empty and result.metrics["trades"] != 0:
        raise AssertionError("a run with trades built an empty trade table")
    if not math.isfinite(result.final_equity):
        raise AssertionError(f"final equity {result.final_equity!r}")


def signal_sma_cross(workload: wl.Workload, *, funding: bool, liquidation: bool) -> Result:
    """The SMA cross as a signal table in the compiled kernel (workloads 1 and 2)."""
    frame = workload.frame()
    events = read_funding(workload.funding_path) if funding and workload.funding_path else None
    mark = read_mark(workload.mark_path) if liquidation else None
    # initial margin on the mark: an all-in entry filled on the wrong side of the mark would be
    # short of margin, so with a mark the stake leaves FreqTrade's default 1 % of headroom
    share = MARK_BALANCE_SHARE if mark is not None else 1.0
    config = matching_config(workload, [workload.symbol], balance_share=share)
    rules = SignalRules(can_short=True)

    def backtest(candles: pd.DataFrame) -> tuple[BacktestResult, MarketData, Stages]:
        stages = Stages()
        data = market_from_frame(candles, workload, mark=mark, funding=events)
        stages.mark("market")
        long, short = sma_sides(data.close, workload)
        signals = Signals({workload.symbol: cross_signals(len(data), long, short)}, rules)
        stages.mark("strategy")
        result = run(signals, data, config, engine="compiled")
        stages.mark("run")
        with_figures(result)
        stages.mark("figures")
        return result, data, stages

    _, warmup = timed(lambda: backtest(frame.iloc[:WARMUP_BARS]))
    (result, data, stages), wall = timed(lambda: backtest(frame))
    return outcome(
        result,
        wall,
        warmup,
        stages=stages.of(result),
        mark=mark_note(data),
        funding_events=0 if events is None else len(events),
        liquidations=int((result.trades["exit_reason"] == "liquidation").sum()),
        rejected=int((result.orders["status"] == "rejected").sum()),
        funding=float(result.trades["funding"].sum()),
    )


# ----------------------------------------------------------------- workload 7: the sweep


class SweepSma(SignalStrategy):
    """The SMA cross as a signal strategy with its averages as parameters (its signals as
    ``cross_signals`` writes them)."""

    can_short = True
    fast = wl.FAST
    slow = wl.SLOW

    def populate_indicators(
        self, dataframe: pd.DataFrame, metadata: dict[str, Any]
    ) -> pd.DataFrame:
        dataframe["fast"] = ind.SMA(dataframe["close"], self.fast)
        dataframe["slow"] = ind.SMA(dataframe["close"], self.slow)
        return dataframe

    def populate_entry_trend(
        self, dataframe: pd.DataFrame, metadata: dict[str, Any]
    ) -> pd.DataFrame:
        fast = dataframe["fast"].to_numpy()
        slow = dataframe["slow"].to_numpy()
        signals = cross_signals(len(dataframe), fast > slow, fast < slow)
        for name in ("enter_long", "enter_short", "exit_long", "exit_short"):
            dataframe[name] = getattr(signals, name)
        return dataframe

    def populate_exit_trend(
        self, dataframe: pd.DataFrame, metadata: dict[str, Any]
    ) -> pd.DataFrame:
        return dataframe


SWEEP_SERIAL_FAST = wl.SWEEP_FAST[:4]
SWEEP_SERIAL_SLOW = wl.SWEEP_SLOW[:5]
"""The single-core measurement's sub-grid: 4 × 5 × the 20 stop-losses = 400 variants, the
same share of signal tables per variant (1 in 20) as the whole grid."""


def sweep_sma(workload: wl.Workload) -> Result:
    """Workload 7: the grid on every core (``executor="local"``), and its single-core rate
    on a sub-grid (``executor="serial"``)."""
    frame = workload.frame()
    events = read_funding(workload.funding_path)
    mark = read_mark(workload.mark_path)
    config = matching_config(workload, [workload.symbol], balance_share=MARK_BALANCE_SHARE)
    data = market_from_frame(frame, workload, mark=mark, funding=events)
    stops = list(wl.SWEEP_STOPLOSS)
    grid = {"fast": list(wl.SWEEP_FAST), "slow": list(wl.SWEEP_SLOW), "stoploss": stops}
    workers = os.cpu_count() or 1
    prefix = market_from_frame(frame.iloc[:WARMUP_BARS], workload, mark=mark, funding=events)
    _, warmup = timed(
        lambda: sweep(
            SweepSma,
            prefix,
            {"fast": [20], "stoploss": stops[:2]},
            config=config,
            executor="serial",
        )
    )
    sub = {"fast": list(SWEEP_SERIAL_FAST), "slow": list(SWEEP_SERIAL_SLOW), "stoploss": stops}
    serial, serial_wall = timed(
        lambda: sweep(SweepSma, data, sub, config=config, executor="serial")
    )
    load = os.getloadavg()
    table, wall = timed(
        lambda: sweep(SweepSma, data, grid, config=config, executor="local", workers=workers)
    )
    best = table.sort_values("sharpe", ascending=False, na_position="last").iloc[0]
    rate = len(table) / wall
    serial_rate = len(serial) / serial_wall
    return {
        "trades": int(table["trades"].sum()),
        "final_equity": float(best["final_equity"]),
        "wall_s": wall,
        "warmup_s": warmup,
        "variants": len(table),
        "workers": workers,
        "variants_per_s": rate,
        "bars_per_s": rate * len(data),
        "serial_variants": len(serial),
        "serial_variants_per_s": serial_rate,
        "efficiency": rate / (workers * serial_rate),
        "liquidated_variants": int((table["liquidations"] > 0).sum()),
        "rejected_variants": int((table["rejected_orders"] > 0).sum()),
        "best": {
            k: best[k].item() if hasattr(best[k], "item") else best[k]
            for k in ("fast", "slow", "stoploss", "sharpe")
        },
        "load_before": list(load),
        "load_after": list(os.getloadavg()),
    }


# ---------------------------------------------------------------- workload 3: event engine


class SmaCross(Strategy):
    """Long while SMA(fast) > SMA(slow), short while below; the whole balance on each entry."""

    params: ClassVar[dict[str, int]] = {"fast": wl.FAST, "slow": wl.SLOW, "first_decision": 0}

    def __init__(self) -> None:
        self.fast = ind.SMA(self.data.close, self.p.fast)
        self.slow = ind.SMA(self.data.close, self.p.slow)

    def next(self) -> None:
        if len(self) <= self.p.first_decision:  # bar index len(self) - 1 < first decision
            return
        fast, slow, position = self.fast[0], self.slow[0], self.position
        if fast > slow and position.size <= 0:
            if position:
                self.close()
            self.buy(stake="all")
        elif fast < slow and position.size >= 0:
            if position:
                self.close()
            self.sell(stake="all")


def event_sma_cross(workload: wl.Workload) -> Result:
    """The SMA cross as a ``next()`` strategy in the event-driven engine (workload 3)."""
    frame = workload.frame()
    config = matching_config(workload, [workload.symbol])
    params = {
        "fast": workload.fast,
        "slow": workload.slow,
        "first_decision": workload.decision_start,
    }

    def backtest(candles: pd.DataFrame) -> tuple[BacktestResult, Stages]:
        stages = Stages()
        data = market_from_frame(candles, workload)
        stages.mark("market")
        # the strategy's indicators are built inside the run, by its __init__ when the bars
        # begin (simulate_s)
        result = run(SmaCross, data, config, params=params)
        stages.mark("run")
        with_figures(result)
        stages.mark("figures")
        return result, stages

    _, warmup = timed(lambda: backtest(frame.iloc[:WARMUP_BARS]))
    (result, stages), wall = timed(lambda: backtest(frame))
    return outcome(result, wall, warmup, stages=stages.of(result))


# ------------------------------------------------------------------- workload 4: portfolio


def portfolio_members(workload: wl.Workload) -> tuple[list[MarketData], list[str], str]:
    """The symbols with trade candles in the window, with funding and mark (coarser mark
    candles basis-adjusted); the symbols left out (no bars in the window); what marked the
    bars."""
    members: list[MarketData] = []
    left_out: list[str] = []
    for symbol, files in workload.paths.items():
        trade = read_candles(files["trade"], kind="trade", timeframe=workload.timeframe)
        if not len(trade.between(workload.start, workload.end)):
            left_out.append(symbol)
            continue
        funding = read_funding(files["funding"]) if files.get("funding") else None
        members.append(
            MarketData.build(
                symbol,
                trade,
                mark=read_mark(files.get("mark", "")),
                funding=funding,
                coarse_mark="basis",
                start=workload.start,
                end=workload.end,
            )
        )
    return members, left_out, "; ".join(sorted({mark_note(m) for m in members}))


def portfolio_tiers(symbols: Sequence[str]) -> dict[str, list[dict[str, float]]]:
    """Tier rows for the symbols levtrade ships no Binance table for, from ``TIERS_FILE``."""
    tables = {table.symbol: table for table in load_tier_file(TIERS_FILE, venue="binance")}
    rows: dict[str, list[dict[str, float]]] = {}
    for symbol in symbols:
        try:
            default_tiers("binance", symbol)
        except UnknownSymbolError:
            rows[symbol] = tables[symbol].to_rows()
    return rows


def portfolio_signals(data: Portfolio, workload: wl.Workload) -> Signals:
    """The SMA cross per symbol, on each symbol's own bars of the axis."""
    by_symbol: dict[str, SymbolSignals] = {}
    bars = len(data)
    for j, symbol in enumerate(data.symbols):
        rows = np.flatnonzero(data.active[:, j])
        long, short = sma_sides(np.ascontiguousarray(data.close[rows, j]), workload)
        by_symbol[symbol] = cross_signals(bars, long, short, rows)
    return Signals(by_symbol, SignalRules(can_short=True))


def portfolio_cross(workload: wl.Workload) -> Result:
    """The SMA cross on every portfolio symbol, one cross-margin account (workload 4)."""
    members, left_out, mark_note = portfolio_members(workload)
    symbols = [m.symbol for m in members]
    config = matching_config(workload, symbols, portfolio_tiers(symbols))

    def backtest(markets: Sequence[MarketData]) -> tuple[BacktestResult, Stages]:
        stages = Stages()
        data = Portfolio.from_markets(markets)
        stages.mark("market")
        signals = portfolio_signals(data, workload)
        stages.mark("strategy")
        result = run(signals, data, config, engine="compiled")
        stages.mark("run")
        with_figures(result)
        stages.mark("figures")
        return result, stages

    first = min(int(m.timestamps[0]) for m in members)
    end = first + WARMUP_BARS * members[0].timeframe_ms
    prefix = [part for part in (m.between(first, end) for m in members) if len(part)]
    _, warmup = timed(lambda: backtest(prefix))
    (result, stages), wall = timed(lambda: backtest(members))
    orders = result.orders
    return outcome(
        result,
        wall,
        warmup,
        stages=stages.of(result),
        symbols=len(symbols),
        left_out=left_out,
        mark=mark_note,
        liquidations=int((result.trades["exit_reason"] == "liquidation").sum()),
        rejected=int((orders["status"] == "rejected").sum()),
        funding=float(result.trades["funding"].sum()),
        fees=float(result.trades["fees"].sum()),
    )


# -------------------------------------------------------------- workload 5: the calculator


def random_positions(n: int, seed: int = CALC_SEED) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``n`` random isolated BTC positions on Binance: signed sizes (notional log-uniform from
    100 to 50M USDT), entries 20,000-150,000, margin = notional / leverage with the leverage
    uniform between 1 and the tier's maximum at that notional."""
    table = default_tiers("binance", wl.SYMBOL)
    rng = np.random.default_rng(seed)
    entries = rng.uniform(20_000.0, 150_000.0, n)
    notional = np.exp(rng.uniform(math.log(1e2), math.log(5e7), n))
    tier = np.searchsorted(table.floors, notional, side="right") - 1
    leverage = 1.0 + rng.uniform(0.0, 1.0, n) * (table.max_leverages[tier] - 1.0)
    qtys = notional / entries * rng.choice(np.array([-1.0, 1.0]), n)
    return qtys, entries, notional / leverage


def calculator_vectorised(n: int) -> Result:
    """Liquidation prices of ``n`` random isolated positions in one compiled call."""
    table = default_tiers("binance", wl.SYMBOL)
    qtys, entries, margins = random_positions(n)
    tiers = (table.floors, table.mmrs, table.amounts)
    k = min(n, CALC_WARMUP)
    _, warmup = timed(
        lambda: isolated_liquidation_prices(qtys[:k], entries[:k], margins[:k], *tiers)
    )
    prices, wall = timed(lambda: isolated_liquidation_prices(qtys, entries, margins, *tiers))
    return {
        "trades": None,
        "final_equity": None,
        "wall_s": wall,
        "warmup_s": warmup,
        "rows": int(prices.shape[0]),
        "with_liquidation_price": int(np.isfinite(prices).sum()),
    }


def random_scenarios(n: int, seed: int = CALC_SEED) -> list[dict[str, Any]]:
    """``n`` random accounts (DESIGN.md §5 scenarios) on the venues of ``CALC_VENUES``: one or
    two positions (one per symbol), long or short, cross or isolated, marks a few per cent from
    the entries, the wallet between 0.2 and 1.5 times the cross initial margin (some accounts
    are liquidatable)."""
    rng = np.random.default_rng(seed)
    scenarios = []
    for _ in range(n):
        venue, symbols = CALC_VENUES[int(rng.integers(len(CALC_VENUES)))]
        count = int(rng.integers(1, len(symbols) + 1))
        chosen = rng.choice(len(symbols), size=count, replace=False)
        positions: list[dict[str, Any]] = []
        cross_margin = 0.0
        for index in chosen:
            symbol = symbols[int(index)]
            base = BASE_PRICE[symbol.split("/")[0]]
            entry = base * float(rng.uniform(0.7, 1.3))
            notional = math.exp(float(rng.uniform(math.log(1e3), math.log(5e5))))
            leverage = float(rng.integers(1, 11))
            position: dict[str, Any] = {
                "symbol": symbol,
                "side": "long" if rng.random() < 0.5 else "short",
                "size": notional / entry,
                "entry_price": entry,
                "mark_price": entry * (1.0 + float(rng.normal(0.0, 0.03))),
                "leverage": leverage,
            }
            if rng.random() < 0.5:
                position["margin_mode"] = "isolated"
                position["isolated_margin"] = notional / leverage
            else:
                position["margin_mode"] = "cross"
                cross_margin += notional / leverage
            positions.append(position)
        wallet = max(cross_margin, 100.0) * float(rng.uniform(0.2, 1.5))
        scenarios.append({"venue": venue, "wallet_balance": wallet, "positions": positions})
    return scenarios


def levtrade_command() -> list[str]:
    """The ``levtrade`` console script of this interpreter's environment."""
    script = Path(sys.executable).with_name("levtrade")
    if not script.is_file():
        raise FileNotFoundError(f"no levtrade console script beside {sys.executable}")
    return [str(script)]


def run_cli(path: Path) -> list[dict[str, Any]]:
    """``levtrade margin --json FILE`` in one process; the figures of every scenario."""
    completed = subprocess.run(
        [*levtrade_command(), "margin", "--json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    figures: list[dict[str, Any]] = json.loads(completed.stdout)
    return figures


def calculator_cli(n: int) -> Result:
    """``n`` random scenarios as one JSON array through ``levtrade margin --json`` (one process;
    the timed figure is the whole command, interpreter start included)."""
    scenarios = random_scenarios(n)
    with tempfile.TemporaryDirectory(prefix="levtrade-cli-") as tmp:
        small, full = Path(tmp) / "warmup.json", Path(tmp) / "scenarios.json"
        small.write_text(json.dumps(scenarios[:CLI_WARMUP]))
        full.write_text(json.dumps(scenarios))
        _, warmup = timed(lambda: run_cli(small))
        figures, wall = timed(lambda: run_cli(full))
    if len(figures) != n:
        raise RuntimeError(f"levtrade margin returned {len(figures)} results for {n} scenarios")
    return {
        "trades": None,
        "final_equity": None,
        "wall_s": wall,
        "warmup_s": warmup,
        "rows": len(figures),
        "liquidatable": sum(bool(f["account"]["liquidatable"]) for f in figures),
    }


# ------------------------------------------------------------------ workload 6: data loading


def _load_twice(load: Callable[[], MarketData]) -> Result:
    """A first load (imports, page cache) as the warm-up, then the timed one."""
    _, warmup = timed(load)
    market, wall = timed(load)
    return {
        "trades": None,
        "final_equity": None,
        "wall_s": wall,
        "warmup_s": warmup,
        "rows": len(market),
    }


def data_parquet_1m() -> Result:
    """``load_market`` of the 1M-candle Parquet file: read, validate, ``MarketData``."""
    path = wl.parquet_1m_path()
    timeframe = wl.DATASETS["synthetic-1m-1m"].timeframe
    return _load_twice(lambda: load_market(path, symbol=wl.SYMBOL, timeframe=timeframe))


def data_freqtrade_dir() -> Result:
    """``load_freqtrade`` of the pair's futures candles in the FreqTrade data directory (the
    candles only, as FreqTrade's ``load_pair_history`` loads them)."""
    datadir = wl.freqtrade_1m_dir()
    timeframe = wl.DATASETS["synthetic-1m-1m"].timeframe
    return _load_twice(
        lambda: load_freqtrade(
            datadir, wl.SYMBOL, timeframe, mark=False, index=False, funding=False
        )
    )
