"""The emergency protocol: each trigger, the action it calls for, the strongest action winning,
cooldowns and alert hooks. Account: cross long 1 BTC @100,000, wallet 10,000, MMR 1 %, so
equity = P − 90,000, MM = 0.01·P, margin level = (P − 90,000)/(0.01·P) and the liquidation
price is 90,000/0.99 = 90,909.09."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from risk_helpers import BTC, ETH, account, cross_btc

from levtrade.errors import ConfigError
from levtrade.risk import (
    CloseAll,
    DrawdownAbove,
    EmergencyEvent,
    EmergencyProtocol,
    LiquidationWithin,
    MarginLevelBelow,
    ReduceBy,
    RiskContext,
    VolatilityAbove,
    log_alert,
)

LIQ = 90_000 / 0.99  # 90,909.09


def test_low_margin_level_reduces_by_a_fraction() -> None:
    # mark 91,300: level 1,300/913 = 1.424 < 1.5
    protocol = EmergencyProtocol([MarginLevelBelow(1.5, ReduceBy(0.3))])
    acct = cross_btc(mark=91_300.0)
    (order,) = protocol.check(acct)
    assert (order.symbol, order.leg, order.size, order.kind) == (BTC.symbol, "BOTH", -0.3, "reduce")
    assert "margin level 1.424 below 1.5" in order.reason
    # the caller executes it; the position is then 0.7
    acct.fill(order.instrument, order.size, 91_300.0, leg=order.leg)
    assert acct.positions[0].size == pytest.approx(0.7)
    # mark 100,000: level 10 → nothing
    assert protocol.check(cross_btc()) == []


def test_reduction_rounds_up_to_the_lot() -> None:
    coarse = replace(BTC, lot_size=0.4)
    acct = account()
    acct.load_position(
        coarse,
        size=1.0,
        entry_price=100_000.0,
        leverage=20,
        margin_mode="cross",
        mark_price=91_300.0,
    )
    (order,) = EmergencyProtocol([MarginLevelBelow(1.5, ReduceBy(0.3))]).check(acct)
    # 0.3 of 1.0 rounded up to the 0.4 lot
    assert order.size == pytest.approx(-0.4)


def test_within_five_percent_of_liquidation_closes() -> None:
    protocol = EmergencyProtocol([LiquidationWithin(0.05, action=CloseAll())])
    # mark 95,000: (95,000 − 90,909.09)/95,000 = 4.31 % ≤ 5 %
    (order,) = protocol.check(cross_btc(mark=95_000.0))
    assert (order.size, order.kind) == (-1.0, "close")
    assert "4.31% from liquidation" in order.reason
    # mark 100,000: 9.09 % away
    assert protocol.check(cross_btc()) == []


def test_distance_in_atr_multiples() -> None:
    protocol = EmergencyProtocol([LiquidationWithin(atr_multiple=3.0)], action=CloseAll())
    # ATR 1,000: mark 95,000 is 4.09 ATR away; mark 93,500 is 2.59 ATR away
    context = RiskContext(atr={BTC.symbol: 1_000.0})
    assert protocol.check(cross_btc(mark=95_000.0), context) == []
    assert len(protocol.check(cross_btc(mark=93_500.0), context)) == 1


def test_strongest_action_wins() -> None:
    protocol = EmergencyProtocol(
        [MarginLevelBelow(1.5, ReduceBy(0.3)), LiquidationWithin(0.05, action=CloseAll())]
    )
    # mark 91,300 fires both (level 1.42; 0.43 % from liquidation): one close order
    (order,) = protocol.check(cross_btc(mark=91_300.0))
    assert (order.size, order.kind) == (-1.0, "close")
    assert [e.trigger for e in protocol.events] == ["margin_level", "liquidation_distance"]
    assert protocol.events[0].orders == (order,)


def test_drawdown_from_the_peak_seen() -> None:
    protocol = EmergencyProtocol([DrawdownAbove(0.2)], action=CloseAll())
    acct = cross_btc()
    assert protocol.check(acct) == []  # equity 10,000, the first peak
    acct.set_mark(BTC, 110_000.0)
    assert protocol.check(acct) == []  # equity 20,000, new peak
    acct.set_mark(BTC, 104_000.0)
    # equity 14,000: 1 − 14,000/20,000 = 30 % ≥ 20 %
    (order,) = protocol.check(acct)
    assert order.kind == "close"
    assert "drawdown 30.00% at or above 20.00%" in order.reason
    # a drawdown from the context overrides the protocol's own
    assert protocol.check(acct, RiskContext(drawdown=0.1)) == []


def test_volatility_by_symbol_targets_those_positions() -> None:
    acct = account()
    acct.load_position(BTC, size=1.0, entry_price=100_000.0, leverage=20, margin_mode="cross")
    acct.load_position(ETH, size=10.0, entry_price=5_000.0, leverage=20, margin_mode="cross")
    protocol = EmergencyProtocol([VolatilityAbove(0.8, ReduceBy(0.5))])
    orders = protocol.check(acct, RiskContext(volatility={BTC.symbol: 1.0, ETH.symbol: 0.5}))
    assert [(o.symbol, o.size) for o in orders] == [(BTC.symbol, -0.5)]
    # one account-wide volatility: every position
    orders = protocol.check(acct, RiskContext(volatility=0.9))
    assert [(o.symbol, o.size) for o in orders] == [(BTC.symbol, -0.5), (ETH.symbol, -5.0)]


def test_close_all_closes_every_position_reduce_only_the_named_ones() -> None:
    acct = account()
    acct.load_position(BTC, size=1.0, entry_price=100_000.0, leverage=20, margin_mode="cross")
    acct.load_position(ETH, size=10.0, entry_price=5_000.0, leverage=20, margin_mode="cross")
    # volatility names BTC only: ReduceBy halves BTC, CloseAll closes both
    context = RiskContext(volatility={BTC.symbol: 1.0})
    reduce = EmergencyProtocol([VolatilityAbove(0.8, ReduceBy(0.5))]).check(acct, context)
    assert [(o.symbol, o.size) for o in reduce] == [(BTC.symbol, -0.5)]
    close = EmergencyProtocol([VolatilityAbove(0.8, CloseAll())]).check(acct, context)
    assert [(o.symbol, o.size, o.kind) for o in close] == [
        (BTC.symbol, -1.0, "close"),
        (ETH.symbol, -10.0, "close"),
    ]


def test_hedge_leg_orders() -> None:
    acct = account(position_mode="hedge")
    acct.load_position(
        BTC, size=1.0, entry_price=100_000.0, leverage=20, margin_mode="cross", mark_price=91_300.0
    )
    (order,) = EmergencyProtocol([MarginLevelBelow(1.5, ReduceBy(0.5))]).check(acct)
    assert (order.leg, order.size) == ("LONG", -0.5)


def test_cooldown() -> None:
    protocol = EmergencyProtocol([MarginLevelBelow(1.5, ReduceBy(0.3))], cooldown=60_000)
    acct = cross_btc(mark=91_300.0)
    assert protocol.check(acct, RiskContext(time=0))
    assert protocol.check(acct, RiskContext(time=30_000)) == []
    assert protocol.check(acct, RiskContext(time=60_000))


def test_alerts_log_and_callback(caplog: pytest.LogCaptureFixture) -> None:
    received: list[EmergencyEvent] = []

    def broken(event: EmergencyEvent) -> None:
        raise RuntimeError("pager down")

    protocol = EmergencyProtocol(
        [LiquidationWithin(0.05, action=CloseAll())],
        alerts=[broken, log_alert(), received.append],
    )
    with caplog.at_level(logging.WARNING):
        orders = protocol.check(cross_btc(mark=95_000.0), RiskContext(time=42))
    # the failing hook is logged; the others and the orders still go out
    assert len(orders) == 1
    assert len(received) == 1
    assert received[0].message == (
        "emergency liquidation_distance at 42: 4.31% from liquidation -> close (BTC/USDT:USDT)"
    )
    assert "pager down" in caplog.text
    assert received[0].message in caplog.text


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ReduceBy(0.0), "fraction: must be in (0, 1], got 0.0"),
        (lambda: ReduceBy(1.5), "fraction: must be in (0, 1], got 1.5"),
        (lambda: MarginLevelBelow(0.9), "level: a margin level above 1"),
        (lambda: LiquidationWithin(), "give a fraction of the mark or an atr_multiple"),
        (lambda: LiquidationWithin(atr_multiple=-1.0), "atr_multiple: must be > 0"),
        (lambda: DrawdownAbove(-0.1), "fraction"),
        (lambda: EmergencyProtocol([]), "triggers: need at least one trigger"),
        (lambda: EmergencyProtocol([DrawdownAbove(0.2)]), "triggers[0]: drawdown has no action"),
        (
            lambda: EmergencyProtocol([DrawdownAbove(0.2)], action=CloseAll(), cooldown=-1),
            "cooldown: must be whole milliseconds ≥ 0, got -1",
        ),
    ],
)
def test_bad_settings(make: object, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        make()  # type: ignore[operator]
    assert message in str(info.value)


def test_liquidation_price_constant_matches_the_account() -> None:
    acct = cross_btc()
    assert acct.liquidation_price(acct.positions[0]) == pytest.approx(LIQ)
