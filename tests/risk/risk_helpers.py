"""Accounts with numbers simple enough to work out by hand, for the risk toolkit's tests.

Most use one-tier tables (MMR 1 %, no maintenance amount) so that equity and maintenance margin
are plain arithmetic; the Binance BTC tier 1 (0.4 %) appears where MARGIN_SPEC.md's examples
(BN-03, BN-12a) are checked.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from levtrade.margin import Account, TierTable
from levtrade.model.instrument import Instrument
from levtrade.venues import get_venue

# Binance's published rules; the clearance fee is zeroed so that hand arithmetic isolates the
# rule under test.
BINANCE = replace(get_venue("binance"), clearance_fee_rate=0.0, clearance_fee_rates={})
HOUR = 3_600_000

BTC = Instrument.parse("BTC/USDT:USDT", maker_fee=0.0002, taker_fee=0.0005, lot_size=0.001)
ETH = Instrument.parse("ETH/USDT:USDT", maker_fee=0.0002, taker_fee=0.0005, lot_size=0.01)


def one_tier(symbol: str, mmr: float = 0.01, max_leverage: float = 50.0) -> TierTable:
    """A single tier: MM = mmr × notional for any notional."""
    return TierTable.single(venue="binance", symbol=symbol, mmr=mmr, max_leverage=max_leverage)


def binance_tier1(symbol: str) -> TierTable:
    """Binance BTCUSDT bracket 1 (0.4 %, 150x up to 300k) and bracket 2 (0.5 %, 100x)."""
    return TierTable.from_rows(
        [
            {"floor": 0, "mmr": 0.004, "max_leverage": 150},
            {"floor": 300_000, "mmr": 0.005, "max_leverage": 100},
        ],
        venue="binance",
        symbol=symbol,
    )


def account(wallet: float = 10_000.0, **kwargs: Any) -> Account:
    """An empty Binance account whose symbols use a one-tier 1 % table."""
    return Account(BINANCE, wallet, tier_provider=lambda inst: one_tier(inst.symbol), **kwargs)


def cross_btc_eth(wallet: float = 10_000.0) -> Account:
    """Cross: long 1 BTC @100,000 and long 10 ETH @5,000, marks at entry, MMR 1 %.

    Equity at a joint move m: 10,000 + 150,000·m; MM: 1,500·(1 + m).
    """
    acct = account(wallet)
    acct.load_position(BTC, size=1.0, entry_price=100_000.0, leverage=20, margin_mode="cross")
    acct.load_position(ETH, size=10.0, entry_price=5_000.0, leverage=20, margin_mode="cross")
    return acct


def cross_btc(wallet: float = 10_000.0, mark: float = 100_000.0) -> Account:
    """Cross: long 1 BTC @100,000, MMR 1 %: equity = mark − 90,000, MM = 0.01 × mark."""
    acct = account(wallet)
    acct.load_position(
        BTC, size=1.0, entry_price=100_000.0, leverage=20, margin_mode="cross", mark_price=mark
    )
    return acct
