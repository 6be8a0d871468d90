"""A run from its configuration: :func:`prepare_run` resolves a :class:`RunConfig` into a
:class:`RunPlan` (the strategy loaded, the market data read and cut, the engine's settings
built) and :func:`execute` runs it through :func:`levtrade.backtest.run`. Every run attaches
the standard margin analyzers of :mod:`levtrade.risk` (the ``[risk]`` table)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from levtrade._validation import file_problem
from levtrade.backtest.lookahead import LookaheadReport, check_lookahead
from levtrade.backtest.progress import Progress
from levtrade.backtest.results import BacktestResult, run_analyzers
from levtrade.backtest.runner import run, trim_warmup
from levtrade.backtest.spot_engine import SPOT_NOTE
from levtrade.configuration.config import RunConfig, check_pair
from levtrade.configuration.data import LoadedData, load_run_data
from levtrade.configuration.strategies import (
    LoadedStrategy,
    StrategyFailure,
    load_strategy,
    strategy_failure,
)
from levtrade.configuration.timerange import Timerange, parse_timerange
from levtrade.data import (
    Portfolio,
    format_ts,
)
from levtrade.errors import ConfigError, DataError
from levtrade.freqtrade import IStrategy
from levtrade.model.instrument import Instrument
from levtrade.spec.config import BacktestConfig
from levtrade.strategy.signal_io import read_signals
from levtrade.strategy.signal_strategy import SignalStrategy
from levtrade.strategy.signals import SignalRules

logger = logging.getLogger(__name__)


@dataclass
class RunPlan:
    """A run resolved from its configuration and ready to execute."""

    config: RunConfig
    backtest: BacktestConfig
    pairs: tuple[str, ...]
    timeframe: str
    timerange: Timerange | None
    strategy: LoadedStrategy | None
    signals_file: Path | None
    engine: Literal["auto", "event", "compiled"]
    loaded: LoadedData
    notes: list[str] = field(default_factory=list)

    @property
    def strategy_name(self) -> str:
        if self.strategy is not None:
            return self.strategy.name
        assert self.signals_file is not None
        return f"signals {self.signals_file.name}"

    @property
    def style(self) -> str:
        return self.strategy.style if self.strategy is not None else "signals-file"


@dataclass
class RunOutcome:
    """A finished run: the result, the data it ran on, and the facts the report states."""

    plan: RunPlan
    result: BacktestResult
    data: Portfolio
    indicators: dict[str, pd.DataFrame] = field(default_factory=dict)
    """A signal strategy's populated DataFrame per pair (its indicator columns)."""
    plot_config: dict[str, Any] = field(default_factory=dict)

    def info(self) -> dict[str, Any]:
        """Run facts for the summary (JSON-friendly)."""
        plan = self.plan
        config = plan.config
        return {
            "strategy": plan.strategy_name,
            "strategy_style": plan.style,
            "strategy_source": (
                plan.strategy.source if plan.strategy is not None else str(plan.signals_file)
            ),
            "config": config.source,
            "engine": plan.engine,
            "trading_mode": config.trading_mode,
            "margin_mode": config.margin_mode,
            "position_mode": config.position_mode,
            "timeframe": plan.timeframe,
            "timerange": None if plan.timerange is None else plan.timerange.text,
            "pairs": list(plan.pairs),
            "stake_currency": config.stake_currency or _settle(plan.pairs),
            "stake_amount": config.stake_amount,
            "leverage": config.leverage,
            "max_open_trades": config.max_open_trades,
            "liquidation_buffer": config.liquidation_buffer,
            "data_source": plan.loaded.source,
            "synthetic": plan.loaded.synthetic,
            "mark_candles": dict(plan.loaded.mark),
            "funding_source": dict(plan.loaded.funding),
            "futures_funding_rate": config.funding_rate,
            "funding_interval_hours": config.funding_interval_hours,
            "notes": [*plan.loaded.notes, *plan.notes],
            "ignored_keys": list(config.ignored_keys),
            "risk": config.risk.info(),
            "plot_config": self.plot_config,
            "params": dict(config.params),
        }


def _settle(pairs: Sequence[str]) -> str | None:
    settles = {Instrument.parse(p).margin_currency for p in pairs}
    return settles.pop() if len(settles) == 1 else None


