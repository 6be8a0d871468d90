"""Margin interest: Binance's published examples, FreqTrade's test vectors, Kraken's rollovers.

Sources:
* MARGIN_SPEC.md §11.1 [SM-01], [SM-02]: Binance FAQ 360030157812 — simple interest charged
  hourly, one hour at the borrow, a part hour counted as a whole hour.
* FreqTrade's interest formulas (github freqtrade/freqtrade ``freqtrade/leverage/interest.py``):
  Binance I = borrowed × daily_rate × ceil(hours) / 24; Kraken I = borrowed × rate ×
  (1 + ceil(hours / 4)). Their test vectors (``tests/leverage/test_interest.py``,
  ``test_interest``): borrowed 60; Binance (0.0005, 10 min) → 0.00125, (0.00025, 10 min) →
  0.000625, (0.00025, 5 h) → 0.003125, (0.00025, 25 h) → 0.015625; Kraken (0.0005, 10 min) →
  0.06, (0.00025, 10 min) → 0.03, (0.00025, 5 h) → 0.045, (0.00025, 25 h) → 0.12.
* MARGIN_SPEC.md §11.2: Kraken's opening fee plus a rollover per 4 hours; the worked example of
  10,000 USD at 0.01 % + 0.01 % per 4 h held 74 h counts 18 rollovers, FreqTrade's formula 19.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from spot_helpers import HOUR, KRAKEN, KRAKEN_FREQTRADE, MINUTE, binance_margin, kraken_margin

from levtrade.margin import SpotAccount
from levtrade.margin import spot_formulas as sf
from levtrade.margin.ledger import SpotEntryKind
from levtrade.model.venue import SpotMarginProfile

DAY = 1_704_067_200_000
"""2024-01-01 00:00 UTC: a day boundary, so DAY + 13 * HOUR is 13:00."""

Path = Callable[[Any], Any]
"""The compiled function itself, or its plain-Python original."""
PATHS = [pytest.param(lambda f: f, id="compiled"), pytest.param(lambda f: f.py_func, id="py")]


def interest_entries(account: SpotAccount, asset: str) -> list[tuple[int, float]]:
    return [
        (e.time, e.amount)
        for e in account.ledger(asset).entries
        if e.kind is SpotEntryKind.INTEREST
    ]


# -- the counts, on both paths --------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("borrowed", "repaid", "hours"),
    [
        (13 * HOUR + 20 * MINUTE, 14 * HOUR + 15 * MINUTE, 2),  # SM-01: 13:20 → 14:15
        (13 * HOUR + 55 * MINUTE, 14 * HOUR + 30 * MINUTE, 2),  # SM-02: 13:55 → 14:30
        (13 * HOUR + 20 * MINUTE, 13 * HOUR + 21 * MINUTE, 1),  # a minute is a whole hour
        (13 * HOUR + 20 * MINUTE, 14 * HOUR, 1),  # repaid on the hour: that hour not charged
        (13 * HOUR, 14 * HOUR, 1),
        (13 * HOUR, 13 * HOUR, 1),  # borrowed and repaid at once: the hour at the borrow
        (0, 5 * HOUR, 5),
        (0, 25 * HOUR, 25),
    ],
)
def test_hourly_charge_count(path: Path, borrowed: int, repaid: int, hours: int) -> None:
    assert path(sf.hourly_charge_count)(DAY + borrowed, DAY + repaid, HOUR) == hours


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("held", "at_start", "count"),
    [
        (74 * HOUR, False, 18),  # §11.2 worked example: a rollover after each full 4 hours
        (74 * HOUR, True, 19),  # FreqTrade: ceil(74 / 4)
        (10 * MINUTE, True, 1),
        (10 * MINUTE, False, 0),
        (4 * HOUR, False, 1),
        (4 * HOUR, True, 1),
        (0, True, 1),
        (0, False, 0),
    ],
)
def test_rollover_count(path: Path, held: int, at_start: bool, count: int) -> None:
    assert path(sf.rollover_count)(held, 4 * HOUR, at_start) == count


# -- Binance, through the account ------------------------------------------------------------


def test_sm01_daily_rate_example_borrow_1320_repay_1415() -> None:
    # daily 0.02 % → hourly 0.02 % / 24; 1000 × (0.0002 / 24) × 2 hours = 0.016666667
    acct = binance_margin({"USDT": 1000.0}, interest_rates={"USDT": 0.0002 / 24})
    acct.borrow("USDT", 1000.0, time=DAY + 13 * HOUR + 20 * MINUTE)
    paid = acct.repay("USDT", time=DAY + 14 * HOUR + 15 * MINUTE)
    assert paid == pytest.approx(1000.0 + 0.01666667, abs=1e-8)
    charges = interest_entries(acct, "USDT")
    # the first hour at the borrow (13:20), the second at the start of 14:00
    assert [t - DAY for t, _ in charges] == [13 * HOUR + 20 * MINUTE, 14 * HOUR]
    assert sum(a for _, a in charges) == pytest.approx(0.01666667, abs=1e-8)
    assert acct.loan("USDT") == 0.0
    assert acct.unpaid_interest("USDT") == 0.0
    assert acct.balance("USDT") == pytest.approx(1000.0 - 0.01666667, abs=1e-8)
    assert acct.books_balance()


def test_sm02_hourly_rate_example_borrow_1355_look_at_1430() -> None:
    # hourly 0.001 %: 1000 × 0.00001 × 2 = 0.02
    acct = binance_margin({"USDT": 1000.0}, interest_rates={"USDT": 0.00001})
    acct.borrow("USDT", 1000.0, time=DAY + 13 * HOUR + 55 * MINUTE)
    acct.accrue_interest(DAY + 14 * HOUR + 30 * MINUTE)
    assert acct.unpaid_interest("USDT") == pytest.approx(0.02, abs=1e-12)
    assert acct.loan("USDT") == 1000.0


@pytest.mark.parametrize(
    ("daily_rate", "hours", "expected"),
    [
        (0.0005, 1 / 6, 0.00125),
        (0.00025, 1 / 6, 0.000625),
        (0.00025, 5, 0.003125),
        (0.00025, 25, 0.015625),
    ],
)
def test_binance_agrees_with_freqtrade_vectors(
    daily_rate: float, hours: float, expected: float
) -> None:
    # FreqTrade's vectors (borrowed 60) are loans taken on the hour: there FreqTrade's
    # ceil(hours) and Binance's clock hours are the same count.
    acct = binance_margin({"USDT": 1000.0}, interest_rates={"USDT": daily_rate / 24})
    acct.borrow("USDT", 60.0, time=DAY)
    paid = acct.repay("USDT", time=DAY + round(hours * HOUR))
    assert paid - 60.0 == pytest.approx(expected, rel=1e-9)


def test_binance_clock_hours_differ_from_freqtrade_off_the_hour() -> None:
    # 13:20 → 14:15 is 55 minutes: FreqTrade's ceil(55/60) = 1 hour, Binance's two clock hours
    # (SM-01). levtrade follows the venue.
    freqtrade = 60.0 * 0.00025 * 1 / 24
    acct = binance_margin({"USDT": 1000.0}, interest_rates={"USDT": 0.00025 / 24})
    acct.borrow("USDT", 60.0, time=DAY + 13 * HOUR + 20 * MINUTE)
    paid = acct.repay("USDT", time=DAY + 14 * HOUR + 15 * MINUTE)
    assert paid - 60.0 == pytest.approx(2 * freqtrade, rel=1e-9)


def test_a_rate_change_applies_from_its_hour() -> None:
    # 1000 borrowed at 14:30 at 0.001 %/h; from 15:00 0.002 %/h: 0.01 + 0.02 + 0.02 by 16:00
    acct = binance_margin({"USDT": 1000.0}, interest_rates={"USDT": 0.00001})
    acct.borrow("USDT", 1000.0, time=DAY + 14 * HOUR + 30 * MINUTE)
    acct.set_interest_rate("USDT", 0.00002, time=DAY + 15 * HOUR)
    acct.accrue_interest(DAY + 16 * HOUR)
    assert [a for _, a in interest_entries(acct, "USDT")] == pytest.approx([0.01, 0.02, 0.02])


def test_accruing_twice_charges_an_hour_once() -> None:
    acct = binance_margin({"USDT": 1000.0}, interest_rates={"USDT": 0.00001})
    acct.borrow("USDT", 1000.0, time=DAY + 13 * HOUR)
    for minutes in (0, 30, 60, 60, 61, 119, 120, 120):
        acct.accrue_interest(DAY + 13 * HOUR + minutes * MINUTE)
    # hours 13, 14 and 15 (15:00 is inclusive for an open loan): 3 × 0.01
    assert acct.unpaid_interest("USDT") == pytest.approx(0.03, rel=1e-12)
    times = [t for t, _ in interest_entries(acct, "USDT")]
    assert times == [DAY + 13 * HOUR, DAY + 14 * HOUR, DAY + 15 * HOUR]


def test_a_borrow_without_a_rate_is_refused_naming_the_asset() -> None:
    acct = binance_margin({"USDT": 1000.0})
    with pytest.raises(Exception, match=r"interest_rates: no binance-like interest rate for USDT"):
        acct.borrow("USDT", 100.0, time=DAY)
    assert acct.ledger("USDT").balances == {"external": -1000.0, "cross": 1000.0}


# -- Kraken ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "hours", "expected"),
    [(0.0005, 1 / 6, 0.06), (0.00025, 1 / 6, 0.03), (0.00025, 5, 0.045), (0.00025, 25, 0.12)],
)
def test_kraken_period_start_agrees_with_freqtrade_vectors(
    rate: float, hours: float, expected: float
) -> None:
    # FreqTrade's Kraken formula counts the opening fee plus a rollover at the start of every
    # 4 hours, the first at open: the PERIOD_START convention.
    acct = kraken_margin({"USD": 1000.0}, venue=KRAKEN_FREQTRADE, interest_rates={"USD": rate})
    acct.borrow("USD", 60.0, time=DAY)
    paid = acct.repay("USD", time=DAY + round(hours * HOUR))
    assert paid - 60.0 == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    ("rate", "hours", "expected"),
    # Kraken's fee table (rollover "starts after 4 hours"): opening + floor(hours / 4)
    # 60 × 0.0005 × (1 + 0) = 0.03; 60 × 0.00025 × (1 + 0) = 0.015;
    # 60 × 0.00025 × (1 + 1) = 0.03; 60 × 0.00025 × (1 + 6) = 0.105
    [(0.0005, 1 / 6, 0.03), (0.00025, 1 / 6, 0.015), (0.00025, 5, 0.03), (0.00025, 25, 0.105)],
)
def test_kraken_after_period(rate: float, hours: float, expected: float) -> None:
    acct = kraken_margin({"USD": 1000.0}, interest_rates={"USD": rate})
    acct.borrow("USD", 60.0, time=DAY)
    paid = acct.repay("USD", time=DAY + round(hours * HOUR))
    assert paid - 60.0 == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    ("venue", "expected"),
    # 10,000 × 0.0001 × (1 + 18) = 19.00 (Kraken's count); × (1 + 19) = 20.00 (FreqTrade's)
    [(KRAKEN, 19.0), (KRAKEN_FREQTRADE, 20.0)],
)
def test_kraken_74_hours_both_conventions(venue: SpotMarginProfile, expected: float) -> None:
    acct = kraken_margin({"USD": 10_000.0}, venue=venue, interest_rates={"USD": 0.0001})
    acct.borrow("USD", 10_000.0, time=DAY)
    acct.accrue_interest(DAY + 74 * HOUR)
    assert acct.unpaid_interest("USD") == pytest.approx(expected, rel=1e-12)


def test_kraken_rollover_on_the_fourth_hour_is_paid_by_a_repayment_then() -> None:
    # after_period: the rollover for hours 0-4 falls at 4:00 before a repayment at 4:00
    acct = kraken_margin({"USD": 1000.0}, interest_rates={"USD": 0.001})
    acct.borrow("USD", 100.0, time=DAY)
    paid = acct.repay("USD", time=DAY + 4 * HOUR)
    assert paid == pytest.approx(100.0 + 0.1 + 0.1, rel=1e-12)  # opening + one rollover


def test_kraken_rate_is_locked_at_the_borrow() -> None:
    acct = kraken_margin({"USD": 1000.0}, interest_rates={"USD": 0.001})
    acct.borrow("USD", 100.0, time=DAY)
    acct.set_interest_rate("USD", 0.01, time=DAY + HOUR)
    acct.accrue_interest(DAY + 8 * HOUR)
    # opening 0.1 + two rollovers at the locked 0.1 %
    assert acct.unpaid_interest("USD") == pytest.approx(0.3, rel=1e-12)
