"""Backtesting: the event-driven engine, the compiled signal kernel, orders and results.

>>> from levtrade.backtest import BacktestConfig, run
>>> result = run(MyStrategy, data, BacktestConfig(leverage=5))      # doctest: +SKIP
>>> result.metrics["sharpe"], result.trades, result.series["equity"]  # doctest: +SKIP

Semantics (timing, the intrabar path, liquidation, funding, signal rules): docs/backtest.md.

Public names are resolved on first use (PEP 562): the event-driven ``Strategy`` base class
imports the order types from this package while the engine imports ``Strategy``, so eager
imports here would make ``from levtrade.strategy import Strategy`` depend on import order.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from levtrade.backtest.config import BacktestConfig, InstrumentOverrides
    from levtrade.backtest.engine import Engine, run_signals, run_strategy
    from levtrade.backtest.lookahead import LookaheadReport, check_lookahead
    from levtrade.backtest.results import Analyzer, BacktestResult, build_result
    from levtrade.backtest.runner import ENGINES, run
    from levtrade.model.orders import Order, OrderStatus, OrderType, Reason, Trade
    from levtrade.strategy.base import Strategy

_EXPORTS = {
    "Analyzer": "levtrade.backtest.results",
    "BacktestConfig": "levtrade.backtest.config",
    "BacktestResult": "levtrade.backtest.results",
    "ENGINES": "levtrade.backtest.runner",
    "Engine": "levtrade.backtest.engine",
    "InstrumentOverrides": "levtrade.backtest.config",
    "LookaheadReport": "levtrade.backtest.lookahead",
    "Order": "levtrade.model.orders",
    "OrderStatus": "levtrade.model.orders",
    "OrderType": "levtrade.model.orders",
    "Reason": "levtrade.model.orders",
    "Strategy": "levtrade.strategy.base",
    "Trade": "levtrade.model.orders",
    "build_result": "levtrade.backtest.results",
    "check_lookahead": "levtrade.backtest.lookahead",
    "run": "levtrade.backtest.runner",
    "run_signals": "levtrade.backtest.engine",
    "run_strategy": "levtrade.backtest.engine",
}

__all__ = [
    "ENGINES",
    "Analyzer",
    "BacktestConfig",
    "BacktestResult",
    "Engine",
    "InstrumentOverrides",
    "LookaheadReport",
    "Order",
    "OrderStatus",
    "OrderType",
    "Reason",
    "Strategy",
    "Trade",
    "build_result",
    "check_lookahead",
    "run",
    "run_signals",
    "run_strategy",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'levtrade.backtest' has no attribute {name!r}")
