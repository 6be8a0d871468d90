"""Leverage rules before every order: each limit on its own, with the numbers worked out; an
order that only reduces always passes; every decision is recorded with its reasons."""

from __future__ import annotations

import pytest
from risk_helpers import BTC, ETH, account

from levtrade.errors import ConfigError
from levtrade.margin import Account
from levtrade.risk import OrderIntent, RiskRules
from levtrade.risk.rules import REDUCES


def with_btc(size: float = 0.1) -> Account:
    """Wallet 10,000 with a cross long of ``size`` BTC @100,000 at its entry (equity 10,000)."""
    acct = account(10_000.0)
    acct.load_position(BTC, size=size, entry_price=100_000.0, leverage=10, margin_mode="cross")
    return acct


def test_per_trade_leverage() -> None:
    rules = RiskRules(max_leverage=5)
    decision = rules.check(OrderIntent(BTC, 0.01, 100_000.0, leverage=10), account())
    assert not decision
    assert decision.rules == ("max_leverage",)
    assert "leverage 10 is above the per-trade maximum 5" in decision.reason
    assert rules.check(OrderIntent(BTC, 0.01, 100_000.0, leverage=5), account()).accepted


def test_leverage_defaults_to_the_account_setting() -> None:
    acct = account(default_leverage=8)
    decision = RiskRules(max_leverage=5).check(OrderIntent(ETH, 1.0, 3_000.0), acct)
    assert "leverage 8 is above" in decision.reason


def test_portfolio_effective_leverage_after_the_order() -> None:
    rules = RiskRules(max_effective_leverage=3)
    acct = with_btc()
    # BTC 10,000 + ETH 5 × 3,000 = 15,000 → 25,000 / equity 10,000 = 2.5
    assert rules.check(OrderIntent(ETH, 5.0, 3_000.0), acct).accepted
    # ETH 8 × 3,000 = 24,000 → 34,000 / 10,000 = 3.4
    decision = rules.check(OrderIntent(ETH, 8.0, 3_000.0), acct)
    assert decision.rules == ("max_effective_leverage",)
    assert "3.4 is above the maximum 3" in decision.reason


def test_risk_per_trade_at_the_stop_with_fees() -> None:
    rules = RiskRules(max_risk_per_trade=0.01)
    acct = with_btc()
    # 0.05 BTC, 100,000 → 98,000: 0.05 × (2,000 + 50 + 49) = 104.95 = 1.0495 % of 10,000
    over = rules.check(OrderIntent(BTC, 0.05, 100_000.0, stop_price=98_000.0), acct)
    assert over.rules == ("max_risk_per_trade",)
    assert "104.95" in over.reason and "1.0495%" in over.reason
    # 0.04 BTC: 83.96 = 0.8396 %
    assert rules.check(OrderIntent(BTC, 0.04, 100_000.0, stop_price=98_000.0), acct).accepted
    missing = rules.check(OrderIntent(BTC, 0.04, 100_000.0), acct)
    assert "no stop_price" in missing.reason


def test_risk_of_a_flip_counts_only_the_new_side() -> None:
    # short 0.25 against the open long 0.1: the new short is 0.15 BTC; stop 102,000:
    # 0.15 × (2,000 + 50 + 51) = 315.15 = 3.1515 % of 10,000
    decision = RiskRules(max_risk_per_trade=0.03).check(
        OrderIntent(BTC, -0.25, 100_000.0, stop_price=102_000.0), with_btc()
    )
    assert "315.15" in decision.reason


def test_stop_on_the_wrong_side_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"stop_price: 101000\.0 must be below the entry"):
        RiskRules(max_risk_per_trade=0.01).check(
            OrderIntent(BTC, 0.01, 100_000.0, stop_price=101_000.0), with_btc()
        )


def test_open_positions_limit_counts_new_symbols_only() -> None:
    rules = RiskRules(max_open_positions=1)
    acct = with_btc()
    refused = rules.check(OrderIntent(ETH, 1.0, 3_000.0), acct)
    assert refused.rules == ("max_open_positions",)
    assert "1 positions are open, the maximum is 1" in refused.reason
    assert rules.check(OrderIntent(BTC, 0.01, 100_000.0), acct).accepted


