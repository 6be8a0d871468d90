"""Strategies in two styles: event-driven (`Strategy`, backtrader-like ``next()``) and
vectorised signals (`SignalStrategy`, FreqTrade-like ``populate_*``), plus indicators.

Names are resolved on first use: the event-driven base class and the backtest engine import
each other's modules, so eager imports here would make the import order matter.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from levtrade.strategy.base import Strategy
    from levtrade.strategy.signal_strategy import SignalStrategy
    from levtrade.strategy.signals import SignalRules, Signals, SymbolSignals

_EXPORTS = {
    "Strategy": "levtrade.strategy.base",
    "SignalStrategy": "levtrade.strategy.signal_strategy",
    "SignalRules": "levtrade.strategy.signals",
    "Signals": "levtrade.strategy.signals",
    "SymbolSignals": "levtrade.strategy.signals",
}

__all__ = ["SignalRules", "SignalStrategy", "Signals", "Strategy", "SymbolSignals"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'levtrade.strategy' has no attribute {name!r}")
