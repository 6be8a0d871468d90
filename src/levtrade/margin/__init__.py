"""The margin engine: tiers, formulas, the account model, its ledger, liquidation and funding.

``Account`` is the single source of margin truth that the backtester, the live broker and the
calculator all drive; see docs/margin.md.

The public names are resolved on first use (PEP 562): ``levtrade.instruments`` imports
``levtrade.margin.formulas``, which must not pull in the account (which imports instruments).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from levtrade.margin.account import (
        CROSS_POOL,
        Account,
        FillResult,
        Leg,
        LiquidatedLeg,
        LiquidationResult,
        MarginMode,
        Position,
        PositionKey,
        PositionMode,
        PositionNotFound,
    )
    from levtrade.margin.funding import FundingSchedule
    from levtrade.margin.ledger import Entry, EntryKind, Ledger
    from levtrade.margin.liquidation import InsuranceFund, LiquidationOutcome
    from levtrade.margin.tiers import Tier, TierTable

_EXPORTS = {
    "CROSS_POOL": "account",
    "Account": "account",
    "FillResult": "account",
    "Leg": "account",
    "LiquidatedLeg": "account",
    "LiquidationResult": "account",
    "MarginMode": "account",
    "Position": "account",
    "PositionKey": "account",
    "PositionMode": "account",
    "PositionNotFound": "account",
    "FundingSchedule": "funding",
    "Entry": "ledger",
    "EntryKind": "ledger",
    "Ledger": "ledger",
    "InsuranceFund": "liquidation",
    "LiquidationOutcome": "liquidation",
    "Tier": "tiers",
    "TierTable": "tiers",
}

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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'levtrade.margin' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"levtrade.margin.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