def test_symbol_exposure_caps() -> None:
    rules = RiskRules(max_symbol_exposure={"BTC/USDT:USDT": 1.5, "*": 0.5})
    acct = with_btc()
    # BTC 0.1 + 0.06 = 0.16 × 100,000 = 16,000 = 1.6× equity > 1.5×
    assert rules.check(OrderIntent(BTC, 0.06, 100_000.0), acct).rules == ("max_symbol_exposure",)
    # 0.14 BTC = 1.4×
    assert rules.check(OrderIntent(BTC, 0.04, 100_000.0), acct).accepted
    # ETH 2 × 3,000 = 6,000 = 0.6× > the default 0.5×
    eth = rules.check(OrderIntent(ETH, 2.0, 3_000.0), acct)
    assert "exposure 0.6× equity is above the cap 0.5×" in eth.reason


def test_reductions_always_pass_and_every_decision_is_recorded() -> None:
    rules = RiskRules(max_leverage=1, max_open_positions=1, max_effective_leverage=0.1)
    acct = with_btc()
    reduce = rules.check(OrderIntent(BTC, -0.05, 100_000.0, leverage=20), acct)
    assert reduce.accepted and reduce.reason == REDUCES
    close = rules.check(OrderIntent(BTC, -0.1, 100_000.0, leverage=20), acct)
    assert close.accepted
    # flipping to short 0.2 opens risk again: leverage 20 > 1 and 20,000 / 10,000 = 2 > 0.1
    flip = rules.check(OrderIntent(BTC, -0.3, 100_000.0, leverage=20), acct)
    assert flip.rules == ("max_leverage", "max_effective_leverage")
    assert len(rules.decisions) == 3
    assert rules.rejections == [flip]
    frame = rules.to_frame()
    assert list(frame["accepted"]) == [True, True, False]
    assert frame.loc[2, "rules"] == "max_leverage,max_effective_leverage"


def test_hedge_mode_legs() -> None:
    acct = account(10_000.0, position_mode="hedge")
    acct.load_position(BTC, size=0.1, entry_price=100_000.0, leverage=10, margin_mode="cross")
    rules = RiskRules(max_leverage=2)
    # selling on the LONG leg reduces it; a sell with no leg opens the SHORT leg
    assert rules.check(OrderIntent(BTC, -0.05, 100_000.0, leg="long", leverage=10), acct)
    opened = rules.check(OrderIntent(BTC, -0.05, 100_000.0, leverage=10), acct)
    assert opened.rules == ("max_leverage",)


def test_zero_equity_refuses_ratio_rules() -> None:
    acct = account(0.0)
    decision = RiskRules(max_effective_leverage=5).check(OrderIntent(BTC, 0.01, 100_000.0), acct)
    assert decision.rules == ("equity",)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_leverage": 0.5}, "max_leverage: must be ≥ 1, got 0.5"),
        ({"max_effective_leverage": -2}, "max_effective_leverage: must be > 0, got -2"),
        ({"max_risk_per_trade": -0.01}, "max_risk_per_trade: must be in (0, 1], got -0.01"),
        ({"max_risk_per_trade": 2}, "max_risk_per_trade"),
        ({"max_open_positions": 0}, "max_open_positions: must be a whole number ≥ 1, got 0"),
        ({"max_symbol_exposure": {"BTC/USDT:USDT": 0}}, "max_symbol_exposure['BTC/USDT:USDT']"),
    ],
)
def test_bad_rule_settings(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        RiskRules(**kwargs)  # type: ignore[arg-type]
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": 0.0}, "size: must be non-zero, got 0.0"),
        ({"price": -1.0}, "price: must be > 0, got -1.0"),
        ({"leverage": 0.0}, "leverage: must be ≥ 1"),
        ({"stop_price": float("nan")}, "stop_price: must be a finite number"),
    ],
)
def test_bad_intents(kwargs: dict[str, float], message: str) -> None:
    base: dict[str, float] = {"size": 0.01, "price": 100_000.0}
    with pytest.raises(ConfigError) as info:
        OrderIntent(BTC, **{**base, **kwargs})  # type: ignore[arg-type]
    assert message in str(info.value)
