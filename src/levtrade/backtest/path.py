"""The intrabar path rule (docs/backtest.md, "One bar, in order", step 3) as pure functions.

Both engines walk a bar the same way, so the rule lives here once: the event-driven engine
calls these from Python, the compiled kernel from nopython code. Every function takes and
returns plain floats/ints/bools and is compiled by Numba (``func.py_func`` is the original).

A bar's path has four points, open → first extreme → second extreme → close: O→L→H→C when the
trade candle closes at or above its open (``low_first``), O→H→L→C otherwise. The mark candle
is walked in the same phase, with the **trade** candle's direction deciding which extreme comes
first for both. A *leg* is the straight line between two consecutive points; an event on a leg
sits at a *fraction* in [0, 1] of it, and the event at the smaller fraction happens first.

Direction codes: an order or liquidation with ``direction = +1`` triggers when the price rises
to its level (buy stop, sell limit, long take-profit, a short's liquidation); ``-1`` when the
price falls to it (sell stop, buy limit, short take-profit, a long's liquidation).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from levtrade._jit import compiled

FloatArray = NDArray[np.float64]

NEVER = math.inf
"""Fraction returned for a level the leg does not reach."""


@compiled
def low_first(open_: float, close: float) -> bool:
    """Whether the path visits the low before the high: the bar closes at or above its open."""
    return close >= open_


@compiled
def path_points(
    open_: float, high: float, low: float, close: float, lows_first: bool
) -> tuple[float, float, float, float]:
    """The four path points of a candle, in path order."""
    if lows_first:
        return open_, low, high, close
    return open_, high, low, close


@compiled
def reach_fraction(start: float, end: float, level: float, direction: int) -> float:
    """Fraction of the leg ``start → end`` at which the price reaches ``level``.

    0.0 when the leg already starts at or beyond the level (a gap: the event happens at the
    leg's start), :data:`NEVER` when the leg does not reach it (also for a NaN level).
    """
    if direction > 0:
        if start >= level:
            return 0.0
        if end >= level:
            return (level - start) / (end - start)
        return NEVER
    if start <= level:
        return 0.0
    if end <= level:
        return (level - start) / (end - start)
    return NEVER


@compiled
def price_at(start: float, end: float, fraction: float) -> float:
    """Price at ``fraction`` of the leg ``start → end``."""
    if fraction <= 0.0:
        return start
    if fraction >= 1.0:
        return end
    return start + (end - start) * fraction


@compiled
def stop_direction(is_buy: bool) -> int:
    """Trigger direction of a stop-type order (stop-market, trailing stop): a buy stop
    triggers on a rise, a sell stop on a fall."""
    return 1 if is_buy else -1


@compiled
def limit_direction(is_buy: bool) -> int:
    """Trigger direction of a limit-type order (limit, take-profit): a buy limit fills on a
    fall to its price, a sell limit on a rise."""
    return -1 if is_buy else 1


@compiled
def liquidation_direction(size: float) -> int:
    """Trigger direction of a position's liquidation: a long's mark falls to it (-1), a
    short's rises (+1)."""
    return -1 if size > 0.0 else 1


@compiled
def slipped(price: float, is_buy: bool, slippage: float) -> float:
    """Adverse slippage (a fraction): buys fill at ``price·(1 + s)``, sells at
    ``price·(1 − s)``."""
    if is_buy:
        return price * (1.0 + slippage)
    return price * (1.0 - slippage)


@compiled
def participation_slippage(slippage: float, impact: float, quantity: float, volume: float) -> float:
    """Slippage fraction of a fill: the fixed ``slippage`` plus ``impact`` × the fill's share
    of the bar's volume (base units; capped at 1, and 1 when the bar has no volume)."""
    if impact == 0.0:
        return slippage
    if not volume > 0.0:
        return slippage + impact
    share = abs(quantity) / volume
    if share > 1.0:
        share = 1.0
    return slippage + impact * share


@compiled
def trail_stop(stop: float, price: float, is_long: bool, ratio: float, amount: float) -> float:
    """A trailing stop moved at a path point at ``price``: ``ratio`` (fraction) and/or
    ``amount`` (price units) below the price for a long (above for a short); it only ever
    tightens. A NaN ``stop`` (none yet) takes the new level."""
    if is_long:
        candidate = price * (1.0 - ratio) - amount
        if math.isnan(stop) or candidate > stop:
            return candidate
        return stop
    candidate = price * (1.0 + ratio) + amount
    if math.isnan(stop) or candidate < stop:
        return candidate
    return stop


@compiled
def stoploss_level(entry: float, is_long: bool, stoploss: float, leverage: float) -> float:
    """FreqTrade's stop: ``|stoploss|`` of the stake, i.e. ``entry·(1 ∓ |stoploss|/L)``."""
    if is_long:
        return entry * (1.0 - abs(stoploss) / leverage)
    return entry * (1.0 + abs(stoploss) / leverage)


@compiled
def roi_level(
    entry: float,
    is_long: bool,
    ratio: float,
    leverage: float,
    quantity: float,
    funding: float,
    open_fee: float,
    close_fee: float,
) -> float:
    """FreqTrade's ROI exit price: where the trade's profit ratio net of both fees and of the
    ``funding`` booked so far (received > 0) reaches ``ratio`` (its ``calc_close_rate_for_roi``).

    The profit ratio is ``±(close value / open value − 1)·L`` with open value
    ``q·entry·(1 ± open_fee)`` and close value ``q·price·(1 ∓ close_fee) ± funding`` (upper
    signs long; ``q`` the base quantity), so the level is, long,
    ``((1 + ratio/L)·q·entry·(1 + open_fee) − funding) / (q·(1 − close_fee))``, short,
    ``((1 − ratio/L)·q·entry·(1 − open_fee) + funding) / (q·(1 + close_fee))``.
    """
    if is_long:
        value = (1.0 + ratio / leverage) * quantity * entry * (1.0 + open_fee)
        return (value - funding) / (quantity * (1.0 - close_fee))
    value = (1.0 - ratio / leverage) * quantity * entry * (1.0 - open_fee)
    return (value + funding) / (quantity * (1.0 + close_fee))


@compiled
def profit_ratio(
    entry: float,
    price: float,
    is_long: bool,
    leverage: float,
    quantity: float,
    funding: float,
    open_fee: float,
    close_fee: float,
) -> float:
    """FreqTrade's profit ratio of a trade at ``price`` (its ``calc_profit_ratio``): net of both
    fees and of the ``funding`` booked so far (received > 0), as a ratio of the stake.

    With open value ``q·entry·(1 ± open_fee)`` and close value ``q·price·(1 ∓ close_fee) ±
    funding`` (upper signs long), the ratio is ``(close/open − 1)·L`` long and ``(1 −
    close/open)·L`` short: what :func:`roi_level` solves for and the trailing stop's
    ``trailing_stop_positive_offset`` is compared with."""
    if is_long:
        opened = quantity * entry * (1.0 + open_fee)
        closed = quantity * price * (1.0 - close_fee) + funding
        return (closed / opened - 1.0) * leverage
    opened = quantity * entry * (1.0 - open_fee)
    closed = quantity * price * (1.0 + close_fee) - funding
    return (1.0 - closed / opened) * leverage


@compiled
def roi_ratio(minutes: FloatArray, ratios: FloatArray, age_minutes: float) -> float:
    """FreqTrade's ``minimal_roi`` in force for a trade ``age_minutes`` old: the ratio of the
    largest key ≤ the age (``minutes`` ascending); NaN when no key applies yet."""
    found = math.nan
    for k in range(minutes.shape[0]):
        if minutes[k] <= age_minutes:
            found = ratios[k]
        else:
            break
    return found


@compiled
def trailing_ratio(
    profit: float, stoploss: float, positive: float, offset: float, only_offset: bool
) -> float:
    """Stake ratio a FreqTrade trailing stop keeps behind the best price at a point where the
    trade's profit ratio is ``profit``: ``trailing_stop_positive`` once the profit exceeds the
    offset, else ``|stoploss|`` unless ``trailing_only_offset_is_reached``; NaN: no move.
    ``positive``/``stoploss`` are NaN when not set."""
    if positive > 0.0 and profit > offset:
        return positive
    if only_offset:
        return math.nan
    return abs(stoploss)
