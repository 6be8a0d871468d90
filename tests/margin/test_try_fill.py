"""``Account.try_fill``: the rejections ``fill`` raises, returned instead, the account unchanged."""

from __future__ import annotations

import pytest
from margin_helpers import BINANCE, BTC, account, account_state

from levtrade.errors import ConfigError, InsufficientMargin, LeverageError, OrderRejected
from levtrade.margin import FillResult


def test_a_fill_it_can_afford_is_booked_as_by_fill() -> None:
    tried, filled = account(BINANCE, 10_000.0), account(BINANCE, 10_000.0)
    result = tried.try_fill(BTC, 0.1, 100_000.0, leverage=20, time=3)
    assert isinstance(result, FillResult)
    assert result == filled.fill(BTC, 0.1, 100_000.0, leverage=20, time=3)
    assert account_state(tried) == account_state(filled)


def test_insufficient_margin_is_returned_with_the_message_fill_raises() -> None:
    acct = account(BINANCE, 1_000.0)
    acct.register(BTC)
    before = account_state(acct)
    result = acct.try_fill(BTC, 1.0, 100_000.0, time=5)
    assert isinstance(result, InsufficientMargin)
    assert account_state(acct) == before
    with pytest.raises(InsufficientMargin) as raised:
        acct.fill(BTC, 1.0, 100_000.0, time=5)
    assert str(raised.value) == str(result)
    assert account_state(acct) == before


def test_a_rejected_flip_leaves_the_position_as_it_was() -> None:
    acct = account(BINANCE, 6_000.0)
    acct.fill(BTC, 1.0, 100_000.0, leverage=20)
    before = account_state(acct)
    # the close frees 5,000 of IM, but the 3 BTC short needs 15,000
    assert isinstance(acct.try_fill(BTC, -4.0, 100_000.0), InsufficientMargin)
    assert account_state(acct) == before
    # and the account trades on normally afterwards
    result = acct.try_fill(BTC, -1.0, 100_000.0)
    assert isinstance(result, FillResult) and result.position is None


def test_leverage_and_bankruptcy_rejections_are_returned_too() -> None:
    acct = account(BINANCE, 10_000.0)
    assert isinstance(acct.try_fill(BTC, 0.1, 100_000.0, leverage=500), LeverageError)
    acct.fill(BTC, 0.1, 100_000.0, leverage=20)
    acct.set_mark(BTC, 85_000.0)
    acct.withdraw(acct.withdrawable)
    before = account_state(acct)
    result = acct.try_fill(BTC, -0.1, 1.0)
    assert isinstance(result, OrderRejected) and "liquidated" in str(result)
    assert account_state(acct) == before


def test_invalid_arguments_still_raise() -> None:
    acct = account(BINANCE, 10_000.0)
    with pytest.raises(OrderRejected, match="size"):
        acct.try_fill(BTC, 0.0, 100_000.0)
    with pytest.raises(ConfigError, match="liquidity"):
        acct.try_fill(BTC, 0.1, 100_000.0, liquidity="both")  # type: ignore[arg-type]
