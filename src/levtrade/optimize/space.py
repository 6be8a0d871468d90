"""The parameter space of a sweep: what varies, over which values, and where each value goes.

A parameter is either a **run setting** (:data:`SETTINGS`: leverage, margin mode, stake,
stop-loss, ROI — the same names ``levtrade backtest --param`` takes) or a **strategy
parameter** (an attribute of the strategy class, set on each variant's own instance, as the
run configuration's ``[params]`` are). A strategy that declares FreqTrade-style hyperopt
parameters (an object with ``search_space()``) lends its declared range to a parameter given
without values.

Values come as Python objects or as the command line's text: ``5:50:5`` (a stepped range, the
end included when it falls on the step), ``0.01:0.1`` (a continuous range: random and optuna
search only), ``1,2,3`` (a list), ``isolated`` (one value). A value is read as JSON where it
parses (``5`` is an int, ``0.5`` a float, ``true`` a bool), else kept as text — the same
reading as ``levtrade backtest --param``, so a row reruns with the same types.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from levtrade.errors import ConfigError, LevtradeError
from levtrade.spec import BacktestConfig


@dataclass(frozen=True)
class Setting:
    """A run setting a sweep may vary: the ``target`` it sets (a :class:`BacktestConfig`
    field, or a FreqTrade attribute of the strategy) under the key ``key``."""

    target: str  # "config" | "strategy"
    key: str

    def value(self, value: Any) -> Any:
        """The value as the target takes it (``roi`` = r → ``minimal_roi`` = {"0": r})."""
        if self.key == "minimal_roi":
            return {"0": value}
        return value


SETTINGS: dict[str, Setting] = {
    "leverage": Setting("config", "leverage"),
    "margin_mode": Setting("config", "margin_mode"),
    "stake_amount": Setting("config", "stake_amount"),
    "max_open_trades": Setting("config", "max_open_trades"),
    "stoploss": Setting("strategy", "stoploss"),
    "roi": Setting("strategy", "minimal_roi"),
    "trailing_stop_positive": Setting("strategy", "trailing_stop_positive"),
}
"""Run settings by parameter name. ``roi`` is one ROI ratio from minute 0 (FreqTrade's
``minimal_roi = {"0": roi}``)."""


def read_value(text: str) -> Any:
    """A command-line value: JSON where it parses (numbers, booleans, null), else the text."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):  # RecursionError: deeply nested text
        return text.strip()


@dataclass(frozen=True)
class Dimension:
    """One parameter's values: a finite list (``choices``), or a range ``[low, high]`` with a
    ``step`` (finite) or without one (continuous; integers step by 1)."""

    name: str
    choices: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    step: float | None = None
    integer: bool = False

    def __post_init__(self) -> None:
        if self.choices is not None:
            if not self.choices:
                raise ConfigError(f"param {self.name}: the list of values is empty")
            return
        if self.low is None or self.high is None:
            raise ConfigError(f"param {self.name}: a range needs a low and a high end")
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ConfigError(f"param {self.name}: the range must be finite")
        if self.low > self.high:
            raise ConfigError(
                f"param {self.name}: the range {self.low:g}:{self.high:g} is empty (low > high)"
            )
        if self.step is not None and not (math.isfinite(self.step) and self.step > 0):
            raise ConfigError(f"param {self.name}: the step must be > 0, got {self.step!r}")

    @property
    def finite(self) -> bool:
        """Whether the values can be listed (a grid can run over them)."""
        return self.choices is not None or self.step is not None or self.integer

    def values(self) -> tuple[Any, ...]:
        """Every value, in order (a continuous range has none: see :attr:`finite`)."""
        if self.choices is not None:
            return self.choices
        assert self.low is not None and self.high is not None
        step = self.step if self.step is not None else (1 if self.integer else None)
        if step is None:
            raise ConfigError(
                f"param {self.name}: {self.low:g}:{self.high:g} is continuous; give a step "
                f"({self.low:g}:{self.high:g}:STEP) for a grid, or use random or optuna search"
            )
        count = math.floor((self.high - self.low) / step + 1e-9) + 1
        if self.integer:
            return tuple(round(self.low + k * step) for k in range(count))
        return tuple(round(self.low + k * step, 12) for k in range(count))

    def describe(self) -> dict[str, Any]:
        """The dimension as JSON (the sweep's fingerprint and the table's metadata)."""
        if self.choices is not None:
            return {"name": self.name, "choices": list(self.choices)}
        return {
            "name": self.name,
            "low": self.low,
            "high": self.high,
            "step": self.step,
            "integer": self.integer,
        }


