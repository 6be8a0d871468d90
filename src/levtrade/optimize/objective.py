"""What a sweep ranks by and what it requires: the objective (a metric and its direction) and
constraints such as ``max_drawdown<0.3`` or ``liquidations==0``.

The metrics are a backtest result's own (:func:`levtrade.backtest.metrics.compute_metrics`),
plus ``rejected_orders``; their names are read from that function, so a metric added there is
one a sweep can rank by.
"""

from __future__ import annotations

import functools
import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from levtrade.backtest.metrics import compute_metrics
from levtrade.errors import ConfigError

EXTRA_METRICS = ("rejected_orders",)
"""Row figures beside the result's metrics."""

LOWER_IS_BETTER = frozenset(
    {
        "max_drawdown",
        "liquidations",
        "fees",
        "funding_paid",
        "liquidation_fees",
        "insurance_fund",
        "rejected_orders",
    }
)
"""Metrics an objective minimises unless told otherwise."""


@functools.cache
def metric_names() -> tuple[str, ...]:
    """The names of a row's metrics: those :func:`compute_metrics` returns, then
    :data:`EXTRA_METRICS`."""
    hour = 3_600_000
    times = np.array([0, hour], dtype=np.int64)
    index = pd.DatetimeIndex(pd.to_datetime(times, unit="ms", utc=True), name="date")
    series = pd.DataFrame({"time": times, "equity": np.array([1.0, 1.0])}, index=index)
    trades = pd.DataFrame({"pnl": np.array([], dtype=np.float64), "exit_reason": []})
    ledger = pd.DataFrame(columns=["kind", "debit", "credit", "amount"])
    metrics = compute_metrics(series, trades, ledger, initial=1.0, timeframe_ms=hour)
    return (*(str(name) for name in metrics.index), *EXTRA_METRICS)


def check_metric(name: str, what: str) -> None:
    """Refuse a name that is no metric, naming it and the metrics there are."""
    if name not in metric_names():
        raise ConfigError(f"{what}: unknown metric {name!r}; metrics: {', '.join(metric_names())}")


@dataclass(frozen=True)
class Objective:
    """A metric to maximise or minimise."""

    metric: str = "sharpe"
    direction: str = "auto"

    def __post_init__(self) -> None:
        check_metric(self.metric, "objective")
        if self.direction not in ("auto", "maximize", "minimize"):
            raise ConfigError(f"direction: maximize, minimize or auto, got {self.direction!r}")

    @property
    def maximize(self) -> bool:
        if self.direction == "auto":
            return self.metric not in LOWER_IS_BETTER
        return self.direction == "maximize"

    @property
    def optuna_direction(self) -> str:
        return "maximize" if self.maximize else "minimize"


_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}
_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|==|!=|<|>)\s*(\S+)\s*$")


@dataclass(frozen=True)
class Constraint:
    """``metric OP bound``; a row whose metric is NaN does not meet it."""

    metric: str
    op: str
    bound: float

    @classmethod
    def parse(cls, text: str) -> Constraint:
        match = _CONSTRAINT.match(text)
        if match is None:
            raise ConfigError(
                f"constraint: expected METRIC OP NUMBER such as max_drawdown<0.3, got {text!r}"
            )
        metric, op, bound = match.groups()
        check_metric(metric, f"constraint {text!r}")
        try:
            value = float(bound)
        except ValueError:
            raise ConfigError(f"constraint {text!r}: {bound!r} is not a number") from None
        return cls(metric, op, value)

    def holds(self, value: Any) -> bool:
        number = float(value)
        if math.isnan(number):
            return False
        return bool(_OPERATORS[self.op](number, self.bound))

    def violation(self, value: Any) -> float:
        """How far ``value`` is from meeting the bound (≤ 0 when it holds; optuna's
        constraint value)."""
        number = float(value)
        if math.isnan(number):
            return math.inf
        if self.holds(number):
            return 0.0
        return abs(number - self.bound) or 1.0

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.bound:g}"


def constraints_from(values: Sequence[str | Constraint]) -> tuple[Constraint, ...]:
    return tuple(v if isinstance(v, Constraint) else Constraint.parse(v) for v in values)


def feasible(row: Mapping[str, Any], constraints: Sequence[Constraint], prefix: str = "") -> bool:
    """Whether ``row`` (its ``prefix`` metrics) meets every constraint."""
    return all(c.holds(row[prefix + c.metric]) for c in constraints)
