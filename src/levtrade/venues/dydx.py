"""dYdX v4 (dYdX Chain) perpetuals: the published rules as a :class:`VenueProfile`.

Sources (MARGIN_SPEC.md §4): margin and funding use the **oracle** price; funding is settled
hourly as one eighth of the 8-hour rate, clamped to ±600 % × (IMF − MMF) per 8 h — for the
Large-Cap tier (IMF 2 %, MMF 1.2 %, [DY-02]) ±4.8 % per 8 h, i.e. ±0.6 % per hourly settlement;
a liquidation closes at a fillable price with a penalty of at most 1.5 % to the insurance fund
(``PENALTY_CLOSE``); the isolated liquidation price is Binance's algebra with no maintenance
amount (``TIER_AT_LIQUIDATION``, [DY-01]). No hedge mode (one position per market per subaccount).

Transfers: dYdX allows withdrawing free collateral, i.e. equity above the initial-margin
requirement. For a position at a loss that is exactly Binance's bound (equity − IM); Binance's
rule additionally keeps unrealized profit in place, so ``TransferRule.BINANCE`` is the closer,
conservative choice (Hyperliquid's 10 %-of-notional floor would bind far earlier at 50x).
Fees are dYdX's first fee tier (maker 0.01 %, taker 0.05 %), ccxt 4.5.90's ``dydx`` defaults.
"""

from __future__ import annotations

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

_LARGE_CAP_HOURLY_FUNDING_CAP = 6.0 * (0.02 - 0.012) / 8.0

PROFILE = VenueProfile(
    name="dydx",
    funding_price=FundingPrice.ORACLE,
    funding_interval_hours=1.0,
    liquidation_price_rule=LiquidationPriceRule.TIER_AT_LIQUIDATION,
    transfer_rule=TransferRule.BINANCE,
    outcome_model=OutcomeModel.PENALTY_CLOSE,
    maker_fee=0.0001,
    taker_fee=0.0005,
    liquidation_penalty_rate=0.015,
    supports_hedge_mode=False,
    funding_rate_caps=MappingProxyType(
        {
            "BTC/USDC:USDC": _LARGE_CAP_HOURLY_FUNDING_CAP,
            "ETH/USDC:USDC": _LARGE_CAP_HOURLY_FUNDING_CAP,
        }
    ),
    ccxt_id="dydx",
)


def to_venue_symbol(symbol: str) -> str:
    """dYdX ticker of a ccxt perpetual: ``BTC/USDC:USDC`` → ``BTC-USD``.

    ccxt names dYdX markets ``BASE/USDC:USDC`` (USDC collateral); dYdX itself quotes them in
    USD. ``BASE/USD:USDC`` is accepted as well.
    """
    parts = split_ccxt_symbol(symbol)
    if parts.settle != "USDC" or parts.quote not in ("USDC", "USD") or parts.expiry:
        raise UnknownSymbolError(
            f"dydx symbol mapping covers USDC-collateral perpetuals (BASE/USDC:USDC), "
            f"got {symbol!r}"
        )
    return f"{parts.base}-USD"


def to_ccxt_symbol(venue_symbol: str) -> str:
    """ccxt symbol of a dYdX ticker: ``BTC-USD`` → ``BTC/USDC:USDC``."""
    base, dash, quote = venue_symbol.strip().partition("-")
    if not dash or not base or quote != "USD":
        raise UnknownSymbolError(
            f"dydx symbol {venue_symbol!r}: expected a ticker such as 'BTC-USD'"
        )
    return f"{base}/USDC:USDC"
