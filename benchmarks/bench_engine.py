"""Bars per second of the event-driven engine (whole ``run``: the bar loop and the result).

Run from the repository root with the project's interpreter::

    .venv/bin/python -m benchmarks.bench_engine              # every case, best of 5
    .venv/bin/python -m benchmarks.bench_engine --repeats 9  # steadier on a busy machine
    .venv/bin/python -m benchmarks.bench_engine --profile    # + cProfile of each case

Cases:

* ``sma-cross 1h demo``: an SMA(10)/SMA(30) cross ``next()`` strategy, always in the market
  (long or short 0.1 BTC at 5x, cross margin), on a year of 1h demo bars (funding every 8h,
  liquidation on the mark candles): 8,784 bars, ~700 fills, ~1,100 funding settlements;
* ``sma-cross 5m real``: the same strategy on the last 100,000 5m bars of Binance BTCUSDT
  perpetual (``/work/shared/data/binance_um_freqtrade_harthor``; skipped when absent). At
  0.1 BTC the account soon cannot afford the 5x margin and ~77 % of the bars submit an order
  the account rejects, so this case mostly measures rejected fills;
* ``sma-cross 5m real 0.01``: the same with 0.01 BTC, which stays funded (~8,000 fills);
* ``hold 1h demo``: buys 0.1 BTC on the first bar and holds it to the end (the per-bar cost
  of an open position with funding and nothing to decide).

Times are CPU time of this process (``time.process_time``), best of ``--repeats`` runs, so a
busy machine disturbs them less than wall time would. Nothing is asserted: the tests check
behaviour; this only measures.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.strategies import SmaCross
from levtrade.backtest import BacktestConfig, BacktestResult, Strategy, run
from levtrade.data import MarketData, demo_market, read_candles, read_funding

REAL = Path("/work/shared/data/binance_um_freqtrade_harthor")
BTC = "BTC/USDT:USDT"


class Hold(Strategy):
    """Buy once, hold to the end."""

    params = {"size": 0.1}  # noqa: RUF012

    def next(self) -> None:
        if not self.position:
            self.buy(size=self.p.size)


def real_5m(bars: int) -> MarketData | None:
    """The last ``bars`` 5m bars of Binance BTCUSDT perpetual with its funding, or None."""
    candles = REAL / "BTCUSDT-5m-perp.parquet"
    if not candles.exists():
        return None
    trade = read_candles(candles)
    funding_file = REAL / "BTCUSDT-funding_rate.parquet"
    funding = read_funding(funding_file) if funding_file.exists() else None
    start = int(trade.timestamps[-min(bars, len(trade))])
    return MarketData.build(BTC, trade, funding=funding, start=start)


Case = tuple[str, type[Strategy], MarketData, dict[str, Any]]


def cases(real_bars: int) -> list[Case]:
    demo = demo_market(bars=8_784, timeframe="1h")
    found: list[Case] = [("sma-cross 1h demo", SmaCross, demo, {})]
    real = real_5m(real_bars)
    if real is None:
        print(f"(no {REAL}: the 5m real-data cases are skipped)")
    else:
        found.append(("sma-cross 5m real", SmaCross, real, {}))
        found.append(("sma-cross 5m real 0.01", SmaCross, real, {"size": 0.01}))
    found.append(("hold 1h demo", Hold, demo, {}))
    return found


def best_of(repeats: int, call: Callable[[], BacktestResult]) -> tuple[float, BacktestResult]:
    """The least CPU time of ``repeats`` calls (at least one), and the last result."""
    start = time.process_time()
    result = call()
    best = time.process_time() - start
    for _ in range(repeats - 1):
        start = time.process_time()
        result = call()
        best = min(best, time.process_time() - start)
    return best, result


def profile(call: Callable[[], Any], top: int) -> str:
    profiler = cProfile.Profile()
    profiler.runcall(call)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue().split("\n", 4)[-1].rstrip()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--real-bars", type=int, default=100_000, help="5m real-data bars")
    parser.add_argument("--profile", action="store_true", help="cProfile each case")
    parser.add_argument("--top", type=int, default=30, help="profile rows shown")
    args = parser.parse_args(argv)

    config = BacktestConfig(leverage=5.0)
    run(SmaCross, demo_market(bars=500), config)  # warm-up: imports, JIT
    print(f"{'case':<24}{'bars':>9}{'CPU ms':>10}{'bars/s':>12}  result")
    profiles = []
    for name, strategy, data, params in cases(args.real_bars):

        def call(
            s: type[Strategy] = strategy, d: MarketData = data, p: dict[str, Any] = params
        ) -> BacktestResult:
            return run(s, d, config, params=p)

        best, result = best_of(args.repeats, call)
        bars = len(data)
        final = float(result.series["equity"].iloc[-1])
        print(
            f"{name:<24}{bars:>9}{best * 1e3:>10.1f}{bars / best:>12,.0f}  "
            f"{len(result.trades)} trades, {len(result.ledger)} ledger entries, "
            f"final equity {final!r}"
        )
        if args.profile:
            profiles.append((name, profile(call, args.top)))
    for name, text in profiles:
        print(f"\n=== {name} ===\n{text}")


if __name__ == "__main__":
    main()
