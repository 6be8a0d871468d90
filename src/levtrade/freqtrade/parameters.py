"""FreqTrade's hyperopt parameters: a strategy declares them as class attributes and reads
``.value``, which is the default (or the value the strategy's ``buy_params``/``sell_params``,
or the run's ``params``, give it). Their ranges are the search space a parameter sweep uses."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from levtrade.errors import ConfigError

__all__ = [
    "BaseParameter",
    "BooleanParameter",
    "CategoricalParameter",
    "DecimalParameter",
    "IntParameter",
    "RealParameter",
]


class BaseParameter:
    """A tunable value: ``value`` (the default until set), the ``space`` it belongs to
    (``buy``, ``sell``, ``protection`` or a name of the strategy's), and whether a sweep
    varies it (``optimize``) and the strategy's parameter file may set it (``load``)."""

    category: str | None
    name: str | None

    def __init__(
        self,
        *,
        default: Any,
        space: str | None = None,
        optimize: bool = True,
        load: bool = True,
        **kwargs: Any,
    ) -> None:
        self.value: Any = default
        self.default = default
        self.space = space
        self.category = space
        self.name = None
        self.optimize = optimize
        self.load = load
        self.extra = kwargs

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.name = name
        if self.category is None:
            # FreqTrade's rule: a parameter named buy_*/sell_*/protection_* is in that space
            prefix = name.split("_", 1)[0]
            if prefix in ("buy", "sell", "protection", "enter", "exit"):
                self.category = {"enter": "buy", "exit": "sell"}.get(prefix, prefix)

    def set_value(self, value: Any) -> None:
        """Set the value a run uses (checked against the declared range)."""
        self.value = value

    def search_space(self) -> list[Any] | tuple[float, float]:
        """The values a sweep may try: a list, or (low, high) for a continuous range."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.value!r})"


def _range(low: Any, high: Any, name: str) -> tuple[Any, Any]:
    if isinstance(low, Sequence) and not isinstance(low, str):
        if high is not None:
            raise ConfigError(f"{name}: give low and high, or one [low, high] pair, not both")
        if len(low) != 2:
            raise ConfigError(f"{name}: the range must be [low, high], got {low!r}")
        low, high = low
    if high is None or low > high:
        raise ConfigError(f"{name}: needs low ≤ high, got {low!r} and {high!r}")
    return low, high


class IntParameter(BaseParameter):
    """A whole number in [low, high]."""

    def __init__(
        self,
        low: int | Sequence[int],
        high: int | None = None,
        *,
        default: int,
        space: str | None = None,
        optimize: bool = True,
        load: bool = True,
        **kwargs: Any,
    ) -> None:
        self.low, self.high = _range(low, high, "IntParameter")
        super().__init__(default=default, space=space, optimize=optimize, load=load, **kwargs)

    def set_value(self, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            raise ConfigError(f"{self.name}: a whole number, got {value!r}")
        self.value = int(value)

    @property
    def range(self) -> range:
        """Every value of the range (FreqTrade's ``.range``)."""
        return range(int(self.low), int(self.high) + 1)

    def search_space(self) -> list[Any]:
        return list(self.range)


class RealParameter(BaseParameter):
    """A real number in [low, high]."""

    def __init__(
        self,
        low: float | Sequence[float],
        high: float | None = None,
        *,
        default: float,
        space: str | None = None,
        optimize: bool = True,
        load: bool = True,
        **kwargs: Any,
    ) -> None:
        self.low, self.high = _range(low, high, type(self).__name__)
        super().__init__(default=default, space=space, optimize=optimize, load=load, **kwargs)

    def set_value(self, value: Any) -> None:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ConfigError(f"{self.name}: a number, got {value!r}")
        self.value = float(value)

    def search_space(self) -> tuple[float, float]:
        return (float(self.low), float(self.high))


class DecimalParameter(RealParameter):
    """A number in [low, high] with ``decimals`` decimal places (default 3)."""

    def __init__(
        self,
        low: float | Sequence[float],
        high: float | None = None,
        *,
        default: float,
        decimals: int = 3,
        space: str | None = None,
        optimize: bool = True,
        load: bool = True,
        **kwargs: Any,
    ) -> None:
        self.decimals = decimals
        super().__init__(
            low, high, default=round(default, decimals), space=space, optimize=optimize,
            load=load, **kwargs,
        )  # fmt: skip

    def set_value(self, value: Any) -> None:
        super().set_value(value)
        self.value = round(self.value, self.decimals)

    @property
    def range(self) -> list[float]:
        """Every value of the range at the parameter's precision."""
        step = 10.0**-self.decimals
        count = round((self.high - self.low) / step)
        return [round(self.low + k * step, self.decimals) for k in range(count + 1)]

    def search_space(self) -> list[Any]:  # type: ignore[override]
        return self.range


class CategoricalParameter(BaseParameter):
    """One of ``categories``."""

    def __init__(
        self,
        categories: Sequence[Any],
        *,
        default: Any = None,
        space: str | None = None,
        optimize: bool = True,
        load: bool = True,
        **kwargs: Any,
    ) -> None:
        self.categories = list(categories)
        if len(self.categories) < 2:
            raise ConfigError(
                f"CategoricalParameter: needs at least 2 categories, got {self.categories!r}"
            )
        super().__init__(
            default=self.categories[0] if default is None else default,
            space=space,
            optimize=optimize,
            load=load,
            **kwargs,
        )

    def set_value(self, value: Any) -> None:
        if value not in self.categories:
            raise ConfigError(f"{self.name}: one of {self.categories!r}, got {value!r}")
        self.value = value

    @property
    def range(self) -> list[Any]:
        return list(self.categories)

    def search_space(self) -> list[Any]:
        return self.range


class BooleanParameter(CategoricalParameter):
    """True or False."""

    def __init__(
        self,
        *,
        default: bool = True,
        space: str | None = None,
        optimize: bool = True,
        load: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            [True, False], default=default, space=space, optimize=optimize, load=load, **kwargs
        )
