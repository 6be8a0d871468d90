"""Liquidation outcome models and the insurance fund.

The account decides *whether* a pool (the cross pool, or one isolated position) is
liquidatable: equity ≤ maintenance margin at the mark. This module decides *what happens*,
given the pool's margin and each position's PnL at the price the liquidation executes (the
mark at the trigger, or a worse gap price), per :class:`~levtrade.model.venue.OutcomeModel`:

* ``BANKRUPTCY_CLOSE`` (Binance, Bybit): the trader is closed at the bankruptcy price, so the
  pool ends at zero. Of the equity left at execution, the clearance fee (rate × liquidated
  notional, capped at that equity) goes to ``liquidation_fees`` and the rest to the insurance
  fund; a fill beyond the bankruptcy price is covered by the fund, never by the trader.
* ``MARKET_CLOSE`` (Hyperliquid): below ``backstop_mm_fraction``·MM at execution the liquidator
  vault takes the positions and the pool's margin; otherwise market close at the execution
  price with no fee, the trader keeping the rest. Positions above
  ``partial_liquidation_notional`` are first reduced by ``partial_liquidation_fraction``; within
  :data:`PARTIAL_LIQUIDATION_COOLDOWN_MS` of a partial, liquidations close whole positions.
* ``PENALTY_CLOSE`` (dYdX): close at the execution price; a penalty of up to
  ``liquidation_penalty_rate`` of the notional (capped at the equity left) to the insurance
  fund, the trader keeping the rest; a shortfall is covered by the fund.

In every model the pool's book ends ≥ 0: a trader never loses more than the margin at risk.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from levtrade.margin import formulas
from levtrade.margin.ledger import INSURANCE_FUND, LIQUIDATION_FEES
from levtrade.model.venue import OutcomeModel, VenueProfile

PARTIAL_LIQUIDATION_COOLDOWN_MS = 30_000
"""Hyperliquid: after a partial liquidation, liquidations within 30 s close whole positions."""


class InsuranceFund:
    """The venue's insurance fund, one balance per settle currency.

    It can be shared by several accounts (a cascade in one backtest). A negative balance means
    the fund paid more than it had: on a venue that is where auto-deleveraging would begin.
    """

    def __init__(self, balances: Mapping[str, float] | None = None) -> None:
        self._balances: dict[str, float] = dict(balances or {})

    def balance(self, currency: str) -> float:
        return self._balances.get(currency, 0.0)

    @property
    def balances(self) -> dict[str, float]:
        return dict(self._balances)

    def apply(self, currency: str, delta: float) -> None:
        """Change one currency's balance; the account calls this with each ledger entry."""
        self._balances[currency] = self._balances.get(currency, 0.0) + delta

    def reset(self, balances: Mapping[str, float]) -> None:
        """Replace every balance (an account rolling back a rejected action)."""
        self._balances = dict(balances)


class LiquidationOutcome(StrEnum):
    FULL = "full"
    """Every position of the pool closed."""
    PARTIAL = "partial"
    """Large positions reduced by the venue's fraction; the pool is tested again later."""
    BACKSTOP = "backstop"
    """The liquidator vault took the positions and the pool's margin."""


@dataclass(frozen=True, slots=True)
class LegAtExecution:
    """One position of the pool, valued at the price its liquidation order executes."""

    symbol: str
    size: float
    execution_price: float
    pnl: float
    """PnL of the whole position at the execution price."""
    notional: float
    maintenance_margin: float


@dataclass(frozen=True, slots=True)
class LiquidationPlan:
    """What the outcome model decided; the account books it."""

    outcome: LiquidationOutcome
    fractions: tuple[float, ...]
    """Fraction of each leg closed (1 for a full close), in the order the legs were given."""
    fee: float
    """Clearance fee or penalty charged to the pool, capped at the equity left."""
    fee_book: str
    """Where the fee goes: ``liquidation_fees`` (clearance fee) or ``insurance_fund`` (penalty)."""
    residual_to_fund: bool
    """Whether what is left after a full close goes to the insurance fund (the trader was
    closed at the bankruptcy price) rather than back to the trader."""

    @property
    def backstop(self) -> bool:
        return self.outcome is LiquidationOutcome.BACKSTOP


def plan_liquidation(
    venue: VenueProfile,
    margin: float,
    legs: Sequence[LegAtExecution],
    *,
    time: int,
    last_partial_time: int | None,
) -> LiquidationPlan:
    """Decide the outcome of liquidating a pool holding ``margin`` (cross wallet or isolated
    margin) with ``legs`` valued at execution.

    A full close leaves the pool's residual either to the insurance fund or to the trader; a
    negative residual (a fill beyond the bankruptcy price) is always the fund's to cover.
    """
    equity = margin + math.fsum(leg.pnl for leg in legs)
    full = tuple(1.0 for _ in legs)
    model = venue.outcome_model

    if model is OutcomeModel.BANKRUPTCY_CLOSE:
        fee = formulas.capped_fee(
            math.fsum(venue.clearance_fee_for(leg.symbol) * leg.notional for leg in legs), equity
        )
        return LiquidationPlan(LiquidationOutcome.FULL, full, fee, LIQUIDATION_FEES, True)

    if model is OutcomeModel.PENALTY_CLOSE:
        fee = formulas.capped_fee(
            venue.liquidation_penalty_rate * math.fsum(leg.notional for leg in legs), equity
        )
        return LiquidationPlan(LiquidationOutcome.FULL, full, fee, INSURANCE_FUND, False)

    maintenance = math.fsum(leg.maintenance_margin for leg in legs)
    if venue.backstop_mm_fraction is not None and equity < venue.backstop_mm_fraction * maintenance:
        return LiquidationPlan(LiquidationOutcome.BACKSTOP, full, 0.0, INSURANCE_FUND, False)

    cooling = (
        last_partial_time is not None and time - last_partial_time < PARTIAL_LIQUIDATION_COOLDOWN_MS
    )
    threshold = venue.partial_liquidation_notional
    fraction = venue.partial_liquidation_fraction
    if threshold is None or fraction >= 1.0 or cooling or equity < 0.0:
        return LiquidationPlan(LiquidationOutcome.FULL, full, 0.0, INSURANCE_FUND, False)
    fractions = tuple(fraction if leg.notional > threshold else 1.0 for leg in legs)
    outcome = (
        LiquidationOutcome.PARTIAL if any(f < 1.0 for f in fractions) else LiquidationOutcome.FULL
    )
    return LiquidationPlan(outcome, fractions, 0.0, INSURANCE_FUND, False)
