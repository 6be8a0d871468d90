"""Venue profile: the rules a venue publishes, as data the margin engine reads.

The account model never branches on a venue's name; it reads these fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class FundingPrice(StrEnum):
    """Which price a venue settles funding at."""

    MARK = "mark"
    ORACLE = "oracle"


class LiquidationPriceRule(StrEnum):
    """How a venue's liquidation price is solved."""

    TIER_AT_LIQUIDATION = "tier_at_liquidation"
    """equity(P) = MM(P), using the tier containing the notional at P (Binance, Hyperliquid,
    OKX, dYdX)."""
    MM_AT_ENTRY = "mm_at_entry"
    """Maintenance margin fixed at the entry position value (Bybit isolated)."""


class TransferRule(StrEnum):
    """The limit on removing isolated margin and withdrawing from cross."""

    BINANCE = "binance"
    """Keep MM and initial margin at mark; unrealized profit is not removable (§1.4)."""
    HYPERLIQUID = "hyperliquid"
    """Keep max(IM, 10 % of notional); unrealized profit is removable (§2.8)."""


class OutcomeModel(StrEnum):
    """What happens to the trader when a position is liquidated (MARGIN_SPEC.md §7.5)."""

    BANKRUPTCY_CLOSE = "bankruptcy_close"
    """Closed at the bankruptcy price plus a clearance fee; the rest to the insurance fund."""
    MARKET_CLOSE = "market_close"
    """Market close keeping the remainder; 20 % partials above a notional; backstop below
    a fraction of MM (Hyperliquid)."""
    PENALTY_CLOSE = "penalty_close"
    """Closed at a fillable price with a penalty to the insurance fund (dYdX)."""


@dataclass(frozen=True)
class VenueProfile:
    """A venue's published rules. Per-symbol overrides live on the instrument/tier table."""

    name: str
    funding_price: FundingPrice
    funding_interval_hours: float
    liquidation_price_rule: LiquidationPriceRule
    transfer_rule: TransferRule
    outcome_model: OutcomeModel
    maker_fee: float
    taker_fee: float
    clearance_fee_rate: float = 0.0
    """Binance/Bybit liquidation ("insurance clearance") fee on the liquidated notional."""
    liquidation_penalty_rate: float = 0.0
    """dYdX maximum liquidation penalty, to the insurance fund."""
    partial_liquidation_notional: float | None = None
    """Hyperliquid: positions above this notional are first reduced by a fraction."""
    partial_liquidation_fraction: float = 1.0
    backstop_mm_fraction: float | None = None
    """Hyperliquid: below this fraction of MM the liquidator vault takes the position."""
    mm_adds_taker_fee: bool = False
    """OKX: the liquidation test uses MMR + taker fee rate."""
    integer_leverage: bool = False
    """Hyperliquid: leverage is an integer from 1 to the tier maximum."""
    supports_hedge_mode: bool = True
    funding_rate_cap: float | None = None
    """Absolute cap on one settlement's rate, where the venue applies a uniform one."""
    ccxt_id: str = ""
    """The ccxt exchange class for this venue's derivatives (``binanceusdm``, ``bybit``...)."""
    clearance_fee_rates: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    """Per-symbol clearance fee rates (ccxt symbol → rate) overriding ``clearance_fee_rate``."""
    funding_rate_caps: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    """Per-symbol caps on one settlement's rate (ccxt symbol → |rate|), where caps differ."""

    def clearance_fee_for(self, symbol: str) -> float:
        """Clearance fee rate for ``symbol``: its own rate where the venue sets one, else the
        venue default."""
        return self.clearance_fee_rates.get(symbol, self.clearance_fee_rate)

    def funding_rate_cap_for(self, symbol: str) -> float | None:
        """Cap on one settlement's rate for ``symbol`` (None when the venue publishes none)."""
        return self.funding_rate_caps.get(symbol, self.funding_rate_cap)
