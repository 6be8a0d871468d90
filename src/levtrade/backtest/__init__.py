"""Backtesting: the event-driven engine, the compiled signal kernel, orders and results.

>>> from levtrade.backtest import BacktestConfig, run
>>> result = run(MyStrategy, data, BacktestConfig(leverage=5))      # doctest: +SKIP
>>> result.metrics["sharpe"], result.trades, result.series["equity"]  # doctest: +SKIP

Semantics (timing, the intrabar path, liquidation, funding, signal rules): docs/backtest.md.
"""

from __future__ import annotations

from levtrade.backtest.engine import Engine, run_signals, run_strategy
from levtrade.backtest.lookahead import LookaheadReport, check_lookahead
from levtrade.backtest.results import Analyzer, BacktestResult, build_result
from levtrade.backtest.runner import ENGINES, run
from levtrade.model.orders import Order, OrderStatus, OrderType, Reason, Trade
from levtrade.spec.config import BacktestConfig, InstrumentOverrides
from levtrade.strategy.base import Strategy

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
