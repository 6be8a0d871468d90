"""The check's FreqTrade ``user_data`` folder: real Binance USDT-M data as FreqTrade stores it.

From ``shared/data/binance_um_freqtrade_harthor`` (a FreqTrade download of Binance USDT-M
perpetuals, converted to Parquet there) back to FreqTrade 2026.9's futures layout in
``user_data/data/binance/futures``: ``<PAIR>-5m-futures.feather`` (trade candles),
``<PAIR>-1h-futures.feather`` (the downloaded 1h candles FreqTrade reads for
``@informative("1h")`` frames; levtrade aggregates the 5m candles instead, which gives the same
opens, highs and closes here but a few different lows and volumes),
``<PAIR>-1h-mark.feather`` (mark candles at FreqTrade's ``mark_ohlcv_timeframe``, volume 0)
and ``<PAIR>-1h-funding_rate.feather`` (``date, funding_rate``, the funding times as Binance
publishes them, millisecond jitter included). Both tools read these same files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from benchmarks.workloads import HARTHOR

FORMAT_VERSION = 2


def pair_file(pair: str) -> str:
    """FreqTrade's file stem of a futures pair: ``BTC/USDT:USDT`` → ``BTC_USDT_USDT``."""
    return pair.replace("/", "_").replace(":", "_")


def venue_id(pair: str) -> str:
    """The Binance id of a USDT-M perpetual: ``BTC/USDT:USDT`` → ``BTCUSDT``."""
    base, rest = pair.split("/")
    return base + rest.split(":")[0]


def sources(pair: str) -> dict[str, Path]:
    symbol = venue_id(pair)
    return {
        "futures": HARTHOR / f"{symbol}-5m-perp.parquet",
        "futures_1h": HARTHOR / f"{symbol}-1h-perp.parquet",
        "mark": HARTHOR / f"{symbol}-1h-mark.parquet",
        "funding_rate": HARTHOR / f"{symbol}-funding_rate.parquet",
    }


def available(pairs: Iterable[str]) -> bool:
    return all(path.is_file() for pair in pairs for path in sources(pair).values())


def write_user_data(workdir: Path, pairs: Iterable[str]) -> Path:
    """Write (or keep, when current) the pairs' files; the data directory."""
    datadir = workdir / "user_data" / "data" / "binance"
    futures = datadir / "futures"
    futures.mkdir(parents=True, exist_ok=True)
    for pair in pairs:
        files = sources(pair)
        stamp_file = futures / f".{pair_file(pair)}.stamp"
        signature = [(str(p), p.stat().st_size, p.stat().st_mtime) for p in files.values()]
        digest = hashlib.sha256(repr((FORMAT_VERSION, signature)).encode()).hexdigest()
        if stamp_file.is_file() and stamp_file.read_text().strip() == digest:
            continue
        stem = pair_file(pair)
        for key, timeframe in (("futures", "5m"), ("futures_1h", "1h")):
            trade = pd.read_parquet(files[key]).rename(columns={"open_time": "date"})
            trade["date"] = trade["date"].astype("datetime64[ms, UTC]")
            columns = ["date", "open", "high", "low", "close", "volume"]
            _feather(trade[columns], futures / f"{stem}-{timeframe}-futures.feather")
        mark = pd.read_parquet(files["mark"]).rename(columns={"open_time": "date"})
        mark["date"] = mark["date"].astype("datetime64[ms, UTC]")
        mark["volume"] = 0.0
        columns = ["date", "open", "high", "low", "close", "volume"]
        _feather(mark[columns], futures / f"{stem}-1h-mark.feather")
        funding = pd.read_parquet(files["funding_rate"]).rename(columns={"funding_time": "date"})
        funding["date"] = funding["date"].astype("datetime64[ms, UTC]")
        _feather(funding[["date", "funding_rate"]], futures / f"{stem}-1h-funding_rate.feather")
        stamp_file.write_text(digest + "\n")
    return datadir


def _feather(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    frame.reset_index(drop=True).to_feather(tmp, compression="lz4")
    tmp.replace(path)
