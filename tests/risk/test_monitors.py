"""Monitors on a live account and analyzers on a backtest result.

Account figures are checked against MARGIN_SPEC.md (BN-03, BN-12a) or hand arithmetic; the
analyzers run through the backtester's own ``run_analyzers`` on a hand-built
:class:`~levtrade.backtest.results.BacktestResult`.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
import pytest
from risk_helpers import BINANCE, BTC, HOUR, binance_tier1, cross_btc, cross_btc_eth

from levtrade.backtest.results import BacktestResult, ledger_frame, run_analyzers
from levtrade.data import OHLC, MarketData
from levtrade.errors import ConfigError
from levtrade.margin import Account
from levtrade.risk import (
    DistanceToLiquidation,
    EffectiveLeverage,
    FundingPaid,
    LiquidationCount,
    MarginCalls,
    MarginMonitor,
    MinimumMarginLevel,
    TimeBelowThresholds,
    account_margin_level,
    distance_to_liquidation,
    effective_leverage,
    log_alert,
    margin_analyzers,
    margin_level,
    margin_snapshot,
)
from levtrade.spec.config import BacktestConfig

SYMBOL = "BTC/USDT:USDT"


def bn12a(mark: float = 95_500.0) -> Account:
    """BN-12a: isolated long 1 BTC @100,000 with 5,000 margin (LP 95,381.53, BN-03);
    cross wallet 1,000 beside it."""
    acct = Account(BINANCE, 1_000.0, tier_provider=lambda inst: binance_tier1(inst.symbol))
    acct.load_position(
        BTC,
        size=1.0,
        entry_price=100_000.0,
        leverage=20,
        margin_mode="isolated",
        isolated_margin=5_000.0,
        mark_price=mark,
    )
    return acct


def test_margin_level_is_the_inverse_margin_ratio() -> None:
    assert margin_level(382.0, 500.0) == pytest.approx(500 / 382)
    assert margin_level(0.0, 500.0) == math.inf
    assert margin_level(100.0, -5.0) == 0.0


def test_bn12a_isolated_snapshot() -> None:
    acct = bn12a()
    snap = margin_snapshot(acct, atr={SYMBOL: 100.0}, time=7)
    (pos,) = snap.positions
    # mark 95,500: equity 500, MM 0.4 % × 95,500 = 382 → level 1.30890
    assert pos.margin_level == pytest.approx(500 / 382)
    assert snap.margin_level == pytest.approx(500 / 382)
    assert pos.liquidation_price == pytest.approx(95_381.53, abs=0.01)  # BN-03
    # distance (95,500 − 95,381.526)/95,500 = 0.0012406; in ATR 118.474/100 = 1.18474
    lp = (100_000 - 5_000) / 0.996
    assert pos.distance == pytest.approx((95_500 - lp) / 95_500)
    assert pos.distance_atr == pytest.approx((95_500 - lp) / 100)
    assert snap.min_distance == pos.distance
    # total equity 1,000 + 500; notional 95,500 → effective leverage 63.67
    assert snap.total_equity == pytest.approx(1_500.0)
    assert snap.effective_leverage == pytest.approx(95_500 / 1_500)
    assert snap.unrealized_pnl == pytest.approx(-4_500.0)
    assert snap.time == 7
    # no cross positions: the cross pool has no MM
    assert snap.margin_ratio == 0.0


def test_bn12a_liquidatable_pool_is_at_distance_zero() -> None:
    acct = bn12a(95_300.0)  # equity 300 ≤ MM 381.2
    assert distance_to_liquidation(acct, acct.positions[0]) == 0.0
    assert account_margin_level(acct) == pytest.approx(300 / 381.2)


def test_cross_snapshot_by_hand() -> None:
    acct = cross_btc_eth()
    # equity 10,000; MM 1 % × (100,000 + 50,000) = 1,500 → level 6.667; notional 150,000
    assert account_margin_level(acct) == pytest.approx(10_000 / 1_500)
    assert effective_leverage(acct) == pytest.approx(15.0)
    # BTC alone: 10,000 + (P − 100,000) = 0.01 P + 500 → P = 90,500/0.99 = 91,414.14
    btc = acct.positions[0]
    assert distance_to_liquidation(acct, btc) == pytest.approx(1 - 90_500 / 0.99 / 100_000)


def test_monitor_margin_calls_and_time_below() -> None:
    # one long 1 BTC @100,000, wallet 10,000, MMR 1 %: level = (P − 90,000)/(0.01 P)
    #   100,000 → 10; 91,300 → 1,300/913 = 1.4239; 91,200 → 1,200/912 = 1.3158;
    #   91,500 → 1,500/915 = 1.6393; 91,000 → 1,000/910 = 1.0989
    acct = cross_btc()
    seen: list[object] = []
    monitor = MarginMonitor(margin_call_level=1.5, thresholds=(2.0, 1.5, 1.2), alerts=[seen.append])
    for i, mark in enumerate([100_000.0, 91_300.0, 91_200.0, 91_500.0, 91_000.0]):
        acct.set_mark(BTC, mark)
        monitor.update(acct, time=i * 1_000)
    levels = monitor.to_frame()["margin_level"].tolist()
    assert levels == pytest.approx([10.0, 1_300 / 913, 1_200 / 912, 1_500 / 915, 1_000 / 910])
    # the level crosses below 1.5 twice: at t = 1,000 and t = 4,000
    assert [c.time for c in monitor.margin_calls] == [1_000, 4_000]
    assert seen == monitor.margin_calls
    summary = monitor.summary()
    assert summary["min_margin_level"] == pytest.approx(1_000 / 910)
    assert summary["min_margin_level_time"] == 4_000
    assert summary["margin_calls"] == 2
    # below 2.0: 4 updates; below 1.5: 3; below 1.2: 1 — each lasting 1,000 ms
    assert [(r["bars"], r["duration_ms"]) for r in summary["time_below"]] == [
        (4, 4_000),
        (3, 3_000),
        (1, 1_000),
    ]


def test_log_alert(caplog: pytest.LogCaptureFixture) -> None:
    acct = cross_btc(mark=91_000.0)
    monitor = MarginMonitor(alerts=[log_alert()])
    with caplog.at_level(logging.WARNING):
        monitor.update(acct, time=5)
    assert "margin call at 5: margin level 1.099 below 1.5" in caplog.text


def test_monitor_rejects_levels_at_or_below_liquidation() -> None:
    with pytest.raises(ConfigError, match="margin_call_level: a margin level above 1"):
        MarginMonitor(margin_call_level=1.0)
    with pytest.raises(ConfigError, match=r"thresholds\[1\]"):
        MarginMonitor(thresholds=(2.0, 0.5))


# ============================================================================================
# Analyzers on a backtest result
# ============================================================================================

TIMES = np.arange(5, dtype=np.int64) * HOUR


def result(
    trades: pd.DataFrame | None = None, ledger: pd.DataFrame | None = None
) -> BacktestResult:
    """Five hourly bars: a long opened at bar 1 and closed at bar 4.

    margin ratio 0, 0.5, 0.8, 0.25, 0 → margin level inf, 2, 1.25, 4, inf
    """
    series = pd.DataFrame(
        {
            "time": TIMES,
            "equity": [10_000.0, 9_000.0, 8_000.0, 9_500.0, 10_000.0],
            "cross_equity": [10_000.0, 9_000.0, 8_000.0, 9_500.0, 10_000.0],
            "maintenance_margin": [0.0, 4_500.0, 6_400.0, 2_375.0, 0.0],
            "margin_ratio": [0.0, 0.5, 0.8, 0.25, 0.0],
            "wallet": [10_000.0] * 5,
            f"liq:{SYMBOL}": [np.nan, 80_000.0, 80_000.0, 80_000.0, np.nan],
            f"notional:{SYMBOL}": [0.0, 20_000.0, 16_000.0, 19_000.0, 0.0],
        }
    )
    return BacktestResult(
        trades=trades
        if trades is not None
        else pd.DataFrame({"symbol": pd.Series(dtype=str), "exit_reason": pd.Series(dtype=str)}),
        orders=pd.DataFrame(),
        ledger=ledger
        if ledger is not None
        else pd.DataFrame(
            columns=["time", "kind", "symbol", "debit", "credit", "amount", "currency"]
        ),
        series=series,
        metrics=pd.Series(dtype=float),
        config=BacktestConfig(),
    )


def test_standard_analyzers_run_in_the_backtester() -> None:
    run = result()
    run_analyzers(run, margin_analyzers(margin_call_level=1.5, thresholds=(2.0, 1.5)))
    out = run.analyzers
    history = out["margin_history"]
    assert isinstance(history, pd.DataFrame)
    assert history["margin_level"].tolist() == [math.inf, 2.0, 1.25, 4.0, math.inf]
    # Σ|notional|/equity: 20,000/9,000, 16,000/8,000, 19,000/9,500
    assert history["effective_leverage"].tolist() == pytest.approx([0, 20 / 9, 2.0, 2.0, 0])
    assert history["cross_unrealized_pnl"].tolist() == [0.0, -1_000.0, -2_000.0, -500.0, 0.0]
    # one episode below 1.5: bar 2 only, back above at bar 3
    calls = out["margin_calls"]
    assert isinstance(calls, pd.DataFrame)
    assert calls.to_dict("records") == [
        {
            "start": 2 * HOUR,
            "end": 3 * HOUR,
            "bars": 1,
            "min_margin_level": 1.25,
            "min_time": 2 * HOUR,
        }
    ]
    assert out["min_margin_level"] == {"min_margin_level": 1.25, "min_margin_level_time": 2 * HOUR}
    # level 2 is not below 2: one bar (of five) below each threshold, one hour each
    below = out["time_below_thresholds"]
    assert isinstance(below, pd.DataFrame)
    assert below.to_dict("records") == [
        {"threshold": 2.0, "bars": 1, "fraction": 0.2, "duration_ms": HOUR},
        {"threshold": 1.5, "bars": 1, "fraction": 0.2, "duration_ms": HOUR},
    ]
    lev = out["effective_leverage"]
    assert lev["max"] == pytest.approx(20 / 9)
    assert lev["time_of_max"] == HOUR
    # mean over the exposed bars: (2.2222 + 2 + 2)/3 = 2.074074
    assert lev["mean_when_exposed"] == pytest.approx((20 / 9 + 4) / 3)
    assert out["liquidations"] == {"liquidations": 0, "by_symbol": {}}
    assert out["funding"] == {"paid": 0.0, "received": 0.0, "net": 0.0, "by_symbol": {}}


def test_margin_call_episode_running_to_the_end() -> None:
    calls = MarginCalls(2.5).analyze(result())
    # levels 2 and 1.25 at bars 1-2 are below 2.5; 4 at bar 3 ends it
    assert calls.to_dict("records") == [
        {"start": HOUR, "end": 3 * HOUR, "bars": 2, "min_margin_level": 1.25, "min_time": 2 * HOUR}
    ]
    # below 5: bars 1-3 (level inf at bar 4 ends it)
    assert MarginCalls(5.0).analyze(result()).loc[0, ["end", "bars"]].tolist() == [4 * HOUR, 3]
    # still below at the last bar: no end
    run = result()
    run.series.loc[4, "margin_ratio"] = 0.8
    open_ended = MarginCalls(1.5).analyze(run)
    assert open_ended["end"].isna().tolist() == [False, True]
    assert open_ended.loc[0, "end"] == 3 * HOUR
    assert open_ended["start"].tolist() == [2 * HOUR, 4 * HOUR]


def test_liquidation_count() -> None:
    trades = pd.DataFrame(
        {
            "symbol": [SYMBOL, SYMBOL, "ETH/USDT:USDT"],
            "exit_reason": ["signal", "liquidation", "liquidation"],
        }
    )
    assert LiquidationCount().analyze(result(trades=trades)) == {
        "liquidations": 2,
        "by_symbol": {SYMBOL: 1, "ETH/USDT:USDT": 1},
    }


def test_funding_from_the_ledger() -> None:
    ledger = pd.DataFrame(
        {
            "time": [0, 0, 0, 0],
            "kind": ["funding", "funding", "funding", "fee"],
            "symbol": [SYMBOL, SYMBOL, "ETH/USDT:USDT", SYMBOL],
            "debit": ["cross", "market", "market", "fees"],
            "credit": ["market", "cross", "isolated:ETH/USDT:USDT:BOTH", "cross"],
            "amount": [5.0, 12.5, 2.5, 3.0],
            "currency": ["USDT"] * 4,
        }
    )
    # received 5 (market → cross); paid 12.5 + 2.5 = 15; the fee is not funding
    assert FundingPaid().analyze(result(ledger=ledger)) == {
        "paid": 15.0,
        "received": 5.0,
        "net": -10.0,
        "by_symbol": {
            "ETH/USDT:USDT": {"paid": 2.5, "received": 0.0},
            SYMBOL: {"paid": 12.5, "received": 5.0},
        },
    }


def test_funding_from_a_real_account_ledger() -> None:
    acct = cross_btc()
    # BN-15 style: long 1 BTC at mark 100,000, rate 0.01 %: pays 10; then −0.02 %: receives 20
    acct.settle_funding(BTC, 0.0001)
    acct.settle_funding(BTC, -0.0002)
    out = FundingPaid().analyze(result(ledger=ledger_frame(acct.ledger)))
    assert out["paid"] == pytest.approx(10.0)
    assert out["received"] == pytest.approx(20.0)
    assert out["net"] == pytest.approx(10.0)


def market() -> MarketData:
    """Mark candles: close 100,000, 100,000, 99,000, 100,000, 100,000; high/low ± 500."""
    close = np.array([100_000.0, 100_000.0, 99_000.0, 100_000.0, 100_000.0])
    candles = OHLC(close.copy(), close + 500, close - 500, close.copy())
    return MarketData(
        symbol=SYMBOL,
        timeframe_ms=HOUR,
        timestamps=TIMES.copy(),
        open=close.copy(),
        high=close + 500,
        low=close - 500,
        close=close.copy(),
        volume=np.ones(5),
        mark=candles,
    )


def test_distance_to_liquidation_per_bar() -> None:
    # TR: bar 1 max(1,000, 500, 500) = 1,000; bar 2 max(1,000, |99,500 − 100,000|,
    # |98,500 − 100,000|) = 1,500; bar 3 max(1,000, |100,500 − 99,000|, 500) = 1,500
    # ATR(2): bar 2 = (1,000 + 1,500)/2 = 1,250; bar 3 = (1,250 + 1,500)/2 = 1,375
    out = DistanceToLiquidation(market(), atr_period=2).analyze(result())
    d = out[f"distance:{SYMBOL}"].to_numpy()
    a = out[f"distance_atr:{SYMBOL}"].to_numpy()
    # bar 1: (100,000 − 80,000)/100,000 = 0.2 (no ATR yet); bar 2: 19,000/99,000; bar 3: 0.2
    assert np.isnan(d[[0, 4]]).all()
    assert d[1:4] == pytest.approx([0.2, 19_000 / 99_000, 0.2])
    assert np.isnan(a[1])
    assert a[2:4] == pytest.approx([19_000 / 1_250, 20_000 / 1_375])
    assert out["min_distance"].to_numpy()[1:4] == pytest.approx(d[1:4])


def test_distance_needs_the_symbols_data() -> None:
    other = MarketData(
        symbol="ETH/USDT:USDT",
        timeframe_ms=HOUR,
        timestamps=TIMES.copy(),
        open=np.ones(5),
        high=np.ones(5),
        low=np.ones(5),
        close=np.ones(5),
        volume=np.ones(5),
    )
    with pytest.raises(ConfigError, match="data: no market data for 'BTC/USDT:USDT'"):
        DistanceToLiquidation({"ETH/USDT:USDT": other}).analyze(result())


def test_analyzer_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="threshold: a margin level above 1"):
        MarginCalls(0.9)
    with pytest.raises(ConfigError, match=r"thresholds\[0\]"):
        TimeBelowThresholds((-1.0,))
    with pytest.raises(ConfigError, match="atr_period"):
        DistanceToLiquidation(market(), atr_period=0)
    assert MinimumMarginLevel().name == "min_margin_level"
    assert EffectiveLeverage().name == "effective_leverage"
