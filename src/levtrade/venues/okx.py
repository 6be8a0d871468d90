"""OKX perpetual swaps: the published rules as a :class:`VenueProfile`.

Sources (MARGIN_SPEC.md §3 "OKX"): the isolated margin ratio divides by notional × (tier MMR
+ taker fee rate), so maintenance margin includes the taker fee (``mm_adds_taker_fee``); the
liquidation fee is charged at the taker rate (``clearance_fee_rate`` = taker fee) and a full
liquidation is taken over at the bankruptcy price (``BANKRUPTCY_CLOSE``). OKX publishes no
closed-form liquidation price (§9.7); the derived one solves equity = MM with the tier at the
liquidation price, as for Binance (``TIER_AT_LIQUIDATION``). Funding every 8 h at the mark.

Transfers: MARGIN_SPEC does not state OKX's margin-removal limit. Of the two modelled rules the
Binance one (keep MM and initial margin at mark, release no unrealized profit) is used, being
the more conservative for a position in profit. Fees are
OKX's regular-user swap rates (maker 0.02 %, taker 0.05 %; the taker rate is OKX-01's fee and
ccxt 4.5.90's ``okx`` swap default).

Contract sizes: OKX sizes are in contracts of ``ctVal`` base units — 0.01 BTC for
``BTC-USDT-SWAP`` and 0.1 ETH for ``ETH-USDT-SWAP`` (``ctVal`` in OKX's
``GET /api/v5/public/instruments`` response).
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
    name="okx",
    funding_price=FundingPrice.MARK,
    funding_interval_hours=8.0,
    liquidation_price_rule=LiquidationPriceRule.TIER_AT_LIQUIDATION,
    transfer_rule=TransferRule.BINANCE,
    outcome_model=OutcomeModel.BANKRUPTCY_CLOSE,
    maker_fee=0.0002,
    taker_fee=0.0005,
    clearance_fee_rate=0.0005,
    mm_adds_taker_fee=True,
    supports_hedge_mode=True,
    ccxt_id="okx",
)

CONTRACT_SIZES = MappingProxyType({"BTC/USDT:USDT": 0.01, "ETH/USDT:USDT": 0.1})
"""Base units per contract (OKX ``ctVal``) of the symbols levtrade ships defaults for."""


def to_venue_symbol(symbol: str) -> str:
    """OKX instId of a ccxt symbol: ``BTC/USDT:USDT`` → ``BTC-USDT-SWAP``, ``BTC/USD:BTC`` →
    ``BTC-USD-SWAP``, ``BTC/USDT:USDT-250926`` → ``BTC-USDT-250926``, ``BTC/USDT`` →
    ``BTC-USDT``."""
    parts = split_ccxt_symbol(symbol)
    pair = f"{parts.base}-{parts.quote}"
    if not parts.settle:
        return pair
    return f"{pair}-{parts.expiry or 'SWAP'}"


def to_ccxt_symbol(venue_symbol: str) -> str:
    """ccxt symbol of an OKX instId (the inverse of :func:`to_venue_symbol`)."""
    pieces = venue_symbol.strip().split("-")
    if len(pieces) == 2 and all(pieces):
        return f"{pieces[0]}/{pieces[1]}"
    if len(pieces) == 3 and pieces[0] and pieces[1]:
        base, quote, kind = pieces
        settle = base if quote == "USD" else quote
        if kind == "SWAP":
            return f"{base}/{quote}:{settle}"
        if len(kind) == 6 and kind.isdigit():
            return f"{base}/{quote}:{settle}-{kind}"
    raise UnknownSymbolError(
        f"okx symbol {venue_symbol!r}: expected BASE-QUOTE, BASE-QUOTE-SWAP or BASE-QUOTE-YYMMDD"
    )
