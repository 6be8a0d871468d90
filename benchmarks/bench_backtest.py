"""Speed of the backtesters: the compiled signal kernel and the event engine's ``next()`` loop.

Run from the repository root: ``.venv/bin/python benchmarks/bench_backtest.py`` (``--quick``
for fewer repetitions). It prints figures and asserts nothing.

1. **Kernel bars/s**, one symbol, 1,000,000 bars of a seeded mean-reverting synthetic perpetual
   with mark candles and an 8h funding event history, so funding settles and the position's
   liquidation price is tested on every bar (recomputed only after the account changes):
   a 3x long held all the time (isolated and cross; 1h bars: funding every 8 bars, 1m bars:
   every 480), and a 10x SMA-cross signal table with stop-loss and ROI. Shown: the
   compiled core alone (``KernelInputs.simulate``) and the whole ``kernel.run_signals``
   (array preparation and the result tables, metrics included); best of several runs.
2. **1M bars end to end**: candles, mark candles and funding written to Parquet in a temporary
   directory, then ``load_market`` → a TA-Lib SMA-cross :class:`SignalStrategy` →
   ``kernel.run_signals`` → the result. *Warm*: in this process after a first run. *Cold*: a
   fresh process whose ``NUMBA_CACHE_DIR`` is an empty temporary directory; *cached*: a fresh
   process with that directory as the cold run left it. Both for the kernel built ahead of
   time at install (``aot``, :mod:`levtrade.backtest.kernel_aot`) and for the just-in-time
   path (``LEVTRADE_KERNEL=jit``: the cold run compiles every kernel function).
3. **Event engine**: the SMA(10)/SMA(30) cross ``next()`` strategy on the same 1h data
   (first 100,000 bars), whole ``run``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np
import pandas as pd
import talib

from benchmarks.strategies import SmaCross
from levtrade.backtest import BacktestConfig, kernel, kernel_aot, run
from levtrade.data import (
    MarketData,
    load_market,
    make_candles,
    make_funding,
    write_candles,
    write_funding,
)
from levtrade.strategy.signal_strategy import SignalStrategy
from levtrade.strategy.signals import SignalRules, Signals, SymbolSignals

SYMBOL = "BTC/USDT:USDT"
START = 1_577_836_800_000  # 2020-01-01T00:00Z
HOUR = 3_600_000
T = TypeVar("T")


def synthetic(bars: int, timeframe_ms: int, seed: int = 7) -> MarketData:
    """A mean-reverting log-price walk around 50,000 (so a million bars stay realistic),
    OHLC from the path, a mark within a few basis points of the price, and an 8-hourly
    funding rate around 0 (± 0.01 %), so a position held for a million bars is not drained by
    it."""
    rng = np.random.default_rng(seed)
    scale = np.sqrt(timeframe_ms / HOUR)
    shocks = rng.standard_t(4, bars) * 0.004 * scale
    level = np.empty(bars)
    x = 0.0
    for i in range(bars):  # AR(1) in log price: plain Python, a few hundred ms
        x = 0.995 * x + shocks[i]
        level[i] = x
    close = 50_000.0 * np.exp(level)
    open_ = np.r_[50_000.0, close[:-1]]
    wick = np.abs(rng.normal(0.0, 0.002 * scale, (2, bars)))
    high = np.maximum(open_, close) * (1.0 + wick[0])
    low = np.minimum(open_, close) * (1.0 - wick[1])
    ts = START + timeframe_ms * np.arange(bars, dtype=np.int64)
    basis = 1.0 + rng.normal(0.0, 0.0002, bars)
    trade = make_candles(ts, open_, high, low, close, rng.uniform(50, 150, bars))
    mark = make_candles(
        ts,
        open_ * basis,
        np.maximum(high * basis, np.maximum(open_, close) * basis),
        np.minimum(low * basis, np.minimum(open_, close) * basis),
        close * basis,
        None,
        kind="mark",
    )
    funding_ts = np.arange(START, ts[-1] + timeframe_ms, 8 * HOUR, dtype=np.int64)
    rates = rng.normal(0.0, 0.0001, funding_ts.size)
    return MarketData.build(SYMBOL, trade, mark=mark, funding=make_funding(funding_ts, rates))


def best(repeats: int, call: Callable[[], T]) -> tuple[float, T]:
    """Best wall time of ``repeats`` calls, and the last result."""
    times = []
    result: T | None = None
    for _ in range(repeats):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
    assert result is not None
    return min(times), result


def rate(bars: int, seconds: float) -> str:
    per_second = bars / seconds
    if per_second >= 1e6:
        return f"{per_second / 1e6:7.1f} M bars/s ({seconds * 1e3:7.1f} ms)"
    return f"{per_second / 1e3:7.1f} k bars/s ({seconds * 1e3:7.1f} ms)"


# ------------------------------------------------------------------------------------------
# 1. Kernel bars/s
# ------------------------------------------------------------------------------------------


def held(data: MarketData) -> Signals:
    """Long from the first bar to the end."""
    entries = np.zeros(len(data), dtype=bool)
    entries[0] = True
    return Signals({SYMBOL: SymbolSignals.from_arrays(len(data), enter_long=entries)})


def sma_cross(data: MarketData) -> Signals:
    """Long above SMA(200), short below, with a 20 % stop-loss and a 10 % ROI."""
    fast, slow = talib.SMA(data.close, 50), talib.SMA(data.close, 200)
    with np.errstate(invalid="ignore"):
        above = fast > slow
    up = above & ~np.r_[False, above[:-1]]
    down = ~above & np.r_[False, above[:-1]] & ~np.isnan(slow)
    table = SymbolSignals.from_arrays(
        len(data), enter_long=up, exit_long=down, enter_short=down, exit_short=up
    )
    rules = SignalRules(can_short=True, stoploss=-0.2, minimal_roi={0: 0.1})
    return Signals({SYMBOL: table}, rules)


def kernel_speed(repeats: int) -> None:
    print("1. compiled kernel, one symbol, 1,000,000 bars (funding and liquidation on every bar)")
    for timeframe, label in ((HOUR, "1h"), (60_000, "1m")):
        data = synthetic(1_000_000, timeframe)
        cases = [
            ("held 3x isolated", held(data), BacktestConfig(leverage=3, margin_mode="isolated")),
            ("held 3x cross", held(data), BacktestConfig(leverage=3, margin_mode="cross")),
            ("SMA cross 10x cross", sma_cross(data), BacktestConfig(leverage=10)),
        ]
        for name, signals, config in cases:
            config = config.model_copy(update={"stake_amount": 1_000.0})
            inputs = kernel.prepare_inputs(data, signals, config)
            inputs.simulate()  # compile / load the cache
            core, _ = best(repeats, inputs.simulate)

            def whole_run(s: Signals = signals, c: BacktestConfig = config) -> Any:
                return kernel.run_signals(data, s, c)  # noqa: B023 (data is fixed per loop)

            whole, result = best(repeats, whole_run)
            print(
                f"   {label} {name:20s} core {rate(len(data), core)}   "
                f"run_signals {rate(len(data), whole)}   "
                f"trades {len(result.trades):5d}  ledger {len(result.ledger):6d}"
            )


# ------------------------------------------------------------------------------------------
# 2. End to end from Parquet
# ------------------------------------------------------------------------------------------


class SmaCrossSignals(SignalStrategy):
    """FreqTrade-style SMA(50)/SMA(200) cross, long and short, 10 % stop-loss."""

    can_short = True
    stoploss = -0.1
    minimal_roi: ClassVar[dict[int | str, float]] = {"0": 0.05}

    def populate_indicators(
        self, dataframe: pd.DataFrame, metadata: dict[str, Any]
    ) -> pd.DataFrame:
        close = dataframe["close"].to_numpy()
        dataframe["fast"] = talib.SMA(close, 50)
        dataframe["slow"] = talib.SMA(close, 200)
        return dataframe

    def populate_entry_trend(
        self, dataframe: pd.DataFrame, metadata: dict[str, Any]
    ) -> pd.DataFrame:
        above = dataframe["fast"] > dataframe["slow"]
        before = above.shift(1, fill_value=False)
        dataframe["enter_long"] = above & ~before
        dataframe["enter_short"] = ~above & before
        return dataframe

    def populate_exit_trend(
        self, dataframe: pd.DataFrame, metadata: dict[str, Any]
    ) -> pd.DataFrame:
        dataframe["exit_long"] = dataframe["enter_short"]
        dataframe["exit_short"] = dataframe["enter_long"]
        return dataframe


def write_dataset(folder: Path) -> None:
    data = synthetic(1_000_000, 60_000)
    trade, mark = data.candles("trade"), data.candles("mark")
    assert trade is not None and mark is not None
    write_candles(trade, folder / "BTCUSDT-1m-perp.parquet")
    write_candles(mark, folder / "BTCUSDT-1m-mark.parquet")
    write_funding(data.funding, folder / "BTCUSDT-funding_rate.parquet")


def end_to_end(folder: Path) -> dict[str, float]:
    """Load, indicators and signals, simulation, results: seconds of each step."""
    times: dict[str, float] = {}
    started = time.perf_counter()
    data = load_market(
        folder / "BTCUSDT-1m-perp.parquet",
        symbol=SYMBOL,
        mark=folder / "BTCUSDT-1m-mark.parquet",
        funding=folder / "BTCUSDT-funding_rate.parquet",
    )
    times["load"] = time.perf_counter() - started
    config = BacktestConfig(leverage=5, stake_amount=1_000.0)
    step = time.perf_counter()
    signals = SmaCrossSignals().to_signals(data, config)
    times["signals"] = time.perf_counter() - step
    step = time.perf_counter()
    result = kernel.run_signals(data, signals, config)
    times["run"] = time.perf_counter() - step
    times["total"] = time.perf_counter() - started
    times["bars"] = len(data)
    times["trades"] = len(result.trades)
    return times


def child(folder: Path) -> None:
    """The subprocess side of the cold and cached measurements: prints JSON."""
    times: dict[str, Any] = dict(end_to_end(folder))
    times["backend"] = kernel_aot.simulate_function()[0]
    print(json.dumps(times))


def end_to_end_report(folder: Path) -> None:
    print("2. 1,000,000 1m bars end to end (Parquet -> TA-Lib signals -> kernel -> results)")
    end_to_end(folder)  # warm-up: compile or load the kernel, import everything
    warm = min((end_to_end(folder) for _ in range(3)), key=lambda t: t["total"])
    print(
        f"   warm   total {warm['total']:6.2f} s  (load {warm['load']:.2f}, signals "
        f"{warm['signals']:.2f}, kernel run and results {warm['run']:.2f}; "
        f"{int(warm['trades'])} trades)"
    )
    # the installed ahead-of-time build, then the just-in-time path with an empty Numba cache
    # (compiling every kernel function) and with the cache that compilation filled
    for backend in (kernel_aot.AHEAD_OF_TIME, kernel_aot.JUST_IN_TIME):
        with tempfile.TemporaryDirectory() as cache:
            for label in ("cold", "cached"):
                env = {**os.environ, "NUMBA_CACHE_DIR": cache, kernel_aot.BACKEND_VARIABLE: backend}
                started = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "-m", "benchmarks.bench_backtest", "--child", str(folder)],
                    cwd=Path(__file__).resolve().parent.parent,
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                wall = time.perf_counter() - started
                times = json.loads(done.stdout.strip().splitlines()[-1])
                print(
                    f"   {label:6s} total {wall:6.2f} s  ({times['backend']} kernel; fresh "
                    f"process: imports {wall - times['total']:.2f}, load {times['load']:.2f}, "
                    f"signals {times['signals']:.2f}, kernel run and results {times['run']:.2f})"
                )


# ------------------------------------------------------------------------------------------
# 3. Event engine
# ------------------------------------------------------------------------------------------


def event_speed(repeats: int) -> None:
    print("3. event engine, SMA(10)/SMA(30) cross next(), 100,000 1h bars, 5x cross")
    data = synthetic(100_000, HOUR)
    config = BacktestConfig(leverage=5)
    # 0.01 BTC per entry stays funded over the series; 0.1 BTC soon cannot be margined and
    # then nearly every bar is a rejected order, which measures rejections instead
    for size in (0.01, 0.1):
        seconds, result = best(
            repeats, lambda s=size: run(SmaCross, data, config, params={"size": s})
        )
        rejected = int((result.orders["status"] == "rejected").sum())
        print(
            f"   {size:4} BTC  {rate(len(data), seconds)}   trades {len(result.trades):5d}"
            f"   rejected orders {rejected:6d}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repetition per figure")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child)
        return
    repeats = 1 if args.quick else 3
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"levtrade backtest benchmarks ({os.cpu_count()} cores, load average {load:.2f})")
    kernel_speed(repeats)
    with tempfile.TemporaryDirectory() as folder:
        write_dataset(Path(folder))
        end_to_end_report(Path(folder))
    event_speed(repeats)


if __name__ == "__main__":
    main()
