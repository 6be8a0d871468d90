"""Venues: each venue's published rules (:class:`VenueProfile`; spot and spot margin:
:class:`~levtrade.model.venue.SpotMarginProfile`), symbol mapping, and tier tables
versioned by venue, symbol and effective date — the venues' full tables shipped as dated
package data, parsers for venue responses and files, and a dated fetch cache.

>>> from levtrade.venues import get_venue, default_tiers
>>> get_venue("Binance").taker_fee
0.0005
>>> default_tiers("binance", "BTC/USDT:USDT").tier_at(100_000).max_leverage
150.0
"""

from __future__ import annotations

from levtrade.model.instrument import SymbolParts, split_ccxt_symbol
from levtrade.model.venue import (
    FundingPrice,
    LiquidationPriceRule,
    OutcomeModel,
    TransferRule,
    VenueProfile,
)
from levtrade.venues.registry import (
    VENUES,
    TierRegistry,
    ccxt_symbol,
    get_venue,
    instrument_for,
    unified_symbol,
    venue_name,
    venue_symbol,
)
from levtrade.venues.shipped import (
    default_registry,
    default_tiers,
    shipped_tables,
    user_tier_dir,
)
from levtrade.venues.sources import (
    cache_path,
    dydx_tier_table,
    fetch_tiers,
    import_tier_file,
    load_cached_tiers,
    load_tier_file,
    parse_binance_leverage_brackets,
    parse_bybit_risk_limits,
    parse_ccxt_leverage_tiers,
    parse_dydx_liquidity_tier,
    parse_hyperliquid_meta,
    parse_okx_position_tiers,
)
from levtrade.venues.spot_margin import SPOT_VENUES, get_spot_venue, spot_instrument_for

__all__ = [
    "SPOT_VENUES",
    "VENUES",
    "FundingPrice",
    "LiquidationPriceRule",
    "OutcomeModel",
    "SymbolParts",
    "TierRegistry",
    "TransferRule",
    "VenueProfile",
    "cache_path",
    "ccxt_symbol",
    "default_registry",
    "default_tiers",
    "dydx_tier_table",
    "fetch_tiers",
    "get_spot_venue",
    "get_venue",
    "import_tier_file",
    "instrument_for",
    "load_cached_tiers",
    "load_tier_file",
    "parse_binance_leverage_brackets",
    "parse_bybit_risk_limits",
    "parse_ccxt_leverage_tiers",
    "parse_dydx_liquidity_tier",
    "parse_hyperliquid_meta",
    "parse_okx_position_tiers",
    "shipped_tables",
    "split_ccxt_symbol",
    "spot_instrument_for",
    "unified_symbol",
    "user_tier_dir",
    "venue_name",
    "venue_symbol",
]
