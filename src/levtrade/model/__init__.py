"""The vocabulary every layer shares: instruments, position identity, orders and trades, and
venue profiles. It imports nothing of levtrade's but :mod:`levtrade.errors`, so the margin
engine, the engines, the local venue and the live layer all speak it without importing each
other."""

from __future__ import annotations

from levtrade.model.instrument import ContractKind, Instrument, SymbolParts, split_ccxt_symbol
from levtrade.model.orders import (
    MAKER_TYPES,
    STOP_TYPES,
    Order,
    OrderStatus,
    OrderType,
    Reason,
    Trade,
    parse_order_type,
)
from levtrade.model.positions import (
    AccountType,
    Leg,
    MarginMode,
    MarketMarginRule,
    PositionKey,
    PositionMode,
    TradingMode,
)
from levtrade.model.venue import (
    AutoBorrow,
    FeeAsset,
    FundingPrice,
    InterestRule,
    LiquidationPriceRule,
    MarginLevelRule,
    MarginLevels,
    OutcomeModel,
    RolloverCount,
    SpotMarginProfile,
    TransferRule,
    VenueProfile,
)

__all__ = [
    "MAKER_TYPES",
    "STOP_TYPES",
    "AccountType",
    "AutoBorrow",
    "ContractKind",
    "FeeAsset",
    "FundingPrice",
    "Instrument",
    "InterestRule",
    "Leg",
    "LiquidationPriceRule",
    "MarginLevelRule",
    "MarginLevels",
    "MarginMode",
    "MarketMarginRule",
    "Order",
    "OrderStatus",
    "OrderType",
    "OutcomeModel",
    "PositionKey",
    "PositionMode",
    "Reason",
    "RolloverCount",
    "SpotMarginProfile",
    "SymbolParts",
    "Trade",
    "TradingMode",
    "TransferRule",
    "VenueProfile",
    "parse_order_type",
    "split_ccxt_symbol",
]
