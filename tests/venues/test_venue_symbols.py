"""Mapping between ccxt unified symbols and each venue's own ids."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from levtrade.errors import UnknownSymbolError, UnknownVenueError
from levtrade.venues import ccxt_symbol, split_ccxt_symbol, venue_symbol

PAIRS = [
    # Binance USDⓈ-M / COIN-M ids (leverageBracket ``symbol`` and exchangeInfo).
    ("binance", "BTC/USDT:USDT", "BTCUSDT"),
    ("binance", "1000PEPE/USDT:USDT", "1000PEPEUSDT"),
    ("binance", "BTC/USDC:USDC", "BTCUSDC"),
    ("binance", "BTC/USD1:USD1", "BTCUSD1"),
    ("binance", "ETH/BTC:BTC", "ETHBTC"),
    ("binance", "BTC/USDT:USDT-260925", "BTCUSDT_260925"),
    ("binance", "BTC/USD:BTC", "BTCUSD_PERP"),
    ("binance", "XRP/USD:XRP-210326", "XRPUSD_210326"),
    # Bybit v5 linear, USDC and inverse perpetuals.
    ("bybit", "BTC/USDT:USDT", "BTCUSDT"),
    ("bybit", "BTC/USDC:USDC", "BTCPERP"),
    ("bybit", "BTC/USD:BTC", "BTCUSD"),
    # OKX instIds.
    ("okx", "BTC/USDT:USDT", "BTC-USDT-SWAP"),
    ("okx", "BTC/USD:BTC", "BTC-USD-SWAP"),
    ("okx", "BTC/USDT:USDT-250926", "BTC-USDT-250926"),
    ("okx", "BTC/USDT", "BTC-USDT"),
    # Hyperliquid coin names; dYdX tickers.
    ("hyperliquid", "BTC/USDC:USDC", "BTC"),
    ("hyperliquid", "kPEPE/USDC:USDC", "kPEPE"),
    ("dydx", "BTC/USDC:USDC", "BTC-USD"),
]


@pytest.mark.parametrize(("venue", "unified", "native"), PAIRS)
def test_round_trip(venue: str, unified: str, native: str) -> None:
    assert venue_symbol(venue, unified) == native
    assert ccxt_symbol(venue, native) == unified


def test_dydx_accepts_usd_quote() -> None:
    assert venue_symbol("dydx", "ETH/USD:USDC") == "ETH-USD"


def test_every_2026_binance_market_round_trips(current_raw: dict[str, Any]) -> None:
    assert len(current_raw) == 907
    for unified in current_raw:
        assert ccxt_symbol("binance", venue_symbol("binance", unified)) == unified


def test_okx_ids_match_okx_instruments(shared_data: Path) -> None:
    path = shared_data / "nautilus_trader_testdata/json/okx__http_get_instruments_swap.json"
    for raw in json.loads(path.read_text())["data"]:
        unified = ccxt_symbol("okx", raw["instId"])
        parts = split_ccxt_symbol(unified)
        assert parts.settle == raw["settleCcy"]
        assert (parts.settle == parts.base) == (raw["ctType"] == "inverse")
        assert venue_symbol("okx", unified) == raw["instId"]


def test_hyperliquid_names_match_ccxt_markets(shared_data: Path) -> None:
    markets = json.loads((shared_data / "ccxt_static_markets/hyperliquid_markets.json").read_text())
    swaps = {s: m for s, m in markets.items() if m["type"] == "swap"}
    assert len(swaps) == 5
    for unified, market in swaps.items():
        assert venue_symbol("hyperliquid", unified) == market["info"]["name"]
        assert ccxt_symbol("hyperliquid", market["info"]["name"]) == unified


@pytest.mark.parametrize(
    ("venue", "native"),
    [
        ("binance", "XYZ"),
        ("binance", "BTCUSDT_Q1"),
        ("bybit", "BTC-26SEP25"),
        ("okx", "BTC_USDT"),
        ("hyperliquid", "@107"),
        ("hyperliquid", ""),
        ("dydx", "BTC-USDT"),
    ],
)
def test_unmappable_venue_ids_name_the_value(venue: str, native: str) -> None:
    with pytest.raises(UnknownSymbolError, match=repr(native)):
        ccxt_symbol(venue, native)


@pytest.mark.parametrize(
    ("venue", "unified"),
    [
        ("binance", "BTCUSDT"),
        ("binance", "BTC/USDT:"),
        ("hyperliquid", "BTC/USDT:USDT"),
        ("dydx", "BTC/USDT:USDT"),
        ("bybit", "BTC/USDT:USDT-250926"),
    ],
)
def test_unmappable_ccxt_symbols_name_the_value(venue: str, unified: str) -> None:
    with pytest.raises(UnknownSymbolError, match=repr(unified)):
        venue_symbol(venue, unified)


def test_unknown_venue_in_mapping() -> None:
    with pytest.raises(UnknownVenueError, match="'ftx'"):
        venue_symbol("ftx", "BTC/USD:USD")


def test_split_ccxt_symbol() -> None:
    assert split_ccxt_symbol("BTC/USDT:USDT-260925") == ("BTC", "USDT", "USDT", "260925")
    assert split_ccxt_symbol("BTC/USDT") == ("BTC", "USDT", "", "")
