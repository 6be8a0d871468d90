"""The account's public methods refuse absurd numbers where they enter, with the one-line errors
the command line shows (field and value named), and change nothing when they do.

Sizes lie in [1e-12, 1e15] contracts, prices in [1e-12, 1e12], amounts in [1e-12, 1e15],
funding rates within ±0.1 per interval (levtrade._validation): inside these ranges every
product and sum the formulas form is a normal float, so an accepted input cannot end in a
division by zero (an inverse average entry of 1e-320 contracts) or inf − inf in the equity.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from margin_helpers import BINANCE, BTC, ETH, account, account_state, instrument, single

from levtrade.errors import ConfigError, LevtradeError, OrderRejected, TransferRejected
from levtrade.margin import Account, PositionKey
from levtrade.margin.cross_sums import ExactSum

INVERSE = instrument("BTC/USD:BTC", contract_size=100.0)

NUMBERS: list[tuple[Any, str]] = [
    (1e-320, "must be at least 1e-12, got 1e-320"),
    (float("inf"), "must be a finite number, got inf"),
    (float("nan"), "must be a finite number, got nan"),
    (-5.0, "must be > 0, got -5.0"),
    ("1.0", "must be a number, got '1.0'"),
    (True, "must be a number, got True"),
]


def opened() -> Account:
    acct = account(wallet=10_000.0)
    acct.fill(BTC, 0.1, 100_000.0, leverage=10, margin_mode="isolated")
    return acct


def refuses(action: Callable[[Account], object], error: type[LevtradeError], message: str) -> None:
    acct = opened()
    before = account_state(acct)
    with pytest.raises(error) as caught:
        action(acct)
    assert str(caught.value) == message
    assert account_state(acct) == before


@pytest.mark.parametrize(("value", "problem"), NUMBERS)
def test_prices_are_refused_where_they_enter(value: Any, problem: str) -> None:
    refuses(lambda a: a.fill(ETH, 1.0, value), OrderRejected, f"price: {problem}")
    refuses(lambda a: a.set_mark(BTC, value), ConfigError, f"mark_price: {problem}")
    refuses(lambda a: a.set_oracle(BTC, value), ConfigError, f"oracle_price: {problem}")
    refuses(lambda a: a.settle_funding(BTC, 0.0001, price=value), ConfigError, f"price: {problem}")


@pytest.mark.parametrize(("value", "problem"), NUMBERS)
def test_amounts_are_refused_where_they_enter(value: Any, problem: str) -> None:
    key = PositionKey("BTC/USDT:USDT", "BOTH")
    refuses(lambda a: a.deposit(value), TransferRejected, f"amount: {problem}")
    refuses(lambda a: a.withdraw(value), TransferRejected, f"amount: {problem}")
    refuses(lambda a: a.add_margin(key, value), TransferRejected, f"amount: {problem}")
    refuses(lambda a: a.remove_margin(key, value), TransferRejected, f"amount: {problem}")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (1e-320, "must be at least 1e-12 in magnitude, got 1e-320"),
        (-1e-320, "must be at least 1e-12 in magnitude, got -1e-320"),
        (1e16, "must be at most 1e+15 in magnitude, got 1e+16"),
        (float("inf"), "must be a finite number, got inf"),
        (float("nan"), "must be a finite number, got nan"),
        ("0.1", "must be a number, got '0.1'"),
    ],
)
def test_sizes_are_refused_where_they_enter(value: Any, problem: str) -> None:
    refuses(lambda a: a.fill(ETH, value, 3_000.0), OrderRejected, f"size: {problem}")
    refuses(lambda a: a.fill(INVERSE, value, 100_000.0), OrderRejected, f"size: {problem}")
    refuses(
        lambda a: a.load_position(
            ETH, size=value, entry_price=3_000.0, leverage=5, margin_mode="cross"
        ),
        ConfigError,
        f"size: {problem}",
    )


def test_a_dust_fill_on_an_inverse_contract_is_refused_not_divided_by_zero() -> None:
    # the harmonic average entry of an inverse position divides by Σ size/price: a fill of
    # 1e-320 contracts underflowed to 0 and raised ZeroDivisionError
    acct = account(wallet=1.0, tiers={"BTC/USD:BTC": single(0.005, 100.0, symbol="BTC/USD:BTC")})
    acct.fill(INVERSE, 10.0, 100_000.0, leverage=10)
    with pytest.raises(OrderRejected, match=r"^size: must be at least 1e-12 in magnitude"):
        acct.fill(INVERSE, 1e-320, 100_000.0)
    assert acct.position("BTC/USD:BTC").size == 10.0


@pytest.mark.parametrize(
    ("rate", "message"),
    [
        (5.0, "rate: must be at most 0.1 in magnitude, got 5.0 (a funding rate per interval)"),
        (-0.2, "rate: must be at most 0.1 in magnitude, got -0.2 (a funding rate per interval)"),
        (float("nan"), "rate: must be a finite number, got nan (a funding rate per interval)"),
        ("0.01", "rate: must be a number, got '0.01' (a funding rate per interval)"),
    ],
)
def test_funding_rates_beyond_any_venue_cap_are_refused(rate: Any, message: str) -> None:
    refuses(lambda a: a.settle_funding(BTC, rate), ConfigError, message)


def test_funding_rates_at_the_caps_are_settled() -> None:
    # a long 0.1 BTC at mark 100,000 pays 0.1 · 100,000 · 0.1 = 1,000 at the 10 % bound
    acct = opened()
    assert acct.settle_funding(BTC, 0.1) == pytest.approx(-1_000.0)
    assert acct.settle_funding(BTC, 0.0) == 0.0


@pytest.mark.parametrize(
    ("wallet", "message"),
    [
        (float("nan"), "wallet_balance: must be a finite number, got nan"),
        (-1.0, "wallet_balance: must be ≥ 0, got -1.0"),
        (1e16, "wallet_balance: must be at most 1e+15, got 1e+16"),
        ("100", "wallet_balance: must be a number, got '100'"),
    ],
)
def test_a_wallet_out_of_range_is_refused(wallet: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Account(BINANCE, wallet)
    assert str(caught.value) == message


def test_load_positions_places_all_or_none_and_names_the_refused_one() -> None:
    acct = account(wallet=10_000.0)
    before = account_state(acct)
    good = {"instrument": BTC, "size": 0.1, "entry_price": 100_000.0, "leverage": 10,
            "margin_mode": "cross"}  # fmt: skip
    bad = {**good, "instrument": ETH, "entry_price": float("inf")}
    with pytest.raises(ConfigError) as caught:
        acct.load_positions([good, bad])
    assert str(caught.value) == "positions[1]: entry_price: must be a finite number, got inf"
    assert account_state(acct) == before
    placed = acct.load_positions([good, {**bad, "entry_price": 3_000.0, "size": 1.0}])
    assert [p.symbol for p in placed] == ["BTC/USDT:USDT", "ETH/USDT:USDT"]


# -- the cross sums are math.fsum's, bit for bit -------------------------------------------

finite = st.floats(-1e12, 1e12, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(finite, min_size=1, max_size=40), data=st.data())
def test_the_sum_without_a_part_is_fsum_of_the_rest(values: list[float], data: Any) -> None:
    part = data.draw(st.lists(st.integers(0, len(values) - 1), unique=True, max_size=len(values)))
    rest = [v for i, v in enumerate(values) if i not in set(part)]
    total = ExactSum(values)
    assert total.total == math.fsum(values)
    got, expected = total.without(sorted(part)), math.fsum(rest)
    assert got == expected
    assert got.hex() == expected.hex() or got == 0.0  # the same float, bit for bit


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(
        st.floats(0.01, 5.0).flatmap(lambda q: st.sampled_from([q, -q])), min_size=2, max_size=8
    ),
    moves=st.lists(st.floats(0.8, 1.2), min_size=8, max_size=8),
)
def test_cross_figures_equal_the_sums_of_the_positions_figures(
    sizes: list[float], moves: list[float]
) -> None:
    symbols = [f"C{i}/USDT:USDT" for i in range(len(sizes))]
    tiers = {s: single(0.004, 150.0, symbol=s) for s in symbols}
    acct = account(wallet=1e6, tiers=tiers)
    for symbol, size in zip(symbols, sizes, strict=False):
        acct.fill(instrument(symbol), size, 100.0, leverage=10)
    for symbol, move in zip(symbols, moves, strict=False):
        acct.set_mark(symbol, 100.0 * move)
    keys = [p.key for p in acct.positions]
    assert acct.maintenance_margin == math.fsum(acct.maintenance_margin_of(k) for k in keys)
    assert acct.equity == acct.wallet_balance + math.fsum(acct.unrealized_pnl(k) for k in keys)
