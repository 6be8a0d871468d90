"""Build step of the package: the signal kernel compiled ahead of time.

The package's metadata lives in pyproject.toml. This adds one optional extension module,
``levtrade.backtest._kernel_aot``, built by ``python -m levtrade.backtest.kernel_aot`` (Numba's
ahead-of-time compiler, see that module). Without a C compiler the build is skipped and the
kernel is compiled just in time on the first run instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import CompileError

KERNEL = "levtrade.backtest._kernel_aot"
SOURCES = Path(__file__).resolve().parent / "src"
# The build environment holds only the kernel's own dependencies (numpy, numba): the kernel's
# modules import nothing else, but the __init__ of the packages they live in load the whole
# engine (pandas, pydantic, ...). So those packages are entered as bare namespaces, without
# running their __init__, and the build module runs as ``python -m`` would run it.
BUILD = """
import runpy, sys, types
for name in ("levtrade.backtest", "levtrade.margin"):
    package = types.ModuleType(name)
    package.__path__ = [name.replace(".", "/")]
    sys.modules[name] = package
runpy.run_module("levtrade.backtest.kernel_aot", run_name="__main__", alter_sys=True)
"""


class BuildKernel(build_ext):
    """Builds the kernel module with Numba instead of a C compiler's sources."""

    def build_extension(self, ext: Extension) -> None:
        if ext.name != KERNEL:
            super().build_extension(ext)
            return
        target = Path(self.get_ext_fullpath(ext.name)).resolve()
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as cache:
            # run from src/ (``-c`` puts the working directory first on the path: a build
            # environment may rewrite PYTHONPATH), with a private Numba cache, so the build
            # leaves nothing beside the sources
            done = subprocess.run(
                [sys.executable, "-c", BUILD, str(target)],
                cwd=SOURCES,
                env={**os.environ, "NUMBA_CACHE_DIR": cache},
                check=False,
            )
        if done.returncode != 0:
            raise CompileError(f"building {KERNEL} failed (exit status {done.returncode})")


setup(
    # the source is the build module: BuildKernel runs it (what the kernel is compiled from is
    # kernel_core.source_digest's list), no C compiler compiles it
    ext_modules=[Extension(KERNEL, sources=["src/levtrade/backtest/kernel_aot.py"], optional=True)],
    cmdclass={"build_ext": BuildKernel},
)
