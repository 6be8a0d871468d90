"""What a run is: its settings (:class:`BacktestConfig`, FreqTrade's keys included) and those
settings resolved against the venue once (:class:`RunSpec`). Backtests, the paper venue and
live trading read the same two objects."""

from __future__ import annotations

from levtrade.spec.config import AccountSettings, BacktestConfig, InstrumentOverrides
from levtrade.spec.runspec import RunSpec, resolve

__all__ = ["AccountSettings", "BacktestConfig", "InstrumentOverrides", "RunSpec", "resolve"]
