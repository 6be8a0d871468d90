"""``run``: the single entry point that dispatches a strategy to the right engine."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from levtrade.backtest.engine import run_signals, run_strategy
from levtrade.backtest.market import FineData
from levtrade.backtest.progress import Progress
from levtrade.backtest.results import Analyzer, BacktestResult, RunFigures, run_analyzers
from levtrade.backtest.scoped import run_scoped
from levtrade.backtest.spot_engine import run_spot_signals, run_spot_strategy
from levtrade.data import MarketData, Portfolio
from levtrade.errors import ConfigError
from levtrade.spec import BacktestConfig, RunSpec, resolve
from levtrade.strategy.base import Strategy
from levtrade.strategy.signals import Signals, SymbolSignals

ENGINES = ("auto", "event", "compiled")
"""``auto`` (the default): signal strategies on the compiled kernel when it can run them
(linear contracts, no finer-timeframe path), everything else on the event engine; spot and
margin runs — signals and ``Strategy`` classes alike — on the event engine's spot counterpart
(:mod:`levtrade.backtest.spot_engine`), and runs whose collateral is pooled by an
``account_type`` on one event engine per pool (:mod:`levtrade.backtest.scoped`)."""


def run(
    strategy: type[Strategy] | Signals | Any,
    data: MarketData | Portfolio,
    config: BacktestConfig | RunSpec | None = None,
    *,
    engine: str = "auto",
    analyzers: Sequence[Analyzer] = (),
    params: Mapping[str, Any] | None = None,
    fine: FineData | None = None,
    warmup: int = 0,
    progress: Progress | None = None,
) -> BacktestResult:
    """Backtest ``strategy`` on ``data``: the single entry point.

    ``strategy`` is a :class:`Strategy` subclass (event-driven; ``params`` override its
    params), a :class:`Signals` table, or an object with ``to_signals(data, spec)`` (a
    SignalStrategy). ``engine``: ``"auto"`` runs signals on the compiled kernel and
    ``Strategy`` subclasses on the event engine; ``"event"`` runs signals on the event engine
    too (the reference the kernel is tested against); ``"compiled"`` insists on the kernel.
    ``fine`` is finer-timeframe data whose sub-bars define the intrabar path (event engine).
    ``warmup``: the first bars only warm up a signal strategy's indicators (FreqTrade's
    startup candles before a timerange): its signals are computed over them, the run starts
    after them. The settings are resolved against the venue once (:class:`RunSpec`).
    """
    plan = _Plan.make(strategy, data, config, engine, params, fine, warmup, progress)
    if plan.signals is None:
        return plan.run_strategy(analyzers)
    result = plan.run_signals()
    run_analyzers(result, analyzers)
    return result


def run_figures(
    strategy: type[Strategy] | Signals | Any,
    data: MarketData | Portfolio,
    config: BacktestConfig | RunSpec | None = None,
    *,
    engine: str = "auto",
    params: Mapping[str, Any] | None = None,
    warmup: int = 0,
) -> RunFigures:
    """The figures a sweep ranks a run by (:class:`RunFigures`: the metrics and the rejected
    orders by reason) of :func:`run` with the same arguments: a run on the compiled kernel
    builds no table (the figures are read from the kernel's arrays), any other run is run in
    full and its figures read from the result."""
    plan = _Plan.make(strategy, data, config, engine, params, None, warmup, None)
    if plan.signals is None:
        return RunFigures.of(plan.run_strategy(()))
    if plan.compiled:
        from levtrade.backtest import kernel  # as in _Plan.run_signals

        plan.compile_kernel()
        return kernel.run_figures(plan.data, plan.signals, plan.spec)
    return RunFigures.of(plan.run_signals())


@dataclass
class _Plan:
    """A checked run: its settings resolved, a signal strategy's table computed (and the
    warm-up bars trimmed), and which engine runs it."""

    strategy: Any
    signals: Signals | None
    """None for a :class:`Strategy` subclass (``strategy``)."""
    data: MarketData | Portfolio
    spec: RunSpec
    engine: str
    params: Mapping[str, Any] | None
    fine: FineData | None
    progress: Progress | None
    sink: Progress

    @classmethod
    def make(
        cls,
        strategy: type[Strategy] | Signals | Any,
        data: MarketData | Portfolio,
        config: BacktestConfig | RunSpec | None,
        engine: str,
        params: Mapping[str, Any] | None,
        fine: FineData | None,
        warmup: int,
        progress: Progress | None,
    ) -> _Plan:
        if engine not in ENGINES:
            raise ConfigError(f"engine: must be one of {', '.join(ENGINES)}, got {engine!r}")
        if not isinstance(config, BacktestConfig | RunSpec | None):
            raise ConfigError(f"config: expected a BacktestConfig, got {type(config).__name__}")
        if not (isinstance(warmup, int) and 0 <= warmup < len(data)):
            raise ConfigError(f"warmup: a number of bars in [0, {len(data)}), got {warmup!r}")
        sink = progress or _Silent()
        spec = resolve(BacktestConfig() if config is None else config, data.symbols)
        if spec.config.trading_mode != "futures":
            _check_spot_run(strategy, spec, engine, fine)
        if spec.config.account_type is not None:
            _check_scoped_run(spec, engine, fine)
        plan = cls(strategy, None, data, spec, engine, params, fine, progress, sink)
        if isinstance(strategy, type) and issubclass(strategy, Strategy):
            if engine == "compiled":
                raise ConfigError(
                    f"engine: {strategy.__name__} is an event-driven strategy; it runs on the "
                    f"'event' engine, got {engine!r}"
                )
            if warmup:
                raise ConfigError(
                    f"warmup: {strategy.__name__} warms up in prenext(), got {warmup}"
                )
            return plan
        if params is not None:
            raise ConfigError("params: only Strategy subclasses take params")
        source: Any = strategy
        signals = source if isinstance(source, Signals) else None
        if signals is None and callable(getattr(source, "to_signals", None)):
            sink.phase("computing signals")
            signals = source.to_signals(data, spec)
        if not isinstance(signals, Signals):
            raise ConfigError(
                f"strategy: expected a Strategy subclass, a Signals table or an object with "
                f"to_signals(data, spec), got {strategy!r}"
            )
        if warmup:
            signals = _trim_signals(signals, slice(warmup, None))
            plan.data = trim_warmup(data, warmup)
        if engine == "compiled" and fine is not None:
            raise ConfigError("fine: the compiled kernel walks each bar's own path")
        plan.signals = signals
        return plan

    @property
    def spot(self) -> bool:
        return self.spec.config.trading_mode != "futures"

    @property
    def scoped(self) -> bool:
        return self.spec.config.account_type is not None

    @property
    def compiled(self) -> bool:
        """Whether the signal table runs on the compiled kernel."""
        if self.scoped or self.spot:
            return False
        auto = self.engine == "auto" and compiled_runs(self.spec, self.fine)
        return self.engine == "compiled" or auto

    def compile_kernel(self) -> None:
        """Load the kernel's build, saying so when that compiles it."""
        from levtrade.backtest import kernel_aot  # its module loads the compiled build

        if kernel_aot.will_compile():
            self.sink.phase("compiling the kernel (once, ~20 s)")
            kernel_aot.simulate_function()

    def run_strategy(self, analyzers: Sequence[Analyzer]) -> BacktestResult:
        """Run the :class:`Strategy` subclass (its analyzers run by its engine)."""
        strategy, data, spec, progress = self.strategy, self.data, self.spec, self.progress
        self.sink.phase("simulating", total=len(data))
        if self.scoped:
            return run_scoped(
                strategy, data, spec, params=self.params, analyzers=analyzers, progress=progress
            )
        if self.spot:
            return run_spot_strategy(
                strategy, data, spec, params=self.params, analyzers=analyzers, progress=progress
            )
        return run_strategy(
            strategy,
            data,
            spec,
            params=self.params,
            fine=self.fine,
            analyzers=analyzers,
            progress=progress,
        )

    def run_signals(self) -> BacktestResult:
        """Run the signal table on its engine."""
        signals, data, spec, progress = self.signals, self.data, self.spec, self.progress
        assert signals is not None
        if self.scoped:
            self.sink.phase("simulating", total=len(data))
            return run_scoped(signals, data, spec, progress=progress)
        if self.spot:
            self.sink.phase("simulating", total=len(data))
            return run_spot_signals(data, signals, spec, progress=progress)
        if self.compiled:
            # imported here: the kernel's module loads its compiled build, which only runs need
            from levtrade.backtest import kernel

            self.compile_kernel()
            self.sink.phase("simulating (compiled kernel)")
            return kernel.run_signals(data, signals, spec)
        self.sink.phase("simulating", total=len(data))
        return run_signals(data, signals, spec, fine=self.fine, progress=progress)


