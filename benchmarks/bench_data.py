"""Load-time benchmark for levtrade.data: 1M candles from Parquet and from a FreqTrade directory.

Run from the repository root: ``.venv/bin/python -m benchmarks.bench_data``. It writes one
million 1m candles (a random walk) to a temporary directory in levtrade's store and in
FreqTrade's layout, then times the loaders (best of several runs, validation included). With
../shared/data beside the checkout it also times the real 2025-10-10 portfolio (20 symbols,
1h, mark and funding).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.workloads import HARTHOR, PORTFOLIO_BASES, SHARED_DATA
from levtrade.data import (
    MarketData,
    Portfolio,
    Store,
    load_freqtrade,
    load_market,
    make_candles,
    read_candles,
    save_freqtrade,
)

ROWS = 1_000_000
MINUTE = 60_000
START = 1_577_836_800_000  # 2020-01-01T00:00Z


def million_candles() -> MarketData:
    """A valid random walk of ROWS one-minute candles."""
    rng = np.random.default_rng(1)
    close = 30_000.0 * np.exp(np.cumsum(rng.normal(0.0, 0.0008, ROWS)))
    open_ = np.r_[30_000.0, close[:-1]]
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0.0, 0.0004, ROWS)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0.0, 0.0004, ROWS)))
    volume = rng.gamma(2.0, 5.0, ROWS)
    stamps = START + np.arange(ROWS, dtype=np.int64) * MINUTE
    candles = make_candles(stamps, open_, high, low, close, volume, timeframe="1m")
    return MarketData.build("BTC/USDT:USDT", candles, metadata={"source": "benchmark"})


def best_of(runs: int, action: Callable[[], object]) -> tuple[float, float]:
    """(best, median) wall time in seconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def report(label: str, seconds: tuple[float, float], rows: int) -> None:
    best, median = seconds
    print(
        f"{label:<52} best {best * 1000:8.1f} ms   median {median * 1000:8.1f} ms"
        f"   {rows / best / 1e6:6.1f} M rows/s"
    )


def main() -> None:
    market = million_candles()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store = Store(root / "store")
        store.save(market, "bench")
        trade_file = store.path("bench", market.symbol, "trade", "1m")
        size_mb = trade_file.stat().st_size / 1e6
        print(f"{ROWS:,} 1m candles; store file {trade_file.name}: {size_mb:.1f} MB (zstd)")
        report(
            "read_candles(parquet)  [read + validate]",
            best_of(7, lambda: read_candles(trade_file)),
            ROWS,
        )
        report(
            "Store.load -> MarketData",
            best_of(7, lambda: store.load("bench", market.symbol, "1m")),
            ROWS,
        )
        save_freqtrade(market, root / "ft", data_format="feather")
        report(
            "load_freqtrade(feather dir) -> MarketData",
            best_of(7, lambda: load_freqtrade(root / "ft", market.symbol, "1m")),
            ROWS,
        )
        report("MarketData.resample 1m -> 1h", best_of(5, lambda: market.resample("1h")), ROWS)
    if SHARED_DATA.is_dir():
        folder = HARTHOR

        def portfolio() -> Portfolio:
            return Portfolio.from_markets(
                load_market(
                    folder / f"{base}USDT-1h-perp.parquet",
                    symbol=f"{base}/USDT:USDT",
                    mark=folder / f"{base}USDT-1h-mark.parquet",
                    funding=folder / f"{base}USDT-funding_rate.parquet",
                    coverage="trim",
                )
                for base in PORTFOLIO_BASES
            )

        rows = sum(len(m) for m in portfolio().markets)
        report("real 20-symbol 1h portfolio (mark + funding)", best_of(3, portfolio), rows)
        ft = SHARED_DATA / "freqtrade_testdata"
        report(
            "load_freqtrade(shared testdata XRP 5m futures)",
            best_of(5, lambda: load_freqtrade(ft, "XRP/USDT:USDT", "5m")),
            1999,
        )
    else:
        print(f"({SHARED_DATA} not found: real-data timings skipped)")


if __name__ == "__main__":
    main()
