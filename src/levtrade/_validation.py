"""A pydantic validation error as the one line levtrade shows a user: the offending field's
path and the value, for every settings model (run configurations, margin scenarios)."""

from __future__ import annotations

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
