"""Binance USDⓈ-M (and COIN-M) futures: the published rules as a :class:`VenueProfile`.

Sources (MARGIN_SPEC.md §1): funding at the mark price every 8 h by default (§1.6; many
altcoins settle every 4 h, which the instrument carries); BTCUSDT funding capped at ±0.3 % per
settlement (§1.6, fundingInfo); the liquidation price uses the bracket the notional falls into
*at* the liquidation price (§1.3); margin removal keeps MM and initial margin at mark and never
releases unrealized profit (§1.4); a liquidated trader is closed at the bankruptcy price and
charged the clearance fee, 0.3 % for BTCUSDT and 0.5 % for the others in Binance's old FAQ
(§1.7, §9.1 — unpinned, hence per symbol). Fees are Binance's VIP 0 USDⓈ-M rates (maker
0.02 %, taker 0.05 %), the defaults ccxt 4.5.90 ships for ``binanceusdm``.
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

PROFILE = VenueProfile(
    name="binance",
    funding_price=FundingPrice.MARK,
    funding_interval_hours=8.0,
    liquidation_price_rule=LiquidationPriceRule.TIER_AT_LIQUIDATION,
    transfer_rule=TransferRule.BINANCE,
    outcome_model=OutcomeModel.BANKRUPTCY_CLOSE,
    maker_fee=0.0002,
    taker_fee=0.0005,
    clearance_fee_rate=0.005,
    clearance_fee_rates=MappingProxyType({"BTC/USDT:USDT": 0.003}),
    supports_hedge_mode=True,
    funding_rate_caps=MappingProxyType({"BTC/USDT:USDT": 0.003}),
    ccxt_id="binanceusdm",
)

# Quote/settle assets of Binance futures ids, longest first so that ``BTCUSDT`` is not read
# as ``BTCUSD`` + ``T``. ``U`` is the quote of the ``BTC/U:U`` markets in the 2026 brackets.
_QUOTES = ("FDUSD", "USDT", "USDC", "BUSD", "USD1", "USD", "BTC", "U")


def to_venue_symbol(symbol: str) -> str:
    """Binance id of a ccxt symbol: ``BTC/USDT:USDT`` → ``BTCUSDT``, ``BTC/USD:BTC`` →
    ``BTCUSD_PERP``, ``BTC/USDT:USDT-260925`` → ``BTCUSDT_260925``."""
    parts = split_ccxt_symbol(symbol)
    pair = parts.base + parts.quote
    if not parts.settle:
        return pair
    if parts.settle == parts.base:
        return f"{pair}_{parts.expiry or 'PERP'}"
    return f"{pair}_{parts.expiry}" if parts.expiry else pair


def to_ccxt_symbol(venue_symbol: str) -> str:
    """ccxt symbol of a Binance futures id (the inverse of :func:`to_venue_symbol`).

    Contracts quoted in USD are COIN-M (inverse, settled in the base coin); the others are
    linear, settled in their quote asset.
    """
    pair, _, suffix = venue_symbol.strip().partition("_")
    for quote in _QUOTES:
        if pair.endswith(quote) and len(pair) > len(quote):
            base = pair[: -len(quote)]
            break
    else:
        raise UnknownSymbolError(
            f"binance symbol {venue_symbol!r}: no known quote asset at its end "
            f"(one of {', '.join(_QUOTES)})"
        )
    settle = base if quote == "USD" else quote
    if suffix in ("", "PERP"):
        return f"{base}/{quote}:{settle}"
    if len(suffix) == 6 and suffix.isdigit():
        return f"{base}/{quote}:{settle}-{suffix}"
    raise UnknownSymbolError(
        f"binance symbol {venue_symbol!r}: suffix {suffix!r} is neither PERP nor YYMMDD"
    )
