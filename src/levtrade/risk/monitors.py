"""Margin monitors on a live account, and analyzers on a finished backtest.

Terms (every figure read from :class:`~levtrade.margin.Account`):

* **margin level** = pool equity ÷ pool maintenance margin, the inverse of the margin ratio:
  liquidation at ≤ 1, ``inf`` without maintenance margin. An account's margin level is its
  weakest pool's (the cross pool, each isolated position).
* **effective leverage** = Σ |notional| of every position ÷ total equity.
* **distance to liquidation** = |mark − liquidation price| ÷ mark (0 once the pool triggers),
  and the same distance in ATR multiples when an ATR is given.
* a **margin call** is the update at which the margin level falls below the threshold
  (one event per episode); "below" is strict.

On a backtest result the analyzers read the cross pool's margin level per bar as the engine
tests for liquidation: at the bar's close and at its adverse mark extremes (every long at its
mark low, every short at its mark high, jointly), for the positions held at the previous close
and at this one, the lowest of these; a bar with a cross liquidation is at most 1. So no
analyzer reports a level above the margin-call level on a bar the engine liquidated. The
extremes need the run's market data (``data``); without it the close and the liquidations
count.

:class:`MarginMonitor` records snapshots of a live account (strategies, backtester, live
broker). The analyzers (``name`` + ``analyze(result)``) read a backtest result's per-bar
``series``, ``trades`` and ``ledger`` (docs/backtest.md) after the run.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from levtrade.data import MarketData, Portfolio
from levtrade.errors import ConfigError
from levtrade.margin import Account, Position, formulas, vectorised
from levtrade.risk import _checks
from levtrade.risk.leverage import atr as average_true_range

logger = logging.getLogger(__name__)

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
LIQ_PREFIX = "liq:"
NOTIONAL_PREFIX = "notional:"


def margin_level(maintenance_margin: float, equity: float) -> float:
    """Equity ÷ maintenance margin (1 / margin ratio): ``inf`` without MM, 0 at equity ≤ 0."""
    ratio = formulas.margin_ratio(maintenance_margin, equity)
    return math.inf if ratio == 0.0 else 1.0 / ratio


def distance_to_liquidation(account: Account, position: Position) -> float | None:
    """|mark − liquidation price| ÷ mark for ``position`` (its pool's price, other marks held);
    0 when the pool already triggers, None when it has no liquidation price."""
    if account.is_liquidatable(position):
        return 0.0
    price = account.liquidation_price(position)
    if price is None:
        return None
    mark = account.mark_price(position.symbol)
    return abs(mark - price) / mark


def pool_margin_level(account: Account, position: Position) -> float:
    """Margin level of the pool ``position`` is in (itself if isolated, else the cross pool)."""
    if position.is_isolated:
        return margin_level(
            account.maintenance_margin_of(position), account.position_equity(position)
        )
    return margin_level(account.maintenance_margin, account.equity)


def account_margin_level(account: Account) -> float:
    """The weakest pool's margin level (``inf`` with no positions)."""
    levels = [pool_margin_level(account, p) for p in account.positions]
    return min(levels, default=math.inf)


def effective_leverage(account: Account) -> float:
    """Σ |notional| ÷ total equity (0 when flat, ``inf`` at equity ≤ 0 with positions)."""
    notional = math.fsum(account.notional(p) for p in account.positions)
    if notional == 0.0:
        return 0.0
    equity = account.total_equity
    return math.inf if equity <= 0 else notional / equity


@dataclass(frozen=True, slots=True)
class PositionRisk:
    """One position's risk figures at the marks."""

    symbol: str
    leg: str
    side: str
    size: float
    mark_price: float
    notional: float
    unrealized_pnl: float
    liquidation_price: float | None
    distance: float | None
    """Distance to liquidation as a fraction of the mark."""
    distance_atr: float | None
    """Distance to liquidation in ATR multiples (None without an ATR)."""
    margin_level: float
    """Margin level of the position's pool."""


@dataclass(frozen=True, slots=True)
class MarginSnapshot:
    """An account's risk figures at one time."""

    time: int
    total_equity: float
    equity: float
    """Cross equity."""
    maintenance_margin: float
    """Cross maintenance margin."""
    margin_ratio: float
    """Cross margin ratio (Binance's convention, liquidation at ≥ 1)."""
    margin_level: float
    """The weakest pool's margin level."""
    effective_leverage: float
    unrealized_pnl: float
    """Σ uPnL of every position."""
    positions: tuple[PositionRisk, ...]

    @property
    def min_distance(self) -> float | None:
        """The nearest position's distance to liquidation (fraction of its mark)."""
        values = [p.distance for p in self.positions if p.distance is not None]
        return min(values, default=None)

    @property
    def min_distance_atr(self) -> float | None:
        """The nearest position's distance to liquidation in ATR multiples."""
        values = [p.distance_atr for p in self.positions if p.distance_atr is not None]
        return min(values, default=None)


def margin_snapshot(
    account: Account, *, atr: Mapping[str, float] | None = None, time: int | None = None
) -> MarginSnapshot:
    """The account's figures now; ``atr`` by symbol adds distances in ATR multiples."""
    atrs = _atr_map(atr)
    positions = []
    for pos in account.positions:
        distance = distance_to_liquidation(account, pos)
        price = account.liquidation_price(pos)
        mark = account.mark_price(pos.symbol)
        in_atr = None
        if pos.symbol in atrs and distance is not None:
            in_atr = distance * mark / atrs[pos.symbol]
        positions.append(
            PositionRisk(
                symbol=pos.symbol,
                leg=pos.leg.value,
                side=pos.side,
                size=pos.size,
                mark_price=mark,
                notional=account.notional(pos),
                unrealized_pnl=account.unrealized_pnl(pos),
                liquidation_price=price,
                distance=distance,
                distance_atr=in_atr,
                margin_level=pool_margin_level(account, pos),
            )
        )
    return MarginSnapshot(
        time=account.time if time is None else time,
        total_equity=account.total_equity,
        equity=account.equity,
        maintenance_margin=account.maintenance_margin,
        margin_ratio=account.margin_ratio,
        margin_level=account_margin_level(account),
        effective_leverage=effective_leverage(account),
        unrealized_pnl=math.fsum(p.unrealized_pnl for p in positions),
        positions=tuple(positions),
    )


@dataclass(frozen=True, slots=True)
class MarginCall:
    """The margin level fell below ``threshold`` at ``time``."""

    time: int
    margin_level: float
    threshold: float
    snapshot: MarginSnapshot

    @property
    def message(self) -> str:
        return (
            f"margin call at {self.time}: margin level {self.margin_level:.4g} below "
            f"{self.threshold:g}"
        )


class MarginMonitor:
    """Records an account's :class:`MarginSnapshot` at each :meth:`update`, raises margin calls
    (to every hook in ``alerts``) when the margin level falls below ``margin_call_level``, and
    summarises the minimum level and the time spent below each of ``thresholds``."""

    def __init__(
        self,
        *,
        margin_call_level: float = 1.5,
        thresholds: Sequence[float] = (2.0, 1.5, 1.2),
        alerts: Iterable[Callable[[MarginCall], object]] = (),
    ) -> None:
        self.margin_call_level = _level(margin_call_level, "margin_call_level")
        self.thresholds = tuple(_level(t, f"thresholds[{i}]") for i, t in enumerate(thresholds))
        self.alerts = list(alerts)
        self.snapshots: list[MarginSnapshot] = []
        self.margin_calls: list[MarginCall] = []

    def update(
        self, account: Account, *, atr: Mapping[str, float] | None = None, time: int | None = None
    ) -> MarginSnapshot:
        """Take a snapshot; a margin call fires when the level crosses below the threshold."""
        snap = margin_snapshot(account, atr=atr, time=time)
        previous = self.snapshots[-1].margin_level if self.snapshots else math.inf
        self.snapshots.append(snap)
        if snap.margin_level < self.margin_call_level <= previous:
            call = MarginCall(snap.time, snap.margin_level, self.margin_call_level, snap)
            self.margin_calls.append(call)
            for alert in self.alerts:
                alert(call)
        return snap

    def to_frame(self) -> pd.DataFrame:
        """One row per snapshot."""
        return pd.DataFrame(
            {
                "time": [s.time for s in self.snapshots],
                "total_equity": [s.total_equity for s in self.snapshots],
                "equity": [s.equity for s in self.snapshots],
                "maintenance_margin": [s.maintenance_margin for s in self.snapshots],
                "margin_ratio": [s.margin_ratio for s in self.snapshots],
                "margin_level": [s.margin_level for s in self.snapshots],
                "effective_leverage": [s.effective_leverage for s in self.snapshots],
                "unrealized_pnl": [s.unrealized_pnl for s in self.snapshots],
                "min_distance": [_nan(s.min_distance) for s in self.snapshots],
                "min_distance_atr": [_nan(s.min_distance_atr) for s in self.snapshots],
            }
        )

    def summary(self) -> dict[str, Any]:
        """Minimum margin level (and when), margin calls, time below each threshold, maximum
        effective leverage, nearest approach to liquidation."""
        frame = self.to_frame()
        times = frame["time"].to_numpy(dtype=np.int64)
        levels = frame["margin_level"].to_numpy(dtype=np.float64)
        return {
            "updates": len(self.snapshots),
            **_min_level(times, levels),
            "margin_calls": len(self.margin_calls),
            "time_below": _time_below(times, levels, self.thresholds).to_dict("records"),
            "max_effective_leverage": _max(frame["effective_leverage"]),
            "min_distance": _min(frame["min_distance"]),
            "min_distance_atr": _min(frame["min_distance_atr"]),
        }


class HasMessage(Protocol):
    """An event an alert hook can report (margin calls, emergency events)."""

    @property
    def message(self) -> str: ...


def log_alert(
    log: logging.Logger | None = None, level: int = logging.WARNING
) -> Callable[[HasMessage], None]:
    """An alert hook that logs each event's message (margin calls, emergency events)."""
    target = log or logger

    def alert(event: HasMessage) -> None:
        target.log(level, "%s", event.message)

    return alert


# ============================================================================================
# Analyzers on a backtest result
# ============================================================================================


class ResultLike(Protocol):
    """What the analyzers read from a backtest result (docs/backtest.md)."""

    @property
    def series(self) -> pd.DataFrame: ...

    @property
    def trades(self) -> pd.DataFrame: ...

    @property
    def ledger(self) -> pd.DataFrame: ...


class Analyzer(Protocol):
    """A backtest analyzer: called on the finished result (the backtester's own protocol)."""

    name: str

    def analyze(self, result: ResultLike) -> pd.DataFrame | Mapping[str, Any]: ...


MarketInput = MarketData | Portfolio | Mapping[str, MarketData]


@dataclass(eq=False)
class MarginHistory:
    """Per bar: time, equity, margin ratio at the close, margin level (the lowest inside the
    bar, module docstring), effective leverage, cross uPnL."""

    data: MarketInput | None = None
    name: str = "margin_history"

    def analyze(self, result: ResultLike) -> pd.DataFrame:
        series = result.series
        return pd.DataFrame(
            {
                "time": series["time"].to_numpy(dtype=np.int64),
                "equity": series["equity"].to_numpy(dtype=np.float64),
                "margin_ratio": series["margin_ratio"].to_numpy(dtype=np.float64),
                "margin_level": bar_levels(result, self.data),
                "effective_leverage": _effective_leverage(series),
                "cross_unrealized_pnl": (series["cross_equity"] - series["wallet"]).to_numpy(
                    dtype=np.float64
                ),
            }
        )


@dataclass(eq=False)
class MarginCalls:
    """Episodes with the margin level (the lowest inside each bar) below ``threshold``:
    start, end (first bar back at or above it; <NA> if never), bars, the minimum level and
    when it was reached."""

    threshold: float = 1.5
    data: MarketInput | None = None
    name: str = "margin_calls"

    def __post_init__(self) -> None:
        _level(self.threshold, "threshold")

    def analyze(self, result: ResultLike) -> pd.DataFrame:
        times = result.series["time"].to_numpy(dtype=np.int64)
        levels = bar_levels(result, self.data)
        below = levels < self.threshold
        rows = []
        i = 0
        while i < below.size:
            if not below[i]:
                i += 1
                continue
            j = i
            while j < below.size and below[j]:
                j += 1
            worst = i + int(np.argmin(levels[i:j]))
            rows.append(
                {
                    "start": int(times[i]),
                    "end": int(times[j]) if j < below.size else None,
                    "bars": j - i,
                    "min_margin_level": float(levels[worst]),
                    "min_time": int(times[worst]),
                }
            )
            i = j
        columns = ["start", "end", "bars", "min_margin_level", "min_time"]
        frame = pd.DataFrame(rows, columns=columns)
        frame["end"] = frame["end"].astype("Int64")
        return frame


@dataclass(eq=False)
class MinimumMarginLevel:
    """The lowest margin level of the run (inside a bar) and the bar it occurred at."""

    data: MarketInput | None = None
    name: str = "min_margin_level"

    def analyze(self, result: ResultLike) -> dict[str, Any]:
        times = result.series["time"].to_numpy(dtype=np.int64)
        return _min_level(times, bar_levels(result, self.data))


@dataclass(eq=False)
class TimeBelowThresholds:
    """Bars, share of the run and duration (ms) with the margin level (the lowest inside
    each bar) below each threshold."""

    thresholds: tuple[float, ...] = (2.0, 1.5, 1.2)
    data: MarketInput | None = None
    name: str = "time_below_thresholds"

    def __post_init__(self) -> None:
        for i, t in enumerate(self.thresholds):
            _level(t, f"thresholds[{i}]")

    def analyze(self, result: ResultLike) -> pd.DataFrame:
        times = result.series["time"].to_numpy(dtype=np.int64)
        return _time_below(times, bar_levels(result, self.data), self.thresholds)


@dataclass
class LiquidationCount:
    """Liquidations in the run: the trades closed by liquidation, in total and by symbol."""

    name: str = "liquidations"

    def analyze(self, result: ResultLike) -> dict[str, Any]:
        trades = result.trades
        liquidated = trades[trades["exit_reason"] == "liquidation"] if len(trades) else trades
        by_symbol = liquidated["symbol"].value_counts() if len(liquidated) else pd.Series()
        return {
            "liquidations": len(liquidated),
            "by_symbol": {str(k): int(v) for k, v in by_symbol.items()},
        }


@dataclass
class FundingPaid:
    """Funding paid and received (ledger ``funding`` entries against the ``market`` book), in
    total and by symbol; ``net`` is received − paid."""

    name: str = "funding"

    def analyze(self, result: ResultLike) -> dict[str, Any]:
        ledger = result.ledger
        source, destination = _ledger_columns(ledger)
        funding = ledger[ledger["kind"] == "funding"]
        received = funding[funding[source] == "market"]
        paid = funding[funding[destination] == "market"]
        symbols = sorted(set(funding["symbol"].dropna().astype(str)))
        by_symbol = {
            s: {
                "paid": float(paid.loc[paid["symbol"] == s, "amount"].sum()),
                "received": float(received.loc[received["symbol"] == s, "amount"].sum()),
            }
            for s in symbols
        }
        total_paid = float(paid["amount"].sum())
        total_received = float(received["amount"].sum())
        return {
            "paid": total_paid,
            "received": total_received,
            "net": total_received - total_paid,
            "by_symbol": by_symbol,
        }


@dataclass
class EffectiveLeverage:
    """Effective leverage (Σ |notional| ÷ equity): maximum, when, and mean over bars in a
    position."""

    name: str = "effective_leverage"

    def analyze(self, result: ResultLike) -> dict[str, Any]:
        times = result.series["time"].to_numpy(dtype=np.int64)
        values = _effective_leverage(result.series)
        exposed = values[values > 0]
        if not exposed.size:
            return {"max": 0.0, "time_of_max": None, "mean_when_exposed": 0.0}
        worst = int(np.argmax(values))
        return {
            "max": float(values[worst]),
            "time_of_max": int(times[worst]),
            "mean_when_exposed": float(exposed.mean()),
        }


@dataclass(eq=False)
class DistanceToLiquidation:
    """Per bar and position: the distance from the mark close to the liquidation price, as a
    fraction of the mark (``distance:<key>``) and in ATR multiples (``distance_atr:<key>``,
    ATR of the mark candles, or the trade candles without marks), NaN when flat; plus the
    nearest of all (``min_distance``, ``min_distance_atr``). ``<key>`` is the symbol, with
    ``:LONG``/``:SHORT`` in hedge mode, as in the series' ``liq:`` columns.

    ``data`` is the run's market data; bars are matched on time.
    """

    data: MarketData | Portfolio | Mapping[str, MarketData]
    atr_period: int = 14
    name: str = "distance_to_liquidation"
    _markets: dict[str, MarketData] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if (
            isinstance(self.atr_period, bool)
            or not isinstance(self.atr_period, int)
            or (self.atr_period < 1)
        ):
            raise ConfigError(f"atr_period: must be a whole number ≥ 1, got {self.atr_period!r}")
        self._markets = _markets(self.data)

    def analyze(self, result: ResultLike) -> pd.DataFrame:
        series = result.series
        times = series["time"].to_numpy(dtype=np.int64)
        out: dict[str, Any] = {"time": times}
        distances, in_atr = [], []
        for key in _position_symbols(series):
            symbol = _symbol_of(key)
            market = self._markets.get(symbol)
            if market is None:
                raise ConfigError(f"data: no market data for {symbol!r}, held in the backtest")
            prices = market.mark if market.mark is not None else market
            rows = np.searchsorted(market.timestamps, times)
            rows = np.clip(rows, 0, len(market) - 1)
            found = market.timestamps[rows] == times
            mark = np.where(found, prices.close[rows], np.nan)
            atr_values = average_true_range(prices.high, prices.low, prices.close, self.atr_period)
            bar_atr = np.where(found, atr_values[rows], np.nan)
            liq = series[LIQ_PREFIX + key].to_numpy(dtype=np.float64)
            held = series[NOTIONAL_PREFIX + key].to_numpy(dtype=np.float64) != 0
            gap = np.where(held, np.abs(mark - liq), np.nan)
            out[f"distance:{key}"] = gap / mark
            out[f"distance_atr:{key}"] = gap / bar_atr
            distances.append(out[f"distance:{key}"])
            in_atr.append(out[f"distance_atr:{key}"])
        out["min_distance"] = _row_min(distances, times.size)
        out["min_distance_atr"] = _row_min(in_atr, times.size)
        return pd.DataFrame(out)


def margin_analyzers(
    *,
    margin_call_level: float = 1.5,
    thresholds: tuple[float, ...] = (2.0, 1.5, 1.2),
    data: MarketData | Portfolio | Mapping[str, MarketData] | None = None,
    atr_period: int = 14,
) -> tuple[Analyzer, ...]:
    """The standard set to pass to a backtest's ``analyzers=``; distance to liquidation is
    included when ``data`` is given."""
    analyzers: list[Analyzer] = [
        MarginHistory(data),
        MarginCalls(margin_call_level, data),
        MinimumMarginLevel(data),
        TimeBelowThresholds(thresholds, data),
        LiquidationCount(),
        FundingPaid(),
        EffectiveLeverage(),
    ]
    if data is not None:
        analyzers.append(DistanceToLiquidation(data, atr_period))
    return tuple(analyzers)


# ============================================================================================
# Helpers
# ============================================================================================


def _level(value: float, field: str) -> float:
    result = _checks.positive(value, field)
    if result <= 1:
        raise ConfigError(f"{field}: a margin level above 1 (liquidation is at 1), got {value!r}")
    return result


def _atr_map(atr: Mapping[str, float] | None) -> dict[str, float]:
    return {s: _checks.positive(v, f"atr[{s!r}]") for s, v in (atr or {}).items()}


def _nan(value: float | None) -> float:
    return math.nan if value is None else value


def _min(column: pd.Series) -> float | None:
    values = column.dropna()
    return None if values.empty else float(values.min())


def _max(column: pd.Series) -> float | None:
    values = column.dropna()
    return None if values.empty else float(values.max())


def bar_levels(result: ResultLike, data: MarketInput | None = None) -> FloatArray:
    """The cross pool's margin level per bar as the engine tests it (module docstring): the
    lowest of the level at the close, at the bar's adverse mark extremes (with ``data``) and,
    on a bar with a cross liquidation, 1."""
    series = result.series
    levels = _levels(series)
    config = getattr(result, "config", None)
    if getattr(config, "margin_mode", "cross") != "cross":
        return levels
    if data is not None:
        spec_of = getattr(result, "run_spec", None)
        if callable(spec_of):
            levels = np.fmin(levels, _adverse_levels(series, spec_of(), _markets(data)))
    trades = result.trades
    if len(trades) and "margin_mode" in trades.columns:
        liquidated = trades[
            (trades["exit_reason"] == "liquidation") & (trades["margin_mode"] == "cross")
        ]
        if len(liquidated):
            times = series["time"].to_numpy(dtype=np.int64)
            rows = np.searchsorted(times, liquidated["exit_time"].to_numpy(np.int64), "right") - 1
            rows = rows[rows >= 0]
            levels[rows] = np.fmin(levels[rows], 1.0)
    return levels


def _adverse_levels(series: pd.DataFrame, spec: Any, markets: dict[str, MarketData]) -> FloatArray:
    """Cross margin level at each bar's adverse mark extremes, for the positions of the
    previous close and of this close (the lower of the two; ``inf`` without positions)."""
    times = series["time"].to_numpy(dtype=np.int64)
    equity = series["cross_equity"].to_numpy(dtype=np.float64)
    before = np.concatenate([[np.nan], equity[:-1]])
    upnl_now, mm_now = np.zeros(times.size), np.zeros(times.size)
    upnl_before, mm_before = np.zeros(times.size), np.zeros(times.size)
    for key in _position_symbols(series):
        symbol = _symbol_of(key)
        market = markets.get(symbol)
        instrument = spec.instrument(symbol)
        if market is None or instrument.is_inverse:
            continue
        table = spec.tier_table(instrument)
        if spec.venue.mm_adds_taker_fee:
            table = table.with_extra_rate(instrument.taker_fee)
        prices = market.mark if market.mark is not None else market
        rows = np.clip(np.searchsorted(market.timestamps, times), 0, len(market) - 1)
        found = market.timestamps[rows] == times
        close = np.where(found, prices.close[rows], np.nan)
        low = np.where(found, prices.low[rows], np.nan)
        high = np.where(found, prices.high[rows], np.nan)
        notional = series[NOTIONAL_PREFIX + key].to_numpy(dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            qty = np.where(notional != 0, notional / close, 0.0)
        qty_before = np.concatenate([[0.0], qty[:-1]])
        close_before = np.concatenate([[np.nan], close[:-1]])
        floors, mmrs, amounts = table.floors, table.mmrs, table.amounts
        for q, reference, upnl, mm in (
            (qty, close, upnl_now, mm_now),
            (qty_before, close_before, upnl_before, mm_before),
        ):
            adverse = np.where(q > 0, low, high)
            held = q != 0
            move = vectorised.upnls(q, 1.0, reference, adverse, inverse=False)
            upnl += np.where(held, np.nan_to_num(move), 0.0)
            mm += np.where(
                held,
                vectorised.maintenance_margins(
                    np.nan_to_num(np.abs(q) * adverse), floors, mmrs, amounts
                ),
                0.0,
            )
    return np.fmin(_level_of(equity + upnl_now, mm_now), _level_of(before + upnl_before, mm_before))


def _level_of(equity: FloatArray, mm: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        level = np.where(mm > 0, np.where(equity > 0, equity / mm, 0.0), np.inf)
    return np.where(np.isnan(level), np.inf, level)


def _levels(series: pd.DataFrame) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Margin level per bar from the margin ratio column (1/ratio; inf at 0, 0 at inf)."""
    ratio = series["margin_ratio"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(ratio == 0.0, np.inf, 1.0 / ratio)


def _position_symbols(series: pd.DataFrame) -> list[str]:
    """The per-position column keys: ``<symbol>``, or ``<symbol>:LONG``/``:SHORT`` (hedge)."""
    return [c[len(NOTIONAL_PREFIX) :] for c in series.columns if c.startswith(NOTIONAL_PREFIX)]


def _symbol_of(key: str) -> str:
    """The symbol of a column key (a hedge leg's key ends in ``:LONG``/``:SHORT``)."""
    head, _, leg = key.rpartition(":")
    return head if leg in ("LONG", "SHORT") else key


def _effective_leverage(series: pd.DataFrame) -> np.ndarray[Any, np.dtype[np.float64]]:
    symbols = _position_symbols(series)
    equity = series["equity"].to_numpy(dtype=np.float64)
    if not symbols:
        return np.zeros(equity.size)
    columns = [series[NOTIONAL_PREFIX + s].to_numpy(np.float64) for s in symbols]
    notional = np.nansum(np.abs(np.column_stack(columns)), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(notional == 0, 0.0, np.where(equity > 0, notional / equity, np.inf))


def _min_level(
    times: np.ndarray[Any, np.dtype[np.int64]], levels: np.ndarray[Any, np.dtype[np.float64]]
) -> dict[str, Any]:
    finite = np.isfinite(levels)
    if not finite.any():
        return {"min_margin_level": None, "min_margin_level_time": None}
    worst = int(np.argmin(np.where(finite, levels, np.inf)))
    return {"min_margin_level": float(levels[worst]), "min_margin_level_time": int(times[worst])}


def _time_below(
    times: np.ndarray[Any, np.dtype[np.int64]],
    levels: np.ndarray[Any, np.dtype[np.float64]],
    thresholds: Sequence[float],
) -> pd.DataFrame:
    """Per threshold: observations below it, their share, and their duration — each lasts until
    the next observation (the last one, the median spacing)."""
    spacing = np.diff(times)
    last = float(np.median(spacing)) if spacing.size else 0.0
    durations = np.append(spacing.astype(np.float64), last)
    rows = []
    for threshold in thresholds:
        below = levels < threshold
        rows.append(
            {
                "threshold": float(threshold),
                "bars": int(below.sum()),
                "fraction": float(below.mean()) if below.size else 0.0,
                "duration_ms": int(durations[below].sum()),
            }
        )
    return pd.DataFrame(rows, columns=["threshold", "bars", "fraction", "duration_ms"])


def _ledger_columns(ledger: pd.DataFrame) -> tuple[str, str]:
    """The (from, to) book columns: ``source``/``destination``, or ``credit``/``debit``."""
    if {"source", "destination"} <= set(ledger.columns):
        return "source", "destination"
    if {"debit", "credit"} <= set(ledger.columns):
        return "credit", "debit"
    raise ConfigError(
        f"ledger: needs source/destination or debit/credit columns, got {list(ledger.columns)}"
    )


def _markets(data: MarketData | Portfolio | Mapping[str, MarketData]) -> dict[str, MarketData]:
    if isinstance(data, MarketData):
        return {data.symbol: data}
    if isinstance(data, Portfolio):
        return {m.symbol: m for m in data.markets}
    return dict(data)


def _row_min(columns: list[Any], size: int) -> np.ndarray[Any, np.dtype[np.float64]]:
    if not columns:
        return np.full(size, np.nan)
    stacked = np.column_stack(columns)
    out = np.full(size, np.nan)
    has = ~np.isnan(stacked).all(axis=1)
    out[has] = np.nanmin(stacked[has], axis=1)
    return out
