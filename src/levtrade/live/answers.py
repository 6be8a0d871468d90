"""Reading the venue's answers field by field, so that a malformed one stops the bot with a
clear message instead of a wrong booking.

A venue (or a proxy in between) can answer with a row missing a field, a price that is not a
number, a negative amount, the same trade twice with different contents, or rows out of
order. The bot books money from these rows, so each field is read through :class:`Row`: an
answer that fails names the call, the row (its venue id when it has one), the field and the
value (:class:`MalformedAnswer`). Rows repeated with the same contents are one row
(:func:`unique_by`); rows are put in time order by the callers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from levtrade._validation import number_problem
from levtrade.live.errors import LiveError

_T = TypeVar("_T")

MAX_PRICE = 1e12
MAX_AMOUNT = 1e15
"""Bounds of what a venue row can hold (the calculator's bounds on scenarios)."""
MAX_TIME = 10**14
"""Epoch milliseconds after the year 5000: not a venue's timestamp."""


class MalformedAnswer(LiveError):
    """A venue answer the bot cannot book: a field missing, not a number or out of range, or
    a row repeated with other contents. The bot does not trade on it."""


class Row:
    """One row of a venue answer (a trade, an order, a position, an income item, a candle)."""

    __slots__ = ("_ident", "_row", "_what")

    def __init__(self, row: Any, what: str, ident: str | None = None) -> None:
        if not isinstance(row, Mapping):
            raise MalformedAnswer(f"{what}: a row is {type(row).__name__}, not an object: {row!r}")
        self._row = row
        self._what = what
        self._ident = ident

    @property
    def raw(self) -> Mapping[str, Any]:
        return self._row

    def _fail(self, name: str, problem: str) -> MalformedAnswer:
        where = f"{self._what} {self._ident}" if self._ident else self._what
        return MalformedAnswer(f"{where}: {name} {problem}")

    def get(self, name: str) -> Any:
        return self._row.get(name)

    def mapping(self, name: str) -> Mapping[str, Any]:
        """A nested object (the venue's raw row, ``info``); empty when missing."""
        value = self._row.get(name)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self._fail(name, f"must be an object, got {type(value).__name__}")
        return value

    def text(self, name: str) -> str:
        """A field that must be present and not empty."""
        value = self._row.get(name)
        if value is None or value == "":
            raise self._fail(name, "is missing")
        return str(value)

    def choice(self, name: str, allowed: Iterable[str]) -> str:
        value = self.text(name)
        options = tuple(allowed)
        if value not in options:
            raise self._fail(name, f"must be one of {', '.join(options)}, got {value!r}")
        return value

    def number(
        self,
        name: str,
        *,
        high: float = MAX_AMOUNT,
        signed: bool = False,
        zero: bool = True,
        default: float | None = None,
    ) -> float:
        """A finite number (text holding one is read: venues send numbers as strings); 0 and
        negatives only when allowed; ``default`` stands for a missing field."""
        value = self._row.get(name)
        if value is None or value == "":
            if default is not None:
                return default
            raise self._fail(name, "is missing")
        number = _as_number(value)
        if number is None:
            raise self._fail(name, f"must be a number, got {value!r}")
        problem = number_problem(number, 0.0, high, signed=signed, zero=zero)
        if problem is not None:
            raise self._fail(name, problem)
        return number

    def price(self, name: str, *, default: float | None = None) -> float:
        return self.number(name, high=MAX_PRICE, zero=False, default=default)

    def optional_price(self, name: str) -> float | None:
        """A price the venue may leave out (or give as 0): None then."""
        value = self._row.get(name)
        if value is None or value == "" or _as_number(value) == 0.0:
            return None
        return self.price(name)

    def time(self, name: str = "timestamp") -> int:
        value = self._row.get(name)
        number = _as_number(value) if value is not None else None
        if number is None or not (0 < number < MAX_TIME) or number != int(number):
            raise self._fail(name, f"must be a time in epoch milliseconds, got {value!r}")
        return int(number)


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def unique_by(items: Iterable[_T], key: Callable[[_T], str], what: str) -> dict[str, _T]:
    """``items`` by ``key``: a repeat with the same contents is one item (a venue's pages
    overlap), a repeat with other contents is a :class:`MalformedAnswer`."""
    found: dict[str, _T] = {}
    for item in items:
        ident = key(item)
        seen = found.get(ident)
        if seen is not None and seen != item:
            raise MalformedAnswer(
                f"{what}: {ident} appears twice with different contents: {seen!r} and {item!r}"
            )
        found[ident] = item
    return found


def candle(row: Any, what: str) -> tuple[int, float, float, float, float, float]:
    """An OHLCV row ``[time, open, high, low, close, volume]`` checked: positive prices, the
    high and low bounding the open and close, a volume ≥ 0."""
    if not isinstance(row, list | tuple) or len(row) < 5:
        raise MalformedAnswer(f"{what}: a candle must be [time, open, high, low, close, volume], "
                              f"got {row!r}")  # fmt: skip
    fields = dict(zip(("time", "open", "high", "low", "close", "volume"), row, strict=False))
    reader = Row(fields, what, None)
    time = reader.time("time")
    reader = Row(fields, what, str(time))
    o, h, lo, c = (reader.price(k) for k in ("open", "high", "low", "close"))
    volume = reader.number("volume", default=0.0)
    if not (lo <= min(o, c) and max(o, c) <= h) or math.isnan(volume):
        raise MalformedAnswer(
            f"{what} {time}: high {h} and low {lo} must bound the open {o} and the close {c}"
        )
    return time, o, h, lo, c, volume
