"""Venue profiles against the rules MARGIN_SPEC.md states (section cited beside each check)."""

from __future__ import annotations

import json
from pathlib import Path

import ccxt
import pytest

from levtrade.errors import UnknownSymbolError, UnknownVenueError
from levtrade.venues import (
    VENUES,
    FundingPrice,
    LiquidationPriceRule,
    OutcomeModel,
    TransferRule,
    get_venue,
    instrument_for,
    venue_name,
)


def test_known_venues() -> None:
    assert set(VENUES) == {"binance", "bybit", "okx", "hyperliquid", "dydx"}
    for name, profile in VENUES.items():
        assert profile.name == name


@pytest.mark.parametrize("spelling", ["binance", "BINANCE", " Binance ", "binanceusdm"])
def test_get_venue_is_case_insensitive_and_accepts_ccxt_ids(spelling: str) -> None:
    assert get_venue(spelling) is VENUES["binance"]


def test_unknown_venue_names_the_value_and_the_known_venues() -> None:
    with pytest.raises(UnknownVenueError) as info:
        get_venue("kraken")
    message = str(info.value)
    assert "'kraken'" in message
    for name in ("binance", "bybit", "dydx", "hyperliquid", "okx"):
        assert name in message


def test_non_string_venue_is_rejected() -> None:
    with pytest.raises(UnknownVenueError, match="None"):
        venue_name(None)  # type: ignore[arg-type]


def test_profiles_are_hashable() -> None:
    """Per-symbol mappings are excluded from the hash, so a profile can key a dict."""
    assert len({get_venue(n) for n in VENUES}) == 5


def test_binance_rules() -> None:
    p = get_venue("binance")
    # §1.6: funding at mark, default 8 h; BTCUSDT cap ±0.3 %, other symbols per fundingInfo.
    assert p.funding_price is FundingPrice.MARK
    assert p.funding_interval_hours == 8
    assert p.funding_rate_cap_for("BTC/USDT:USDT") == 0.003
    assert p.funding_rate_cap_for("ETH/USDT:USDT") is None
    # §1.3 tier at the liquidation price; §1.4 removal rule; §1.7 closed at bankruptcy.
    assert p.liquidation_price_rule is LiquidationPriceRule.TIER_AT_LIQUIDATION
    assert p.transfer_rule is TransferRule.BINANCE
    assert p.outcome_model is OutcomeModel.BANKRUPTCY_CLOSE
    # §1.7 / §9.1: old FAQ clearance fee 0.3 % BTCUSDT, 0.5 % the others.
    assert p.clearance_fee_for("BTC/USDT:USDT") == 0.003
    assert p.clearance_fee_for("ETH/USDT:USDT") == 0.005
    assert p.clearance_fee_for("BTC/USDC:USDC") == 0.005
    assert p.supports_hedge_mode


def test_hyperliquid_rules() -> None:
    p = get_venue("hyperliquid")
    # §2.7: hourly, oracle price, 4 %/h cap.
    assert p.funding_price is FundingPrice.ORACLE
    assert p.funding_interval_hours == 1
    assert p.funding_rate_cap == 0.04
    assert p.funding_rate_cap_for("BTC/USDC:USDC") == 0.04
    # §2.5 / §7.5: 20 % partial above 100k, backstop below ⅔·MM, no clearance fee.
    assert p.outcome_model is OutcomeModel.MARKET_CLOSE
    assert p.partial_liquidation_notional == 100_000
    assert p.partial_liquidation_fraction == 0.2
    assert p.backstop_mm_fraction == pytest.approx(2 / 3)
    assert p.clearance_fee_for("BTC/USDC:USDC") == 0.0
    # §2.8 transfers; §2.1 integer leverage, no hedge mode.
    assert p.transfer_rule is TransferRule.HYPERLIQUID
    assert p.integer_leverage
    assert not p.supports_hedge_mode


def test_bybit_rules() -> None:
    p = get_venue("bybit")
    # §3: isolated LP with MM at the entry value; settled at the bankruptcy price.
    assert p.liquidation_price_rule is LiquidationPriceRule.MM_AT_ENTRY
    assert p.outcome_model is OutcomeModel.BANKRUPTCY_CLOSE
    assert p.funding_price is FundingPrice.MARK


