"""JSON both ways, in one place. Out: plain JSON values from what levtrade computes, for every
``--json`` output and result file — NumPy scalars and arrays unwrapped, NaN and ±inf as
``null`` (JSON has neither), tuples as lists, dataclasses as objects, paths and timestamps as
text. In: parsing what a user gives (no duplicate keys, bounded nesting)."""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np


def to_json_value(value: Any) -> Any:
    """``value`` as plain JSON data (module docstring)."""
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json_value(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, np.ndarray):
        return [to_json_value(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    pandas = sys.modules.get("pandas")  # a pandas value exists only once pandas is imported
    if pandas is not None:
        if isinstance(value, pandas.Timestamp):
            return value.isoformat()
        if value is pandas.NA or value is pandas.NaT:
            return None
    return value


MAX_JSON_DEPTH = 100
"""Deepest nesting of arrays and objects a JSON input may have (a margin scenario nests 6
levels); deeper input is refused before it is parsed, not left to exhaust the stack."""

_STEP = np.zeros(256, dtype=np.int8)
_STEP[[ord("["), ord("{")]] = 1
_STEP[[ord("]"), ord("}")]] = -1


def json_depth(text: str) -> int:
    """How deep ``text``'s arrays and objects nest; brackets inside strings do not count.

    Escaped backslashes, then escaped quotes, are dropped (left to right, as a JSON reader
    reads escapes), so every quote left delimits a string, and a bracket is outside strings
    when an even number of quotes precede it."""
    raw = text.encode("utf-8", "surrogatepass").replace(b"\\\\", b"").replace(b'\\"', b"")
    codes = np.frombuffer(raw, dtype=np.uint8)
    steps = _STEP[codes]
    brackets = np.flatnonzero(steps)
    quotes = np.flatnonzero(codes == ord('"'))
    outside = np.searchsorted(quotes, brackets) % 2 == 0
    return int(np.cumsum(steps[brackets][outside], dtype=np.int64).max(initial=0))


class JsonInputError(ValueError):
    """JSON a user gave that levtrade refuses (the caller raises it as its own error type)."""


def parse_json(text: str, what: str) -> Any:
    """``text`` parsed as JSON, or a :class:`JsonInputError` naming ``what`` and the fault:
    malformed text (line and column), a duplicate key in one object, nesting deeper
    than :data:`MAX_JSON_DEPTH`. ``NaN`` and ``Infinity`` are read as floats, for the model
    reading the document to refuse naming the field."""
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise JsonInputError(
            f"{what}: JSON nested {depth} levels deep; at most {MAX_JSON_DEPTH} are accepted"
        )
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise JsonInputError(
            f"{what}: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except _DuplicateKey as exc:
        raise JsonInputError(f"{what}: duplicate key {exc.args[0]!r} in one JSON object") from None


class _DuplicateKey(Exception):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return result