def _check_spot_run(strategy: Any, spec: RunSpec, engine: str, fine: FineData | None) -> None:
    """What a spot or margin run takes: the event engine, each bar's own path, fills whole."""
    mode = spec.config.trading_mode
    if engine == "compiled":
        raise ConfigError(
            f"engine: the compiled kernel trades futures; trading_mode {mode!r} runs on the "
            "'event' engine (or 'auto')"
        )
    if fine is not None:
        raise ConfigError(f"fine: trading_mode {mode!r} walks each bar's own path")
    config = spec.config
    if config.participation is not None or config.volume_slippage_bps:
        raise ConfigError(
            f"participation: trading_mode {mode!r} fills orders whole at the fixed slippage "
            f"(participation {config.participation!r}, volume_slippage_bps "
            f"{config.volume_slippage_bps!r})"
        )


def _check_scoped_run(spec: RunSpec, engine: str, fine: FineData | None) -> None:
    """A run whose collateral is pooled by account type runs on the event engine."""
    kind = spec.config.account_type
    if engine == "compiled":
        raise ConfigError(
            f"engine: the compiled kernel holds one account; an account_type {kind!r} run "
            "pools collateral per DEX or token and runs on the 'event' engine (or 'auto')"
        )
    if fine is not None:
        raise ConfigError(f"fine: an account_type {kind!r} run walks each bar's own path")


def compiled_runs(spec: RunSpec, fine: FineData | None) -> bool:
    """Whether ``engine="auto"`` runs a signal table on the compiled kernel: it trades linear
    contracts and walks each bar's own path (a finer timeframe runs on the event engine)."""
    return fine is None and not any(inst.is_inverse for inst in spec.instruments)


def trim_warmup(data: MarketData | Portfolio, bars: int) -> MarketData | Portfolio:
    """``data`` from bar ``bars`` on (what a run with ``warmup=bars`` trades)."""
    start = int(data.timestamps[bars])
    if isinstance(data, MarketData):
        return data.between(start, None)
    kept = [m.between(start, None) for m in data.markets]
    return Portfolio.from_markets([m for m in kept if len(m)], axis=data.axis)


def _trim_signals(signals: Signals, keep: slice) -> Signals:
    by_symbol = {
        s: SymbolSignals(**{f.name: getattr(v, f.name)[keep] for f in dataclasses.fields(v)})
        for s, v in signals.by_symbol.items()
    }
    return Signals(by_symbol, signals.rules)


class _Silent:
    """Progress that shows nothing."""

    def phase(self, name: str, total: int | None = None) -> None:
        return None

    def advance(self, done: int) -> None:
        return None
