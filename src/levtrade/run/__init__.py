"""A run from its configuration file: the schema (:mod:`~levtrade.run.config`, FreqTrade's
keys included, :mod:`~levtrade.run.freqtrade`), the strategy loader
(:mod:`~levtrade.run.strategies`), the data loader (:mod:`~levtrade.run.data`), the timerange
(:mod:`~levtrade.run.timerange`) and the plan that runs it (:mod:`~levtrade.run.plan`)."""

from __future__ import annotations

from levtrade.run.config import (
    DEFAULT_REPORT,
    DEFAULT_RESULTS,
    DataFormat,
    RiskSettings,
    RunConfig,
    load_run_config,
)
from levtrade.run.plan import RunOutcome, RunPlan, execute, prepare_run
from levtrade.run.strategies import LoadedStrategy, StrategyFailure, load_strategy
from levtrade.run.timerange import Timerange, parse_timerange

__all__ = [
    "DEFAULT_REPORT",
    "DEFAULT_RESULTS",
    "DataFormat",
    "LoadedStrategy",
    "RiskSettings",
    "RunConfig",
    "RunOutcome",
    "RunPlan",
    "StrategyFailure",
    "Timerange",
    "execute",
    "load_run_config",
    "load_strategy",
    "parse_timerange",
    "prepare_run",
]
