"""Hyperliquid perpetuals: the published rules as a :class:`VenueProfile`.

Sources (MARGIN_SPEC.md §2): funding every hour at the **oracle** price, capped at 4 % per hour
for every asset (§2.7); the liquidation price uses the margin tier at the liquidation price
(§2.4); transfers keep ``max(initial margin, 10 % of notional)`` and release unrealized profit
(§2.8); liquidation sends market orders and the trader keeps what is left, positions above
100,000 USDC notional are first reduced by 20 %, and below ⅔ of maintenance margin the
liquidator vault takes the position (§2.5, §7.5); no clearance fee (§2.5). Leverage is an
integer from 1 to the tier maximum and there is no hedge mode (§2.1). Fees are the base-tier
perpetual rates (maker 0.015 %, taker 0.045 %), ccxt 4.5.90's ``hyperliquid`` swap defaults.

Builder-deployed (HIP-3) DEXs (§12): Hyperliquid names their coins ``dex:COIN`` (``xyz:AAPL``)
and ccxt ``DEX-COIN/QUOTE:SETTLE`` (``XYZ-AAPL/USDC:USDC``), settled in the DEX's collateral
token: USDC on the main DEX and on ``xyz``; other DEXs' tokens are read from the symbol.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from levtrade.errors import UnknownSymbolError
from levtrade.model.instrument import split_ccxt_symbol
from levtrade.model.venue import (
    FundingPrice,
    LiquidationPriceRule,
    OutcomeModel,
    TransferRule,
    VenueProfile,
)

PROFILE = VenueProfile(
    name="hyperliquid",
    funding_price=FundingPrice.ORACLE,
    funding_interval_hours=1.0,
    liquidation_price_rule=LiquidationPriceRule.TIER_AT_LIQUIDATION,
    transfer_rule=TransferRule.HYPERLIQUID,
    outcome_model=OutcomeModel.MARKET_CLOSE,
    maker_fee=0.00015,
    taker_fee=0.00045,
    partial_liquidation_notional=100_000.0,
    partial_liquidation_fraction=0.2,
    backstop_mm_fraction=2.0 / 3.0,
    integer_leverage=True,
    supports_hedge_mode=False,
    funding_rate_cap=0.04,
    ccxt_id="hyperliquid",
)

_SETTLE = "USDC"

DEX_COLLATERAL: Mapping[str, str] = MappingProxyType({"xyz": "USDC"})
"""Collateral token of the builder-deployed DEXs MARGIN_SPEC.md §12 names."""


def to_venue_symbol(symbol: str) -> str:
    """Hyperliquid coin name of a ccxt perpetual: ``BTC/USDC:USDC`` → ``BTC``,
    ``XYZ-AAPL/USDC:USDC`` → ``xyz:AAPL``."""
    parts = split_ccxt_symbol(symbol)
    dex, dash, coin = parts.base.partition("-")
    if dash:
        if not dex or not coin or parts.settle != parts.quote or parts.expiry:
            raise UnknownSymbolError(
                f"hyperliquid DEX markets are DEX-COIN/TOKEN:TOKEN perpetuals, got {symbol!r}"
            )
        return f"{dex.lower()}:{coin}"
    if parts.quote != _SETTLE or parts.settle != _SETTLE or parts.expiry:
        raise UnknownSymbolError(
            f"hyperliquid symbol mapping covers USDC perpetuals (BASE/USDC:USDC), got {symbol!r}"
        )
    return parts.base


def to_ccxt_symbol(venue_symbol: str) -> str:
    """ccxt symbol of a Hyperliquid perpetual coin name: ``BTC`` → ``BTC/USDC:USDC``,
    ``xyz:AAPL`` → ``XYZ-AAPL/USDC:USDC``."""
    coin = venue_symbol.strip()
    dex, colon, name = coin.partition(":")
    if colon and dex and name and "/" not in coin:
        token = DEX_COLLATERAL.get(dex.lower())
        if token is None:
            raise UnknownSymbolError(
                f"hyperliquid symbol {venue_symbol!r}: the collateral token of DEX {dex!r} is "
                f"not known (known: {', '.join(sorted(DEX_COLLATERAL))}); give the ccxt symbol"
            )
        return f"{dex.upper()}-{name}/{token}:{token}"
    if not coin or "/" in coin or ":" in coin or coin.startswith("@"):
        raise UnknownSymbolError(
            f"hyperliquid symbol {venue_symbol!r}: expected a main-dex perpetual coin name "
            "such as 'BTC'"
        )
    return f"{coin}/{_SETTLE}:{_SETTLE}"