def prepare_run(
    config: RunConfig,
    *,
    strategy: str | None = None,
    signals: str | Path | None = None,
    progress: Progress | None = None,
) -> RunPlan:
    """Resolve a configuration (plus the command line's strategy/signals) into a plan: the
    strategy loaded, the data read and cut, the engine's configuration built."""
    if strategy is not None and signals is not None:
        raise ConfigError("strategy: give --strategy or --signals, not both")
    loaded_strategy: LoadedStrategy | None = None
    signals_file: Path | None = None
    search = [] if config.strategy_path is None else [config.path(config.strategy_path)]
    search.append(config.path(str(Path(config.user_data_dir or "user_data") / "strategies")))
    if strategy is not None:
        loaded_strategy = load_strategy(strategy, base_dir=Path.cwd(), search=search)
    elif signals is not None:
        signals_file = Path(signals).expanduser()
    elif config.strategy is not None:
        loaded_strategy = load_strategy(config.strategy, base_dir=config.base_dir, search=search)
    elif config.signals is not None:
        signals_file = config.path(config.signals)
    else:
        raise ConfigError(
            'strategy: no strategy; set strategy = "path.py:ClassName" in the config, or pass '
            "--strategy or --signals"
        )
    problem = None if signals_file is None else file_problem(signals_file)
    if problem is not None:
        raise DataError(f"signals: {problem}")
    style = loaded_strategy.style if loaded_strategy is not None else "signals-file"
    overrides = config.signal_rule_overrides()
    if loaded_strategy is not None and style == "event":
        extra = sorted([*overrides, *(["can_short"] if config.can_short is not None else [])])
        if extra:
            raise ConfigError(
                f"{extra[0]}: applies to signal strategies (FreqTrade style); "
                f"{loaded_strategy.name} is event-driven and places its own stops and exits"
            )
    timeframe = config.timeframe
    if timeframe is None and loaded_strategy is not None and loaded_strategy.style == "signal":
        timeframe = getattr(loaded_strategy.cls, "timeframe", None)
    if timeframe is None:
        if config.resolved_format() != "demo":
            raise ConfigError('timeframe: not set; add timeframe = "1h" (the candle timeframe)')
        timeframe = "1h"
    if config.engine == "compiled" and style == "event":
        raise ConfigError(
            "engine: event-driven strategies run on the 'event' engine, got 'compiled'"
        )
    pairs = config.resolved_pairs()
    if not pairs and signals_file is not None:
        pairs = _signal_pairs(signals_file, config.stake_currency, config.trading_mode)
    timerange = None if config.timerange is None else parse_timerange(config.timerange)
    warmup = 0
    if loaded_strategy is not None and loaded_strategy.style == "signal" and timerange is not None:
        declared = getattr(loaded_strategy.cls, "startup_candle_count", 0)
        warmup = int(config.params.get("startup_candle_count", declared) or 0)
    if progress is not None:
        progress.phase("loading data")
    logger.info("loading %s %s data for %s", config.resolved_format(), timeframe, ", ".join(pairs))
    loaded = load_run_data(config, pairs, timeframe, timerange, warmup_bars=warmup)
    pairs = loaded.pairs
    backtest = config.backtest_config(pairs)
    logger.info("loaded %d bars from %s", len(loaded.data), loaded.source)
    notes: list[str] = []
    if warmup and timerange is not None and timerange.start is not None:
        first = loaded.data.timestamps[0]
        before = int(np.count_nonzero(loaded.data.timestamps < timerange.start))
        loaded.warmup_bars = before
        if before:
            notes.append(
                f"{before} startup candles before the timerange (from {format_ts(first)}) warm "
                "up the indicators and are not traded"
            )
    if config.ignored_keys:
        notes.append("ignored FreqTrade settings: " + ", ".join(config.ignored_keys))
    if config.trading_mode != "futures":
        notes.append(SPOT_NOTE)
    return RunPlan(
        config=config,
        backtest=backtest,
        pairs=pairs,
        timeframe=timeframe,
        timerange=timerange,
        strategy=loaded_strategy,
        signals_file=signals_file,
        engine=config.engine,
        loaded=loaded,
        notes=notes,
    )


def _signal_pairs(path: Path, stake_currency: str | None, trading_mode: str) -> tuple[str, ...]:
    try:
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else None
        if frame is None and path.suffix == ".feather":
            frame = pd.read_feather(path)
        if frame is None:
            frame = pd.read_csv(path)
    except Exception as exc:
        raise DataError(f"signals: cannot read {path}: {exc}") from None
    if "symbol" not in frame.columns:
        raise ConfigError(
            f"pairs: not set and {path} has no symbol column; set pairs in the config or --pairs"
        )
    pairs = tuple(dict.fromkeys(str(s) for s in frame["symbol"].dropna()))
    for pair in pairs:
        check_pair(pair, stake_currency, trading_mode)
    return pairs


def _signal_instance(plan: RunPlan) -> SignalStrategy:
    assert plan.strategy is not None
    return signal_instance(plan.config, plan.strategy, plan.pairs, plan.timeframe)


def signal_instance(
    config: RunConfig,
    strategy: LoadedStrategy,
    pairs: Sequence[str],
    timeframe: str,
    runmode: str = "backtest",
) -> SignalStrategy:
    """The signal strategy ``strategy`` set up by ``config``: its ``params``, the FreqTrade
    exit settings given in the file, ``can_short``, the timeframe (a FreqTrade ``IStrategy``
    is constructed with FreqTrade's ``config`` dict, ``runmode`` in it)."""
    instance: SignalStrategy
    if issubclass(strategy.cls, IStrategy):
        instance = strategy.cls(_freqtrade_config(config, pairs, timeframe, runmode))
    else:
        instance = strategy.cls()
    for name, value in config.params.items():
        if isinstance(instance, IStrategy) and instance.set_parameter(name, value):
            continue
        if name.startswith("_") or not hasattr(instance, name) or callable(getattr(instance, name)):
            raise ConfigError(
                f"params: {strategy.name} has no attribute {name!r} (value {value!r})"
            )
        setattr(instance, name, value)
    for name, value in config.signal_rule_overrides().items():
        setattr(instance, name, value)
    if config.can_short is not None:
        setattr(instance, "can_short", config.can_short)  # noqa: B010
    declared = getattr(instance, "timeframe", None)
    if declared is not None and declared != timeframe:
        setattr(instance, "timeframe", timeframe)  # noqa: B010
    return instance