def _number(text: str, name: str) -> float | int:
    value = read_value(text)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"param {name}: {text!r} in a range is not a number")
    return value


def parse_dimension(spec: str) -> tuple[str, Dimension | None]:
    """``name=values`` from the command line (see the module docstring); ``name`` alone is
    the strategy's declared range, resolved by :meth:`Space.resolve` (None here)."""
    name, sep, text = spec.partition("=")
    name = name.strip()
    if not name:
        raise ConfigError(f"param: expected name=values, got {spec!r}")
    if not sep:
        return name, None
    text = text.strip()
    if not text:
        raise ConfigError(f"param {name}: no values after '=' (an empty range)")
    if ":" in text and not text.startswith(("{", "[", '"')):
        parts = text.split(":")
        if len(parts) not in (2, 3):
            raise ConfigError(f"param {name}: a range is LOW:HIGH or LOW:HIGH:STEP, got {text!r}")
        numbers = [_number(p, name) for p in parts]
        integer = all(isinstance(n, int) for n in numbers)
        low, high = float(numbers[0]), float(numbers[1])
        step = float(numbers[2]) if len(numbers) == 3 else None
        return name, Dimension(name, low=low, high=high, step=step, integer=integer)
    values = tuple(read_value(v) for v in text.split(",") if v.strip())
    if not values:
        raise ConfigError(f"param {name}: no values in {text!r} (an empty range)")
    return name, Dimension(name, choices=tuple(dict.fromkeys(values)))


def dimension_from(name: str, value: Any) -> Dimension:
    """A dimension from a Python value: a :class:`Dimension`, the command line's text, a
    ``range``, or a sequence of values (one value alone is a one-value dimension)."""
    if isinstance(value, Dimension):
        if value.name != name:
            raise ConfigError(f"param {name}: its Dimension is named {value.name!r}")
        return value
    if isinstance(value, str):
        _, dimension = parse_dimension(f"{name}={value}")
        assert dimension is not None
        return dimension
    if isinstance(value, range):
        if len(value) == 0:
            raise ConfigError(f"param {name}: {value!r} is empty")
        return Dimension(name, choices=tuple(value))
    if isinstance(value, Sequence):
        return Dimension(name, choices=tuple(dict.fromkeys(value)))
    return Dimension(name, choices=(value,))


def declared_dimension(name: str, parameter: Any) -> Dimension:
    """The range a strategy declares for ``name``: an object with ``search_space()`` giving a
    list of values or a ``(low, high)`` pair (FreqTrade's hyperopt parameters)."""
    space = parameter.search_space()
    if isinstance(space, tuple) and len(space) == 2:
        low, high = space
        return Dimension(name, low=float(low), high=float(high))
    return Dimension(name, choices=tuple(space))


def strategy_attributes(strategy: type[Any]) -> dict[str, Any]:
    """The strategy class's settable attributes (public, not methods): the parameters a sweep
    may vary; an event-driven strategy's ``params`` mapping is its parameters."""
    params = getattr(strategy, "params", None)
    if isinstance(params, Mapping):
        return dict(params)
    found: dict[str, Any] = {}
    for klass in reversed(strategy.__mro__):
        for key, value in vars(klass).items():
            if key.startswith("_"):
                continue
            method = callable(value) or isinstance(value, property | classmethod | staticmethod)
            if _declared(value) or not method:
                found[key] = value
    return found


