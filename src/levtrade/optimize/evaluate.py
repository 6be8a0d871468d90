"""Evaluating variants: one backtest each, through the one run path
(:func:`levtrade.backtest.run`, or its figures alone, :func:`levtrade.backtest.runner.run_figures`:
on the compiled kernel no result table is built), so a row is exactly what a single backtest
of that variant gives.

What is shared between variants is computed once per worker: a signal strategy's signal table
once per distinct set of strategy parameters (variants that differ only in run settings —
leverage, margin mode, stake, stop-loss, ROI — reuse it with their own exit rules), and inside
it each indicator once per distinct input and parameters (:func:`indicators.memoized`).
"""

from __future__ import annotations

import copy
import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from levtrade.backtest import run
from levtrade.backtest.results import BacktestResult, RunFigures
from levtrade.backtest.runner import run_figures
from levtrade.data import MarketData, Portfolio
from levtrade.errors import ConfigError
from levtrade.optimize.space import split_params
from levtrade.spec import BacktestConfig, RunSpec, resolve
from levtrade.strategy import indicators
from levtrade.strategy.base import Strategy
from levtrade.strategy.signal_strategy import SignalStrategy
from levtrade.strategy.signals import Signals

Variant = tuple[int, dict[str, Any]]
"""A variant's id and its parameter values."""
Chunk = tuple[int, list[Variant]]
"""A chunk's id and its variants: one task."""
Row = dict[str, Any]


@dataclass(frozen=True)
class Segment:
    """A stretch of the traded bars ``[start, end)`` a variant is scored on: ``prefix`` names
    its metric columns (``""``, ``"is_"``, ``"oos_"``), ``fold`` its walk-forward fold."""

    prefix: str
    start: int
    end: int
    fold: int | None = None


@dataclass(frozen=True)
class Task:
    """What every worker needs besides the data: the strategy (a class, or an instance whose
    attributes are the fixed parameters), the base settings, the warm-up bars, the engine and
    the segments."""

    strategy: Any
    config: BacktestConfig
    warmup: int = 0
    engine: str = "auto"
    segments: tuple[Segment, ...] = ()
    fixed: Mapping[str, Any] = field(default_factory=dict)
    """Strategy parameters every variant has (the run configuration's ``[params]``)."""

    @property
    def strategy_class(self) -> type[Any]:
        return self.strategy if isinstance(self.strategy, type) else type(self.strategy)


def figures_row(figures: RunFigures, prefix: str = "") -> Row:
    """A run's metrics (and rejected orders) as row values, named with ``prefix``."""
    row = {f"{prefix}{k}": _plain(v) for k, v in figures.metrics.items()}
    row[f"{prefix}rejected_orders"] = figures.rejected_orders
    return row


def _plain(value: Any) -> Any:
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    try:
        return value.item()
    except AttributeError:
        return value


def set_parameter(instance: Any, name: str, value: Any) -> None:
    """Set a strategy parameter on the instance: through its ``set_parameter`` where it has
    one that takes the name (FreqTrade-style hyperopt parameters), else as an attribute (as
    the run configuration's ``[params]`` are set)."""
    setter = getattr(instance, "set_parameter", None)
    if callable(setter) and setter(name, value):
        return
    setattr(instance, name, value)


def _own_copy(strategy: Any) -> Any:
    """A copy of a configured strategy for one variant: its attributes shared, except its
    hyperopt parameter objects (a variant sets their values)."""
    instance = copy.copy(strategy)
    for name, value in vars(instance).items():
        if callable(getattr(value, "set_value", None)):
            setattr(instance, name, copy.copy(value))
    return instance


def _overrides_callbacks(strategy: SignalStrategy) -> bool:
    """Whether the signal table depends on the run's settings (a ``leverage`` or
    ``custom_stake_amount`` callback sees them)."""
    kind = type(strategy)
    return any(
        getattr(kind, name) is not getattr(SignalStrategy, name)
        for name in ("leverage", "custom_stake_amount")
    )


