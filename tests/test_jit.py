"""``levtrade._jit``: formulas compiled on first use, and run as plain Python on request.

Each case runs in a fresh interpreter, where the formulas' module is imported without Numba.
The example: an isolated long of 2 BTC at 50,000 whose equity, less its maintenance margin
elsewhere, is a constant 5,000 over the wallet; one tier, MMR 0.5 %, no deduction. Equity
5,000 + 2·(P − 50,000) equals MM 0.005·2·P at P = 95,000 / 1.99 = 47,738.6934...
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

SETUP = """
import json, sys
import numpy as np
from levtrade import _jit
from levtrade.margin import formulas
imported = "numba" in sys.modules
args = (5_000.0, np.array([2.0]), np.array([50_000.0]), np.array([0.0]), np.array([0.005]),
        np.array([0.0]), 50_000.0)
"""


def _child(body: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", SETUP + body], capture_output=True, text=True, check=True
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_plain_calls_run_the_originals_and_a_call_outside_compiles() -> None:
    """solve_equity_equals_mm calls other compiled formulas (tier_index, solve_one_leg...):
    within plain_calls those run as plain Python too, so Numba is not imported; the call
    after the block compiles and gives the same price, bit for bit."""
    out = _child(
        "with _jit.plain_calls():\n"
        "    plain = formulas.solve_equity_equals_mm(*args)\n"
        "inside = 'numba' in sys.modules\n"
        "compiled = formulas.solve_equity_equals_mm(*args)\n"
        "print(json.dumps({'plain': plain, 'compiled': compiled, 'at_import': imported, "
        "'inside': inside, 'after': 'numba' in sys.modules, "
        "'signatures': len(formulas.solve_equity_equals_mm.signatures)}))\n"
    )
    assert out["at_import"] is False
    assert out["inside"] is False
    assert out["plain"] == pytest.approx(95_000 / 1.99, rel=1e-12)
    assert out["after"] is True
    assert out["signatures"] == 1
    assert out["compiled"] == out["plain"]


def test_a_compiled_function_pickles_by_reference() -> None:
    """As Numba's dispatcher does: a process pool receives the same function."""
    out = _child(
        "import pickle\n"
        "again = pickle.loads(pickle.dumps(formulas.solve_equity_equals_mm))\n"
        "print(json.dumps({'same': again is formulas.solve_equity_equals_mm, "
        "'numba': 'numba' in sys.modules}))\n"
    )
    assert out == {"same": True, "numba": False}
