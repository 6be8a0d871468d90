"""Input checks with the one-line errors levtrade shows a user, naming the field and the value:
a pydantic validation error as that line, for every settings model (run configurations, margin
scenarios); the ranges numbers must lie in where they enter, and the check for them."""

from __future__ import annotations

import math
from numbers import Real
from pathlib import Path
from typing import Any

from pydantic import ValidationError


def _is_branch(part: Any) -> bool:
    """Whether a location part names a union branch pydantic tried (``constrained-float``,
    ``literal['a','b']``, ``function-after[...]``) rather than a field or a key (a symbol
    such as ``XYZ-AAPL/USDC:USDC`` has a slash)."""
    return isinstance(part, str) and ("-" in part or "[" in part) and "/" not in part


def describe_validation_error(
    exc: ValidationError, *, prefix: str = "", root: str = "config", noun: str = "setting"
) -> str:
    """One line naming the first offending field and its value: ``positions[0].size: ...``.

    ``prefix`` goes before the path (an array element, ``[2].``), ``root`` stands for a
    path-less error, ``noun`` names what a missing or unknown key is (``setting``, ``field``).
    """
    error = exc.errors()[0]
    loc = [p for p in error["loc"] if not _is_branch(p)]
    path = "".join(
        f"[{p}]" if isinstance(p, int) else (f".{p}" if k or prefix else str(p))
        for k, p in enumerate(loc)
    )
    field = prefix + path if path else (prefix.rstrip(".") or root)
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        return f"{field}: missing required {noun}"
    if error["type"] == "extra_forbidden":
        return f"{field}: unknown {noun} (value {error['input']!r})"
    if error["type"] == "value_error":
        return message if message.startswith(f"{field}:") else f"{field}: {message}"
    return f"{field}: {message}, got {error['input']!r}"


# -- numbers where they enter ------------------------------------------------------------------
# One range per kind of quantity, for every entry point (the margin account's public methods,
# margin scenarios, run configurations, strategy callbacks, the trading layer's venue replies).
# Inside the ranges every product and sum the margin formulas form stays a normal float (a
# notional below 1e27, no subnormal divisor), so an accepted input cannot end in inf - inf or a
# division by zero.

MIN_QUANTITY, MAX_QUANTITY = 1e-12, 1e15
"""Sizes in contracts or base units (PEPE's whole supply is 4.2e14)."""
MIN_PRICE, MAX_PRICE = 1e-12, 1e12
"""Prices (the smallest quoted crypto prices are around 1e-10)."""
MIN_AMOUNT, MAX_AMOUNT = 1e-12, 1e15
"""Money: wallets, margins, transfers, stakes, in the settle currency."""
MAX_LEVERAGE = 10_000.0
"""Leverage settings and tier maxima (the highest venues offer is 1,000x to 2,000x)."""
MAX_FUNDING_RATE = 0.1
"""|funding rate| per interval: twice the widest cap of the venues levtrade models (dYdX's
±4.8 % per 8 h; Hyperliquid's 4 % per hour, Binance's ±0.3 % to ±3 %)."""


def number_problem(
    value: Any, low: float, high: float, *, signed: bool = False, zero: bool = False
) -> str | None:
    """What is wrong with ``value`` as a number whose magnitude lies in [``low``, ``high``]
    (negative too when ``signed``, 0 too when ``zero``), as the tail of a one-line error; None
    when it is fine. Booleans and text are not numbers."""
    kind = type(value)
    if (
        kind is not float
        and kind is not int
        and (isinstance(value, bool) or not isinstance(value, Real))
    ):
        return f"must be a number, got {value!r}"
    scope = " in magnitude" if signed else ""
    try:
        number = float(value)
    except OverflowError:  # an int beyond float range
        return f"must be at most {high:g}{scope}, got an integer of {len(str(value))} digits"
    if not math.isfinite(number):
        return f"must be a finite number, got {number!r}"
    if number == 0.0:
        if zero:
            return None
        return f"must be non-zero, got {number!r}" if signed else f"must be > 0, got {number!r}"
    if number < 0.0 and not signed:
        return f"must be ≥ 0, got {number!r}" if zero else f"must be > 0, got {number!r}"
    magnitude = abs(number)
    if magnitude > high:
        return f"must be at most {high:g}{scope}, got {number!r}"
    if magnitude < low:
        return f"must be {'0 or ' if zero else ''}at least {low:g}{scope}, got {number!r}"
    return None


def file_problem(path: Path) -> str | None:
    """Why ``path`` cannot be read as a file (missing, a directory, not a regular file), as the
    tail of a one-line error; None when it is a file."""
    if path.is_file():
        return None
    if path.is_dir():
        return f"{path} is a directory, not a file"
    if path.exists():
        return f"{path} is not a regular file"
    return f"file not found: {path}"
