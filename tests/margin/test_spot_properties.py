"""Hypothesis properties of the spot-margin account.

* The margin level at a computed margin-call or liquidation price equals that threshold (both
  venues' margin levels, long and short, with other assets held).
* After random sequences of borrows, repayments, trades, price moves, interest accrual,
  transfers and liquidations: each asset's books sum to zero, the loan books mirror the loan
  tranches, no pool holds a negative balance, unpaid interest is never negative, and a rejected
  action changes nothing.
* Interest is never negative and never charged twice for a period: however often it is
  accrued, a loan pays exactly the venue's count of periods (MARGIN_SPEC.md §11).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, event, given, settings
from spot_helpers import BINANCE, HOUR, KRAKEN, KRAKEN_FREQTRADE, pair, spot_state

from levtrade.errors import LevtradeError
from levtrade.margin import SpotAccount
from levtrade.margin import spot_formulas as sf
from levtrade.margin.ledger import SpotEntryKind, loan_book

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEQUENCES = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
REL = 1e-9
VENUES = {"binance": BINANCE, "kraken": KRAKEN}
CURRENCY = {"binance": "USDT", "kraken": "USD"}


# -- the margin level at its computed price ----------------------------------------------------


def amounts(most: float) -> st.SearchStrategy[float]:
    """An amount an account holds: 0 or at least a millionth of a unit (no subnormals)."""
    return st.one_of(st.just(0.0), st.floats(1e-6, most))


@given(
    venue=st.sampled_from(sorted(VENUES)),
    cash=amounts(50_000.0),
    held=amounts(2.0),
    quote_loan=amounts(60_000.0),
    base_loan=amounts(2.0),
    interest=amounts(50.0),
    other=amounts(20.0),
    leverage=st.floats(1.0, 5.0),
    price=st.floats(1_000.0, 100_000.0),
    threshold=st.sampled_from(["liquidation", "margin_call"]),
)
@PROPERTY
def test_margin_level_at_the_computed_price_equals_the_threshold(
    venue: str,
    cash: float,
    held: float,
    quote_loan: float,
    base_loan: float,
    interest: float,
    other: float,
    leverage: float,
    price: float,
    threshold: str,
) -> None:
    currency = CURRENCY[venue]
    profile = VENUES[venue]
    levels = profile.cross
    assert levels is not None
    leverage = min(leverage, levels.max_leverage)
    acct = SpotAccount(
        profile,
        {currency: cash, "BTC": held, "ETH": other},
        currency=currency,
        trading_mode="margin",
    )
    acct.set_prices({"BTC": price, "ETH": 2_000.0})
    if quote_loan > 1.0:
        acct.load_loan(currency, quote_loan, leverage=leverage, interest=interest)
    if base_loan > 1e-4:
        acct.load_loan("BTC", base_loan, leverage=leverage)
    level = getattr(levels, threshold)
    at = acct.level_price("BTC", level)
    if at is None:
        return
    acct.set_price("BTC", at)
    assert math.isclose(acct.margin_level(), level, rel_tol=REL, abs_tol=1e-12)


# -- random sequences -------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    kind: str
    asset: int
    amount: float
    move: float
    minutes: int
    leverage: float


steps = st.builds(
    Step,
    kind=st.sampled_from(
        [
            "buy",
            "sell",
            "borrow",
            "repay",
            "repay_all",
            "price",
            "accrue",
            "liquidate",
            "withdraw",
            "transfer",
            "settle",
            "lever_long",
            "lever_short",
        ]
    ),
    asset=st.integers(0, 1),
    amount=st.floats(0.001, 1.5),
    move=st.floats(-0.45, 0.8),
    minutes=st.integers(0, 300),
    leverage=st.floats(1.0, 5.0),
)


def check(acct: SpotAccount) -> None:
    """The invariants every state keeps."""
    assert acct.books_balance()
    for asset, ledger in acct.ledgers.items():
        for pool in acct.pools:
            assert ledger.balance(pool) >= -1e-9 * max(1.0, abs(ledger.balance(loan_book(pool))))
            tranches = acct._loans.get((pool, asset), [])
            assert math.isclose(
                acct.loan(asset, pool), sum(t.amount for t in tranches), rel_tol=1e-9, abs_tol=1e-9
            )
            assert acct.unpaid_interest(asset, pool) >= -1e-12
        assert all(e.amount > 0 for e in ledger.entries)


@given(
    venue=st.sampled_from(sorted(VENUES)),
    isolated=st.booleans(),
    fee=st.sampled_from([0.0, 0.001]),
    sequence=st.lists(steps, min_size=1, max_size=25),
)
@SEQUENCES
def test_books_balance_after_random_sequences(
    venue: str, isolated: bool, fee: float, sequence: list[Step]
) -> None:
    currency = CURRENCY[venue]
    isolated = isolated and venue == "binance"
    acct = SpotAccount(
        VENUES[venue],
        {currency: 10_000.0, "BTC": 0.1},
        currency=currency,
        trading_mode="margin",
        margin_mode="isolated" if isolated else "cross",
        interest_rates={currency: 0.0002, "BTC": 0.0001},
    )
    btc = pair(f"BTC/{currency}", fee)
    price = 50_000.0
    acct.set_price("BTC", price)
    pool = acct.pool_for(btc)
    if isolated:
        acct.transfer(currency, 3_000.0, destination=btc)
        acct.transfer("BTC", 0.05, destination=btc)
    now = 0
    for step in sequence:
        now += step.minutes * 60_000
        asset = [currency, "BTC"][step.asset]
        before = spot_state(acct)
        equity_before = acct.equity(pool)
        outcome: Any = None
        try:
            if step.kind in ("buy", "sell"):
                size = step.amount * (1 if step.kind == "buy" else -1)
                outcome = acct.try_fill(btc, size, price, leverage=step.leverage, time=now)
            elif step.kind in ("lever_long", "lever_short"):
                # as much as the borrow level allows (near the venue's maximum leverage)
                spend = currency if step.kind == "lever_long" else "BTC"
                room = acct.max_borrowable(spend, pool, leverage=step.leverage)
                # Kraken funds a whole position from its margin pool: the room is all of it
                own = 0.0 if venue == "kraken" and spend == currency else acct.balance(spend, pool)
                amount = 0.999 * (room + own)
                size = amount / price if spend == currency else -amount
                outcome = acct.try_fill(btc, size, price, leverage=step.leverage, time=now)
            elif step.kind == "borrow":
                amount = step.amount * (10_000.0 if asset == currency else 0.2)
                acct.borrow(asset, amount, pool=pool, leverage=step.leverage, time=now)
            elif step.kind == "repay":
                acct.repay(asset, step.amount, pool=pool, time=now)
            elif step.kind == "repay_all":
                acct.repay(asset, pool=pool, time=now)
            elif step.kind == "settle":
                acct.settle(pool, time=now)
            elif step.kind == "price":
                price *= 1.0 + step.move
                acct.set_price("BTC", price, time=now)
            elif step.kind == "accrue":
                charged = acct.accrue_interest(now)
                assert charged >= 0.0
            elif step.kind == "withdraw":
                acct.withdraw(asset, step.amount * 100.0, pool=pool, time=now)
            elif step.kind == "transfer" and isolated:
                acct.transfer(asset, step.amount * 100.0, source="spot", destination=btc)
            elif step.kind == "liquidate":
                for result in acct.process_liquidations(slippage=0.01, time=now):
                    event("liquidated")
                    # a liquidation never takes more than the pool held
                    assert result.equity_after >= 0.0
                    assert result.fee >= 0.0 and result.insurance_fund >= 0.0
                    assert result.equity_after <= max(equity_before, 0.0) + 1e-6
            event(f"{step.kind}: {'rejected' if isinstance(outcome, LevtradeError) else 'ok'}")
        except LevtradeError:
            event(f"{step.kind}: rejected")
            assert spot_state(acct) == before
        if isinstance(outcome, LevtradeError):
            assert spot_state(acct) == before
        check(acct)


# -- interest: never negative, never twice ----------------------------------------------------


@given(
    start=st.integers(0, 10**12),
    held=st.integers(0, 200 * HOUR),
    principal=st.floats(1.0, 1e6),
    rate=st.floats(1e-6, 0.01),
    # accruals while the loan is open, before the repayment (an accrual at the repayment's
    # own instant on the hour would charge that hour first, by the order of the calls)
    accruals=st.lists(st.floats(0.0, 1.0, exclude_max=True), max_size=12),
)
@PROPERTY
def test_hourly_interest_counts_each_hour_once(
    start: int, held: int, principal: float, rate: float, accruals: list[float]
) -> None:
    # enough USDT to repay the loan and every hour's interest (at most held/HOUR + 2 charges)
    funds = principal * (2.0 + rate * (held / HOUR + 2))
    acct = SpotAccount(
        BINANCE,
        {"USDT": funds},
        currency="USDT",
        trading_mode="margin",
        interest_rates={"USDT": rate},
        time=start,
    )
    acct.borrow("USDT", principal, time=start)
    for fraction in sorted(accruals):
        acct.accrue_interest(start + int(fraction * held))
    paid = acct.repay("USDT", time=start + held)
    hours = sf.hourly_charge_count.py_func(start, start + held, HOUR)
    assert math.isclose(paid - principal, principal * rate * hours, rel_tol=REL, abs_tol=1e-9)
    charges = [e for e in acct.ledger("USDT").entries if e.kind is SpotEntryKind.INTEREST]
    assert len(charges) == hours
    times = [e.time for e in charges]
    assert times == sorted(set(times))  # each hour at most once, in order
    # the first at the borrow, every other on the hour
    assert times[0] == start and all(t % HOUR == 0 for t in times[1:])


@given(
    at_start=st.booleans(),
    held=st.integers(0, 100 * HOUR),
    principal=st.floats(1.0, 1e6),
    rate=st.floats(1e-6, 0.01),
    accruals=st.lists(st.floats(0.0, 1.0, exclude_max=True), max_size=12),
)
@PROPERTY
def test_rollovers_count_each_period_once(
    at_start: bool, held: int, principal: float, rate: float, accruals: list[float]
) -> None:
    acct = SpotAccount(
        KRAKEN_FREQTRADE if at_start else KRAKEN,
        {"USD": 2 * principal},
        currency="USD",
        trading_mode="margin",
        interest_rates={"USD": rate},
    )
    acct.borrow("USD", principal, time=0)
    for fraction in sorted(accruals):
        acct.accrue_interest(int(fraction * held))
    paid = acct.repay("USD", time=held)
    periods = 1 + sf.rollover_count.py_func(held, 4 * HOUR, at_start)  # the opening fee + ...
    assert math.isclose(paid - principal, principal * rate * periods, rel_tol=REL, abs_tol=1e-9)
    assert all(
        e.amount >= 0 for e in acct.ledger("USD").entries if e.kind is SpotEntryKind.INTEREST
    )
