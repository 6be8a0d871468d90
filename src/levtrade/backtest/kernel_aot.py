"""The signal kernel compiled ahead of time, so that no run waits for Numba to compile it.

Compiling :func:`~levtrade.backtest.kernel_core.simulate` and the ~70 functions it calls
takes about 17 s on a 2-core machine whenever Numba's on-disk cache is empty (a fresh
install, a new cache directory, a changed source). Installing the package therefore builds
the machine code once, with Numba's ahead-of-time compiler (``numba.pycc``): ``setup.py``
runs :func:`build`, which writes the extension module ``levtrade.backtest._kernel_aot``.
The module is compiled from the very functions and signatures the just-in-time path
compiles, for a portable CPU model (:func:`target_cpu`); tests check the two give identical
arrays.

:func:`simulate_function` uses the module when its compiled-in digest is the one of the
sources in place and this processor runs its CPU model, and otherwise compiles the kernel
just in time: an edited checkout, an install without a C compiler (the build is optional) or
an install copied to an older processor still runs, after the compilation.
``LEVTRADE_KERNEL=jit`` asks for the just-in-time path; ``aot`` (the default) for the built
module where it is current.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import logging
import os
import platform
import sys
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import numba
import numpy as np

from levtrade.backtest import kernel_core

MODULE = "levtrade.backtest._kernel_aot"
BACKEND_VARIABLE = "LEVTRADE_KERNEL"
AHEAD_OF_TIME = "aot"
JUST_IN_TIME = "jit"

_types: Any = numba.types
_typeof: Callable[[Any], Any] = numba.typeof
_chosen: tuple[str, Callable[..., Any], Callable[..., Any], Callable[..., Any]] | None = None
"""The backend in use, its :func:`kernel_core.simulate`, :func:`kernel_core.replay_series`
and :func:`kernel_core.code_signals`."""
logger = logging.getLogger(__name__)

X86_64_V2 = "x86-64-v2"
X86_64_V2_FEATURES = ("cx16", "popcnt", "sahf", "sse3", "sse4.1", "sse4.2", "ssse3")
"""The instructions the x86-64-v2 level adds to the base x86-64 model (LLVM's names)."""


def target_cpu() -> str:
    """The CPU model the build compiles for: on x86-64 the x86-64-v2 level (SSE4.2, POPCNT:
    every x86-64 processor since about 2009; the base model made the trade path about 20 %
    slower than the just-in-time build), elsewhere the architecture's generic model ("")."""
    return X86_64_V2 if platform.machine().lower() in ("x86_64", "amd64") else ""


def host_supports(cpu: str, features: Mapping[str, bool] | None = None) -> bool:
    """Whether this processor (or one with ``features``) runs code built for ``cpu``."""
    if cpu != X86_64_V2:
        return True
    available = features if features is not None else _host_features()
    return all(available.get(name, False) for name in X86_64_V2_FEATURES)


def _host_features() -> Mapping[str, bool]:
    """This processor's features as LLVM names them (read with CPUID, so what a hypervisor
    hides counts as missing)."""
    binding: Any = importlib.import_module("llvmlite.binding")
    return cast(Mapping[str, bool], binding.get_host_cpu_features())


def build_digest(cpu: str) -> str:
    """What a build is made of: the kernel's sources (:func:`kernel_core.source_digest`) and
    the CPU model it is compiled for."""
    return hashlib.sha256(f"{kernel_core.source_digest()}|{cpu}".encode()).hexdigest()


def digest_number(digest: str) -> int:
    """The first 60 bits of a hex digest: a number the compiled module can return."""
    return int(digest[:15], 16)


def build(target: Path) -> Path:
    """Compile the kernel ahead of time into the extension module file ``target``."""
    kernel_core.compile_kernels()
    with warnings.catch_warnings():
        # pycc is Numba's ahead-of-time compiler; it warns that a successor is planned
        warnings.simplefilter("ignore", numba.NumbaPendingDeprecationWarning)
        pycc: Any = importlib.import_module("numba.pycc")
    compiler = pycc.CC(MODULE.rsplit(".", 1)[1])
    compiler.output_dir = str(target.parent)
    compiler.output_file = target.name
    compiler.target_cpu = target_cpu()
    number = digest_number(build_digest(compiler.target_cpu))

    def made_of() -> int:
        return number

    simulate: Any = kernel_core.simulate  # the dispatcher (its Python source: py_func)
    replay: Any = kernel_core.replay_series
    code: Any = kernel_core.code_signals
    compiler.export("build_digest", "int64()")(made_of)
    compiler.export("simulate", kernel_core.SIMULATE_SIGNATURE)(simulate.py_func)
    compiler.export("replay_series", kernel_core.SERIES_SIGNATURE)(replay.py_func)
    compiler.export("code_signals", kernel_core.CODE_SIGNATURE)(code.py_func)
    compiler.compile()
    return target


def requested_backend() -> str:
    """The backend ``LEVTRADE_KERNEL`` asks for (default: the ahead-of-time build)."""
    value = os.environ.get(BACKEND_VARIABLE, AHEAD_OF_TIME).strip().lower() or AHEAD_OF_TIME
    if value not in (AHEAD_OF_TIME, JUST_IN_TIME):
        raise ValueError(
            f"{BACKEND_VARIABLE}={value!r}: expected {AHEAD_OF_TIME!r} or {JUST_IN_TIME!r}"
        )
    return value


def native_module() -> ModuleType | None:
    """The ahead-of-time module when it is built from the sources in place, else None."""
    return _native()[0]


def _native() -> tuple[ModuleType | None, str]:
    """(the current ahead-of-time module, or None and why there is none)."""
    try:
        module = importlib.import_module(MODULE)
    except ImportError:
        return None, "no ahead-of-time build is installed"
    cpu = target_cpu()
    if not host_supports(cpu):
        return None, f"the ahead-of-time build needs an {cpu} processor"
    if module.build_digest() != digest_number(build_digest(cpu)):
        return None, "the ahead-of-time build is from other sources; reinstall to rebuild it"
    return module, ""


def will_compile() -> bool:
    """Whether the next :func:`simulate_function` compiles the kernel just in time (tens of
    seconds, once per process): none chosen yet and no usable ahead-of-time build."""
    if _chosen is not None:
        return False
    return requested_backend() != AHEAD_OF_TIME or _native()[0] is None


def simulate_function() -> tuple[str, Callable[..., Any]]:
    """(backend, function) running :func:`kernel_core.simulate`: the ahead-of-time build when
    it is current and not declined, else the just-in-time compilation (done here, once)."""
    backend, simulate, _, _ = _choose()
    return backend, simulate


def series_function() -> Callable[..., Any]:
    """:func:`kernel_core.replay_series` of the backend :func:`simulate_function` runs."""
    return _choose()[2]


def signals_function() -> Callable[..., Any]:
    """:func:`kernel_core.code_signals` of the backend :func:`simulate_function` runs."""
    return _choose()[3]


def _choose() -> tuple[str, Callable[..., Any], Callable[..., Any], Callable[..., Any]]:
    global _chosen
    if _chosen is None:
        if requested_backend() == AHEAD_OF_TIME:
            module, missing = _native()
        else:
            module, missing = None, f"{BACKEND_VARIABLE}={JUST_IN_TIME}"
        if module is not None:
            _chosen = (
                AHEAD_OF_TIME,
                checked(module.simulate),
                checked(module.replay_series, kernel_core.SERIES_SIGNATURE, "replay_series"),
                checked(module.code_signals, kernel_core.CODE_SIGNATURE, "code_signals"),
            )
        else:
            # a first compilation takes tens of seconds: say why it happens
            logger.warning("compiling the signal kernel just in time (%s)", missing)
            kernel_core.compile_kernels()
            _chosen = (
                JUST_IN_TIME,
                kernel_core.simulate,
                kernel_core.replay_series,
                kernel_core.code_signals,
            )
    return _chosen


def checked(
    function: Callable[..., Any],
    signature: Any = kernel_core.SIMULATE_SIGNATURE,
    name: str = "simulate",
) -> Callable[..., Any]:
    """``function`` of the ahead-of-time build (by default ``simulate``), refusing arguments
    of other types than its ``signature``'s (as the just-in-time dispatcher does): the built
    module reads whatever it is given as the arrays it was compiled for."""
    expected = signature.args

    def run(*arguments: Any) -> Any:
        if len(arguments) != len(expected):
            raise TypeError(f"{name} takes {len(expected)} arguments, not {len(arguments)}")
        for position, (wanted, value) in enumerate(zip(expected, arguments, strict=True)):
            if not _accepts(wanted, value):
                given = _typeof(value)
                raise TypeError(f"{name} argument {position}: {given}, expected {wanted}")
        return function(*arguments)

    return run


def _accepts(wanted: Any, value: Any) -> bool:
    """Whether ``value`` may be passed as numba type ``wanted``: of the same type, item by
    item in tuples, where a writable array may stand for a read-only one."""
    if isinstance(wanted, _types.BaseTuple):
        return (
            isinstance(value, tuple)
            and len(value) == len(wanted)
            and all(_accepts(w, v) for w, v in zip(wanted.types, value, strict=True))
        )
    if isinstance(value, np.ndarray) and isinstance(wanted, _types.Array):
        return _array_accepts(wanted, _array_type(value))
    return bool(_typeof(value) == wanted)


@functools.cache
def _array_accepts(wanted: Any, given: Any) -> bool:
    """Whether an array of numba type ``given`` may be passed as ``wanted``: the same type,
    or a writable array for a read-only one."""
    read_only = not wanted.mutable
    return bool(given.copy(readonly=read_only) == wanted) and (read_only or given.mutable)


_ARRAY_TYPES: dict[tuple[Any, ...], Any] = {}


def _array_type(value: np.ndarray[Any, Any]) -> Any:
    """``numba.typeof`` of an array, once per kind of array: an array's numba type follows
    from its class, dtype, dimensions, contiguity, writability and alignment (a run passes
    some forty arrays of a handful of kinds; typing each costs a millisecond a call)."""
    flags = value.flags
    key = (
        type(value),
        value.dtype,
        value.ndim,
        flags.c_contiguous,
        flags.f_contiguous,
        flags.writeable,
        flags.aligned,
    )
    kind = _ARRAY_TYPES.get(key)
    if kind is None:
        kind = _ARRAY_TYPES[key] = _typeof(value)
    return kind


def main(arguments: list[str]) -> int:
    """``python -m levtrade.backtest.kernel_aot TARGET``: build the module (setup.py's step)."""
    if len(arguments) != 1:
        print("usage: python -m levtrade.backtest.kernel_aot TARGET", file=sys.stderr)
        return 2
    build(Path(arguments[0]).resolve())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
