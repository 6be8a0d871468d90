"""The look-ahead check: a decision must not change when later bars are removed.

Reading ``close[1]`` in ``next()`` raises at once (:class:`~levtrade.errors.LookaheadError`),
but a strategy can still peek through a precomputed array (a centred filter, a shifted
series). :func:`check_lookahead` reruns the strategy on the data cut after bar *k* for several
*k* and compares what it decided on bars before *k* with the full run: the orders a
``Strategy`` submitted and the lines (indicators) it keeps, or the signal table of a signal
function. Any difference, or an error only the cut run meets, means a later bar was used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from levtrade.backtest.engine import Engine
from levtrade.backtest.event_driver import EventDriver
from levtrade.backtest.market import truncate
from levtrade.backtest.scoped import ScopedContext
from levtrade.backtest.spot_engine import SpotEngine
from levtrade.data import MarketData, Portfolio
from levtrade.errors import ConfigError, LookaheadError
from levtrade.spec import resolve
from levtrade.spec.config import BacktestConfig
from levtrade.strategy.base import Strategy
from levtrade.strategy.lines import Line
from levtrade.strategy.signals import SIGNAL_COLUMNS, Signals

SignalSource = Callable[[MarketData | Portfolio], Signals]


@dataclass(frozen=True)
class LookaheadReport:
    """Outcome of :func:`check_lookahead`: ``ok``, or where the decisions first differed."""

    ok: bool
    cuts: tuple[int, ...]
    bar: int | None = None
    """First bar whose decision differs (or where the cut run failed)."""
    detail: str = ""

    def raise_for_lookahead(self) -> None:
        """Raise :class:`LookaheadError` when the check failed."""
        if not self.ok:
            raise LookaheadError(f"look-ahead at bar {self.bar}: {self.detail}")


def _cut_points(bars: int, cuts: int | Sequence[int]) -> tuple[int, ...]:
    if isinstance(cuts, int):
        if cuts < 1:
            raise ConfigError(f"cuts: must be ≥ 1, got {cuts!r}")
        points = {round(bars * (k + 1) / (cuts + 1)) for k in range(cuts)}
    else:
        points = {int(k) for k in cuts}
    bad = sorted(k for k in points if not 1 <= k < bars)
    if bad:
        raise ConfigError(f"cuts: each cut must be in [1, {bars - 1}], got {bad[0]!r}")
    return tuple(sorted(points))


def _decisions(
    strategy: type[Strategy],
    data: MarketData | Portfolio,
    config: BacktestConfig,
    params: Mapping[str, Any] | None,
) -> tuple[list[tuple[Any, ...]], dict[str, np.ndarray[Any, Any]]]:
    """The orders the strategy submitted, and the lines it keeps (its indicators)."""
    driver = EventDriver(strategy, params)
    engine: Engine | SpotEngine | ScopedContext
    if config.account_type is not None:
        engine = ScopedContext(data, resolve(config, data.symbols), strategy=driver)
    elif config.trading_mode != "futures":
        engine = SpotEngine(data, resolve(config, data.symbols), driver)
    else:
        engine = Engine(data, config, driver)
    engine.run()
    lines: dict[str, np.ndarray[Any, Any]] = {}
    for name, value in vars(driver.strategy).items():
        if isinstance(value, Line):
            lines[name] = value.array
        elif isinstance(value, tuple | list):
            for k, item in enumerate(value):
                if isinstance(item, Line):
                    lines[f"{name}[{k}]"] = item.array
    return engine.decisions, lines


def _first_difference(expected: np.ndarray[Any, Any], got: np.ndarray[Any, Any]) -> int | None:
    """First index where two series differ (NaN equals NaN; floats to 1e-9 relative)."""
    if expected.dtype.kind == "f":
        same = np.isclose(expected, got, rtol=1e-9, atol=0.0, equal_nan=True)
    else:
        same = expected == got
    bad = np.flatnonzero(~same)
    return int(bad[0]) if bad.size else None


def _signal_arrays(signals: Signals, symbol: str, bars: int) -> dict[str, np.ndarray[Any, Any]]:
    table = signals.by_symbol.get(symbol)
    if table is None:
        return {}
    names = (*SIGNAL_COLUMNS, "leverage", "stake")
    return {name: np.asarray(getattr(table, name))[:bars] for name in names}


def check_lookahead(
    strategy: type[Strategy] | SignalSource | Any,
    data: MarketData | Portfolio,
    config: BacktestConfig | None = None,
    *,
    cuts: int | Sequence[int] = 4,
    params: Mapping[str, Any] | None = None,
) -> LookaheadReport:
    """Rerun ``strategy`` on ``data`` cut after each of ``cuts`` bars (a count of evenly spaced
    cuts, or the bar counts themselves) and compare its decisions before each cut.

    ``strategy`` is a :class:`Strategy` subclass (its submitted orders are compared), a
    function ``data -> Signals`` or an object with ``to_signals(data, config)`` (the signal
    columns are compared).
    """
    config = config if config is not None else BacktestConfig()
    bars = len(data)
    points = _cut_points(bars, cuts)
    if isinstance(strategy, type) and issubclass(strategy, Strategy):
        full, full_lines = _decisions(strategy, data, config, params)
        for k in points:
            try:
                cut, cut_lines = _decisions(strategy, truncate(data, k), config, params)
            except (IndexError, LookaheadError) as exc:
                return LookaheadReport(
                    False, points, k - 1, f"the run cut at {k} bars failed: {exc}"
                )
            for name, values in full_lines.items():
                other = cut_lines.get(name)
                if other is None or other.shape[0] != k:
                    continue
                bar = _first_difference(values[:k], other)
                if bar is not None:
                    return LookaheadReport(
                        False,
                        points,
                        bar,
                        f"line {name!r} at bar {bar} changes when the data ends at bar {k}",
                    )
            before = [d for d in full if d[0] < k]
            if cut != before:
                pairs = zip(before, cut, strict=False)
                first = next((a for a, b in pairs if a != b), None)
                if first is None:
                    longer = before if len(before) > len(cut) else cut
                    first = longer[min(len(before), len(cut))]
                return LookaheadReport(
                    False,
                    points,
                    int(first[0]),
                    f"with {k} bars the strategy decided differently before bar {k}: "
                    f"{len(before)} orders in the full run, {len(cut)} in the cut run",
                )
        return LookaheadReport(True, points)

    source: Any = strategy

    def signals_of(frame: MarketData | Portfolio) -> Signals:
        if callable(getattr(source, "to_signals", None)):
            result = source.to_signals(frame, config)
        elif callable(source):
            result = source(frame)
        else:
            raise ConfigError(
                f"strategy: expected a Strategy subclass, a function returning Signals or an "
                f"object with to_signals(data, config), got {strategy!r}"
            )
        if not isinstance(result, Signals):
            raise ConfigError(f"strategy: returned {type(result).__name__}, expected Signals")
        return result

    full_signals = signals_of(data)
    for k in points:
        try:
            cut_signals = signals_of(truncate(data, k))
        except (IndexError, LookaheadError) as exc:
            return LookaheadReport(False, points, k - 1, f"the cut at {k} bars failed: {exc}")
        for symbol in full_signals.by_symbol:
            expected = _signal_arrays(full_signals, symbol, k)
            got = _signal_arrays(cut_signals, symbol, k)
            for name, values in expected.items():
                other = got.get(name)
                if other is None:
                    continue
                bar = _first_difference(values, other)
                if bar is not None:
                    return LookaheadReport(
                        False,
                        points,
                        bar,
                        f"{symbol} {name} at bar {bar} changes when the data ends at bar {k}",
                    )
    return LookaheadReport(True, points)
