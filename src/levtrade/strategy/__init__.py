"""Strategies in two styles: event-driven (`Strategy`, backtrader-like ``next()``) and
vectorised signals (`SignalStrategy`, FreqTrade-like ``populate_*``), plus indicators and the
:class:`TradingContext` port every engine and broker implements."""

from __future__ import annotations

from levtrade.strategy.base import Strategy, collect_params
from levtrade.strategy.context import TradingContext
from levtrade.strategy.signal_strategy import SignalStrategy
from levtrade.strategy.signals import SignalRules, Signals, SymbolSignals

__all__ = [
    "SignalRules",
    "SignalStrategy",
    "Signals",
    "Strategy",
    "SymbolSignals",
    "TradingContext",
    "collect_params",
]
