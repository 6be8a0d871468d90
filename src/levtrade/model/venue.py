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


# ============================================================================================
# Spot and spot margin (MARGIN_SPEC.md §11)
# ============================================================================================


class FeeAsset(StrEnum):
    """Which asset a spot trading fee is taken in."""

    RECEIVED = "received"
    """The asset the trade delivers: base on a buy, quote on a sell (Binance; ccxt's
    ``feeSide: get``)."""
    QUOTE = "quote"
    """The quote asset on both sides (Kraken)."""


class InterestRule(StrEnum):
    """How a venue charges interest on a margin loan."""

    HOURLY = "hourly"
    """Binance: simple interest per clock hour. One hour is charged when the loan is made,
    then one at the start of every hour the loan is still open, so a part hour counts as a
    whole hour (§11.1)."""
    ROLLOVER = "rollover"
    """Kraken: an opening fee on the amount borrowed, then a rollover fee per period counted
    from the borrow time (§11.2)."""


class RolloverCount(StrEnum):
    """How many rollover fees a loan held ``h`` hours pays (§11.2: the count is unpinned)."""

    AFTER_PERIOD = "after_period"
    """One after each full period open, floor(h / period): Kraken's fee table ("starts after
    4 hours"); the worked example that counts 18 for 74 hours."""
    PERIOD_START = "period_start"
    """One at the start of each period, the first at open, ceil(h / period): FreqTrade's
    formula I = borrowed × rate × (1 + ceil(h / 4)), 19 for 74 hours."""


class MarginLevelRule(StrEnum):
    """What a venue calls its margin level."""

    ASSETS_OVER_LIABILITIES = "assets_over_liabilities"
    """Binance: total asset value ÷ (liabilities + outstanding interest)."""
    EQUITY_OVER_USED_MARGIN = "equity_over_used_margin"
    """Kraken: equity ÷ used margin, used margin = the borrowed amount ÷ the position's
    leverage, valued at the current price."""


class AutoBorrow(StrEnum):
    """What an order borrows when the venue's auto-borrow mode is on."""

    SHORTFALL = "shortfall"
    """What the free balance lacks (Binance ``sideEffectType=MARGIN_BUY``)."""
    FULL = "full"
    """The whole amount the position spends or sells comes from the venue's margin pool;
    the collateral stays in the balance (Kraken)."""


@dataclass(frozen=True)
class MarginLevels:
    """The margin-level thresholds of one kind of margin account (in the venue's own margin
    level, :class:`MarginLevelRule`). A level at or below a threshold is in its zone."""

    max_leverage: float
    borrow: float
    """New borrowing must leave the margin level at or above this."""
    margin_call: float
    liquidation: float
    transfer_out: float | None = None
    """Above this the account may transfer assets out (Binance); None where not published."""


@dataclass(frozen=True)
class SpotMarginProfile:
    """A venue's spot and spot-margin rules, as data the spot account reads."""

    name: str
    maker_fee: float
    taker_fee: float
    fee_asset: FeeAsset
    interest_rule: InterestRule
    interest_period_hours: float
    """1 for hourly interest; the rollover period (Kraken: 4)."""
    rollover_count: RolloverCount = RolloverCount.AFTER_PERIOD
    margin_level_rule: MarginLevelRule = MarginLevelRule.ASSETS_OVER_LIABILITIES
    auto_borrow: AutoBorrow = AutoBorrow.SHORTFALL
    cross: MarginLevels | None = None
    """Cross-margin thresholds; None where the venue has no cross margin account."""
    isolated: MarginLevels | None = None
    """Isolated (per pair) thresholds; None where the venue has none."""
    liquidation_fee_rate: float = 0.0
    """Fee on the assets a liquidation sells, cross account."""
    isolated_liquidation_fee_rate: float = 0.0
    interest_rates: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    """Default interest (rollover) rate per asset and period, where the venue publishes one."""
    opening_fee_rates: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    """Opening fee per asset on the amount borrowed (Kraken); defaults to the rollover rate."""
    rules_as_of: str = ""
    """The date of the thresholds and rates (they change; MARGIN_SPEC.md §11)."""

    def levels(self, isolated: bool) -> MarginLevels | None:
        """The thresholds of a cross or an isolated margin account (None: not offered)."""
        return self.isolated if isolated else self.cross
