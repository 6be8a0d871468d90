"""The argument checks the futures :class:`~levtrade.margin.account.Account` and the
:class:`~levtrade.margin.spot.SpotAccount` share where values enter: a rejected value raises a
one-line error naming the field and the value, before anything changes."""

from __future__ import annotations

import math
from enum import StrEnum
from numbers import Real
from typing import Literal, TypeVar

import numpy as np

from levtrade.errors import ConfigError, LevtradeError, OrderRejected

Liquidity = Literal["taker", "maker"]
_E = TypeVar("_E", bound=StrEnum)
_T = TypeVar("_T")
_INF = math.inf


def check_finite(value: float, field: str, error: type[LevtradeError]) -> None:
    """``value`` is a finite real number (not a bool)."""
    if type(value) is float and -_INF < value < _INF:
        return  # the common case, without the ABC check
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise error(f"{field}: must be a finite number, got {value!r}")


def parse_choice(cls: type[_E], value: _E | str, field: str) -> _E:
    """``value`` as a member of ``cls``; the error lists the members."""
    try:
        return cls(value)
    except ValueError:
        choices = ", ".join(repr(m.value) for m in cls)
        raise ConfigError(f"{field}: must be one of {choices}, got {value!r}") from None


def time_ms(value: int) -> int:
    """A time in int milliseconds (a NumPy integer too)."""
    if type(value) is int:
        return value
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ConfigError(f"time: must be int milliseconds, got {value!r}")
    return int(value)


def check_fill_terms(liquidity: Liquidity, fee_rate: float | None) -> None:
    """A fill's side of the book (``taker`` or ``maker``) and its fee rate, when given."""
    if liquidity not in ("taker", "maker"):
        raise ConfigError(f"liquidity: must be 'taker' or 'maker', got {liquidity!r}")
    if fee_rate is not None:
        check_finite(fee_rate, "fee_rate", ConfigError)


def raised(outcome: _T | OrderRejected) -> _T:
    """What a ``try_fill`` returned, its rejection raised (``fill`` is ``try_fill`` that
    raises)."""
    if isinstance(outcome, OrderRejected):
        raise outcome
    return outcome
