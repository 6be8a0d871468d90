"""Position sizing: risk per trade from the stop, volatility targeting, a Kelly cap, tier limits.

Sizes are in contracts of the instrument and come from the instrument's own notional and PnL
arithmetic (``levtrade.margin.formulas``), so linear and inverse contracts size alike. Leverage
never changes the size a risk budget allows: the loss at the stop is the same at 2x and at 20x;
leverage only sets the margin, IM = notional / leverage.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from levtrade.errors import ConfigError
from levtrade.margin import contracts, formulas
from levtrade.margin.tiers import TierTable
from levtrade.model.instrument import Instrument
from levtrade.risk import _checks
from levtrade.risk._checks import Side

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class PositionSize:
    """A sized order: ``size`` contracts (≥ 0) on ``side`` at ``price``."""

    symbol: str
    side: Side
    size: float
    price: float
    leverage: float
    notional: float
    """Notional at ``price``."""
    margin: float
    """Initial margin: notional / leverage."""
    risk: float | None
    """Loss if the stop fills, fees included (None without a stop)."""
    limited_by: str
    """What bound the size: ``risk``, ``volatility``, ``tier`` or ``margin``."""

    @property
    def signed_size(self) -> float:
        """Contracts signed as an order (buy > 0)."""
        return self.size if self.side == "long" else -self.size


def loss_per_contract(
    instrument: Instrument,
    side: Side,
    entry_price: float,
    stop_price: float,
    *,
    entry_fee: float | None = None,
    exit_fee: float | None = None,
) -> float:
    """Loss of one contract entered at ``entry_price`` and stopped at ``stop_price``.

    It is the adverse PnL plus the entry fee on the entry notional and the exit fee on the
    notional at the stop (both default to the instrument's taker rate: market entry, stop exit).
    """
    parsed = _checks.side(side)
    entry = _checks.positive(entry_price, "entry_price")
    stop = _checks.positive(stop_price, "stop_price")
    if parsed == "long" and stop >= entry:
        raise ConfigError(
            f"stop_price: {stop_price!r} must be below the entry {entry_price!r} for a long"
        )
    if parsed == "short" and stop <= entry:
        raise ConfigError(
            f"stop_price: {stop_price!r} must be above the entry {entry_price!r} for a short"
        )
    f_in = instrument.taker_fee if entry_fee is None else _checks.fee_rate(entry_fee, "entry_fee")
    f_out = instrument.taker_fee if exit_fee is None else _checks.fee_rate(exit_fee, "exit_fee")
    one = _checks.sign(parsed)
    loss = (
        -contracts.upnl(instrument, one, entry, stop)
        + f_in * contracts.notional(instrument, one, entry)
        + f_out * contracts.notional(instrument, one, stop)
    )
    if loss <= 0:
        raise ConfigError(
            f"entry_fee: rebates of {f_in!r}/{f_out!r} make the stop a gain; no risk to size"
        )
    return loss


def risk_position_size(
    instrument: Instrument,
    side: Side,
    entry_price: float,
    stop_price: float,
    risk_amount: float,
    *,
    leverage: float = 1.0,
    entry_fee: float | None = None,
    exit_fee: float | None = None,
    tiers: TierTable | None = None,
    available_balance: float | None = None,
    round_to_lot: bool = True,
) -> PositionSize:
    """The size whose loss at the stop, fees included, equals ``risk_amount``.

    size = risk_amount / :func:`loss_per_contract`, whatever the leverage. It is then held
    within the largest size ``tiers`` allow at ``leverage`` and the size ``available_balance``
    can margin (IM + entry fee), and rounded down to the lot.
    """
    risk = _checks.positive(risk_amount, "risk_amount")
    lev = _checks.leverage(leverage)
    per_contract = loss_per_contract(
        instrument, side, entry_price, stop_price, entry_fee=entry_fee, exit_fee=exit_fee
    )
    f_in = instrument.taker_fee if entry_fee is None else entry_fee
    limits = [("risk", risk / per_contract)]
    limits += _limits(instrument, entry_price, lev, tiers, available_balance, f_in)
    reason, size = min(limits, key=lambda item: item[1])
    if round_to_lot:
        size = _round_down(instrument, size)
    return _sized(instrument, side, entry_price, lev, size, reason, size * per_contract)


def volatility_target_size(
    instrument: Instrument,
    side: Side,
    price: float,
    equity: float,
    target_volatility: float,
    volatility: float,
    *,
    leverage: float = 1.0,
    max_effective_leverage: float | None = None,
    tiers: TierTable | None = None,
    available_balance: float | None = None,
    fee_rate: float | None = None,
    round_to_lot: bool = True,
) -> PositionSize:
    """The size whose notional makes the position's volatility ``target_volatility`` of equity.

    notional = equity × target / volatility (both in the same units, e.g. annualised), at most
    ``max_effective_leverage`` × equity, then held within the tier and margin limits as
    :func:`risk_position_size` does.
    """
    _checks.side(side)
    at = _checks.positive(price, "price")
    capital = _checks.positive(equity, "equity")
    target = _checks.positive(target_volatility, "target_volatility")
    vol = _checks.positive(volatility, "volatility")
    lev = _checks.leverage(leverage)
    notional = capital * target / vol
    if max_effective_leverage is not None:
        cap = _checks.positive(max_effective_leverage, "max_effective_leverage")
        notional = min(notional, capital * cap)
    f_in = instrument.taker_fee if fee_rate is None else _checks.fee_rate(fee_rate, "fee_rate")
    limits = [("volatility", notional / contracts.notional(instrument, 1.0, at))]
    limits += _limits(instrument, at, lev, tiers, available_balance, f_in)
    reason, size = min(limits, key=lambda item: item[1])
    if round_to_lot:
        size = _round_down(instrument, size)
    return _sized(instrument, side, at, lev, size, reason, None)


def max_size_for_leverage(
    instrument: Instrument, tiers: TierTable, leverage: float, price: float
) -> float:
    """The largest size (contracts) whose notional at ``price`` is in a tier allowing
    ``leverage`` (:meth:`TierTable.max_notional_for_leverage`; the cap itself belongs to the
    next tier, so the size stays just below it). ``inf`` when every tier allows it."""
    lev = _checks.leverage(leverage)
    at = _checks.positive(price, "price")
    cap = tiers.max_notional_for_leverage(lev)
    if cap <= 0:
        raise ConfigError(
            f"leverage: {lev!r} exceeds the maximum {tiers.tiers[0].max_leverage!r} of every "
            f"tier of {tiers.symbol}"
        )
    if math.isinf(cap):
        return math.inf
    size = cap / contracts.notional(instrument, 1.0, at)
    while contracts.notional(instrument, size, at) >= cap:
        size = math.nextafter(size, 0.0)
    return size


def affordable_size(
    instrument: Instrument,
    price: float,
    available_balance: float,
    leverage: float,
    *,
    fee_rate: float | None = None,
) -> float:
    """The size whose initial margin plus entry fee ``available_balance`` covers."""
    at = _checks.positive(price, "price")
    available = _checks.non_negative(available_balance, "available_balance")
    lev = _checks.leverage(leverage)
    rate = instrument.taker_fee if fee_rate is None else _checks.fee_rate(fee_rate, "fee_rate")
    one = contracts.notional(instrument, 1.0, at)
    return available / (formulas.initial_margin(one, lev) + rate * one)


def kelly_fraction(win_rate: float, payoff_ratio: float) -> float:
    """Kelly's optimal fraction p − (1 − p)/b for win probability p and win/loss ratio b
    (negative when the edge is negative)."""
    p = _checks.fraction(win_rate, "win_rate", allow_zero=True)
    b = _checks.positive(payoff_ratio, "payoff_ratio")
    return p - (1.0 - p) / b


def kelly_cap(
    risk_fraction: float, win_rate: float, payoff_ratio: float, *, multiplier: float = 0.5
) -> float:
    """``risk_fraction`` capped at ``multiplier`` × Kelly (half Kelly by default), never < 0."""
    requested = _checks.fraction(risk_fraction, "risk_fraction", allow_zero=True)
    scale = _checks.fraction(multiplier, "multiplier")
    return min(requested, max(0.0, scale * kelly_fraction(win_rate, payoff_ratio)))


def win_rate_and_payoff(pnls: Sequence[float] | ArrayLike) -> tuple[float, float]:
    """Win rate and payoff ratio (mean win / mean loss) of closed trades' PnL, for the Kelly
    cap; a trade with PnL 0 counts as neither."""
    values = np.asarray(pnls, dtype=np.float64)
    if values.ndim != 1 or values.size == 0 or not np.isfinite(values).all():
        raise ConfigError(f"pnls: need a non-empty 1-D list of finite numbers, got {pnls!r}")
    wins, losses = values[values > 0], values[values < 0]
    if wins.size == 0 or losses.size == 0:
        raise ConfigError(
            f"pnls: need at least one win and one loss, got {wins.size} wins and "
            f"{losses.size} losses"
        )
    return wins.size / (wins.size + losses.size), float(wins.mean() / -losses.mean())


def stake_for_risk(
    risk_amount: ArrayLike,
    stop_distance: ArrayLike,
    leverage: ArrayLike,
    *,
    side: Side = "long",
    entry_fee: float = 0.0005,
    exit_fee: float = 0.0005,
) -> FloatArray:
    """Margin per entry (a signal table's ``stake``) for linear contracts: the stake whose loss
    at a stop ``stop_distance`` (a fraction of the entry price) away equals ``risk_amount``.

    Element-wise over arrays (NaN in gives NaN out); the same arithmetic as
    :func:`risk_position_size` on one contract of price 1.
    """
    direction = _checks.sign(_checks.side(side))
    f_in = _checks.fee_rate(entry_fee, "entry_fee")
    f_out = _checks.fee_rate(exit_fee, "exit_fee")
    risk = np.asarray(risk_amount, dtype=np.float64)
    distance = np.asarray(stop_distance, dtype=np.float64)
    lev = np.asarray(leverage, dtype=np.float64)
    _check_array(risk, "risk_amount", lambda a: a > 0, "> 0")
    _check_array(distance, "stop_distance", lambda a: (a > 0) & (a < 1), "in (0, 1)")
    _check_array(lev, "leverage", lambda a: a >= 1, "≥ 1")

    def stake(r: float, d: float, lv: float) -> float:
        if math.isnan(r) or math.isnan(d) or math.isnan(lv):
            return math.nan
        stop = 1.0 - direction * d
        per_unit = (
            -formulas.linear_upnl(direction, 1.0, 1.0, stop)
            + f_in * formulas.linear_notional(direction, 1.0, 1.0)
            + f_out * formulas.linear_notional(direction, 1.0, stop)
        )
        return formulas.initial_margin(r / per_unit, lv)

    result: Any = np.vectorize(stake, otypes=[np.float64])(risk, distance, lev)
    return np.asarray(result, dtype=np.float64)


def _check_array(values: FloatArray, field: str, ok: Any, rule: str) -> None:
    given = values[~np.isnan(values)]
    bad = given[~ok(given)]
    if bad.size or np.isinf(given).any():
        shown = bad[0] if bad.size else given[np.isinf(given)][0]
        raise ConfigError(f"{field}: must be {rule}, got {float(shown)!r}")


def _round_down(instrument: Instrument, size: float) -> float:
    """``size`` rounded to the lot, never above ``size`` (a limit must hold after rounding)."""
    rounded = instrument.round_size(size)
    if rounded > size:
        rounded = instrument.round_size(rounded - instrument.lot_size)
    return rounded


def _limits(
    instrument: Instrument,
    price: float,
    leverage: float,
    tiers: TierTable | None,
    available_balance: float | None,
    fee_rate: float,
) -> list[tuple[str, float]]:
    limits = []
    if tiers is not None:
        limits.append(("tier", max_size_for_leverage(instrument, tiers, leverage, price)))
    if available_balance is not None:
        affordable = affordable_size(
            instrument, price, available_balance, leverage, fee_rate=fee_rate
        )
        limits.append(("margin", affordable))
    return limits


def _sized(
    instrument: Instrument,
    side: Side,
    price: float,
    leverage: float,
    size: float,
    reason: str,
    risk: float | None,
) -> PositionSize:
    notional = contracts.notional(instrument, size, price)
    return PositionSize(
        symbol=instrument.symbol,
        side=side,
        size=size,
        price=float(price),
        leverage=leverage,
        notional=notional,
        margin=formulas.initial_margin(notional, leverage),
        risk=risk,
        limited_by=reason,
    )
