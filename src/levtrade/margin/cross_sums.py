"""Exact sums over an account's cross positions, so that an account with thousands of them is
evaluated in time linear in its positions.

A cross position's liquidation price holds the *other* symbols' uPnL and maintenance margin
constant: summing them anew for each position is quadratic. :class:`ExactSum` keeps the
Shewchuk partials of the whole (non-overlapping floats whose exact sum is the exact sum of the
values, the representation ``math.fsum`` works on), so "the whole minus one symbol's part" is
``math.fsum`` over the partials and the part negated: the correctly rounded exact sum of the
rest — bit for bit what ``math.fsum`` over the rest gives, in time proportional to the part.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

_P = TypeVar("_P")


def partials(values: Sequence[float]) -> list[float]:
    """Non-overlapping floats whose exact sum is the exact sum of ``values`` (Shewchuk's
    algorithm, as ``math.fsum`` runs it); the values must be finite."""
    parts: list[float] = []
    for value in values:
        x = value
        i = 0
        for y in parts:
            if abs(x) < abs(y):
                x, y = y, x
            high = x + y
            low = y - (high - x)
            if low:
                parts[i] = low
                i += 1
            x = high
        parts[i:] = [x]
    return parts


class ExactSum:
    """The values of a sequence, their ``math.fsum``, and the fsum of all but some of them."""

    __slots__ = ("_partials", "finite", "total", "values")

    def __init__(self, values: list[float]) -> None:
        self.values = values
        self.total = math.fsum(values)
        self.finite = math.isfinite(self.total)
        self._partials: list[float] | None = None

    def without(self, indices: Sequence[int]) -> float:
        """``math.fsum`` of every value but those at ``indices`` (bit-identical to it)."""
        values = self.values
        if not self.finite:  # inf or NaN among the values: the partials are not exact
            skip = set(indices)
            return math.fsum([v for i, v in enumerate(values) if i not in skip])
        if self._partials is None:
            self._partials = partials(values)
        return math.fsum([*self._partials, *(-values[i] for i in indices)])


class CrossSums(Generic[_P]):
    """Per-position uPnL and maintenance margin of an account's cross positions at one state
    (positions, marks, tier tables), with their exact sums, and each symbol's positions.

    Built lazily by the account from functions of a position; the account drops it when any of
    those inputs changes."""

    __slots__ = ("_groups", "_mm", "_mm_of", "_symbol_of", "_upnl", "_upnl_of", "key", "positions")

    def __init__(
        self,
        key: tuple[int, int],
        positions: Sequence[_P],
        symbol_of: Callable[[_P], str],
        upnl_of: Callable[[_P], float],
        mm_of: Callable[[_P, float], float],
    ) -> None:
        self.key = key
        self.positions = positions
        self._symbol_of = symbol_of
        self._upnl_of = upnl_of
        self._mm_of = mm_of
        self._groups: dict[str, list[int]] | None = None
        self._upnl: ExactSum | None = None
        self._mm: dict[float, ExactSum] = {}

    @property
    def groups(self) -> dict[str, list[int]]:
        """Indices into ``positions`` by symbol, in opening order."""
        if self._groups is None:
            groups: dict[str, list[int]] = {}
            for i, p in enumerate(self.positions):
                groups.setdefault(self._symbol_of(p), []).append(i)
            self._groups = groups
        return self._groups

    @property
    def upnl(self) -> ExactSum:
        """Every cross position's uPnL at its mark."""
        if self._upnl is None:
            self._upnl = ExactSum([self._upnl_of(p) for p in self.positions])
        return self._upnl

    def mm(self, factor: float = 1.0) -> ExactSum:
        """Every cross position's maintenance margin at its mark, scaled by ``factor``."""
        found = self._mm.get(factor)
        if found is None:
            found = self._mm[factor] = ExactSum([self._mm_of(p, factor) for p in self.positions])
        return found