class Evaluator:
    """Evaluates variants on one worker (see the module docstring)."""

    def __init__(self, task: Task, data: MarketData | Portfolio, cache_size: int = 64) -> None:
        self.task = task
        self.data = data
        self.segments = task.segments or (Segment("", 0, len(data) - task.warmup),)
        self.memo = indicators.IndicatorMemo()
        self._signals: OrderedDict[tuple[Any, ...], Signals] = OrderedDict()
        self._configs: dict[tuple[Any, ...], BacktestConfig] = {}
        self._specs: dict[tuple[tuple[Any, ...], tuple[str, ...]], RunSpec] = {}
        self._data: dict[Segment, MarketData | Portfolio] = {}
        self.cache_size = cache_size

    def chunk(self, chunk: Chunk) -> list[Row]:
        """The rows of a chunk's variants (one per variant and segment fold)."""
        _, variants = chunk
        rows: list[Row] = []
        with indicators.memoized(self.memo):
            for variant_id, params in variants:
                rows.extend(self.variant(variant_id, params))
        return rows

    def variant(self, variant_id: int, params: Mapping[str, Any]) -> list[Row]:
        """One row per fold: the variant's parameters and each segment's metrics."""
        folds: dict[int | None, Row] = {}
        for segment in self.segments:
            row = folds.setdefault(segment.fold, self._head(variant_id, segment.fold, params))
            row.update(figures_row(self.figures(params, segment), segment.prefix))
        return list(folds.values())

    @staticmethod
    def _head(variant_id: int, fold: int | None, params: Mapping[str, Any]) -> Row:
        head: Row = {"variant": variant_id}
        if fold is not None:
            head["fold"] = fold
        head.update(params)
        return head

    def config(self, fields: Mapping[str, Any]) -> BacktestConfig:
        key = tuple(sorted((k, repr(v)) for k, v in fields.items()))
        config = self._configs.get(key)
        if config is None:
            base = self.task.config
            config = BacktestConfig(**{**base.model_dump(), **fields}) if fields else base
            self._configs[key] = config
        return config

    def spec(self, fields: Mapping[str, Any], symbols: tuple[str, ...]) -> RunSpec:
        """The settings of ``fields`` resolved for ``symbols``, once per distinct pair (what
        every run of them would resolve again)."""
        key = (tuple(sorted((k, repr(v)) for k, v in fields.items())), symbols)
        spec = self._specs.get(key)
        if spec is None:
            spec = resolve(self.config(fields), symbols)
            self._specs[key] = spec
        return spec

    def segment_data(self, segment: Segment) -> MarketData | Portfolio:
        """The bars a segment's run reads: its own, with the warm-up bars before them."""
        if segment.start == 0 and segment.end == len(self.data) - self.task.warmup:
            return self.data
        cached = self._data.get(segment)
        if cached is None:
            stamps = self.data.timestamps
            stop = self.task.warmup + segment.end
            end = int(stamps[stop]) if stop < len(stamps) else None
            cached = self.data.between(int(stamps[segment.start]), end)
            self._data[segment] = cached
        return cached

    def backtest(self, params: Mapping[str, Any], segment: Segment) -> BacktestResult:
        """The backtest of one variant on one segment."""
        source, data, config, options = self._run_arguments(params, segment)
        return run(source, data, config, engine=self.task.engine, **options)

    def figures(self, params: Mapping[str, Any], segment: Segment) -> RunFigures:
        """The figures of :meth:`backtest` (its metrics and rejected orders), without the
        result's tables where the run is on the compiled kernel."""
        source, data, config, options = self._run_arguments(params, segment)
        return run_figures(source, data, config, engine=self.task.engine, **options)

    def _run_arguments(
        self, params: Mapping[str, Any], segment: Segment
    ) -> tuple[Any, MarketData | Portfolio, RunSpec, dict[str, Any]]:
        """What the run of one variant on one segment is given: the strategy class or the
        signal table, the data, the resolved settings and the run's other arguments."""
        fields, rules, own = split_params(params)
        data = self.segment_data(segment)
        config = self.spec(fields, data.symbols)
        strategy = self.task.strategy
        if isinstance(strategy, type) and issubclass(strategy, Strategy):
            merged = {**self.task.fixed, **own}
            if rules:
                raise ConfigError(
                    f"param {next(iter(rules))}: {strategy.__name__} is event-driven and "
                    "places its own exits"
                )
            return strategy, data, config, {"params": merged or None}
        instance = strategy() if isinstance(strategy, type) else _own_copy(strategy)
        for name, value in {**self.task.fixed, **own, **rules}.items():
            set_parameter(instance, name, value)
        signals = self._signal_table(instance, own, config, data, segment)
        return signals, data, config, {"warmup": self.task.warmup}

    def _signal_table(
        self,
        instance: Any,
        own: Mapping[str, Any],
        spec: RunSpec,
        data: MarketData | Portfolio,
        segment: Segment,
    ) -> Signals:
        """The instance's signals, its table computed once per distinct strategy parameters
        (and settings, where a callback reads them), with the instance's own exit rules."""
        key: tuple[Any, ...] = (segment, tuple(sorted((k, repr(v)) for k, v in own.items())))
        if isinstance(instance, SignalStrategy) and _overrides_callbacks(instance):
            key += (spec.config.model_dump_json(),)
        table = self._signals.get(key)
        if table is None:
            table = instance.to_signals(data, spec)
            self._signals[key] = table
            while len(self._signals) > self.cache_size:
                self._signals.popitem(last=False)
        else:
            self._signals.move_to_end(key)
        rules = instance.rules() if hasattr(instance, "rules") else table.rules
        return Signals(table.by_symbol, rules)


