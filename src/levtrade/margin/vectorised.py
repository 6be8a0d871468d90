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

__all__ = ["isolated_liquidation_prices", "maintenance_margins", "signed_notionals", "upnls"]

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
