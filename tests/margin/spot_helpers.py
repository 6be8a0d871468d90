"""Spot-margin profiles and accounts for the spot tests, built from MARGIN_SPEC.md §11 itself.

The profiles are written out here from the spec's rules (not taken from levtrade.venues), with
no trading or liquidation fee so that hand calculations isolate the rule under test; tests of
a fee set it explicitly. ``test_shipped_spot_profiles`` checks the shipped ones carry the
same rules.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from levtrade.margin import SpotAccount
from levtrade.model.instrument import Instrument
from levtrade.model.venue import (
    AutoBorrow,
    FeeAsset,
    InterestRule,
    MarginLevelRule,
    MarginLevels,
    RolloverCount,
    SpotMarginProfile,
)

HOUR = 3_600_000
MINUTE = 60_000

# §11.1: Binance cross margin at 3x — transfer out above 2, borrow level 1.5, margin call 1.3,
# liquidation 1.1; simple interest per clock hour, the first hour at the borrow.
BINANCE_3X = MarginLevels(
    max_leverage=3.0, borrow=1.5, margin_call=1.3, liquidation=1.1, transfer_out=2.0
)
BINANCE = SpotMarginProfile(
    name="binance-like",
    maker_fee=0.0,
    taker_fee=0.0,
    fee_asset=FeeAsset.RECEIVED,
    interest_rule=InterestRule.HOURLY,
    interest_period_hours=1.0,
    margin_level_rule=MarginLevelRule.ASSETS_OVER_LIABILITIES,
    auto_borrow=AutoBorrow.SHORTFALL,
    cross=BINANCE_3X,
    isolated=BINANCE_3X,
)

# §11.2 and Kraken's support articles: margin level = equity ÷ used margin; no new position at
# or below 100 %, margin call at 80 %, liquidation at 40 %; up to 5x; an opening fee plus a
# rollover every 4 hours; positions funded wholly from the margin pool; fees in the quote.
KRAKEN = SpotMarginProfile(
    name="kraken-like",
    maker_fee=0.0,
    taker_fee=0.0,
    fee_asset=FeeAsset.QUOTE,
    interest_rule=InterestRule.ROLLOVER,
    interest_period_hours=4.0,
    rollover_count=RolloverCount.AFTER_PERIOD,
    margin_level_rule=MarginLevelRule.EQUITY_OVER_USED_MARGIN,
    auto_borrow=AutoBorrow.FULL,
    cross=MarginLevels(max_leverage=5.0, borrow=1.0, margin_call=0.8, liquidation=0.4),
)
KRAKEN_FREQTRADE = replace(KRAKEN, rollover_count=RolloverCount.PERIOD_START)


def pair(symbol: str, fee: float = 0.0) -> Instrument:
    """A spot pair with one fee rate for maker and taker."""
    return Instrument.parse(symbol, maker_fee=fee, taker_fee=fee)


def binance_margin(balances: dict[str, float], **kwargs: Any) -> SpotAccount:
    options: dict[str, Any] = {"currency": "USDT", "trading_mode": "margin"}
    options.update(kwargs)
    return SpotAccount(options.pop("venue", BINANCE), balances, **options)


def kraken_margin(balances: dict[str, float], **kwargs: Any) -> SpotAccount:
    options: dict[str, Any] = {"currency": "USD", "trading_mode": "margin"}
    options.update(kwargs)
    return SpotAccount(options.pop("venue", KRAKEN), balances, **options)


def spot_state(account: SpotAccount) -> tuple[Any, ...]:
    """Everything an action can change: time, every book of every asset, the loans'
    schedules, pools and prices (for 'a rejected action changes nothing')."""
    return (
        account.time,
        {a: (len(ledger), ledger.balances) for a, ledger in account.ledgers.items()},
        {k: [(t.amount, t.next_charge, t.rate) for t in v] for k, v in account._loans.items()},
        account.pools,
        dict(account._prices),
    )


def close(actual: float | None, expected: float, rel: float = 1e-9) -> bool:
    return actual is not None and math.isclose(actual, expected, rel_tol=rel, abs_tol=1e-9)
