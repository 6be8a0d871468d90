"""The liquidation solve and the tier look-up without NumPy's sort and searchsorted.

They were rewritten for compilation time and the kernel's speed (an insertion sort, a plain
binary search, a one-leg solve that allocates nothing); these tests hold them bit for bit to
the NumPy formulation they replaced, on the compiled and the plain path.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from levtrade.margin import formulas as f

PATHS = pytest.mark.parametrize("path", ["compiled", "plain"])

# Binance BTCUSDT, 12 brackets (the kernel benchmark's table).
FLOORS = np.array([0.0, 3e5, 8e5, 3e6, 12e6, 70e6, 100e6, 230e6, 480e6, 600e6, 800e6, 1200e6])
MMRS = np.array([0.004, 0.005, 0.0065, 0.01, 0.02, 0.025, 0.05, 0.1, 0.125, 0.15, 0.25, 0.5])
AMOUNTS = np.asarray(f.maintenance_amounts(FLOORS, MMRS))


def call(name: str, path: str, *args: Any) -> Any:
    func = getattr(f, name)
    return func(*args) if path == "compiled" else func.py_func(*args)


def numpy_tier_index(floors: np.ndarray, notional: float) -> int:
    return max(int(np.searchsorted(floors, abs(notional), side="right")) - 1, 0)


def numpy_solve(
    const: float,
    qtys: np.ndarray,
    entries: np.ndarray,
    floors: np.ndarray,
    mmrs: np.ndarray,
    amounts: np.ndarray,
    reference: float,
) -> float:
    """The solve as it was written with ``np.sort`` and ``np.searchsorted``."""
    breaks = [0.0]
    for q in np.abs(qtys):
        if q != 0.0:
            breaks.extend(floors[k] / q for k in range(1, floors.shape[0]))
    edges = np.sort(np.array(breaks))
    best, best_distance = math.nan, math.inf
    for j in range(edges.shape[0]):
        lo = edges[j]
        hi = edges[j + 1] if j + 1 < edges.shape[0] else math.inf
        if hi <= lo:
            continue
        inside = 0.5 * (lo + hi) if hi < math.inf else 2.0 * lo + 1.0
        intercept, slope = const, 0.0
        for q, entry in zip(qtys, entries, strict=True):
            if q == 0.0:
                continue
            k = numpy_tier_index(floors, abs(q) * inside)
            intercept += amounts[k] - q * entry
            slope += q - abs(q) * mmrs[k]
        if slope == 0.0:
            continue
        root = -intercept / slope
        if root <= 0.0 or root < lo or root >= hi:
            continue
        if abs(root - reference) < best_distance:
            best, best_distance = root, abs(root - reference)
    return float(best)


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@PATHS
def test_tier_index_is_numpy_searchsorted(path: str) -> None:
    rng = np.random.default_rng(3)
    values = [*FLOORS, *np.nextafter(FLOORS, -np.inf), *np.nextafter(FLOORS, np.inf)]
    values += [*rng.uniform(-2e9, 2e9, 300), math.inf, -math.inf, math.nan, -0.0]
    for table in (FLOORS, FLOORS[:1], FLOORS[:2], np.array([0.0, 5.0, 5.0, 7.0])):
        for value in values:
            assert call("tier_index", path, table, float(value)) == numpy_tier_index(table, value)


def random_leg(rng: np.random.Generator) -> tuple[float, float, float, float]:
    """A random leg: signed quantity, entry, equity constant and reference price."""
    qty = float(rng.choice([-1.0, 1.0]) * 10.0 ** rng.uniform(-3, 5))
    entry = float(rng.uniform(1e3, 1e5))
    const = float(abs(qty) * entry * rng.uniform(-0.2, 1.5))
    reference = float(entry * rng.uniform(0.2, 3.0))
    return qty, entry, const, reference


@PATHS
def test_one_leg_solve_is_the_general_solve(path: str) -> None:
    rng = np.random.default_rng(11)
    # random amounts too: a table whose MM jumps at a floor can have two roots
    tables = [(MMRS, AMOUNTS), (MMRS, rng.uniform(0.0, 2e7, FLOORS.shape[0]))]
    for mmrs, amounts in tables:
        for _ in range(400):
            qty, entry, const, reference = random_leg(rng)
            expected = numpy_solve(
                const, np.array([qty]), np.array([entry]), FLOORS, mmrs, amounts, reference
            )
            one = call("solve_one_leg", path, const, qty, entry, FLOORS, mmrs, amounts, reference)
            array = call(
                "solve_equity_equals_mm", path, const, np.array([qty]), np.array([entry]),
                FLOORS, mmrs, amounts, reference,
            )  # fmt: skip
            padded = call(
                "solve_equity_equals_mm", path, const, np.array([qty, 0.0]),
                np.array([entry, 1.0]), FLOORS, mmrs, amounts, reference,
            )  # fmt: skip
            assert same(one, expected) and same(array, expected) and same(padded, expected)


@PATHS
def test_hedged_solve_is_the_numpy_solve(path: str) -> None:
    rng = np.random.default_rng(5)
    for _ in range(300):
        qtys = np.array([10.0 ** rng.uniform(-2, 4), -(10.0 ** rng.uniform(-2, 4))])
        entries = rng.uniform(1e3, 1e5, 2)
        const = float(rng.uniform(-1e5, 1e7))
        reference = float(rng.uniform(1e3, 1e5))
        expected = numpy_solve(const, qtys, entries, FLOORS, MMRS, AMOUNTS, reference)
        got = call(
            "solve_equity_equals_mm", path, const, qtys, entries, FLOORS, MMRS, AMOUNTS, reference
        )
        assert same(got, expected)


@PATHS
def test_offset_forms_read_their_table_inside_flat_tables(path: str) -> None:
    """The kernel's offset forms on BTC's table between two other tables of a flat array
    (as the kernel lays the symbols' tables end to end) are the NumPy formulation on the
    table alone: the tables around it are never read."""
    rng = np.random.default_rng(12)
    before = np.array([0.0, 5e4, 2e5])
    after = np.array([0.0, 1e3])
    first = before.shape[0]
    end = first + FLOORS.shape[0]
    floors = np.concatenate([before, FLOORS, after])
    mmrs = np.concatenate([np.full(3, 0.9), MMRS, np.full(2, 0.9)])
    amounts = np.concatenate([np.full(3, -1e9), AMOUNTS, np.full(2, -1e9)])
    for _ in range(300):
        qty, entry, const, reference = random_leg(rng)
        expected = numpy_solve(
            const, np.array([qty]), np.array([entry]), FLOORS, MMRS, AMOUNTS, reference
        )
        solved = call(
            "solve_one_leg_in", path, const, qty, entry, first, end, floors, mmrs, amounts,
            reference,
        )  # fmt: skip
        assert same(solved, expected)
        notional = qty * entry
        tier = numpy_tier_index(FLOORS, notional)
        index = call("tier_index_in", path, floors, first, end, notional)
        assert index == first + tier
        mm = call("maintenance_margin_in", path, notional, floors, mmrs, amounts, first, end)
        assert mm == abs(notional) * MMRS[tier] - AMOUNTS[tier]
    assert call("tier_index_in", path, floors, first, end, math.nan) == end - 1
