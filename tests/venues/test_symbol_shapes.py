"""levtrade's one symbol parser against the unified symbols ccxt itself makes.

The symbols come from ccxt's own ``parse_market`` (no network: the raw market entries below
have the fields of the venues' market listings, as ccxt's source documents them) and from
ccxt's recorded Hyperliquid markets in the shared data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import ccxt
import pytest

from levtrade.errors import UnknownSymbolError
from levtrade.model.instrument import ContractKind, Instrument, split_ccxt_symbol
from levtrade.venues import ccxt_symbol, venue_symbol

BINANCE_FUTURE: dict[str, Any] = {
    "symbol": "BTCUSDT_251226",
    "pair": "BTCUSDT",
    "contractType": "CURRENT_QUARTER",
    "deliveryDate": 1766736000000,
    "onboardDate": 1750000000000,
    "status": "TRADING",
    "baseAsset": "BTC",
    "quoteAsset": "USDT",
    "marginAsset": "USDT",
    "pricePrecision": 1,
    "quantityPrecision": 3,
    "baseAssetPrecision": 8,
    "quotePrecision": 8,
    "underlyingType": "COIN",
    "filters": [],
}
PARADEX_PERP: dict[str, Any] = {
    "symbol": "ETH-USD-PERP",
    "base_currency": "ETH",
    "quote_currency": "USD",
    "settlement_currency": "USDC",
    "order_size_increment": "0.001",
    "price_tick_size": "0.01",
    "min_notional": "100",
    "open_at": 1717065600000,
    "expiry_at": 0,
    "asset_kind": "PERP",
    "max_order_size": "100",
}


def ccxt_markets() -> list[dict[str, Any]]:
    """Markets as ccxt's parse_market makes them."""
    binance, paradex, hyperliquid = ccxt.binanceusdm(), ccxt.paradex(), ccxt.hyperliquid()
    return [
        binance.parse_market(BINANCE_FUTURE),
        binance.parse_market(
            {
                **BINANCE_FUTURE,
                "symbol": "1000PEPEUSDT",
                "pair": "1000PEPEUSDT",
                "contractType": "PERPETUAL",
                "deliveryDate": 4133404800000,
                "baseAsset": "1000PEPE",
            }
        ),
        paradex.parse_market(PARADEX_PERP),
        hyperliquid.parse_market(
            {
                "name": "xyz:AAPL",
                "collateralTokenName": "USDC",
                "szDecimals": "3",
                "maxLeverage": "10",
                "markPx": "230.1",
                "baseId": 110000,
            }
        ),
    ]


def test_ccxt_made_the_shapes_under_test() -> None:
    assert [m["symbol"] for m in ccxt_markets()] == [
        "BTC/USDT:USDT-251226",
        "1000PEPE/USDT:USDT",
        "ETH/USD:USDC",
        "XYZ-AAPL/USDC:USDC",
    ]


@pytest.mark.parametrize("market", ccxt_markets(), ids=lambda m: m["symbol"])
def test_every_ccxt_shape_parses_as_ccxt_describes_it(market: dict[str, Any]) -> None:
    instrument = Instrument.parse(market["symbol"])
    assert (instrument.base, instrument.quote, instrument.settle) == (
        market["base"],
        market["quote"],
        market["settle"],
    )
    assert instrument.kind is (ContractKind.LINEAR if market["linear"] else ContractKind.INVERSE)
    expected_expiry = market["symbol"].rpartition("-")[2] if market["type"] == "future" else None
    assert instrument.expiry == expected_expiry


def test_ccxt_recorded_hyperliquid_markets_parse(shared_data: Path) -> None:
    path = shared_data / "ccxt_static_markets/hyperliquid_markets.json"
    markets = json.loads(path.read_text("utf-8"))
    for symbol, market in markets.items():
        instrument = Instrument.parse(symbol)
        assert instrument.base == market["base"]
        assert instrument.settle == (market.get("settle") or None)
        spot = market["type"] == "spot"
        assert (instrument.kind is ContractKind.SPOT) == spot


def test_an_option_is_refused_with_the_reason() -> None:
    option = ccxt.paradex().parse_market(
        {
            **PARADEX_PERP,
            "symbol": "BTC-USD-96000-C",
            "base_currency": "BTC",
            "asset_kind": "PERP_OPTION",
            "expiry_at": 1766736000000,
            "option_type": "CALL",
            "strike_price": "96000",
        }
    )
    assert option["type"] == "option"
    with pytest.raises(UnknownSymbolError) as caught:
        Instrument.parse(option["symbol"])
    assert str(caught.value) == (
        f"symbol: {option['symbol']!r} is an option (BASE/QUOTE:SETTLE-EXPIRY-STRIKE-TYPE); "
        "levtrade trades spot, perpetuals and dated futures"
    )


@pytest.mark.parametrize(
    ("symbol", "message"),
    [
        ("BTCUSDT", "symbol: 'BTCUSDT' is not a CCXT unified symbol"),
        ("BTC/USDT:", "symbol: 'BTC/USDT:' is not a CCXT unified symbol"),
        ("BTC/USDT:USDT-251399", "symbol: 'BTC/USDT:USDT-251399' has expiry '251399'"),
        ("ETH/BTC:USDT", "settles in USDT, neither its base ETH nor its quote BTC"),
    ],
)
def test_malformed_symbols_name_the_value(symbol: str, message: str) -> None:
    with pytest.raises(UnknownSymbolError) as caught:
        Instrument.parse(symbol)
    assert message in str(caught.value)


def test_instrument_parse_and_the_venue_mappers_share_the_parser() -> None:
    assert split_ccxt_symbol("XYZ-AAPL/USDC:USDC") == ("XYZ-AAPL", "USDC", "USDC", "")
    assert venue_symbol("hyperliquid", "XYZ-AAPL/USDC:USDC") == "xyz:AAPL"
    assert ccxt_symbol("hyperliquid", "xyz:AAPL") == "XYZ-AAPL/USDC:USDC"
    assert venue_symbol("dydx", "ETH/USD:USDC") == "ETH-USD"
    for venue in ("binance", "okx"):
        with pytest.raises(UnknownSymbolError, match="is an option"):
            venue_symbol(venue, "BTC/USD:BTC-251226-100000-C")
