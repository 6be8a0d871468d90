"""Spot and spot-margin venue profiles: Binance and Kraken (MARGIN_SPEC.md §11).

Binance (FAQ 360030157812 interest, 360030493931 margin level): simple interest charged every
hour, the first hour at the borrow, at each asset's hourly rate (VIP tier rates change every
hour, so there is no default rate: give them). Cross margin at 3x: above a margin level of 2
assets may be transferred out, the borrow level is 1.5, a margin call at 1.3, liquidation at
1.1, where every asset is sold to repay the loans and interest. The liquidation fee is 2 % of
the liquidated assets in cross and isolated margin (Binance's announcement effective
2024-08-12, as reported). Isolated margin's thresholds depend on the pair's leverage tier and
are not pinned; the cross 3x levels stand in as parameters. The auto-borrow mode borrows what
the free balance lacks (``MARGIN_BUY``). Spot fees 0.1 % maker and taker, taken in the asset
received: ccxt 4.5.90's ``binance`` defaults (``feeSide: get``).

Kraken (support articles 206161568, 203325763, 203053116, 203053156): the margin level is
equity ÷ used margin, used margin = the position's borrowed value ÷ its leverage (up to 5x); no
new positions at or below 100 %, margin call at about 80 %, liquidation at about 40 %. Margin
positions are funded wholly from Kraken's margin pool (the collateral stays in the balance);
an opening fee on the amount borrowed plus a rollover fee every 4 hours, "starting after 4
hours" (Kraken's fee table), at the rate locked when the order executes; BTC 0.01 % for both
(the table of 2026-02-10), other assets' rates fluctuate and must be given. Fees in the quote,
0.16 % maker, 0.26 % taker (ccxt 4.5.90's ``kraken`` base tier). Kraken publishes no
liquidation fee for spot margin, so none is charged.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from levtrade.errors import ConfigError, UnknownSymbolError, UnknownVenueError
from levtrade.model.instrument import Instrument
from levtrade.model.venue import (
    AutoBorrow,
    FeeAsset,
    InterestRule,
    MarginLevelRule,
    MarginLevels,
    RolloverCount,
    SpotMarginProfile,
)

BINANCE = SpotMarginProfile(
    name="binance",
    maker_fee=0.001,
    taker_fee=0.001,
    fee_asset=FeeAsset.RECEIVED,
    interest_rule=InterestRule.HOURLY,
    interest_period_hours=1.0,
    margin_level_rule=MarginLevelRule.ASSETS_OVER_LIABILITIES,
    auto_borrow=AutoBorrow.SHORTFALL,
    cross=MarginLevels(
        max_leverage=3.0, borrow=1.5, margin_call=1.3, liquidation=1.1, transfer_out=2.0
    ),
    isolated=MarginLevels(
        max_leverage=3.0, borrow=1.5, margin_call=1.3, liquidation=1.1, transfer_out=2.0
    ),
    liquidation_fee_rate=0.02,
    isolated_liquidation_fee_rate=0.02,
    rules_as_of="2024-08-12",
)

KRAKEN = SpotMarginProfile(
    name="kraken",
    maker_fee=0.0016,
    taker_fee=0.0026,
    fee_asset=FeeAsset.QUOTE,
    interest_rule=InterestRule.ROLLOVER,
    interest_period_hours=4.0,
    rollover_count=RolloverCount.AFTER_PERIOD,
    margin_level_rule=MarginLevelRule.EQUITY_OVER_USED_MARGIN,
    auto_borrow=AutoBorrow.FULL,
    cross=MarginLevels(max_leverage=5.0, borrow=1.0, margin_call=0.8, liquidation=0.4),
    isolated=None,
    liquidation_fee_rate=0.0,
    interest_rates=MappingProxyType({"BTC": 0.0001}),
    opening_fee_rates=MappingProxyType({"BTC": 0.0001}),
    rules_as_of="2026-02-10",
)

SPOT_VENUES: Mapping[str, SpotMarginProfile] = MappingProxyType(
    {p.name: p for p in (BINANCE, KRAKEN)}
)
"""Every venue levtrade has a spot and spot-margin profile for, by name."""


def get_spot_venue(name: str) -> SpotMarginProfile:
    """The spot and spot-margin profile of a venue, by name (case-insensitive)."""
    key = name.strip().lower() if isinstance(name, str) else ""
    if key not in SPOT_VENUES:
        raise UnknownVenueError(
            f"venue: no spot-margin profile for {name!r}; known: {', '.join(sorted(SPOT_VENUES))}"
        )
    return SPOT_VENUES[key]


def spot_instrument_for(venue: str, symbol: str, **overrides: Any) -> Instrument:
    """The spot pair ``symbol`` (``BTC/USDT``) with the venue's spot fees."""
    profile = get_spot_venue(venue)
    fields: dict[str, Any] = {
        "maker_fee": profile.maker_fee,
        "taker_fee": profile.taker_fee,
        "venue": profile.name,
    }
    fields.update(overrides)
    try:
        instrument = Instrument.parse(symbol, **fields)
    except ConfigError as exc:
        raise UnknownSymbolError(str(exc)) from None
    if instrument.is_derivative:
        raise UnknownSymbolError(
            f"symbol: {symbol!r} is a derivative; spot and margin trade spot pairs (BASE/QUOTE)"
        )
    return instrument
