"""How variants are chosen: every combination (``grid``), ``trials`` drawn at random with a
seed (``random``), or proposed by optuna in ask/tell rounds (``optuna``: TPE by default, or
another of its samplers; the optional extra ``levtrade[optuna]``).

A search hands out rounds of variants and is told each round's rows before the next; grid and
random search have one round. Every choice is seeded, so a rerun (``--resume``) proposes the
same variants in the same order.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from levtrade.errors import ConfigError
from levtrade.optimize.evaluate import Row, Variant
from levtrade.optimize.objective import Constraint, Objective
from levtrade.optimize.space import Dimension, Space

SEARCHES = ("grid", "random", "optuna")
SAMPLERS = ("tpe", "random", "nsgaii", "qmc", "cmaes", "gp")


class Search(Protocol):
    total: int
    """Variants the search evaluates in all."""

    def rounds(self) -> Iterator[list[Variant]]:
        """Rounds of variants; the caller calls :meth:`tell` with a round's rows before
        asking for the next."""
        ...

    def tell(self, rows: Sequence[Row]) -> None: ...

    def describe(self) -> dict[str, Any]: ...


class GridSearch:
    """Every combination of the space's values."""

    def __init__(self, space: Space) -> None:
        for dimension in space.dimensions:
            dimension.values()  # a continuous range has no grid: refused here
        self.space = space
        self.total = space.grid_size()

    def rounds(self) -> Iterator[list[Variant]]:
        yield list(enumerate(self.space.grid()))

    def tell(self, rows: Sequence[Row]) -> None:
        return None

    def describe(self) -> dict[str, Any]:
        return {"search": "grid"}


def _draw(dimension: Dimension, rng: np.random.Generator) -> Any:
    if dimension.finite:
        values = dimension.values()
        return values[int(rng.integers(len(values)))]
    assert dimension.low is not None and dimension.high is not None
    return float(rng.uniform(dimension.low, dimension.high))


class RandomSearch:
    """``trials`` variants, each value drawn uniformly from its dimension (seeded)."""

    def __init__(self, space: Space, trials: int, seed: int) -> None:
        self.space = space
        self.total = trials
        self.seed = seed

    def rounds(self) -> Iterator[list[Variant]]:
        rng = np.random.default_rng(self.seed)
        yield [
            (k, {d.name: _draw(d, rng) for d in self.space.dimensions}) for k in range(self.total)
        ]

    def tell(self, rows: Sequence[Row]) -> None:
        return None

    def describe(self) -> dict[str, Any]:
        return {"search": "random", "trials": self.total, "seed": self.seed}


def _import_optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise ConfigError(
            "search: 'optuna' needs optuna; install it with pip install 'levtrade[optuna]'"
        ) from None
    return optuna


def check_sampler(name: str) -> None:
    """Refuse an unknown sampler, or one whose own dependency is missing, before any work."""
    if name not in SAMPLERS:
        raise ConfigError(f"sampler: one of {', '.join(SAMPLERS)}, got {name!r}")
    needs = {"qmc": "scipy", "cmaes": "cmaes", "gp": "torch"}.get(name)
    if needs is not None:
        try:
            __import__(needs)
        except ImportError:
            raise ConfigError(
                f"sampler: optuna's {name} sampler needs the package {needs!r} "
                f"(pip install {needs})"
            ) from None


