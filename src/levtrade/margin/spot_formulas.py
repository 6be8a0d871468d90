"""Pure spot-margin formulas: interest counts, margin levels, and the price at a margin level.

Compiled like :mod:`levtrade.margin.formulas` (the original of each is ``func.py_func``), in a
module of their own so that the signal kernel's build digest, which covers ``formulas.py``,
does not change with them. Sources: MARGIN_SPEC.md §11.

Times are int64 milliseconds UTC. A margin level is a ratio of two quantities that are each
linear in the price of any one asset, others held: ``(n1·P + n0) / (d1·P + d0)``. That covers
Binance's total assets ÷ (liabilities + interest) and Kraken's equity ÷ used margin alike, so
one solver gives the price of a margin call or a liquidation for both.
"""

from __future__ import annotations

import math

from levtrade._jit import compiled


@compiled
def hourly_charge_count(borrowed_at: int, repaid_at: int, period_ms: int) -> int:
    """Hours of interest a loan pays under Binance's rule (§11.1): one when it is borrowed,
    then one at the start of every clock hour (a multiple of ``period_ms``) strictly between
    the borrow and the repayment. A part hour is a whole hour; a repayment exactly on the hour
    settles before that hour's charge."""
    if repaid_at <= borrowed_at:
        return 1
    first = (borrowed_at // period_ms + 1) * period_ms
    if repaid_at <= first:
        return 1
    last = -((-repaid_at) // period_ms) - 1  # the last multiple strictly below repaid_at
    return 1 + int(last - first // period_ms + 1)


@compiled
def rollover_count(held_ms: int, period_ms: int, at_period_start: bool) -> int:
    """Rollover fees of a loan held ``held_ms`` (§11.2): ceil(h / period) when one is charged at
    the start of each period (the first at open; at least one), floor(h / period) when one is
    charged after each full period."""
    if at_period_start:
        if held_ms <= 0:
            return 1
        return int(-((-held_ms) // period_ms))
    if held_ms <= 0:
        return 0
    return int(held_ms // period_ms)


@compiled
def simple_interest(principal: float, rate: float, periods: float) -> float:
    """Simple interest: principal × rate per period × periods."""
    return principal * rate * periods


@compiled
def margin_level(numerator: float, denominator: float) -> float:
    """A margin level ``numerator / denominator``; infinite with nothing borrowed."""
    if denominator <= 0.0:
        return math.inf
    return numerator / denominator


@compiled
def level_price(n1: float, n0: float, d1: float, d0: float, level: float) -> float:
    """The price P > 0 at which ``(n1·P + n0) / (d1·P + d0)`` equals ``level``; NaN when no
    positive finite price does (the level does not depend on P, or the solution is ≤ 0)."""
    slope = n1 - level * d1
    if slope == 0.0:
        return math.nan
    price = (level * d0 - n0) / slope
    if not 0.0 < price < math.inf:
        return math.nan
    return price


@compiled
def max_borrow_assets_over_liabilities(assets: float, liabilities: float, level: float) -> float:
    """Most value that can be borrowed with the margin level assets ÷ liabilities staying at
    or above ``level`` (> 1): borrowing x raises both by x, (A + x)/(L + x) ≥ T."""
    return max(0.0, (assets - level * liabilities) / (level - 1.0))


@compiled
def max_borrow_equity_over_used_margin(
    equity: float, used_margin: float, leverage: float, level: float
) -> float:
    """Most value that can be borrowed at ``leverage`` with equity ÷ used margin staying at or
    above ``level``: borrowing x adds x / leverage of used margin, E / (U + x/L) ≥ T."""
    return max(0.0, (equity / level - used_margin) * leverage)
