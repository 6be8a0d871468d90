"""Benchmark workloads, their data, and the one strategy every tool runs.

The strategy (workloads 1-3)
----------------------------
Every tool runs exactly this, written the way that tool is meant to be used
(``benchmarks/peers/``); ``reference_sma_cross`` below is a plain implementation of it.

* Indicators: fast = SMA(20) and slow = SMA(100) of the close; SMA(n) at bar i is the mean of
  the n closes up to and including bar i (undefined for the first n - 1 bars).
* Target at the close of bar i: long when fast > slow, short when fast < slow, unchanged when
  they are equal or undefined. The first decision is at bar 99, the first bar with both SMAs
  (``Workload.first_decision`` moves it for a peer that starts later). Once the first target
  exists the account is always in the market, long or short (one position, one-way).
* Timing: decided at bar i's close, filled at bar i + 1's open, no slippage. A flip closes the
  open position and opens the opposite one at that same open, the exit first.
* Sizing (fractional, no lot rounding): at each entry, with E the equity after the exit (all
  cash, as the account is flat), P the fill price, L the leverage (3) and f the taker fee
  (0.05 %), the size is ``q = L * E / (P * (1 + L * f))`` base units: the initial margin
  ``q * P / L`` plus the entry fee ``q * P * f`` is exactly the whole equity.
* Fees: f on the notional ``q * P`` of every fill, entry and exit.
* End of data: a position still open is closed at the last bar's close, with the fee.
* Trades: closed round trips, the last one included. Final equity: the cash after it.
* Starting equity 10,000 (USDT); no funding, no liquidation, no slippage. Workload 2 adds
  funding from the data and liquidation on mark candles, for levtrade only: the real 5m BTCUSDT
  candles with their 8h funding events and their 1h mark candles, basis-adjusted to 5m (inside
  each hour the 5m trade candles times the hour's mark open / trade open; see docs/data.md).

Datasets
--------
* ``btc-5m-100k``: the first 100,000 real 5-minute Binance USDT-M BTCUSDT perpetual candles of
  ``shared/data/binance_um_freqtrade_harthor/BTCUSDT-5m-perp.parquet``.
* ``synthetic-1m-1m``: 1,000,000 seeded synthetic 1-minute candles (``synthetic_candles``),
  with seeded mark candles and 8h funding events for workload 2
  (``synthetic_mark_and_funding``).

Both are written once to ``benchmarks/.cache/`` as Parquet (``timestamp, open, high, low,
close, volume``; UTC open times) and as a FreqTrade futures data directory (Feather).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from itertools import accumulate
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "benchmarks"
CACHE_DIR = Path(os.environ.get("LEVTRADE_BENCH_CACHE", str(BENCH_DIR / ".cache")))
SHARED_DATA = Path(os.environ.get("LEVTRADE_SHARED_DATA", str(ROOT.parent / "shared" / "data")))
HARTHOR = SHARED_DATA / "binance_um_freqtrade_harthor"

SYMBOL = "BTC/USDT:USDT"
FAST = 20
SLOW = 100
LEVERAGE = 3.0
TAKER_FEE = 0.0005
EQUITY = 10_000.0
AGREEMENT_TOLERANCE = 0.002  # relative final-equity difference counted as agreement

# Synthetic series: log-return = drift + volatility * Student-t noise, where the drift is a
# slowly varying AR(1) process (trend regimes) and log-volatility an AR(1) (clustering).
SYNTHETIC_SEED = 1
SYNTHETIC_START = pd.Timestamp("2020-01-01", tz="UTC")
SYNTHETIC_PRICE = 30_000.0
SYNTHETIC_SIGMA = 0.0008  # per-minute volatility scale
SYNTHETIC_DRIFT_PHI = 0.99  # drift persistence per bar
SYNTHETIC_DRIFT_SCALE = 0.06  # drift standard deviation, as a multiple of SYNTHETIC_SIGMA
SYNTHETIC_VOL_PHI = 0.999  # log-volatility persistence per bar
SYNTHETIC_VOL_SHOCK = 0.02  # log-volatility innovation standard deviation
SYNTHETIC_T_DOF = 5  # Student-t degrees of freedom of the noise
SYNTHETIC_BASIS_SD = 2e-4  # stationary sd of the mark's log-basis to the trade price
SYNTHETIC_BASIS_PHI = 0.995  # basis persistence per bar
SYNTHETIC_FUNDING_HOURS = 8  # funding interval of the synthetic funding events
SYNTHETIC_FUNDING_MEAN = 1e-4  # long-run funding rate per interval (Binance's base 0.01 %)
SYNTHETIC_FUNDING_SD = 2e-4  # stationary sd of the funding rate
SYNTHETIC_FUNDING_PHI = 0.9  # funding-rate persistence per interval

PORTFOLIO_BASES = (
    "BTC",
    "ETH",
    "SOL",
    "XRP",
    "DOGE",
    "BNB",
    "BCH",
    "OP",
    "INJ",
    "ZEC",
    "1000PEPE",
    "HYPE",
    "ORCA",
    "PIPPIN",
    "NAORIS",
    "WLFI",
    "RIVER",
    "SPACE",
    "XAU",
    "XAG",
)
SWEEP_FAST = tuple(range(5, 105, 5))  # 20 fast averages
SWEEP_SLOW = tuple(range(110, 360, 10))  # 25 slow averages
SWEEP_STOPLOSS = tuple(round(-0.05 * k, 2) for k in range(1, 21))  # 20 stop-losses
"""The sweep grid of workload 7: 20 × 25 × 20 = 10,000 variants of the SMA cross; the
stop-loss is a ratio of the stake (FreqTrade's), at 3x a price move of a third of it."""
SWEEP_VARIANTS = len(SWEEP_FAST) * len(SWEEP_SLOW) * len(SWEEP_STOPLOSS)

PORTFOLIO_START = "2025-01-01"
PORTFOLIO_END = "2026-01-01"  # exclusive

_FORMAT_VERSION = 3  # bump when the cached files' layout or the generator changes


@dataclass(frozen=True)
class Dataset:
    """A candle series every tool reads from the same cached files."""

    key: str
    title: str
    timeframe: str
    bars: int
    real: bool

    @property
    def parquet(self) -> Path:
        return CACHE_DIR / f"{self.key}.parquet"

    @property
    def freqtrade_dir(self) -> Path:
        """FreqTrade ``datadir`` (the exchange folder); the file is in ``futures/``."""
        return CACHE_DIR / "freqtrade" / self.key / "binance"

    @property
    def freqtrade_file(self) -> Path:
        return self.freqtrade_dir / "futures" / f"BTC_USDT_USDT-{self.timeframe}-futures.feather"

    @property
    def freqtrade_mark_file(self) -> Path:
        """1h mark candles FreqTrade's futures backtest requires (for funding, which is 0
        here): the trade candles resampled to 1h."""
        return self.freqtrade_dir / "futures" / "BTC_USDT_USDT-1h-mark.feather"

    @property
    def mark_parquet(self) -> Path:
        """Synthetic mark candles at the trade timeframe (``open_time`` + OHLC)."""
        return CACHE_DIR / f"{self.key}-mark.parquet"

    @property
    def funding_parquet(self) -> Path:
        """Synthetic funding events (``funding_time``, ``funding_rate``)."""
        return CACHE_DIR / f"{self.key}-funding_rate.parquet"

    @property
    def available(self) -> bool:
        """Whether the source exists (real data needs ``shared/data``)."""
        return not self.real or (HARTHOR / "BTCUSDT-5m-perp.parquet").is_file()


DATASETS: dict[str, Dataset] = {
    d.key: d
    for d in (
        Dataset("btc-5m-100k", "real BTCUSDT perp 5m, 100k bars", "5m", 100_000, True),
        Dataset("synthetic-1m-1m", "synthetic 1m, 1M bars (seeded)", "1m", 1_000_000, False),
    )
}


@dataclass(frozen=True)
class Workload:
    """One measured task; serialised to JSON for the child processes."""

    key: str
    number: int
    title: str
    kind: str  # signal | funding | event | portfolio | calc_vectorised | calc_cli | data_*
    items: int  # bars (or positions, scenarios, rows) processed, for the rate column
    dataset: str | None = None
    symbol: str = SYMBOL
    timeframe: str = ""
    leverage: float = LEVERAGE
    fee: float = TAKER_FEE
    equity: float = EQUITY
    fast: int = FAST
    slow: int = SLOW
    first_decision: int = -1  # bar index of the first decision; -1 = slow - 1 (first SMA bar)
    fill_at: str = "next_open"  # or "signal_close" (a peer's fill model, reference only)
    data_path: str = ""
    freqtrade_dir: str = ""
    mark_path: str = ""
    funding_path: str = ""
    symbols: tuple[str, ...] = ()
    paths: dict[str, dict[str, str]] = field(default_factory=dict)
    start: str = ""
    end: str = ""
    notes: tuple[str, ...] = ()  # what the data is, printed under the workload in the report

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Workload:
        raw = json.loads(text)
        raw["symbols"] = tuple(raw.get("symbols", ()))
        raw["notes"] = tuple(raw.get("notes", ()))
        return cls(**raw)

    def with_leverage(self, leverage: float) -> Workload:
        """The same workload at another leverage (for a peer that cannot lever)."""
        return replace(self, leverage=leverage)

    @property
    def decision_start(self) -> int:
        """Bar index of the first decision (signals before it are ignored)."""
        return self.first_decision if self.first_decision >= 0 else self.slow - 1

    @property
    def rate_unit(self) -> str:
        return {
            "calc_vectorised": "positions/s",
            "calc_cli": "scenarios/s",
            "sweep": "variants/s",
            "data_parquet": "rows/s",
            "data_freqtrade": "rows/s",
        }.get(self.kind, "bars/s")

    def frame(self) -> pd.DataFrame:
        """The workload's candles: a UTC ``DatetimeIndex`` and open, high, low, close, volume."""
        return read_frame(Path(self.data_path))


def _bar_workload(
    key: str, number: int, title: str, kind: str, dataset: Dataset, **extra: Any
) -> Workload:
    return Workload(
        key=key,
        number=number,
        title=title,
        kind=kind,
        items=dataset.bars,
        dataset=dataset.key,
        timeframe=dataset.timeframe,
        data_path=str(dataset.parquet),
        freqtrade_dir=str(dataset.freqtrade_dir),
        **extra,
    )


def portfolio_paths() -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """The portfolio symbols' files (5m trade candles, 1h mark candles, funding), and the
    symbols left out with the reason: no 5m file in the shared data (1000PEPE has only 1h and
    1d) or no 5m bar inside the window (SPACE and XAG list in 2026). Without the shared data
    every symbol is kept, so that ``prepare`` reports the missing files."""
    paths: dict[str, dict[str, str]] = {}
    left_out: dict[str, str] = {}
    start = pd.Timestamp(PORTFOLIO_START, tz="UTC")
    end = pd.Timestamp(PORTFOLIO_END, tz="UTC")
    for base in PORTFOLIO_BASES:
        trade = HARTHOR / f"{base}USDT-5m-perp.parquet"
        if HARTHOR.is_dir():
            if not trade.is_file():
                left_out[base] = "no 5m file"
                continue
            stamps = pd.read_parquet(trade, columns=["open_time"])["open_time"]
            if not bool(((stamps >= start) & (stamps < end)).any()):
                left_out[base] = f"no 5m bars in {start.year}"
                continue
        paths[f"{base}/USDT:USDT"] = {
            "trade": str(trade),
            "mark": str(HARTHOR / f"{base}USDT-1h-mark.parquet"),
            "funding": str(HARTHOR / f"{base}USDT-funding_rate.parquet"),
        }
    return paths, left_out


def left_out_note(left_out: dict[str, str]) -> str:
    """``1000PEPE (no 5m file); SPACE, XAG (no 5m bars in 2025)``: symbols grouped by reason."""
    reasons: dict[str, list[str]] = {}
    for base, reason in left_out.items():
        reasons.setdefault(reason, []).append(base)
    return "; ".join(f"{', '.join(bases)} ({reason})" for reason, bases in reasons.items())


def all_workloads() -> list[Workload]:
    """Every workload of the issue, in report order."""
    real, synthetic = DATASETS["btc-5m-100k"], DATASETS["synthetic-1m-1m"]
    funding = {
        "mark_path": str(HARTHOR / "BTCUSDT-1h-mark.parquet"),
        "funding_path": str(HARTHOR / "BTCUSDT-funding_rate.parquet"),
    }
    sma = "SMA(20)/SMA(100) cross, long/short, 3x, taker 0.05 %"
    basis = (
        "1h mark candles, basis-adjusted to 5m: inside each hour the 5m trade candles × the "
        "hour's mark open / the trade open at the hour (exact at the hour, where funding "
        'settles; the hour\'s mark high/low/close is never used; `coarse_mark="basis"`)'
    )
    portfolio, left_out = portfolio_paths()
    selection = f"{len(portfolio)} of the {len(PORTFOLIO_BASES)} harthor symbols"
    if left_out:
        selection += f"; left out: {left_out_note(left_out)}"
    return [
        _bar_workload("1-signal-100k", 1, f"Signal strategy: {sma}", "signal", real),
        _bar_workload("1-signal-1m", 1, f"Signal strategy: {sma}", "signal", synthetic),
        _bar_workload(
            "2-funding-liq-100k",
            2,
            "Signal strategy with funding from data and liquidation on mark candles",
            "funding",
            real,
            notes=(
                f"Mark: `BTCUSDT-1h-mark.parquet`, {basis}.",
                "Funding: the 8h events of `BTCUSDT-funding_rate.parquet`.",
                "Stake: 99 % of the balance (FreqTrade's default tradable_balance_ratio), not "
                "all of it: a cross position's initial margin is taken at the mark (less its "
                "uPnL there), so a whole-balance entry filled on the wrong side of the mark "
                "would be short of margin by the basis.",
            ),
            **funding,
        ),
        _bar_workload(
            "2-funding-liq-1m",
            2,
            "Signal strategy with funding and liquidation on mark candles",
            "funding",
            synthetic,
            mark_path=str(synthetic.mark_parquet),
            funding_path=str(synthetic.funding_parquet),
            notes=(
                "Mark: seeded synthetic 1m mark candles, the trade candles × exp(basis), the "
                "log-basis an AR(1) with sd 0.02 %.",
                "Funding: seeded synthetic 8h events, an AR(1) rate around 0.01 % (sd 0.02 %).",
                "Stake: 99 % of the balance, as in the 100k case.",
            ),
        ),
        _bar_workload("3-event-100k", 3, f"Event-driven next(): {sma}", "event", real),
        _bar_workload("3-event-1m", 3, f"Event-driven next(): {sma}", "event", synthetic),
        Workload(
            key="4-portfolio",
            number=4,
            title=f"Portfolio: {len(portfolio)} symbols, cross margin, 5m, 2025 (incl. 2025-10-10)",
            kind="portfolio",
            items=0,  # filled in by prepare() from the files
            timeframe="5m",
            symbols=tuple(portfolio),
            paths=portfolio,
            start=PORTFOLIO_START,
            end=PORTFOLIO_END,
            notes=(
                f"Symbols: {selection}.",
                f"Mark: each symbol's {basis}. Funding: each symbol's funding file.",
            ),
        ),
        Workload(
            key="7-sweep-10k",
            number=7,
            title="Sweep: 10,000 variants of the SMA cross (fast × slow × stop-loss) over 100k "
            "bars, funding and liquidation on mark candles",
            kind="sweep",
            items=SWEEP_VARIANTS,
            dataset=real.key,
            timeframe=real.timeframe,
            data_path=str(real.parquet),
            freqtrade_dir=str(real.freqtrade_dir),
            notes=(
                f"Grid: fast {SWEEP_FAST[0]}..{SWEEP_FAST[-1]} step 5 × slow "
                f"{SWEEP_SLOW[0]}..{SWEEP_SLOW[-1]} step 10 × stop-loss "
                f"{SWEEP_STOPLOSS[-1]:g}..{SWEEP_STOPLOSS[0]:g} of the stake (20 values) = "
                f"{SWEEP_VARIANTS:,} variants; levtrade at 3x, cross margin, with workload 2's "
                "funding and basis-adjusted mark candles (liquidation tested on every bar).",
                "vectorbt: the same grid as one parameter broadcast (`vbt.MA.run` over the "
                "windows, `Portfolio.from_signals` over the columns, in column chunks), at 1x "
                "without margin, the stop-loss as `sl_stop` = |stop-loss| / 3 (the same price "
                "move).",
                "FreqTrade: `freqtrade hyperopt -j 1` (one backtest per epoch) on the same "
                "candles and grid as hyperopt parameters; its median time per backtest, and "
                "the 10,000 variants at that rate on one core (its `-j` spreads epochs over "
                "processes as levtrade's workers do: per core, divide by the workers).",
            ),
            **funding,
        ),
        Workload(
            key="5-calc-vectorised-1m",
            number=5,
            title="Margin calculator: liquidation prices of 1M random positions (vectorised)",
            kind="calc_vectorised",
            items=1_000_000,
        ),
        Workload(
            key="5-calc-cli-1000",
            number=5,
            title="Margin calculator: scenario CLI, 1,000 scenarios",
            kind="calc_cli",
            items=1_000,
        ),
        Workload(
            key="6-data-parquet-1m",
            number=6,
            title="Data: load 1M candles from Parquet",
            kind="data_parquet",
            items=synthetic.bars,
            dataset=synthetic.key,
            timeframe=synthetic.timeframe,
            data_path=str(synthetic.parquet),
        ),
        Workload(
            key="6-data-freqtrade-1m",
            number=6,
            title="Data: load 1M candles from a FreqTrade feather directory",
            kind="data_freqtrade",
            items=synthetic.bars,
            dataset=synthetic.key,
            timeframe=synthetic.timeframe,
            freqtrade_dir=str(synthetic.freqtrade_dir),
        ),
    ]


def select(quick: bool, only: Iterable[str] = ()) -> list[Workload]:
    """Workloads to run: ``only`` matches a key prefix or a workload number; ``quick`` drops the
    1M-bar datasets."""
    chosen = all_workloads()
    wanted = [w.strip() for w in only if w.strip()]
    if wanted:
        chosen = [w for w in chosen if any(_matches(w, pattern) for pattern in wanted)]
    if quick:
        chosen = [w for w in chosen if w.dataset != "synthetic-1m-1m" or w.kind.startswith("data")]
    return chosen


def _matches(workload: Workload, pattern: str) -> bool:
    if pattern.isdigit():
        return workload.number == int(pattern)
    return workload.key.startswith(pattern) or workload.kind == pattern


# ----------------------------------------------------------------------------------- data


def read_frame(path: Path) -> pd.DataFrame:
    """Read a cached candle file into a frame indexed by UTC open time."""
    frame = pd.read_parquet(path)
    frame.index = pd.DatetimeIndex(frame.pop("timestamp"), name="timestamp")
    return frame


def synthetic_candles(bars: int, seed: int = SYNTHETIC_SEED) -> pd.DataFrame:
    """Seeded synthetic 1-minute candles: positive prices, valid OHLC, open = previous close.

    Log-returns are a slowly varying drift (AR(1), trend regimes) plus Student-t noise whose
    volatility clusters (AR(1) log-volatility). High and low reach beyond the body by
    half-normal amounts scaled to the bar's volatility; volume grows with the move.
    """
    rng = np.random.default_rng(seed)
    log_vol = _ar1(rng.normal(0.0, SYNTHETIC_VOL_SHOCK, bars), SYNTHETIC_VOL_PHI)
    vol = SYNTHETIC_SIGMA * np.exp(log_vol - log_vol.var() / 2.0)
    drift_sd = SYNTHETIC_DRIFT_SCALE * SYNTHETIC_SIGMA
    drift = _ar1(rng.normal(0.0, 1.0, bars), SYNTHETIC_DRIFT_PHI)
    drift *= drift_sd * math.sqrt(1.0 - SYNTHETIC_DRIFT_PHI**2)
    dof = SYNTHETIC_T_DOF
    noise = rng.standard_t(dof, bars) / math.sqrt(dof / (dof - 2.0))
    returns = drift + vol * noise
    close = SYNTHETIC_PRICE * np.exp(np.cumsum(returns))
    open_ = np.concatenate(([SYNTHETIC_PRICE], close[:-1]))
    wick_up = np.abs(rng.normal(0.0, 0.5, bars)) * vol
    wick_down = np.abs(rng.normal(0.0, 0.5, bars)) * vol
    high = np.maximum(open_, close) * np.exp(wick_up)
    low = np.minimum(open_, close) * np.exp(-wick_down)
    volume = rng.gamma(2.0, 5.0, bars) * (1.0 + np.abs(returns) / vol)
    index = pd.date_range(SYNTHETIC_START, periods=bars, freq="1min", name="timestamp")
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index
    )


