"""The install's build step (setup.py's ``BUILD``) compiles the kernel in an environment that
holds only the build requirements (numpy, numba, llvmlite, setuptools) beside the standard
library. The engine's other dependencies (pandas, pydantic, ...) are not there, so the kernel's
modules must not reach them; when they did, the optional extension was skipped without a word
and every fresh install compiled the kernel just in time on its first run."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import re
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

from levtrade.backtest import kernel_aot

ROOT = Path(__file__).resolve().parents[2]


def _runtime_only_modules() -> set[str]:
    """Top-level import names of the project's dependencies that the build does not require."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    build = {_name(r) for r in project["build-system"]["requires"]}
    runtime = {_name(r) for r in project["project"]["dependencies"]} - build
    return {
        module
        for module, distributions in importlib.metadata.packages_distributions().items()
        if any(_name(d) in runtime for d in distributions) and not module.startswith("_")
    }


def _name(requirement: str) -> str:
    """A requirement's distribution name, normalised (PEP 503)."""
    return re.sub(r"[-_.]+", "-", re.split(r"[ ;<>=!~\[]", requirement, maxsplit=1)[0]).lower()


def _guard(refused: set[str]) -> str:
    """Code that makes importing any of ``refused`` fail, as in a build environment."""
    return f"""
import importlib.abc, sys
REFUSED = {sorted(refused)!r}

class BuildEnvironmentOnly(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in REFUSED:
            raise ModuleNotFoundError(f"not in the build environment: {{name}}", name=name)
        return None

sys.meta_path.insert(0, BuildEnvironmentOnly())
"""


def _setup_build_code() -> str:
    """The ``BUILD`` string of setup.py, read without running setup()."""
    tree = ast.parse((ROOT / "setup.py").read_text("utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "BUILD" for t in node.targets
        ):
            value = ast.literal_eval(node.value)
            assert isinstance(value, str)
            return value
    raise AssertionError("setup.py defines no BUILD")


def test_the_guard_refuses_what_the_build_environment_lacks() -> None:
    refused = _runtime_only_modules()
    assert {"pandas", "pydantic", "pyarrow", "ccxt"} <= refused
    assert not {"numpy", "numba", "llvmlite", "setuptools"} & refused
    done = subprocess.run(
        [sys.executable, "-c", _guard(refused) + "import pandas"],
        cwd=ROOT / "src",
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "ModuleNotFoundError: not in the build environment: pandas" in done.stderr


@pytest.mark.slow
def test_the_build_step_needs_only_numpy_and_numba(tmp_path: Path) -> None:
    name = kernel_aot.MODULE.rsplit(".", 1)[1]
    target = tmp_path / f"{name}{sysconfig.get_config_var('EXT_SUFFIX')}"
    done = subprocess.run(
        [sys.executable, "-c", _guard(_runtime_only_modules()) + _setup_build_code(), str(target)],
        cwd=ROOT / "src",
        capture_output=True,
        text=True,
        check=False,
        env={"NUMBA_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    spec = importlib.util.spec_from_file_location(kernel_aot.MODULE, target)
    assert spec is not None and spec.loader is not None
    built = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(built)
    expected = kernel_aot.digest_number(kernel_aot.build_digest(kernel_aot.target_cpu()))
    assert built.build_digest() == expected
