"""Margin figures for many positions or bars at once, from the pure formulas.

The arithmetic formulas of :mod:`levtrade.margin.formulas` (notional, PnL) are plain IEEE
expressions, so their original Python functions (``func.py_func``) applied to NumPy arrays give
each element exactly what the scalar formula gives: the same operations in the same order. The
formulas with a loop or a branch (a liquidation price) run as one Numba loop calling the
formula per position. Either way the figures are the formulas' (the single source of margin
truth), without a Python call per element. Inputs are float64 arrays of one length; a tier
table is the three arrays of :class:`~levtrade.margin.tiers.TierTable` (``floors``, ``mmrs``,
``amounts``), shared by every element.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from levtrade._jit import compiled, plain
from levtrade.margin import formulas
from levtrade.margin.formulas import FloatArray

__all__ = [
    "isolated_liquidation_prices",
    "joint_liquidation_moves",
    "maintenance_margins",
    "signed_notionals",
    "upnls",
]

# the formulas' originals, applied to arrays (typed for floats, they take arrays alike)
_LINEAR_NOTIONAL: Callable[..., Any] = plain(formulas.linear_notional)
_INVERSE_NOTIONAL: Callable[..., Any] = plain(formulas.inverse_notional)
_LINEAR_UPNL: Callable[..., Any] = plain(formulas.linear_upnl)
_INVERSE_UPNL: Callable[..., Any] = plain(formulas.inverse_upnl)


def signed_notionals(
    sizes: FloatArray, contract_size: float, prices: FloatArray, *, inverse: bool
) -> FloatArray:
    """Notional of each position with the sign of its size (:func:`formulas.linear_notional`
    or :func:`formulas.inverse_notional`, element by element)."""
    notional = (_INVERSE_NOTIONAL if inverse else _LINEAR_NOTIONAL)(sizes, contract_size, prices)
    return np.asarray(np.copysign(notional, sizes), dtype=np.float64)


def upnls(
    sizes: FloatArray,
    contract_size: float,
    entries: FloatArray,
    prices: FloatArray,
    *,
    inverse: bool,
) -> FloatArray:
    """Unrealized PnL of each position (:func:`formulas.linear_upnl` or
    :func:`formulas.inverse_upnl`, element by element)."""
    formula = _INVERSE_UPNL if inverse else _LINEAR_UPNL
    return np.asarray(formula(sizes, contract_size, entries, prices), dtype=np.float64)


def maintenance_margins(
    notionals: FloatArray, floors: FloatArray, mmrs: FloatArray, amounts: FloatArray
) -> FloatArray:
    """Tiered maintenance margin of each notional: :func:`formulas.maintenance_margin` element
    by element (the tier with ``floor_k ≤ |N| < floor_{k+1}``, as :func:`formulas.tier_index`
    chooses it; a NaN notional sorts last)."""
    size = np.abs(notionals)
    tier = np.maximum(np.searchsorted(floors, size, side="right") - 1, 0)
    return np.asarray(size * mmrs[tier] - amounts[tier], dtype=np.float64)


@compiled
def isolated_liquidation_prices(
    qtys: FloatArray,
    entries: FloatArray,
    margins: FloatArray,
    floors: FloatArray,
    mmrs: FloatArray,
    amounts: FloatArray,
) -> FloatArray:
    """Liquidation price of each linear isolated position (signed ``qtys`` in base units,
    ``entries``, isolated ``margins``): :func:`formulas.isolated_liquidation_price` element by
    element; NaN where a position has none."""
    n = qtys.shape[0]
    if entries.shape[0] != n or margins.shape[0] != n:
        raise ValueError("isolated_liquidation_prices: qtys, entries and margins differ in length")
    out = np.empty(n)
    for i in range(n):
        out[i] = formulas.isolated_liquidation_price(
            qtys[i], entries[i], margins[i], floors, mmrs, amounts
        )
    return out


def joint_liquidation_moves(
    qtys: FloatArray,
    marks: FloatArray,
    equity: FloatArray,
    tables: list[tuple[FloatArray, FloatArray, FloatArray]],
    *,
    lowest: float = -0.999,
    highest: float = 10.0,
    steps: int = 45,
) -> tuple[FloatArray, FloatArray]:
    """Per row (a bar), the uniform move ``m`` of every mark (``P_j → P_j·(1 + m)``) at which
    a cross pool of linear positions reaches its liquidation: equity ``E + m·Σ q_j·P_j``
    equal to the tiered maintenance margin ``Σ MM_j(|q_j|·P_j·(1 + m))``. Returns (the fall,
    the rise): the root below 0 and the one above, NaN where none lies in
    ``[lowest, highest]`` or the pool holds nothing; 0 where the pool is already liquidatable.

    ``qtys`` and ``marks`` are (rows, symbols): signed base quantities and marks; ``equity``
    the pool's equity per row; ``tables`` each symbol's tier arrays. Equity minus MM is
    concave in ``m`` (MM is convex in the notional: the rates rise with the tiers), so each
    side holds one root, found by bisection."""
    signed = np.nan_to_num(qtys * marks)

    def slack(move: FloatArray) -> FloatArray:
        mm = np.zeros(move.shape)
        for j, (floors, mmrs, amounts) in enumerate(tables):
            mm += maintenance_margins(np.abs(signed[:, j]) * (1.0 + move), floors, mmrs, amounts)
        return np.asarray(equity + move * signed.sum(axis=1) - mm, dtype=np.float64)

    held = np.abs(signed).sum(axis=1) > 0
    now = slack(np.zeros(equity.shape))
    out = []
    for edge in (lowest, highest):
        inside = np.zeros(equity.shape)
        outside = np.full(equity.shape, edge)
        found = held & (now > 0) & (slack(outside) <= 0)
        for _ in range(steps):
            middle = 0.5 * (inside + outside)
            safe = slack(middle) > 0
            inside = np.where(safe, middle, inside)
            outside = np.where(safe, outside, middle)
        move = np.where(found, outside, np.nan)
        out.append(np.where(held & (now <= 0), 0.0, move))
    return out[0], out[1]
