"""Bybit USDT perpetuals: the published rules as a :class:`VenueProfile`.

Sources (MARGIN_SPEC.md §3 "Bybit"): the isolated liquidation price holds maintenance margin
at the **entry** position value (``MM_AT_ENTRY``); a liquidated position is settled at the
bankruptcy price, the remaining margin going to the insurance fund (``BANKRUPTCY_CLOSE``) — the
MM buffer itself is what the fund keeps, so no separate clearance fee is charged by default.
Funding is settled every 8 h at the mark price (``fundingInterval`` 8 in the v5 instruments
response). MARGIN_SPEC publishes no Bybit funding cap, so none is applied.

Transfers: MARGIN_SPEC does not state Bybit's margin-removal limit. Bybit is modelled on the
same bankruptcy-price closing as Binance, and of the two modelled rules the Binance one (keep
MM and initial margin at mark, release no unrealized profit) is used, being the more
conservative for a position in profit. Fees are Bybit's non-VIP
derivatives rates (taker 0.055 %, maker 0.02 %, Bybit help centre "Trading Fee Structure").
"""

from __future__ import annotations

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
    name="bybit",
    funding_price=FundingPrice.MARK,
    funding_interval_hours=8.0,
    liquidation_price_rule=LiquidationPriceRule.MM_AT_ENTRY,
    transfer_rule=TransferRule.BINANCE,
    outcome_model=OutcomeModel.BANKRUPTCY_CLOSE,
    maker_fee=0.0002,
    taker_fee=0.00055,
    supports_hedge_mode=True,
    ccxt_id="bybit",
)


def to_venue_symbol(symbol: str) -> str:
    """Bybit id of a ccxt perpetual: ``BTC/USDT:USDT`` → ``BTCUSDT``, ``BTC/USDC:USDC`` →
    ``BTCPERP``, ``BTC/USD:BTC`` → ``BTCUSD``."""
    parts = split_ccxt_symbol(symbol)
    if parts.expiry or not parts.settle:
        raise UnknownSymbolError(f"bybit symbol mapping covers perpetuals only, got {symbol!r}")
    if parts.quote == "USDC" and parts.settle == "USDC":
        return f"{parts.base}PERP"
    if parts.settle in (parts.quote, parts.base):
        return parts.base + parts.quote
    raise UnknownSymbolError(f"bybit: {symbol!r} settles in neither its base nor its quote")


def to_ccxt_symbol(venue_symbol: str) -> str:
    """ccxt symbol of a Bybit perpetual id (the inverse of :func:`to_venue_symbol`)."""
    vs = venue_symbol.strip()
    if vs.endswith("PERP") and len(vs) > 4:
        return f"{vs[:-4]}/USDC:USDC"
    if vs.endswith("USDT") and len(vs) > 4:
        return f"{vs[:-4]}/USDT:USDT"
    if vs.endswith("USD") and len(vs) > 3:
        return f"{vs[:-3]}/USD:{vs[:-3]}"
    raise UnknownSymbolError(
        f"bybit symbol {venue_symbol!r}: expected a perpetual id ending in USDT, PERP or USD"
    )
