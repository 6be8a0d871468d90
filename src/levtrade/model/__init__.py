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
from levtrade.model.positions import Leg, MarginMode, PositionKey, PositionMode
from levtrade.model.venue import (
    FundingPrice,
    LiquidationPriceRule,
    OutcomeModel,
    TransferRule,
    VenueProfile,
)

__all__ = [
    "MAKER_TYPES",
    "STOP_TYPES",
    "ContractKind",
    "FundingPrice",
    "Instrument",
    "Leg",
    "LiquidationPriceRule",
    "MarginMode",
    "Order",
    "OrderStatus",
    "OrderType",
    "OutcomeModel",
    "PositionKey",
    "PositionMode",
    "Reason",
    "SymbolParts",
    "Trade",
    "TransferRule",
    "VenueProfile",
    "parse_order_type",
    "split_ccxt_symbol",
]