def _freqtrade_config(
    config: RunConfig, pairs: Sequence[str], timeframe: str, runmode: str
) -> dict[str, Any]:
    """The ``config`` dict a FreqTrade strategy is constructed with (``self.config``)."""
    return {
        "stake_currency": config.stake_currency or _settle(pairs),
        "stake_amount": config.stake_amount,
        "timeframe": timeframe,
        "trading_mode": "futures",
        "margin_mode": config.margin_mode,
        "max_open_trades": config.max_open_trades,
        "dry_run_wallet": config.wallet_amount(),
        "exchange": {"name": config.resolved_venue(), "pair_whitelist": list(pairs)},
        "runmode": runmode,
    }


_NOT_IN_SIGNAL_FILES = (
    "exit_profit_only",
    "position_adjustment_enable",
    "protections",
)


def _file_rules(config: RunConfig) -> SignalRules:
    overrides = config.signal_rule_overrides()
    for name in _NOT_IN_SIGNAL_FILES:
        if overrides.pop(name, None):
            raise ConfigError(f"{name}: levtrade does not run it; remove it or set it off")
    overrides.pop("exit_profit_offset", None)
    overrides.pop("max_entry_position_adjustment", None)
    roi = {int(k): float(v) for k, v in (overrides.pop("minimal_roi", None) or {}).items()}
    can_short = True if config.can_short is None else config.can_short
    return SignalRules(can_short=can_short, minimal_roi=roi, **overrides)


def lookahead(plan: RunPlan, *, cuts: int = 4) -> LookaheadReport:
    """:func:`levtrade.backtest.check_lookahead` on the plan's strategy and data: the
    strategy rerun on the data cut after ``cuts`` evenly spaced bars, its decisions before
    each cut compared with the full run's."""
    strategy = plan.strategy
    if strategy is None:
        raise ConfigError("strategy: the look-ahead check needs a strategy, not a signal file")
    data = plan.loaded.data
    if strategy.style == "event":
        params = dict(plan.config.params) or None
        return check_lookahead(strategy.cls, data, plan.backtest, cuts=cuts, params=params)
    return check_lookahead(_signal_instance(plan), data, plan.backtest, cuts=cuts)


def execute(plan: RunPlan, *, progress: Progress | None = None) -> RunOutcome:
    """Run the plan with :func:`levtrade.backtest.run`. A strategy's own exception becomes a
    :class:`StrategyFailure`."""
    data = plan.loaded.data
    strategy = plan.strategy
    source: Any
    params = None
    if strategy is not None and strategy.style == "event":
        source = strategy.cls
        params = dict(plan.config.params) or None
    elif strategy is not None:
        source = _signal_instance(plan)
    else:
        assert plan.signals_file is not None
        source = read_signals(plan.signals_file, data, rules=_file_rules(plan.config))
    logger.info(
        "running %s on the %s engine at %gx, %s margin",
        plan.strategy_name,
        plan.engine,
        plan.backtest.leverage,
        plan.backtest.margin_mode,
    )
    try:
        result = run(
            source,
            data,
            plan.backtest,
            engine=plan.engine,
            params=params,
            fine=plan.loaded.fine,
            warmup=plan.loaded.warmup_bars,
            progress=progress,
        )
    except StrategyFailure:
        raise
    except SystemExit as exc:
        name = plan.strategy_name
        raise StrategyFailure(
            f"strategy {name} called sys.exit({exc.code!r}) during the run; a strategy returns "
            "its results (raise an exception to stop with an error)"
        ) from None
    except Exception as exc:
        failure = None if strategy is None else strategy_failure(exc, strategy)
        if failure is not None:
            raise failure from None
        raise
    if isinstance(source, SignalStrategy):
        plan.notes.extend(source.callback_notes)
    if progress is not None:
        progress.phase("analyzing margin")
    # the untrimmed data: bars are matched on time, and the startup candles warm the ATR up
    run_analyzers(result, plan.config.risk.analyzers(plan.loaded.data))
    traded = data if not plan.loaded.warmup_bars else trim_warmup(data, plan.loaded.warmup_bars)
    assert isinstance(traded, Portfolio)
    if isinstance(source, SignalStrategy):
        return RunOutcome(
            plan=plan,
            result=result,
            data=traded,
            indicators=dict(getattr(source, "analyzed", {})),
            plot_config=dict(source.plot_config or {}),
        )
    return RunOutcome(plan=plan, result=result, data=traded)
