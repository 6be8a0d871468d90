"""``run``: the single entry point that dispatches a strategy to the right engine."""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any

from levtrade.backtest.config import BacktestConfig
from levtrade.backtest.engine import run_signals, run_strategy
from levtrade.backtest.market import FineData
from levtrade.backtest.results import Analyzer, BacktestResult, run_analyzers
from levtrade.data import MarketData, Portfolio
from levtrade.errors import ConfigError
from levtrade.strategy.base import Strategy
from levtrade.strategy.signals import Signals

ENGINES = ("event", "compiled")


def run(
    strategy: type[Strategy] | Signals | Any,
    data: MarketData | Portfolio,
    config: BacktestConfig | None = None,
    *,
    engine: str = "event",
    analyzers: Sequence[Analyzer] = (),
    params: Mapping[str, Any] | None = None,
    fine: FineData | None = None,
) -> BacktestResult:
    """Backtest ``strategy`` on ``data``: the single entry point.

    ``strategy`` is a :class:`Strategy` subclass (event-driven; ``params`` override its
    params), a :class:`Signals` table, or an object with ``to_signals(data, config)`` (a
    SignalStrategy). ``engine="compiled"`` runs signals in the compiled kernel. ``fine`` is
    finer-timeframe data whose sub-bars define the intrabar path (event engine).
    """
    config = config if config is not None else BacktestConfig()
    if engine not in ENGINES:
        raise ConfigError(f"engine: must be one of {', '.join(ENGINES)}, got {engine!r}")
    if isinstance(strategy, type) and issubclass(strategy, Strategy):
        if engine != "event":
            raise ConfigError(
                f"engine: {strategy.__name__} is an event-driven strategy; it runs on the "
                f"'event' engine, got {engine!r}"
            )
        return run_strategy(strategy, data, config, params=params, fine=fine, analyzers=analyzers)
    if params is not None:
        raise ConfigError("params: only Strategy subclasses take params")
    source: Any = strategy
    signals = source if isinstance(source, Signals) else None
    if signals is None and callable(getattr(source, "to_signals", None)):
        signals = source.to_signals(data, config)
    if not isinstance(signals, Signals):
        raise ConfigError(
            f"strategy: expected a Strategy subclass, a Signals table or an object with "
            f"to_signals(data, config), got {strategy!r}"
        )
    if engine == "compiled":
        if fine is not None:
            raise ConfigError("fine: the compiled kernel walks each bar's own path")
        kernel = importlib.import_module("levtrade.backtest.kernel")
        result: BacktestResult = kernel.run_signals(data, signals, config)
    else:
        result = run_signals(data, signals, config, fine=fine)
    run_analyzers(result, analyzers)
    return result
