"""Numba compilation that keeps each function's Python signature visible to type checkers.

Every margin formula is compiled once and cached on disk; the original Python function stays
reachable as ``func.py_func`` so tests can check the compiled and the plain path agree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba

F = TypeVar("F", bound=Callable[..., Any])


def compiled(func: F) -> F:
    """Compile ``func`` in nopython mode with an on-disk cache."""
    return cast(F, numba.njit(cache=True, nogil=True)(func))
