"""Input checks shared by the risk toolkit: each failure names the field and the value."""

from __future__ import annotations

import math
from numbers import Real
from typing import Literal

from levtrade.errors import ConfigError

Side = Literal["long", "short"]


def number(value: object, field: str) -> float:
    """``value`` as a finite float, else :class:`ConfigError` naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(float(value)):
        raise ConfigError(f"{field}: must be a finite number, got {value!r}")
    return float(value)


def positive(value: object, field: str) -> float:
    """A finite number > 0."""
    result = number(value, field)
    if result <= 0:
        raise ConfigError(f"{field}: must be > 0, got {value!r}")
    return result


def non_negative(value: object, field: str) -> float:
    """A finite number ≥ 0."""
    result = number(value, field)
    if result < 0:
        raise ConfigError(f"{field}: must be ≥ 0, got {value!r}")
    return result


def fraction(value: object, field: str, *, allow_zero: bool = False) -> float:
    """A number in (0, 1] (or [0, 1] with ``allow_zero``)."""
    result = number(value, field)
    low_ok = result >= 0 if allow_zero else result > 0
    if not (low_ok and result <= 1):
        bound = "[0, 1]" if allow_zero else "(0, 1]"
        raise ConfigError(f"{field}: must be in {bound}, got {value!r}")
    return result


def leverage(value: object, field: str = "leverage") -> float:
    """A leverage: finite and ≥ 1."""
    result = number(value, field)
    if result < 1:
        raise ConfigError(f"{field}: must be ≥ 1, got {value!r}")
    return result


def fee_rate(value: object, field: str) -> float:
    """A fee rate, as :class:`~levtrade.model.instrument.Instrument` accepts them (−1 % to 10 %)."""
    result = number(value, field)
    if not -0.01 < result < 0.1:
        raise ConfigError(f"{field}: must be a fee rate in (-0.01, 0.1), got {value!r}")
    return result


def side(value: object, field: str = "side") -> Side:
    """``"long"`` or ``"short"``."""
    if value == "long":
        return "long"
    if value == "short":
        return "short"
    raise ConfigError(f"{field}: must be 'long' or 'short', got {value!r}")


def sign(value: Side) -> float:
    """+1 for long, −1 for short."""
    return 1.0 if value == "long" else -1.0
