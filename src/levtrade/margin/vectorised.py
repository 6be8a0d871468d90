"""Margin figures for many positions at once: compiled loops over the pure formulas.

Each function here is one Numba loop that calls a function of :mod:`levtrade.margin.formulas`
per position, so the figures are exactly the formulas' (the single source of margin truth),
without a Python call per position. Inputs are float64 arrays of one length; the tier table is
the three arrays of :class:`~levtrade.margin.tiers.TierTable` (``floors``, ``mmrs``,
``amounts``), shared by every position.
"""

from __future__ import annotations

import numpy as np

from levtrade._jit import compiled
from levtrade.margin import formulas
from levtrade.margin.formulas import FloatArray

__all__ = ["isolated_liquidation_prices"]


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
