"""The margin engine: tiers, formulas, the account model, its ledger, liquidation and funding.

``Account`` is the single source of margin truth that the backtester, the local venue, the live
layer and the calculator all drive; see docs/margin.md. The position vocabulary
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
from levtrade.margin.ledger import Entry, EntryKind, Ledger
from levtrade.margin.liquidation import InsuranceFund, LiquidationOutcome
from levtrade.margin.tiers import Tier, TierTable
from levtrade.model.positions import Leg, MarginMode, PositionKey, PositionMode

__all__ = [
    "CROSS_POOL",
    "Account",
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
    "Position",
    "PositionKey",
    "PositionMode",
    "PositionNotFound",
    "Tier",
    "TierTable",
]