def test_okx_rules() -> None:
    p = get_venue("okx")
    # §3: margin ratio uses MMR + taker fee; liquidation fee at the taker rate (0.05 % in OKX-01).
    assert p.mm_adds_taker_fee
    assert p.taker_fee == 0.0005
    assert p.clearance_fee_for("BTC/USDT:USDT") == p.taker_fee
    assert p.outcome_model is OutcomeModel.BANKRUPTCY_CLOSE


def test_dydx_rules() -> None:
    p = get_venue("dydx")
    # §4: oracle price, hourly; penalty ≤ 1.5 %.
    assert p.funding_price is FundingPrice.ORACLE
    assert p.funding_interval_hours == 1
    assert p.outcome_model is OutcomeModel.PENALTY_CLOSE
    assert p.liquidation_penalty_rate == 0.015
    # §4: clamp ±600 % × (IMF − MMF) per 8 h = 6 × (0.02 − 0.012) = 4.8 % per 8 h, applied
    # hourly as 1/8 of it: 0.6 % per settlement for the Large-Cap tier.
    assert p.funding_rate_cap_for("BTC/USDC:USDC") == pytest.approx(0.006)
    assert p.funding_rate_cap_for("ETH/USDC:USDC") == pytest.approx(0.006)
    assert not p.supports_hedge_mode


@pytest.mark.parametrize(
    ("venue", "ccxt_class", "fee_path"),
    [
        ("binance", "binanceusdm", ("linear", "trading")),
        ("okx", "okx", ("swap",)),
        ("hyperliquid", "hyperliquid", ("swap",)),
        ("dydx", "dydx", ("trading",)),
    ],
)
def test_default_fees_match_ccxt_published_schedules(
    venue: str, ccxt_class: str, fee_path: tuple[str, ...]
) -> None:
    schedule = getattr(ccxt, ccxt_class)().fees
    for key in fee_path:
        schedule = schedule[key]
    profile = get_venue(venue)
    assert profile.taker_fee == pytest.approx(float(schedule["taker"]))
    assert profile.maker_fee == pytest.approx(float(schedule["maker"]))


def test_bybit_fees_match_bybit_fee_example() -> None:
    # Bybit's USDT-perpetual example: 10 BTC at 8,000 USDT, taker fee 44 USDT, maker fee 16 USDT.
    profile = get_venue("bybit")
    assert 10 * 8_000 * profile.taker_fee == pytest.approx(44.0)
    assert 10 * 8_000 * profile.maker_fee == pytest.approx(16.0)


def test_ccxt_ids_name_real_ccxt_classes() -> None:
    for profile in VENUES.values():
        assert venue_name(getattr(ccxt, profile.ccxt_id)().id) == profile.name


def test_instrument_for_uses_venue_defaults() -> None:
    inst = instrument_for("Binance", "BTC/USDT:USDT")
    profile = get_venue("binance")
    assert (inst.symbol, inst.venue, inst.contract_size) == ("BTC/USDT:USDT", "binance", 1.0)
    assert (inst.maker_fee, inst.taker_fee) == (profile.maker_fee, profile.taker_fee)
    assert inst.funding_interval_hours == 8
    assert instrument_for("hyperliquid", "BTC").symbol == "BTC/USDC:USDC"
    assert instrument_for("binance", "BTCUSDT", taker_fee=0.0004).taker_fee == 0.0004


def test_instrument_for_okx_contract_sizes_match_okx_instruments(shared_data: Path) -> None:
    path = shared_data / "nautilus_trader_testdata/json/okx__http_get_instruments_swap.json"
    instruments = json.loads(path.read_text())["data"]
    linear = [i for i in instruments if i["ctType"] == "linear"]
    assert {i["instId"] for i in linear} == {"BTC-USDT-SWAP", "ETH-USDT-SWAP"}
    for raw in linear:
        inst = instrument_for("okx", raw["instId"])
        assert inst.contract_size == float(raw["ctVal"])


def test_instrument_for_rejects_bad_symbols() -> None:
    with pytest.raises(UnknownSymbolError, match="'NOPE'"):
        instrument_for("binance", "NOPE")
    with pytest.raises(UnknownSymbolError):
        instrument_for("binance", "")
