"""Metric formulas on hand-computed series; analyzers on the finished result."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pytest
from backtest_helpers import Scripted, config, flat, market, run_script

from levtrade.backtest import BacktestResult, run
from levtrade.backtest.metrics import compute_metrics, daily_returns
from levtrade.backtest.results import series_frame
from levtrade.errors import BacktestError

DAY = 86_400_000
HOUR = 3_600_000


def series(equity: list[float], notional: list[float], step: int = DAY) -> pd.DataFrame:
    n = len(equity)
    zeros = np.zeros(n)
    return series_frame(
        np.arange(n, dtype=np.int64) * step,
        {
            "equity": np.array(equity),
            "cross_equity": np.array(equity),
            "maintenance_margin": zeros,
            "margin_ratio": zeros,
            "wallet": np.array(equity),
            "notional:X": np.array(notional),
        },
    )


def ledger(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(0, kind, "X", debit, credit, amount, "USDT") for kind, credit, debit, amount in rows],
        columns=["time", "kind", "symbol", "debit", "credit", "amount", "currency"],
    )


def trades(pnl: list[float], reasons: list[str] | None = None) -> pd.DataFrame:
    return pd.DataFrame({"pnl": pnl, "exit_reason": reasons or ["signal"] * len(pnl)})


def test_daily_ratios_and_drawdown_by_hand() -> None:
    # 36 daily bars from 100: 18 pairs of days +20 % then −10 % would explode, so the equity
    # alternates 120, 108 (returns 0.2, then −0.1, then 120/108 − 1 = 1/9, −0.1, ...)
    equity = [120.0 if k % 2 == 0 else 108.0 for k in range(36)]
    returns = np.array([0.2] + [(-0.1 if k % 2 else 1 / 9) for k in range(1, 36)])
    # by hand, quantstats' formulas with periods = 365 (quantstats/stats.py, 0.0.86):
    # sharpe = mean / std(ddof=1) · √365; sortino = mean / √(Σ r⁻² / n) · √365;
    # cagr = (E_n/E_0)^(365/n) − 1 with n = 36 daily returns
    mean = returns.mean()
    sd = math.sqrt(((returns - mean) ** 2).sum() / 35)
    downside = math.sqrt(18 * 0.01 / 36)
    metrics = compute_metrics(
        series(equity, [5.0] + [0.0] * 35),
        trades([10.0, -5.0, 20.0, -10.0], ["signal", "liquidation", "roi", "liquidation"]),
        ledger([]),
        initial=100.0,
        timeframe_ms=DAY,
    )
    assert metrics["days"] == 36
    assert metrics["total_return"] == pytest.approx(0.08)
    assert metrics["cagr"] == pytest.approx(1.08 ** (365 / 36) - 1)
    assert metrics["sharpe"] == pytest.approx(mean / sd * math.sqrt(365))
    assert metrics["sortino"] == pytest.approx(mean / downside * math.sqrt(365))
    assert metrics["volatility"] == pytest.approx(sd * math.sqrt(365))
    assert metrics["max_drawdown"] == pytest.approx(0.1)
    assert metrics["calmar"] == pytest.approx((1.08 ** (365 / 36) - 1) / 0.1)
    # trades: 2 of 4 win; profit factor (10 + 20)/(5 + 10) = 2
    assert metrics["win_rate"] == 0.5
    assert metrics["profit_factor"] == pytest.approx(2.0)
    # expectancy (FreqTrade): 0.5 · 15 − 0.5 · 7.5 = 3.75; ratio (1 + 15/7.5) · 0.5 − 1 = 0.5
    assert metrics["expectancy"] == pytest.approx(3.75)
    assert metrics["expectancy_ratio"] == pytest.approx(0.5)
    assert metrics["trades"] == 4
    assert metrics["liquidations"] == 2
    # one bar of 36 closes with a position
    assert metrics["exposure"] == pytest.approx(1 / 36)


def test_hourly_bars_are_annualised_from_their_daily_closes() -> None:
    # 24 hourly bars a day for 40 days; each day ends 1 % above the one before, with a dip
    # inside the day that the daily returns do not see: every daily return is exactly 0.01
    days = 40
    equity = []
    for day in range(days):
        close = 100.0 * 1.01 ** (day + 1)
        equity += [close * 0.9] * 23 + [close]
    metrics = compute_metrics(
        series(equity, [0.0] * len(equity), step=HOUR),
        trades([]),
        ledger([]),
        initial=100.0,
        timeframe_ms=HOUR,
    )
    assert metrics["days"] == 40
    assert metrics["cagr"] == pytest.approx(1.01**365 - 1)
    # no losing day, so no downside deviation and no Sortino
    assert math.isnan(metrics["sortino"])
    # the intraday dips still count for the drawdown: 0.9 · 1.01 of the previous close
    assert metrics["max_drawdown"] == pytest.approx(1 - 0.9 * 1.01, rel=1e-9)


def test_no_annualised_metric_below_thirty_days_and_a_wiped_account() -> None:
    short = compute_metrics(
        series([105.0, 110.0, 90.0, 121.0], [0.0] * 4),
        trades([]),
        ledger([]),
        initial=100.0,
        timeframe_ms=DAY,
    )
    assert short["days"] == 4 and short["total_return"] == pytest.approx(0.21)
    for name in ("cagr", "sharpe", "sortino", "calmar", "volatility"):
        assert math.isnan(short[name]), name
    assert math.isnan(short["win_rate"]) and math.isnan(short["profit_factor"])
    assert math.isnan(short["expectancy"])
    wiped = compute_metrics(
        series([50.0] * 30 + [0.0], [1.0] * 30 + [0.0]),
        trades([-100.0]),
        ledger([]),
        initial=100.0,
        timeframe_ms=DAY,
    )
    assert wiped["cagr"] == -1.0
    assert wiped["max_drawdown"] == 1.0
    assert wiped["profit_factor"] == 0.0
    # no winner: expectancy −100, no ratio without a winner's average... (1 + 0/100)·0 − 1
    assert wiped["expectancy"] == -100.0 and wiped["expectancy_ratio"] == -1.0


def test_metrics_agree_with_quantstats_on_the_same_daily_returns() -> None:
    qs = pytest.importorskip("quantstats")
    rng = np.random.default_rng(19)
    # 90 days of 4h bars, a random walk of the equity with a few large losses
    steps = rng.normal(0.0004, 0.02, 90 * 6)
    steps[rng.integers(0, steps.size, 5)] = -0.15
    equity = 10_000.0 * np.cumprod(1.0 + steps)
    metrics = compute_metrics(
        series(list(equity), [0.0] * equity.size, step=4 * HOUR),
        trades([]),
        ledger([]),
        initial=10_000.0,
        timeframe_ms=4 * HOUR,
    )
    returns = daily_returns(np.arange(equity.size, dtype=np.int64) * 4 * HOUR, equity, 10_000.0)
    assert returns.size == 90
    assert metrics["sharpe"] == pytest.approx(qs.stats.sharpe(returns, periods=365), rel=1e-12)
    assert metrics["sortino"] == pytest.approx(qs.stats.sortino(returns, periods=365), rel=1e-12)
    assert metrics["cagr"] == pytest.approx(qs.stats.cagr(returns, periods=365), rel=1e-12)
    assert metrics["volatility"] == pytest.approx(
        qs.stats.volatility(returns, periods=365), rel=1e-12
    )
    # quantstats' drawdown sees the daily closes only; ours every bar, so it is at least as deep
    assert metrics["max_drawdown"] >= -qs.stats.max_drawdown(returns) - 1e-12


def test_flows_from_the_ledger() -> None:
    # funding: the trader's books pay 3 + 2 = 5 and receive 1; fees 4; clearance fee 0.5;
    # insurance fund: 2 in from an isolated book, 0.7 out to cover a cross shortfall -> 1.3
    rows = [
        ("funding", "cross", "market", 3.0),
        ("funding", "market", "cross", 1.0),
        ("funding", "isolated:X:BOTH", "market", 2.0),
        ("fee", "cross", "fees", 4.0),
        ("liquidation_fee", "isolated:X:BOTH", "liquidation_fees", 0.5),
        ("liquidation", "isolated:X:BOTH", "insurance_fund", 2.0),
        ("insurance_fund", "insurance_fund", "cross", 0.7),
        ("transfer", "cross", "isolated:X:BOTH", 9.0),
    ]
    metrics = compute_metrics(
        series([100.0], [0.0]),
        trades([]),
        ledger(rows),
        initial=100.0,
        timeframe_ms=DAY,
    )
    assert metrics["funding_paid"] == pytest.approx(5.0)
    assert metrics["funding_received"] == pytest.approx(1.0)
    assert metrics["fees"] == pytest.approx(4.0)
    assert metrics["liquidation_fees"] == pytest.approx(0.5)
    assert metrics["insurance_fund"] == pytest.approx(1.3)


class Counter:
    """An analyzer: counts the result's trades by exit reason."""

    name = "reasons"

    def analyze(self, result: BacktestResult) -> Mapping[str, Any]:
        return result.trades["exit_reason"].value_counts().to_dict()