class OptunaSearch:
    """optuna's ask/tell: ``batch`` trials asked per round, told their rows' score (the mean
    over walk-forward folds of the objective, in sample when the run is split) and each
    constraint's violation (``set_constraint``: TPE, NSGA-II and GP search the feasible
    region; a non-finite score fails the trial)."""

    def __init__(
        self,
        space: Space,
        trials: int,
        *,
        objective: Objective,
        constraints: Sequence[Constraint],
        prefix: str,
        sampler: str = "tpe",
        seed: int = 0,
        batch: int = 8,
    ) -> None:
        optuna = _import_optuna()
        check_sampler(sampler)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.optuna = optuna
        self.space = space
        self.total = trials
        self.batch = batch
        self.seed = seed
        self.sampler_name = sampler
        self.objective = objective
        self.constraints = tuple(constraints)
        self.prefix = prefix
        self.distributions = {d.name: self._distribution(d) for d in space.dimensions}
        self.study = optuna.create_study(
            direction=objective.optuna_direction, sampler=self._sampler()
        )
        self._asked: dict[int, Any] = {}

    def _sampler(self) -> Any:
        samplers = self.optuna.samplers
        name = self.sampler_name
        if name == "tpe":
            return samplers.TPESampler(seed=self.seed)
        if name == "nsgaii":
            return samplers.NSGAIISampler(seed=self.seed)
        if name == "random":
            return samplers.RandomSampler(seed=self.seed)
        if name == "qmc":
            return samplers.QMCSampler(seed=self.seed)
        if name == "cmaes":
            return samplers.CmaEsSampler(seed=self.seed)
        return samplers.GPSampler(seed=self.seed)

    def _distribution(self, dimension: Dimension) -> Any:
        dists = self.optuna.distributions
        if dimension.choices is not None:
            return dists.CategoricalDistribution(dimension.choices)
        assert dimension.low is not None and dimension.high is not None
        if dimension.integer:
            return dists.IntDistribution(
                int(dimension.low), int(dimension.high), step=int(dimension.step or 1)
            )
        if dimension.step is not None:
            high = dimension.values()[-1]
            return dists.FloatDistribution(dimension.low, high, step=dimension.step)
        return dists.FloatDistribution(dimension.low, dimension.high)

    def _value(self, dimension: Dimension, value: Any) -> Any:
        """Optuna's value as the dimension's own (a stepped float snapped to its grid)."""
        if dimension.choices is None and dimension.step is not None and not dimension.integer:
            values = dimension.values()
            return min(values, key=lambda v: abs(v - value))
        return value

    def rounds(self) -> Iterator[list[Variant]]:
        asked = 0
        while asked < self.total:
            size = min(self.batch, self.total - asked)
            variants: list[Variant] = []
            for _ in range(size):
                trial = self.study.ask(self.distributions)
                self._asked[trial.number] = trial
                params = {
                    d.name: self._value(d, trial.params[d.name]) for d in self.space.dimensions
                }
                variants.append((trial.number, params))
            asked += size
            yield variants

    def tell(self, rows: Sequence[Row]) -> None:
        by_variant: dict[int, list[Row]] = {}
        for row in rows:
            by_variant.setdefault(int(row["variant"]), []).append(row)
        for number in sorted(by_variant):
            trial = self._asked.pop(number)
            folds = by_variant[number]
            scores = [float(r[self.prefix + self.objective.metric]) for r in folds]
            for constraint in self.constraints:
                worst = max(constraint.violation(r[self.prefix + constraint.metric]) for r in folds)
                trial.set_constraint(str(constraint), min(worst, 1e300))
            score = float(np.mean(scores))
            if math.isfinite(score):
                self.study.tell(trial, score)
            else:
                self.study.tell(trial, state=self.optuna.trial.TrialState.FAIL)

    def describe(self) -> dict[str, Any]:
        return {
            "search": "optuna",
            "sampler": self.sampler_name,
            "trials": self.total,
            "seed": self.seed,
            "batch": self.batch,
        }


def make_search(
    name: str,
    space: Space,
    *,
    trials: int | None,
    seed: int,
    objective: Objective,
    constraints: Sequence[Constraint],
    prefix: str,
    sampler: str,
    batch: int,
) -> Search:
    """The search ``name`` over ``space`` (checked: a count of trials where one is needed)."""
    if name not in SEARCHES:
        raise ConfigError(f"search: one of {', '.join(SEARCHES)}, got {name!r}")
    if name == "grid":
        if trials is not None:
            raise ConfigError(
                "trials: a grid runs every combination; trials are for random and optuna"
            )
        return GridSearch(space)
    if trials is None or isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ConfigError(f"trials: {name} search needs a number of trials ≥ 1, got {trials!r}")
    if name == "random":
        return RandomSearch(space, trials, seed)
    return OptunaSearch(
        space,
        trials,
        objective=objective,
        constraints=constraints,
        prefix=prefix,
        sampler=sampler,
        seed=seed,
        batch=batch,
    )


def params_equal(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two variants' parameters are the same values (a stored part matches)."""
    if a.keys() != b.keys():
        return False
    return all(_same(a[k], b[k]) for k in a)


def _same(x: Any, y: Any) -> bool:
    if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
        return True
    return bool(x == y)
