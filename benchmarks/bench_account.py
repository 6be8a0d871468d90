"""Microseconds per :class:`levtrade.margin.Account` operation (and the event engine's bars/s).

Run from the repository root with the project's interpreter::

    .venv/bin/python -m benchmarks.bench_account                      # print µs per operation
    .venv/bin/python -m benchmarks.bench_account --save before.json   # ... and keep them
    .venv/bin/python -m benchmarks.bench_account --baseline before.json  # before/after table
    .venv/bin/python -m benchmarks.bench_account --engine             # + SMA-cross engine run
    .venv/bin/python -m benchmarks.bench_account --profile            # + cProfile of each loop

Times are CPU time of this process (``time.process_time``), best of ``--repeats`` rounds, so a
busy machine disturbs them less than wall time would. The account is a Binance-like BTCUSDT
cross account with one open position (the operations the backtest engine calls per bar).
Nothing is asserted: this is a measuring tool, the tests check behaviour.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from levtrade.margin import Account
from levtrade.venues import default_tiers, get_venue, instrument_for

SYMBOL = "BTC/USDT:USDT"
T0 = 1_704_067_200_000
HOUR = 3_600_000


def _account(position: float = 0.1) -> tuple[Account, Any]:
    venue = get_venue("binance")
    instrument = instrument_for("binance", SYMBOL)
    account = Account(
        venue,
        10_000_000.0,
        tier_provider=lambda inst: default_tiers("binance", inst.symbol),
        default_leverage=5.0,
        time=T0,
    )
    account.register(instrument)
    account.set_mark(SYMBOL, 42_000.0)
    if position:
        account.fill(instrument, position, 42_000.0, time=T0)
    return account, instrument


def _ops() -> dict[str, Callable[[int], None]]:
    """Each entry runs its operation ``n`` times (the set-up is outside the timed loop only
    where it has to be: fill open/close run as a pair and count two operations)."""

    def settle_funding(n: int) -> None:
        account, _ = _account()
        settle = account.settle_funding
        for k in range(n):
            settle(SYMBOL, 0.0001, price=42_000.0, time=T0 + k * HOUR)

    def fill_open_close(n: int) -> None:
        account, instrument = _account(position=0.0)
        fill = account.fill
        for k in range(n // 2):
            fill(instrument, 0.1, 42_000.0, time=T0 + k)
            fill(instrument, -0.1, 42_050.0, time=T0 + k)

    def fill_flip(n: int) -> None:
        account, instrument = _account()
        fill = account.fill
        size = -0.2
        for k in range(n):
            fill(instrument, size, 42_000.0 + (k & 7), time=T0 + k)
            size = -size

    def liquidation_price(n: int) -> None:
        account, _ = _account()
        key = account.positions[0].key
        lp = account.liquidation_price
        for _ in range(n):
            lp(key)

    def liquidation_price_after_mark(n: int) -> None:
        account, _ = _account()
        key = account.positions[0].key
        lp = account.liquidation_price
        mark = account.set_mark
        for k in range(n):
            mark(SYMBOL, 42_000.0 + (k & 15))
            lp(key)

    def set_mark(n: int) -> None:
        account, _ = _account()
        mark = account.set_mark
        for k in range(n):
            mark(SYMBOL, 42_000.0 + (k & 15), time=T0 + k)

    def liquidatable(n: int) -> None:
        account, _ = _account()
        for _ in range(n):
            _ = account.liquidatable

    def available_balance(n: int) -> None:
        account, _ = _account()
        for _ in range(n):
            _ = account.available_balance

    return {
        "settle_funding": settle_funding,
        "fill open+close (per fill)": fill_open_close,
        "fill flip (close+open)": fill_flip,
        "liquidation_price": liquidation_price,
        "set_mark + liquidation_price": liquidation_price_after_mark,
        "set_mark": set_mark,
        "liquidatable": liquidatable,
        "available_balance": available_balance,
    }


def measure(n: int, repeats: int) -> dict[str, float]:
    """Best µs per operation of each loop."""
    results: dict[str, float] = {}
    for name, op in _ops().items():
        op(min(n, 200))  # warm-up: JIT, caches
        best = float("inf")
        for _ in range(repeats):
            start = time.process_time()
            op(n)
            best = min(best, time.process_time() - start)
        results[name] = best / n * 1e6
    return results


def profile(n: int, top: int) -> None:
    for name, op in _ops().items():
        op(min(n, 200))
        profiler = cProfile.Profile()
        profiler.runcall(op, n)
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
        print(f"\n=== {name} ({n} calls) ===")
        print(out.getvalue().split("\n", 4)[-1].rstrip())


def engine_bars_per_second(bars: int, repeats: int, prof: bool, top: int) -> dict[str, float]:
    """The event engine running an SMA-cross ``next()`` strategy on 1h demo data (funding from
    the data, liquidation on its mark candles)."""
    from benchmarks.strategies import SmaCross
    from levtrade.backtest import BacktestConfig, run
    from levtrade.data import demo_market

    data = demo_market(bars=bars, timeframe="1h")
    config = BacktestConfig(leverage=5.0)
    run(SmaCross, demo_market(bars=500), config)  # warm-up
    best = float("inf")
    result = None
    for _ in range(repeats):
        start = time.process_time()
        result = run(SmaCross, data, config)
        best = min(best, time.process_time() - start)
    assert result is not None
    print(
        f"engine: {bars} bars in {best * 1e3:.1f} ms CPU = {bars / best / 1e3:.0f}k bars/s "
        f"({len(result.trades)} trades, {len(result.ledger)} ledger entries, final equity "
        f"{float(result.series['equity'].iloc[-1])!r})"
    )
    if prof:
        profiler = cProfile.Profile()
        profiler.runcall(run, SmaCross, data, config)
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
        print("\n=== engine run ===")
        print(out.getvalue().split("\n", 4)[-1].rstrip())
    return {"engine bars/s": bars / best}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("-n", type=int, default=20_000, help="operations per timed loop")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--save", type=Path, help="write the results as JSON")
    parser.add_argument("--baseline", type=Path, help="JSON of an earlier run to compare with")
    parser.add_argument("--engine", action="store_true", help="also time the engine run")
    parser.add_argument("--bars", type=int, default=8_784, help="engine run: 1h bars")
    parser.add_argument("--profile", action="store_true", help="cProfile each loop")
    parser.add_argument("--top", type=int, default=25, help="profile rows shown")
    args = parser.parse_args(argv)

    results = measure(args.n, args.repeats)
    if args.engine:
        results.update(engine_bars_per_second(args.bars, args.repeats, args.profile, args.top))
    before: dict[str, float] = (
        json.loads(args.baseline.read_text()) if args.baseline is not None else {}
    )
    print(f"\n{'operation':<32}{'before':>12}{'after':>12}{'speed-up':>10}")
    for name, value in results.items():
        unit = "" if name.endswith("/s") else " µs"
        old = before.get(name)
        if old is None:
            print(f"{name:<32}{'':>12}{value:>9.2f}{unit:<3}")
            continue
        ratio = value / old if name.endswith("/s") else old / value
        print(f"{name:<32}{old:>9.2f}{unit:<3}{value:>9.2f}{unit:<3}{ratio:>9.1f}x")
    if args.save is not None:
        args.save.write_text(json.dumps(results, indent=2) + "\n")
    if args.profile:
        profile(args.n, args.top)


if __name__ == "__main__":
    main()
