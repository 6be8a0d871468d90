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
from levtrade.backtest.metrics import compute_metrics
from levtrade.backtest.results import series_frame
from levtrade.errors import BacktestError

HALF_YEAR_MS = 365 * 86_400_000 // 2
"""Two bars make one 365-day year, so CAGR is the total return."""


def series(equity: list[float], notional: list[float]) -> pd.DataFrame:
    n = len(equity)
    zeros = np.zeros(n)
    return series_frame(
        np.arange(n, dtype=np.int64) * HALF_YEAR_MS,
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


def test_returns_ratios_and_drawdown_by_hand() -> None:
    # start 100, equity 120 then 108: returns 0.2 and −0.1
    # total return 108/100 − 1 = 0.08 = CAGR (one year)
    # mean 0.05; sd (ddof 1) = √((0.15² + 0.15²)/1) = 0.2121320; 2 bars/year:
    # Sharpe = 0.05/0.2121320 × √2 = 1/3
    # downside deviation √((0² + 0.1²)/2) = 0.0707107: Sortino = 0.05/0.0707107 × √2 = 1
    # drawdown from the 120 peak: 1 − 108/120 = 0.1; Calmar = 0.08/0.1 = 0.8
    metrics = compute_metrics(
        series([120.0, 108.0], [5.0, 0.0]),
        trades([10.0, -5.0, 20.0, -10.0], ["signal", "liquidation", "roi", "liquidation"]),
        ledger([]),
        initial=100.0,
        timeframe_ms=HALF_YEAR_MS,
    )
    assert metrics["total_return"] == pytest.approx(0.08)
    assert metrics["cagr"] == pytest.approx(0.08)
    assert metrics["sharpe"] == pytest.approx(1 / 3)
    assert metrics["sortino"] == pytest.approx(1.0)
    assert metrics["max_drawdown"] == pytest.approx(0.1)
    assert metrics["calmar"] == pytest.approx(0.8)
    # trades: 2 of 4 win; profit factor (10 + 20)/(5 + 10) = 2
    assert metrics["win_rate"] == 0.5
    assert metrics["profit_factor"] == pytest.approx(2.0)
    assert metrics["trades"] == 4
    assert metrics["liquidations"] == 2
    # one bar of two closes with a position
    assert metrics["exposure"] == 0.5


def test_cagr_over_two_years_and_a_wiped_account() -> None:
    # four half-year bars, 100 -> 121: CAGR = 1.21^(1/2) − 1 = 0.1
    metrics = compute_metrics(
        series([105.0, 110.0, 115.0, 121.0], [0.0] * 4),
        trades([]),
        ledger([]),
        initial=100.0,
        timeframe_ms=HALF_YEAR_MS,
    )
    assert metrics["cagr"] == pytest.approx(0.1)
    assert math.isnan(metrics["win_rate"]) and math.isnan(metrics["profit_factor"])
    assert metrics["max_drawdown"] == 0.0 and math.isnan(metrics["calmar"])
    wiped = compute_metrics(
        series([50.0, 0.0], [1.0, 0.0]),
        trades([-100.0]),
        ledger([]),
        initial=100.0,
        timeframe_ms=HALF_YEAR_MS,
    )
    assert wiped["cagr"] == -1.0
    assert wiped["max_drawdown"] == 1.0
    assert wiped["profit_factor"] == 0.0


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
        timeframe_ms=HALF_YEAR_MS,
    )
    assert metrics["funding_paid"] == pytest.approx(5.0)
    assert metrics["funding_received"] == pytest.approx(1.0)
    assert metrics["fees"] == pytest.approx(4.0)
    assert metrics["liquidation_fees"] == pytest.approx(0.5)
    assert metrics["insurance_fund"] == pytest.approx(1.3)


def test_annualisation_follows_the_bar_timeframe() -> None:
    # the same two returns on hourly bars: 8,760 bars a year, Sharpe scales by √(8760/2)
    hourly = compute_metrics(
        series([120.0, 108.0], [0.0, 0.0]),
        trades([]),
        ledger([]),
        initial=100.0,
        timeframe_ms=3_600_000,
    )
    assert hourly["sharpe"] == pytest.approx(0.05 / math.sqrt(0.045) * math.sqrt(8760))


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