def split_segments(
    bars: int, *, oos: float | None = None, walk_forward: int | None = None
) -> tuple[Segment, ...]:
    """The segments of a split: none (the whole run), in-sample / out-of-sample with the last
    ``oos`` share out of sample, or ``walk_forward`` rolling folds (the traded bars cut into
    folds + 1 equal windows; fold k is in sample on window k, out of sample on window k+1)."""
    if oos is not None and walk_forward is not None:
        raise ConfigError("split: give an out-of-sample share or walk-forward folds, not both")
    if oos is not None:
        if not (isinstance(oos, int | float) and 0 < oos < 1):
            raise ConfigError(f"oos: a share of the bars in (0, 1) such as 0.3, got {oos!r}")
        cut = bars - math.ceil(bars * oos)
        if cut < 2 or bars - cut < 2:
            raise ConfigError(f"oos: {oos!r} of {bars} bars leaves a segment under 2 bars")
        return (Segment("is_", 0, cut), Segment("oos_", cut, bars))
    if walk_forward is not None:
        if isinstance(walk_forward, bool) or not isinstance(walk_forward, int) or walk_forward < 1:
            raise ConfigError(f"walk_forward: a number of folds ≥ 1, got {walk_forward!r}")
        size = bars // (walk_forward + 1)
        if size < 2:
            raise ConfigError(
                f"walk_forward: {walk_forward} folds of {bars} bars leave windows under 2 bars"
            )
        edges = [k * size for k in range(walk_forward + 1)] + [bars]
        segments: list[Segment] = []
        for k in range(walk_forward):
            segments.append(Segment("is_", edges[k], edges[k + 1], fold=k))
            segments.append(Segment("oos_", edges[k + 1], edges[k + 2], fold=k))
        return tuple(segments)
    return ()


def score_prefix(segments: Sequence[Segment]) -> str:
    """The prefix of the metrics an objective ranks (in sample when the run is split)."""
    return "is_" if segments else ""