def test_analyzers_run_on_the_finished_result() -> None:
    data = market([flat(100)] * 4)
    result = run(
        Scripted,
        data,
        config(),
        params={"script": {0: [lambda s: s.buy(size=1)]}},
        analyzers=[Counter()],
    )
    assert result.analyzers == {"reasons": {"end_of_data": 1}}
    with pytest.raises(BacktestError, match="two analyzers"):
        run(Scripted, data, config(), analyzers=[Counter(), Counter()])
    with pytest.raises(BacktestError, match="analyze"):
        run(Scripted, data, config(), analyzers=[object()])  # type: ignore[list-item]


def test_metrics_of_a_run_match_its_own_tables() -> None:
    # a run's metrics are compute_metrics of its tables (the kernel uses the same path)
    data = market([flat(100), flat(100), flat(110), flat(105)])
    result = run_script(data, {0: [lambda s: s.buy(size=1)]}, taker_fee=0.001)
    again = compute_metrics(
        result.series, result.trades, result.ledger, initial=10_000.0, timeframe_ms=3_600_000
    )
    pd.testing.assert_series_equal(result.metrics, again)
    # entry fee 0.1, exit fee 0.105, pnl 5 − 0.205
    assert result.metrics["fees"] == pytest.approx(0.205)
    assert result.metrics["total_return"] == pytest.approx(4.795 / 10_000)
