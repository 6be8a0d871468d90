"""The margin engine: tiers, formulas, the account model, its ledger, liquidation and funding.

``Account`` (futures) and ``SpotAccount`` (spot and spot margin: loans, interest, margin
level) are the single source of margin truth that the backtester, the local venue, the live
layer and the calculator all drive; ``ScopedAccount`` pools futures positions by a venue's
account type across DEXs. See docs/margin.md. The position vocabulary
(``MarginMode``, ``PositionMode``, ``Leg``, ``PositionKey``) lives in :mod:`levtrade.model` and
is re-exported here for callers of the account.
"""

from __future__ import annotations

from levtrade.margin.account import (
    CROSS_POOL,
    Account,
    FillResult,
    LiquidatedLeg,
    LiquidationResult,
    Position,
    PositionNotFound,
)
from levtrade.margin.funding import FundingSchedule
from levtrade.margin.ledger import Entry, EntryKind, Ledger, SpotEntryKind
from levtrade.margin.liquidation import InsuranceFund, LiquidationOutcome
from levtrade.margin.scopes import MAIN_DEX, ScopedAccount
from levtrade.margin.spot import (
    SPOT_POOL,
    MarginStatus,
    SpotAccount,
    SpotFill,
    SpotLiquidation,
    isolated_pool,
)
from levtrade.margin.tiers import Tier, TierTable
from levtrade.model.positions import (
    AccountType,
    Leg,
    MarginMode,
    MarketMarginRule,
    PositionKey,
    PositionMode,
    TradingMode,
)

__all__ = [
    "CROSS_POOL",
    "MAIN_DEX",
    "SPOT_POOL",
    "Account",
    "AccountType",
    "Entry",
    "EntryKind",
    "FillResult",
    "FundingSchedule",
    "InsuranceFund",
    "Ledger",
    "Leg",
    "LiquidatedLeg",
    "LiquidationOutcome",
    "LiquidationResult",
    "MarginMode",
    "MarginStatus",
    "MarketMarginRule",
    "Position",
    "PositionKey",
    "PositionMode",
    "PositionNotFound",
    "ScopedAccount",
    "SpotAccount",
    "SpotEntryKind",
    "SpotFill",
    "SpotLiquidation",
    "Tier",
    "TierTable",
    "TradingMode",
    "isolated_pool",
]
