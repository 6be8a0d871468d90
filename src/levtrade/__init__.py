"""levtrade: leveraged crypto trading with venue-accurate margin accounting.

The face of the package, for scripts and notebooks::

    import levtrade as lt

    data = lt.load_market("BTCUSDT-1h-perp.parquet", symbol="BTC/USDT:USDT")
    result = lt.run(MyStrategy, data, lt.BacktestConfig(leverage=5, margin_mode="isolated"))

``lt.run``, ``lt.Strategy`` (event-driven, ``next()``), ``lt.SignalStrategy`` (FreqTrade style),
``lt.BacktestConfig``, ``lt.load_market``, ``lt.Account`` (the margin engine) and
``lt.indicators`` (TA-Lib wrappers); the subpackages hold the rest.

The names load on first use: ``levtrade.cli`` and the margin calculator import this package
first, and a command that needs neither pandas nor the backtester does not pay for them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from levtrade._version import __version__

if TYPE_CHECKING:
    from levtrade.backtest import BacktestResult, check_lookahead, run
    from levtrade.data import MarketData, Portfolio, load_market
    from levtrade.margin import Account
    from levtrade.spec import BacktestConfig, RunSpec
    from levtrade.strategy import SignalStrategy, Strategy, collect_params, indicators

_NAMES = {
    "run": "levtrade.backtest",
    "BacktestResult": "levtrade.backtest",
    "check_lookahead": "levtrade.backtest",
    "Strategy": "levtrade.strategy",
    "SignalStrategy": "levtrade.strategy",
    "collect_params": "levtrade.strategy",
    "BacktestConfig": "levtrade.spec",
    "RunSpec": "levtrade.spec",
    "load_market": "levtrade.data",
    "MarketData": "levtrade.data",
    "Portfolio": "levtrade.data",
    "Account": "levtrade.margin",
}
_MODULES = {"indicators": "levtrade.strategy.indicators"}

__all__ = [
    "Account",
    "BacktestConfig",
    "BacktestResult",
    "MarketData",
    "Portfolio",
    "RunSpec",
    "SignalStrategy",
    "Strategy",
    "__version__",
    "check_lookahead",
    "collect_params",
    "indicators",
    "load_market",
    "run",
]


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        value = import_module(_MODULES[name])
    elif name in _NAMES:
        value = getattr(import_module(_NAMES[name]), name)
    else:
        raise AttributeError(f"module 'levtrade' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
