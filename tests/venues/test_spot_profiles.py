"""The shipped spot and spot-margin profiles carry MARGIN_SPEC.md §11's rules, and the spot
fees ccxt 4.5.90 ships for the same exchanges (read from the installed ccxt, offline)."""

from __future__ import annotations

import ccxt
import pytest

from levtrade.errors import UnknownSymbolError, UnknownVenueError
from levtrade.model.venue import (
    AutoBorrow,
    FeeAsset,
    InterestRule,
    MarginLevelRule,
    MarginLevels,
    RolloverCount,
)
from levtrade.venues import get_spot_venue, spot_instrument_for


def test_binance_rules() -> None:
    venue = get_spot_venue("Binance")
    # §11.1: cross 3x — transfer out above 2, no borrowing at or below 1.5, call 1.3, liq. 1.1
    assert venue.cross == MarginLevels(3.0, 1.5, 1.3, 1.1, 2.0)
    assert venue.interest_rule is InterestRule.HOURLY and venue.interest_period_hours == 1.0
    assert venue.margin_level_rule is MarginLevelRule.ASSETS_OVER_LIABILITIES
    assert venue.auto_borrow is AutoBorrow.SHORTFALL
    assert venue.liquidation_fee_rate == 0.02 == venue.isolated_liquidation_fee_rate
    fees = ccxt.binance().fees["trading"]
    assert (venue.maker_fee, venue.taker_fee) == (fees["maker"], fees["taker"])
    assert fees["feeSide"] == "get" and venue.fee_asset is FeeAsset.RECEIVED


def test_kraken_rules() -> None:
    venue = get_spot_venue("kraken")
    # Kraken: up to 5x; no new position below 100 %; call ≈ 80 %; liquidation ≈ 40 %
    assert venue.cross == MarginLevels(5.0, 1.0, 0.8, 0.4)
    assert venue.isolated is None
    assert venue.interest_rule is InterestRule.ROLLOVER and venue.interest_period_hours == 4.0
    assert venue.rollover_count is RolloverCount.AFTER_PERIOD
    assert venue.margin_level_rule is MarginLevelRule.EQUITY_OVER_USED_MARGIN
    assert venue.auto_borrow is AutoBorrow.FULL and venue.fee_asset is FeeAsset.QUOTE
    assert venue.interest_rates["BTC"] == 0.0001 == venue.opening_fee_rates["BTC"]
    fees = ccxt.kraken().fees["trading"]
    assert (venue.maker_fee, venue.taker_fee) == (fees["maker"], fees["taker"])


def test_spot_instruments() -> None:
    btc = spot_instrument_for("binance", "BTC/USDT")
    assert (btc.base, btc.quote, btc.is_derivative, btc.taker_fee) == ("BTC", "USDT", False, 0.001)
    with pytest.raises(UnknownSymbolError, match="is a derivative"):
        spot_instrument_for("binance", "BTC/USDT:USDT")
    with pytest.raises(UnknownVenueError, match="no spot-margin profile for 'bybit'"):
        get_spot_venue("bybit")
