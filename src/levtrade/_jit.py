"""Numba compilation that keeps each function's Python signature visible to type checkers.

Every margin formula is compiled once and cached on disk; the original Python function stays
reachable as ``func.py_func`` so tests can check the compiled and the plain path agree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba

F = TypeVar("F", bound=Callable[..., Any])

_njit: Any = numba.njit
"""``numba.njit`` untyped: its stubs do not list the wrapper options (``no_cfunc_wrapper``)."""


def compiled(func: F) -> F:
    """Compile ``func`` in nopython mode with an on-disk cache, lazily (on the first call, for
    the argument types of that call). No C-callable (``cfunc``) wrapper: nothing takes these
    as function pointers, and each wrapper is compilation time in a process with an empty
    cache."""
    return cast(F, _njit(cache=True, nogil=True, no_cfunc_wrapper=True)(func))


def plain(func: F) -> F:
    """The plain-Python original of a compiled function (``func.py_func``).

    Called from Python with scalars, Numba's per-call dispatch costs more than the arithmetic
    of a small formula; called with NumPy arrays, an arithmetic formula's original computes
    every element at once. Numba compiles without fast-math (no reassociation, no fused
    multiply-add), so the original gives bit-identical results: the same IEEE operations in
    the same order. The margin and path tests run every formula on both paths.
    """
    return cast(F, getattr(func, "py_func", func))