def synthetic_mark_and_funding(
    candles: pd.DataFrame, seed: int = SYNTHETIC_SEED + 1
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeded mark candles and funding events for synthetic trade candles (Binance's file
    layouts): each bar's mark OHLC is its trade OHLC times exp(basis), the log-basis an AR(1)
    around 0 (so the mark keeps valid OHLC and stays within ~0.1 % of the trade price, as the
    real series do); funding every 8h at an AR(1) rate around 0.01 %."""
    rng = np.random.default_rng(seed)
    bars = len(candles)
    basis_shock = SYNTHETIC_BASIS_SD * math.sqrt(1.0 - SYNTHETIC_BASIS_PHI**2)
    scale = np.exp(_ar1(rng.normal(0.0, basis_shock, bars), SYNTHETIC_BASIS_PHI))
    marks = pd.DataFrame(
        {
            "open_time": pd.DatetimeIndex(candles.index).astype("datetime64[ms, UTC]"),
            **{
                name: candles[name].to_numpy(np.float64) * scale
                for name in ("open", "high", "low", "close")
            },
        }
    )
    interval = pd.Timedelta(hours=SYNTHETIC_FUNDING_HOURS)
    first, last = candles.index[0].ceil(interval), candles.index[-1]
    times = pd.date_range(first, last, freq=interval)
    rate_shock = SYNTHETIC_FUNDING_SD * math.sqrt(1.0 - SYNTHETIC_FUNDING_PHI**2)
    rates = SYNTHETIC_FUNDING_MEAN + _ar1(
        rng.normal(0.0, rate_shock, len(times)), SYNTHETIC_FUNDING_PHI
    )
    funding = pd.DataFrame(
        {"funding_time": times.astype("datetime64[ms, UTC]"), "funding_rate": rates}
    )
    return marks, funding


def _ar1(shocks: FloatArray, phi: float) -> FloatArray:
    """x[t] = phi * x[t-1] + shocks[t], x[-1] = 0."""
    values = accumulate(shocks.tolist(), lambda previous, shock: phi * previous + shock)
    return np.fromiter(values, dtype=np.float64, count=shocks.shape[0])


def real_candles(bars: int) -> pd.DataFrame:
    """The first ``bars`` real BTCUSDT 5m perpetual candles."""
    raw = pd.read_parquet(HARTHOR / "BTCUSDT-5m-perp.parquet").iloc[:bars]
    if len(raw) < bars:
        raise ValueError(f"BTCUSDT-5m-perp.parquet has {len(raw)} rows, {bars} needed")
    index = pd.DatetimeIndex(raw["open_time"], name="timestamp")
    columns = ["open", "high", "low", "close", "volume"]
    return pd.DataFrame(raw[columns].to_numpy(np.float64), index=index, columns=columns)


def _stamp(dataset: Dataset) -> str:
    """Identifies the generator settings a cached file was written with."""
    parts: list[object] = [_FORMAT_VERSION, dataset.key, dataset.bars]
    if dataset.real:
        source = HARTHOR / "BTCUSDT-5m-perp.parquet"
        parts += [source.stat().st_size]
    else:
        parts += [
            SYNTHETIC_SEED,
            SYNTHETIC_PRICE,
            SYNTHETIC_SIGMA,
            SYNTHETIC_DRIFT_PHI,
            SYNTHETIC_DRIFT_SCALE,
            SYNTHETIC_VOL_PHI,
            SYNTHETIC_VOL_SHOCK,
            SYNTHETIC_T_DOF,
            SYNTHETIC_BASIS_SD,
            SYNTHETIC_BASIS_PHI,
            SYNTHETIC_FUNDING_HOURS,
            SYNTHETIC_FUNDING_MEAN,
            SYNTHETIC_FUNDING_SD,
            SYNTHETIC_FUNDING_PHI,
            np.__version__,
        ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def ensure_dataset(dataset: Dataset, log: Callable[[str], None] = print) -> None:
    """Write the dataset's Parquet file and FreqTrade directory unless already current."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    ignore = CACHE_DIR / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    stamp_file = CACHE_DIR / f"{dataset.key}.stamp"
    stamp = _stamp(dataset)
    current = (
        stamp_file.is_file()
        and stamp_file.read_text().strip() == stamp
        and dataset.parquet.is_file()
        and dataset.freqtrade_file.is_file()
        and dataset.freqtrade_mark_file.is_file()
        and (dataset.real or (dataset.mark_parquet.is_file() and dataset.funding_parquet.is_file()))
    )
    if current:
        return
    log(f"preparing {dataset.key} ({dataset.title}) in {CACHE_DIR}")
    frame = real_candles(dataset.bars) if dataset.real else synthetic_candles(dataset.bars)
    table = frame.reset_index()
    table["timestamp"] = table["timestamp"].astype("datetime64[ms, UTC]")
    _atomic(dataset.parquet, lambda tmp: table.to_parquet(tmp, index=False, compression="zstd"))
    freqtrade = table.rename(columns={"timestamp": "date"})
    dataset.freqtrade_file.parent.mkdir(parents=True, exist_ok=True)
    _atomic(
        dataset.freqtrade_file,
        lambda tmp: freqtrade.to_feather(tmp, compression="lz4", compression_level=9),
    )
    hourly = frame.resample("1h", label="left", closed="left").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    mark = hourly.dropna().reset_index().rename(columns={"timestamp": "date"})
    mark["date"] = mark["date"].astype("datetime64[ms, UTC]")
    mark["volume"] = 0.0
    _atomic(
        dataset.freqtrade_mark_file,
        lambda tmp: mark.to_feather(tmp, compression="lz4", compression_level=9),
    )
    if not dataset.real:
        marks, funding = synthetic_mark_and_funding(frame)
        _atomic(dataset.mark_parquet, lambda tmp: marks.to_parquet(tmp, index=False))
        _atomic(dataset.funding_parquet, lambda tmp: funding.to_parquet(tmp, index=False))
    stamp_file.write_text(stamp + "\n")


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    tmp.replace(path)


def prepare(workloads: Iterable[Workload], log: Callable[[str], None] = print) -> list[Workload]:
    """Write the data the workloads need; return them with counts filled in. Workloads whose
    data is missing (no ``shared/data``) are dropped with a message."""
    ready: list[Workload] = []
    for workload in workloads:
        dataset = DATASETS.get(workload.dataset or "")
        if dataset is not None:
            if not dataset.available:
                log(f"skipping {workload.key}: {HARTHOR} not found")
                continue
            ensure_dataset(dataset, log)
        if workload.kind == "portfolio":
            trades = [files["trade"] for files in workload.paths.values()]
            missing = [path for path in trades if not Path(path).is_file()]
            if missing:
                log(f"skipping {workload.key}: {len(missing)} portfolio files missing")
                continue
            workload = replace(workload, items=portfolio_bars(workload))
        ready.append(workload)
    return ready


def portfolio_bars(workload: Workload) -> int:
    """Symbol-bars inside the portfolio window, summed over the symbols (the rate's unit)."""
    start = pd.Timestamp(workload.start, tz="UTC")
    end = pd.Timestamp(workload.end, tz="UTC")
    total = 0
    for files in workload.paths.values():
        stamps = pd.read_parquet(files["trade"], columns=["open_time"])["open_time"]
        total += int(((stamps >= start) & (stamps < end)).sum())
    return total


def parquet_1m_path() -> Path:
    """The 1M-candle Parquet file of workload 6 (written if missing)."""
    dataset = DATASETS["synthetic-1m-1m"]
    ensure_dataset(dataset)
    return dataset.parquet


def freqtrade_1m_dir() -> Path:
    """The FreqTrade data directory holding the 1M candles of workload 6 (written if missing)."""
    dataset = DATASETS["synthetic-1m-1m"]
    ensure_dataset(dataset)
    return dataset.freqtrade_dir


# ------------------------------------------------------------------------------ reference


def sma(values: FloatArray, window: int) -> FloatArray:
    """Simple moving average; NaN for the first ``window - 1`` values."""
    out = np.full(values.shape[0], np.nan)
    if values.shape[0] >= window:
        windows = np.lib.stride_tricks.sliding_window_view(values, window)
        out[window - 1 :] = windows.mean(axis=1)
    return out


def targets(close: FloatArray, fast: int = FAST, slow: int = SLOW) -> NDArray[np.int8]:
    """+1 / -1 where fast SMA > / < slow SMA at the close, 0 where equal or undefined."""
    fast_sma, slow_sma = sma(close, fast), sma(close, slow)
    with np.errstate(invalid="ignore"):
        up = fast_sma > slow_sma
        down = fast_sma < slow_sma
    return up.astype(np.int8) - down.astype(np.int8)


@dataclass(frozen=True)
class ReferenceResult:
    trades: int
    final_equity: float


def reference_sma_cross(
    open_: FloatArray,
    close: FloatArray,
    *,
    leverage: float = LEVERAGE,
    fee: float = TAKER_FEE,
    equity: float = EQUITY,
    fast: int = FAST,
    slow: int = SLOW,
    decision_start: int = -1,
    fill_at: str = "next_open",
) -> ReferenceResult:
    """The strategy of this module's docstring, simulated directly (the peers' cross-check).
    ``decision_start`` (default ``slow - 1``) is the bar index of the first decision;
    ``fill_at="signal_close"`` fills at the deciding bar's close instead of the next open."""
    target = targets(close, fast, slow)
    target[: max(decision_start, slow - 1, 0)] = 0
    position, size, entry, trades = 0, 0.0, 0.0, 0
    last = close.shape[0] - 1
    at_close = fill_at == "signal_close"
    # Fills follow the bars where the non-zero target changes side (a decision at the last
    # bar fills only at its own close).
    decided = np.flatnonzero(target[: last + 1 if at_close else last] != 0)
    sides = target[decided]
    changes = (
        decided[np.concatenate(([True], sides[1:] != sides[:-1]))] if decided.size else decided
    )
    for i in changes:
        side = int(target[i])
        price = float(close[i] if at_close else open_[i + 1])
        if position:
            equity += position * size * (price - entry) - size * price * fee
            trades += 1
        size = leverage * equity / (price * (1.0 + leverage * fee))
        entry, position = price, side
        equity -= size * price * fee
    if position:
        price = float(close[last])
        equity += position * size * (price - entry) - size * price * fee
        trades += 1
    return ReferenceResult(trades=trades, final_equity=equity)


def reference_for(workload: Workload) -> ReferenceResult:
    """The reference result for a bar workload's data and settings."""
    frame = workload.frame()
    return reference_sma_cross(
        frame["open"].to_numpy(np.float64),
        frame["close"].to_numpy(np.float64),
        leverage=workload.leverage,
        fee=workload.fee,
        equity=workload.equity,
        fast=workload.fast,
        slow=workload.slow,
        decision_start=workload.decision_start,
        fill_at=workload.fill_at,
    )