@dataclass(frozen=True)
class Space:
    """The dimensions of a sweep, in the order given (the table's parameter columns)."""

    dimensions: tuple[Dimension, ...]

    @classmethod
    def build(
        cls,
        space: Mapping[str, Any] | Sequence[str] | Space,
        strategy: type[Any],
    ) -> Space:
        """Check ``space`` against ``strategy`` (a parameter must be a run setting or one of
        the strategy's attributes) and resolve names given without values to the strategy's
        declared ranges."""
        if isinstance(space, Space):
            items: list[tuple[str, Any]] = [(d.name, d) for d in space.dimensions]
        elif isinstance(space, Mapping):
            items = list(space.items())
        else:
            items = [parse_dimension(spec) for spec in space]
        if not items:
            raise ConfigError("param: a sweep needs at least one parameter (--param name=values)")
        attributes = strategy_attributes(strategy)
        seen: set[str] = set()
        dims: list[Dimension] = []
        for name, value in items:
            if name in seen:
                raise ConfigError(f"param {name}: given twice")
            seen.add(name)
            if name not in SETTINGS and name not in attributes:
                own = ", ".join(k for k in attributes if k not in SETTINGS) or "none"
                raise ConfigError(
                    f"param {name}: unknown parameter, neither a run setting "
                    f"({', '.join(SETTINGS)}) nor a parameter of {strategy.__name__} ({own})"
                )
            if value is None:
                declared = attributes.get(name)
                if not _declared(declared):
                    raise ConfigError(
                        f"param {name}: no values given and {strategy.__name__} declares no "
                        "range for it; give name=values"
                    )
                dims.append(declared_dimension(name, declared))
            else:
                dims.append(dimension_from(name, value))
        built = cls(tuple(dims))
        built.check_settings()
        return built

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.dimensions)

    def __getitem__(self, name: str) -> Dimension:
        for dimension in self.dimensions:
            if dimension.name == name:
                return dimension
        raise KeyError(name)

    def check_settings(self) -> None:
        """Refuse, naming it, any listed value a run setting cannot take (before any work)."""
        for dimension in self.dimensions:
            setting = SETTINGS.get(dimension.name)
            if setting is None or not dimension.finite:
                continue
            for value in dimension.values():
                check_setting(dimension.name, value)

    def grid_size(self) -> int:
        """The number of variants of the full grid."""
        return math.prod(len(d.values()) for d in self.dimensions)

    def grid(self) -> Iterator[dict[str, Any]]:
        """Every combination, strategy parameters varying slowest (variants sharing a signal
        table sit together, so a worker computes each table once); columns keep the given
        order."""
        order = sorted(self.dimensions, key=lambda d: d.name in SETTINGS)
        for combo in itertools.product(*(d.values() for d in order)):
            values = dict(zip((d.name for d in order), combo, strict=True))
            yield {name: values[name] for name in self.names}

    def describe(self) -> list[dict[str, Any]]:
        return [d.describe() for d in self.dimensions]


def _declared(value: Any) -> bool:
    return callable(getattr(value, "search_space", None))


def check_setting(name: str, value: Any) -> None:
    """A run setting's value, checked as the run will take it (one line naming both)."""
    setting = SETTINGS[name]
    if setting.target == "config":
        try:
            BacktestConfig(**{setting.key: value})
        except LevtradeError as exc:
            raise ConfigError(f"param {name}: {value!r} refused ({exc})") from None
        return
    if name == "stoploss":
        if isinstance(value, bool) or not isinstance(value, int | float) or not -1 <= value < 0:
            raise ConfigError(f"param stoploss: a ratio in [-1, 0) such as -0.1, got {value!r}")
    elif isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"param {name}: a number, got {value!r}")


def split_params(
    params: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(config fields, FreqTrade strategy attributes, strategy parameters) of a variant: the
    run settings by their target key, the rest as given."""
    config: dict[str, Any] = {}
    rules: dict[str, Any] = {}
    strategy: dict[str, Any] = {}
    for name, value in params.items():
        setting = SETTINGS.get(name)
        if setting is None:
            strategy[name] = value
        elif setting.target == "config":
            config[setting.key] = setting.value(value)
        else:
            rules[setting.key] = setting.value(value)
    return config, rules, strategy
