"""Numba compilation that keeps each function's Python signature visible to type checkers.

Every margin formula is compiled once and cached on disk; the original Python function stays
reachable as ``func.py_func`` so tests can check the compiled and the plain path agree.

Numba itself is imported when a compiled function is first needed (called from Python, or
typed by Numba while it compiles a caller such as the backtest kernel), not when the module
defining it is: importing Numba loads its compiler and LLVM, which a process that only runs
the formulas' plain originals never uses. Within :func:`plain_calls`, Python calls run the
originals; the margin calculator's command computes its few figures so.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar, cast

F = TypeVar("F", bound=Callable[..., Any])

_PLAIN_CALLS: ContextVar[bool] = ContextVar("levtrade_plain_calls", default=False)


@contextmanager
def plain_calls() -> Iterator[None]:
    """Within the block, a compiled function called from Python runs its plain original, and
    so does every compiled function that original calls: no Numba at all.

    For a few figures, loading Numba and the compiled code (about half a second in a fresh
    process) costs far more than the originals' arithmetic; the results are bit-identical
    (:func:`plain`). Hot loops (the backtest) keep the compiled code outside such a block."""
    token = _PLAIN_CALLS.set(True)
    try:
        yield
    finally:
        _PLAIN_CALLS.reset(token)


class Deferred:
    """A function compiled by Numba on first use: it stands for its Numba dispatcher.

    Calls and attribute reads go to the dispatcher, made on the first one (a call within
    :func:`plain_calls` runs the original instead); Numba types it as the dispatcher
    (``_numba_type_``) where compiled code calls it. ``py_func`` is the original and needs no
    Numba.
    """

    def __init__(self, func: Callable[..., Any]) -> None:
        functools.update_wrapper(self, func)
        self.py_func = func
        self._dispatcher: Any = None

    @property
    def dispatcher(self) -> Any:
        """The Numba dispatcher (nopython, cached on disk, compiled per argument types)."""
        if self._dispatcher is None:
            import numba

            # no C-callable (``cfunc``) wrapper: nothing takes these as function pointers, and
            # each wrapper is compilation time in a process with an empty cache
            njit: Any = numba.njit  # untyped: its stubs do not list ``no_cfunc_wrapper``
            self._dispatcher = njit(cache=True, nogil=True, no_cfunc_wrapper=True)(self.py_func)
        return self._dispatcher

    @property
    def _numba_type_(self) -> Any:
        """What Numba types this as: the dispatcher's type (read by ``numba.typeof``)."""
        return self.dispatcher._numba_type_

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _PLAIN_CALLS.get():
            return self.py_func(*args, **kwargs)
        return self.dispatcher(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_dispatcher":
            raise AttributeError(name)
        return getattr(self.dispatcher, name)

    def __reduce__(self) -> str:
        """Pickled by reference, as the module-level function it stands for (a dispatcher
        pickles; process pools and Ray send them)."""
        return str(self.__qualname__)

    def __repr__(self) -> str:
        return f"<compiled on first use {self.py_func.__module__}.{self.py_func.__qualname__}>"


def compiled(func: F) -> F:
    """Compile ``func`` in nopython mode with an on-disk cache, lazily: Numba is imported when
    it is first needed and compiles on the first call, for the argument types of that call."""
    return cast(F, Deferred(func))


def plain(func: F) -> F:
    """The plain-Python original of a compiled function (``func.py_func``).

    Called from Python with scalars, Numba's per-call dispatch costs more than the arithmetic
    of a small formula; called with NumPy arrays, an arithmetic formula's original computes
    every element at once. Numba compiles without fast-math (no reassociation, no fused
    multiply-add), so the original gives bit-identical results: the same IEEE operations in
    the same order. The margin and path tests run every formula on both paths.
    """
    return cast(F, getattr(func, "py_func", func))
