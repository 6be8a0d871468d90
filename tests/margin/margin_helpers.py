"""Venue profiles, published tier tables and instruments for the account tests.

The profiles are built here from MARGIN_SPEC.md's rules (not imported from levtrade.venues), so
the account is tested against the spec itself. Tier rows are copied from
``../shared/data/venue_tiers.json`` (Binance 2026-03-26 BTCUSDT brackets, Hyperliquid tables
56/55, Bybit BTCUSDT risk limits), written out as literals.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from levtrade.margin import Account, TierTable
from levtrade.margin.tiers import Tier
from levtrade.model.instrument import Instrument
from levtrade.model.venue import VenueProfile
from levtrade.venues import get_venue

# The shipped profiles, renamed, with the clearance fee set to zero so that hand calculations
# isolate the rule under test; tests of the fee set it explicitly.
BINANCE = replace(
    get_venue("binance"), name="binance-like", clearance_fee_rate=0.0, clearance_fee_rates={}
)
HYPERLIQUID = replace(get_venue("hyperliquid"), name="hyperliquid-like")
BYBIT = replace(get_venue("bybit"), name="bybit-like")
OKX = replace(get_venue("okx"), name="okx-like", clearance_fee_rate=0.0, clearance_fee_rates={})
DYDX = replace(get_venue("dydx"), name="dydx-like")
VENUES = {"binance": BINANCE, "hyperliquid": HYPERLIQUID, "bybit": BYBIT, "okx": OKX, "dydx": DYDX}

# Binance BTCUSDT brackets, venue_tiers.json (2026-03-26): notionalFloor, initialLeverage,
# maintMarginRatio, cum.
BINANCE_BTC_ROWS = [
    (0.0, 150, 0.004, 0.0),
    (300_000.0, 100, 0.005, 300.0),
    (800_000.0, 75, 0.0065, 1_500.0),
    (3_000_000.0, 50, 0.01, 12_000.0),
    (12_000_000.0, 25, 0.02, 132_000.0),
    (70_000_000.0, 20, 0.025, 482_000.0),
    (100_000_000.0, 10, 0.05, 2_982_000.0),
    (230_000_000.0, 5, 0.1, 14_482_000.0),
    (480_000_000.0, 4, 0.125, 26_482_000.0),
    (600_000_000.0, 3, 0.15, 41_482_000.0),
    (800_000_000.0, 2, 0.25, 121_482_000.0),
    (1_200_000_000.0, 1, 0.5, 421_482_000.0),
]
BINANCE_BTC_LAST_CAP = 1_800_000_000.0

# Hyperliquid tables (venue_tiers.json): BTC table 56, ETH table 55 — lowerBound, maxLeverage.
HYPERLIQUID_BTC_ROWS = [(0.0, 40), (150_000_000.0, 20)]
HYPERLIQUID_ETH_ROWS = [(0.0, 25), (100_000_000.0, 15)]

# Bybit BTCUSDT first risk-limit tiers (venue_tiers.json "bybit_partial"): riskLimit, maxLeverage,
# MMR, deduction. Tier n starts at riskLimit_{n-1}.
BYBIT_BTC_ROWS = [
    (2_000_000.0, 100, 0.005, 0.0),
    (2_600_000.0, 90, 0.0056, 1_200.0),
    (3_200_000.0, 80, 0.0063, 3_020.0),
]


def binance_btc(symbol: str = "BTC/USDT:USDT") -> TierTable:
    rows = [
        {"floor": floor, "max_leverage": lev, "mmr": mmr, "maintenance_amount": cum}
        for floor, lev, mmr, cum in BINANCE_BTC_ROWS
    ]
    rows[-1]["cap"] = BINANCE_BTC_LAST_CAP
    return TierTable.from_rows(rows, venue="binance", symbol=symbol)


def hyperliquid(rows: list[tuple[float, int]], symbol: str) -> TierTable:
    """A Hyperliquid table: MMR = 1/(2·maxLeverage), deduction by the recursion (§2.2)."""
    return TierTable.from_rows(
        [{"floor": floor, "max_leverage": lev} for floor, lev in rows],
        venue="hyperliquid",
        symbol=symbol,
    )


def bybit_btc(symbol: str = "BTC/USDT:USDT") -> TierTable:
    floors = [0.0] + [row[0] for row in BYBIT_BTC_ROWS[:-1]]
    return TierTable(
        "bybit",
        symbol,
        tuple(
            Tier(floor, cap, mmr, deduction, lev)
            for floor, (cap, lev, mmr, deduction) in zip(floors, BYBIT_BTC_ROWS, strict=True)
        ),
    )


def single(
    mmr: float, max_leverage: float = 125.0, amount: float = 0.0, symbol: str = "X"
) -> TierTable:
    """A one-tier table (dYdX liquidity tier, or an example quoting one bracket)."""
    return TierTable("test", symbol, (Tier(0.0, math.inf, mmr, amount, max_leverage),))


def instrument(symbol: str = "BTC/USDT:USDT", **overrides: Any) -> Instrument:
    """A fee-free instrument unless fees are given, so hand calculations stay short."""
    fields: dict[str, Any] = {"maker_fee": 0.0, "taker_fee": 0.0}
    fields.update(overrides)
    return Instrument.parse(symbol, **fields)


BTC = instrument("BTC/USDT:USDT")
ETH = instrument("ETH/USDT:USDT")
BTC_USDC = instrument("BTC/USDC:USDC")
ETH_USDC = instrument("ETH/USDC:USDC")


def account(
    venue: VenueProfile = BINANCE,
    wallet: float = 10_000.0,
    tiers: dict[str, TierTable] | None = None,
    **kwargs: Any,
) -> Account:
    """An account whose tier provider serves ``tiers`` by symbol (Binance BTC by default)."""
    table = dict(tiers or {})

    def provider(inst: Instrument) -> TierTable:
        if inst.symbol in table:
            return table[inst.symbol]
        return binance_btc(inst.symbol)

    return Account(venue, wallet, tier_provider=provider, **kwargs)


def account_state(acct: Account) -> tuple[object, ...]:
    """Everything a rejected action must leave untouched."""
    return (
        acct.wallet_balance,
        tuple(acct.positions),
        len(acct.ledger),
        acct.ledger.balances,
        acct.insurance_fund.balances,
        acct.time,
        acct.available_balance,
    )


def books_balance(acct: Account, tol: float = 1e-9) -> None:
    """The ledger's books sum to zero and mirror the account's wallet and isolated margins."""
    scale = max(1.0, *(abs(v) for v in acct.ledger.balances.values()))
    assert abs(acct.ledger.total()) <= tol * scale
    assert abs(acct.ledger.balance("cross") - acct.wallet_balance) <= tol * scale
    for pos in acct.positions:
        if pos.is_isolated:
            assert abs(acct.ledger.balance(pos.book) - pos.isolated_margin) <= tol * scale
