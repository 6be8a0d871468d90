"""A run from its configuration file: the schema (:mod:`~levtrade.configuration.config`,
FreqTrade's keys included, :mod:`~levtrade.configuration.freqtrade`), the strategy loader
(:mod:`~levtrade.configuration.strategies`), the data loader
(:mod:`~levtrade.configuration.data`), the timerange (:mod:`~levtrade.configuration.timerange`)
and the plan that runs it (:mod:`~levtrade.configuration.plan`)."""

from __future__ import annotations

from levtrade.configuration.config import (
    DEFAULT_REPORT,
    DEFAULT_RESULTS,
    DEMO_LEVERAGES,
    DataFormat,
    RiskSettings,
    RunConfig,
    load_run_config,
)
from levtrade.configuration.plan import RunOutcome, RunPlan, execute, lookahead, prepare_run
from levtrade.configuration.strategies import LoadedStrategy, StrategyFailure, load_strategy
from levtrade.configuration.timerange import Timerange, parse_timerange

__all__ = [
    "DEFAULT_REPORT",
    "DEFAULT_RESULTS",
    "DEMO_LEVERAGES",
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
    "lookahead",
    "parse_timerange",
    "prepare_run",
]
