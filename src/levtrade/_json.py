"""Plain JSON values from what levtrade computes, in one place for every ``--json`` output and
result file: NumPy scalars and arrays unwrapped, NaN and ±inf as ``null`` (JSON has neither),
tuples as lists, dataclasses as objects, paths and timestamps as text."""

from __future__ import annotations

import dataclasses
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
