"""Stress tests of an account (a scenario, DESIGN.md §5, or a live :class:`Account`).

* **Liquidating moves**: per position, the move of its own symbol (other marks held) that
  reaches its liquidation price; per account, the joint uniform move of every symbol that
  liquidates the cross pool, down and up.
* **Ladders**: for a list of moves, jointly and per symbol: equity, margin ratio and the
  positions liquidated on the way there.
* **Historical shocks**: every k-bar joint move of the symbols in a price history, applied to
  the account — the worst episodes and how many windows would have liquidated.
* **Crash replay**: a window of history (default 2025-10-10 18:00–24:00 UTC) replayed bar by bar
  on the account, scaled to its marks; liquidations tested at each bar's adverse mark extreme
  and executed by the venue's outcome model.
* **Probability of liquidation** within a horizon, by bootstrapping historical bars (seeded),
  with its standard error.

Every figure is the account's own (``Account.liquidatable_pools``, ``total_equity``,
``margin_ratio``, ``process_liquidations``), evaluated on a copy with its marks moved; nothing
here computes margin. Moves are relative: ``-0.1`` puts a mark at 90 % of its current value.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from levtrade._json import to_json_value
from levtrade.calculator import Scenario, build_account
from levtrade.data import MarketData, Portfolio, read_candles
from levtrade.data._types import CandleKind
from levtrade.data.freqtrade import pair_to_filename
from levtrade.data.market import OHLC
from levtrade.data.timeframes import format_timeframe, format_ts, parse_time, parse_timeframe
from levtrade.errors import ConfigError
from levtrade.margin import CROSS_POOL, Account, Position, PositionKey
from levtrade.risk import _checks

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Pool = str | PositionKey

DEFAULT_MOVES: tuple[float, ...] = tuple(round(-0.5 + 0.1 * i, 10) for i in range(11))
"""−50 % … +50 % in steps of 10 %."""
DEFAULT_REPLAY: tuple[str, str] = ("2025-10-10T18:00:00Z", "2025-10-11T00:00:00Z")

MAX_MOVE = 100.0
"""The largest ladder move, as a fraction (+10,000 %: a hundredfold price); prices beyond it
leave the range the account accepts."""

MAX_SIMULATED_BARS = 20_000_000
"""The most bars a liquidation-probability bootstrap simulates (``paths × horizon``): beyond
it the run would take minutes to hours and its bar indices gigabytes."""
"""The 2025-10-10 crash, 18:00–24:00 UTC."""

SCAN_STEP = 0.0025
"""Grid step of the move scans; each crossing found on the grid is refined by bisection."""
MIN_MOVE = -0.999
"""The deepest fall scanned (a price must stay > 0)."""
MAX_MOVE = 3.0
"""The highest rise scanned, unless a ladder asks for more."""
_BISECTIONS = 60
_EXTENSIONS = ("parquet", "feather", "csv", "json", "json.gz")


def position_label(position: Position) -> str:
    """``"BTC/USDT:USDT long"``: unique in one-way and in hedge mode."""
    return f"{position.symbol} {position.side}"


# ============================================================================================
# Price history
# ============================================================================================


@dataclass(frozen=True, eq=False)
class PriceHistory:
    """Candles of several symbols on their common bars: 2-D arrays ``(bars, symbols)``.

    ``kinds[j]`` says whether column *j* is mark or trade candles.
    """

    symbols: tuple[str, ...]
    timeframe_ms: int
    timestamps: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    kinds: tuple[str, ...]
    sources: tuple[str, ...]

    def __post_init__(self) -> None:
        shape = (self.timestamps.size, len(self.symbols))
        for name in ("open", "high", "low", "close"):
            if getattr(self, name).shape != shape:
                raise ConfigError(
                    f"{name}: expected shape {shape}, got {getattr(self, name).shape}"
                )
        if len(self.kinds) != len(self.symbols) or len(self.sources) != len(self.symbols):
            raise ConfigError("kinds: one kind and one source per symbol are needed")

    def __len__(self) -> int:
        return int(self.timestamps.size)

    @property
    def timeframe(self) -> str:
        return format_timeframe(self.timeframe_ms)

    def between(self, start: int | str | None, end: int | str | None) -> PriceHistory:
        """Bars with ``start ≤ open time < end``."""
        lo = 0 if start is None else int(np.searchsorted(self.timestamps, parse_time(start)))
        hi = len(self) if end is None else int(np.searchsorted(self.timestamps, parse_time(end)))
        return self._rows(slice(lo, max(lo, hi)))

    def select(self, symbols: Sequence[str]) -> PriceHistory:
        """The columns of ``symbols``, in that order."""
        missing = [s for s in symbols if s not in self.symbols]
        if missing:
            raise ConfigError(
                f"data: no price history for {', '.join(missing)} (history has "
                f"{', '.join(self.symbols) or 'no symbols'})"
            )
        cols = [self.symbols.index(s) for s in symbols]
        return PriceHistory(
            tuple(symbols),
            self.timeframe_ms,
            self.timestamps,
            self.open[:, cols],
            self.high[:, cols],
            self.low[:, cols],
            self.close[:, cols],
            tuple(self.kinds[c] for c in cols),
            tuple(self.sources[c] for c in cols),
        )

    def describe(self) -> dict[str, Any]:
        """Symbols, candle kinds, timeframe, bars and span, for reports."""
        return {
            "symbols": list(self.symbols),
            "kinds": dict(zip(self.symbols, self.kinds, strict=True)),
            "timeframe": self.timeframe,
            "bars": len(self),
            "start": format_ts(self.timestamps[0]) if len(self) else None,
            "end": format_ts(self.timestamps[-1]) if len(self) else None,
        }

    @classmethod
    def from_markets(
        cls,
        markets: MarketData | Portfolio | Mapping[str, MarketData] | Iterable[MarketData],
        *,
        prefer_mark: bool = True,
    ) -> PriceHistory:
        """From market data: each symbol's mark candles when it has them (and ``prefer_mark``),
        else its trade candles, on the bars all symbols share."""
        if isinstance(markets, MarketData):
            members = [markets]
        elif isinstance(markets, Portfolio):
            members = list(markets.markets)
        elif isinstance(markets, Mapping):
            members = list(markets.values())
        else:
            members = list(markets)
        series = []
        for market in members:
            use_mark = prefer_mark and market.mark is not None
            prices: OHLC | MarketData = market.mark if use_mark and market.mark else market
            series.append(
                _Series(
                    market.symbol,
                    market.timestamps,
                    (prices.open, prices.high, prices.low, prices.close),
                    "mark" if use_mark else "trade",
                    str(market.metadata.get("source", "")),
                    market.timeframe_ms,
                )
            )
        return _aligned(series)

    @classmethod
    def from_dir(
        cls,
        data_dir: str | Path,
        symbols: Sequence[str],
        *,
        timeframe: str = "1h",
        prefer_mark: bool = True,
        aliases: Mapping[str, str] | None = None,
        start: int | str | None = None,
        end: int | str | None = None,
    ) -> PriceHistory:
        """Read each symbol's candles from ``data_dir``: ``<BASEQUOTE>-<tf>-mark`` /
        ``-perp`` files (the shared Binance layout) or a FreqTrade futures directory
        (``futures/<PAIR>-<tf>-mark`` / ``-futures``), in Parquet, Feather, CSV or JSON; spot
        pairs (``BTC/USDT``) also from ``-spot`` files or a FreqTrade spot directory.
        ``aliases`` maps a symbol to another file stem (``{"BTC/USDC:USDC": "BTCUSDT"}``)."""
        root = Path(data_dir)
        if not root.is_dir():
            raise ConfigError(f"data: not a directory: {str(root)!r}")
        parse_timeframe(timeframe)
        series = []
        for symbol in symbols:
            path, kind = _find_file(root, symbol, timeframe, prefer_mark, (aliases or {}))
            candles = read_candles(path, kind=kind, timeframe=timeframe, gaps="keep")
            candles = candles.between(start, end)
            series.append(
                _Series(
                    symbol,
                    candles.timestamps,
                    (candles.open, candles.high, candles.low, candles.close),
                    kind,
                    str(path),
                    candles.timeframe_ms,
                )
            )
        return _aligned(series)

    def _rows(self, index: slice) -> PriceHistory:
        return PriceHistory(
            self.symbols,
            self.timeframe_ms,
            self.timestamps[index],
            self.open[index],
            self.high[index],
            self.low[index],
            self.close[index],
            self.kinds,
            self.sources,
        )


class _Series(NamedTuple):
    symbol: str
    timestamps: IntArray
    prices: tuple[FloatArray, FloatArray, FloatArray, FloatArray]
    kind: str
    source: str
    timeframe_ms: int


def _aligned(series: list[_Series]) -> PriceHistory:
    """The series on the bars they all have."""
    if not series:
        raise ConfigError("data: no symbols to build a price history from")
    if len({s.timeframe_ms for s in series}) > 1:
        shown = ", ".join(f"{s.symbol} {format_timeframe(s.timeframe_ms)}" for s in series)
        raise ConfigError(f"data: symbols have different timeframes ({shown})")
    common = series[0].timestamps
    for member in series[1:]:
        common = np.intersect1d(common, member.timestamps)
    columns: list[FloatArray] = []
    for k in range(4):
        picked = [s.prices[k][np.searchsorted(s.timestamps, common)] for s in series]
        columns.append(np.column_stack(picked) if common.size else np.empty((0, len(series))))
    return PriceHistory(
        tuple(s.symbol for s in series),
        series[0].timeframe_ms,
        np.asarray(common, dtype=np.int64),
        columns[0],
        columns[1],
        columns[2],
        columns[3],
        tuple(s.kind for s in series),
        tuple(s.source for s in series),
    )


def _find_file(
    root: Path, symbol: str, timeframe: str, prefer_mark: bool, aliases: Mapping[str, str]
) -> tuple[Path, CandleKind]:
    stem = aliases.get(symbol)
    if stem is None:
        head = symbol.split(":")[0]
        stem = head.replace("/", "")
    pair = pair_to_filename(aliases.get(symbol, symbol))
    names: dict[CandleKind, list[str]] = {
        "mark": [
            f"{stem}-{timeframe}-mark",
            f"futures/{pair}-{timeframe}-mark",
            f"{pair}-{timeframe}-mark",
        ],
        "trade": [
            f"{stem}-{timeframe}-perp",
            f"futures/{pair}-{timeframe}-futures",
            f"{pair}-{timeframe}-futures",
            f"{stem}-{timeframe}-spot",
            f"{pair}-{timeframe}",
        ],
    }
    order: tuple[CandleKind, ...] = ("mark", "trade") if prefer_mark else ("trade",)
    tried = []
    for kind in order:
        for name in names[kind]:
            for ext in _EXTENSIONS:
                path = root / f"{name}.{ext}"
                tried.append(path.name)
                if path.is_file():
                    return path, kind
    raise ConfigError(
        f"data: no {timeframe} candles for {symbol} in {str(root)!r} (looked for "
        f"{', '.join(dict.fromkeys(tried[:: len(_EXTENSIONS)]))}, .parquet/.feather/.csv/.json)"
    )


# ============================================================================================
# Results
# ============================================================================================


@dataclass(frozen=True, slots=True)
class PositionMove:
    """The move of a position's own symbol (others held) that reaches its liquidation price,
    and the smallest joint uniform move that liquidates its pool."""

    label: str
    symbol: str
    side: str
    margin_mode: str
    mark_price: float
    liquidation_price: float | None
    move: float | None
    joint_move: float | None


@dataclass(frozen=True, slots=True)
class LiquidationMoves:
    """Per position and for the account (the cross pool under a joint uniform move)."""

    positions: tuple[PositionMove, ...]
    account_down: float | None
    """The joint fall that liquidates the cross pool (None: no cross pool, or none to −99.9 %)."""
    account_up: float | None
    """The joint rise that liquidates the cross pool (None: none up to the scan's top)."""
    first_down: float | None
    """The joint fall at which the first position (any pool) is liquidated."""
    first_up: float | None


@dataclass(frozen=True, slots=True)
class LadderRow:
    """One move of a ladder."""

    move: float
    equity: float
    """Total equity marked to market at the move (positions kept open)."""
    pnl: float
    """Equity change from now."""
    capped_equity: float
    """Total equity with each pool floored at 0: a liquidated pool cannot lose more than it
    holds (DESIGN.md §3)."""
    margin_ratio: float
    """Cross margin ratio (``inf`` at equity ≤ 0)."""
    liquidated: tuple[str, ...]
    """Positions whose pool triggered anywhere between now and this move."""


@dataclass(frozen=True, slots=True)
class Ladder:
    """Moves of one set of symbols (the others held at their marks)."""

    name: str
    """``"joint"`` or the symbol moved alone."""
    symbols: tuple[str, ...]
    rows: tuple[LadderRow, ...]


@dataclass(frozen=True, slots=True)
class Shock:
    """One historical k-bar window applied to the account."""

    start: int
    end: int
    moves: dict[str, float]
    """Close-to-close move per symbol."""
    adverse_moves: dict[str, float]
    """Each symbol's extreme against the positions within the window."""
    equity: float
    """Total equity after the close-to-close moves."""
    pnl: float
    margin_ratio: float
    liquidated: tuple[str, ...]
    """Positions whose pool triggers at the adverse extremes (all at once: conservative)."""


@dataclass(frozen=True, slots=True)
class ShockReport:
    """Every ``window``-bar joint move of a history applied to the account."""

    window: int
    """Bars per window."""
    windows: int
    liquidating_windows: int
    correlation: dict[str, dict[str, float]]
    """Correlation of one-bar log returns."""
    worst: tuple[Shock, ...]
    """The worst windows by equity, one per episode (non-overlapping)."""
    history: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ReplayBar:
    """One replayed bar."""

    time: int
    marks: dict[str, float]
    """Marks at the bar's close."""
    equity_at_extreme: float
    """Total equity at the bar's adverse extremes, before any liquidation, each pool floored
    at 0 (a pool liquidated there loses at most what it holds)."""
    equity: float
    """Total equity at the close, after the bar's liquidations."""
    margin_ratio: float
    liquidated: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReplayEvent:
    """A pool liquidated during the replay, by the venue's outcome model."""

    time: int
    pool: str
    positions: tuple[str, ...]
    prices: dict[str, float]
    """Execution prices (the adverse mark extremes of the bar)."""
    trader_loss: float
    outcome: str


@dataclass(frozen=True, slots=True)
class CrashReplay:
    """A crash window replayed on the account, bar by bar."""

    start: int
    end: int
    bars: tuple[ReplayBar, ...]
    events: tuple[ReplayEvent, ...]
    initial_equity: float
    min_equity: float
    final_equity: float
    max_margin_ratio: float
    history: dict[str, Any]

    @property
    def liquidated(self) -> tuple[str, ...]:
        """Every position liquidated in the window, in order."""
        return tuple(label for e in self.events for label in e.positions)


@dataclass(frozen=True, slots=True)
class LiquidationProbability:
    """The bootstrap estimate of liquidation within ``horizon`` bars."""

    horizon: int
    paths: int
    seed: int
    block: int
    liquidated_paths: int
    probability: float
    """Share of paths in which any position was liquidated."""
    standard_error: float
    """√(p(1 − p)/paths)."""
    by_position: dict[str, float]
    mean_bars_to_liquidation: float | None
    history: dict[str, Any]


# ============================================================================================
# The stress test
# ============================================================================================


class StressTest:
    """Stress tests of one account; it is copied and never changed.

    ``account`` is an :class:`Account` or a :class:`~levtrade.calculator.Scenario`.
    """

    def __init__(self, account: Account | Scenario) -> None:
        source = build_account(account) if isinstance(account, Scenario) else account
        if not source.positions:
            raise ConfigError("positions: the account has no open positions to stress")
        self.account = _clone(source)
        self.symbols = tuple(dict.fromkeys(p.symbol for p in self.account.positions))
        self.marks = {s: self.account.mark_price(s) for s in self.symbols}
        self.initial_equity = self.account.total_equity
        self.labels: dict[Pool, tuple[str, ...]] = {}
        cross = tuple(position_label(p) for p in self.account.positions if not p.is_isolated)
        if cross:
            self.labels[CROSS_POOL] = cross
        for p in self.account.positions:
            if p.is_isolated:
                self.labels[p.key] = (position_label(p),)
        self._net = {
            s: math.fsum(p.size for p in self.account.positions if p.symbol == s)
            for s in self.symbols
        }
        self._scans: dict[tuple[tuple[str, ...], int, float], dict[Pool, float]] = {}

    # -- liquidating moves ------------------------------------------------------------------

    def liquidation_moves(self) -> LiquidationMoves:
        """Each position's own liquidating move and the account's joint ones."""
        down = self._scan(self.symbols, -1)
        up = self._scan(self.symbols, +1)
        positions = []
        for p in self.account.positions:
            pool: Pool = p.key if p.is_isolated else CROSS_POOL
            price = self.account.liquidation_price(p)
            mark = self.marks[p.symbol]
            joint = [m for m in (down.get(pool), up.get(pool)) if m is not None]
            positions.append(
                PositionMove(
                    label=position_label(p),
                    symbol=p.symbol,
                    side=p.side,
                    margin_mode=p.margin_mode.value,
                    mark_price=mark,
                    liquidation_price=price,
                    move=None if price is None else price / mark - 1.0,
                    joint_move=min(joint, key=abs) if joint else None,
                )
            )
        return LiquidationMoves(
            positions=tuple(positions),
            account_down=down.get(CROSS_POOL),
            account_up=up.get(CROSS_POOL),
            first_down=max(down.values(), default=None),
            first_up=min(up.values(), default=None),
        )

    # -- ladders ----------------------------------------------------------------------------

    def ladder(self, moves: Sequence[float], symbols: Sequence[str] | None = None) -> Ladder:
        """Equity, margin ratio and positions liquidated at each move of ``symbols`` (all of
        them jointly by default; the others held at their marks)."""
        moved = tuple(symbols) if symbols is not None else self.symbols
        unknown = [s for s in moved if s not in self.symbols]
        if unknown or not moved:
            raise ConfigError(
                f"symbols: {', '.join(unknown) or 'none given'} not among the account's "
                f"positions ({', '.join(self.symbols)})"
            )
        steps = _moves(moves)
        top = max(MAX_MOVE, *steps)
        rows = []
        for move in steps:
            if move == 0.0:
                self._set({})
                pools = set(self.account.liquidatable_pools())
            else:
                first = self._scan(moved, 1 if move > 0 else -1, top)
                pools = {pool for pool, at in first.items() if abs(at) <= abs(move)}
            self._set({s: move for s in moved})
            liquidated: list[str] = []
            for pool in self.labels:
                if pool in pools:
                    liquidated.extend(self.labels[pool])
            equity = self.account.total_equity
            rows.append(
                LadderRow(
                    move=move,
                    equity=equity,
                    pnl=equity - self.initial_equity,
                    capped_equity=_capped_equity(self.account),
                    margin_ratio=self.account.margin_ratio,
                    liquidated=tuple(liquidated),
                )
            )
        self._set({})
        name = "joint" if moved == self.symbols and len(moved) > 1 else ", ".join(moved)
        return Ladder(name, moved, tuple(rows))

    def ladders(self, moves: Sequence[float] = DEFAULT_MOVES) -> list[Ladder]:
        """The joint ladder (with several symbols) and one per symbol."""
        out = [self.ladder(moves)] if len(self.symbols) > 1 else []
        return out + [self.ladder(moves, [s]) for s in self.symbols]

    # -- historical shocks ------------------------------------------------------------------

    def historical_shocks(
        self, history: PriceHistory, *, window: int = 24, top: int = 5
    ) -> ShockReport:
        """Apply every ``window``-bar joint move of ``history`` to the account."""
        k = _whole(window, "window", 1)
        count = _whole(top, "top", 1)
        hist = history.select(self.symbols)
        if len(hist) <= k:
            raise ConfigError(
                f"window: {k} bars needs more than the {len(hist)} bars of history given"
            )
        base = hist.close[:-k]
        ends = hist.close[k:] / base - 1.0
        lows = np.lib.stride_tricks.sliding_window_view(hist.low[1:], k, axis=0).min(axis=2)
        highs = np.lib.stride_tricks.sliding_window_view(hist.high[1:], k, axis=0).max(axis=2)
        long_side = np.array([self._net[s] >= 0 for s in self.symbols])
        adverse = np.where(long_side, lows, highs) / base - 1.0
        n = ends.shape[0]
        equity = np.empty(n)
        ratio = np.empty(n)
        liquidated: list[tuple[str, ...]] = []
        for i in range(n):
            self._set(dict(zip(self.symbols, adverse[i], strict=True)))
            liquidated.append(self._liquidated_labels())
            self._set(dict(zip(self.symbols, ends[i], strict=True)))
            equity[i] = self.account.total_equity
            ratio[i] = self.account.margin_ratio
        self._set({})
        worst: list[Shock] = []
        taken = np.zeros(n, dtype=bool)
        for i in np.argsort(equity, kind="stable"):
            if len(worst) == count:
                break
            if taken[i]:
                continue
            taken[max(0, i - k + 1) : i + k] = True
            worst.append(
                Shock(
                    start=int(hist.timestamps[i]),
                    end=int(hist.timestamps[i + k]),
                    moves=_by_symbol(self.symbols, ends[i]),
                    adverse_moves=_by_symbol(self.symbols, adverse[i]),
                    equity=float(equity[i]),
                    pnl=float(equity[i] - self.initial_equity),
                    margin_ratio=float(ratio[i]),
                    liquidated=liquidated[i],
                )
            )
        returns = np.diff(np.log(hist.close), axis=0)
        corr = np.atleast_2d(np.corrcoef(returns, rowvar=False))
        return ShockReport(
            window=k,
            windows=n,
            liquidating_windows=sum(1 for labels in liquidated if labels),
            correlation={
                a: {b: float(corr[i, j]) for j, b in enumerate(self.symbols)}
                for i, a in enumerate(self.symbols)
            },
            worst=tuple(worst),
            history=hist.describe(),
        )

    # -- crash replay -----------------------------------------------------------------------

    def crash_replay(
        self,
        history: PriceHistory,
        start: int | str | None = DEFAULT_REPLAY[0],
        end: int | str | None = DEFAULT_REPLAY[1],
    ) -> CrashReplay:
        """Replay the bars of ``history`` in ``[start, end)`` on a copy of the account.

        Each symbol's path is scaled so the window's first open is the account's mark. At each
        bar every position is first marked at its adverse extreme (long: low, short: high;
        by the symbol's net side) and the pools that trigger there are liquidated by the
        venue's outcome model at those prices; then the account is marked at the close.
        """
        window = history.select(self.symbols).between(start, end)
        if not len(window):
            raise ConfigError(
                f"replay: no bars between {start!r} and {end!r} in the history "
                f"({history.describe()['start']} to {history.describe()['end']})"
            )
        account = _clone(self.account)
        scale = np.array([self.marks[s] for s in self.symbols]) / window.open[0]
        bars, events = [], []
        min_equity = self.initial_equity
        max_ratio = account.margin_ratio
        for i, time in enumerate(window.timestamps.tolist()):
            net = {
                s: math.fsum(p.size for p in account.positions if p.symbol == s)
                for s in self.symbols
            }
            extremes = {
                s: float(scale[j] * (window.low[i, j] if net[s] >= 0 else window.high[i, j]))
                for j, s in enumerate(self.symbols)
            }
            for symbol, price in extremes.items():
                account.set_mark(symbol, price, time=time)
            at_extreme = _capped_equity(account)
            max_ratio = max(max_ratio, account.margin_ratio)
            labels = {p.key: position_label(p) for p in account.positions}
            liquidated: list[str] = []
            for result in account.process_liquidations(time=time):
                names = tuple(labels[leg.key] for leg in result.legs)
                liquidated.extend(names)
                events.append(
                    ReplayEvent(
                        time=time,
                        pool=result.pool,
                        positions=names,
                        prices={leg.key.symbol: leg.execution_price for leg in result.legs},
                        trader_loss=result.trader_loss,
                        outcome=result.outcome.value,
                    )
                )
            closes = {s: float(scale[j] * window.close[i, j]) for j, s in enumerate(self.symbols)}
            for symbol, price in closes.items():
                account.set_mark(symbol, price, time=time)
            equity = account.total_equity
            min_equity = min(min_equity, at_extreme, equity)
            bars.append(
                ReplayBar(
                    time=time,
                    marks=closes,
                    equity_at_extreme=at_extreme,
                    equity=equity,
                    margin_ratio=account.margin_ratio,
                    liquidated=tuple(liquidated),
                )
            )
        return CrashReplay(
            start=int(window.timestamps[0]),
            end=int(window.timestamps[-1]) + window.timeframe_ms,
            bars=tuple(bars),
            events=tuple(events),
            initial_equity=self.initial_equity,
            min_equity=min_equity,
            final_equity=bars[-1].equity,
            max_margin_ratio=max_ratio,
            history=window.describe(),
        )

    # -- probability of liquidation ---------------------------------------------------------

    def liquidation_probability(
        self,
        history: PriceHistory,
        *,
        horizon: int,
        paths: int = 1000,
        seed: int = 0,
        block: int = 1,
        progress: Callable[[int, int], object] | None = None,
    ) -> LiquidationProbability:
        """P(any position is liquidated within ``horizon`` bars), by bootstrapping the bars of
        ``history`` (blocks of ``block`` consecutive bars keep short-range dependence; all
        symbols move together, keeping their correlation). At each simulated bar the pools are
        tested at the adverse extremes (long: low, short: high) relative to the previous close,
        then the marks move to the close. ``progress(done, paths)`` hears about every
        hundredth of the paths."""
        bars = _whole(horizon, "horizon", 1)
        n_paths = _whole(paths, "paths", 1)
        rng_seed = _whole(seed, "seed", 0)
        size = _whole(block, "block", 1)
        check_bootstrap(bars, n_paths, size)
        hist = history.select(self.symbols)
        previous = hist.close[:-1]
        close_ratio = hist.close[1:] / previous
        long_side = np.array([self._net[s] >= 0 for s in self.symbols])
        extreme_ratio = np.where(long_side, hist.low[1:], hist.high[1:]) / previous
        rows = close_ratio.shape[0]
        if rows < size:
            raise ConfigError(
                f"block: {size} bars needs at least {size + 1} bars of history, got {len(hist)}"
            )
        rng = np.random.default_rng(rng_seed)
        blocks = -(-bars // size)
        starts = rng.integers(0, rows - size + 1, size=(n_paths, blocks))
        picks = (starts[:, :, None] + np.arange(size)).reshape(n_paths, -1)[:, :bars]
        base = np.array([self.marks[s] for s in self.symbols])
        hits: dict[Pool, int] = dict.fromkeys(self.labels, 0)
        liquidated_paths = 0
        first_bars: list[int] = []
        every = max(1, n_paths // 100)
        for number, path in enumerate(picks, start=1):
            if progress is not None and (number % every == 0 or number == n_paths):
                progress(number, n_paths)
            level = base.copy()
            done: set[Pool] = set()
            first: int | None = None
            for step, row in enumerate(path.tolist(), start=1):
                self._set_prices(level * extreme_ratio[row])
                fresh = set(self.account.liquidatable_pools()) - done
                if fresh:
                    done |= fresh
                    first = step if first is None else first
                    if len(done) == len(self.labels):
                        break
                level = level * close_ratio[row]
            for pool in done:
                hits[pool] += 1
            if first is not None:
                liquidated_paths += 1
                first_bars.append(first)
        self._set({})
        p = liquidated_paths / n_paths
        by_position = {
            label: hits[pool] / n_paths for pool, labels in self.labels.items() for label in labels
        }
        return LiquidationProbability(
            horizon=bars,
            paths=n_paths,
            seed=rng_seed,
            block=size,
            liquidated_paths=liquidated_paths,
            probability=p,
            standard_error=math.sqrt(p * (1.0 - p) / n_paths),
            by_position=by_position,
            mean_bars_to_liquidation=float(np.mean(first_bars)) if first_bars else None,
            history=hist.describe(),
        )

    # -- internals --------------------------------------------------------------------------

    def _set(self, moves: Mapping[str, float]) -> None:
        """Marks at their current values moved by ``moves`` (others back to current)."""
        for symbol in self.symbols:
            self.account.set_mark(symbol, self.marks[symbol] * (1.0 + moves.get(symbol, 0.0)))

    def _set_prices(self, prices: FloatArray) -> None:
        for symbol, price in zip(self.symbols, prices.tolist(), strict=True):
            self.account.set_mark(symbol, price)

    def _liquidated_labels(self) -> tuple[str, ...]:
        pools = set(self.account.liquidatable_pools())
        return tuple(
            label for pool, labels in self.labels.items() if pool in pools for label in labels
        )

    def _scan(
        self, symbols: tuple[str, ...], direction: int, top: float = MAX_MOVE
    ) -> dict[Pool, float]:
        """The first move (signed) at which each pool triggers when ``symbols`` move together in
        ``direction``: a grid scan of :data:`SCAN_STEP`, each crossing refined by bisection on
        the account's own trigger test. Pools that never trigger within range are absent."""
        key = (symbols, direction, top if direction > 0 else MIN_MOVE)
        cached = self._scans.get(key)
        if cached is not None:
            return cached
        limit = top if direction > 0 else MIN_MOVE
        steps = math.ceil(abs(limit) / SCAN_STEP)
        grid = [direction * min(abs(limit), SCAN_STEP * i) for i in range(steps + 1)]
        found: dict[Pool, float] = {}
        previous = 0.0
        for move in grid:
            self._set({s: move for s in symbols})
            for pool in self.account.liquidatable_pools():
                if pool not in found:
                    found[pool] = (
                        0.0 if move == 0.0 else self._bisect(symbols, pool, previous, move)
                    )
            if len(found) == len(self.labels):
                break
            previous = move
        self._set({})
        self._scans[key] = found
        return found

    def _bisect(self, symbols: tuple[str, ...], pool: Pool, safe: float, hit: float) -> float:
        for _ in range(_BISECTIONS):
            middle = 0.5 * (safe + hit)
            if middle in (safe, hit):
                break
            self._set({s: middle for s in symbols})
            if pool in self.account.liquidatable_pools():
                hit = middle
            else:
                safe = middle
        return hit


def _capped_equity(account: Account) -> float:
    """Total equity with each pool floored at 0 (a pool never loses more than it holds)."""
    cross = (
        max(account.equity, 0.0)
        if any(not p.is_isolated for p in account.positions)
        else (account.equity)
    )
    return cross + math.fsum(
        max(account.position_equity(p), 0.0) for p in account.positions if p.is_isolated
    )


def _clone(account: Account) -> Account:
    """An independent copy of ``account`` (the immutable venue profile is shared)."""
    return copy.deepcopy(account, {id(account.venue): account.venue})


def _moves(moves: Sequence[float]) -> list[float]:
    if isinstance(moves, str) or not len(moves):
        raise ConfigError(f"moves: need at least one move, got {moves!r}")
    out = []
    for i, move in enumerate(moves):
        value = _checks.number(move, f"moves[{i}]")
        if value <= -1.0:
            raise ConfigError(f"moves[{i}]: {value!r} would take prices to ≤ 0 (need > -1)")
        if value > MAX_MOVE:
            raise ConfigError(
                f"moves[{i}]: {value!r} is beyond the largest move, {MAX_MOVE:g} (a price "
                f"{MAX_MOVE + 1:g} times its mark)"
            )
        out.append(value)
    return out


def check_bootstrap(horizon: int, paths: int, block: int) -> None:
    """Refuse, before any work, a bootstrap larger than :data:`MAX_SIMULATED_BARS`: it would
    hold ``paths × horizon`` bar indices in memory and step through each of them."""
    bars = paths * horizon
    if bars > MAX_SIMULATED_BARS:
        blocks = -(-horizon // block)
        memory = paths * blocks * (block + 1) * 8
        raise ConfigError(
            f"paths × horizon: {paths:,} paths of {horizon:,} bars are {bars:,} simulated bars "
            f"({memory / 2**30:.3g} GiB of bar indices); at most {MAX_SIMULATED_BARS:,}: "
            "lower --paths or --horizon"
        )


def _whole(value: object, field: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(f"{field}: must be a whole number ≥ {minimum}, got {value!r}")
    return int(value)


def _by_symbol(symbols: Sequence[str], values: FloatArray) -> dict[str, float]:
    return {s: float(v) for s, v in zip(symbols, values.tolist(), strict=True)}


# ============================================================================================
# Report (the CLI's JSON)
# ============================================================================================


def stress_report(
    scenario: Scenario | Account,
    *,
    moves: Sequence[float] = DEFAULT_MOVES,
    history: PriceHistory | None = None,
    replay_history: PriceHistory | None = None,
    replay: tuple[int | str, int | str] | None = None,
    window: int = 24,
    horizon: int = 24,
    paths: int = 1000,
    seed: int = 0,
    block: int = 1,
    top: int = 5,
    progress: Callable[[int, int], object] | None = None,
) -> dict[str, Any]:
    """Every stress test as one JSON-ready dict (infinite or missing numbers are ``null``).

    Without ``history`` only the liquidating moves and ladders are computed. With it, the
    historical shocks and the liquidation probability are added, and the crash replay over
    ``replay`` (default :data:`DEFAULT_REPLAY`) on ``replay_history`` (default ``history``) —
    skipped with a note when the default window is not in the data. ``progress`` hears about
    the bootstrap's paths (:meth:`StressTest.liquidation_probability`).
    """
    for value, field, minimum in (
        (window, "window", 1),
        (horizon, "horizon", 1),
        (paths, "paths", 1),
        (seed, "seed", 0),
        (block, "block", 1),
        (top, "top", 1),
    ):
        _whole(value, field, minimum)
    if history is not None:
        check_bootstrap(horizon, paths, block)
    steps = _moves(moves)
    test = StressTest(scenario)
    account = test.account
    out: dict[str, Any] = {
        "account": {
            "venue": account.venue.name,
            "equity": account.total_equity,
            "cross_equity": account.equity,
            "maintenance_margin": account.maintenance_margin,
            "margin_ratio": account.margin_ratio,
        },
    }
    found = test.liquidation_moves()
    out["account"]["liquidation_move"] = {"down": found.account_down, "up": found.account_up}
    out["account"]["first_liquidation_move"] = {"down": found.first_down, "up": found.first_up}
    out["positions"] = [_with_utc_times(p) for p in found.positions]
    out["ladders"] = [
        {
            "name": ladder.name,
            "symbols": list(ladder.symbols),
            "rows": [_with_utc_times(r) for r in ladder.rows],
        }
        for ladder in test.ladders(steps)
    ]
    out["historical_shocks"] = out["replay"] = out["liquidation_probability"] = None
    notes: list[str] = []
    if history is not None:
        shocks = test.historical_shocks(history, window=window, top=top)
        out["historical_shocks"] = _with_utc_times(shocks)
        out["liquidation_probability"] = _with_utc_times(
            test.liquidation_probability(
                history, horizon=horizon, paths=paths, seed=seed, block=block, progress=progress
            )
        )
        source = replay_history if replay_history is not None else history
        start, end = replay if replay is not None else DEFAULT_REPLAY
        try:
            replayed = test.crash_replay(source, start, end)
        except ConfigError as exc:
            if replay is not None:
                raise
            notes.append(f"replay skipped: {exc}")
        else:
            out["replay"] = {**_with_utc_times(replayed), "liquidated": list(replayed.liquidated)}
    out["notes"] = notes
    safe: dict[str, Any] = to_json_value(out)
    return safe


def _with_utc_times(value: Any) -> Any:
    """Dataclasses as dicts with each time (ms) also as ISO text (``time_utc``), recursively."""
    if hasattr(value, "__dataclass_fields__"):
        out = {}
        for name in value.__dataclass_fields__:
            item = getattr(value, name)
            out[name] = _with_utc_times(item)
            if name in ("time", "start", "end") and isinstance(item, int):
                out[f"{name}_utc"] = format_ts(item)
        return out
    if isinstance(value, tuple | list):
        return [_with_utc_times(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _with_utc_times(v) for k, v in value.items()}
    return value


__all__ = [
    "DEFAULT_MOVES",
    "DEFAULT_REPLAY",
    "CrashReplay",
    "Ladder",
    "LadderRow",
    "LiquidationMoves",
    "LiquidationProbability",
    "PositionMove",
    "PriceHistory",
    "ReplayBar",
    "ReplayEvent",
    "Shock",
    "ShockReport",
    "StressTest",
    "position_label",
    "stress_report",
]
